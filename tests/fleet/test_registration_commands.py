"""Re-registration, drive replacement and deregistration: the register makes every report.

End to end with the real pieces, as `test_registration_report` does for the registration: the
cabinet's API and the FNS simulator; the commands the cabinet queues are what the firmware
register on a simulated drive receives; its results go through the real ingest; the
registration job sends the requisites to the FNS. Nothing is typed by hand: the re-registration
report (tag 1205 reasons), the report on closing the drive's fiscal mode before a replacement or
a deregistration, and the new drive's re-registration report all come from the register.
"""

from __future__ import annotations

import json
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
from fleet.registration import report, service
from fleet.registration.jobs import report_job
from fleet.registration.models import ApplicationStatus, RegistrationApplication, UsedDrive
from protocol.mqtt.codec import encode
from protocol.portable import link
from simulator.fn import DriveConfig
from tests.firmware.test_register import Rig, drive_config
from tests.fleet.test_billing_kit import csrf_of, make_operator, use_cookie
from tests.fleet.test_registration import FORM, SERIAL, _fill_and_sign, _fns, _register, _signed_in
from tests.fleet.test_registration_lifecycle import _sign_current

FN = "9999078900001234"  # the drive the test application names
NEW_FN = "9999078900005678"


def _commands(engine: Engine, register_id: int) -> list[SentCommand]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(SentCommand)
                .where(SentCommand.register_id == register_id)
                .order_by(SentCommand.id)  # type: ignore[arg-type]
            ).all()
        )


def _last(engine: Engine, register_id: int, action: str) -> SentCommand:
    found = [c for c in _commands(engine, register_id) if c.action == action]
    assert len(found) == 1, found
    return found[0]


def _run(engine: Engine, clock: SettableClock, rig: Rig, cmd: SentCommand) -> dict[str, Any]:
    """The register makes what the command asks and publishes the result (firmware/agent.py's
    form) through the real ingest."""
    made = rig.reg.handle(json.loads(json.dumps(cmd.body)))
    assert made["status"] == "made", made
    rig.reg.ack(cmd.request_id)
    out: dict[str, Any] = {
        "v": 1,
        "id": cmd.request_id,
        "status": made["status"],
        "at": int(clock.wall()),
        "action": cmd.action,
    }
    out.update({k: str(v) if k == "fp" else v for k, v in made.items() if k in _RESULT_KEYS})
    topic = link.topic(link.ROOT, SERIAL, link.RESULT)
    Store(engine, link.ROOT, clock).apply([Incoming(topic, encode("result", out), clock.wall())])
    return made


def _application(engine: Engine, register_id: int) -> RegistrationApplication:
    with Session(engine) as session:
        return session.exec(
            select(RegistrationApplication).where(
                RegistrationApplication.register_id == register_id
            )
        ).one()


def _rig(tmp_path: Path, fn: str) -> Rig:
    base = drive_config()
    config = {k: getattr(base, k) for k in base.__dataclass_fields__}
    (tmp_path / fn).mkdir()
    rig = Rig(tmp_path / fn, config=DriveConfig(**{**config, "fn_number": fn}))
    rig.start(register=False)
    return rig


def _registered_on_the_register(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    n: int,
) -> tuple[dict[str, str], int, Rig]:
    _fns(client, clock)
    headers = _signed_in(client, mailer, n)
    rid = _register(engine, clock, n)
    assert _fill_and_sign(client, headers, rid, tmp_path, clock, n=n).status_code == 200
    rig = _rig(tmp_path, FN)
    _run(engine, clock, rig, _last(engine, rid, "registration"))
    assert _job(client, engine, clock) == 1
    assert _application(engine, rid).status == ApplicationStatus.REGISTERED
    return headers, rid, rig


def _job(client: TestClient, engine: Engine, clock: SettableClock) -> int:
    gateway = client.app.state.registration.gateway  # type: ignore[attr-defined]
    with Session(engine) as session:
        return report_job(gateway).run(session, clock)


def test_a_reregistration_report_is_made_by_the_register_and_sent_to_the_fns(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rig = _registered_on_the_register(client, mailer, engine, clock, tmp_path, 41)
    url = f"/api/registers/{rid}/registration"
    wanted = {**FORM, "address": {**FORM["address"], "house": "7"}, "ofd_inn": "7709364346"}
    decision = client.put(f"{url}/settings", json=wanted, headers=headers).json()["decision"]
    assert decision["reasons"] == [1, 2]
    _content, signed = _sign_current(client, headers, rid, 41, clock)
    assert signed.json()["status"] == "rnm_assigned", signed.text
    row = _application(engine, rid)

    # the cabinet queued the re-registration command, once, with the reasons as tag 1205 names
    cmd = _last(engine, rid, "reregistration")
    assert cmd.request_id == f"rereg-{row.id}-{row.fns_id}"
    assert cmd.body["reasons"] == ["address", "ofd_change"]
    assert cmd.body["fn_replacement"] is False and cmd.body["ofd_inn"] == "7709364346"
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None
        st = service.state_of(session, register)  # ordering again queues nothing new
        assert st.application is not None
        report.order(session, clock, st.application, register, st.company, st.form)
        session.commit()
    assert len([c for c in _commands(engine, rid) if c.action == "reregistration"]) == 1

    assert _job(client, engine, clock) == 0  # the register has not answered yet
    made = _run(engine, clock, rig, cmd)
    assert rig.docs()[-1].doc_type == 11  # the report on the change of registration parameters
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED
    assert (row.report_fd_number, row.report_fiscal_sign) == (made["fd"], str(made["fp"]))
    assert row.report_date == made["date_time"][:16]
    card = client.get(url, headers=headers).json()["card"]
    assert card["ОФД (ИНН)"] == "7709364346"


def test_drive_replacement_takes_the_closing_and_the_new_drives_reports_from_the_register(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rig = _registered_on_the_register(client, mailer, engine, clock, tmp_path, 42)
    operator = _signed_in(client, mailer, 43)
    make_operator(engine, "kep43@example.ru")
    replace = f"/api/operator/registers/{rid}/drive-replacement"
    body = {"ofd_confirmed": True, "new_number": NEW_FN}
    # no closing report yet: nothing changes, and the operator is told what to do
    early = client.post(replace, json=body, headers=operator)
    assert early.status_code == 409 and "команду закрытия" in early.text

    close_url = f"/api/operator/registers/{rid}/drive-close"
    assert client.post(close_url, headers=headers).status_code == 403
    use_cookie(client, operator)  # the operator's page has the button too
    page = client.get(f"/operator/registers/{rid}/drive-replacement")
    button = client.post(
        f"/operator/registers/{rid}/drive-close",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert button.status_code == 303, button.text
    ordered = client.post(close_url, headers=operator)
    assert ordered.status_code == 202, ordered.text
    assert client.post(close_url, headers=operator).status_code == 202  # twice queues one
    cmd = _last(engine, rid, "close_fiscal_mode")
    assert cmd.request_id == ordered.json()["request_id"] == f"close-{rid}-{FN}"
    closed = _run(engine, clock, rig, cmd)
    assert rig.docs()[-1].doc_type == 6  # the report on closing the fiscal mode

    answer = client.post(replace, json=body, headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"]["reasons"] == [4]
    with Session(engine) as session:
        used = session.exec(select(UsedDrive).where(UsedDrive.register_id == rid)).one()
        assert used.drive_number == FN and used.close_fd_number == closed["fd"]
        assert used.close_fiscal_sign == str(closed["fp"])
        assert used.close_date == closed["date_time"][:16]

    content, signed = _sign_current(client, headers, rid, 42, clock)
    assert json.loads(content)["fn_close"]["fd_number"] == closed["fd"]
    assert signed.json()["status"] == "rnm_assigned", signed.text
    cmd = _last(engine, rid, "reregistration")
    assert cmd.body["fn_replacement"] is True and cmd.body["reasons"] == ["fn_replacement"]
    # the new drive, installed in the register, makes the re-registration report
    new = _rig(tmp_path, NEW_FN)
    made = _run(engine, clock, new, cmd)
    assert made["fn"] == NEW_FN
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_fd_number == made["fd"]
    card = client.get(f"/api/registers/{rid}/registration", headers=headers).json()["card"]
    assert card["Заводской номер ФН"] == NEW_FN


def test_deregistration_takes_the_closing_report_from_the_register(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rig = _registered_on_the_register(client, mailer, engine, clock, tmp_path, 44)
    dereg = f"/api/registers/{rid}/deregistration"
    assert client.post(dereg, json={"reason": "user"}, headers=headers).status_code == 422
    # the card's button orders the closing (the API's twin queues nothing more)
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "Отправить кассе команду закрытия ФН" in page.text
    button = client.post(
        f"/registers/{rid}/registration/drive-close",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert button.status_code == 303, button.text
    ordered = client.post(f"/api/registers/{rid}/registration/drive-close", headers=headers)
    assert ordered.status_code == 202, ordered.text
    # ordered, not answered: still nothing to put in the application
    assert client.post(dereg, json={"reason": "user"}, headers=headers).status_code == 422
    closed = _run(engine, clock, rig, _last(engine, rid, "close_fiscal_mode"))
    state = client.post(dereg, json={"reason": "user"}, headers=headers).json()
    assert state["kind"] == "deregistration" and state["status"] == "draft", state
    content, signed = _sign_current(client, headers, rid, 44, clock)
    assert json.loads(content)["fn_close"] == {
        "fd_number": closed["fd"],
        "fiscal_sign": str(closed["fp"]),
        "date": closed["date_time"][:16],
    }
    assert signed.json()["status"] == "deregistered", signed.text
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None and register.state == RegisterState.DEREGISTERED
        used = session.exec(select(UsedDrive).where(UsedDrive.register_id == rid)).one()
        assert used.close_fd_number == closed["fd"]


def test_a_register_that_refuses_to_close_says_why_and_nothing_changes(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, _ = _registered_on_the_register(client, mailer, engine, clock, tmp_path, 45)
    client.post(f"/api/registers/{rid}/registration/drive-close", headers=headers)
    cmd = _last(engine, rid, "close_fiscal_mode")
    refused = {
        "v": 1,
        "id": cmd.request_id,
        "status": "failed",
        "at": int(clock.wall()),
        "action": cmd.action,
        "kind": "close_fiscal_mode",
        "errors": [{"path": "", "code": "shift_open", "message": "Смена открыта"}],
        "retryable": False,
    }
    topic = link.topic(link.ROOT, SERIAL, link.RESULT)
    Store(engine, link.ROOT, clock).apply([Incoming(topic, encode("result", refused), 0.0)])
    answer = client.post(
        f"/api/registers/{rid}/deregistration", json={"reason": "user"}, headers=headers
    )
    assert answer.status_code == 409 and "Смена открыта" in answer.text
    assert _application(engine, rid).status == ApplicationStatus.REGISTERED
