"""From registry lines to receipt requests: one sale (or return) per incoming payment.

Pure functions: `from_statement` and `from_acquiring` turn parsed files into `Payment`s with
their de-duplication key; `request_for` makes the shared-schema request (docs/receipt-schema.md)
of one payment with the settings the person chose on the form, and `check` runs the schema's
own rules on it so the preview shows what the register would refuse before anything is sent.

The key of a bank payment is the statement account, the payment's date, its number and sum
(a bank numbers payment orders per payer, so the number alone repeats); the receipt's external
id is derived from it, so even a lost key row cannot make a second receipt (create_receipt is
idempotent on the external id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Final

from fleet.receipts_import import acquiring, onec
from protocol.portable import receipt as schema
from protocol.portable import values

__all__ = [
    "ITEM_TYPES",
    "ImportSettings",
    "Payment",
    "external_id",
    "from_acquiring",
    "from_statement",
    "item_name",
    "request_for",
    "validate",
]

#: 1212 codes offered on the form: goods, work, service, payment (FFD table)
ITEM_TYPES: Final = {1: "Товар", 3: "Работа", 4: "Услуга", 10: "Платёж"}
MAX_NAME: Final = 128


@dataclass(frozen=True)
class Payment:
    """One money movement that becomes a receipt."""

    source: str  # "bank" or "acquiring"
    key: str
    line: int
    date: dt.date
    number: str
    amount: int  # kopecks
    operation: str  # "sale" or "sale_return"
    payer: str = ""
    payer_inn: str = ""
    payer_account: str = ""  # 40817…: a person's account (fleet/receipts_import/received.py)
    purpose: str = ""
    contact: str = ""
    skip_reason: str | None = None  # why it makes no receipt (own transfer)


@dataclass(frozen=True)
class ImportSettings:
    """What the form says about every receipt of the file."""

    tax_system: str = "usn_income"
    vat: str = "none"
    item_type: int = 4
    item_name: str = ""  # empty: the payment's purpose


def bank_key(account: str, d: onec.Document) -> str:
    """The payment's identity: statement account, date, number and sum."""
    return f"bank:{account}:{d.date.isoformat()}:{d.number}:{d.amount}"


def from_statement(st: onec.Statement, company_inn: str) -> list[Payment]:
    """Incoming payment orders to the statement's accounts; own transfers marked skipped."""
    out = []
    for d in st.incoming():
        own = d.payer_inn == company_inn
        out.append(
            Payment(
                source="bank",
                key=bank_key(d.payee_account, d),
                line=d.line,
                date=d.received or d.date,
                number=d.number,
                amount=d.amount,
                operation="sale",
                payer=d.payer,
                payer_inn=d.payer_inn,
                payer_account=d.payer_account,
                purpose=d.purpose,
                skip_reason="перевод между своими счетами" if own else None,
            )
        )
    return out


def from_acquiring(ops: list[acquiring.Operation]) -> list[Payment]:
    """Every card operation of the registry (payments and returns)."""
    return [
        Payment(
            source="acquiring",
            key=f"acq:{o.date.isoformat()}:{o.number}:{o.kind}:{o.amount}",
            line=o.line,
            date=o.date,
            number=o.number,
            amount=o.amount,
            operation=o.kind,
            purpose=o.description,
            contact=o.contact,
        )
        for o in ops
    ]


def external_id(company_id: int, key: str) -> str:
    """The receipt's external id: the key hashed (ASCII, ≤ 128), per company."""
    digest = hashlib.sha256(f"{company_id}|{key}".encode()).hexdigest()[:40]
    return f"import-{digest}"


def item_name(p: Payment, fixed: str) -> str:
    """The item's name: the form's text or the purpose, kept to what CP866 can print."""
    base = fixed.strip() or p.purpose.strip()
    kind = "п/п" if p.source == "bank" else "операции"
    if not base:
        base = f"Оплата по {kind} № {p.number} от {p.date.strftime('%d.%m.%Y')}"
    clean = "".join(
        ch if values.text_ok(ch) else '"' if ch in "«»“”„" else "-" if ch in "—–" else " "
        for ch in base.replace("\t", " ")
    )
    return " ".join(clean.split())[:MAX_NAME] or "Оплата"


def request_for(company_id: int, p: Payment, s: ImportSettings) -> dict[str, Any]:
    """The receipt request of one payment (a card or bank transfer: electronic payment)."""
    body: dict[str, Any] = {
        "id": external_id(company_id, p.key),
        "operation": p.operation,
        "tax_system": s.tax_system,
        "date": p.date.isoformat(),
        "items": [
            {
                "name": item_name(p, s.item_name),
                "price": p.amount,
                "quantity": "1",
                "measure": 0,
                "sum": p.amount,
                "vat": s.vat,
                "type": s.item_type,
                "method": "full_payment",
            }
        ],
        "payments": {"electronic": p.amount},
        "total": p.amount,
    }
    if p.contact:
        body["buyer_contact"] = p.contact
    return body


def validate(body: dict[str, Any], now: str) -> list[tuple[str, str, str]]:
    """The shared schema's verdict on a request: [] or (path, code, message) for each problem."""
    _norm, errors = schema.check(body, None, now)
    return [(str(p), str(c), str(m)) for p, c, m in errors]
