"""The УПД (universal transfer document) as the FNS's XML, format 5.03, and its check.

The layout follows the FNS's format 5.03 (Приказ ФНС ЕД-7-26/970@, КНД 1115131, function
«СЧФДОП»): ``Файл/Документ/СвСчФакт`` (number, date, seller, buyer, currency),
``ТаблСчФакт`` (lines and totals), ``СвПродПер`` (what was handed over). The official XSD is not
shipped with the project, so `check_upd` checks what the exchange relies on: the required
elements and attributes, the ИНН check digits, and that the lines add up to the totals and the
VAT. The file is encoded in windows-1251, as the format requires.
"""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from defusedxml.ElementTree import ParseError, fromstring

from fleet.accounts.requisites import inn_check_digits
from fleet.edo.exceptions import UpdFormatError

__all__ = [
    "DECLARATION",
    "ENCODING",
    "VAT_RATE",
    "Party",
    "UpdLine",
    "build_upd",
    "check_upd",
    "file_id",
    "upd_bytes",
    "vat_of",
]

ENCODING: Final = "windows-1251"
DECLARATION: Final = '<?xml version="1.0" encoding="windows-1251"?>\n'
VAT_RATE: Final = 22  # % (from 1 January 2026); the amounts include it
KND: Final = "1115131"
FUNCTION: Final = "СЧФДОП"
OKEI_SERVICE: Final = "796"  # штука (one month of service counted as one unit)


@dataclass(frozen=True)
class Party:
    """A seller or a buyer: name, ИНН (10 digits: a company; 12: an entrepreneur), КПП."""

    name: str
    inn: str
    kpp: str | None = None


@dataclass(frozen=True)
class UpdLine:
    """One line: what was provided and its price with VAT (kopecks)."""

    name: str
    amount: int


def upd_bytes(xml: str) -> bytes:
    """The file's bytes: windows-1251, a character it lacks (×, emoji) as a character reference
    (still the same text to any XML reader)."""
    return xml.encode(ENCODING, "xmlcharrefreplace")


def vat_of(gross: int) -> int:
    """The VAT inside a gross amount (kopecks, half up)."""
    return (gross * VAT_RATE * 2 + (100 + VAT_RATE)) // ((100 + VAT_RATE) * 2)


def _rub(kop: int) -> str:
    return f"{kop // 100}.{kop % 100:02d}"


def _kop(text: str | None, where: str) -> int:
    whole, dot, frac = (text or "").partition(".")
    if not whole.isdigit() or (dot and (len(frac) != 2 or not frac.isdigit())):
        raise UpdFormatError(f"{where}: сумма «{text}» не в формате рублей с копейками")
    return int(whole) * 100 + (int(frac) if dot else 0)


def file_id(recipient_id: str, sender_id: str, day: dt.date, guid: str) -> str:
    """The ИдФайл: ``ON_NSCHFDOPPR_<recipient>_<sender>_<YYYYMMDD>_<GUID>_0_0_0_0_0_00``."""
    return f"ON_NSCHFDOPPR_{recipient_id}_{sender_id}_{day:%Y%m%d}_{guid}_0_0_0_0_0_00"


def _party(parent: ET.Element, tag: str, party: Party) -> None:
    node = ET.SubElement(ET.SubElement(parent, tag), "ИдСв")
    if len(party.inn) == 12:
        ET.SubElement(node, "СвИП", {"ИННФЛ": party.inn}).append(
            ET.Element("ФИО", {"Фамилия": party.name, "Имя": "-"})
        )
    else:
        attrs = {"НаимОрг": party.name, "ИННЮЛ": party.inn}
        if party.kpp:
            attrs["КПП"] = party.kpp
        ET.SubElement(node, "СвЮЛУч", attrs)


def build_upd(
    *,
    seller: Party,
    buyer: Party,
    sender_id: str,
    recipient_id: str,
    number: str,
    day: dt.date,
    made_at: dt.datetime,
    lines: list[UpdLine],
    basis: str,
) -> tuple[str, str]:
    """The УПД XML (text with its declaration; encode with `ENCODING`) and its ИдФайл."""
    fid = file_id(recipient_id, sender_id, day, str(uuid.uuid4()))
    root = ET.Element("Файл", {"ИдФайл": fid, "ВерсФорм": "5.03", "ВерсПрог": "Облако 1.0"})
    doc = ET.SubElement(
        root,
        "Документ",
        {
            "КНД": KND,
            "Функция": FUNCTION,
            "ПоФактХЖ": "Документ об отгрузке товаров (выполнении работ), передаче "
            "имущественных прав (документ об оказании услуг)",
            "НаимДокОпр": "Счет-фактура и документ об отгрузке товаров (выполнении работ), "
            "передаче имущественных прав (документ об оказании услуг)",
            "ДатаИнфПр": made_at.strftime("%d.%m.%Y"),
            "ВремИнфПр": made_at.strftime("%H.%M.%S"),
            "НаимЭконСубСост": seller.name,
        },
    )
    head = ET.SubElement(doc, "СвСчФакт", {"НомерДок": number, "ДатаДок": f"{day:%d.%m.%Y}"})
    _party(head, "СвПрод", seller)
    _party(head, "СвПокуп", buyer)
    ET.SubElement(head, "ДенИзм", {"КодОКВ": "643", "НаимОКВ": "Российский рубль"})
    table = ET.SubElement(doc, "ТаблСчФакт")
    total = total_vat = 0
    for n, line in enumerate(lines, start=1):
        vat = vat_of(line.amount)
        total, total_vat = total + line.amount, total_vat + vat
        row = ET.SubElement(
            table,
            "СведТов",
            {
                "НомСтр": str(n),
                "НаимТов": line.name,
                "ОКЕИ_Тов": OKEI_SERVICE,
                "КолТов": "1",
                "ЦенаТов": _rub(line.amount - vat),
                "СтТовБезНДС": _rub(line.amount - vat),
                "НалСт": f"{VAT_RATE}%",
                "СтТовУчНал": _rub(line.amount),
            },
        )
        ET.SubElement(ET.SubElement(row, "Акциз"), "БезАкциз").text = "без акциза"
        ET.SubElement(ET.SubElement(row, "СумНал"), "СумНал").text = _rub(vat)
    totals = ET.SubElement(
        table,
        "ВсегоОпл",
        {"СтТовБезНДСВсего": _rub(total - total_vat), "СтТовУчНалВсего": _rub(total)},
    )
    ET.SubElement(ET.SubElement(totals, "СумНалВсего"), "СумНал").text = _rub(total_vat)
    handed = ET.SubElement(ET.SubElement(doc, "СвПродПер"), "СвПер")
    handed.attrib.update(
        {"СодОпер": "Услуги оказаны в полном объеме", "ДатаПер": f"{day:%d.%m.%Y}"}
    )
    ET.SubElement(handed, "ОснПер", {"НаимОсн": basis})
    ET.SubElement(
        doc,
        "Подписант",
        {"СпосПодтПолном": "1", "Должн": "Генеральный директор"},
    ).append(ET.Element("ФИО", {"Фамилия": seller.name, "Имя": "-"}))
    ET.indent(root)
    return DECLARATION + ET.tostring(root, encoding="unicode") + "\n", fid


def _need(node: ET.Element | None, path: str) -> ET.Element:
    found = None if node is None else node.find(path)
    if found is None:
        raise UpdFormatError(f"В УПД нет обязательного элемента {path}")
    return found


def _attr(node: ET.Element, name: str) -> str:
    value = node.get(name)
    if not value:
        raise UpdFormatError(f"У элемента {node.tag} нет обязательного атрибута {name}")
    return value


def check_upd(data: bytes) -> None:
    """Check a УПД file (bytes in windows-1251): `UpdFormatError` says what is wrong."""
    try:
        root = fromstring(data)
    except ParseError as exc:
        raise UpdFormatError(f"УПД не разбирается как XML: {exc}") from exc
    if root.tag != "Файл" or root.get("ВерсФорм") != "5.03":
        raise UpdFormatError("Это не файл УПД формата 5.03 (Файл/@ВерсФорм)")
    if not _attr(root, "ИдФайл").startswith("ON_NSCHFDOPPR_"):
        raise UpdFormatError("ИдФайл УПД должен начинаться с ON_NSCHFDOPPR_")
    doc = _need(root, "Документ")
    if _attr(doc, "КНД") != KND or _attr(doc, "Функция") != FUNCTION:
        raise UpdFormatError(f"Документ должен иметь КНД {KND} и функцию {FUNCTION}")
    head = _need(doc, "СвСчФакт")
    _attr(head, "НомерДок")
    try:
        dt.datetime.strptime(_attr(head, "ДатаДок"), "%d.%m.%Y")
    except ValueError as exc:
        raise UpdFormatError("Дата УПД не в формате ДД.ММ.ГГГГ") from exc
    for side in ("СвПрод", "СвПокуп"):
        ids = _need(head, f"{side}/ИдСв")
        org, person = ids.find("СвЮЛУч"), ids.find("СвИП")
        inn = _attr(org, "ИННЮЛ") if org is not None else _attr(_need(ids, "СвИП"), "ИННФЛ")
        if not _valid_inn(inn, 10 if person is None else 12):
            raise UpdFormatError(f"{side}: ИНН {inn} неверен (контрольные цифры)")
    table = _need(doc, "ТаблСчФакт")
    total = total_vat = 0
    rows = table.findall("СведТов")
    if not rows:
        raise UpdFormatError("В УПД нет ни одной строки (СведТов)")
    for n, row in enumerate(rows, start=1):
        where = f"Строка {n}"
        if _attr(row, "НомСтр") != str(n):
            raise UpdFormatError(f"{where}: номер строки должен быть {n}")
        net, gross = _kop(_attr(row, "СтТовБезНДС"), where), _kop(_attr(row, "СтТовУчНал"), where)
        vat = _kop(_need(row, "СумНал/СумНал").text, where)
        if net + vat != gross:
            raise UpdFormatError(f"{where}: стоимость без НДС и НДС не дают стоимость с НДС")
        total, total_vat = total + gross, total_vat + vat
    totals = _need(table, "ВсегоОпл")
    if _kop(_attr(totals, "СтТовУчНалВсего"), "Итого") != total:
        raise UpdFormatError("Итог с НДС не равен сумме строк")
    if _kop(_need(totals, "СумНалВсего/СумНал").text, "Итого") != total_vat:
        raise UpdFormatError("НДС итога не равен сумме НДС строк")
    if _kop(_attr(totals, "СтТовБезНДСВсего"), "Итого") != total - total_vat:
        raise UpdFormatError("Итог без НДС не равен итогу с НДС за вычетом НДС")
    _attr(_need(doc, "СвПродПер/СвПер"), "СодОпер")
    _need(doc, "Подписант")


def _valid_inn(inn: str, length: int) -> bool:
    if len(inn) != length or not inn.isdigit():
        return False
    body = inn[:9] if length == 10 else inn[:10]
    return body + inn_check_digits(body) == inn
