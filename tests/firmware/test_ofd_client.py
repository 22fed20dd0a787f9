"""The register's OFD client end to end (CPython): the drive simulator on an in-process
link and the shared SimClock, FiscalDrive, the OFD simulator on 127.0.0.1, firmware/ofd.py
over firmware/net.py. Plus: the session header equals protocol/ofd.py to the byte."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import net, ofd
from firmware.drive import FiscalDrive
from firmware.errors import DriveError, OfdError
from firmware.shared import receipt as schema
from hil import scenarios
from protocol import fiscalsign
from protocol.ofd import SessionHeader, parse_session_header
from simulator.clock import SimClock
from simulator.fn import DEV_FP_SECRET, DriveConfig, DriveModel, inproc_pair
from simulator.ofd import OfdConfig, OfdServer

DAY_S = 86400
REGISTERED_AT = (2024, 1, 15, 10, 30)  # SimClock's default start in Moscow time


# ---- the session header: firmware struct == protocol construct ------------------------


@settings(max_examples=300, deadline=None)
@given(
    fn=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16),
    size=st.integers(0, 0xFFFF),
    flags=st.integers(0, 0xFFFF).filter(lambda f: f & 3 != 3),
    p_version=st.binary(min_size=2, max_size=2),
    body=st.binary(max_size=64),
)
def test_session_header_equals_protocol(
    fn: str, size: int, flags: int, p_version: bytes, body: bytes
) -> None:
    ours = ofd.session_header(fn, size, flags, p_version, body=body)
    spec = SessionHeader(fn, size, flags, p_version).build(body)
    assert ours == spec
    mine = ofd.parse_session_header(spec)
    theirs = parse_session_header(spec, body)  # checks the CRC in modes 01/10
    assert mine["fn_number"] == theirs.fn_number
    assert (mine["body_size"], mine["flags"], mine["crc"]) == (size, flags, theirs.crc)
    assert ofd.session_crc_ok(spec, body)


def test_real_register_flags_and_default_version() -> None:
    header = ofd.session_header("9999078900000001", 305)
    assert header == SessionHeader("9999078900000001", 305).build()
    assert header[26:30] == b"\x14\x00\x00\x00"  # flags 0x0014, CRC 0 (§4.1)


# ---- the rig ---------------------------------------------------------------------------


@dataclass
class Rig:
    clock: SimClock
    model: DriveModel
    drive: FiscalDrive
    server: OfdServer
    client: ofd.OfdClient

    @property
    def fn(self) -> str:
        return self.model.config.fn_number

    def wait_up(self) -> None:
        deadline = time.monotonic() + 5
        while self.server.down and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.server.down


@pytest.fixture(name="rig")
def fixture_rig() -> Iterator[Rig]:
    clock = SimClock()
    model = DriveModel(DriveConfig(sign_algorithm="sha256"), clock=clock)
    port, _ = inproc_pair(model, timeout=0.01)
    drive = FiscalDrive(port, clock)
    server = OfdServer(OfdConfig(sign_algorithm="sha256"), clock=clock)
    host, tcp_port = server.address
    server.start()
    client = ofd.OfdClient(drive, net.connector(0.05), host, server.port, clock)
    assert tcp_port == 0
    yield Rig(clock, model, drive, server, client)
    client.close()
    server.stop()


def _day(rig: Rig, receipts: int = 3) -> None:
    scenarios.register(rig.drive)
    scenarios.open_shift(rig.drive)
    for _ in range(receipts):
        scenarios.sell(rig.drive)


# ---- end to end ------------------------------------------------------------------------


def test_documents_reach_the_ofd_and_the_drive_is_confirmed(rig: Rig) -> None:
    _day(rig, receipts=3)
    assert rig.drive.unconfirmed_count() == 5
    assert rig.client.flush(600)
    assert rig.drive.unconfirmed_count() == 0
    docs = rig.server.gateway.documents(rig.fn)
    assert [d.fd_number for d in docs] == [1, 2, 3, 4, 5]
    assert [d.doc_type for d in docs] == [1, 2, 3, 3, 3]
    for d in docs:
        assert d.accepted and d.origin == "network"
        assert fiscalsign.verify_document(DEV_FP_SECRET, rig.fn, d.document, algorithm="sha256")
        archived = rig.model.document(d.fd_number)
        assert archived is not None and archived.stlv == d.document and archived.fp == d.fp
    # The drive keeps the OFD's receipt (41h): the same ФПО the OFD issued.
    (last,) = rig.server.gateway.receipts(rig.fn)[-1:]
    assert rig.drive.document_ofd_receipt(5)["ofd_fp"] == last.ofd_fp
    events = rig.client.events()
    assert [(e["event"], e["fd"], e["code"]) for e in events] == [
        ("delivered", fd, 0) for fd in (1, 2, 3, 4, 5)
    ]
    status = rig.client.status()
    assert status["unsent"] == 0 and status["delivered"] == 5 and status["attempts"] == 1
    assert status["oldest_unsent"] is None and status["state"] == "idle"
    known = rig.server.gateway.register(rig.fn)
    assert known is not None and known.rnm == scenarios.RNM and known.missing == ()


def test_outage_backoff_30_day_block_and_recovery(rig: Rig) -> None:
    _day(rig, receipts=1)
    rig.server.go_down(31 * DAY_S + 3600)  # the OFD is gone for 31 days and an hour
    rig.client.run(600)
    status = rig.client.status()
    assert status["state"] == "backoff" and status["unsent"] == 3
    assert status["attempts"] == 6  # at 0, 10, 30, 70, 150, 310 s: backoff doubles
    assert status["oldest_unsent"] == REGISTERED_AT and status["first_unsent_fd"] == 1
    assert status["block_in_s"] == 30 * DAY_S - 600
    assert "network" in status["last_error"]
    # A month later the drive refuses receipts: its oldest document waits > 30 days (15h).
    rig.clock.advance(31 * DAY_S)
    with pytest.raises(DriveError) as refused:
        scenarios.sell(rig.drive)
    assert refused.value.code == 0x15
    assert rig.client.refresh()["block_in_s"] == 0
    assert rig.server.down
    # The OFD comes back by itself when its outage ends on the clock; the client delivers.
    rig.clock.advance(3600)
    rig.wait_up()
    assert rig.client.flush(3600)
    assert rig.drive.unconfirmed_count() == 0
    assert rig.client.status()["failures"] == 0
    # The block lifts: a new shift (the old one is over 24 h) and a receipt work again.
    scenarios.close_shift(rig.drive)
    scenarios.open_shift(rig.drive)
    made = scenarios.sell(rig.drive)
    assert rig.client.flush(600)
    assert rig.server.gateway.document(rig.fn, made["fd"]) is not None


def test_flk_rejection_round_trip(rig: Rig) -> None:
    scenarios.register(rig.drive)
    scenarios.open_shift(rig.drive)
    norm, problems = schema.check(scenarios.sale_request())
    assert norm is not None and not problems
    _, operation, total = schema.closing(norm)
    # The register's own check would refuse this; the drive does no ФЛК (§1.8).
    fields = [(t, v - 100) if t == 1031 else (t, v) for t, v in schema.fields(norm)]
    rig.drive.receipt_begin()
    rig.drive.send_data(fields)
    made = rig.drive.receipt_make(operation, total)
    assert rig.client.flush(600)
    assert rig.drive.unconfirmed_count() == 0  # delivered, though rejected
    events = rig.client.events()
    assert events[-1]["event"] == "rejected" and events[-1]["fd"] == made["fd"]
    assert events[-1]["code"] == 14
    assert rig.client.status()["rejected"] == 1 and rig.client.status()["delivered"] == 2
    (rejection,) = rig.server.gateway.rejections(rig.fn)
    assert rejection.fd_number == made["fd"] and rejection.code == 14
    assert any(r.startswith("1020: сумма оплат 12245 коп.") for r in rejection.reasons)
    assert rig.model.document(made["fd"]) is not None
    ack = rig.model.document(made["fd"])
    assert ack is not None and ack.ack is not None and ack.ack.answer_code == 14


def test_flaky_ofd_loses_answers_and_nothing_else(rig: Rig) -> None:
    _day(rig, receipts=6)
    rig.server.set_flaky(drop_rate=0.35, silent_rate=0.15, seed=3)
    assert rig.client.flush(7 * DAY_S)
    assert rig.drive.unconfirmed_count() == 0
    docs = rig.server.gateway.documents(rig.fn)
    assert [d.fd_number for d in docs] == list(range(1, 9))  # each stored once
    stats = rig.server.stats()
    assert stats["dropped"] + stats["silenced"] > 0
    assert stats["redelivered"] == stats["dropped"] + stats["silenced"]
    assert rig.client.status()["attempts"] > 1
    assert rig.client.status()["delivered"] == 8


def test_slow_ofd_past_the_receipt_wait_is_retried(rig: Rig) -> None:
    _day(rig, receipts=0)
    rig.server.set_slow(100)  # within 300 s: fine
    rig.client.step()
    while rig.client.status()["delivered"] == 0:
        rig.clock.sleep(rig.client.step())
    assert rig.client.status()["failures"] == 0
    rig.server.set_slow(400)  # past 300 s: the answer is late, the drive no longer waits
    while rig.client.status()["failures"] == 0:
        rig.clock.sleep(rig.client.step())
    assert "OfdTimeout" in rig.client.status()["last_error"]
    rig.server.set_slow(0)
    assert rig.client.flush(3600)
    assert rig.drive.unconfirmed_count() == 0
    assert rig.server.stats()["redelivered"] == 1


def test_probe_sends_a_service_message(rig: Rig) -> None:
    rig.client.fn_number = rig.fn
    assert rig.client.probe() >= 0
    assert rig.server.stats()["service"] == 1
    rig.server.go_down()
    with pytest.raises(OfdError):
        rig.client.probe()
    rig.server.come_up()


# ---- the socket adapter ----------------------------------------------------------------


def test_socket_connection_contract() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    got: list[bytes] = []
    go = threading.Event()

    def serve() -> None:
        peer, _ = listener.accept()
        got.append(peer.recv(16))
        go.wait(5)
        peer.sendall(b"abc")
        peer.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conn = net.connector(0.02)("127.0.0.1", port, 5.0)
    conn.send(b"hello")
    buf = bytearray(8)
    assert conn.recv_into(buf) is None  # nothing yet
    go.set()
    n = None
    while n is None:
        n = conn.recv_into(buf)
    assert (n, bytes(buf[:3])) == (3, b"abc")
    while (n := conn.recv_into(buf)) is None:
        pass
    assert n == 0  # closed
    conn.close()
    conn.close()  # harmless twice
    thread.join(5)
    assert got == [b"hello"]
    listener.close()
    with pytest.raises(OSError):
        net.connect("127.0.0.1", port, 1.0)


# ---- the connection kept between documents (linger_s) ---------------------------------


def _lingering_rig(idle_timeout_s: float = 120.0) -> Rig:
    clock = SimClock()
    model = DriveModel(DriveConfig(sign_algorithm="sha256"), clock=clock)
    port, _ = inproc_pair(model, timeout=0.01)
    drive = FiscalDrive(port, clock)
    server = OfdServer(
        OfdConfig(sign_algorithm="sha256"), clock=clock, idle_timeout_s=idle_timeout_s
    )
    server.start()
    client = ofd.OfdClient(drive, net.connector(0.05), "127.0.0.1", server.port, clock, linger_s=5)
    return Rig(clock, model, drive, server, client)


def _transport(rig: Rig) -> list[int]:
    """The 21h arguments the drive received, in order (1 up, 0 down)."""
    out = []
    real = rig.drive.transport_status

    def seen(connected: int) -> None:
        out.append(connected)
        real(connected)

    rig.drive.transport_status = seen  # type: ignore[method-assign]
    return out


def test_a_kept_connection_carries_the_next_documents_then_closes() -> None:
    rig = _lingering_rig()
    try:
        told = _transport(rig)
        _day(rig, receipts=1)
        assert rig.client.flush(60)
        for _ in range(3):  # a receipt every 2 s: within the 5 s the connection is kept
            rig.clock.advance(2)
            scenarios.sell(rig.drive)
            rig.client.kick()
            assert rig.client.flush(60)
            assert rig.client.status()["connected"]
        assert rig.drive.unconfirmed_count() == 0
        assert rig.server.stats()["connections"] == 1 and told == [1]
        assert rig.client.status()["attempts"] == 1
        rig.client.run(6)  # no document for longer than linger_s: 21h(0), closed
        assert told == [1, 0] and not rig.client.status()["connected"]
        scenarios.sell(rig.drive)
        rig.client.kick()
        assert rig.client.flush(60)
        assert rig.server.stats()["connections"] == 2 and told == [1, 0, 1]
    finally:
        rig.client.close()
        rig.server.stop()


def test_a_kept_connection_the_ofd_closed_is_replaced_without_a_failure() -> None:
    rig = _lingering_rig(idle_timeout_s=0.2)
    try:
        _day(rig, receipts=0)
        assert rig.client.flush(60)
        assert rig.client.status()["connected"]
        time.sleep(0.6)  # the OFD drops the idle connection after 0.2 real seconds
        scenarios.sell(rig.drive)
        rig.client.kick()
        start = rig.clock.monotonic()
        assert rig.client.flush(60)
        status = rig.client.status()
        assert rig.drive.unconfirmed_count() == 0
        assert status["attempts"] == 2 and status["delivered"] == 3
        # at once on a new connection, not after a failure's backoff
        assert rig.clock.monotonic() - start < rig.client.backoff_s
    finally:
        rig.client.close()
        rig.server.stop()
