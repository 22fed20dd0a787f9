"""The messages a receipt goes out as: the e-mail (HTML and plain text, the fiscal requisites as
made) and the short text with the public page's link that SMS and messengers carry (54-FZ art.
1.2 lets a link to the receipt stand for the receipt on a phone).

The letter is written by `email_html` / `email_text`, plain string building: rendering the Jinja
templates ``delivery/email.html`` / ``.txt`` per letter (a context, a Markup per value) cost
~170 µs, more than the letter's MIME and its SMTP send together. The templates stay the readable
reference: tests/delivery/test_compose.py checks, by hypothesis over any receipt, that these
functions write exactly what the templates render (autoescaped HTML, plain text, ``None`` as
``None``, the trailing newline dropped as Jinja does).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from fleet.delivery.channels import Channel
from fleet.delivery.message import DkimKey, Outgoing, Prepared
from fleet.delivery.mime import body_bytes

__all__ = [
    "PartView",
    "ReceiptView",
    "compose",
    "email_html",
    "email_text",
    "money",
    "templates",
]

_TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"

OPERATION: Final = {
    "sale": "Приход",
    "sale_return": "Возврат прихода",
    "expense": "Расход",
    "expense_return": "Возврат расхода",
}


def templates() -> Environment:
    """The delivery templates as Jinja loads them (autoescaped HTML, plain text): the letter's
    reference (`email_html`, `email_text` write the same)."""
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(),
        auto_reload=False,  # rendered per message: no file check each time
    )


@functools.lru_cache(maxsize=4096)  # a shop's few prices recur letter after letter
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


_HTML_SPECIAL: Final = re.compile("[&<>'\"]")


def _e(value: object) -> str:
    """What Jinja's autoescape writes for ``{{ value }}`` (markupsafe, as the templates); a
    plain string with nothing to escape, or an int, as itself (most values of a letter: the
    Markup round trip was a third of the letter's rendering)."""
    if type(value) is str:
        return value if _HTML_SPECIAL.search(value) is None else str(escape(value))
    if type(value) is int:
        return str(value)
    if value is None:  # a requisite the drive did not give (Jinja writes "None")
        return "None"
    return str(escape(value))


@functools.lru_cache(maxsize=1024, typed=True)
def _html_head(
    operation: str, company_name: str, company_inn: str, address: str | None, place: str | None
) -> str:
    """The letter's HTML up to its goods: the same for every receipt of a register."""
    out = [
        '<!doctype html>\n<html lang="ru">\n'
        '<head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1">\n'
        "<title>Кассовый чек</title></head>\n"
        '<body style="margin:0;padding:16px;font-family:Arial,sans-serif;background:#f5f6f8;'
        'color:#1b1f24">\n'
        '<div style="max-width:480px;margin:0 auto;background:#fff;padding:16px;'
        'border-radius:8px">\n'
        '  <h1 style="font-size:18px;margin:0 0 4px">Кассовый чек. ',
        _e(operation),
        '</h1>\n  <p style="margin:0 0 12px">',
        _e(company_name),
        ", ИНН ",
        _e(company_inn),
        "</p>\n  ",
    ]
    if address:
        out += ['<p style="margin:0 0 4px;font-size:13px">Адрес расчётов: ', _e(address), "</p>"]
    out.append("\n  ")
    if place:
        out += ['<p style="margin:0 0 12px;font-size:13px">Место расчётов: ', _e(place), "</p>"]
    out.append('\n  <table style="width:100%;border-collapse:collapse;font-size:14px">\n    ')
    return "".join(out)


@functools.lru_cache(maxsize=4096, typed=True)
def _html_item(name: str, quantity: str, price: int, total: int) -> str:
    return "".join(
        (
            '\n    <tr><td style="padding:4px 0">',
            _e(name),
            '<br><span style="color:#666">',
            _e(quantity),
            " × ",
            _e(money(price)),
            '</span></td>\n        <td style="padding:4px 0;text-align:right;white-space:nowrap">',
            _e(money(total)),
            "</td></tr>\n    ",
        )
    )


@functools.lru_cache(maxsize=4096, typed=True)
def _html_total(total: int) -> str:
    return "".join(
        (
            '\n    <tr><td style="padding:8px 0;font-weight:bold;border-top:1px solid #ddd">ИТОГ'
            '</td>\n        <td style="padding:8px 0;font-weight:bold;text-align:right;'
            'border-top:1px solid #ddd">',
            _e(money(total)),
            " ₽</td></tr>\n    ",
        )
    )


@functools.lru_cache(maxsize=4096, typed=True)
def _html_payment(kind: str, amount: int) -> str:
    return "".join(
        (
            "\n    <tr><td>",
            _e(PAYMENT_LABEL.get(kind, kind)),
            '</td><td style="text-align:right">',
            _e(money(amount)),
            "</td></tr>\n    ",
        )
    )


def email_html(view: ReceiptView) -> str:
    """``delivery/email.html`` rendered for ``view`` (the same characters; see the module).
    What recurs from letter to letter (the head, a line of goods, a sum) is kept rendered."""
    r = view
    out = [_html_head(r.operation, r.company_name, r.company_inn, r.address, r.place)]
    for i in r.items:
        out.append(_html_item(i["name"], i["quantity"], i["price"], i["sum"]))
    out.append(_html_total(r.total))
    for kind, amount in r.payments.items():
        if amount:
            out.append(_html_payment(kind, amount))
    out.append("\n  </table>\n  ")
    for p in r.parts:
        out += [
            '\n  <p style="font-size:13px;margin:12px 0 0">\n    ФН ',
            _e(p.fn_number),
            " · ФД ",
            _e(p.fd_number),
            " · ФП ",
            _e(p.fiscal_sign),
            "<br>\n    Смена ",
            _e(p.shift_number),
            " · чек ",
            _e(p.receipt_number),
            " · ",
            _e(p.document_time),
            "\n  </p>\n  ",
        ]
    out.append("\n  ")
    if r.sender:
        out += ['<p style="font-size:13px">Эл. адрес отправителя: ', _e(r.sender), "</p>"]
    out += [
        '\n  <p style="font-size:13px"><a href="',
        _e(r.link),
        '">Чек и QR-код на сайте</a> · проверить чек: https://check.ofd.ru (ФНС)</p>\n'
        "</div>\n</body>\n</html>",
    ]
    return "".join(out)


@functools.lru_cache(maxsize=1024, typed=True)
def _text_head(
    operation: str, company_name: str, company_inn: str, address: str | None, place: str | None
) -> str:
    out = [f"Кассовый чек. {operation}\n{company_name}, ИНН {company_inn}\n"]
    if address:
        out.append(f"Адрес расчётов: {address}\n")
    if place:
        out.append(f"Место расчётов: {place}\n")
    out.append("\n")
    return "".join(out)


@functools.lru_cache(maxsize=4096, typed=True)
def _text_item(name: str, quantity: str, price: int, total: int) -> str:
    return f"{name}: {quantity} × {money(price)} = {money(total)}\n"


def email_text(view: ReceiptView) -> str:
    """``delivery/email.txt`` rendered for ``view`` (not escaped: plain text)."""
    r = view
    out = [_text_head(r.operation, r.company_name, r.company_inn, r.address, r.place)]
    for i in r.items:
        out.append(_text_item(i["name"], i["quantity"], i["price"], i["sum"]))
    out.append(f"\nИТОГ: {money(r.total)} ₽\n")
    for kind, amount in r.payments.items():
        if amount:
            out.append(f"{PAYMENT_LABEL.get(kind, kind)}: {money(amount)}\n")
    for p in r.parts:
        out.append(
            f"\nФН {p.fn_number}  ФД {p.fd_number}  ФП {p.fiscal_sign}\n"
            f"Смена {p.shift_number}  чек {p.receipt_number}  {p.document_time}\n"
        )
    if r.sender:
        out.append(f"Эл. адрес отправителя: {r.sender}\n")
    out.append(f"\nЧек и QR-код: {r.link}")
    return "".join(out)


def compose(
    channel: Channel, view: ReceiptView, *, dkim: DkimKey | None = None, prepared: bool = False
) -> Outgoing:
    """The message for ``channel`` (e-mail signed with ``dkim`` when the sender is in its
    domain; ``prepared``: with its MIME body made here, from kept line encodings, so the
    provider does not encode it — `fleet.delivery.mime.body_bytes`)."""
    if channel is Channel.EMAIL:
        sender = view.sender
        key = dkim if dkim is not None and sender and sender.endswith("@" + dkim.domain) else None
        text, html = email_text(view), email_html(view)
        return Outgoing(
            text=text,
            html=html,
            subject=_subject(view.company_name),
            sender=sender,
            dkim=key,
            prepared=Prepared(text, html, body_bytes(text, html, kept=True)) if prepared else None,
        )
    return Outgoing(text=f"Чек {view.company_name} на {money(view.total)} ₽: {view.link}")


@functools.lru_cache(maxsize=1024, typed=True)
def _subject(company_name: str) -> str:
    return f"Кассовый чек: {company_name}"
