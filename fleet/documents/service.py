"""Filing fiscal documents and the OFD's answers (MQTT ingest, the demo and the bench call these).

`record_document` is idempotent on (fn_number, fd_number): the same document again changes
nothing; a different document under the same pair is a conflict (a drive never reuses a
number). It keeps the register's list fields current (``shift_open``, ``last_seen_at``) so the
list never aggregates documents. Neither function commits: the ingest commits a batch at once.
Documents are not audited row by row: the document table is itself the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.documents.exceptions import (
    DocumentConflictError,
    DocumentNotFoundError,
    InvalidDocumentError,
)
from fleet.documents.models import RECEIPT_TYPES, DocType, FiscalDocument, OfdStatus, Operation
from fleet.registers.models import Register

__all__ = ["SHIFT_TYPES", "DocumentIn", "record_document", "record_ofd_answer"]

#: Documents that open or end a shift: the latest of them (by number) says whether it is open.
SHIFT_TYPES: Final = (DocType.SHIFT_OPEN, DocType.SHIFT_CLOSE, DocType.ARCHIVE_CLOSE)
_TAX_BITS: Final = 1 | 2 | 4 | 8 | 16 | 32


@dataclass(frozen=True)
class DocumentIn:
    """A fiscal document as a register reported it."""

    register_id: int
    fn_number: str
    fd_number: int
    doc_type: int
    issued_at: float
    fiscal_sign: str
    operation: int | None = None
    total: int | None = None
    tax_system: int | None = None
    shift_number: int | None = None
    has_marking: bool = False


def _validate(doc: DocumentIn) -> None:
    fields: dict[str, str] = {}
    if not (doc.fn_number.isdigit() and len(doc.fn_number) == 16):
        fields["fn_number"] = "Номер ФН — 16 цифр"
    if doc.fd_number < 1:
        fields["fd_number"] = "Номер ФД — целое число от 1"
    if doc.doc_type not in set(DocType):
        fields["doc_type"] = "Неизвестный тип документа ФФД"
    elif doc.doc_type in RECEIPT_TYPES:
        if doc.operation not in set(Operation):
            fields["operation"] = "Укажите признак расчёта (1054): 1, 2, 3 или 4"
        if doc.total is None or doc.total < 0:
            fields["total"] = "Укажите сумму расчёта в копейках (не меньше нуля)"
    elif doc.operation is not None:
        fields["operation"] = "Признак расчёта бывает только у чеков и БСО"
    if doc.tax_system is not None and (doc.tax_system <= 0 or doc.tax_system & ~_TAX_BITS):
        fields["tax_system"] = "Неверная система налогообложения (1055)"
    if not doc.fiscal_sign.strip() or not doc.fiscal_sign.isdigit():
        fields["fiscal_sign"] = "Фискальный признак — цифры"
    if fields:
        raise InvalidDocumentError("Неверный фискальный документ", fields=fields)


def _same(row: FiscalDocument, doc: DocumentIn) -> bool:
    return (
        row.register_id,
        row.doc_type,
        row.operation,
        row.total,
        row.tax_system,
        row.shift_number,
        row.fiscal_sign,
        row.has_marking,
        row.issued_at,
    ) == (
        doc.register_id,
        doc.doc_type,
        doc.operation,
        doc.total,
        doc.tax_system,
        doc.shift_number,
        doc.fiscal_sign,
        doc.has_marking,
        doc.issued_at,
    )


def record_document(*, session: Session, clock: Clock, doc: DocumentIn) -> FiscalDocument:
    """File the document (or return the identical one already filed); does not commit."""
    _validate(doc)
    existing = session.exec(
        select(FiscalDocument).where(
            FiscalDocument.fn_number == doc.fn_number, FiscalDocument.fd_number == doc.fd_number
        )
    ).first()
    if existing is not None:
        if _same(existing, doc):
            return existing
        raise DocumentConflictError(
            f"ФД № {doc.fd_number} накопителя {doc.fn_number} уже получен с другим содержимым"
        )
    register = session.get(Register, doc.register_id)
    if register is None:
        raise DocumentNotFoundError(f"Касса № {doc.register_id} не найдена")
    row = FiscalDocument(
        register_id=doc.register_id,
        company_id=register.company_id,
        fn_number=doc.fn_number,
        fd_number=doc.fd_number,
        doc_type=doc.doc_type,
        operation=doc.operation,
        total=doc.total,
        tax_system=doc.tax_system,
        shift_number=doc.shift_number,
        fiscal_sign=doc.fiscal_sign,
        has_marking=doc.has_marking,
        issued_at=doc.issued_at,
        received_at=clock.wall(),
    )
    if doc.doc_type in SHIFT_TYPES:
        # documents may arrive out of order (a register back online): only the newest counts
        later = session.exec(
            select(func.count())
            .select_from(FiscalDocument)
            .where(
                FiscalDocument.register_id == doc.register_id,
                FiscalDocument.fn_number == doc.fn_number,
                col(FiscalDocument.doc_type).in_([int(t) for t in SHIFT_TYPES]),
                col(FiscalDocument.fd_number) > doc.fd_number,
            )
        ).one()
        if not later:
            register.shift_open = doc.doc_type == DocType.SHIFT_OPEN
    if register.last_seen_at is None or register.last_seen_at < doc.issued_at:
        register.last_seen_at = doc.issued_at
    session.add(register)
    session.add(row)
    session.flush()
    return row


def record_ofd_answer(
    *,
    session: Session,
    clock: Clock,
    fn_number: str,
    fd_number: int,
    accepted: bool,
    code: int | None = None,
) -> FiscalDocument:
    """The OFD's receipt (accepted) or refusal (rejected, with its code); does not commit.

    A rejected document may be accepted later (sent again); an accepted one stays accepted: a
    later refusal for it is a conflict. The same answer again changes nothing.
    """
    row = session.exec(
        select(FiscalDocument).where(
            FiscalDocument.fn_number == fn_number, FiscalDocument.fd_number == fd_number
        )
    ).first()
    if row is None:
        raise DocumentNotFoundError(f"ФД № {fd_number} накопителя {fn_number} не найден")
    status = OfdStatus.ACCEPTED if accepted else OfdStatus.REJECTED
    if row.ofd_status == OfdStatus.ACCEPTED.value and status is OfdStatus.REJECTED:
        raise DocumentConflictError(f"ФД № {fd_number} уже принят ОФД: отказ по нему невозможен")
    if row.ofd_status == status.value and row.ofd_code == code:
        return row
    row.ofd_status = status.value
    row.ofd_code = code
    row.ofd_answered_at = clock.wall()
    session.add(row)
    session.flush()
    return row
