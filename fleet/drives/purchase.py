"""Buying drives from the catalogue, paid from the balance through the ledger's `charge`.

The purchase row and the debit are one transaction: a short balance (409, "Недостаточно
средств: пополните баланс на N ₽") writes nothing. A request key makes a repeated click harmless
(the ledger's idempotency key ``drives:<company>:<key>``).
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.billing.ledger import charge
from fleet.billing.money import rubles
from fleet.core.clock import Clock
from fleet.drives import catalogue, regime
from fleet.drives.exceptions import InvalidPurchaseError
from fleet.drives.models import DrivePurchase
from fleet.notify.service import Event, notify_company

__all__ = ["MAX_QUANTITY", "buy", "purchases", "recommend"]

MAX_QUANTITY: Final = 1000


def recommend(profile: regime.Profile) -> regime.TermAdvice:
    """The term to buy for this business, at the catalogue's prices."""
    return regime.advise(profile, catalogue.prices())


def buy(
    session: Session,
    clock: Clock,
    principal: Principal,
    *,
    model_code: str,
    quantity: int,
    request_key: str,
) -> DrivePurchase:
    """Buy ``quantity`` drives of a model; debit the balance; commit. Bad input changes nothing."""
    m = catalogue.model(model_code)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidPurchaseError(
            "Неверное количество", fields={"quantity": f"От 1 до {MAX_QUANTITY} штук"}
        )
    if not request_key or len(request_key) > 64:
        raise InvalidPurchaseError(
            "Нет ключа запроса", fields={"request_key": "От 1 до 64 символов"}
        )
    total = m.price_kop * quantity
    posting = charge(
        session,
        clock,
        principal.company_id,
        total,
        "drives",
        f"{m.name} × {quantity}",
        f"drives:{principal.company_id}:{request_key}",
        user_id=principal.user_id,
    )
    tx_id = posting.transaction.id
    if not posting.created:
        found = session.exec(
            select(DrivePurchase).where(DrivePurchase.transaction_id == tx_id)
        ).first()
        if found is not None:
            return found
    row = DrivePurchase(
        company_id=principal.company_id,
        user_id=principal.user_id,
        model_code=m.code,
        model_name=m.name,
        term_months=m.term_months,
        quantity=quantity,
        price_kop=m.price_kop,
        total_kop=total,
        transaction_id=tx_id,
        created_at=clock.wall(),
    )
    session.add(row)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="drive.purchase",
        entity="drivepurchase",
        entity_id=row.id,
        model=m.code,
        quantity=quantity,
        total=total,
    )
    notify_company(
        session,
        clock,
        [
            Event(
                company_id=principal.company_id,
                kind="drive.purchase",
                key=f"drive.purchase:{row.id}",
                title=f"Куплено: {m.name} × {quantity}",
                body=f"Списано с баланса {rubles(total)}. Накопители появятся в разделе «ФН».",
                link="/drives/purchase",
            )
        ],
    )
    session.commit()
    session.refresh(row)
    return row


def purchases(session: Session, company_id: int) -> list[DrivePurchase]:
    """The company's purchases, newest first."""
    return list(
        session.exec(
            select(DrivePurchase)
            .where(DrivePurchase.company_id == company_id)
            .order_by(col(DrivePurchase.id).desc())
        )
    )
