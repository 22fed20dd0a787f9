"""Links (in-process, pty, TCP), byte-level behaviour, ENQ, timing and injected faults."""

from __future__ import annotations

import dataclasses
import time

import pytest
import serial

from protocol.errors import FrameFormatError
from protocol.fn.codes import AnswerCode
from protocol.fn.commands import build_request
from protocol.fn.frame import build_frame, parse_frame
from simulator.clock import SimClock, SystemClock
from simulator.fn import (
    DEFAULT_LATENCIES,
    DriveModel,
    FaultPlan,
    LinkError,
    LinkTiming,
    Noise,
    PoweredOffError,
    inproc_pair,
    serve_pty,
    serve_tcp,
)
from tests.simulator.kkt import FAST, make_drive

STATUS = bytes.fromhex("04010030ffcd")  # §1.2 [V]
ENQ = b"\x05"


def _answer_code(frame: bytes) -> int:
    return parse_frame(frame).answer_code


def test_in_process_port_contract() -> None:
    drive, _, _ = make_drive()
    port, _ = inproc_pair(drive)
    buf = bytearray(64)
    assert port.readinto(buf) == 0  # nothing yet: 0, not an exception
    assert port.write(STATUS) == len(STATUS)
    assert port.in_waiting == 36
    n = port.readinto(buf)
    assert n == 36 and _answer_code(bytes(buf[:n])) == 0
    port.write(ENQ)  # §1.1: ENQ repeats the last answer
    assert port.read(100) == bytes(buf[:n])
    port.close()
    with pytest.raises(LinkError):
        port.write(STATUS)


def test_split_writes_and_noise_between_frames() -> None:
    drive, _, _ = make_drive()
    port, _ = inproc_pair(drive)
    for byte in b"\x00\xff\x13" + STATUS:  # noise, then a frame one byte at a time
        port.write(bytes([byte]))
    answer = port.read(100)
    assert _answer_code(answer) == 0
    port.write(b"\x04\x00\x00" + STATUS)  # an impossible LEN is skipped
    assert port.read(100) == answer


def test_bad_request_crc_answers_01h_or_is_ignored() -> None:
    drive, _, _ = make_drive()
    port, _ = inproc_pair(drive)
    port.write(STATUS[:-1] + b"\x00")
    assert _answer_code(port.read(100)) == AnswerCode.UNKNOWN_COMMAND
    quiet = DriveModel(dataclasses.replace(FAST, bad_crc="ignore"), clock=SimClock())
    port, _ = inproc_pair(quiet)
    port.write(STATUS[:-1] + b"\x00")
    assert port.read(100) == b""
    port.write(STATUS)
    assert _answer_code(port.read(100)) == 0


def test_a_stale_partial_frame_is_dropped_after_the_idle_timeout() -> None:
    drive, _, clock = make_drive()
    port, _ = inproc_pair(drive)
    port.write(STATUS[:3])  # a frame that lost its tail
    clock.advance(0.5)
    port.write(STATUS)
    assert _answer_code(port.read(100)) == 0


def test_readinto_waits_on_the_clock_for_timed_answers() -> None:
    clock = SimClock()
    drive = DriveModel(FAST, clock=clock)
    port, _ = inproc_pair(drive, timing=LinkTiming.real(), timeout=1.0)
    started = time.monotonic()
    port.write(STATUS)
    t0 = clock.monotonic()
    first = port.read(1)
    # 6 request bytes + 10 ms processing + 1 answer byte at 115200 baud.
    byte_time = 10 / 115200
    assert first == b"\x04"
    assert clock.monotonic() - t0 == pytest.approx(7 * byte_time + 0.010, abs=1e-6)
    rest = port.read(100)
    assert len(rest) >= 1
    while len(rest) < 35:
        rest += port.read(100)
    assert _answer_code(first + rest) == 0
    assert time.monotonic() - started < 1.0  # simulated time, not real
    # With no answer due, readinto gives up after the timeout.
    t1 = clock.monotonic()
    assert port.read(1) == b""
    assert clock.monotonic() - t1 == pytest.approx(1.0)


def test_default_latencies_cover_the_command_set() -> None:
    assert DEFAULT_LATENCIES[0x30] < 0.3  # S6 reads status with a 300 ms time-out
    assert DEFAULT_LATENCIES[0x16] > DEFAULT_LATENCIES[0x15]
    assert LinkTiming().latency(0x16) == 0.0
    assert LinkTiming.real(scale=0.5).latency(0x16) == DEFAULT_LATENCIES[0x16] / 2


def test_dropped_answer_is_recovered_with_enq() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    faults = FaultPlan().drop_answer(command=0x16)
    port, _ = inproc_pair(drive, faults=faults)
    port.write(
        build_frame(0x16, build_request(0x16, date_time=kkt.now(), operation=1, total_kop=9))
    )
    assert port.read(100) == b""  # executed, answer lost
    port.write(ENQ)
    answer = parse_frame(port.read(100))
    assert answer.answer_code == 0 and answer.data[:2] == b"\x01\x00"  # receipt number 1
    assert kkt.ok(0x30)["last_fd"] == 3


def test_answer_faults() -> None:
    drive, _, clock = make_drive()
    faults = FaultPlan()
    port, _ = inproc_pair(drive, faults=faults)
    good = drive.handle(STATUS)
    assert good is not None
    # Corrupted CRC: the register sees a bad frame, ENQ gets a good copy.
    faults.corrupt_answer(command=0x30)
    port.write(STATUS)
    with pytest.raises(FrameFormatError):
        parse_frame(port.read(100))
    port.write(ENQ)
    assert port.read(100) == good
    # Garbage before the answer.
    faults.garbage_before(b"\xaa\xbb", command=0x30)
    port.write(STATUS)
    assert port.read(100) == b"\xaa\xbb" + good
    # Split into 5-byte reads.
    faults.split_answer(5, command=0x30)
    port.write(STATUS)
    pieces = [port.read(100) for _ in range(8)]
    assert [len(p) for p in pieces] == [5, 5, 5, 5, 5, 5, 5, 1]
    assert b"".join(pieces) == good
    # Delayed by 2 s of clock time.
    faults.delay_answer(2.0, command=0x30)
    port.write(STATUS)
    assert port.read(100) == b""
    clock.advance(2.0)
    assert port.read(100) == good
    # The request lost on the way, or corrupted: no execution.
    faults.drop_request(command=0x30)
    port.write(STATUS)
    assert port.read(100) == b""
    faults.corrupt_request(command=0x30)
    port.write(STATUS)
    assert _answer_code(port.read(100)) == AnswerCode.UNKNOWN_COMMAND
    # A hardware failure code, repeated by ENQ.
    faults.force_answer(AnswerCode.FN_FAILURE, command=0x30)
    port.write(STATUS)
    failed = port.read(100)
    assert _answer_code(failed) == AnswerCode.FN_FAILURE
    port.write(ENQ)
    assert port.read(100) == failed
    assert not faults.pending()


def test_faults_aim_at_one_command_and_skip() -> None:
    drive, _, _ = make_drive()
    faults = FaultPlan().drop_answer(command=0x31, skip=1)
    port, _ = inproc_pair(drive, faults=faults)
    port.write(STATUS)
    assert port.read(100)  # 30h is not aimed at
    port.write(build_frame(0x31))
    assert port.read(100)  # the first 31h is skipped
    port.write(build_frame(0x31))
    assert port.read(100) == b""
    assert faults.fired == [(faults.fired[0][0], 0x31)]


def test_a_register_with_enq_retries_survives_random_noise() -> None:
    drive, kkt, _ = make_drive()
    noise = Noise(drop_answer=0.2, corrupt_answer=0.2, garbage_before=0.2, split_answer=0.3)
    faults = FaultPlan(seed=7).set_noise(noise)
    port, _ = inproc_pair(drive, faults=faults)

    def command(code: int, data: bytes = b"") -> bytes:
        port.write(build_frame(code, data))
        for _ in range(20):
            raw = b""
            while chunk := port.read(100):
                raw += chunk
            start = raw.find(b"\x04")  # noise never holds 04h
            if start >= 0:
                try:
                    return parse_frame(raw[start:]).data
                except FrameFormatError:
                    pass
            port.write(ENQ)  # lost or damaged: ask for the answer again (§1.1)
        raise AssertionError("no answer after 20 tries")

    for _ in range(30):
        assert len(command(0x30)) == 30
    assert len(faults.fired) > 10
    assert kkt.ok(0x30)["phase"] == 1


def test_pty_link_with_pyserial() -> None:
    clock = SystemClock()
    drive = DriveModel(FAST, clock=clock)
    with serve_pty(drive) as server, serial.Serial(server.path, 115200, timeout=2) as link:
        link.write(STATUS)
        answer = link.read(36)
        assert _answer_code(answer) == 0
        link.write(ENQ)
        assert link.read(36) == answer


def test_pty_with_wire_time_on_a_scaled_sim_clock() -> None:
    clock = SimClock(real_sleep_scale=1.0)
    drive = DriveModel(FAST, clock=clock)
    server = serve_pty(drive, timing=LinkTiming.real())
    with server, serial.Serial(server.path, 115200, timeout=2) as link:
        started = time.monotonic()
        link.write(STATUS)
        answer = link.read(36)
        elapsed = time.monotonic() - started
    assert _answer_code(answer) == 0
    assert 0.010 < elapsed < 1.5  # the 10 ms processing time, really waited
    assert clock.monotonic() >= 0.010


def test_tcp_link_with_pyserial_url() -> None:
    drive = DriveModel(FAST, clock=SystemClock())
    with serve_tcp(drive) as server:
        assert server.port > 0 and server.url == f"socket://127.0.0.1:{server.port}"
        with serial.serial_for_url(server.url, timeout=2) as link:
            link.write(STATUS)
            assert _answer_code(link.read(36)) == 0
        # A second register can connect after the first left.
        with serial.serial_for_url(server.url, timeout=2) as link:
            link.write(build_frame(0x31))
            assert parse_frame(link.read(22)).data == FAST.fn_number.encode()


def test_power_cut_on_a_served_link() -> None:
    drive = DriveModel(FAST, clock=SystemClock())
    faults = FaultPlan().power_cut(after_bytes=3)
    server = serve_tcp(drive, faults=faults)
    with server, serial.serial_for_url(server.url, timeout=0.3) as link:
        link.write(STATUS)
        assert link.read(36) == b""
        assert not drive.powered
        server.endpoint.power_on()
        link.timeout = 2
        link.write(STATUS)
        assert _answer_code(link.read(36)) == 0


def test_sans_io_feed_and_power() -> None:
    drive, _, _ = make_drive()
    out = drive.feed(b"\x00" + STATUS + ENQ + STATUS[:2])
    assert len(out) == 72 and out[:36] == out[36:]
    assert drive.feed(STATUS[2:]) == out[:36]  # the rest of a split frame
    drive.power_off()
    assert drive.feed(STATUS) == b""
    with pytest.raises(PoweredOffError):
        drive.execute(0x30, b"")
    drive.power_on()
    assert drive.execute(0x30, b"")[0] == 0
