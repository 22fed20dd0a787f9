"""Filing the payments of an uploaded statement or registry, and which of them need a receipt.

Every payment a file shows is kept (`ReceivedPayment`, once per company and payment key), so the
fines control's check K23 (fleet/compliance, reference §2.9 row 23: "incoming payments from
individuals in the bank register (acquiring/SBP/transfers) with no matching receipt") can find
those from people that no receipt matches, whether or not anybody pressed «Пробить чеки».

Who counts as a person is a rule of thumb, not a fact the reference confirms ([I]); it is the
`needs_receipt` function below, in one place:

* every acquiring operation (a buyer's card or SBP payment, or its refund) needs a receipt;
* a bank payment from an organisation (a 10-digit ИНН) or an individual entrepreneur (an
  account 40802…, or a name starting «ИП» / «Индивидуальный предприниматель» / «КФХ») does not
  (54-ФЗ exempts non-cash settlements between organisations and entrepreneurs without an
  electronic means of payment — from memory, not confirmed by the reference);
* a transfer between the company's own accounts does not;
* any other incoming payment (a person's account 40817/40820, no ИНН, or a 12-digit ИНН without
  the entrepreneur's marks) needs one.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.receipts_import import plan
from fleet.receipts_import.models import ReceivedPayment

__all__ = ["ENTREPRENEUR_ACCOUNTS", "MSK", "needs_receipt", "paid_at", "record"]

MSK: Final = dt.timezone(dt.timedelta(hours=3))
#: balance accounts of individual entrepreneurs (40802) — their payments need no receipt
ENTREPRENEUR_ACCOUNTS: Final = ("40802",)
_ENTREPRENEUR_NAMES: Final = ("ип ", "индивидуальный предприниматель", "кфх ", "глава кфх")
_OPERATIONS: Final = {"sale": 1, "sale_return": 2}


def needs_receipt(p: plan.Payment) -> tuple[bool, str]:
    """(needs a receipt, why not) for one payment; the rule of thumb of the module's doc."""
    if p.source == "acquiring":
        return True, ""
    if p.skip_reason:
        return False, p.skip_reason[:100]
    if len(p.payer_inn) == 10:
        return False, "платёж организации"
    name = p.payer.lower().replace("ё", "е")
    if p.payer_account.startswith(ENTREPRENEUR_ACCOUNTS) or name.startswith(_ENTREPRENEUR_NAMES):
        return False, "платёж индивидуального предпринимателя"
    return True, ""


def paid_at(d: dt.date) -> float:
    """The payment's date as UTC seconds of its 00:00 in Moscow."""
    return dt.datetime(d.year, d.month, d.day, tzinfo=MSK).timestamp()


def record(
    session: Session,
    company_id: int,
    clock: Clock,
    payments: list[plan.Payment],
    user_id: int | None = None,
) -> int:
    """File the payments not filed yet (per company and key) and commit; returns how many."""
    keys = {p.key for p in payments}
    if not keys:
        return 0
    have = set(
        session.exec(
            select(ReceivedPayment.key).where(
                ReceivedPayment.company_id == company_id, col(ReceivedPayment.key).in_(keys)
            )
        ).all()
    )
    now = clock.wall()
    added = 0
    for p in payments:
        if p.key in have:
            continue
        have.add(p.key)
        needs, reason = needs_receipt(p)
        session.add(
            ReceivedPayment(
                company_id=company_id,
                key=p.key,
                source=p.source,
                paid_at=paid_at(p.date),
                number=p.number[:64],
                amount=p.amount,
                operation=_OPERATIONS.get(p.operation, 1),
                payer=p.payer[:255],
                payer_inn=p.payer_inn[:12],
                purpose=p.purpose[:255],
                needs_receipt=needs,
                reason=reason,
                recorded_at=now,
                user_id=user_id,
            )
        )
        added += 1
    session.commit()
    return added
