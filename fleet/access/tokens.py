"""API tokens for integrators: ``obl_`` + 32 random bytes (urlsafe), shown once.

Only the SHA-256 of a token and a short visible prefix are stored. A bearer token starting with
``obl_`` is an API token; it acts for its company with its role's permissions and folders.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.exceptions import (
    InvalidTokenInputError,
    RoleNotFoundError,
    TokenNotFoundError,
    TokenRevokedError,
)
from fleet.access.models import ApiToken, Role
from fleet.access.principal import Principal
from fleet.access.roles import (
    check_grant,
    get_role,
    role_folder_ids,
    role_permissions,
)
from fleet.access.token_cache import token_cache
from fleet.core.clock import Clock

__all__ = [
    "PREFIX",
    "IssuedToken",
    "create_token",
    "list_tokens",
    "principal_for_api_token",
    "revoke_token",
]

PREFIX: Final = "obl_"
VISIBLE: Final = 12  # characters of the token kept to recognise it in the list
TOUCH_EVERY_S: Final = 60.0  # last_used_at is refreshed at most once a minute
MAX_NAME: Final = 100


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the row, and the secret (never shown again)."""

    row: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, clock: Clock, *, principal: Principal, name: str, role_id: int
) -> IssuedToken:
    """A new API token with a role of the principal's company (no escalation)."""
    fields: dict[str, str] = {}
    clean = " ".join(name.split())
    if not clean:
        fields["name"] = "Укажите название токена, например «Интернет-магазин»"
    elif len(clean) > MAX_NAME:
        fields["name"] = f"Название должно быть не длиннее {MAX_NAME} символов"
    role: Role | None = None
    try:
        role = get_role(session, company_id=principal.company_id, role_id=role_id)
    except RoleNotFoundError as exc:
        fields["role_id"] = exc.message
    if fields:
        raise InvalidTokenInputError("Проверьте поля токена", fields=fields)
    assert role is not None and role.id is not None
    check_grant(principal, role_permissions(role), role_folder_ids(session, role.id))
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        company_id=principal.company_id,
        role_id=role.id,
        name=clean,
        token_hash=_hash(secret),
        prefix=secret[:VISIBLE],
        created_at=clock.wall(),
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="token.create",
        entity="api_token",
        entity_id=row.id,
        name=clean,
        role=role.name,
        prefix=row.prefix,
    )
    session.commit()
    return IssuedToken(row=row, secret=secret)


def list_tokens(session: Session, *, principal: Principal) -> list[tuple[ApiToken, Role]]:
    """The company's tokens (revoked ones too, marked), newest first, with their roles."""
    rows = session.exec(
        select(ApiToken, Role)
        .join(Role, col(Role.id) == col(ApiToken.role_id))
        .where(ApiToken.company_id == principal.company_id)
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    ).all()
    return [(t, r) for t, r in rows]


def get_token(session: Session, *, company_id: int, token_id: int) -> ApiToken:
    """A token of the company; any other id is 'not found'."""
    row = session.get(ApiToken, token_id)
    if row is None or row.company_id != company_id:
        raise TokenNotFoundError(f"Токен № {token_id} не найден")
    return row


def revoke_token(
    session: Session, clock: Clock, *, principal: Principal, token_id: int
) -> ApiToken:
    """Revoke a token at once (idempotent: revoking a revoked token changes nothing)."""
    row = get_token(session, company_id=principal.company_id, token_id=token_id)
    if row.revoked_at is not None:
        return row
    row.revoked_at = clock.wall()
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="token.revoke",
        entity="api_token",
        entity_id=row.id,
        name=row.name,
        prefix=row.prefix,
    )
    session.commit()
    token_cache.clear()  # refused at once in this process (others: within its TTL)
    return row


def principal_for_api_token(session: Session, clock: Clock, secret: str) -> Principal:
    """The principal of a live API token; unknown or revoked is `TokenRevokedError` (401).
    A live token's principal is kept a few seconds (fleet/access/token_cache.py)."""
    digest = _hash(secret)
    now = clock.wall()
    cached = token_cache.get(digest, now)
    if cached is not None:
        return cached
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        raise TokenRevokedError("API-токен недействителен или отозван")
    role = session.get(Role, row.role_id)
    if role is None or role.company_id != row.company_id:
        raise TokenRevokedError("API-токен недействителен или отозван")
    assert row.id is not None and role.id is not None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY_S:
        row.last_used_at = now
        session.add(row)
        session.commit()
    principal = Principal(
        company_id=row.company_id,
        permissions=role_permissions(role),
        token_id=row.id,
        folder_ids=role_folder_ids(session, role.id),
    )
    token_cache.put(digest, now, principal)
    return principal
