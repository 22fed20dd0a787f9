"""The fiscal document table and the FFD codes it stores: types, operations, tax systems."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint
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
    The covering index on ``register_id`` holds every column the register card counts, so
    PostgreSQL answers the counters by an index-only scan (INCLUDE is ignored on SQLite).
    """

    __table_args__ = (
        UniqueConstraint("fn_number", "fd_number", name="uq_fiscaldocument_fn_fd"),
        Index(
            "ix_fiscaldocument_register_counters",
            "register_id",
            "doc_type",
            postgresql_include=[
                "operation",
                "ofd_status",
                "has_marking",
                "tax_system",
                "issued_at",
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
