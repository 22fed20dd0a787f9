"""Re-registration, drive replacement and deregistration: the register makes every report.

End to end with the real pieces, as `test_registration_report` does for the registration: the
cabinet's API and the FNS simulator; the commands the cabinet queues are what the firmware
register on a simulated drive receives through its agent (firmware/agent.py); everything the
agent publishes (results, documents, state, the OFD's answers) goes through the real ingest; the
register's OFD client sends its documents to the OFD simulator; the registration job sends the
requisites to the FNS once they match the document the register sent. Nothing is typed by hand:
the re-registration report (tag 1205 reasons), the report on closing the drive's fiscal mode
before a replacement or a deregistration — confirmed by the OFD's answer the register relays —
and the new drive's re-registration report all come from the register.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from firmware import net, ofd
from firmware.agent import Agent
from firmware.outbox import Outbox
from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import SentCommand
from fleet.link.commands import cmd_payload
from fleet.link.ingest import Incoming, Store
from fleet.registers.models import Register, RegisterState
from fleet.registration import report, service
from fleet.registration.jobs import report_job
from fleet.registration.models import ApplicationStatus, RegistrationApplication, UsedDrive
from protocol.mqtt.codec import encode
from protocol.portable import link
from simulator.fn import DriveConfig
from simulator.ofd import OfdConfig, OfdServer
from tests.firmware.test_agent import FakeClient
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


class Board:
    """A firmware register on a simulated drive with its agent and OFD client: the agent's
    messages go into the fleet's ingest, the ingest's `stored` back (the broker's part)."""

    def __init__(self, tmp: Path, fn: str, engine: Engine, clock: SettableClock) -> None:
        base = drive_config()
        config = {k: getattr(base, k) for k in base.__dataclass_fields__}
        (tmp / fn).mkdir()
        self.rig = Rig(tmp / fn, config=DriveConfig(**{**config, "fn_number": fn}))
        self.rig.start(register=False)
        self.server = OfdServer(OfdConfig(sign_algorithm="sha256"), clock=self.rig.clock)
        self.server.start()
        self.rig.reg.ofd = ofd.OfdClient(
            self.rig.drive, net.connector(0.05), "127.0.0.1", self.server.port, self.rig.clock
        )
        self.client = FakeClient()
        outbox = Outbox(self.rig.flash, self.rig.clock, window=64, resend_s=30)
        self.agent = Agent(self.rig.reg, self.client, outbox, link.ROOT, SERIAL, "1.0.0")
        self.engine, self.clock = engine, clock
        self.sent = 0
        self.held: list[Incoming] = []

    def close(self) -> None:
        self.rig.reg.ofd.close()
        self.server.stop()

    def run(self, cmd: SentCommand, hold: tuple[str, ...] = ()) -> dict[str, Any]:
        """The register takes the command the cabinet queued; its messages reach the fleet
        (those of the kinds in ``hold`` wait for `release`). Returns the result."""
        payload = cmd_payload(cmd.request_id, cmd.action, cmd.body, cmd.ttl_s, cmd.issued_at)
        self.client.inbox.append((link.topic(link.ROOT, SERIAL, link.CMD), _json(payload)))
        self.agent.step(0)
        results = [
            r
            for t, p, _r in self.client.out
            if t.endswith("/result") and (r := json.loads(p))["id"] == cmd.request_id
        ]
        self.pump(hold)
        assert results and results[-1]["status"] == "made", results
        return results[-1]

    def pump(self, hold: tuple[str, ...] = ()) -> None:
        new = self.client.out[self.sent :]
        self.sent = len(self.client.out)
        now = self.clock.wall()
        batch = [Incoming(t, p, now) for t, p, _r in new]
        self.held += [m for m in batch if m.topic.rsplit("/", 1)[-1] in hold]
        back = Store(self.engine, link.ROOT, self.clock).apply(
            [m for m in batch if m.topic.rsplit("/", 1)[-1] not in hold]
        )
        for serial, msg in back:
            self.client.inbox.append((link.topic(link.ROOT, serial, link.STORED), _json(msg)))
        self.agent.step(0)

    def release(self) -> None:
        held, self.held = self.held, []
        Store(self.engine, link.ROOT, self.clock).apply(held)
        self.pump()

    def ofd_exchange(self) -> None:
        """The register's OFD client sends what the drive holds; the OFD's answers go to the
        fleet as the agent's `ofd` events at its next service round."""
        assert self.rig.reg.ofd.flush(600)
        self.rig.clock.sleep(self.agent.service_every_s)
        self.agent.step(0)
        self.pump()


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def _application(engine: Engine, register_id: int) -> RegistrationApplication:
    with Session(engine) as session:
        return session.exec(
            select(RegistrationApplication).where(
                RegistrationApplication.register_id == register_id
            )
        ).one()


@pytest.fixture(name="boards")
def fixture_boards() -> Iterator[list[Board]]:
    made: list[Board] = []
    yield made
    for b in made:
        b.close()


def _board(
    boards: list[Board], tmp_path: Path, fn: str, engine: Engine, clock: SettableClock
) -> Board:
    board = Board(tmp_path, fn, engine, clock)
    boards.append(board)
    return board


def _registered_on_the_register(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    n: int,
    boards: list[Board],
) -> tuple[dict[str, str], int, Board]:
    _fns(client, clock)
    headers = _signed_in(client, mailer, n)
    rid = _register(engine, clock, n)
    assert _fill_and_sign(client, headers, rid, tmp_path, clock, n=n).status_code == 200
    board = _board(boards, tmp_path, FN, engine, clock)
    board.run(_last(engine, rid, "registration"))
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_source == "fleet"
    board.ofd_exchange()  # the registration report reaches the OFD
    return headers, rid, board


def _job(client: TestClient, engine: Engine, clock: SettableClock) -> int:
    gateway = client.app.state.registration.gateway  # type: ignore[attr-defined]
    with Session(engine) as session:
        return report_job(gateway).run(session, clock)


def test_the_registration_report_is_sent_only_once_its_document_reached_the_fleet(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 40)
    rid = _register(engine, clock, 40)
    assert _fill_and_sign(client, headers, rid, tmp_path, clock, n=40).status_code == 200
    board = _board(boards, tmp_path, FN, engine, clock)
    made = board.run(_last(engine, rid, "registration"), hold=("doc",))
    # the register answered, but its document has not reached the fleet: nothing is sent
    assert _job(client, engine, clock) == 0
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.RNM_ASSIGNED and row.report_fd_number is None
    assert row.last_error is not None and f"ФД № {made['fd']} ФН № {FN}" in row.last_error
    # typed by hand now, the same requisites are refused for the same reason, naming the field
    url = f"/api/registers/{rid}/registration/report"
    typed = {"fd_number": made["fd"], "fiscal_sign": made["fp"], "date": made["date_time"]}
    waiting = client.post(url, json=typed, headers=headers)
    assert waiting.status_code == 409 and "fd_number" in waiting.json()["fields"]
    board.release()
    # a wrong fiscal sign or date against the stored document: refused, field by field
    wrong = {**typed, "fiscal_sign": "1", "date": "2024-01-16T10:30"}
    refused = client.post(url, json=wrong, headers=headers)
    assert refused.status_code == 422, refused.text
    fields = refused.json()["fields"]
    assert set(fields) == {"fiscal_sign", "date"}
    assert made["fp"] in fields["fiscal_sign"] and "2024-01-16 10:30" in fields["date"]
    assert _application(engine, rid).status == ApplicationStatus.RNM_ASSIGNED
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_source == "fleet"
    assert (row.report_fd_number, row.report_fiscal_sign) == (made["fd"], made["fp"])


def test_a_reregistration_report_is_made_by_the_register_and_sent_to_the_fns(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 41, boards
    )
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
    made = board.run(cmd)
    assert board.rig.docs()[-1].doc_type == 11  # the report on the change of parameters
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_source == "fleet"
    assert (row.report_fd_number, row.report_fiscal_sign) == (made["fd"], str(made["fp"]))
    assert row.report_date == made["date_time"][:16]
    card = client.get(url, headers=headers).json()["card"]
    assert card["ОФД (ИНН)"] == "7709364346"


def test_drive_replacement_waits_for_the_ofd_to_accept_the_closing_report(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 42, boards
    )
    operator = _signed_in(client, mailer, 43)
    make_operator(engine, "kep43@example.ru")
    replace = f"/api/operator/registers/{rid}/drive-replacement"
    closing = f"/api/operator/registers/{rid}/drive-closing"
    body = {"new_number": NEW_FN}
    # no closing report yet: nothing changes, and the operator is told what to do
    early = client.post(replace, json=body, headers=operator)
    assert early.status_code == 409 and "команду закрытия" in early.text
    assert "команду закрытия" in client.get(closing, headers=operator).json()["message"]

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
    closed = board.run(cmd)
    assert board.rig.docs()[-1].doc_type == 6  # the report on closing the fiscal mode
    what = f"ФД № {closed['fd']}, ФП {closed['fp']}"

    # the OFD has not answered yet: the step waits and says so, with the unsent documents
    state = client.get(closing, headers=operator).json()
    assert state["stored"] is True and state["ofd_status"] == "pending"
    assert state["confirmed"] is False and "Ждём подтверждения ОФД" in state["message"]
    assert what in state["message"]
    # the closing report itself; the register's own count is as of its last OFD exchange
    assert state["not_accepted"] == 1 and isinstance(state["unsent"], int)
    assert "в Облаке без квитанции ОФД — 1" in state["unsent_message"]
    waiting = client.post(replace, json=body, headers=operator)
    assert waiting.status_code == 409 and "Ждём подтверждения ОФД" in waiting.json()["message"]
    page = client.get(f"/operator/registers/{rid}/drive-replacement")
    assert "Ждём подтверждения ОФД" in page.text and "Непереданные ОФД документы" in page.text

    board.ofd_exchange()  # the register sends it; the OFD's receipt comes back through MQTT
    state = client.get(closing, headers=operator).json()
    assert state["confirmed"] is True and state["ofd_status"] == "accepted"
    assert state["message"].startswith(f"ОФД подтвердил отчёт о закрытии ФН ({what}")
    assert state["not_accepted"] == 0
    page = client.get(f"/operator/registers/{rid}/drive-replacement")
    assert "ОФД подтвердил отчёт о закрытии ФН" in page.text

    answer = client.post(replace, json=body, headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"]["reasons"] == [4]
    assert answer.json()["state"]["close_source"] == "fleet"
    with Session(engine) as session:
        used = session.exec(select(UsedDrive).where(UsedDrive.register_id == rid)).one()
        assert used.drive_number == FN and used.close_fd_number == closed["fd"]
        assert used.close_fiscal_sign == str(closed["fp"])
        assert used.close_date == closed["date_time"][:16]
        # confirmed by the OFD: no override was needed, none is in the audit log
        assert not session.exec(
            select(AuditLog).where(AuditLog.action == "registration.ofd_confirmation_overridden")
        ).all()

    content, signed = _sign_current(client, headers, rid, 42, clock)
    assert json.loads(content)["fn_close"]["fd_number"] == closed["fd"]
    assert signed.json()["status"] == "rnm_assigned", signed.text
    cmd = _last(engine, rid, "reregistration")
    assert cmd.body["fn_replacement"] is True and cmd.body["reasons"] == ["fn_replacement"]
    # the new drive, installed in the register, makes the re-registration report
    new = _board(boards, tmp_path, NEW_FN, engine, clock)
    made = new.run(cmd)
    assert made["fn"] == NEW_FN
    assert _job(client, engine, clock) == 1
    row = _application(engine, rid)
    assert row.status == ApplicationStatus.REGISTERED and row.report_fd_number == made["fd"]
    assert row.report_source == "fleet"
    card = client.get(f"/api/registers/{rid}/registration", headers=headers).json()["card"]
    assert card["Заводской номер ФН"] == NEW_FN
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration").text
    assert page.count("сверены с документом, который касса передала в Облако") == 2


def test_closing_requisites_are_checked_against_the_register_s_document(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    _headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 46, boards
    )
    operator = _signed_in(client, mailer, 47)
    make_operator(engine, "kep47@example.ru")
    client.post(f"/api/operator/registers/{rid}/drive-close", headers=operator)
    closed = board.run(_last(engine, rid, "close_fiscal_mode"))
    board.ofd_exchange()
    replace = f"/api/operator/registers/{rid}/drive-replacement"
    good = {"fd_number": closed["fd"], "fiscal_sign": closed["fp"], "date": closed["date_time"]}

    def typed(close: dict[str, Any]) -> Any:
        return client.post(replace, json={"close": close, "new_number": NEW_FN}, headers=operator)

    # the FD number of the registration report: the wrong document type
    wrong_type = typed({**good, "fd_number": 1})
    assert wrong_type.status_code == 422
    assert (
        "«Отчёт о регистрации», а нужен «Отчёт о закрытии"
        in (wrong_type.json()["fields"]["close.fd_number"])
    )
    wrong_sign = typed({**good, "fiscal_sign": "123"})
    assert wrong_sign.status_code == 422
    assert set(wrong_sign.json()["fields"]) == {"close.fiscal_sign"}
    missing = typed({**good, "fd_number": closed["fd"] + 5})
    assert missing.status_code == 409
    assert "нет среди документов" in missing.json()["fields"]["close.fd_number"]
    with Session(engine) as session:
        assert session.exec(select(UsedDrive)).first() is None  # nothing happened
    # typed right, they pass the check: the register's own document, accepted by the OFD
    done = typed(good)
    assert done.status_code == 200, done.text
    assert done.json()["state"]["close_source"] == "fleet"


def test_the_ofd_s_refusal_of_the_closing_report_is_shown_and_needs_an_audited_override(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 48, boards
    )
    client.post(f"/api/registers/{rid}/registration/drive-close", headers=headers)
    closed = board.run(_last(engine, rid, "close_fiscal_mode"))
    # the OFD refused the document (code 14), as the register relays it
    refusal = {"v": 1, "fn": FN, "fd": closed["fd"], "status": "rejected", "code": 14, "at": 0}
    topic = link.topic(link.ROOT, SERIAL, link.OFD)
    Store(engine, link.ROOT, clock).apply([Incoming(topic, encode("ofd", refusal), 0.0)])
    state = client.get(f"/api/registers/{rid}/registration/drive-closing", headers=headers).json()
    assert state["ofd_status"] == "rejected" and state["ofd_code"] == 14
    assert "ОФД отклонил отчёт о закрытии ФН" in state["message"]
    assert "код ошибки 14" in state["message"]
    dereg = f"/api/registers/{rid}/deregistration"
    refused = client.post(dereg, json={"reason": "user"}, headers=headers)
    assert refused.status_code == 409 and "код ошибки 14" in refused.json()["message"]
    assert "ofd_override" in refused.json()["fields"]
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "ОФД отклонил отчёт о закрытии ФН" in page.text
    reason = "ОФД принял документ повторно, квитанция № 77 в ЛК ОФД"
    body = {"reason": "user", "ofd_override": reason}
    state = client.post(dereg, json=body, headers=headers).json()
    assert state["kind"] == "deregistration" and state["close_source"] == "fleet", state
    with Session(engine) as session:
        entry = session.exec(
            select(AuditLog).where(AuditLog.action == "registration.ofd_confirmation_overridden")
        ).one()
        detail = json.loads(entry.detail)
        assert detail["ofd_status"] == "rejected" and detail["reason"] == reason


def test_deregistration_takes_the_closing_report_from_the_register(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 44, boards
    )
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
    closed = board.run(_last(engine, rid, "close_fiscal_mode"))
    # made, not yet accepted by the OFD: the card says it waits
    waits = client.post(dereg, json={"reason": "user"}, headers=headers)
    assert waits.status_code == 409 and "Ждём подтверждения ОФД" in waits.json()["message"]
    assert "Ждём подтверждения ОФД" in client.get(f"/registers/{rid}/registration").text
    board.ofd_exchange()
    assert "ОФД подтвердил" in client.get(f"/registers/{rid}/registration").text
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
        closing_doc = session.exec(
            select(FiscalDocument)
            .where(FiscalDocument.fn_number == FN)
            .where(FiscalDocument.fd_number == closed["fd"])
        ).one()
        assert closing_doc.doc_type == 6 and closing_doc.ofd_status == "accepted"


def test_a_drive_closed_without_the_cabinet_s_command_is_read_from_its_stored_document(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, board = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 49, boards
    )
    # the closing made by another command (the operator's console), not the cabinet's
    other = SentCommand(
        register_id=rid, serial=SERIAL, request_id="console-close-1",
        action="close_fiscal_mode", body={"id": "console-close-1", "kind": "close_fiscal_mode"},
        ttl_s=3600, issued_at=int(clock.wall()), expires_at=clock.wall() + 3600,
        next_at=clock.wall(), created_at=clock.wall(),
    )  # fmt: skip
    closed = board.run(other)
    state = client.get(f"/api/registers/{rid}/registration/drive-closing", headers=headers)
    assert state.json()["fd_number"] == closed["fd"] and state.json()["stored"] is True
    dereg = f"/api/registers/{rid}/deregistration"
    waits = client.post(dereg, json={"reason": "user"}, headers=headers)
    assert waits.status_code == 409 and "Ждём подтверждения ОФД" in waits.json()["message"]
    board.ofd_exchange()
    state = client.post(dereg, json={"reason": "user"}, headers=headers).json()
    assert state["kind"] == "deregistration" and state["close_source"] == "fleet", state
    row = _application(engine, rid)
    assert (row.close_fd_number, row.close_fiscal_sign) == (closed["fd"], closed["fp"])
    assert row.close_date == closed["date_time"][:16]


def test_a_register_that_refuses_to_close_says_why_and_nothing_changes(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    boards: list[Board],
) -> None:
    headers, rid, _ = _registered_on_the_register(
        client, mailer, engine, clock, tmp_path, 45, boards
    )
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
