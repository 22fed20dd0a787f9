"""One fiscal document for the receipt page: its TLV in Russian, the QR code, its requisites.

The TLV is decoded with the spec codec (protocol/tlv.py; one document, so its speed does not
matter) and each tag named from the registry (protocol/tagdata.py, `ru_name`). Money tags are
shown in rubles, times as dates, codes with their names. The QR code is the string the FNS
check page reads (reference fiscal-protocols §3.4, the same text the register prints,
firmware/register.py): ``t=YYYYMMDDTHHMM&s=rub.kop&fn=&i=&fp=&n=``, drawn as an inline SVG
with segno.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import segno
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.documents.models import (
    DOC_TYPE_LABEL,
    OPERATION_LABEL,
    DocType,
    FiscalDocument,
    Operation,
    tax_system_names,
)
from fleet.receipts_cabinet.exceptions import DocumentNotFoundError
from fleet.registers.models import Register
from fleet.stores.models import Store
from protocol import tlv
from protocol.errors import TlvDecodeError
from protocol.portable import codes, vat
from protocol.tree import Field

__all__ = [
    "MONEY_TAGS",
    "DocumentView",
    "TlvRow",
    "load",
    "original_request",
    "qr_string",
    "qr_svg",
]

#: VLN tags that hold kopecks (FFD: «сумма», «цена»)
MONEY_TAGS: Final = frozenset(
    {1020, 1031, 1043, 1079, 1081, 1102, 1103, 1104, 1105, 1106, 1107, 1120, 1200, 1215, 1216}
    | {1217, 1191}
)
_METHOD_RU: Final = {
    1: "предоплата 100%",
    2: "предоплата",
    3: "аванс",
    4: "полный расчёт",
    5: "частичный расчёт и кредит",
    6: "передача в кредит",
    7: "оплата кредита",
}
_METHOD_NAME: Final = {code: name for name, code in codes.PAYMENT_METHODS.items()}
_VAT_NAME: Final = {code: name for name, code in vat.NAMES.items()}
_TAX_NAME: Final = {bit: name for name, bit in codes.TAX_SYSTEMS.items()}
MSK: Final = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class TlvRow:
    """One line of the TLV listing: depth (0 top level), tag, Russian name, value text."""

    depth: int
    tag: int
    name: str
    value: str


@dataclass(frozen=True)
class DocumentView:
    """What the receipt page shows."""

    doc: FiscalDocument
    register: Register
    store: Store | None
    rows: list[TlvRow]
    fields: list[Field]
    tlv_error: str | None
    qr: str | None
    local_time: dt.datetime


def rubles(kop: int) -> str:
    """1234550 → «12 345,50 ₽»."""
    whole = f"{kop // 100:,}".replace(",", "\u00a0")
    return f"{whole},{kop % 100:02d}\u00a0₽"


def _value(f: Field) -> str:
    v = f.value
    tag = f.tag
    d = f.definition
    if isinstance(v, bytes):
        return v.hex(" ")
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return ""
    if tag in MONEY_TAGS:
        return rubles(v)
    if d is not None and d.kind.value == "unixtime":
        return dt.datetime.fromtimestamp(v, dt.UTC).strftime("%d.%m.%Y %H:%M")
    if tag == 1054:
        return f"{v} — {OPERATION_LABEL.get(Operation(v), '?') if v in (1, 2, 3, 4) else '?'}"
    if tag == 1055:
        return f"{v} — {', '.join(tax_system_names(v)) or '?'}"
    if tag == 1199:
        return f"{v} — {vat.LABELS.get(v, '?')}"
    if tag == 1214:
        return f"{v} — {_METHOD_RU.get(v, '?')}"
    return str(v)


def rows_of(fields: list[Field] | tuple[Field, ...], depth: int = 0) -> list[TlvRow]:
    """The listing of decoded fields, STLVs followed by their children one level deeper."""
    out: list[TlvRow] = []
    for f in fields:
        d = f.definition
        name = d.ru_name if d is not None else "неизвестный тег"
        if isinstance(f.value, tuple):
            out.append(TlvRow(depth, f.tag, name, ""))
            out += rows_of(f.value, depth + 1)
        else:
            out.append(TlvRow(depth, f.tag, name, _value(f)))
    return out


def _first(fields: list[Field], tag: int) -> Any:
    return next((f.value for f in fields if f.tag == tag), None)


def local_time(doc: FiscalDocument, fields: list[Field], store: Store | None) -> dt.datetime:
    """The document's local wall time: 1012 as the register wrote it, else the store's zone."""
    t = _first(fields, 1012)
    if isinstance(t, int):
        return dt.datetime.fromtimestamp(t, dt.UTC).replace(tzinfo=None)
    zone = MSK
    if store is not None:
        try:
            zone = ZoneInfo(store.timezone)
        except (KeyError, ValueError):
            zone = MSK
    return dt.datetime.fromtimestamp(doc.issued_at, zone).replace(tzinfo=None)


def qr_string(doc: FiscalDocument, when: dt.datetime) -> str | None:
    """The FNS QR text of a settlement document (None for other documents)."""
    if doc.doc_type not in (DocType.RECEIPT, DocType.CORRECTION_RECEIPT, DocType.BSO):
        return None
    total = doc.total or 0
    return (
        f"t={when:%Y%m%dT%H%M}&s={total // 100}.{total % 100:02d}&fn={doc.fn_number}"
        f"&i={doc.fd_number}&fp={doc.fiscal_sign}&n={doc.operation or 0}"
    )


def qr_svg(text: str) -> str:
    """The QR code as an inline SVG (no XML declaration), scaled by CSS."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=4, title="QR-код чека"
    )
    return out.getvalue().decode()


def load(session: Session, principal: Principal, document_id: int) -> DocumentView:
    """The company's document with everything the page shows; not found for others' ones."""
    doc = session.get(FiscalDocument, document_id)
    register = session.get(Register, doc.register_id) if doc is not None else None
    if (
        doc is None
        or register is None
        or doc.company_id != principal.company_id
        or not principal.sees_folder(register.folder_id)
    ):
        raise DocumentNotFoundError(f"Документ № {document_id} не найден")
    store = session.get(Store, register.store_id) if register.store_id is not None else None
    fields: list[Field] = []
    error = None
    if doc.tlv is not None:
        try:
            fields = tlv.decode(doc.tlv)
        except TlvDecodeError as e:
            error = f"TLV документа не читается: {e}"
    when = local_time(doc, fields, store)
    return DocumentView(
        doc=doc,
        register=register,
        store=store,
        rows=rows_of(fields),
        fields=fields,
        tlv_error=error,
        qr=qr_string(doc, when),
        local_time=when,
    )


def doc_title(doc: FiscalDocument) -> str:
    """«Кассовый чек № 12 (приход)»."""
    label = (
        DOC_TYPE_LABEL.get(DocType(doc.doc_type), "Документ")
        if doc.doc_type in set(DocType)
        else "Документ"
    )
    op = f" ({OPERATION_LABEL[Operation(doc.operation)].lower()})" if doc.operation else ""
    return f"{label} № {doc.fd_number}{op}"


def _kop(v: Any) -> int:
    return v if isinstance(v, int) else 0


def original_request(view: DocumentView) -> dict[str, Any]:
    """The form's values for a return or correction based on this document (every field
    still editable): its items, payments, tax system and buyer contact from the TLV."""
    doc = view.doc
    items = []
    for f in view.fields:
        if f.tag != 1059:
            continue
        it = list(f.children)
        mark = _first(it, 2000)
        quantity = _first(it, 1023)
        items.append(
            {
                "name": _first(it, 1030) or "",
                "price": _kop(_first(it, 1079)),
                "quantity": format(quantity, "f") if isinstance(quantity, Decimal) else "1",
                "measure": _first(it, 2108) or 0,
                "vat": _VAT_NAME.get(_first(it, 1199) or 6, "none"),
                "type": _first(it, 1212) or 1,
                "method": _METHOD_NAME.get(_first(it, 1214) or 4, "full_payment"),
                "marking": mark if isinstance(mark, str) else "",
                "marking_type": _first(it, 2100) or 0,
            }
        )
    tax = _first(view.fields, 1055) or doc.tax_system or 0
    back = {1: "sale_return", 2: "sale", 3: "expense_return", 4: "expense"}
    return {
        "operation": back.get(doc.operation or 1, "sale_return"),
        "tax_system": _TAX_NAME.get(tax, "osn"),
        "items": items,
        "cash": _kop(_first(view.fields, 1031)),
        "electronic": _kop(_first(view.fields, 1081)),
        "buyer_contact": _first(view.fields, 1008) or "",
        "original_date": view.local_time.date().isoformat(),
        "register_id": doc.register_id,
        "original_id": doc.id,
    }
