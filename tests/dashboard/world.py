"""A company with stores in two regions and registers, whose documents go in through the
documents service (the ingest path), plus users of given roles."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.access.models import RoleKind
from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.access.roles import BUILTIN, ensure_builtin_roles
from fleet.accounts.models import Company, User
from fleet.core.clock import Clock
from fleet.documents.service import DocumentIn, record_document
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store

__all__ = ["Shop", "make_shop"]

_fd = itertools.count(1)


class Shop:
    """Ids of one company: stores (Moscow 77, Yekaterinburg 66), registers (the last in no
    store) and an owner user."""

    def __init__(self, company: int, stores: list[int], registers: list[int], owner: int) -> None:
        self.company = company
        self.stores = stores
        self.registers = registers
        self.owner = owner
        self.fn = str(uuid.uuid4().int % 10**16).zfill(16)

    @property
    def principal(self) -> Principal:
        """The owner's principal (every client permission, every register)."""
        return Principal(
            company_id=self.company, permissions=CLIENT_PERMISSIONS, user_id=self.owner
        )

    def role_principal(self, session: Session, clock: Clock, kind: RoleKind) -> Principal:
        """A new user of the company with a built-in role, as a principal."""
        roles = ensure_builtin_roles(session, clock, self.company)
        user = User(
            email=f"{kind.value}-{uuid.uuid4().hex[:8]}@example.ru",
            password_hash="",
            company_id=self.company,
            email_confirmed=True,
            created_at=clock.wall(),
            role_id=roles[kind].id,
        )
        session.add(user)
        session.flush()
        return Principal(company_id=self.company, permissions=BUILTIN[kind], user_id=user.id)

    def ingest(
        self,
        session: Session,
        clock: Clock,
        *,
        register: int,
        at: float,
        operation: int | None,
        total: int | None,
        doc_type: int = 3,
    ) -> None:
        """File one document the way a register's report is filed."""
        n = next(_fd)
        record_document(
            session=session,
            clock=clock,
            doc=DocumentIn(
                register_id=self.registers[register],
                fn_number=self.fn,
                fd_number=n,
                doc_type=doc_type,
                issued_at=at,
                fiscal_sign=str(1_000_000_000 + n),
                operation=operation,
                total=total,
                tax_system=1 if operation is not None else None,
                shift_number=1,
            ),
        )


def make_shop(engine: Engine, clock: Clock, n_registers: int = 3) -> Shop:
    """A new company with two stores, ``n_registers`` registers and an owner (committed)."""
    with Session(engine) as s:
        company = Company(
            name=f"ООО «Генерал {uuid.uuid4().hex[:4]}»",
            inn=str(uuid.uuid4().int % 10**10).zfill(10),
            ogrn="1027700132195",
            created_at=clock.wall(),
        )
        s.add(company)
        s.flush()
        assert company.id is not None
        stores = []
        for name, region, city in (("Тверская", "77", "Москва"), ("Вайнера", "66", "Екатеринбург")):
            store = Store(
                company_id=company.id, name=name, region_code=region, city=city, created_at=0.0
            )
            s.add(store)
            s.flush()
            assert store.id is not None
            stores.append(store.id)
        registers = []
        for i in range(n_registers):
            reg = Register(
                serial=uuid.uuid4().hex[:12],
                state=RegisterState.ACTIVE.value,
                company_id=company.id,
                store_id=stores[i] if i < len(stores) else None,
                created_at=0.0,
            )
            s.add(reg)
            s.flush()
            assert reg.id is not None
            registers.append(reg.id)
        owner = User(
            email=f"owner-{uuid.uuid4().hex[:8]}@example.ru",
            password_hash="",
            company_id=company.id,
            email_confirmed=True,
            created_at=clock.wall(),
        )
        s.add(owner)
        s.flush()
        assert owner.id is not None
        s.commit()
        return Shop(company.id, stores, registers, owner.id)
