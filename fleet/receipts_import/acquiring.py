"""An acquiring registry in CSV, sans-IO: ``parse(bytes) -> list[Operation]``.

The bank's card registries differ by bank, so Oblako defines the columns it accepts (the
first row names them, in any order; other columns are ignored; ``;`` or ``,`` separates; UTF-8,
with or without a BOM, or Windows-1251 — as Excel saves it):

| column | required | value |
|---|---|---|
| ``Дата`` | yes | ``ДД.ММ.ГГГГ`` or ``ДД.ММ.ГГГГ ЧЧ:ММ[:СС]`` or ISO ``ГГГГ-ММ-ДД`` |
| ``Номер операции`` | yes | the acquirer's operation id (RRN), 1–64 characters |
| ``Сумма`` | yes | rubles: ``1500.00`` or ``1500,00`` |
| ``Тип`` | no | ``Оплата`` (default) or ``Возврат`` |
| ``Описание`` | no | what was paid for (becomes the item name) |
| ``Контакт покупателя`` | no | e-mail or ``+7XXXXXXXXXX`` (tag 1008) |

Sample (``tests/fleet/data/acquiring_registry.csv``)::

    Дата;Номер операции;Сумма;Тип;Описание;Контакт покупателя
    15.01.2026 10:30;612345678901;1500.00;Оплата;Курс «Основы»;buyer@example.ru
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Final

from fleet.receipts_import.exceptions import RegistryFieldError, RegistryFormatError
from fleet.receipts_import.onec import kopecks

__all__ = ["COLUMNS", "REQUIRED", "Operation", "parse"]

COLUMNS: Final = ("Дата", "Номер операции", "Сумма", "Тип", "Описание", "Контакт покупателя")
REQUIRED: Final = ("Дата", "Номер операции", "Сумма")
_KINDS: Final = {"оплата": "sale", "покупка": "sale", "возврат": "sale_return"}
_EXPECTED: Final = ", ".join(f"«{c}»" for c in COLUMNS)
_FORMATS: Final = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d")


@dataclass(frozen=True)
class Operation:
    """One card operation of the registry; ``line`` is its 1-based line in the file."""

    date: dt.date
    number: str
    amount: int  # kopecks, > 0
    kind: str  # "sale" or "sale_return"
    description: str = ""
    contact: str = ""
    line: int = 0


def _text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1251")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise RegistryFormatError(line, None, "файл не в UTF-8 и не в Windows-1251") from None


def _date(value: str, line: int) -> dt.date:
    text = value.strip()
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RegistryFieldError(line, "Дата", f"«{value}» — ожидается ДД.ММ.ГГГГ [ЧЧ:ММ]")


def parse(data: bytes) -> list[Operation]:
    """The registry's operations, or an error naming the line and the column."""
    text = _text(data)
    lines = text.splitlines()
    if not any(s.strip() for s in lines):
        raise RegistryFormatError(1, None, "файл пуст")
    head = next(s for s in lines if s.strip())
    delimiter = ";" if head.count(";") >= head.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    columns: dict[str, int] | None = None
    out: list[Operation] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            names = [c.strip() for c in row]
            missing = [c for c in REQUIRED if c not in names]
            if missing:
                raise RegistryFormatError(
                    line,
                    missing[0],
                    "в первой строке нет столбца; ожидаются " + _EXPECTED,
                )
            columns = {name: names.index(name) for name in COLUMNS if name in names}
            continue

        def cell(name: str, row: list[str] = row, columns: dict[str, int] = columns) -> str:
            at = columns.get(name)
            return row[at].strip() if at is not None and at < len(row) else ""

        number = cell("Номер операции")
        if not number:
            raise RegistryFieldError(line, "Номер операции", "пустой номер операции")
        if len(number) > 64:
            raise RegistryFieldError(line, "Номер операции", "длиннее 64 символов")
        kind_text = cell("Тип").lower() or "оплата"
        kind = _KINDS.get(kind_text)
        if kind is None:
            raise RegistryFieldError(
                line, "Тип", f"«{cell('Тип')}» — ожидается «Оплата» или «Возврат»"
            )
        out.append(
            Operation(
                date=_date(cell("Дата"), line),
                number=number,
                amount=kopecks(cell("Сумма"), line, "Сумма", positive=True),
                kind=kind,
                description=cell("Описание"),
                contact=cell("Контакт покупателя"),
                line=line,
            )
        )
    if columns is None:
        raise RegistryFormatError(1, None, "нет строки с названиями столбцов")
    return out
