"""Issuing, resolving and logging the General's report links.

The secret is 256 random bits (``secrets.token_urlsafe(32)``), shown once; the table keeps
only its SHA-256, found through a unique index, so neither a database reader nor a timing
observer learns a usable token. A company has at most one live link: issuing a new one
revokes the previous in the same transaction, under a lock on the company row, so the old
link stops working the moment the new one exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.general.exceptions import (
    InvalidScopeError,
    LinkNotFoundError,
    LinkRevokedError,
    NotAdministratorError,
)
from fleet.general.models import GeneralLink, GeneralView
from fleet.stores.models import Store

__all__ = [
    "ADMIN_PERMISSION",
    "PERIODS",
    "TOKEN_BYTES",
    "IssuedLink",
    "check_admin",
    "current_link",
    "hash_secret",
    "issue",
    "record_view",
    "resolve",
    "views_of",
]

#: Who is an administrator here: the built-in owner and administrator roles hold it.
ADMIN_PERMISSION: Final = Permission.COMPANY_MANAGE
TOKEN_BYTES: Final = 32
#: The periods offered (days ending today) and their Russian names.
PERIODS: Final[dict[int, str]] = {
    7: "7 дней",
    30: "30 дней",
    90: "90 дней",
    365: "год",
}
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{22,86}")
_GONE: Final = (
    "Эта ссылка на отчёт генерала больше не действует: администратор выпустил новую версию. "
    "Попросите у него новую ссылку."
)
_UNKNOWN: Final = "Отчёт по этой ссылке не найден. Проверьте, что ссылка скопирована целиком."


@dataclass(frozen=True)
class IssuedLink:
    """A new link: the secret (shown once) and its row."""

    secret: str
    link: GeneralLink


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a link secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_admin(principal: Principal) -> None:
    """Refuse unless the principal administers the company over every register (the report
    shows every store's revenue)."""
    if not principal.has(ADMIN_PERMISSION) or principal.folder_ids is not None:
        raise NotAdministratorError(
            "Выпускать ссылку на отчёт генерала может только администратор компании "
            "с доступом ко всем кассам"
        )


def _validate(session: Session, company_id: int, store_id: int | None, days: int) -> None:
    fields: dict[str, str] = {}
    if days not in PERIODS:
        fields["days"] = "Период — 7, 30, 90 или 365 дней"
    if store_id is not None:
        store = session.get(Store, store_id)
        if store is None or store.company_id != company_id:
            fields["store_id"] = "Нет такого магазина в вашей компании"
    if fields:
        raise InvalidScopeError("Отчёт не выпущен: проверьте поля", fields=fields)


def issue(
    session: Session,
    clock: Clock,
    principal: Principal,
    *,
    store_id: int | None = None,
    days: int = 30,
) -> IssuedLink:
    """Revoke the company's live link and issue a new one (flushed, not committed)."""
    check_admin(principal)
    _validate(session, principal.company_id, store_id, days)
    # The company row's lock serialises two administrators issuing at once (PostgreSQL;
    # SQLite writes one transaction at a time anyway), so one live link remains.
    session.exec(select(Company).where(Company.id == principal.company_id).with_for_update())
    now = clock.wall()
    for old in session.exec(
        select(GeneralLink).where(
            GeneralLink.company_id == principal.company_id, col(GeneralLink.revoked_at).is_(None)
        )
    ).all():
        old.revoked_at = now
        session.add(old)
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    link = GeneralLink(
        company_id=principal.company_id,
        token_hash=hash_secret(secret),
        store_id=store_id,
        days=days,
        created_by=principal.user_id,
        created_at=now,
    )
    session.add(link)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="general.link_issued",
        entity="general_link",
        entity_id=link.id,
        store_id=store_id,
        days=days,
    )
    return IssuedLink(secret, link)


def resolve(session: Session, secret: str) -> GeneralLink:
    """The live link of ``secret``; `LinkRevokedError` for a replaced one, `LinkNotFoundError`
    for anything else."""
    if not _TOKEN.fullmatch(secret):
        raise LinkNotFoundError(_UNKNOWN)
    digest = hash_secret(secret)
    link = session.exec(select(GeneralLink).where(GeneralLink.token_hash == digest)).first()
    # The index found the row by the hash; compare again in constant time all the same.
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise LinkNotFoundError(_UNKNOWN)
    if link.revoked_at is not None:
        raise LinkRevokedError(_GONE)
    return link


def record_view(
    session: Session, clock: Clock, link: GeneralLink, *, ip: str, user_agent: str
) -> GeneralView:
    """Log one opening of the link (flushed, not committed)."""
    if link.id is None:
        raise LinkNotFoundError(_UNKNOWN)
    view = GeneralView(link_id=link.id, at=clock.wall(), ip=ip[:64], user_agent=user_agent[:300])
    session.add(view)
    session.flush()
    return view


def current_link(session: Session, company_id: int) -> GeneralLink | None:
    """The company's live link, if any."""
    return session.exec(
        select(GeneralLink).where(
            GeneralLink.company_id == company_id, col(GeneralLink.revoked_at).is_(None)
        )
    ).first()


def views_of(session: Session, company_id: int, *, limit: int = 50) -> Sequence[GeneralView]:
    """The latest openings of the company's links (every version), newest first."""
    return session.exec(
        select(GeneralView)
        .join(GeneralLink, col(GeneralLink.id) == col(GeneralView.link_id))
        .where(GeneralLink.company_id == company_id)
        .order_by(col(GeneralView.at).desc(), col(GeneralView.id).desc())
        .limit(limit)
    ).all()
