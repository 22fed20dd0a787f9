"""The messages a receipt goes out as: the e-mail (HTML and plain text, the fiscal requisites as
made) and the short text with the public page's link that SMS and messengers carry (54-FZ art.
1.2 lets a link to the receipt stand for the receipt on a phone)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape

from fleet.delivery.channels import Channel
from fleet.delivery.message import DkimKey, Outgoing

__all__ = ["PartView", "ReceiptView", "compose", "money", "templates"]

_TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"

OPERATION: Final = {
    "sale": "Приход",
    "sale_return": "Возврат прихода",
    "expense": "Расход",
    "expense_return": "Возврат расхода",
}


def templates() -> Environment:
    """The delivery templates (autoescaped HTML; the .txt ones too, harmless for text)."""
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(),
        auto_reload=False,  # rendered per message: no file check each time
    )


def money(kop: int) -> str:
    """1 234,50 (a space between thousands, a comma before kopecks)."""
    rub, k = divmod(abs(int(kop)), 100)
    sign = "-" if kop < 0 else ""
    return f"{sign}{rub:,}".replace(",", "\u00a0") + f",{k:02d}"


@dataclass(frozen=True)
class PartView:
    """One fiscal document of the receipt: what the drive made."""

    fn_number: str | None
    fd_number: int | None
    fiscal_sign: str | None
    shift_number: int | None
    receipt_number: int | None
    document_time: str | None
    qr: str | None


@dataclass(frozen=True)
class ReceiptView:
    """What a receipt letter and the public page show."""

    company_name: str
    company_inn: str
    place: str | None
    address: str | None
    operation: str
    items: list[dict[str, Any]]
    payments: dict[str, int]
    total: int
    parts: list[PartView]
    link: str
    sender: str | None  # tag 1117

    @classmethod
    def build(
        cls,
        *,
        company_name: str,
        company_inn: str,
        body: dict[str, Any],
        total: int,
        profile: dict[str, Any],
        parts: list[PartView],
        link: str,
    ) -> ReceiptView:
        """From the stored request, the register's profile and the parts made."""
        items = [
            {
                "name": str(i.get("name", "")),
                "quantity": str(i.get("quantity", "1")),
                "price": int(i.get("price", 0)),
                "sum": int(i.get("sum", 0)),
            }
            for i in body.get("items", [])
            if isinstance(i, dict)
        ]
        payments = {
            k: int(v) for k, v in dict(body.get("payments") or {}).items() if isinstance(v, int)
        }
        return cls(
            company_name=str(profile.get("user_name") or company_name),
            company_inn=company_inn,
            place=body.get("place") or profile.get("place"),
            address=profile.get("address"),
            operation=OPERATION.get(str(body.get("operation")), "Приход"),
            items=items,
            payments=payments,
            total=total,
            parts=parts,
            link=link,
            sender=profile.get("sender_email"),
        )


PAYMENT_LABEL: Final = {
    "cash": "Наличными",
    "electronic": "Безналичными",
    "prepayment": "Предоплатой",
    "credit": "Постоплатой",
    "provision": "Встречным предоставлением",
}


def compose(
    env: Environment,
    channel: Channel,
    view: ReceiptView,
    *,
    dkim: DkimKey | None = None,
) -> Outgoing:
    """The message for ``channel`` (e-mail signed with ``dkim`` when the sender is in its
    domain)."""
    if channel is Channel.EMAIL:
        ctx = {"r": view, "money": money, "payment_label": PAYMENT_LABEL}
        html = env.get_template("delivery/email.html").render(**ctx)
        text = env.get_template("delivery/email.txt").render(**ctx)
        sender = view.sender
        key = dkim if dkim is not None and sender and sender.endswith("@" + dkim.domain) else None
        return Outgoing(
            text=text,
            html=html,
            subject=f"Кассовый чек: {view.company_name}",
            sender=sender,
            dkim=key,
        )
    return Outgoing(text=f"Чек {view.company_name} на {money(view.total)} ₽: {view.link}")
