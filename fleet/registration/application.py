"""The application's data (form КНД 1110061), its validation and its canonical bytes.

The canonical bytes — what the user signs and the FNS gateway receives — are UTF-8 JSON with
sorted keys, no insignificant whitespace and non-ASCII kept as is (``json.dumps(...,
sort_keys=True, separators=(",", ":"), ensure_ascii=False)``), no trailing newline. JSON rather
than the FNS's XML schema because the tax service's exchange format is not public in a stable
form; the document carries ``"format": "oblako.knd1110061.v1"`` so a later XML can coexist.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from fleet.accounts.exceptions import InvalidRequisiteError
from fleet.accounts.requisites import validate_inn
from fleet.registration.exceptions import InvalidApplicationError

__all__ = [
    "DEREG_FORMAT",
    "DEREG_REASONS",
    "FLAGS",
    "FORMAT",
    "TAX_SYSTEMS",
    "Address",
    "ApplicationForm",
    "canonical_bytes",
    "deregistration_bytes",
    "validate_form",
]

FORMAT: Final = "oblako.knd1110061.v1"
DEREG_FORMAT: Final = "oblako.knd1110062.v1"

#: Why a register is taken off the register (КНД 1110062; 54-ФЗ ст. 4.2 п. 13–14: on the
#: user's application, on transfer to another user, on theft or loss, on breakdown). The
#: form's numeric codes are not in our references, so the document carries these names.
DEREG_REASONS: Final[dict[str, str]] = {
    "user": "По заявлению пользователя (прекращение применения)",
    "transfer": "Передача ККТ другому пользователю",
    "theft": "Хищение ККТ",
    "loss": "Потеря ККТ",
    "breakdown": "Выход ККТ из строя (ФН не может сформировать отчёт)",
}

#: Usage flags (the registration report's tags, peers-and-regulations §2.3) → Russian labels.
FLAGS: Final[dict[str, str]] = {
    "automatic": "Автоматическое устройство для расчётов (тег 1001)",
    "autonomous": "Автономный режим, без передачи данных в ОФД (тег 1002)",
    "internet": "Расчёты только в сети «Интернет» (тег 1108)",
    "services": "Оказание услуг (тег 1109)",
    "excise": "Подакцизные товары (тег 1207)",
    "gambling": "Азартные игры (тег 1193)",
    "lottery": "Лотереи (тег 1126)",
    "agent": "Платёжный агент / субагент (тег 1057)",
    "marked": "Маркированные товары (тег 1290)",
    "pawnshop": "Ломбард (тег 1290)",
    "insurance": "Страхование (тег 1290)",
}

TAX_SYSTEMS: Final[dict[str, str]] = {
    "osn": "ОСН",
    "usn_income": "УСН доход",
    "usn_income_expense": "УСН доход минус расход",
    "esxn": "ЕСХН",
    "psn": "ПСН",
}

_WEBSITE: Final = re.compile(r"^(https?://)?([a-zа-яё0-9-]+\.)+[a-zа-яё0-9-]{2,}(/\S*)?$", re.I)


@dataclass
class Address:
    """An installation address as the ГАР/ФИАС register structures it."""

    region_code: str = ""  # код субъекта РФ, 2 цифры
    municipal: str = ""  # муниципальный район / городской округ
    settlement: str = ""  # городское/сельское поселение, населённый пункт
    street: str = ""  # элемент улично-дорожной сети
    house: str = ""  # номер здания (дома)
    building: str = ""  # корпус / строение
    flat: str = ""  # помещение
    postal_code: str = ""  # 6 цифр
    oktmo: str = ""  # 8 или 11 цифр
    fias_id: str = ""  # идентификатор дома в ГАР (GUID), если известен

    def text(self) -> str:
        """The address as one line, for people."""
        parts = [
            self.postal_code,
            self.municipal,
            self.settlement,
            self.street,
            f"д. {self.house}" if self.house else "",
            f"корп. {self.building}" if self.building else "",
            f"пом. {self.flat}" if self.flat else "",
        ]
        return ", ".join(p for p in parts if p)


@dataclass
class ApplicationForm:
    """The user's part of the application (the register's own data come from Oblako)."""

    fn_model: str = "ФН-1.2"
    fn_number: str = ""
    ofd_inn: str = ""
    ofd_name: str = ""
    address: Address = field(default_factory=Address)
    place: str = ""
    flags: dict[str, bool] = field(default_factory=dict)
    automat_number: str = ""
    website: str = ""
    tax_systems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApplicationForm:
        data = dict(data)
        address = Address(**data.pop("address", {}))
        return cls(address=address, **data)

    def flag(self, name: str) -> bool:
        return bool(self.flags.get(name, False))


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def validate_form(form: ApplicationForm) -> ApplicationForm:
    """The cleaned form, or InvalidApplicationError with every wrong field named in Russian."""
    f: dict[str, str] = {}
    a = form.address
    for name in ("region_code", "municipal", "settlement", "street", "house", "building"):
        setattr(a, name, getattr(a, name).strip())
    a.flat, a.postal_code, a.oktmo, a.fias_id = (
        a.flat.strip(),
        a.postal_code.strip(),
        a.oktmo.strip(),
        a.fias_id.strip().lower(),
    )
    form.fn_number = form.fn_number.strip()
    form.ofd_inn = form.ofd_inn.strip()
    form.ofd_name = form.ofd_name.strip()
    form.place = form.place.strip()
    form.automat_number = form.automat_number.strip()
    form.website = form.website.strip()

    unknown = sorted(set(form.flags) - set(FLAGS))
    if unknown:
        f["flags"] = f"Неизвестные признаки: {', '.join(unknown)}"
    if not _digits(a.region_code) or len(a.region_code) != 2 or a.region_code == "00":
        f["address.region_code"] = "Код региона — две цифры от 01 до 99, например 77 для Москвы"
    if not a.municipal:
        f["address.municipal"] = "Укажите муниципальное образование (район или городской округ)"
    if not a.house:
        f["address.house"] = "Укажите номер дома (здания)"
    elif len(a.house) > 20:
        f["address.house"] = "Номер дома — не длиннее 20 символов"
    if not (_digits(a.postal_code) and len(a.postal_code) == 6):
        f["address.postal_code"] = "Почтовый индекс — ровно 6 цифр"
    if not (_digits(a.oktmo) and len(a.oktmo) in (8, 11)):
        f["address.oktmo"] = "Код ОКТМО — 8 или 11 цифр"
    if a.fias_id and not re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", a.fias_id):
        f["address.fias_id"] = "Идентификатор ГАР — GUID вида 0c5b2444-70a0-4932-980c-b4dc0d3f02b5"
    if not form.fn_model:
        f["fn_model"] = "Укажите модель фискального накопителя"
    if not (_digits(form.fn_number) and len(form.fn_number) == 16):
        f["fn_number"] = "Заводской номер фискального накопителя — 16 цифр"
    autonomous = form.flag("autonomous")
    if autonomous:
        if form.ofd_inn or form.ofd_name:
            f["ofd_inn"] = "В автономном режиме ОФД не указывается"
    else:
        try:
            form.ofd_inn = validate_inn(form.ofd_inn, "ofd_inn")
            if len(form.ofd_inn) != 10:
                f["ofd_inn"] = "ИНН оператора фискальных данных — 10 цифр (это организация)"
        except InvalidRequisiteError as exc:
            f["ofd_inn"] = exc.fields.get("ofd_inn", exc.message)
        if not form.ofd_name:
            f["ofd_name"] = "Укажите наименование оператора фискальных данных"
    if form.flag("automatic"):
        if not form.automat_number:
            f["automat_number"] = "Для автоматического устройства укажите номер автомата"
        elif len(form.automat_number) > 20:
            f["automat_number"] = "Номер автомата — не длиннее 20 символов"
    elif form.automat_number:
        f["automat_number"] = "Номер автомата указывается только для автоматического устройства"
    if form.flag("internet"):
        if not form.website:
            f["website"] = "Для расчётов в интернете укажите адрес сайта"
        elif not _WEBSITE.match(form.website):
            f["website"] = "Адрес сайта указан неверно, пример: shop.example.ru"
        if autonomous:
            f["flags"] = "Касса для расчётов в интернете не может работать в автономном режиме"
    elif not form.place:
        f["place"] = "Укажите место установки (например, «Торговый зал магазина»)"
    if form.flag("gambling") and form.flag("lottery"):
        f["flags"] = "Азартные игры и лотереи не проводятся на одной кассе — выберите одно"
    if not form.tax_systems:
        f["tax_systems"] = "Выберите хотя бы одну систему налогообложения"
    elif any(t not in TAX_SYSTEMS for t in form.tax_systems):
        f["tax_systems"] = f"Системы налогообложения: {', '.join(TAX_SYSTEMS)}"
    if f:
        raise InvalidApplicationError("Заявление заполнено с ошибками", fields=f)
    form.flags = {name: form.flag(name) for name in FLAGS}
    form.tax_systems = sorted(set(form.tax_systems), key=list(TAX_SYSTEMS).index)
    return form


def canonical_bytes(
    form: ApplicationForm,
    *,
    user_inn: str,
    user_ogrn: str,
    user_name: str,
    kkt_model: str,
    kkt_serial: str,
    kkt_firmware: str,
    prepared_at: str,
    kind: str = "registration",
    rnm: str | None = None,
    reason_codes: list[int] | None = None,
    fn_close: dict[str, Any] | None = None,
) -> bytes:
    """The exact bytes to sign (see the module's docstring for the format). A re-registration
    adds the RNM, the reason codes and, on a drive replacement, the old drive's closing report."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "prepared_at": prepared_at,
        "user": {"inn": user_inn, "ogrn": user_ogrn, "name": user_name},
        "kkt": {"model": kkt_model, "serial": kkt_serial, "firmware": kkt_firmware},
        "fn": {"model": form.fn_model, "number": form.fn_number},
        "ofd": {"inn": form.ofd_inn, "name": form.ofd_name},
        "address": {**asdict(form.address), "text": form.address.text()},
        "place": form.place,
        "website": form.website,
        "flags": form.flags,
        "automat_number": form.automat_number,
        "tax_systems": form.tax_systems,
    }
    if kind != "registration":
        doc["rnm"] = rnm
        doc["reason_codes"] = reason_codes or []
    if fn_close is not None:
        doc["fn_close"] = fn_close
    return _dump(doc)


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def deregistration_bytes(
    *,
    user_inn: str,
    user_ogrn: str,
    user_name: str,
    kkt_model: str,
    kkt_serial: str,
    rnm: str,
    fn_number: str,
    reason: str,
    fn_close: dict[str, Any] | None,
    prepared_at: str,
) -> bytes:
    """The КНД 1110062 application's bytes (same canonical JSON as the registration)."""
    return _dump(
        {
            "format": DEREG_FORMAT,
            "kind": "deregistration",
            "prepared_at": prepared_at,
            "user": {"inn": user_inn, "ogrn": user_ogrn, "name": user_name},
            "kkt": {"model": kkt_model, "serial": kkt_serial},
            "rnm": rnm,
            "fn": {"number": fn_number},
            "reason": reason,
            "reason_text": DEREG_REASONS[reason],
            "fn_close": fn_close,
        }
    )
