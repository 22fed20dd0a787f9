"""Document formation: begin → 07h → make; drive tags, numbering, archive (reference §1.6–1.8)."""

from __future__ import annotations

import dataclasses

import pytest

from protocol import fiscalsign
from protocol.fn.codes import AnswerCode, DocumentType
from protocol.fn.commands import build_request, parse_archive
from protocol.tlv import decode
from simulator.fn import DriveModel
from tests.simulator.kkt import FAST, INN, RNM, SERIAL, make_drive, text, tlv


def _tags(drive: DriveModel, fd: int) -> list[int]:
    doc = drive.document(fd)
    assert doc is not None
    (top,) = decode(doc.stlv)
    return [f.tag for f in top.children]


def _field(drive: DriveModel, fd: int, tag: int) -> object:
    doc = drive.document(fd)
    assert doc is not None
    (top,) = decode(doc.stlv)
    found = top.find(tag)
    return None if found is None else found.value


def _verify(drive: DriveModel, fd: int) -> bool:
    doc = drive.document(fd)
    assert doc is not None
    config = drive.config
    return fiscalsign.verify_document(
        config.fp_secret, config.fn_number, doc.stlv, algorithm=config.sign_algorithm
    )


def test_registration_report() -> None:
    drive, kkt, _ = make_drive()
    now = kkt.now()
    made = kkt.register()
    assert made["fd"] == 1
    tags = _tags(drive, 1)
    # Drive identity and numbers first, 1077 after 1012 (vector V1 layout), register last.
    assert tags[:6] == [1041, 1037, 1018, 1040, 1012, 1077]
    assert tags[-2:] == [1013, 1048]
    assert {1062, 1056, 1002, 1001, 1109, 1110, 1108, 1190} <= set(tags)
    assert _field(drive, 1, 1018) == INN + "  "
    assert _field(drive, 1, 1037) == RNM + " " * 4
    assert _field(drive, 1, 1190) == 2
    doc = drive.document(1)
    assert doc is not None and doc.doc_type == DocumentType.REGISTRATION
    assert doc.stlv[doc.stlv.index(b"\x35\x04\x06\x00") + 4 :][:6] == fiscalsign.fp_tag_value(
        made["fp"]
    )
    assert _verify(drive, 1)
    totals = kkt.ok(0x43, report_index=None)
    assert (totals["inn"].strip(), totals["rnm"].strip(), totals["fd"], totals["fp"]) == (
        INN,
        RNM,
        1,
        made["fp"],
    )
    assert totals["date_time"] == now and totals["reason"] is None
    assert kkt.ok(0x43, report_index=1) == totals
    assert kkt.code(0x43, report_index=2) == AnswerCode.NO_DATA
    assert kkt.ok(0x3A) == {"ffd_current": 2, "ffd_max": 4}


def test_registration_parameters_44h_47h() -> None:
    _, kkt, _ = make_drive()
    kkt.register()
    assert kkt.ok(0x44, report_index=None, tag=1048)["tlv"] == text(1048, "ООО Облако")
    assert kkt.code(0x44, report_index=None, tag=1234) == AnswerCode.NO_DATA
    assert kkt.code(0x47) == AnswerCode.WRONG_STATE
    kkt.ok(0x44, report_index=1, tag=0xFFFF)
    read = []
    while (answer := kkt.call(0x47)).ok:
        assert answer.fields is not None
        read.append(answer.fields["tlv"])
    assert answer.code == AnswerCode.NO_DATA
    assert read[0][:2] == (1041).to_bytes(2, "little") and read[-1] == text(1048, "ООО Облако")


def test_registration_ffd_1_2() -> None:
    drive, kkt, _ = make_drive()
    kkt.register_12(extended_mode=0x10, work_mode=0x08)
    tags = _tags(drive, 1)
    assert {1290, 1017, 1190} <= set(tags) and 1109 not in tags
    assert _field(drive, 1, 1290) == (1 << 9) | (1 << 8)  # services, marking [2nd S4]
    assert _field(drive, 1, 1190) == 4
    assert kkt.ok(0x3A)["ffd_current"] == 4
    assert _verify(drive, 1)


def test_registration_values_are_checked() -> None:
    _, kkt, _ = make_drive()
    assert kkt.code(0x02, registration_type=3) == AnswerCode.BAD_PARAMETER
    assert kkt.code(0xA2, registration_type=0, ffd_version=2) == AnswerCode.BAD_PARAMETER
    kkt.ok(0x02, registration_type=None)
    kkt.ok(0x07, tlv=text(1013, SERIAL))
    base = {"date_time": kkt.now(), "inn": INN, "rnm": RNM, "tax_systems": 1, "work_mode": 0}
    bad: dict[str, dict[str, object]] = {
        "inn": {"inn": "77022032"},
        "rnm check digits": {"rnm": "0000000005008571"},
        "rnm letters": {"rnm": "00000000050085AB"},
        "tax systems": {"tax_systems": 0},
        "tax bits": {"tax_systems": 0x40},
    }
    for name, change in bad.items():
        answer = kkt.call(0x03, **{**base, **change, "reason": None})
        assert answer.code == AnswerCode.BAD_PARAMETER, name
    # A reason byte belongs to type 2 only (§1.6 03h): a format error.
    assert kkt.code(0x03, **base, reason=1) == AnswerCode.UNKNOWN_COMMAND
    # 03h after 02h, A3h only after A2h.
    assert kkt.raw(0xA3, bytes(56)).code in (AnswerCode.WRONG_STATE, AnswerCode.BAD_PARAMETER)
    # Nothing was made by the refusals.
    assert kkt.ok(0x30)["last_fd"] == 0
    assert kkt.ok(0x03, **base, reason=None)["fd"] == 1


def test_command_data_layout_errors() -> None:
    _, kkt, _ = make_drive()
    kkt.register()
    assert kkt.raw(0x11, b"\x18\x01\x0f\x0a").code == AnswerCode.UNKNOWN_COMMAND  # short
    assert kkt.raw(0x11, b"\x18\x01\x0f\x0a\x1e\x00").code == AnswerCode.UNKNOWN_COMMAND
    assert kkt.raw(0x11, b"\x18\x0d\x0f\x0a\x1e").code == AnswerCode.BAD_PARAMETER  # month 13
    assert kkt.raw(0x30, b"\x00").code == AnswerCode.UNKNOWN_COMMAND
    assert kkt.code(0x21, connected=2) == AnswerCode.BAD_PARAMETER
    assert kkt.raw(0x31, b"").ok


def test_fd_numbers_run_without_gaps() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    numbers = [1]
    numbers.append(kkt.open_shift()["fd"])
    for op in (1, 2, 3, 4):
        numbers.append(kkt.receipt(operation=op)["fd"])
        # Refused and cancelled documents take no number.
        assert kkt.code(0x16, date_time=kkt.now(), operation=1, total_kop=1) == 2
        kkt.ok(0x15, date_time=kkt.now())
        kkt.ok(0x06)
    kkt.ok(0x18, date_time=kkt.now())
    numbers.append(kkt.ok(0x19)["fd"])
    numbers.append(kkt.close_shift()["fd"])
    assert numbers == list(range(1, 9))
    assert [d.fd for d in drive.state.archive] == numbers
    assert kkt.ok(0x30)["last_fd"] == 8
    assert all(_verify(drive, fd) for fd in numbers)


def test_shift_and_receipt_numbers() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    assert kkt.ok(0x10) == {"shift_open": 0, "shift_number": 0, "receipt_number": 0}
    assert kkt.open_shift()["shift_number"] == 1
    assert [kkt.receipt()["receipt_number"] for _ in range(3)] == [1, 2, 3]
    kkt.ok(0x17, date_time=kkt.now())  # a correction receipt counts too
    made = kkt.ok(0x16, date_time=kkt.now(), operation=1, total_kop=100)
    assert made["receipt_number"] == 4
    assert drive.document(made["fd"]).doc_type == DocumentType.CORRECTION_RECEIPT  # type: ignore[union-attr]
    assert kkt.ok(0x10) == {"shift_open": 1, "shift_number": 1, "receipt_number": 4}
    closed = kkt.close_shift()
    assert closed["shift_number"] == 1
    fd = closed["fd"]
    assert _field(drive, fd, 1111) == 6  # the open report, 4 receipts and the close report
    assert _field(drive, fd, 1118) == 4
    assert _field(drive, fd, 1097) == fd - 1  # nothing delivered yet
    assert kkt.open_shift()["shift_number"] == 2
    assert kkt.receipt()["receipt_number"] == 1
    receipt_fd = drive.state.last_fd
    tags = _tags(drive, receipt_fd)
    assert tags[:4] == [1041, 1040, 1012, 1077]
    assert tags[4:8] == [1038, 1042, 1054, 1020]
    assert (_field(drive, receipt_fd, 1038), _field(drive, receipt_fd, 1020)) == (2, 12345)


def test_bso_mode_makes_bso_documents() -> None:
    drive, kkt, _ = make_drive()
    kkt.register(work_mode=0x10)
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    assert kkt.ok(0x30)["current_document"] == 0x11
    fd = kkt.ok(0x16, date_time=kkt.now(), operation=1, total_kop=5)["fd"]
    assert drive.document(fd).doc_type == DocumentType.BSO  # type: ignore[union-attr]
    kkt.ok(0x17, date_time=kkt.now())
    assert kkt.ok(0x30)["current_document"] == 0x15


def test_document_data_rules() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    assert kkt.code(0x07, tlv=text(1021, "x")) == AnswerCode.WRONG_STATE
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    status = kkt.ok(0x30)
    assert (status["current_document"], status["document_data"]) == (0x04, 0)
    # A TLV split across two 07h commands is refused (§1.8 "whole TLVs").
    whole = text(1030, "Молоко")
    assert kkt.code(0x07, tlv=whole[:5]) == AnswerCode.UNKNOWN_COMMAND
    assert kkt.code(0x07, tlv=whole[5:]) == AnswerCode.UNKNOWN_COMMAND
    # Tags the drive forms itself are refused [rec].
    assert kkt.code(0x07, tlv=tlv(1040, bytes(4))) == AnswerCode.FORBIDDEN_TAG
    assert kkt.code(0x07, tlv=tlv(1054, b"\x01")) == AnswerCode.FORBIDDEN_TAG
    kkt.ok(0x07, tlv=whole)
    assert kkt.ok(0x30)["document_data"] == 1
    fd = kkt.ok(0x16, date_time=kkt.now(), operation=1, total_kop=7)["fd"]
    assert _tags(drive, fd)[-1] == 1030  # the refused bytes never got in


@pytest.mark.parametrize(
    ("begin", "budget"),
    [("receipt", 30 * 1024), ("open_shift", 1024), ("settlement", 2048), ("registration", 2048)],
)
def test_tlv_budgets(begin: str, budget: int) -> None:
    _, kkt, _ = make_drive()
    if begin == "registration":
        kkt.ok(0x02, registration_type=None)
    else:
        kkt.register()
        if begin == "receipt":
            kkt.open_shift()
            kkt.ok(0x15, date_time=kkt.now())
        elif begin == "open_shift":
            kkt.ok(0x11, date_time=kkt.now())
        else:
            kkt.ok(0x18, date_time=kkt.now())
    chunk = tlv(1192, b"\x20" * 16)  # 20 bytes a TLV
    sent = 0
    while sent + len(chunk) <= budget:
        batch = chunk * min(50, (budget - sent) // len(chunk))
        kkt.ok(0x07, tlv=batch)
        sent += len(batch)
    rest = budget - sent
    if rest >= 4:
        kkt.ok(0x07, tlv=tlv(1192, b"\x20" * (rest - 4)))
        sent = budget
    assert kkt.code(0x07, tlv=tlv(1192, b"")) == AnswerCode.TLV_TOO_LARGE
    assert kkt.ok(0x30)["document_data"] == 1


def test_cancel_drops_only_the_open_document() -> None:
    _, kkt, _ = make_drive()
    kkt.register()
    kkt.ok(0x06)  # nothing open: still fine [rec]
    kkt.ok(0x11, date_time=kkt.now())
    kkt.ok(0x07, tlv=text(1021, "Кассир"))
    kkt.ok(0x06)
    status = kkt.ok(0x30)
    assert (status["current_document"], status["last_fd"], status["shift_open"]) == (0, 1, 0)
    assert kkt.code(0x12) == AnswerCode.WRONG_STATE


def test_settlement_report_and_close_fn() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    kkt.receipt()
    first = drive.document(1)
    assert first is not None
    kkt.ok(0x18, date_time=kkt.now())
    report = kkt.ok(0x19)
    assert report["unconfirmed_count"] == 3
    assert report["first_unconfirmed"] == first.date_time.date()
    fd = report["fd"]
    assert _field(drive, fd, 1116) == 1 and _field(drive, fd, 1097) == 3
    archive = parse_archive(21, kkt.ok(0x40, fd=fd)["data"])
    assert archive.unconfirmed_count == 3 and archive.first_unconfirmed == first.date_time
    assert kkt.code(0x04) == AnswerCode.WRONG_STATE  # the shift is open
    kkt.close_shift()
    kkt.ok(0x04)
    assert kkt.code(0x05, date_time=kkt.now(), rnm="0000000005008571") == 9
    made = kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)
    assert _tags(drive, made["fd"])[:3] == [1041, 1037, 1018]
    assert kkt.ok(0x30)["phase"] == 0x07


def test_archive_answers_return_every_document() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    kkt.receipt(operation=2, total=777)
    kkt.close_shift()
    expected = {1: DocumentType.REGISTRATION, 2: DocumentType.OPEN_SHIFT}
    expected |= {3: DocumentType.RECEIPT, 4: DocumentType.CLOSE_SHIFT}
    for fd, doc_type in expected.items():
        found = kkt.ok(0x40, fd=fd)
        assert (found["document_type"], found["ofd_receipt"]) == (doc_type, 0)
        record = parse_archive(doc_type, found["data"])
        doc = drive.document(fd)
        assert doc is not None
        assert (record.fd, record.fp, record.date_time) == (fd, doc.fp, doc.date_time)
        header = kkt.ok(0x45, fd=fd)
        assert (header["document_tag"], header["length"]) == (doc_type, len(doc.stlv) - 4)
        body = b""
        while (answer := kkt.call(0x46)).ok:
            assert answer.fields is not None
            body += answer.fields["tlv"]
        assert answer.code == AnswerCode.NO_DATA
        assert body == doc.stlv[4:]
    receipt = parse_archive(3, kkt.ok(0x40, fd=3)["data"])
    assert (receipt.operation, receipt.total_kop) == (2, 777)
    assert parse_archive(2, kkt.ok(0x40, fd=2)["data"]).shift_number == 1
    assert kkt.code(0x40, fd=0) == kkt.code(0x40, fd=5) == AnswerCode.NO_DATA


def test_receipt_values_are_checked() -> None:
    _, kkt, _ = make_drive()
    kkt.register()
    kkt.open_shift()
    kkt.ok(0x15, date_time=kkt.now())
    assert kkt.code(0x16, date_time=kkt.now(), operation=5, total_kop=1) == 9
    assert kkt.code(0x16, date_time=kkt.now(), operation=0, total_kop=1) == 9
    assert kkt.ok(0x16, date_time=kkt.now(), operation=4, total_kop=2**40 - 1)["receipt_number"]


def test_refusing_drive_tags_can_be_switched_off() -> None:
    drive, kkt, _ = make_drive(dataclasses.replace(FAST, refuse_drive_tags=False))
    kkt.register()
    kkt.open_shift()
    kkt.receipt(data=tlv(1054, b"\x01"))
    assert _tags(drive, 3).count(1054) == 2


def test_every_answer_is_a_well_formed_frame() -> None:
    drive, kkt, _ = make_drive()
    kkt.register()
    for code in range(256):
        answer = drive.handle(_frame(code, b""))
        assert answer is not None and answer[0] == 0x04
        drive.handle(_frame(0x06, b""))


def _frame(code: int, data: bytes) -> bytes:
    from protocol.fn.frame import build_frame

    return build_frame(code, data)


def test_build_request_for_every_declared_command_is_handled() -> None:
    _, kkt, _ = make_drive()
    assert kkt.raw(0x3B, build_request(0x3B, date_time=kkt.now())).ok


def test_reregistration_with_fn_replacement_on_a_new_drive() -> None:
    drive, kkt, _ = make_drive()
    kkt.ok(0x02, registration_type=1)
    assert kkt.ok(0x30)["current_document"] == 0x12
    kkt.ok(0x07, tlv=text(1013, SERIAL))
    base = {"date_time": kkt.now(), "inn": INN, "rnm": RNM, "tax_systems": 1, "work_mode": 0}
    kkt.ok(0x03, **base, reason=None)
    doc = drive.document(1)
    assert doc is not None and doc.doc_type == DocumentType.REGISTRATION_CHANGE
    assert _field(drive, 1, 1101) == 1  # «замена ФН» (§1.9)
    assert kkt.ok(0x32)["reregistrations_done"] == 1
    # A3h re-registration needs its reason codes (tag 1205).
    kkt.ok(0xA2, registration_type=2, ffd_version=3)
    ext = {**base, "extended_mode": 0, "ofd_inn": "7704358518"}
    assert kkt.code(0xA3, **ext, reason_codes=0) == AnswerCode.BAD_PARAMETER
    assert kkt.code(0x03, **base, reason=2) == AnswerCode.WRONG_STATE  # A2h pairs with A3h
    made = kkt.ok(0xA3, **ext, reason_codes=0b10)
    assert _field(drive, made["fd"], 1205) == 0b10
    assert _field(drive, made["fd"], 1017) == "7704358518  "
    assert kkt.ok(0x3A)["ffd_current"] == 3
