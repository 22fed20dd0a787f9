"""What a guide fills in: the client's own settings read from their account.

Keys are shown by their visible prefix (the ATOL/Ferma login) only: a key's secret is stored
hashed and is shown once, when it is issued (Настройки → API-токены, or the sandbox key here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sqlmodel import Session, col, select

from fleet.access.models import ApiToken, Role
from fleet.accounts.models import Company
from fleet.compat.groups import group_codes
from fleet.guides.exceptions import GuideCompanyError
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store
from fleet.stores.service import address_line

__all__ = ["ClientSettings", "KeyView", "RegisterView", "Setting", "client_settings"]

NO_KEY: Final = "выпустите ключ в «Настройки» → «API-токены»"
SECRET_HINT: Final = (
    "ключ целиком: он показывается один раз при выпуске, мы храним только его отпечаток"
)


@dataclass(frozen=True)
class Setting:
    """A value to enter in the other system; ``copy`` False for an instruction, not a value."""

    value: str
    copy: bool = True


@dataclass(frozen=True)
class KeyView:
    """An API key as the guide may show it: name, role and visible prefix (the login)."""

    name: str
    role: str
    login: str


@dataclass(frozen=True)
class RegisterView:
    """A register the receipts may go to."""

    name: str
    rnm: str
    store: str


@dataclass(frozen=True)
class ClientSettings:
    """Everything a guide may need, for one company (production and sandbox)."""

    company: str
    values: dict[str, Setting]
    sandbox: dict[str, Setting]
    groups: list[tuple[str, str]]  # (group code, what it covers)
    keys: list[KeyView] = field(default_factory=list)
    registers: list[RegisterView] = field(default_factory=list)


def client_settings(session: Session, company_id: int, base_url: str) -> ClientSettings:
    """The company's settings for the guides (reads only)."""
    company = session.get(Company, company_id)
    if company is None:
        raise GuideCompanyError(f"Компания {company_id} не найдена")
    base = base_url.rstrip("/")
    stores = {
        s.id: s
        for s in session.exec(
            select(Store).where(Store.company_id == company_id).order_by(col(Store.id))
        ).all()
    }
    codes = group_codes(session, company_id)
    groups = [
        (
            code,
            "все кассы компании"
            if code.endswith("-main")
            else f"кассы магазина «{_store_name(stores, code)}»",
        )
        for code in codes
    ]
    keys = [
        KeyView(name=t.name, role=r.name, login=t.prefix)
        for t, r in session.exec(
            select(ApiToken, Role)
            .join(Role, col(Role.id) == col(ApiToken.role_id))
            .where(ApiToken.company_id == company_id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        ).all()
    ]
    registers = [
        RegisterView(
            name=r.name or f"Касса № {r.id}",
            rnm=r.rnm or "—",
            store=stores[r.store_id].name if r.store_id in stores else "—",
        )
        for r in session.exec(
            select(Register)
            .where(
                Register.company_id == company_id,
                Register.state == RegisterState.ACTIVE.value,
            )
            .order_by(col(Register.id))
        ).all()
    ]
    online = next((s for s in stores.values() if s.website), None)
    address = (
        Setting(online.website or "")
        if online is not None
        else Setting("адрес сайта магазина: добавьте интернет-магазин в «Магазины»", copy=False)
    )
    if online is None and stores:
        address = Setting(address_line(next(iter(stores.values()))))
    login = Setting(keys[0].login) if keys else Setting(NO_KEY, copy=False)
    common = {
        "inn": Setting(company.inn),
        "password": Setting(SECRET_HINT, copy=False),
        "payment_address": address,
    }
    return ClientSettings(
        company=company.name,
        values={
            **common,
            "atol_url": Setting(f"{base}/atol/possystem"),
            "ferma_url": Setting(f"{base}/ferma"),
            "api_url": Setting(f"{base}/api/receipts"),
            "login": login,
            "group": Setting(codes[0]) if codes else Setting(f"{company.inn}-main"),
        },
        sandbox={
            **common,
            "atol_url": Setting(f"{base}/sandbox/atol/possystem"),
            "ferma_url": Setting(f"{base}/sandbox/ferma"),
            "api_url": Setting(f"{base}/sandbox/api/receipts"),
            "login": Setting("начало ключа песочницы (obt_…): выпустите его ниже", copy=False),
            "group": Setting(f"{company.inn}-main"),
        },
        groups=groups,
        keys=keys,
        registers=registers,
    )


def _store_name(stores: dict[int | None, Store], code: str) -> str:
    tail = code.rpartition("-store")[2]
    store = stores.get(int(tail)) if tail.isdigit() else None
    return store.name if store is not None else tail
