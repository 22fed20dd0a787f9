"""The construct frame (protocol.fn.frame) against the golden vectors (reference §1.2–1.3)."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.crc import crc16_ccitt_false
from protocol.errors import FrameFormatError, ProtocolError
from protocol.fn.frame import (
    ENQ,
    MAX_DATA,
    MSG_START,
    ParsedFrame,
    build_frame,
    parse_frame,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "fn_frames.json").read_text()
)
FRAMES: list[dict[str, str]] = VECTORS["frames"]
STATUS = bytes.fromhex("04010030ffcd")


def test_constants() -> None:
    assert (MSG_START, ENQ, MAX_DATA) == (0x04, 0x05, 1024)


def test_crc_check_value() -> None:
    check = VECTORS["crc16_ccitt_false_check"]
    assert crc16_ccitt_false(check["input_ascii"].encode()) == int(check["crc_hex"], 16) == 0x29B1


@pytest.mark.parametrize("vec", FRAMES, ids=[v["code"] + "-" + v["hex"][:16] for v in FRAMES])
def test_vector_parse_and_build(vec: dict[str, str]) -> None:
    raw = bytes.fromhex(vec["hex"])
    frame = parse_frame(raw)
    assert frame.code == int(vec["code"], 16)
    assert frame.data == raw[4:-2]
    assert frame.crc == int.from_bytes(raw[-2:], "little")
    assert frame.crc == crc16_ccitt_false(raw[1:-2])
    assert build_frame(frame.code, frame.data) == raw


@pytest.mark.parametrize(
    "vec", [v for v in FRAMES if v["dir"] == "answer"], ids=lambda v: v["code"]
)
def test_answer_vectors_warning_bit(vec: dict[str, str]) -> None:
    # §1.3: low 7 bits = answer code, bit 7 = warning; 0x80 is success with a warning.
    frame = parse_frame(bytes.fromhex(vec["hex"]))
    assert frame.answer_code == 0x00
    assert frame.warning is (frame.code == 0x80)


def test_answer_properties() -> None:
    frame = ParsedFrame(code=0x83, data=b"", crc=0)
    assert (frame.answer_code, frame.warning) == (0x03, True)
    frame = ParsedFrame(code=0x03, data=b"", crc=0)
    assert (frame.answer_code, frame.warning) == (0x03, False)


def test_parsed_frame_is_frozen() -> None:
    frame = parse_frame(STATUS)
    with pytest.raises(AttributeError):
        frame.code = 1  # type: ignore[misc]


def test_max_data_round_trip() -> None:
    data = bytes(range(256)) * 4
    raw = build_frame(0x23, data)
    assert len(raw) == 1030 and raw[1:3] == b"\x01\x04"
    assert parse_frame(raw).data == data


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "truncated"),
        (b"\x05" + STATUS[1:], "start"),
        (b"\x04\x00\x00\x30\xff\xcd", "length"),  # LEN = 0
        (b"\x04\x02\x04" + bytes(1028), "length"),  # LEN = 1026: data would be 1025 bytes
        (b"\x04\xff\xff", "length"),
        (STATUS[:-1], "truncated"),
        (STATUS[:-1] + b"\xce", "CRC"),
        (STATUS + b"\x00", "trailing"),
        (STATUS + STATUS, "trailing"),
    ],
)
def test_parse_errors_are_typed(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameFormatError, match=reason) as info:
        parse_frame(raw)
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize(("code", "data"), [(256, b""), (-1, b""), (0x30, bytes(MAX_DATA + 1))])
def test_build_errors_are_typed(code: int, data: bytes) -> None:
    with pytest.raises(FrameFormatError):
        build_frame(code, data)


def test_error_hierarchy() -> None:
    assert issubclass(FrameFormatError, ProtocolError)
    assert issubclass(ProtocolError, Exception)


@given(st.integers(0, 255), st.binary(max_size=MAX_DATA))
def test_round_trip(code: int, data: bytes) -> None:
    raw = build_frame(code, data)
    assert len(raw) == len(data) + 6
    frame = parse_frame(raw)
    assert (frame.code, frame.data) == (code, data)
