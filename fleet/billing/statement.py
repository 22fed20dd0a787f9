"""Reading a bank statement in the 1C ClientBankExchange text format (windows-1251 or UTF-8).

Only payment orders (``СекцияДокумент=Платежное поручение``) are taken; other documents and the
account sections are skipped. Every refusal names the line, and nothing is written for a file
that fails anywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from fleet.billing.exceptions import InvalidStatementError

__all__ = ["StatementLine", "decode", "parse_statement"]

HEADER: Final = "1CClientBankExchange"
_PAYMENT_ORDERS: Final = frozenset({"платежное поручение", "платёжное поручение"})
_REQUIRED: Final = ("Номер", "Дата", "Сумма", "ПлательщикИНН", "НазначениеПлатежа")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_INN = re.compile(r"^(\d{10}|\d{12})$")


@dataclass(frozen=True)
class StatementLine:
    """One payment order of the statement (``line``: where its section starts)."""

    line: int
    number: str
    date: str
    amount: int
    payer_inn: str
    payer_name: str
    purpose: str
    recipient_inn: str | None


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else windows-1251 (1C's default)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _fail(line: int, reason: str) -> InvalidStatementError:
    message = f"Строка {line}: {reason}"
    return InvalidStatementError(f"Выписка не прочитана. {message}", fields={"file": message})


def _kopecks(text: str, line: int) -> int:
    value = text.strip().replace(",", ".")
    if not _AMOUNT.match(value):
        raise _fail(line, f"сумма «{text}» — ожидается число вида 1500.00")
    whole, _, frac = value.partition(".")
    amount = int(whole) * 100 + int((frac + "00")[:2])
    if amount <= 0:
        raise _fail(line, "сумма должна быть больше нуля")
    return amount


def _document(start: int, values: dict[str, tuple[int, str]]) -> StatementLine:
    for key in _REQUIRED:
        if key not in values:
            raise _fail(start, f"в документе нет поля {key}")
    number_line, number = values["Номер"]
    if not number.strip():
        raise _fail(number_line, "пустой номер документа")
    date_line, date = values["Дата"]
    try:
        dt.datetime.strptime(date.strip(), "%d.%m.%Y")
    except ValueError:
        raise _fail(date_line, f"дата «{date}» — ожидается ДД.ММ.ГГГГ") from None
    inn_line, inn = values["ПлательщикИНН"]
    if not _INN.match(inn.strip()):
        raise _fail(inn_line, f"ИНН плательщика «{inn}» — ожидается 10 или 12 цифр")
    amount_line, amount = values["Сумма"]
    recipient = values.get("ПолучательИНН", (0, ""))[1].strip() or None
    return StatementLine(
        line=start,
        number=number.strip()[:32],
        date=date.strip(),
        amount=_kopecks(amount, amount_line),
        payer_inn=inn.strip(),
        payer_name=values.get("Плательщик", values.get("Плательщик1", (0, "")))[1].strip(),
        purpose=values["НазначениеПлатежа"][1].strip(),
        recipient_inn=recipient,
    )


def parse_statement(data: bytes) -> list[StatementLine]:
    """The payment orders of a statement file, or `InvalidStatementError` naming the line."""
    text = decode(data)
    lines = text.splitlines()
    first = next((i for i, raw in enumerate(lines) if raw.strip()), None)
    if first is None:
        raise _fail(1, "файл пуст")
    if lines[first].strip() != HEADER:
        raise _fail(first + 1, f"ожидается заголовок {HEADER} (формат обмена с 1С)")
    found: list[StatementLine] = []
    start: int | None = None  # line of the open document section
    kind = ""
    values: dict[str, tuple[int, str]] = {}
    for index in range(first + 1, len(lines)):
        number = index + 1
        raw = lines[index].strip()
        if not raw:
            continue
        key, eq, value = raw.partition("=")
        if key == "СекцияДокумент":
            if start is not None:
                raise _fail(number, f"новый документ до конца документа из строки {start}")
            start, kind, values = number, value.strip().lower(), {}
            continue
        if raw == "КонецДокумента":
            if start is None:
                raise _fail(number, "КонецДокумента без начала документа")
            if kind in _PAYMENT_ORDERS:
                found.append(_document(start, values))
            start = None
            continue
        if raw == "КонецФайла":
            break
        if start is not None:
            if not eq:
                raise _fail(number, f"ожидается «Ключ=Значение», а не «{raw[:60]}»")
            values.setdefault(key.strip(), (number, value))
    if start is not None:
        raise _fail(start, "документ не закрыт (нет КонецДокумента)")
    return found
