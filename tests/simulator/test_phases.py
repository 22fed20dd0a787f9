"""Life phases and which commands each allows (reference §1.5 table 6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from protocol.fn.codes import AnswerCode, Phase
from tests.simulator.kkt import FAST, RNM, Kkt, make_drive

OK = AnswerCode.OK
STATE = AnswerCode.WRONG_STATE
NO_DATA = AnswerCode.NO_DATA
UNKNOWN = AnswerCode.UNKNOWN_COMMAND


def _drive_in(phase: Phase, **config: Any) -> Kkt:
    cfg = dataclasses.replace(FAST, **config)
    if phase is Phase.SETUP:
        cfg = dataclasses.replace(cfg, initial_phase=Phase.SETUP)
    _, kkt, _ = make_drive(cfg)
    if phase in (Phase.FISCAL, Phase.POST_FISCAL, Phase.ARCHIVE):
        kkt.register()
    if phase in (Phase.POST_FISCAL, Phase.ARCHIVE):
        kkt.ok(0x04)
        kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)
    if phase is Phase.ARCHIVE:
        kkt.deliver_all()
    assert kkt.ok(0x30)["phase"] == phase
    return kkt


PHASES = [Phase.SETUP, Phase.READY, Phase.FISCAL, Phase.POST_FISCAL, Phase.ARCHIVE]

# command -> (request, expected answer code per phase in PHASES order)
Request = Callable[[Kkt], int]
MATRIX: dict[str, tuple[Request, tuple[int, ...]]] = {
    "30h status": (lambda k: k.code(0x30), (OK, OK, OK, OK, OK)),
    "31h number": (lambda k: k.code(0x31), (OK, OK, OK, OK, OK)),
    "32h validity": (lambda k: k.code(0x32), (OK, OK, OK, OK, OK)),
    "33h version": (lambda k: k.code(0x33), (OK, OK, OK, OK, OK)),
    "35h errors": (lambda k: k.code(0x35), (OK, OK, OK, OK, OK)),
    "3Ah ffd": (lambda k: k.code(0x3A), (OK, OK, OK, OK, OK)),
    "3Bh days": (lambda k: k.code(0x3B, date_time=k.now()), (OK, OK, OK, OK, OK)),
    "3Dh resource": (lambda k: k.code(0x3D), (OK, OK, OK, OK, OK)),
    "10h shift": (lambda k: k.code(0x10), (OK, OK, OK, OK, OK)),
    "20h exchange": (lambda k: k.code(0x20), (OK, OK, OK, OK, OK)),
    "42h unconfirmed": (lambda k: k.code(0x42), (OK, OK, OK, OK, OK)),
    "02h registration": (
        lambda k: k.code(0x02, registration_type=None),
        (OK, OK, STATE, STATE, STATE),
    ),
    "02h re-registration": (
        lambda k: k.code(0x02, registration_type=2),
        (STATE, STATE, OK, STATE, STATE),
    ),
    "A2h registration 1.2": (
        lambda k: k.code(0xA2, registration_type=0, ffd_version=4),
        (OK, OK, STATE, STATE, STATE),
    ),
    "04h close FN": (lambda k: k.code(0x04), (STATE, STATE, OK, STATE, STATE)),
    "11h open shift": (
        lambda k: k.code(0x11, date_time=k.now()),
        (STATE, STATE, OK, STATE, STATE),
    ),
    "15h receipt": (lambda k: k.code(0x15, date_time=k.now()), (STATE,) * 5),
    "13h close shift": (lambda k: k.code(0x13, date_time=k.now()), (STATE,) * 5),
    "18h settlement": (
        lambda k: k.code(0x18, date_time=k.now()),
        (STATE, STATE, OK, STATE, STATE),
    ),
    "07h data": (lambda k: k.code(0x07, tlv=b""), (STATE,) * 5),
    "16h make": (
        lambda k: k.code(0x16, date_time=k.now(), operation=1, total_kop=1),
        (STATE,) * 5,
    ),
    "21h transport": (lambda k: k.code(0x21, connected=1), (STATE, OK, OK, OK, STATE)),
    "22h read": (
        lambda k: (k.code(0x21, connected=1), k.code(0x22))[1],
        (STATE, NO_DATA, OK, OK, STATE),
    ),
    "26h receipt": (lambda k: k.code(0x26, message=b"x"), (STATE, STATE, STATE, STATE, STATE)),
    "40h find": (lambda k: k.code(0x40, fd=1), (NO_DATA, NO_DATA, OK, OK, OK)),
    "43h totals": (lambda k: k.code(0x43, report_index=None), (NO_DATA, NO_DATA, OK, OK, OK)),
    "45h document": (lambda k: k.code(0x45, fd=1), (NO_DATA, NO_DATA, OK, OK, OK)),
    "46h without 45h": (lambda k: k.code(0x46), (STATE,) * 5),
    "60h reset (serial)": (lambda k: k.code(0x60, magic=0x16), (UNKNOWN,) * 5),
    "99h unknown": (lambda k: k.raw(0x99).code, (UNKNOWN,) * 5),
}


@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p.name)
def test_command_availability(phase: Phase) -> None:
    failures = []
    for name, (request, expected) in MATRIX.items():
        kkt = _drive_in(phase)
        got = request(kkt)
        want = expected[PHASES.index(phase)]
        if got != want:
            failures.append(f"{name}: {got:02X}h, expected {want:02X}h")
    assert not failures, failures


def test_setup_phase_is_completed_by_the_first_registration_begin() -> None:
    kkt = _drive_in(Phase.SETUP)
    assert kkt.ok(0x30)["phase"] == Phase.SETUP
    kkt.ok(0x02, registration_type=None)
    assert kkt.ok(0x30)["phase"] == Phase.READY
    assert kkt.ok(0x30)["current_document"] == 0x01


@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p.name)
def test_debug_drive_resets_to_ready(phase: Phase) -> None:
    kkt = _drive_in(phase, debug_build=True)
    assert kkt.ok(0x33)["software_type"] == 0
    kkt.ok(0x60, magic=0x16)
    status = kkt.ok(0x30)
    assert (status["phase"], status["last_fd"], status["shift_open"]) == (Phase.READY, 0, 0)
    assert kkt.raw(0x60, b"\x15").code == UNKNOWN  # the magic byte must be 16h
    assert kkt.code(0x40, fd=1) == NO_DATA
    kkt.register()
    assert kkt.ok(0x30)["last_fd"] == 1


def test_phases_only_move_forward() -> None:
    kkt = _drive_in(Phase.FISCAL)
    # A second registration is refused; re-registration keeps the fiscal mode.
    assert kkt.code(0x02, registration_type=0) == STATE
    assert kkt.code(0x02, registration_type=1) == STATE
    kkt.ok(0x02, registration_type=2)
    kkt.ok(0x03, date_time=kkt.now(), inn="7702203276", rnm=RNM, tax_systems=2,
           work_mode=0, reason=3)  # fmt: skip
    assert kkt.ok(0x30)["phase"] == Phase.FISCAL
    assert kkt.ok(0x32)["reregistrations_done"] == 1
    kkt.ok(0x04)
    kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)
    assert kkt.ok(0x30)["phase"] == Phase.POST_FISCAL
    kkt.deliver_all()
    assert kkt.ok(0x30)["phase"] == Phase.ARCHIVE
    # The archive stays readable.
    assert kkt.ok(0x40, fd=3)["document_type"] == 6
