"""A company with stores and registers, and a way to file fiscal documents, for report tests."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store

__all__ = ["MSK", "T0", "World"]

MSK = dt.timezone(dt.timedelta(hours=3))
#: 2026-03-02 00:00 Moscow, a Monday
T0 = dt.datetime(2026, 3, 2, tzinfo=MSK).timestamp()


class World:
    """One company: two stores, ``n_registers`` registers (the last one in no store)."""

    def __init__(self, engine: Engine, clock: SettableClock, n_registers: int = 3) -> None:
        self.engine = engine
        self.clock = clock
        self.fd = 0
        with Session(engine) as s:
            company = Company(
                name="ООО «Отчёты»",
                inn=str(uuid.uuid4().int % 10**10).zfill(10),
                ogrn="1027700132195",
                created_at=clock.wall(),
            )
            s.add(company)
            s.flush()
            assert company.id is not None
            self.company = company.id
            self.stores: list[int] = []
            for name in ("Магазин на Тверской", "Магазин на Арбате"):
                store = Store(company_id=company.id, name=name, city="Москва",
                              created_at=clock.wall())  # fmt: skip
                s.add(store)
                s.flush()
                assert store.id is not None
                self.stores.append(store.id)
            self.registers: list[int] = []
            for n in range(n_registers):
                reg = Register(
                    serial=uuid.uuid4().hex[:12],
                    name=f"Касса {n + 1}",
                    state=RegisterState.ACTIVE.value,
                    company_id=company.id,
                    store_id=self.stores[n] if n < 2 else None,
                    rnm=f"{n + 1:016d}",
                    created_at=clock.wall(),
                )
                s.add(reg)
                s.flush()
                assert reg.id is not None
                self.registers.append(reg.id)
            s.commit()

    @property
    def principal(self) -> Principal:
        """The company's owner-like principal (every client permission, every register)."""
        return Principal(company_id=self.company, permissions=CLIENT_PERMISSIONS)

    def doc(
        self,
        *,
        register: int = 0,
        at: float = T0,
        doc_type: int = 3,
        operation: int | None = 1,
        total: int | None = 10000,
        tax_system: int | None = 1,
        shift: int | None = 1,
        tlv: bytes | None = None,
        ofd: str = "accepted",
        received_at: float | None = None,
    ) -> FiscalDocument:
        """File one document (received now unless told)."""
        self.fd += 1
        row = FiscalDocument(
            register_id=self.registers[register],
            company_id=self.company,
            fn_number="9999078900001234",
            fd_number=self.fd,
            doc_type=doc_type,
            operation=operation,
            total=total,
            tax_system=tax_system,
            shift_number=shift,
            fiscal_sign=str(3_000_000_000 + self.fd),
            issued_at=at,
            received_at=self.clock.wall() if received_at is None else received_at,
            ofd_status=ofd,
            tlv=tlv,
        )
        with Session(self.engine) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
        return row
