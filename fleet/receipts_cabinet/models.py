"""What the cabinet reads from documents' TLVs once, and the indexes its searches need.

`ReceiptFacts` holds, for each settlement document whose TLV carries a buyer contact (1008) or
marked goods, the contact (lower-cased), the first marked item's name and whether a mark check
was negative; it is filled by the `receipt-facts` job from `fiscaldocument.tlv` (facts.py), so
the ingest stays untouched and a search never decodes TLVs of millions of rows.

The indexes on `fiscaldocument` below are declared here, next to the searches that use them
(search.py): SQLAlchemy attaches an `Index` to the table its columns belong to.
"""

from __future__ import annotations

from sqlalchemy import Index, Table, text
from sqlmodel import Field, SQLModel

from fleet.documents.models import FiscalDocument

__all__ = ["ReceiptFacts", "ReceiptFactsMark"]

_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]

# search by FD number, fiscal sign or sum within a company (issued_at last: the newest of many
# equal FD numbers or sums come off the index in order); a register's documents by time use
# ix_fiscaldocument_register_issued, declared with the table (it also covers the card's counters)
Index("ix_fiscaldocument_company_fd", _DOCS.c.company_id, _DOCS.c.fd_number, _DOCS.c.issued_at)
Index("ix_fiscaldocument_company_sign", _DOCS.c.company_id, _DOCS.c.fiscal_sign)
Index("ix_fiscaldocument_company_total", _DOCS.c.company_id, _DOCS.c.total, _DOCS.c.issued_at)


class ReceiptFacts(SQLModel, table=True):
    """Buyer contact and marking facts of one settlement document (only documents with either)."""

    __table_args__ = (
        Index(
            "ix_receiptfacts_company_contact",
            "company_id",
            "buyer_contact",
            postgresql_where=text("buyer_contact IS NOT NULL"),
            sqlite_where=text("buyer_contact IS NOT NULL"),
        ),
        # the marked-goods list, one partial index per sort key that can walk an index
        *(
            Index(
                f"ix_receiptfacts_marked_{name}",
                "company_id",
                *columns,
                postgresql_where=text("marked_items > 0"),
                sqlite_where=text("marked_items > 0"),
            )
            for name, columns in (
                ("issued", ("issued_at",)),
                ("total", ("total",)),
                ("item", ("marked_item",)),
                ("register", ("register_id", "issued_at")),
            )
        ),
    )

    document_id: int = Field(primary_key=True, foreign_key="fiscaldocument.id")
    company_id: int | None = Field(default=None, foreign_key="company.id")
    register_id: int = Field(foreign_key="register.id")
    issued_at: float
    total: int | None = None  # kopecks (1020), copied: the list sorts by it
    buyer_contact: str | None = Field(default=None, max_length=64)  # 1008, lower-cased
    marked_item: str | None = Field(default=None, max_length=128)  # 1030 of the first marked item
    marked_items: int = 0  # items carrying a marking code (2000)
    mark_error: bool = False  # a negative mark check (2106) or 2107 ≠ 0


class ReceiptFactsMark(SQLModel, table=True):
    """How far the job has read: every document with id ≤ ``through_id`` has its facts."""

    name: str = Field(primary_key=True, max_length=32)
    through_id: int = 0
    updated_at: float = 0.0
