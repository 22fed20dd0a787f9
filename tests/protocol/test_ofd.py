"""OFD framing: the real V1 container, the session header vector, CRCs and typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ContainerError
from protocol.ofd import (
    CONTAINER,
    FnContainer,
    SessionHeader,
    container_crc,
    parse_container,
    parse_message,
    parse_session_header,
)
from protocol.sniff import BlobKind, sniff
from protocol.tree import Field

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
V1_RAW = bytes.fromhex((VECTORS / "v1_container_registration.hex").read_text().strip())
V1 = json.loads((VECTORS / "v1_container_registration.json").read_text())
# reference §4.7: the session header unit-test vector of yandex/ofd (TestSessionHeader)
SESSION_VECTOR = bytes.fromhex("2a08410a81a2000139393939303738393530202020202020310114000000")


def test_v1_container_header_and_document() -> None:
    c = parse_container(V1_RAW)
    h = V1["container_header"]
    assert len(V1_RAW) == h["length"] == V1["length"]
    assert int.from_bytes(V1_RAW[2:4], "little") == int(h["crc16_hex"], 16)
    assert container_crc(V1_RAW) == 0xEC03
    assert c.doc_type == h["doc_type"]
    assert c.fn_number == "999907891234567"  # 15 digits, F-filled BCD
    assert V1_RAW[9:17].hex() == h["fn_bcd_hex"]
    assert c.fd_number == h["fd_number"]
    assert c.trailer.hex() == V1["trailer_hex"]
    (doc,) = c.document
    assert doc.tag == 1 and len(doc.children) == len(V1["document"]["fields"]) - 1


def test_v1_container_rebuilds_byte_for_byte() -> None:
    c = parse_container(V1_RAW)
    assert c.build() == V1_RAW
    # the construct declaration alone also checks and rebuilds the CRC
    parsed = CONTAINER.parse(V1_RAW)
    assert (
        CONTAINER.build({"length": {"value": 305}, "rest": {"value": parsed.rest.value}}) == V1_RAW
    )


def test_every_single_bit_flip_is_refused() -> None:
    for i in range(len(V1_RAW)):
        bad = bytearray(V1_RAW)
        bad[i] ^= 0x10
        with pytest.raises(ContainerError):
            parse_container(bytes(bad))


def test_session_header_vector() -> None:
    h = parse_session_header(SESSION_VECTOR)
    assert h.fn_number == "9999078950      "
    assert h.body_size == 305 and h.flags == 0x14 and h.crc == 0
    assert h.has_container and h.answer_expected and h.crc_mode == 0
    assert h.build() == SESSION_VECTOR


def test_message_with_container_and_crc_modes() -> None:
    c = parse_container(V1_RAW)
    for flags in (0x14, 0x15, 0x16):
        head = SessionHeader("999907891234567 ", len(V1_RAW), flags=flags).build(V1_RAW)
        msg = parse_message(head + V1_RAW)
        assert msg.container == c
        if flags & 3:
            bad = bytearray(head + V1_RAW)
            bad[-1 if flags & 3 == 2 else 10] ^= 1
            with pytest.raises(ContainerError):
                parse_message(bytes(bad))


def test_service_message_has_no_body() -> None:
    head = SessionHeader("9999078900005488", 0, flags=0x0010).build()
    msg = parse_message(head)
    assert msg.container is None and not msg.header.has_container


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (V1_RAW[:31], "32-byte header"),
        (V1_RAW + b"\x00", "length field says 305"),
        (V1_RAW[:4] + b"\x5a" + V1_RAW[5:], "type must be A5h"),
        (b"\x2a\x08\x41\x0b" + SESSION_VECTOR[4:], "not an OFD session header"),
        (SESSION_VECTOR, "body is 305 bytes, got 0"),
    ],
)
def test_errors_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(ContainerError, match=reason):
        (
            parse_message
            if raw[:4] in (SESSION_VECTOR[:4], b"\x2a\x08\x41\x0b")
            else parse_container
        )(raw)


@settings(max_examples=60, deadline=None)
@given(
    fn=st.text("0123456789", min_size=15, max_size=16),
    fd=st.integers(0, 0xFFFFFF),
    doc_type=st.sampled_from([1, 2, 3, 5, 7, 11, 31]),
    trailer=st.binary(max_size=12),
    name=st.text(bytes(range(32, 256)).decode("cp866"), max_size=64),
)
def test_built_containers_parse_back(
    fn: str, fd: int, doc_type: int, trailer: bytes, name: str
) -> None:
    doc = (Field(doc_type, (Field(1048, name), Field(1040, fd))),)
    c = FnContainer(doc_type, fn, fd, doc, trailer)
    raw = c.build()
    assert sniff(raw) is BlobKind.CONTAINER
    assert parse_container(raw) == c


def test_sniff() -> None:
    assert sniff(SESSION_VECTOR) is BlobKind.MESSAGE
    assert sniff(V1_RAW) is BlobKind.CONTAINER
    assert sniff(V1_RAW[32:-10]) is BlobKind.TLV
    assert sniff(b"") is BlobKind.TLV


def test_fn_number_must_be_digits() -> None:
    with pytest.raises(ContainerError, match="16 digits"):
        FnContainer(1, "99990789ABCD", 1, ()).build()
