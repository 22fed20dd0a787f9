"""The cabinet orders the registration report over MQTT and sends the FNS its requisites.

End to end with the real pieces: the cabinet's API and the FNS simulator assign the RNM; the
command the cabinet queued is what a register receives — the firmware register on a simulated
drive makes the report from it; its result and document go through the real ingest; the
registration job checks the requisites against that document, sends them, and the FNS
registers the register.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from firmware.agent import _RESULT_KEYS
from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.link.command_models import SentCommand
from fleet.link.ingest import Incoming, Store
from fleet.registers.models import Register, RegisterState
from fleet.registration.jobs import report_job
from fleet.registration.models import ApplicationStatus, RegistrationApplication
from fleet.registration.service import collect_reports
from protocol.mqtt.codec import encode
from protocol.portable import link
from tests.fleet.test_registration import SERIAL, _fill_and_sign, _fns, _register, _signed_in
from tests.fleet.test_registration_commands import Board

FN = "9999078900001234"  # the drive the test application names


def _queued(engine: Engine, register_id: int) -> SentCommand:
    with Session(engine) as session:
        rows = session.exec(select(SentCommand).where(SentCommand.register_id == register_id)).all()
    assert len(rows) == 1, rows
    return rows[0]


def _publish_result(
    engine: Engine, clock: SettableClock, request_id: str, r: dict[str, Any]
) -> None:
    """The register's result as firmware/agent.py publishes it, through the real ingest."""
    out: dict[str, Any] = {
        "v": 1,
        "id": request_id,
        "status": r["status"],
        "at": int(clock.wall()),
        "action": "registration",
    }
    out.update({k: str(v) if k == "fp" else v for k, v in r.items() if k in _RESULT_KEYS})
    topic = link.topic(link.ROOT, SERIAL, link.RESULT)
    Store(engine, link.ROOT, clock).apply([Incoming(topic, encode("result", out), clock.wall())])


def _application(engine: Engine, register_id: int) -> RegistrationApplication:
    with Session(engine) as session:
        row = session.exec(
            select(RegistrationApplication).where(
                RegistrationApplication.register_id == register_id
            )
        ).one()
    return row


def test_the_cabinet_orders_the_report_and_sends_its_requisites(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    fns = _fns(client, clock)
    headers = _signed_in(client, mailer, 31)
    rid = _register(engine, clock, 31)
    answer = _fill_and_sign(client, headers, rid, tmp_path, clock, n=31)
    assert answer.status_code == 200, answer.text
    state = answer.json()
    assert state["status"] == "rnm_assigned"

    # the cabinet queued the registration command itself, from the application
    cmd = _queued(engine, rid)
    assert cmd.action == "registration" and cmd.serial == SERIAL
    body = cmd.body
    assert body["rnm"] == state["rnm"] and body["kkt_serial"] == SERIAL
    assert body["tax_systems"] == ["usn_income"] and body["modes"] == ["services"]
    assert body["ofd_inn"] == "7704211201" and "«" not in body["ofd_name"]
    assert body["id"] == cmd.request_id

    # nothing to send while the register has not answered
    gateway = client.app.state.registration.gateway  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert collect_reports(session, clock, gateway) == 0
    assert _application(engine, rid).status == ApplicationStatus.RNM_ASSIGNED

    # the register (firmware on a simulated drive, its agent) makes the report the command
    # asks for; its result and the document go through the ingest
    board = Board(tmp_path, FN, engine, clock)
    try:
        made = board.run(cmd)
    finally:
        board.close()

    # the job checks the requisites against the document and sends them; the FNS registers
    job = report_job(gateway)
    with Session(engine) as session:
        assert job.run(session, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_source == "fleet"
    assert row.report_fd_number == made["fd"] and row.report_fiscal_sign == str(made["fp"])
    assert row.report_date == made["date_time"][:16]
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None and register.state == RegisterState.ACTIVE
        assert collect_reports(session, clock, gateway) == 0  # done: nothing more to send
    url = f"/api/registers/{rid}/registration"
    card = client.get(url, headers=headers).json()["card"]
    assert card["Регистрационный номер ККТ"] == state["rnm"]
    assert fns is not None


def test_a_register_that_refuses_leaves_the_rnm_and_says_why(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 32)
    rid = _register(engine, clock, 32)
    assert _fill_and_sign(client, headers, rid, tmp_path, clock, n=32).status_code == 200
    cmd = _queued(engine, rid)
    refused = {
        "status": "failed",
        "kind": "registration",
        "errors": [{"path": "rnm", "code": "check_digits", "message": "Неверный РНМ"}],
        "retryable": False,
    }
    _publish_result(engine, clock, cmd.request_id, refused)
    gateway = client.app.state.registration.gateway  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert collect_reports(session, clock, gateway) == 0
        session.commit()
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.RNM_ASSIGNED and row.rnm
    assert row.last_error is not None and "Неверный РНМ" in row.last_error
    assert row.report_fd_number is None
