"""OFD exchange 20h–26h (reference §1.6, §4.3) and the receipt check design."""

from __future__ import annotations

import datetime as dt
import struct

from protocol import fiscalsign
from protocol.fn.codes import AnswerCode, OfdExchangeStatus, OfdRejectReason
from protocol.ofd import container_crc, parse_container
from protocol.tlv import decode
from simulator.fn import DEV_FP_SECRET, DriveConfig, build_receipt
from simulator.fn.core import Keys
from simulator.fn.documents import CONTAINER_TRAILER_SIZE
from tests.simulator.kkt import Kkt, make_drive

REJECTED = AnswerCode.OFD_MESSAGE_REJECTED


def _setup() -> Kkt:
    _, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    kkt.receipt()
    return kkt


def _receipt(kkt: Kkt, fd: int, **kwargs: object) -> bytes:
    config = kkt.drive.config
    args: dict[str, object] = {
        "ofd_secret": config.ofd_secret,
        "algorithm": config.sign_algorithm,
        **kwargs,
    }
    return build_receipt(config.fn_number, fd, kkt.now(), **args)  # type: ignore[arg-type]


def test_status_and_transport() -> None:
    kkt = _setup()
    status = kkt.ok(0x20)
    assert status == {
        "status": OfdExchangeStatus.MESSAGE_PENDING,
        "read_started": 0,
        "message_count": 3,
        "first_fd": 1,
        "first_date_time": dt.datetime(2024, 1, 15, 10, 30),
    }
    assert kkt.code(0x22) == AnswerCode.NO_TRANSPORT
    kkt.ok(0x21, connected=1)
    assert kkt.ok(0x20)["status"] == OfdExchangeStatus.MESSAGE_PENDING | 1
    kkt.ok(0x22)
    assert kkt.ok(0x20)["read_started"] == 1
    kkt.ok(0x24)
    assert kkt.ok(0x20)["read_started"] == 0
    assert kkt.code(0x23, offset=0, length=10) == AnswerCode.WRONG_STATE
    assert kkt.code(0x25) == AnswerCode.WRONG_STATE
    kkt.ok(0x21, connected=0)
    assert kkt.code(0x22) == AnswerCode.NO_TRANSPORT
    assert kkt.ok(0x42)["count"] == 3


def test_message_is_the_signed_container_of_the_oldest_document() -> None:
    kkt = _setup()
    kkt.ok(0x21, connected=1)
    message = kkt.read_message(block=37)
    container = parse_container(message)
    doc = kkt.drive.document(1)
    assert doc is not None
    assert (container.doc_type, container.fn_number, container.fd_number) == (
        1,
        kkt.drive.config.fn_number,
        1,
    )
    assert message[32 : 32 + len(doc.stlv)] == doc.stlv
    assert container.document == tuple(decode(doc.stlv))
    # Trailer: 81 06 + message sign + 00 00 (layout of vector V1) over the container.
    trailer = container.trailer
    assert len(trailer) == CONTAINER_TRAILER_SIZE and trailer[:2] == b"\x81\x06"
    keys = Keys.derive(kkt.drive.config)
    algo = kkt.drive.config.sign_algorithm
    assert fiscalsign.verify_message_sign(keys.msg, message[:-10], trailer[2:8], algo)
    assert kkt.ok(0x20)["status"] & OfdExchangeStatus.AWAITING_RECEIPT
    # Reading past the end: a short block, then nothing; past the length: 09h.
    kkt.ok(0x22)
    assert len(kkt.ok(0x23, offset=len(message) - 3, length=512)["data"]) == 3
    assert kkt.ok(0x23, offset=len(message), length=512)["data"] == b""
    assert kkt.code(0x23, offset=len(message) + 1, length=1) == AnswerCode.BAD_PARAMETER
    assert kkt.drive.ofd_message(1) == message


def test_receipt_confirms_in_order_and_41h_reports_it() -> None:
    kkt = _setup()
    delivered = kkt.deliver_all()
    assert delivered == [1, 2, 3]
    assert kkt.ok(0x20)["status"] == OfdExchangeStatus.TRANSPORT_UP
    assert kkt.ok(0x42)["count"] == 0
    assert kkt.ok(0x40, fd=3)["ofd_receipt"] == 1
    ack = kkt.ok(0x41, fd=3)
    assert ack["fd"] == 3 and len(ack["ofd_fp"]) == 18
    assert ack["date_time"] == kkt.now()
    assert kkt.code(0x22) == AnswerCode.NO_DATA
    kkt.receipt()
    assert kkt.code(0x41, fd=4) == AnswerCode.NO_DATA


def test_receipt_checks() -> None:
    kkt = _setup()
    kkt.ok(0x21, connected=1)
    assert kkt.code(0x26, message=_receipt(kkt, 1)) == AnswerCode.WRONG_STATE  # nothing read
    kkt.read_message()
    good = _receipt(kkt, 1)

    def reason(message: bytes) -> int:
        answer = kkt.call(0x26, message=message)
        assert answer.code == REJECTED
        return answer.data[0]

    bad_crc = bytearray(good)
    bad_crc[2] ^= 1
    assert reason(bytes(bad_crc)) == OfdRejectReason.BAD_CRC
    assert reason(_receipt(kkt, 2)) == OfdRejectReason.BAD_FD_NUMBER
    assert reason(_receipt(kkt, 1, ofd_secret=b"another OFD")) == OfdRejectReason.BAD_FP
    other_fn = build_receipt("9999078900000002", 1, kkt.now(), algorithm="sha256")
    assert reason(other_fn) == OfdRejectReason.BAD_FN_NUMBER
    wrong_type = bytearray(good)
    wrong_type[5] = 3
    struct.pack_into("<H", wrong_type, 2, container_crc(wrong_type))
    assert reason(bytes(wrong_type)) == OfdRejectReason.BAD_FORMAT
    assert reason(b"\x00" * 10) == OfdRejectReason.BAD_FORMAT
    # A tampered body with a recomputed CRC fails on the ФПО.
    tampered = bytearray(good)
    tampered[tampered.index(b"\xf4\x03\x04\x00") + 4] ^= 1  # 1012 time
    struct.pack_into("<H", tampered, 2, container_crc(tampered))
    assert reason(bytes(tampered)) == OfdRejectReason.BAD_FP
    assert kkt.ok(0x42)["count"] == 3
    assert kkt.ok(0x26, message=good) == {"ofd_answer_code": 0, "operator_message": b""}
    assert kkt.ok(0x42)["count"] == 2


def test_rejected_document_code_is_passed_on_and_counts_as_delivered() -> None:
    kkt = _setup()
    kkt.ok(0x21, connected=1)
    kkt.read_message()
    answer = kkt.ok(0x26, message=_receipt(kkt, 1, answer_code=14))
    assert answer["ofd_answer_code"] == 14
    assert kkt.ok(0x42)["count"] == 2


def test_receipt_wait_ends_after_300_seconds() -> None:
    kkt = _setup()
    kkt.ok(0x21, connected=1)
    kkt.read_message()
    good = _receipt(kkt, 1)
    kkt.clock.advance(301)
    assert kkt.ok(0x20)["status"] & OfdExchangeStatus.MESSAGE_PENDING
    assert kkt.code(0x26, message=good) == AnswerCode.WRONG_STATE
    kkt.read_message()
    kkt.ok(0x26, message=good)


def test_receipt_state_is_lost_on_power_cut() -> None:
    kkt = _setup()
    kkt.ok(0x21, connected=1)
    kkt.read_message()
    kkt.drive.power_off()
    kkt.drive.power_on()
    assert kkt.code(0x22) == AnswerCode.NO_TRANSPORT  # transport state is volatile too
    kkt.ok(0x21, connected=1)
    assert kkt.code(0x26, message=_receipt(kkt, 1)) == AnswerCode.WRONG_STATE
    assert kkt.deliver_all() == [1, 2, 3]


def test_default_gost_drive_end_to_end() -> None:
    """The default drive signs with HMAC-Streebog-256; an OFD with the secret verifies."""
    drive, kkt, _ = make_drive(DriveConfig())
    kkt.register()
    kkt.open_shift()
    kkt.receipt()
    assert kkt.deliver_all() == [1, 2, 3]
    for fd in (1, 2, 3):
        doc = drive.document(fd)
        assert doc is not None and doc.ack is not None
        assert fiscalsign.verify_document(DEV_FP_SECRET, drive.config.fn_number, doc.stlv)
        assert not fiscalsign.verify_document(
            DEV_FP_SECRET, drive.config.fn_number, doc.stlv, algorithm="sha256"
        )
