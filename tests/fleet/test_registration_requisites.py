"""`report.check_requisites`: a report's requisites against the fiscal document the register
sent the fleet. Hypothesis changes any subset of the requisites (and the stored document's own
TLV) and the refusal must name exactly the fields that differ; nothing typed for a register
whose drive the fleet does not hold is checked (the "manual" path)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.documents.models import DocType, FiscalDocument
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register, RegisterState
from fleet.registration import report
from fleet.registration.exceptions import ReportMismatchError, ReportNotStoredError
from protocol.tlv import encode
from protocol.tree import Field

FN = "9999078900001234"
FD = 57
FP = 2860180066
LOCAL = dt.datetime(2025, 3, 1, 18, 0)  # as printed on the report (tag 1012: local time)
UTC_OFFSET_H = 3


def _tlv(fn: str = FN, fd: int = FD, fp: int = FP, at: dt.datetime = LOCAL) -> bytes:
    seconds = int(at.replace(tzinfo=dt.UTC).timestamp())
    sign = bytes.fromhex("2104") + fp.to_bytes(4, "big")
    return encode([Field(1041, fn), Field(1040, fd), Field(1012, seconds), Field(1077, sign)])


def _world(session: Session, clock: SettableClock) -> tuple[int, int]:
    company = Company(name="ООО «Сверка»", inn="7700000072", ogrn="1027700000000", created_at=0.0)
    session.add(company)
    session.flush()
    ours = Register(
        serial="R-72",
        state=RegisterState.ACTIVE.value,
        company_id=company.id,
        drive_number=FN,
        created_at=0.0,
    )
    other = Register(
        serial="R-73", state=RegisterState.ACTIVE.value, company_id=company.id, created_at=0.0
    )
    session.add_all([ours, other])
    session.flush()
    assert ours.id is not None and other.id is not None
    return ours.id, other.id


def _store(session: Session, register_id: int, doc_type: DocType, tlv: bytes, fp: int = FP) -> None:
    issued = LOCAL.replace(tzinfo=dt.UTC).timestamp() - UTC_OFFSET_H * 3600
    session.add(
        FiscalDocument(
            register_id=register_id,
            fn_number=FN,
            fd_number=FD,
            doc_type=int(doc_type),
            fiscal_sign=str(fp),
            issued_at=issued,
            received_at=issued,
            tlv=tlv,
        )
    )
    session.flush()


GOOD = report.Requisites(FN, FD, str(FP), LOCAL.strftime("%Y-%m-%dT%H:%M"))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wrong_sign=st.booleans(),
    minutes=st.sampled_from([0, 0, 1, -1, 60, 24 * 60]),
    wrong_type=st.booleans(),
    foreign=st.booleans(),
    leading_zeros=st.integers(0, 2),
)
def test_a_refusal_names_exactly_the_fields_that_differ(
    engine: Engine,
    clock: SettableClock,
    wrong_sign: bool,
    minutes: int,
    wrong_type: bool,
    foreign: bool,
    leading_zeros: int,
) -> None:
    with Session(engine) as session:
        ours, other = _world(session, clock)
        _store(session, other if foreign else ours, DocType.REGISTRATION, _tlv())
        when = LOCAL + dt.timedelta(minutes=minutes)
        sign = str(FP + 1) if wrong_sign else "0" * leading_zeros + str(FP)
        wanted = report.Requisites(FN, FD, sign, when.strftime("%Y-%m-%dT%H:%M"))
        doc_type = DocType.REREGISTRATION if wrong_type else DocType.REGISTRATION
        expected = set()
        if wrong_sign:
            expected.add("close.fiscal_sign")
        if minutes:
            expected.add("close.date")
        if wrong_type or foreign:
            expected.add("close.fd_number")
        try:
            source = report.check_requisites(session, ours, wanted, doc_type, prefix="close.")
        except ReportMismatchError as exc:
            assert set(exc.fields) == expected, exc.fields
        else:
            assert not expected and source == report.SOURCE_FLEET
        session.rollback()


def test_a_document_that_disagrees_with_its_own_tlv_is_refused(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        ours, _ = _world(session, clock)
        # the row says FP, its TLV another: the fleet's copy cannot vouch for either
        _store(session, ours, DocType.ARCHIVE_CLOSE, _tlv(fp=FP + 9))
        with pytest.raises(ReportMismatchError) as exc:
            report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE)
        assert set(exc.value.fields) == {"fiscal_sign"}


def test_without_a_tlv_the_date_is_checked_against_the_utc_time_within_russia_s_zones(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        ours, _ = _world(session, clock)
        _store(session, ours, DocType.ARCHIVE_CLOSE, b"")
        session.execute(
            FiscalDocument.__table__.update().values(tlv=None)  # type: ignore[attr-defined]
        )
        assert report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE) == "fleet"
        later = report.Requisites(FN, FD, str(FP), "2025-03-02T18:00")
        with pytest.raises(ReportMismatchError) as exc:
            report.check_requisites(session, ours, later, DocType.ARCHIVE_CLOSE)
        assert set(exc.value.fields) == {"date"}


def test_the_manual_path_only_for_a_drive_the_fleet_does_not_hold(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        ours, _ = _world(session, clock)
        # nothing of the drive in the fleet: typed requisites pass unchecked, marked manual
        assert report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE) == "manual"
        # ... unless they are the register's own answer: then its document is waited for
        with pytest.raises(ReportNotStoredError) as waiting:
            report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE, from_register=True)
        assert set(waiting.value.fields) == {"fd_number"}
        # the register's shadow names the drive: the fleet holds it, the check is required
        session.add(DeviceShadow(register_id=ours, drive_fn=FN, reported_at=clock.wall()))
        session.flush()
        with pytest.raises(ReportNotStoredError):
            report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE)
        session.execute(delete(DeviceShadow))
        _store(session, ours, DocType.ARCHIVE_CLOSE, _tlv())
        assert report.check_requisites(session, ours, GOOD, DocType.ARCHIVE_CLOSE) == "fleet"


def test_a_drive_closed_by_hand_shows_its_closing_report_and_the_ofd_s_answer(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        ours, _ = _world(session, clock)
        register = session.get(Register, ours)
        assert register is not None
        state = report.closing_state(session, register)
        assert state.report is None and "Отчёта о закрытии ФН ещё нет" in state.message
        # no command was sent: the drive's last stored document is its closing report
        _store(session, ours, DocType.ARCHIVE_CLOSE, _tlv())
        state = report.closing_state(session, register)
        assert state.report == GOOD and state.stored and not state.confirmed
        assert state.message.startswith(
            f"Ждём подтверждения ОФД на отчёт о закрытии ФН (ФД № {FD}, ФП {FP}, 2025-03-01 18:00)"
        )
        assert state.not_accepted == 1
        session.execute(
            FiscalDocument.__table__.update().values(  # type: ignore[attr-defined]
                ofd_status="accepted"
            )
        )
        state = report.closing_state(session, register)
        assert state.confirmed and state.not_accepted == 0
        assert state.message.startswith("ОФД подтвердил отчёт о закрытии ФН")
