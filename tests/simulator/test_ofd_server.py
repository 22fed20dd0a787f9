"""The OFD simulator (simulator/ofd): headers and CRCs, service messages, signs, ФЛК with
code 14, idempotent redelivery, slow / flaky / down modes, the gateway interface."""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from protocol import fiscalsign
from protocol.ofd import SessionHeader, container_crc, parse_container, parse_message
from protocol.tree import Field
from simulator.clock import SimClock
from simulator.ofd import (
    FLK_CODE,
    Item,
    OfdConfig,
    OfdServer,
    StationaryRegister,
    check_document,
)
from tests.simulator.kkt import make_drive

FN = "9999078900077001"
DAY = dt.datetime(2024, 1, 15, 9, 0)
CONFIG = OfdConfig(sign_algorithm="sha256")


@pytest.fixture(name="clock")
def fixture_clock() -> SimClock:
    return SimClock()


@pytest.fixture(name="server")
def fixture_server(clock: SimClock) -> Iterator[OfdServer]:
    server = OfdServer(CONFIG, clock=clock)
    server.start()
    yield server
    server.stop()


def _shop(fn: str = FN) -> StationaryRegister:
    return StationaryRegister(fn, algorithm="sha256")


def _message(container: bytes, fn: str = FN, flags: int = 0x0014, **kw: bytes) -> bytes:
    return SessionHeader(fn, len(container), flags, **kw).build(container) + container


class Link:
    """A raw client connection: send bytes, read one answer (header + body) or EOF."""

    def __init__(self, server: OfdServer) -> None:
        self.sock = socket.create_connection(server.address, timeout=5)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                return out
            out += chunk
        return out

    def answer(self) -> bytes | None:
        """One answer, or None when the server closed the connection instead."""
        head = self._exact(30)
        if len(head) < 30:
            return None
        size = int.from_bytes(head[24:26], "little")
        return head + self._exact(size)

    def close(self) -> None:
        self.sock.close()


def _exchange(server: OfdServer, data: bytes) -> bytes | None:
    link = Link(server)
    try:
        link.send(data)
        return link.answer()
    finally:
        link.close()


def _code(answer: bytes) -> int:
    ack = parse_message(answer).container
    assert ack is not None and ack.doc_type == 7
    top = ack.document[0]
    operator = top.find(1068)
    assert operator is not None
    code = operator.find(1022)
    assert code is not None and isinstance(code.value, int)
    return code.value


def _resign(container: bytes) -> bytes:
    raw = bytearray(container)
    struct.pack_into("<H", raw, 2, container_crc(raw))
    return bytes(raw)


# ---- session header, CRCs, service messages ---------------------------------------------


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_crc_modes_are_answered_in_kind(server: OfdServer, mode: int) -> None:
    shop = _shop()
    answer = _exchange(server, _message(shop.registration(DAY), flags=0x0014 | mode))
    assert answer is not None
    parsed = parse_message(answer)  # checks the answer's own CRC in that mode
    assert parsed.header.flags == 0x0004 | mode
    assert parsed.header.fn_number == FN
    assert parsed.container is not None and parsed.container.fd_number == 1
    assert _code(answer) == 0


def test_bad_headers_are_refused_without_an_answer(server: OfdServer) -> None:
    shop = _shop()
    with_crc = _message(shop.registration(DAY), flags=0x0015)
    bad_crc = bytearray(with_crc)
    bad_crc[28] ^= 1
    plain = _message(shop.registration(DAY))
    bad_sig = b"\x2a\x08\x41\x0b" + plain[4:]
    bad_s = plain[:4] + b"\x81\xa3" + plain[6:]
    unknown_p = _message(shop.registration(DAY), p_version=b"\x09\x09")
    mode_11 = bytearray(_message(shop.registration(DAY)))
    mode_11[26] |= 0x03
    for data in (bytes(bad_crc), bad_sig, bad_s, unknown_p, bytes(mode_11)):
        assert _exchange(server, data) is None
    reasons = [r.reason for r in server.gateway.refusals()]
    assert len(reasons) == 5
    assert "CRC" in reasons[0] and "session header" in reasons[1]
    assert "S-protocol" in reasons[2] and "P-protocol" in reasons[3] and "11" in reasons[4]
    assert server.gateway.documents() == []
    # The legacy P-version 00 01 is accepted (§6).
    answer = _exchange(server, _message(shop.registration(DAY), p_version=b"\x00\x01"))
    assert answer is not None and answer[6:8] == b"\x00\x01"


def test_service_message_is_answered_header_only(server: OfdServer) -> None:
    link = Link(server)
    try:
        link.send(SessionHeader(FN, 0, 0x0011).build())
        answer = link.answer()
        assert answer is not None and len(answer) == 30
        assert parse_message(answer).header.flags == 0x0001  # CRC checked by parse
        link.send(SessionHeader(FN, 0, 0x0010).build())
        answer = link.answer()
        assert answer is not None and answer[26:30] == b"\x00\x00\x00\x00"
        link.send(SessionHeader(FN, 0, 0x0000).build())  # expects no answer: none
        container = _shop().registration(DAY)  # the connection still carries messages
        link.send(_message(container))
        answer = link.answer()
        assert answer is not None and _code(answer) == 0
    finally:
        link.close()
    assert server.stats()["service"] == 3


# ---- signs ------------------------------------------------------------------------------------


def test_tampered_or_foreign_documents_are_refused(clock: SimClock) -> None:
    shop = _shop()
    good = shop.registration(DAY)
    tampered = bytearray(good)
    at = tampered.index("Магазин".encode("cp866"))
    tampered[at] ^= 0x01
    tampered = bytearray(_resign(bytes(tampered)))
    foreign = StationaryRegister(FN, algorithm="sha256", fp_secret=b"another drive maker")
    with OfdServer(CONFIG, clock=clock) as server:
        assert _exchange(server, _message(bytes(tampered))) is None  # message sign first
        assert _exchange(server, _message(foreign.registration(DAY))) is None
        assert _exchange(server, _message(good[:-10] + b"\x00" * 10)) is None
    loose = OfdConfig(sign_algorithm="sha256", require_message_sign=False)
    with OfdServer(loose, clock=clock) as server:
        assert _exchange(server, _message(bytes(tampered))) is None  # and then the ФП
        assert _exchange(server, _message(_resign(good[:-10] + b"\x00" * 10))) is not None
        refusal = server.gateway.refusals()[0]
    assert refusal.reason == "the fiscal sign (1077) does not verify"
    assert (refusal.fn_number, refusal.fd_number) == (FN, 1)


def test_container_must_agree_with_its_session_and_document(server: OfdServer) -> None:
    shop = _shop()
    container = shop.registration(DAY)
    assert _exchange(server, _message(container, fn="9999078900077002")) is None
    assert _exchange(server, _message(container[:-1])) is None  # length field
    reasons = [r.reason for r in server.gateway.refusals()]
    assert "session FN" in reasons[0] and "length" in reasons[1]


# ---- ФЛК -----------------------------------------------------------------------------------


def test_flk_failure_is_code_14_with_reasons(server: OfdServer) -> None:
    shop = _shop()
    for container in (shop.registration(DAY), shop.open_shift(DAY)):
        server.service.inject(container)
    bad = shop.receipt(DAY, [Item("Товар", 1000, "3")], omit={2108}, total=2999)
    answer = _exchange(server, _message(bad))
    assert answer is not None and _code(answer) == FLK_CODE
    (rejection,) = server.gateway.rejections(FN)
    assert (rejection.fd_number, rejection.code, rejection.doc_type) == (3, 14, 3)
    text = "\n".join(rejection.reasons)
    assert "1059[1]/2108: нет обязательного реквизита 2108" in text
    assert "1020: сумма оплат 3000 коп." in text and "≠ итогу 2999 коп." in text
    assert "сумма предметов расчёта 3000" in text
    stored = server.gateway.document(FN, 3)
    assert stored is not None and not stored.accepted and stored.answer_code == 14


def test_simulated_drive_takes_a_code_14_receipt(server: OfdServer, clock: SimClock) -> None:
    # The registration of tests/simulator/kkt.py is minimal (no 1021, 1187, 1009), so the
    # ФЛК answers 14; the drive takes the receipt with 26h all the same (docs/simulator.md):
    # the document counts as delivered. Code 0 end to end: tests/firmware/test_ofd_client.
    drive, kkt, _ = make_drive(clock=clock)
    kkt.register()
    kkt.ok(0x21, connected=1)
    answer = _exchange(server, _message(kkt.read_message(), fn=drive.config.fn_number))
    assert answer is not None and _code(answer) == 14
    assert kkt.ok(0x26, message=answer[30:])["ofd_answer_code"] == 14
    assert kkt.ok(0x42)["count"] == 0
    (rejection,) = server.gateway.rejections(drive.config.fn_number)
    assert any("1021" in r for r in rejection.reasons)


def test_flk_rule_table() -> None:
    shop = _shop()
    shop.registration(DAY)
    shop.open_shift(DAY)

    def stlv(container: bytes) -> bytes:
        c = parse_container(container)
        return container[32 : len(container) - len(c.trailer)]

    good = check_document(stlv(shop.receipt(DAY)))
    assert good.ok and good.warnings == () and good.ffd == 4
    for tag in (1030, 1079, 1023, 1043, 1199, 1212, 1214, 2108):
        result = check_document(stlv(shop.receipt(DAY, omit={tag})))
        assert any(p.path == f"1059[1]/{tag}" for p in result.problems), tag
    wrong_vat = shop.receipt(DAY, extra=[Field(1103, 1)], omit={1102, 1103})
    paths = {p.path for p in check_document(stlv(wrong_vat)).problems}
    assert paths == {"1102", "1103"}  # 20 % total missing; 10 % total wrong
    bad_value = check_document(stlv(shop.receipt(DAY, [Item("X", 100, vat=99)])))
    assert any("недопустимое значение 99" in p.message for p in bad_value.problems)
    no_items = check_document(stlv(shop.receipt(DAY, [])))
    assert [p.path for p in no_items.problems] == ["1059"]
    # A receipt must carry the RNM and the user's INN (the register sends them).
    no_identity = check_document(stlv(shop.receipt(DAY, omit={1037, 1018})))
    assert {p.path for p in no_identity.problems} == {"1037", "1018"}
    # Warnings: a shift report without its cashier passes, unless strict.
    lax = check_document(b"\x02\x00\x00\x00")  # an empty shift opening: 1209 missing
    assert {p.path for p in lax.problems} >= {"1209", "1041"}
    assert [p.path for p in lax.warnings] == ["1021"]
    assert not check_document(b"\x02\x00\x00\x00", strict=True).warnings
    assert not check_document(b"\x03\x00\x02\x00\x01").ok  # not TLV at all


# ---- idempotent redelivery ------------------------------------------------------------------


def test_redelivery_gets_the_same_receipt(server: OfdServer, clock: SimClock) -> None:
    shop = _shop()
    container = shop.registration(DAY)
    first = _exchange(server, _message(container))
    clock.advance(3600)  # the receipt keeps its first time
    second = _exchange(server, _message(container))
    assert first is not None and first == second
    stored = server.gateway.document(FN, 1)
    assert stored is not None and stored.deliveries == 2
    assert server.stats()["redelivered"] == 1 and server.stats()["accepted"] == 1
    # Other bytes under the same identity (a reset drive, a forgery) are refused.
    other = _shop()
    other.user_name = "ООО Другое"
    assert _exchange(server, _message(other.registration(DAY))) is None
    assert "another document" in server.gateway.refusals()[-1].reason
    assert server.store.forget(FN) == 1
    assert _exchange(server, _message(other.registration(DAY))) is not None


# ---- modes ----------------------------------------------------------------------------------


def test_slow_mode_waits_on_the_clock(server: OfdServer, clock: SimClock) -> None:
    server.set_slow(120)
    before = clock.monotonic()
    answer = _exchange(server, _message(_shop().registration(DAY)))
    assert answer is not None and clock.monotonic() - before >= 120
    assert server.stats()["delayed"] == 1


def test_flaky_mode_loses_answers_not_documents(server: OfdServer, clock: SimClock) -> None:
    shop = _shop()
    container = shop.registration(DAY)
    server.set_flaky(drop_rate=1.0)
    assert _exchange(server, _message(container)) is None
    assert server.gateway.document(FN, 1) is not None  # processed, answer lost
    server.set_flaky(silent_rate=1.0, silent_s=310)
    before = clock.monotonic()
    assert _exchange(server, _message(container)) is None
    assert clock.monotonic() - before >= 310
    server.set_flaky()
    answer = _exchange(server, _message(container))
    assert answer is not None and _code(answer) == 0
    stats = server.stats()
    assert (stats["dropped"], stats["silenced"], stats["redelivered"]) == (1, 1, 2)


def test_flaky_mode_is_reproducible_by_seed(clock: SimClock) -> None:
    def fates(seed: int) -> list[bool]:
        shop = _shop()
        containers = shop.day(DAY, receipts=6)
        with OfdServer(CONFIG, clock=clock) as server:
            server.set_flaky(drop_rate=0.5, seed=seed)
            return [_exchange(server, _message(c)) is not None for c in containers]

    first = fates(7)
    assert first == fates(7)
    assert any(first) and not all(first)


def test_down_mode_refuses_connections_for_a_clock_period(
    server: OfdServer, clock: SimClock
) -> None:
    server.go_down(31 * 86400)
    assert server.down
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=2).close()
    clock.advance(30 * 86400)
    time.sleep(0.1)
    assert server.down
    clock.advance(86400)
    deadline = time.monotonic() + 5
    while server.down and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server.down
    assert _exchange(server, _message(_shop().registration(DAY))) is not None
    server.go_down()  # until further notice
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=2).close()
    server.come_up()
    assert _exchange(server, _message(_shop().registration(DAY))) is not None


def test_an_outage_cuts_open_connections(server: OfdServer) -> None:
    link = Link(server)
    try:
        link.send(SessionHeader(FN, 0, 0x0010).build())
        assert link.answer() is not None
        server.go_down()
        assert link.answer() is None
    finally:
        link.close()
        server.come_up()
    assert server.stats()["cut"] == 1


# ---- the gateway -----------------------------------------------------------------------------


def test_gateway_documents_receipts_rejections_registers(server: OfdServer) -> None:
    shop, other = _shop(), _shop("9999078900077002")
    other.user_name = "ИП Иванов"
    day1 = shop.day(DAY, receipts=2)  # FD 1..5
    for container in day1:
        server.service.inject(container)
    bad = shop.receipt(DAY + dt.timedelta(days=1), omit={1055})  # FD 6, ФЛК
    answer = _exchange(server, _message(bad))
    assert answer is not None and _code(answer) == 14
    skipped = other.day(DAY + dt.timedelta(days=2), receipts=2)
    for i, container in enumerate(skipped):
        if i != 2:  # FD 3 of the other shop never arrives
            server.service.inject(container)
    gw = server.gateway
    assert [d.fd_number for d in gw.documents(FN)] == [1, 2, 3, 4, 5, 6]
    assert [d.fd_number for d in gw.documents(FN, since=DAY + dt.timedelta(days=1))] == [6]
    assert [d.fd_number for d in gw.documents(until=DAY + dt.timedelta(minutes=2))] == [1, 2]
    assert len(gw.documents(doc_type=3)) == 2 + 1 + 1
    assert len(gw.documents(accepted=False)) == 1
    receipts = gw.receipts(FN)
    assert [r.answer_code for r in receipts] == [0, 0, 0, 0, 0, 14]
    assert all(len(r.ofd_fp) == fiscalsign.OFD_FP_SIZE for r in receipts)
    (rejection,) = gw.rejections()
    assert rejection.fd_number == 6 and "1055" in rejection.reasons[0]
    registers = gw.registers()
    assert [r.fn_number for r in registers] == [FN, "9999078900077002"]
    first = registers[0]
    assert first.rnm == shop.rnm and first.user_inn == "7702203276"
    assert first.user_name == 'ООО "Магазин у дома"' and first.registered_at == DAY
    assert (first.documents, first.rejected, first.last_fd) == (6, 1, 6)
    assert first.origin == "network"  # one of its documents came over TCP
    assert registers[1].origin == "injected" and registers[1].user_name == "ИП Иванов"
    assert gw.missing("9999078900077002") == (3,)
    assert gw.register("0000000000000000") is None
    for record in (*gw.documents(), *receipts, rejection, *registers):
        json.dumps(record.to_dict())
    stored = gw.document(FN, 4)
    assert stored is not None
    assert fiscalsign.verify_document(CONFIG.fp_secret, FN, stored.document, algorithm="sha256")
