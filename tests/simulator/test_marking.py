"""FN-1.2 marking commands B0h–B7h, BAh–BFh (provisional layouts, reference §1.7 [2nd])."""

from __future__ import annotations

import dataclasses

from protocol.fn.codes import AnswerCode
from protocol.ofd import parse_container
from protocol.tlv import decode
from simulator.fn import build_notification_receipt
from tests.simulator.kkt import FAST, Kkt, make_drive, text

KM = b"0104600439931256215!bMq:\x1d91EE06\x1d92" + b"x" * 44
SEQUENCE = AnswerCode.MARKING_SEQUENCE


def _marking_drive(**config: object) -> Kkt:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, **config))  # type: ignore[arg-type]
    kkt.register_12(extended_mode=0x10)
    kkt.open_shift()
    return kkt


def _check(kkt: Kkt, code_type: int = 2, code: bytes = KM) -> dict[str, int]:
    return kkt.ok(0xB1, code_type=code_type, code_length=len(code), marking_code=code)


def test_marking_needs_an_ffd_1_2_marking_registration() -> None:
    _, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    assert kkt.code(0xB0) == AnswerCode.MARKING_FORBIDDEN
    _, kkt12, _ = make_drive()
    kkt12.register_12(extended_mode=0)
    assert kkt12.code(0xB0) == AnswerCode.MARKING_FORBIDDEN


def test_check_cycle() -> None:
    kkt = _marking_drive()
    status = kkt.ok(0xB0)
    assert (status["check_state"], status["saved_results"]) == (1, 0)
    assert kkt.code(0xB2, save=1) == SEQUENCE  # nothing checked
    assert kkt.code(0xB5, date_time=kkt.now(), tlv=b"") == SEQUENCE
    assert _check(kkt) == {"result": 3, "reason": 0}  # checked in the drive, positive
    assert kkt.code(0xB1, code_type=2, code_length=1, marking_code=b"x") == SEQUENCE
    assert kkt.code(0xB6, answer=b"") == SEQUENCE  # no request formed
    request = kkt.ok(0xB5, date_time=kkt.now(), tlv=b"")["request"]
    (doc,) = decode(request)
    assert doc.tag == 81 and doc.find(2001) is not None
    assert kkt.ok(0xB6, answer=b"")["result"] == 0
    assert kkt.ok(0xB2, save=1) == {"check_result": 3}
    assert kkt.ok(0xB0)["saved_results"] == 1
    # A type the drive cannot check, then discarded.
    assert _check(kkt, code_type=5, code=b"ABCD") == {"result": 0, "reason": 1}
    assert kkt.ok(0xB2, save=0) == {"check_result": None}
    kkt.ok(0xB3)
    assert kkt.ok(0xB0)["saved_results"] == 0
    assert kkt.code(0xB1, code_type=9, code_length=1, marking_code=b"x") == 9
    assert kkt.code(0xB1, code_type=2, code_length=9, marking_code=b"x") == 1


def test_checked_table_overflows_35h() -> None:
    kkt = _marking_drive(marking_table_size=2)
    for _ in range(2):
        _check(kkt)
        kkt.ok(0xB2, save=1)
    _check(kkt)
    assert kkt.code(0xB2, save=1) == AnswerCode.MARKING_TABLE_FULL


def test_receipt_with_marked_goods_queues_a_notification() -> None:
    kkt = _marking_drive()
    assert kkt.ok(0xBA)["queue_count"] == 0
    assert kkt.code(0xBB) == AnswerCode.NO_DATA
    assert kkt.code(0xB7, extra_code=1, tlv=text(2000, "x")) == AnswerCode.WRONG_STATE
    kkt.ok(0x15, date_time=kkt.now())
    assert kkt.code(0xB7, extra_code=4, tlv=b"") == 9
    kkt.ok(0xB7, extra_code=1, tlv=text(1030, "Туфли") + text(2000, KM.decode()))
    fd = kkt.ok(0x16, date_time=kkt.now(), operation=1, total_kop=500000)["fd"]
    status = kkt.ok(0xBA)
    assert (status["state"], status["queue_count"], status["first_number"]) == (0, 1, 1)
    length = kkt.ok(0xBB)["notification_length"]
    assert kkt.ok(0xBA)["state"] == 1
    message = b""
    while len(message) < length:
        message += kkt.ok(0xBC, offset=len(message), length=100)["data"]
    container = parse_container(message)
    assert container.doc_type == 82 and container.fd_number == 1
    (doc,) = container.document
    assert doc.find(1040).value == fd  # type: ignore[union-attr]
    kkt.ok(0xBE)
    assert kkt.ok(0xBA)["state"] == 2
    config = kkt.drive.config
    wrong = build_notification_receipt(
        config.fn_number, 2, ofd_secret=config.ofd_secret, algorithm="sha256"
    )
    answer = kkt.call(0xBF, receipt=wrong)
    assert (answer.code, answer.data) == (AnswerCode.OFD_MESSAGE_REJECTED, b"\x03")
    good = build_notification_receipt(
        config.fn_number, 1, ofd_secret=config.ofd_secret, algorithm="sha256"
    )
    kkt.ok(0xBF, receipt=good)
    assert kkt.ok(0xBA)["queue_count"] == 0
    # The receipt itself carries the marked TLVs like any 07h data.
    doc_tags = [f.tag for f in decode(kkt.drive.document(fd).stlv)[0].children]  # type: ignore[union-attr]
    assert doc_tags[-2:] == [1030, 2000]
