"""Fiscal documents: idempotent filing, conflicts, OFD answers, shift state, and the card's
counters against hand-made document sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.documents import service as documents
from fleet.documents.exceptions import (
    DocumentConflictError,
    DocumentNotFoundError,
    InvalidDocumentError,
)
from fleet.documents.models import DocType, FiscalDocument, OfdStatus, tax_system_names
from fleet.registers import service as registers
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store

FN = "9999078900001234"
DAY = 86400.0
#: 2027-03-01 00:00 UTC
T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC).timestamp()


@pytest.fixture(name="session")
def fixture_session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _company(session: Session, n: int = 1) -> int:
    company = Company(name=f"ООО «Д{n}»", inn=f"77{n:08d}", ogrn="1027700132195", created_at=0)
    session.add(company)
    session.flush()
    assert company.id is not None
    return company.id


def _register(session: Session, company_id: int, **extra: Any) -> Register:
    register = Register(
        serial=f"S{company_id}-{extra.pop('n', 0)}",
        state=RegisterState.ACTIVE.value,
        company_id=company_id,
        created_at=0,
        **extra,
    )
    session.add(register)
    session.flush()
    return register


def _doc(register: Register, fd: int, doc_type: DocType, **extra: Any) -> documents.DocumentIn:
    assert register.id is not None
    receipt = doc_type in (DocType.RECEIPT, DocType.BSO, DocType.CORRECTION_RECEIPT)
    fields: dict[str, Any] = {
        "register_id": register.id,
        "fn_number": FN,
        "fd_number": fd,
        "doc_type": int(doc_type),
        "issued_at": T0 + fd * 60,
        "fiscal_sign": str(1000000 + fd),
        "operation": 1 if receipt else None,
        "total": 10000 if receipt else None,
        "tax_system": 2 if receipt else None,
    }
    fields.update(extra)
    return documents.DocumentIn(**fields)


def _principal(company_id: int) -> Principal:
    return Principal(company_id=company_id, permissions=frozenset(CLIENT_PERMISSIONS), user_id=1)


def _file(session: Session, clock: SettableClock, doc: documents.DocumentIn) -> FiscalDocument:
    return documents.record_document(session=session, clock=clock, doc=doc)


def test_repeat_is_idempotent_and_a_different_document_is_a_conflict(
    session: Session, clock: SettableClock
) -> None:
    company_id = _company(session)
    register = _register(session, company_id)
    first = _file(session, clock, _doc(register, 1, DocType.RECEIPT))
    again = _file(session, clock, _doc(register, 1, DocType.RECEIPT))
    assert again.id == first.id
    assert first.company_id == company_id  # denormalised from the register
    with pytest.raises(DocumentConflictError):
        _file(session, clock, _doc(register, 1, DocType.RECEIPT, total=99))
    assert len(session.exec(select(FiscalDocument)).all()) == 1


def test_invalid_documents_are_refused_with_reasons(session: Session, clock: SettableClock) -> None:
    company_id = _company(session)
    register = _register(session, company_id)
    with pytest.raises(InvalidDocumentError) as refused:
        _file(
            session,
            clock,
            _doc(register, 0, DocType.SHIFT_OPEN, operation=1, fn_number="12", tax_system=64),
        )
    assert {"fd_number", "operation", "fn_number", "tax_system"} <= set(refused.value.fields)
    with pytest.raises(InvalidDocumentError) as no_op:
        _file(session, clock, _doc(register, 1, DocType.RECEIPT, operation=None, total=None))
    assert {"operation", "total"} <= set(no_op.value.fields)
    with pytest.raises(InvalidDocumentError) as unknown:
        bad = _doc(register, 1, DocType.RECEIPT)
        _file(session, clock, documents.DocumentIn(**{**bad.__dict__, "doc_type": 7}))
    assert "doc_type" in unknown.value.fields
    with pytest.raises(DocumentNotFoundError):
        _file(session, clock, _doc(register, 1, DocType.RECEIPT, register_id=10_000))
    assert session.exec(select(FiscalDocument)).all() == []


def test_ofd_answers_rejected_then_accepted_and_no_way_back(
    session: Session, clock: SettableClock
) -> None:
    register = _register(session, _company(session))
    _file(session, clock, _doc(register, 1, DocType.RECEIPT))
    row = documents.record_ofd_answer(
        session=session, clock=clock, fn_number=FN, fd_number=1, accepted=False, code=14
    )
    assert (row.ofd_status, row.ofd_code) == (OfdStatus.REJECTED.value, 14)
    row = documents.record_ofd_answer(
        session=session, clock=clock, fn_number=FN, fd_number=1, accepted=True
    )
    assert (row.ofd_status, row.ofd_code) == (OfdStatus.ACCEPTED.value, None)
    # the same answer again is fine; a refusal after acceptance is a conflict
    documents.record_ofd_answer(
        session=session, clock=clock, fn_number=FN, fd_number=1, accepted=True
    )
    with pytest.raises(DocumentConflictError):
        documents.record_ofd_answer(
            session=session, clock=clock, fn_number=FN, fd_number=1, accepted=False, code=3
        )
    with pytest.raises(DocumentNotFoundError):
        documents.record_ofd_answer(
            session=session, clock=clock, fn_number=FN, fd_number=2, accepted=True
        )


def test_shift_state_follows_the_newest_shift_document_even_out_of_order(
    session: Session, clock: SettableClock
) -> None:
    register = _register(session, _company(session))
    _file(session, clock, _doc(register, 1, DocType.SHIFT_OPEN, shift_number=1))
    assert register.shift_open is True
    _file(session, clock, _doc(register, 3, DocType.SHIFT_CLOSE, shift_number=1))
    assert register.shift_open is False
    # a late-arriving older open (fd 2 < 3) must not reopen the shift
    _file(session, clock, _doc(register, 2, DocType.RECEIPT))
    _file(session, clock, _doc(register, 4, DocType.SHIFT_OPEN, shift_number=2))
    assert register.shift_open is True
    _file(session, clock, _doc(register, 5, DocType.SHIFT_CLOSE, shift_number=2))
    _file(session, clock, _doc(register, 6, DocType.SHIFT_OPEN, shift_number=3))
    late = _doc(register, 5, DocType.SHIFT_CLOSE, shift_number=2)
    _file(session, clock, late)  # a repeat of an older close: idempotent, shift stays open
    assert register.shift_open is True
    assert register.last_seen_at == T0 + 6 * 60


def test_counters_against_a_hand_made_document_set(session: Session, clock: SettableClock) -> None:
    company_id = _company(session)
    store = Store(
        company_id=company_id, name="Екб", timezone="Asia/Yekaterinburg", created_at=0
    )  # UTC+5
    session.add(store)
    session.flush()
    register = _register(session, company_id, store_id=store.id, paid_at=T0 - 2 * DAY)
    other = _register(session, company_id, n=1)
    assert register.id is not None
    docs = [
        # day 1 (local): a shift with receipts of every operation
        _doc(register, 1, DocType.SHIFT_OPEN, shift_number=1, issued_at=T0 + 3600),
        _doc(register, 2, DocType.RECEIPT, operation=1, issued_at=T0 + 7200, has_marking=True),
        _doc(register, 3, DocType.RECEIPT, operation=2, issued_at=T0 + 7300),
        _doc(register, 4, DocType.RECEIPT, operation=3, issued_at=T0 + 7400, tax_system=1),
        _doc(register, 5, DocType.RECEIPT, operation=4, issued_at=T0 + 7500, tax_system=32),
        _doc(register, 6, DocType.CORRECTION_RECEIPT, operation=1, issued_at=T0 + 7600),
        _doc(register, 7, DocType.BSO, operation=1, issued_at=T0 + 7700, has_marking=True),
        _doc(register, 8, DocType.SHIFT_CLOSE, shift_number=1, issued_at=T0 + 8000),
        # 20:00 UTC on day 1 is 01:00 local on day 2: a second working day in Yekaterinburg
        _doc(register, 9, DocType.SHIFT_OPEN, shift_number=2, issued_at=T0 + 20 * 3600),
        _doc(register, 10, DocType.RECEIPT, operation=1, issued_at=T0 + 20 * 3600 + 60),
    ]
    for doc in docs:
        _file(session, clock, doc)
    _file(session, clock, docs[1])  # a duplicate changes no counter
    _file(session, clock, _doc(other, 1, DocType.RECEIPT, fn_number="9999078900009999"))
    for fd, accepted in ((2, False), (2, True), (3, True), (4, False)):
        documents.record_ofd_answer(
            session=session, clock=clock, fn_number=FN, fd_number=fd, accepted=accepted
        )
    session.commit()
    clock.advance(T0 + 4 * DAY + 3600 - clock.wall())  # local 06:00 on March 5
    card = registers.get_card(
        session=session, clock=clock, principal=_principal(company_id), register_id=register.id
    )
    c = card.counters
    assert c.receipts == {"income": 2, "income_return": 1, "expense": 1, "expense_return": 1}
    assert (c.correction_receipts, c.bso, c.marked_receipts) == (1, 1, 2)
    assert c.documents_total == 10
    assert (c.ofd_accepted, c.ofd_rejected, c.ofd_pending) == (2, 1, 7)
    assert (c.shifts, c.shift_open) == (2, True)
    assert c.working_days == 2 and c.days_timezone == "Asia/Yekaterinburg"
    # paid at T0-2d (local 05:00 on Feb 27) → now is local Mar 5: 7 calendar days, 2 worked
    assert c.idle_days == 5
    assert c.tax_systems == ["ОСН", "УСН доход", "ПСН"]
    assert c.last_document_at == T0 + 20 * 3600 + 60
    assert card.store is not None and card.store.id == store.id


def test_counters_of_a_register_without_documents_or_store(
    session: Session, clock: SettableClock
) -> None:
    company_id = _company(session)
    register = _register(session, company_id)
    session.commit()
    assert register.id is not None
    c = registers.get_card(
        session=session, clock=clock, principal=_principal(company_id), register_id=register.id
    ).counters
    assert c.documents_total == 0 and c.working_days == 0 and c.idle_days == 0
    assert c.days_timezone == "UTC" and c.tax_systems == [] and c.last_document_at is None


def test_tax_system_names() -> None:
    assert tax_system_names(1 | 4 | 16) == ["ОСН", "УСН доход−расход", "ЕСХН"]
