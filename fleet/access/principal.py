"""The principal of a request: who acts, for which company, with which permissions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleet.access.permissions import LABEL, Permission
from fleet.core.errors import PermissionDeniedError

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    """A signed-in user (``user_id``) or an API token (``token_id``) acting for ``company_id``.

    ``folder_ids`` limits which registers the principal sees: ``None`` means every register of
    the company; a set means registers in those folders only.
    """

    company_id: int
    permissions: frozenset[Permission]
    user_id: int | None = None
    token_id: int | None = None
    folder_ids: frozenset[int] | None = None

    @property
    def is_operator(self) -> bool:
        """An Oblako operator (holds any ``operator.*`` permission)."""
        return any(p.startswith("operator.") for p in self.permissions)

    def has(self, permission: Permission) -> bool:
        """Whether the principal holds the permission."""
        return permission in self.permissions

    def check(self, *permissions: Permission) -> None:
        """Raise `PermissionDeniedError` unless the principal holds every one of them."""
        missing = [p for p in permissions if p not in self.permissions]
        if missing:
            raise PermissionDeniedError(
                "Недостаточно прав: " + ", ".join(LABEL[p] for p in missing)
            )

    def sees_folder(self, folder_id: int | None) -> bool:
        """Whether a register in this folder (None: no folder) is visible."""
        return self.folder_ids is None or (folder_id is not None and folder_id in self.folder_ids)

    def visible_folders(self) -> Iterable[int] | None:
        """The folder restriction for queries (None: no restriction)."""
        return self.folder_ids
