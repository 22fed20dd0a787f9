"""The fiscal document table and the FFD codes it stores: types, operations, tax systems."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

__all__ = [
    "CORRECTION_TYPES",
    "DOC_TYPE_LABEL",
    "OPERATION_LABEL",
    "RECEIPT_TYPES",
    "TAX_SYSTEM_LABEL",
    "DocType",
    "FiscalDocument",
    "OfdStatus",
    "Operation",
    "ReceiptContent",
    "tax_system_names",
]


class DocType(IntEnum):
    """FFD document types (tag 1000 family codes)."""

    REGISTRATION = 1
    SHIFT_OPEN = 2
    RECEIPT = 3
    BSO = 4
    SHIFT_CLOSE = 5
    ARCHIVE_CLOSE = 6
    REREGISTRATION = 11
    STATUS_REPORT = 21
    CORRECTION_RECEIPT = 31
    CORRECTION_BSO = 41


DOC_TYPE_LABEL: Final[dict[DocType, str]] = {
    DocType.REGISTRATION: "Отчёт о регистрации",
    DocType.SHIFT_OPEN: "Отчёт об открытии смены",
    DocType.RECEIPT: "Кассовый чек",
    DocType.BSO: "Бланк строгой отчётности",
    DocType.SHIFT_CLOSE: "Отчёт о закрытии смены",
    DocType.ARCHIVE_CLOSE: "Отчёт о закрытии фискального накопителя",
    DocType.REREGISTRATION: "Отчёт об изменении параметров регистрации",
    DocType.STATUS_REPORT: "Отчёт о текущем состоянии расчётов",
    DocType.CORRECTION_RECEIPT: "Кассовый чек коррекции",
    DocType.CORRECTION_BSO: "БСО коррекции",
}

#: The settlement documents: they carry an operation (tag 1054), a total and a tax system.
RECEIPT_TYPES: Final = frozenset(
    {DocType.RECEIPT, DocType.BSO, DocType.CORRECTION_RECEIPT, DocType.CORRECTION_BSO}
)
CORRECTION_TYPES: Final = frozenset({DocType.CORRECTION_RECEIPT, DocType.CORRECTION_BSO})


class Operation(IntEnum):
    """Tag 1054, the settlement sign."""

    INCOME = 1
    INCOME_RETURN = 2
    EXPENSE = 3
    EXPENSE_RETURN = 4


OPERATION_LABEL: Final[dict[Operation, str]] = {
    Operation.INCOME: "Приход",
    Operation.INCOME_RETURN: "Возврат прихода",
    Operation.EXPENSE: "Расход",
    Operation.EXPENSE_RETURN: "Возврат расхода",
}

#: Tag 1055 bits (a receipt carries exactly one; the registration report may carry several).
TAX_SYSTEM_LABEL: Final[dict[int, str]] = {
    1: "ОСН",
    2: "УСН доход",
    4: "УСН доход−расход",
    8: "ЕНВД",
    16: "ЕСХН",
    32: "ПСН",
}


def tax_system_names(bits: int) -> list[str]:
    """The Russian names of the tax systems set in a 1055 value, in bit order."""
    return [name for bit, name in TAX_SYSTEM_LABEL.items() if bits & bit]


class OfdStatus(StrEnum):
    """What the OFD answered for the document."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class FiscalDocument(SQLModel, table=True):
    """One fiscal document of a register, unique by (drive number, document number).

    ``company_id`` is copied from the register at ingest so a tenant's queries never join.
    One index on ``(register_id, issued_at)`` serves a register's documents newest first (the
    receipt search) and, covering every column the register card counts, its counters by an
    index-only scan (INCLUDE is ignored on SQLite). It replaced two (migration 0031): each
    index is a B-tree insert per stored document (docs/benchmarks.md, issue 6).
    """

    __table_args__ = (
        UniqueConstraint("fn_number", "fd_number", name="uq_fiscaldocument_fn_fd"),
        Index(
            "ix_fiscaldocument_register_issued",
            "register_id",
            "issued_at",
            postgresql_include=[
                "doc_type",
                "operation",
                "ofd_status",
                "has_marking",
                "tax_system",
            ],
        ),
        Index("ix_fiscaldocument_company_issued", "company_id", "issued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id")
    company_id: int | None = Field(default=None, foreign_key="company.id")
    fn_number: str = Field(max_length=16)
    # BIGINT: the link allows FD and shift numbers up to 2^32 - 1 and totals up to 2^48 - 1
    # kopecks (protocol/mqtt/schemas.py); PostgreSQL's INTEGER stops at 2^31 - 1
    fd_number: int = Field(sa_type=BigInteger)
    doc_type: int
    operation: int | None = None
    total: int | None = Field(default=None, sa_type=BigInteger)  # kopecks
    tax_system: int | None = None  # tag 1055 bits
    shift_number: int | None = Field(default=None, sa_type=BigInteger)
    fiscal_sign: str = Field(max_length=20)
    has_marking: bool = False
    issued_at: float
    received_at: float
    ofd_status: str = Field(default=OfdStatus.PENDING.value, max_length=16)
    ofd_code: int | None = None
    ofd_answered_at: float | None = None
    # what the register sent (fleet/link/ingest.py): the drive archive's TLVs of the document
    # and the request id of the receipt request that made it; None for rows made otherwise
    tlv: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)


class ReceiptContent(SQLModel, table=True):
    """What a settlement document's or registration report's TLV says, read once
    (fleet/documents/content.py): money in kopecks, counts and a bitmask of facts (`Flag` there)
    that the compliance checks (fleet/compliance) read with SQL."""

    __table_args__ = (
        Index("ix_receiptcontent_company_issued", "company_id", "issued_at"),
        # fines control K23: a bank payment's receipt is looked up by company and sum
        Index("ix_receiptcontent_company_total", "company_id", "total", "issued_at"),
        # the latest registration report of each register, without a scan of the receipts
        Index(
            "ix_receiptcontent_registration",
            "register_id",
            "issued_at",
            postgresql_where=text("doc_type IN (1, 11)"),
            sqlite_where=text("doc_type IN (1, 11)"),
        ),
    )

    document_id: int = Field(primary_key=True, foreign_key="fiscaldocument.id")
    company_id: int | None = Field(default=None, foreign_key="company.id")
    register_id: int = Field(foreign_key="register.id", index=True)
    issued_at: float
    doc_type: int
    operation: int | None = None
    total: int | None = Field(default=None, sa_type=BigInteger)  # 1020
    cash: int | None = Field(default=None, sa_type=BigInteger)  # 1031
    electronic: int | None = Field(default=None, sa_type=BigInteger)  # 1081
    prepaid: int | None = Field(default=None, sa_type=BigInteger)  # 1215
    credit: int | None = Field(default=None, sa_type=BigInteger)  # 1216
    consideration: int | None = Field(default=None, sa_type=BigInteger)  # 1217
    vat1102: int | None = Field(default=None, sa_type=BigInteger)  # VAT 20 % (22 % from 2026)
    vat1103: int | None = Field(default=None, sa_type=BigInteger)  # VAT 10 %
    vat1104: int | None = Field(default=None, sa_type=BigInteger)  # sum at 0 %
    vat1105: int | None = Field(default=None, sa_type=BigInteger)  # sum without VAT
    vat1106: int | None = Field(default=None, sa_type=BigInteger)  # VAT 20/120
    vat1107: int | None = Field(default=None, sa_type=BigInteger)  # VAT 10/110
    vat1120: int | None = Field(default=None, sa_type=BigInteger)  # Σ 1120 in 1115 (codes 7-12)
    vat_codes: int = 0  # bit n: VAT code n (1199) used by an item or a 1119
    items: int = 0  # count of 1059
    items_sum: int = Field(default=0, sa_type=BigInteger)  # Σ 1043
    internet: bool = False  # 1125 bit 0
    buyer_contact: bool = False  # 1008 present
    place: str | None = Field(default=None, max_length=256)  # 1187
    flags: int = 0  # fleet/documents/content.py Flag
    tax_system: int | None = None  # 1055
    reg_tax: int | None = None  # 1062 (registration reports)
    reg_usage: int | None = None  # 1290 (registration reports)
    reg_agent: int | None = None  # 1057 (registration reports)
