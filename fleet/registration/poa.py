"""A machine-readable power of attorney (МЧД): the fields we can verify, read from its XML.

The FNS's format for a representative in tax matters (the ``ON_DOVEREN``-style file, element
tables "Сведения доверенности (СвДов)", "Сведения о доверителе", "Сведения о представителе",
"Сведения о полномочиях"; docs.cntd.ru/document/608230861) and the unified МЧД format (ЕФ МЧД
003) name the same things slightly differently, so the reader looks elements up by local name
and takes the first of the known spellings:

* number — ``НомДовер`` (attribute of ``СвДов``);
* validity — start ``ДатаНач`` / ``ДатаВыдДовер``, end ``ДатаОкон`` / ``ДатаКонДов``
  (``ДД.ММ.ГГГГ`` in the FNS ``ДатаТип``, ``ГГГГ-ММ-ДД`` in ЕФ МЧД);
* principal — inside ``СвДоверит`` (or ``Доверит``): ``ИННЮЛ`` and ``ОГРН``;
* representative — inside ``СвПред`` / ``СвУпПред`` (or ``Пред``): ``ИННФЛ``, ``СНИЛС`` and the
  name (``Фамилия``, ``Имя``, ``Отчество``);
* powers — ``СвПолн`` / ``МашПолн`` / ``Полн`` elements: ``КодПолн`` and ``НаимПолн`` or text.

Not checked here: the XSD as a whole, the FNS registry of МЧД (revocation), re-delegation.
The XML is parsed with defusedxml (no entities, no external references, no DTD tricks).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from fleet.registration.exceptions import InvalidPoaError

__all__ = ["MAX_POA_BYTES", "Poa", "Power", "allows_kkt", "parse_poa"]

MAX_POA_BYTES: Final = 200_000
_FIELD: Final = "poa"
#: Words by which a power covers КНД 1110061/1110062 (the classifier codes of the FNS's
#: register of powers are not in our references, so the power's name is read).
_KKT_WORDS: Final = ("контрольно-кассов", "ккт", "регистрац")


@dataclass(frozen=True)
class Power:
    """One power: its classifier code (when given) and its wording."""

    code: str
    text: str


@dataclass(frozen=True)
class Poa:
    """What a МЧД says that we check."""

    number: str
    valid_from: dt.date
    valid_to: dt.date
    principal_inn: str
    principal_ogrn: str
    representative_name: str
    representative_snils: str | None
    representative_inn: str | None
    powers: tuple[Power, ...] = field(default_factory=tuple)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _walk(root: Element) -> Iterator[Element]:
    yield from root.iter()


def _first(root: Element, names: Iterable[str]) -> Element | None:
    wanted = set(names)
    return next((e for e in _walk(root) if _local(e.tag) in wanted), None)


def _attr(root: Element, names: Iterable[str]) -> str:
    """The first non-empty attribute (or child element text) with one of ``names``."""
    names = tuple(names)
    for element in _walk(root):
        for name in names:
            value = element.attrib.get(name)
            if value and value.strip():
                return value.strip()
            if _local(element.tag) == name and element.text and element.text.strip():
                return element.text.strip()
    return ""


def _date(value: str, what: str) -> dt.date:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise InvalidPoaError(
        "Доверенность не разобрана",
        fields={_FIELD: f"{what} — дата вида ДД.ММ.ГГГГ, в файле: «{value or 'нет'}»"},
    )


def _digits(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def parse_poa(xml: bytes) -> Poa:
    """The МЧД's checked fields, or InvalidPoaError saying precisely what is missing."""
    if len(xml) > MAX_POA_BYTES:
        raise InvalidPoaError(
            "Файл доверенности слишком большой",
            fields={_FIELD: f"Не больше {MAX_POA_BYTES // 1000} КБ"},
        )
    try:
        root = fromstring(xml)
    except (ParseError, DefusedXmlException, LookupError, ValueError) as exc:
        raise InvalidPoaError(
            "Доверенность не разобрана",
            fields={_FIELD: f"Нужен XML-файл машиночитаемой доверенности ({exc})"},
        ) from exc
    missing: list[str] = []
    number = _attr(root, ("НомДовер", "ВнНомДовер"))
    if not number:
        missing.append("номер доверенности (НомДовер)")
    start = _attr(root, ("ДатаНач", "ДатаВыдДовер"))
    end = _attr(root, ("ДатаОкон", "ДатаКонДов"))
    if not start:
        missing.append("дата выдачи (ДатаНач)")
    if not end:
        missing.append("дата окончания (ДатаОкон)")
    principal = _first(root, ("СвДоверит", "Доверит"))
    representative = _first(root, ("СвПред", "СвУпПред", "Пред"))
    if principal is None:
        missing.append("сведения о доверителе (СвДоверит)")
    if representative is None:
        missing.append("сведения о представителе (СвПред)")
    if missing:
        raise InvalidPoaError(
            "В доверенности не хватает сведений",
            fields={_FIELD: "Не найдено: " + "; ".join(missing)},
        )
    assert principal is not None and representative is not None
    principal_inn = _digits(_attr(principal, ("ИННЮЛ",)))
    principal_ogrn = _digits(_attr(principal, ("ОГРН",)))
    snils = _digits(_attr(representative, ("СНИЛС",))) or None
    person_inn = _digits(_attr(representative, ("ИННФЛ",))) or None
    if not principal_inn or not principal_ogrn:
        missing.append("ИНН и ОГРН доверителя (ИННЮЛ, ОГРН)")
    if snils is None and person_inn is None:
        missing.append("СНИЛС или ИНН представителя")
    if missing:
        raise InvalidPoaError(
            "В доверенности не хватает сведений",
            fields={_FIELD: "Не найдено: " + "; ".join(missing)},
        )
    name = " ".join(
        p for p in (_attr(representative, (n,)) for n in ("Фамилия", "Имя", "Отчество")) if p
    )
    found = (
        Power(
            code=(e.attrib.get("КодПолн") or "").strip(),
            text=(e.attrib.get("НаимПолн") or e.attrib.get("ТекстПолн") or e.text or "").strip(),
        )
        for e in _walk(root)
        if _local(e.tag) in ("СвПолн", "МашПолн", "Полн", "ТекстПолн")
    )
    powers = tuple(p for p in found if p.code or p.text)  # containers hold no power themselves
    valid_from = _date(start, "Дата выдачи доверенности")
    valid_to = _date(end, "Дата окончания доверенности")
    if valid_to < valid_from:
        raise InvalidPoaError(
            "Доверенность не разобрана",
            fields={
                _FIELD: f"Дата окончания {valid_to:%d.%m.%Y} раньше даты выдачи "
                f"{valid_from:%d.%m.%Y}"
            },
        )
    return Poa(
        number=number,
        valid_from=valid_from,
        valid_to=valid_to,
        principal_inn=principal_inn,
        principal_ogrn=principal_ogrn,
        representative_name=name,
        representative_snils=snils,
        representative_inn=person_inn,
        powers=powers,
    )


def allows_kkt(powers: Iterable[Power]) -> bool:
    """Does one of the powers cover applications about cash registers (КНД 1110061/62)?"""
    return any(any(w in p.text.lower() for w in _KKT_WORDS) for p in powers)
