"""The peers' login/password → token flow on Oblako API keys.

`login` is the key's visible prefix (as the cabinet's token list shows it, e.g.
``obl_AbCdEfGh``), `password` the whole key. The token issued lives `TOKEN_TTL_S` (ATOL:
24 h; Ferma: a day, with its ExpirationDateUtc), several at once, and only while its key is not
revoked; it is bound to its API (ATOL or Ferma) and to its contour: a production key gets
tokens only on the production base, a sandbox key (``obt_``) only on the sandbox base.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from sqlmodel import Session, col, delete, select

from fleet.access.models import ApiToken, Role
from fleet.access.principal import Principal
from fleet.access.roles import role_folder_ids, role_permissions
from fleet.access.tokens import PREFIX
from fleet.compat.exceptions import ExpiredTokenError, MissingTokenError, WrongCredentialsError
from fleet.compat.models import CompatToken, Peer
from fleet.core.clock import Clock
from fleet.sandbox.service import KEY_PREFIX as SANDBOX_PREFIX
from fleet.sandbox.service import is_sandbox_company

__all__ = ["TOKEN_TTL_S", "issue_token", "principal_for", "purge_expired"]

TOKEN_TTL_S: Final = 24 * 3600.0
VISIBLE: Final = 12  # fleet/access/tokens.py and fleet/sandbox/service.py show this many


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session, clock: Clock, peer: Peer, login: object, password: object, *, sandbox: bool
) -> tuple[CompatToken, str]:
    """(the token row, its secret) for a key; WrongCredentialsError otherwise. Commits."""
    if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
        raise WrongCredentialsError("Неверный логин или пароль")
    wanted = SANDBOX_PREFIX if sandbox else PREFIX
    key = (
        None
        if not password.startswith(wanted) or login != password[:VISIBLE]
        else session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(password))).first()
    )
    if key is None or key.revoked_at is not None or key.id is None:
        raise WrongCredentialsError("Неверный логин или пароль")
    if is_sandbox_company(session, key.company_id) != sandbox:
        raise WrongCredentialsError("Неверный логин или пароль")
    now = clock.wall()
    secret = secrets.token_hex(32)
    row = CompatToken(
        token_hash=_hash(secret),
        api_token_id=key.id,
        company_id=key.company_id,
        peer=peer.value,
        sandbox=sandbox,
        created_at=now,
        expires_at=now + TOKEN_TTL_S,
    )
    session.add(row)
    session.commit()
    return row, secret


def principal_for(
    session: Session, clock: Clock, peer: Peer, token: str | None, *, sandbox: bool
) -> Principal:
    """The principal a token acts as: its key's company and role, re-read at each call."""
    if not token:
        raise MissingTokenError("Не передан токен авторизации")
    row = session.exec(select(CompatToken).where(CompatToken.token_hash == _hash(token))).first()
    if (
        row is None
        or row.peer != peer.value
        or row.sandbox != sandbox
        or row.expires_at <= clock.wall()
    ):
        raise ExpiredTokenError("Токен недействителен или истёк: получите новый")
    key = session.get(ApiToken, row.api_token_id)
    role = None if key is None else session.get(Role, key.role_id)
    if key is None or key.revoked_at is not None or role is None or role.id is None:
        raise ExpiredTokenError("Ключ API, по которому выдан токен, отозван")
    assert key.id is not None
    return Principal(
        company_id=key.company_id,
        permissions=role_permissions(role),
        token_id=key.id,
        folder_ids=role_folder_ids(session, role.id),
    )


def purge_expired(session: Session, clock: Clock) -> int:
    """The `compat-tokens` job: forget tokens expired a day ago (a client that sends one gets
    "expired" either way). Commits; how many were removed."""
    gone = session.connection().execute(
        delete(CompatToken).where(col(CompatToken.expires_at) < clock.wall() - TOKEN_TTL_S)
    )
    session.commit()
    return int(gone.rowcount or 0)
