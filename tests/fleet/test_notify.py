"""Notifications: raised once per drive and threshold by the scheduled job, read in the cabinet,
sent by e-mail over real SMTP (aiosmtpd) as each user chose."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender, SmtpMailSender
from fleet.core.clock import SettableClock
from fleet.drives.jobs import forecast_job
from fleet.jobs.runner import JobRunner
from fleet.notify.delivery import deliver_pending, mail_job
from fleet.notify.models import EmailState, Notification
from tests.fleet.test_billing_kit import company_id, csrf_of, signed_in, use_cookie
from tests.fleet.test_drives_api import _register_with_history

DAY = 86_400.0


class _Inbox:
    def __init__(self) -> None:
        self.letters: list[tuple[str, list[str], str, str]] = []

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        msg = message_from_bytes(envelope.original_content or b"")
        subject = str(make_header(decode_header(msg["Subject"])))
        payload = msg.get_payload(decode=True)
        body = (
            payload.decode(msg.get_content_charset() or "utf-8")
            if isinstance(payload, bytes)
            else ""
        )
        self.letters.append((envelope.mail_from, list(envelope.rcpt_tos), subject, body))
        return "250 OK"


@pytest.fixture(name="smtp")
def fixture_smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _notes(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))


def test_the_job_raises_each_threshold_once_and_mails_it_over_smtp(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    smtp: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp
    headers, _ = signed_in(client, mailer, 1)
    cid = company_id(client, headers)
    # no memory growth; the key expires in 65 days → replace by day +35
    _register_with_history(engine, clock, cid, rate=0, expires_in=65)
    sender = SmtpMailSender(host="127.0.0.1", port=port, sender="robot@oblako.example")
    runner = JobRunner(
        engine, clock, [forecast_job(30), mail_job(sender, "https://cab.example")], lease_s=60
    )
    assert {o.name for o in runner.run_due()} == {"drive-forecast", "notify-mail"}
    assert _notes(engine) == []  # 35 days ahead: no threshold yet
    clock.advance(6 * DAY)  # 29 days left
    runner.run_due()
    notes = _notes(engine)
    assert [(n.kind, n.key.rsplit(":", 1)[1]) for n in notes] == [("drive.replace", "30")]
    assert "Замените ФН кассы" in notes[0].title
    clock.advance(61)  # the mail job runs every minute
    runner.run_due()
    assert _notes(engine)[0].email_state == EmailState.SENT
    assert len(inbox.letters) == 1
    frm, to, subject, body = inbox.letters[0]
    assert frm == "robot@oblako.example" and to == ["billing1@example.ru"]
    assert subject.startswith("Облако: Замените ФН кассы") and "https://cab.example/drives" in body
    clock.advance(3600)
    runner.run_due()  # the same threshold again: nothing new
    assert len(_notes(engine)) == 1
    clock.advance(22 * DAY)  # 7 days left
    runner.run_due()
    clock.advance(8 * DAY)  # overdue
    runner.run_due()
    clock.advance(61)
    runner.run_due()
    assert [n.key.rsplit(":", 1)[1] for n in _notes(engine)] == ["30", "7", "0"]
    assert len(inbox.letters) == 3 and "Просрочена замена ФН" in inbox.letters[2][2]


def test_a_user_who_does_not_want_mail_gets_none_but_sees_it_in_the_cabinet(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    cid = company_id(client, headers)
    prefs = client.put(
        "/api/notifications/preferences", json={"email": {"drive.replace": False}}, headers=headers
    )
    assert prefs.status_code == 200
    assert {k["kind"]: k["email"] for k in prefs.json()["kinds"]}["drive.replace"] is False
    bad = client.put(
        "/api/notifications/preferences", json={"email": {"drive.nope": True}}, headers=headers
    )
    assert bad.status_code == 422 and "drive.nope" in bad.json()["fields"]
    _register_with_history(engine, clock, cid, rate=0, expires_in=20)
    sink = MemoryMailSender()
    runner = JobRunner(engine, clock, [forecast_job(30), mail_job(sink, "http://x")])
    runner.run_due()
    with Session(engine) as session:
        assert deliver_pending(session, clock, sink, base_url="http://x") == 0
    assert sink.outbox == []
    listed = client.get("/api/notifications", headers=headers).json()
    assert listed["unread"] == 1 and listed["items"][0]["email_state"] == "none"
    assert "Просрочена замена ФН" in listed["items"][0]["title"]
    use_cookie(client, headers)
    page = client.get("/drives")
    assert '<span class="badge badge-warn">1</span>' in page.text  # the layout's unread count
    notes_page = client.get("/notifications")
    token = csrf_of(notes_page.text)
    note_id = listed["items"][0]["id"]
    read = client.post(
        f"/notifications/{note_id}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert read.status_code == 303
    assert client.get("/api/notifications", headers=headers).json()["unread"] == 0
    assert 'badge badge-warn">1<' not in client.get("/drives").text
    # the page form saves the choices: mail for purchases only
    saved = client.post(
        "/notifications/preferences",
        data={"csrf_token": token, "email": ["drive.purchase"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    kinds = client.get("/api/notifications/preferences", headers=headers).json()["kinds"]
    assert {k["kind"]: k["email"] for k in kinds} == {
        "drive.replace": False,
        "drive.purchase": True,
    }


def test_another_users_notification_is_not_found(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers_a, _ = signed_in(client, mailer, 1)
    headers_b, _ = signed_in(client, mailer, 2)
    _register_with_history(engine, clock, company_id(client, headers_b), rate=0, expires_in=10)
    JobRunner(engine, clock, [forecast_job(30)]).run_due()
    theirs = client.get("/api/notifications", headers=headers_b).json()["items"]
    assert len(theirs) == 1
    assert client.get("/api/notifications", headers=headers_a).json()["items"] == []
    stolen = client.post(f"/api/notifications/{theirs[0]['id']}/read", headers=headers_a)
    assert stolen.status_code == 404
    assert client.post("/api/notifications/read-all", headers=headers_b).json() == {"changed": 1}


def test_a_failing_smtp_server_is_retried(
    engine: Engine, clock: SettableClock, client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    _register_with_history(engine, clock, company_id(client, headers), rate=0, expires_in=10)
    JobRunner(engine, clock, [forecast_job(30)]).run_due()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = SmtpMailSender(host="127.0.0.1", port=closed_port, sender="r@o.example", timeout_s=2)
    with Session(engine) as session:
        assert deliver_pending(session, clock, down, base_url="http://x") == 0
        session.commit()
    note = _notes(engine)[0]
    assert note.email_state == EmailState.FAILED and note.email_attempts == 1
    assert note.email_error and "Error" in note.email_error
    sink = MemoryMailSender()
    with Session(engine) as session:
        assert deliver_pending(session, clock, sink, base_url="http://x") == 1
        session.commit()
    assert _notes(engine)[0].email_state == EmailState.SENT and len(sink.outbox) == 1
