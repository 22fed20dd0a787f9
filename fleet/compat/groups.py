"""ATOL group codes of a client: "<ИНН>-main" (any register of the company) and
"<ИНН>-store<id>" (only that store's registers). A sandbox twin answers to its client's INN."""

from __future__ import annotations

from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.sandbox.service import production_company_of
from fleet.stores.models import Store

__all__ = ["client_inn", "group_codes", "store_of_group"]


def client_inn(session: Session, company_id: int) -> str:
    """The INN the client's requests carry (a twin's client's, in the sandbox)."""
    client = production_company_of(session, company_id) or session.get(Company, company_id)
    return "" if client is None else client.inn


def group_codes(session: Session, company_id: int) -> list[str]:
    """Every group code the company may use, "-main" first."""
    inn = client_inn(session, company_id)
    stores = session.exec(select(Store.id).where(Store.company_id == company_id)).all()
    return [f"{inn}-main", *(f"{inn}-store{sid}" for sid in sorted(s for s in stores if s))]


def store_of_group(session: Session, company_id: int, group_code: str) -> tuple[bool, int | None]:
    """(known group, its store id or None for "-main")."""
    inn = client_inn(session, company_id)
    if group_code == f"{inn}-main":
        return True, None
    prefix = f"{inn}-store"
    if group_code.startswith(prefix) and group_code[len(prefix) :].isdigit():
        store = session.get(Store, int(group_code[len(prefix) :]))
        if store is not None and store.company_id == company_id:
            return True, store.id
    return False, None
