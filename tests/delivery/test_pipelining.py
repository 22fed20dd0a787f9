"""SMTP PIPELINING (RFC 2920) in the e-mail provider: MAIL, RCPT and DATA in one write, and
(`send_many`, the worker's way) each next envelope behind the previous letter's end of data;
letters intact (dot-stuffed), refusals reported per letter, the kept connection still usable,
a dropped one re-opened for the unconfirmed letters only; the worker's batch over it."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.delivery.cascade import AttemptStatus, ProviderRefusedError
from fleet.delivery.channels import Channel
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.message import Outgoing
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.worker import DeliveryState
from tests.delivery.world import make_world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Relay:
    """aiosmtpd offering PIPELINING; refuses one recipient; counts its connections."""

    def __init__(self, pipelining: bool = True) -> None:
        self.letters: list[tuple[str, list[str], bytes]] = []
        self.connections = 0
        self.pipelining = pipelining

    async def handle_EHLO(  # noqa: N802  (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(  # noqa: N802
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes) and envelope.mail_from is not None
        self.letters.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture(name="relay")
def fixture_relay() -> Iterator[tuple[_Relay, int]]:
    port = _free_port()
    relay = _Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield relay, port
    finally:
        controller.stop()


def _letter(text: str) -> Outgoing:
    return Outgoing(text=text, html="<p>чек</p>", subject="Кассовый чек", sender="cheki@shop.ru")


def test_pipelined_letters_arrive_intact_over_one_connection(relay: tuple[_Relay, int]) -> None:
    inbox, port = relay
    provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@shop.ru")
    tricky = ".начало строки с точки\n.\n..две\nИТОГ: 100,00 ₽"
    ids = [provider.send("email", f"b{i}@mail.ru", _letter(tricky), f"{i}:1:email") for i in (1, 2)]
    assert inbox.connections == 1  # kept between letters
    with pytest.raises(ProviderRefusedError, match="550"):
        provider.send("email", "refused@mail.ru", _letter("x"), "3:1:email")
    ids.append(provider.send("email", "b4@mail.ru", _letter(tricky), "4:1:email"))
    provider.close()
    assert len(set(ids)) == 3
    assert [(f, r) for f, r, _ in inbox.letters] == [
        ("cheki@shop.ru", ["b1@mail.ru"]),
        ("cheki@shop.ru", ["b2@mail.ru"]),
        ("cheki@shop.ru", ["b4@mail.ru"]),
    ]
    for (_, rcpt, content), key in zip(
        inbox.letters, ("1:1:email", "2:1:email", "4:1:email"), strict=True
    ):
        raw, _ = provider.letter(rcpt[0], _letter(tricky), key)
        # the relay un-stuffs the dots: what arrives is the letter as written
        assert _stable(content) == _stable(raw) and b"\r\n..\xd0" not in content


def _stable(raw: bytes) -> bytes:
    """The letter but its date and random Message-ID (made anew for each rendering)."""
    lines = raw.rstrip(b"\r\n").split(b"\r\n")
    return b"\r\n".join(x for x in lines if not x.startswith((b"Date: ", b"Message-ID: ")))


class _StrictRelay(threading.Thread):
    """Answers MAIL, RCPT and DATA only once all three have arrived: a client that waited for
    each reply (no pipelining) would time out here."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.contents: list[bytes] = []

    def run(self) -> None:
        conn, _ = self.sock.accept()
        buf = b""

        def until(marker: bytes) -> bytes:
            nonlocal buf
            while marker not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError
                buf += chunk
            head, _, buf = buf.partition(marker)
            return head

        with conn:
            conn.sendall(b"220 strict ESMTP\r\n")
            until(b"\r\n")  # EHLO
            conn.sendall(b"250-strict\r\n250 PIPELINING\r\n")
            try:
                while True:
                    group = until(b"DATA\r\n")
                    assert group.startswith(b"MAIL FROM:") and b"\r\nRCPT TO:" in group
                    conn.sendall(b"250 ok\r\n250 ok\r\n354 go\r\n")
                    self.contents.append(until(b"\r\n.\r\n"))
                    conn.sendall(b"250 2.0.0 queued\r\n")
            except ConnectionError:
                return


def test_the_envelope_goes_in_one_write() -> None:
    relay = _StrictRelay()
    relay.start()
    provider = SmtpEmailProvider("127.0.0.1", relay.port, sender="cheki@shop.ru", timeout_s=3)
    for i in range(3):
        provider.send("email", f"b{i}@mail.ru", _letter("чек"), f"{i}:1:email")
    provider.close()
    relay.join(5)
    assert len(relay.contents) == 3
    assert all(b"Subject: =?utf-8?b?" in c for c in relay.contents)


def test_without_pipelining_the_provider_waits_for_each_reply() -> None:
    """A relay that does not offer PIPELINING gets smtplib's one command at a time."""
    port = _free_port()
    inbox = _Relay(pipelining=False)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@shop.ru")
        provider.send("email", "b1@mail.ru", _letter("чек"), "1:1:email")
        with pytest.raises(ProviderRefusedError, match="550"):
            provider.send("email", "refused@mail.ru", _letter("x"), "2:1:email")
        provider.close()
    finally:
        controller.stop()
    assert [r for _, r, _ in inbox.letters] == [["b1@mail.ru"]]


class _BatchRelay(threading.Thread):
    """Before answering a letter's end of data it looks 0.3 s for more input: what arrives
    then was sent without waiting for the answer — the next envelope pipelined behind the
    letter (``early`` counts them). ``drop_after``: the first connection is closed right
    after answering that many letters (the next envelope unanswered)."""

    def __init__(self, drop_after: int | None = None) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.drop_after = drop_after
        self.contents: list[tuple[int, bytes]] = []  # (connection, content)
        self.early = 0
        self.connections = 0

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""

        def fill(timeout: float | None = None) -> bool:
            nonlocal buf
            conn.settimeout(timeout)
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return False
            if not chunk:
                raise ConnectionError
            buf += chunk
            return True

        def until(marker: bytes) -> bytes:
            nonlocal buf
            while marker not in buf:
                fill()
            head, _, buf = buf.partition(marker)
            return head

        conn.sendall(b"220 batch ESMTP\r\n")
        until(b"\r\n")  # EHLO
        conn.sendall(b"250-batch\r\n250 PIPELINING\r\n")
        try:
            while True:
                while b"\r\n" not in buf:
                    fill()
                if buf.startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return
                group = until(b"DATA\r\n")
                assert group.startswith(b"MAIL FROM:") and b"\r\nRCPT TO:" in group
                conn.sendall(b"250 ok\r\n250 ok\r\n354 go\r\n")
                self.contents.append((self.connections, until(b"\r\n.\r\n")))
                if buf or fill(0.3):
                    self.early += 1
                conn.sendall(b"250 2.0.0 queued\r\n")
                if self.connections == 1 and len(self.contents) == self.drop_after:
                    return
        except ConnectionError:
            return


def _batch(n: int, *refused: int) -> list[tuple[str, Outgoing, str]]:
    return [
        (
            "refused@mail.ru" if i in refused else f"b{i}@mail.ru",
            _letter(f"чек {i}"),
            f"{i}:1:email",
        )
        for i in range(n)
    ]


def test_letters_go_pipelined_one_behind_another() -> None:
    """send_many: each next envelope goes with the previous letter's end of data (N + 1
    round trips for N); single sends never do that."""
    relay = _BatchRelay()
    relay.start()
    provider = SmtpEmailProvider("127.0.0.1", relay.port, sender="cheki@shop.ru", timeout_s=3)
    ids = provider.send_many(_batch(4))
    assert relay.early == 3 and all(isinstance(i, str) for i in ids) and len(set(ids)) == 4
    provider.send("email", "one@mail.ru", _letter("чек"), "9:1:email")
    provider.close()
    assert relay.early == 3  # the single send waited for each answer
    texts = [_text(c) for _, c in relay.contents]
    assert texts == ["чек 0", "чек 1", "чек 2", "чек 3", "чек"]
    assert relay.connections == 1


def _text(content: bytes) -> str:
    """The plain-text part of a letter as the relay got it."""
    msg = email.message_from_bytes(content)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().strip()


def test_a_refused_recipient_fails_only_its_letter(relay: tuple[_Relay, int]) -> None:
    inbox, port = relay
    provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@shop.ru")
    out = provider.send_many(_batch(5, 1, 3))
    provider.close()
    assert [type(o) for o in out] == [str, ProviderRefusedError, str, ProviderRefusedError, str]
    assert "550" in str(out[1]) and "550" in str(out[3])
    assert [r for _, r, _ in inbox.letters] == [["b0@mail.ru"], ["b2@mail.ru"], ["b4@mail.ru"]]
    assert inbox.connections == 1  # a refusal leaves the connection in use


def test_a_dropped_connection_resends_only_what_the_relay_did_not_confirm() -> None:
    relay = _BatchRelay(drop_after=2)
    relay.start()
    provider = SmtpEmailProvider("127.0.0.1", relay.port, sender="cheki@shop.ru", timeout_s=3)
    out = provider.send_many(_batch(4))
    provider.close()
    assert all(isinstance(o, str) for o in out)
    assert [(conn, _text(c)) for conn, c in relay.contents] == [
        (1, "чек 0"),
        (1, "чек 1"),
        (2, "чек 2"),
        (2, "чек 3"),
    ]


def test_the_workers_batch_goes_over_one_connection_and_a_refusal_fails_its_receipt(
    relay: tuple[_Relay, int], engine: Engine, clock: SettableClock
) -> None:
    inbox, port = relay
    world = make_world(engine, clock)
    provider = SmtpEmailProvider("127.0.0.1", port, sender="noreply@oblako.ru")
    world.providers = {Channel.EMAIL: provider}
    ids = [world.receipt(f"b{i}@mail.ru") for i in range(3)]
    refused = world.receipt("refused@mail.ru")
    worker = world.worker(concurrency=1)
    worker.run_once()
    worker.run_once()  # the refused e-mail was the only channel: the cascade ends
    worker.close()
    provider.close()
    assert inbox.connections == 1
    assert sorted(r[0] for _, r, _ in inbox.letters) == ["b0@mail.ru", "b1@mail.ru", "b2@mail.ru"]
    with Session(engine) as s:
        rows = {
            a.receipt_id: a for a in s.exec(select(DeliveryAttempt)) if a.receipt_id is not None
        }
        assert all(rows[i].status == AttemptStatus.SENT and rows[i].provider_id for i in ids)
        assert rows[refused].status == AttemptStatus.FAILED and "550" in (rows[refused].error or "")
        d = s.exec(select(Delivery).where(Delivery.receipt_id == refused)).one()
        assert d.state == DeliveryState.FAILED
