"""The OFD framing's struct paths (protocol/ofd.py) against the construct declarations they
replaced on the hot path: `SESSION_HEADER` and `CONTAINER` with the construct TLV spec are
the oracles here, run as the code ran them before; the same values, bytes and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from construct import ChecksumError, ConstructError
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import tlv as spec
from protocol.crc import crc16_ccitt_false
from protocol.errors import ContainerError, ProtocolError
from protocol.ofd import (
    CONTAINER,
    CONTAINER_HEADER_SIZE,
    MAX_CONTAINER,
    SESSION_HEADER,
    SIGNATURE,
    FnContainer,
    SessionHeader,
    container_crc,
    parse_container,
    parse_session_header,
)
from protocol.tree import Field

PROPS = settings(max_examples=300, deadline=None)


# ---- the oracles: the declarations as the code used them ----------------------------------


def spec_session(raw: bytes, body: bytes = b"") -> SessionHeader:
    # The one difference on purpose: construct wraps the FN number's UnicodeDecodeError in a
    # StringError, so the code before answered a non-ASCII number with "signature is not
    # 2A 08 41 0A"; the struct path says what is wrong (test_non_ascii_fn_number_is_named).
    if len(raw) < 30:
        raise ContainerError(f"a session header is 30 bytes, got {len(raw)}")
    try:
        if raw[:4] == SIGNATURE:
            raw[8:24].rstrip(b"\x00").decode("ascii")
        h = SESSION_HEADER.parse(raw[:30])
    except ConstructError as e:
        raise ContainerError("not an OFD session header: signature is not 2A 08 41 0A") from e
    except UnicodeError as e:
        raise ContainerError("session header FN number is not ASCII") from e
    header = SessionHeader(h.fn_number, h.body_size, h.flags, h.p_version, h.s_version, h.crc)
    mode = header.crc_mode
    if mode in (1, 2):
        expected = crc16_ccitt_false(bytes(raw[:28]) + (body if mode == 2 else b""))
        if expected != h.crc:
            raise ContainerError(f"session CRC {h.crc:04X}h does not match {expected:04X}h")
    return header


def spec_session_build(h: SessionHeader, body: bytes = b"") -> bytes:
    values = {
        "s_version": h.s_version,
        "p_version": h.p_version,
        "fn_number": h.fn_number,
        "body_size": h.body_size,
        "flags": h.flags,
        "crc": 0,
    }
    try:
        raw = bytearray(SESSION_HEADER.build(values))
    except (ConstructError, UnicodeError) as e:
        raise ContainerError(f"session header cannot be built: {e}") from e
    mode = h.crc_mode
    crc = crc16_ccitt_false(bytes(raw[:28]) + (body if mode == 2 else b"")) if mode else h.crc
    raw[28:30] = crc.to_bytes(2, "little")
    return bytes(raw)


def spec_container(raw: bytes) -> FnContainer:
    if len(raw) < 32:
        raise ContainerError(f"a container has a 32-byte header, got {len(raw)} bytes")
    length = int.from_bytes(raw[0:2], "little")
    if length != len(raw):
        raise ContainerError(f"container length field says {length}, got {len(raw)} bytes")
    if raw[4] != 0xA5:
        raise ContainerError(f"container type must be A5h, byte 4 is {raw[4]:02X}h")
    try:
        c = CONTAINER.parse(raw)
    except ChecksumError as e:
        crc = int.from_bytes(raw[2:4], "little")
        raise ContainerError(
            f"container CRC {crc:04X}h does not match computed {container_crc(raw):04X}h"
        ) from e
    h = c.rest.value
    body = h.body
    if len(body) < 4:
        raise ContainerError("container holds no document")
    doc_len = 4 + spec.TLV_HEADER.parse(body[:4]).length
    if doc_len > len(body):
        raise ContainerError(
            f"document of {doc_len} bytes runs past the container ({len(body)} left)"
        )
    document = spec.decode(body[:doc_len], offset=32)
    return FnContainer(
        h.doc_type,
        h.fn_bcd.hex().rstrip("f"),
        h.fd_number,
        tuple(document),
        bytes(body[doc_len:]),
        h.version,
        h.service1,
        h.service2,
    )


def spec_container_build(c: FnContainer) -> bytes:
    body = spec.encode(c.document) + c.trailer
    length = CONTAINER_HEADER_SIZE + len(body)
    if length > MAX_CONTAINER:
        raise ContainerError(f"container of {length} bytes exceeds {MAX_CONTAINER}")
    rest = {
        "doc_type": c.doc_type,
        "version": c.version,
        "service1": c.service1,
        "fn_bcd": bytes.fromhex(c.fn_number.ljust(16, "f")),
        "fd_number": c.fd_number,
        "service2": c.service2,
        "body": body,
    }
    try:
        raw: bytes = CONTAINER.build({"length": {"value": length}, "rest": {"value": rest}})
    except ConstructError as e:
        raise ContainerError(f"container cannot be built: {e}") from e
    return raw


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except ProtocolError as e:
        return "error", (type(e), str(e))


def agree(mine: Callable[[], Any], theirs: Callable[[], Any]) -> Any:
    a, b = outcome(mine), outcome(theirs)
    assert a[0] == b[0], (a, b)
    assert a == b or (a[0] == "ok" and repr(a[1]) == repr(b[1])), (a, b)
    return a[1] if a[0] == "ok" else None


# ---- session header -----------------------------------------------------------------------

heads = st.one_of(
    st.binary(min_size=26, max_size=26).map(lambda rest: SIGNATURE + rest),
    st.binary(min_size=0, max_size=34),
    st.tuples(
        st.sampled_from([b"\x81\xa2", b"\x00\x00"]),
        st.sampled_from([b"\x01\x05", b"\x01\x10"]),
        st.text("0123456789 ", max_size=16).map(lambda s: s.encode().ljust(16, b"\x00")),
        st.binary(min_size=6, max_size=6),
    ).map(lambda t: SIGNATURE + b"".join(t)),
)


@PROPS
@given(heads, st.binary(max_size=40))
def test_session_headers_parse_alike(raw: bytes, body: bytes) -> None:
    got = agree(lambda: parse_session_header(raw, body), lambda: spec_session(raw, body))
    if got is not None:
        assert got == spec_session(raw, body)


@PROPS
@given(
    fn=st.one_of(st.text("0123456789 ", max_size=18), st.text(max_size=17)),
    size=st.integers(-1, 0x10001),
    flags=st.integers(-1, 0x10001),
    p_version=st.sampled_from([b"\x01\x05", b"\x01\x10", b"\x01", b"\x01\x02\x03"]),
    crc=st.integers(0, 0xFFFF),
    body=st.binary(max_size=40),
)
def test_session_headers_build_alike(
    fn: str, size: int, flags: int, p_version: bytes, crc: int, body: bytes
) -> None:
    h = SessionHeader(fn, size, flags, p_version, crc=crc)
    raw = agree(lambda: h.build(body), lambda: spec_session_build(h, body))
    if raw is not None:
        assert parse_session_header(raw, body) == spec_session(raw, body)


def test_non_ascii_fn_number_is_named() -> None:
    raw = SIGNATURE + b"\x81\xa2\x01\x05" + "ФН".encode("cp866").ljust(16, b"\x00") + bytes(6)
    with pytest.raises(ContainerError, match="FN number is not ASCII"):
        parse_session_header(raw)


# ---- container ----------------------------------------------------------------------------

containers = st.builds(
    FnContainer,
    doc_type=st.sampled_from([1, 2, 3, 5, 7, 11, 31]),
    fn_number=st.text("0123456789", min_size=1, max_size=16),
    fd_number=st.integers(0, 0xFFFFFF),
    document=st.lists(
        st.one_of(
            st.builds(Field, st.just(1048), st.text("абвАБВ xyz", max_size=40)),
            st.builds(Field, st.just(1040), st.integers(0, 2**32 - 1)),
            st.builds(Field, st.just(1020), st.integers(0, 2**40)),
            st.builds(Field, st.just(1077), st.binary(min_size=6, max_size=6)),
        ),
        max_size=8,
    ).map(lambda fs: (Field(3, tuple(fs)),)),
    trailer=st.binary(max_size=12),
    version=st.integers(0, 255),
    service1=st.binary(min_size=2, max_size=2),
    service2=st.binary(min_size=12, max_size=12),
)


@PROPS
@given(containers, st.data())
def test_containers_build_and_parse_alike(c: FnContainer, data: st.DataObject) -> None:
    raw = agree(c.build, lambda: spec_container_build(c))
    assert raw is not None
    parsed = agree(lambda: parse_container(raw), lambda: spec_container(raw))
    assert parsed == c
    bad = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(bad) - 1))
        bad[i] ^= 1 << data.draw(st.integers(0, 7))
    if data.draw(st.booleans()):  # keep the CRC right, to reach the document
        bad[2:4] = container_crc(bad).to_bytes(2, "little")
    agree(lambda: parse_container(bytes(bad)), lambda: spec_container(bytes(bad)))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_as_containers_alike(raw: bytes) -> None:
    agree(lambda: parse_container(raw), lambda: spec_container(raw))


@pytest.mark.parametrize(
    "c",
    [
        FnContainer(256, "1", 1, (Field(3, ()),)),
        FnContainer(3, "1", 2**24, (Field(3, ()),)),
        FnContainer(3, "1", -1, (Field(3, ()),)),
        FnContainer(3, "1", 1, (Field(3, ()),), service1=b"\x00"),
        FnContainer(3, "1", 1, (Field(3, ()),), service2=b"\x00" * 13),
        FnContainer(3, "1", 1, (Field(3, ()),), version=-1),
    ],
    ids=repr,
)
def test_containers_the_header_cannot_hold_are_refused_alike(c: FnContainer) -> None:
    assert agree(c.build, lambda: spec_container_build(c)) is None
