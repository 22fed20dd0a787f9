"""Small builders for the advertising-receipt tests: real PNG bytes, a company with a store,
a register and a fiscalised receipt to a buyer."""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass

from sqlmodel import Session

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.receipts.models import Receipt, ReceiptPart, ReceiptStatus
from fleet.registers.models import Register
from tests.fleet import objects
from tests.fleet.oracle import company_requisites

__all__ = ["Shop", "png", "receipt_to", "shop"]


def png(width: int = 2, height: int = 1, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour (what a browser would upload)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Shop:
    """A company with one store and two registers (the second in no store)."""

    principal: Principal
    company_id: int
    store_id: int
    register_id: int
    loose_register_id: int


def shop(session: Session, clock: Clock, n: int) -> Shop:
    """Company n with its store and registers (committed)."""
    inn, ogrn = company_requisites(n)
    company = Company(name=f"ООО «Ромашка {n}»", inn=inn, ogrn=ogrn, created_at=clock.wall())
    session.add(company)
    session.flush()
    assert company.id is not None
    store_id = objects.store(session, clock, company.id)
    register_id = objects.register(session, clock, company.id)
    loose = objects.register(session, clock, company.id)
    reg = session.get(Register, register_id)
    assert reg is not None
    reg.store_id = store_id
    session.add(reg)
    session.commit()
    principal = Principal(company_id=company.id, permissions=frozenset(CLIENT_PERMISSIONS))
    return Shop(principal, company.id, store_id, register_id, loose)


def receipt_to(
    session: Session,
    clock: Clock,
    company_id: int,
    contact: str | None,
    *,
    register_id: int | None,
    at: float | None = None,
) -> int:
    """A fiscalised receipt to ``contact`` made by ``register_id`` at ``at`` (committed)."""
    now = clock.wall() if at is None else at
    body: dict[str, object] = {"id": f"ad-{uuid.uuid4().hex}", "operation": "sale"}
    if contact is not None:
        body["buyer_contact"] = contact
    row = Receipt(
        company_id=company_id,
        external_id=str(body["id"]),
        body_hash=uuid.uuid4().hex,
        body=body,
        kind="sale",
        total=100,
        status=ReceiptStatus.FISCALISED.value,
        created_at=now,
        updated_at=now,
        fiscalised_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(
        ReceiptPart(
            receipt_id=row.id,
            company_id=company_id,
            part_no=1,
            request_id=f"{uuid.uuid4().hex}-1",
            action="receipt",
            request=body,
            total=100,
            status=ReceiptStatus.FISCALISED.value,
            register_id=register_id,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    return row.id
