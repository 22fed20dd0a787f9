"""The state file: atomic saves, reloads, and power cuts at any byte (reference §1.8)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.fn.commands import build_request
from protocol.fn.frame import build_frame
from simulator.clock import SimClock
from simulator.fn import (
    DriveConfig,
    DriveModel,
    FaultPlan,
    StateFileError,
    StateStore,
    inproc_pair,
)
from simulator.fn.state import DriveState, encode_state
from tests.simulator.kkt import FAST, INN, RNM, SERIAL, make_drive, text, tlv

NOW = dt.datetime(2024, 1, 15, 10, 30)


def _frame(code: int, **values: object) -> bytes:
    return build_frame(code, build_request(code, **values))


# A whole working day as the register would send it: registration, shift, receipts
# (one with several 07h), a cancelled receipt, a settlement report, closing the shift.
SCRIPT: list[bytes] = [
    _frame(0x02, registration_type=None),
    _frame(0x07, tlv=text(1013, SERIAL) + text(1048, "ООО Облако")),
    _frame(0x03, date_time=NOW, inn=INN, rnm=RNM, tax_systems=1, work_mode=0, reason=None),
    _frame(0x11, date_time=NOW),
    _frame(0x07, tlv=text(1021, "Кассир")),
    _frame(0x12),
    _frame(0x15, date_time=NOW),
    _frame(0x07, tlv=text(1030, "Хлеб") + tlv(1079, b"\x39\x30")),
    _frame(0x07, tlv=text(1030, "Молоко") * 3),
    _frame(0x16, date_time=NOW, operation=1, total_kop=12345),
    _frame(0x15, date_time=NOW),
    _frame(0x07, tlv=text(1030, "Отмена")),
    _frame(0x06),
    _frame(0x17, date_time=NOW),
    _frame(0x16, date_time=NOW, operation=2, total_kop=100),
    _frame(0x18, date_time=NOW),
    _frame(0x19),
    _frame(0x13, date_time=NOW),
    _frame(0x14),
]
STREAM = b"".join(SCRIPT)
ENDS = [sum(len(f) for f in SCRIPT[: i + 1]) for i in range(len(SCRIPT))]


def _snapshots(tmp: Path) -> list[bytes]:
    """State-file contents after each frame of SCRIPT (index 0: before any)."""
    path = tmp / "reference.json"
    drive = DriveModel(FAST, clock=SimClock(), state_file=StateStore(path, durable=False))
    snaps = [encode_state(drive.state)]
    for frame in SCRIPT:
        answer = drive.handle(frame)
        assert answer is not None and answer[3] & 0x7F == 0, frame.hex()
        saved = StateStore(path).load()
        snaps.append(encode_state(saved) if saved is not None else snaps[0])
    return snaps


@pytest.fixture(scope="module", name="snapshots")
def _snapshots_fixture(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return _snapshots(tmp_path_factory.mktemp("reference"))


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fn.json"
    drive, kkt, clock = make_drive(state_file=path)
    kkt.register()
    kkt.open_shift()
    kkt.receipt()
    saved = StateStore(path).load()
    again = DriveModel(FAST, clock=clock, state_file=path)
    assert encode_state(again.state) == encode_state(drive.state)
    assert saved is not None and saved.last_fd == 3
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed


def test_bad_state_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "fn.json"
    path.write_text("{not json")
    with pytest.raises(StateFileError):
        DriveModel(FAST, state_file=path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(StateFileError):
        DriveModel(FAST, state_file=path)
    path.unlink()
    drive, kkt, _ = make_drive(state_file=path)
    kkt.register()
    with pytest.raises(StateFileError):  # another drive's file
        DriveModel(DriveConfig(fn_number="9999078900000002"), state_file=path)
    data = json.loads(encode_state(_load(path)))  # the format before the journal still loads
    data["archive"][0]["fd"] = 5
    path.write_text(json.dumps(data))
    with pytest.raises(StateFileError):
        DriveModel(FAST, state_file=path)
    del drive


def test_a_crash_while_saving_leaves_the_old_state(tmp_path: Path) -> None:
    path = tmp_path / "fn.json"
    _, kkt, _ = make_drive(state_file=path)
    kkt.register()
    before = path.read_bytes()
    # A crash after writing part of the temporary file of a compaction: no rename happened.
    (tmp_path / "fn.json.tmp").write_bytes(before[: len(before) // 2])
    reloaded = DriveModel(FAST, state_file=path)
    assert encode_state(reloaded.state) == encode_state(_load(path))
    assert path.read_bytes() == before


def _load(path: Path) -> DriveState:
    state = StateStore(path).load()
    assert state is not None
    return state


def _cut_and_check(cut: int, chunk: int, path: Path, snapshots: list[bytes]) -> None:
    drive = DriveModel(FAST, clock=SimClock(), state_file=StateStore(path, durable=False))
    port, endpoint = inproc_pair(drive, faults=FaultPlan().power_cut(after_bytes=cut))
    for pos in range(0, len(STREAM), chunk):
        port.write(STREAM[pos : pos + chunk])
        port.read(4096)
    assert not drive.powered
    completed = sum(1 for end in ENDS if end <= cut)
    # Power returns: the drive knows exactly the work completed before the cut.
    endpoint.power_on()
    assert encode_state(drive.state) == snapshots[completed]
    assert drive.open_document is None
    fresh = DriveModel(FAST, clock=SimClock(), state_file=path)
    assert encode_state(fresh.state) == snapshots[completed]
    path.unlink(missing_ok=True)


def test_power_cut_at_every_frame_boundary(tmp_path: Path, snapshots: list[bytes]) -> None:
    for end in ENDS:
        for cut in (end - 1, end, end + 1):
            _cut_and_check(min(cut, len(STREAM)), 7, tmp_path / f"fn-{cut}.json", snapshots)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut=st.integers(0, len(STREAM)), chunk=st.integers(1, 64))
def test_power_cut_at_any_byte(
    cut: int, chunk: int, tmp_path: Path, snapshots: list[bytes]
) -> None:
    _cut_and_check(cut, chunk, tmp_path / f"fn-{cut}-{chunk}.json", snapshots)


def test_power_cut_while_answering_keeps_the_document(tmp_path: Path) -> None:
    path = tmp_path / "fn.json"
    drive, kkt, _ = make_drive(state_file=path)
    kkt.register()
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    port, endpoint = inproc_pair(drive, faults=FaultPlan().power_cut(command=0x16, after_bytes=3))
    port.write(_frame(0x16, date_time=kkt.now(), operation=1, total_kop=5))
    assert port.read(100) == b"\x04\x0b\x00"  # three bytes, then silence
    assert not drive.powered
    port.write(b"\x05")  # ENQ into a dead drive
    assert port.read(100) == b""
    endpoint.power_on()
    port.write(b"\x05")  # the last answer died with the power
    assert port.read(100) == b""
    assert kkt.ok(0x30)["last_fd"] == 3  # the receipt was made: reconcile, never resend
    assert kkt.ok(0x40, fd=3)["document_type"] == 3


def test_power_cut_loses_the_open_document_only(tmp_path: Path) -> None:
    path = tmp_path / "fn.json"
    drive, kkt, _ = make_drive(state_file=path)
    kkt.register()
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    kkt.ok(0x07, tlv=text(1030, "Хлеб"))
    before = path.read_bytes()
    drive.power_off()
    assert drive.handle(_frame(0x30)) is None
    drive.power_on()
    status = kkt.ok(0x30)
    assert (status["current_document"], status["shift_open"], status["last_fd"]) == (0, 1, 2)
    assert path.read_bytes() == before
    kkt.receipt()
