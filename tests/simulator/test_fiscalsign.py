"""protocol.fiscalsign: the simulated ФП/ФПО scheme (reference §3.1 [rec])."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import fiscalsign as fs
from protocol.tlv import decode, encode
from protocol.tree import Field

SECRET = b"test-secret"
FN = "9999078900000001"
WHEN = dt.datetime(2024, 1, 15, 10, 30)


def _unixtime(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.UTC).timestamp())


def _document(fd: int = 7, when: dt.datetime = WHEN, extra: tuple[Field, ...] = ()) -> bytes:
    fields = (
        Field(1041, FN),
        Field(1040, fd),
        Field(1012, _unixtime(when)),
        Field(1054, 1),
        Field(1020, 12345),
        *extra,
    )
    return encode([Field(3, fields)])


def _with_fp(doc: bytes, fp: int) -> bytes:
    """Insert 1077 after 1012, as the drive does."""
    (top,) = decode(doc)
    children = list(top.children)
    children.insert(3, Field(1077, fs.fp_tag_value(fp)))
    return encode([Field(top.tag, tuple(children))])


@pytest.mark.parametrize("algorithm", ["streebog256", "sha256"])
def test_round_trip(algorithm: fs.Algorithm) -> None:
    key = fs.derive_key(SECRET, FN, "fp", algorithm)
    doc = _document()
    fp = fs.compute_fp(key, doc, algorithm=algorithm)
    signed = _with_fp(doc, fp)
    assert fs.verify_fp(key, signed, algorithm=algorithm)
    assert fs.verify_document(SECRET, FN, signed, algorithm=algorithm)
    assert fs.document_parts(signed) == (7, WHEN, fp)
    # 1077 takes no part in its own sign: the same ФП with or without it.
    assert fs.compute_fp(key, signed, algorithm=algorithm) == fp


def test_streebog_is_the_gost_hmac() -> None:
    # R 50.1.113-2016 example A.1.1 (HMAC_GOSTR3411_2012_256): key 00..1f, data
    # 01 26 bd b8 78 00 af 21 43 41 45 65 63 78 01 00.
    key = bytes(range(32))
    data = bytes.fromhex("0126bdb87800af214341456563780100")
    expected = "a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9"
    assert fs.mac(key, data, "streebog256").hex() == expected


def test_1077_layout_and_answer_byte_order() -> None:
    assert fs.fp_tag_value(0x1C6B81A4) == bytes.fromhex("21041c6b81a4")
    # Vector V1 (§2.7): 1077 = 21 04 1c 6b 81 a4, printed ФП 476807588.
    assert fs.fp_from_tag(bytes.fromhex("21041c6b81a4")) == 476_807_588
    with pytest.raises(fs.FiscalSignError):
        fs.fp_from_tag(b"\x21\x04\x00")
    with pytest.raises(fs.FiscalSignError):
        fs.fp_tag_value(1 << 32)


def test_tampering_is_detected() -> None:
    key = fs.derive_key(SECRET, FN, "fp", "sha256")
    doc = _document()
    fp = fs.compute_fp(key, doc, algorithm="sha256")
    signed = _with_fp(doc, fp)
    assert fs.verify_fp(key, signed, algorithm="sha256")
    # Another total, another FD number, another minute, another type: all rejected.
    for forged in (
        _with_fp(_document(extra=(Field(1008, "x"),)), fp),
        _with_fp(_document(fd=8), fp),
        _with_fp(_document(when=WHEN + dt.timedelta(minutes=1)), fp),
        b"\x04\x00" + signed[2:],
    ):
        assert not fs.verify_fp(key, forged, algorithm="sha256")
    assert not fs.verify_fp(key, signed, fp ^ 1, algorithm="sha256")
    other = fs.derive_key(SECRET, "9999078900000002", "fp", "sha256")
    assert not fs.verify_fp(other, signed, algorithm="sha256")
    assert not fs.verify_fp(key, doc, algorithm="sha256")  # unsigned: no 1077


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=80), flip=st.integers(0, 10_000))
def test_any_bit_flip_breaks_the_sign(raw: bytes, flip: int) -> None:
    key = fs.derive_key(SECRET, FN, "fp", "sha256")
    doc = _document(extra=(Field(1192, raw.hex()[:16]),))
    signed = _with_fp(doc, fs.compute_fp(key, doc, algorithm="sha256"))
    index = flip % len(signed)
    forged = bytearray(signed)
    forged[index] ^= 1 << (flip % 8)
    # Flipping a bit inside the 1077 prefix "21 04" is not covered (it is not the ФП).
    fp_at = signed.index(bytes.fromhex("3504060021"))
    if fp_at + 4 <= index < fp_at + 6:
        return
    assert not fs.verify_fp(key, bytes(forged), algorithm="sha256")


def test_keys_are_per_drive_and_purpose() -> None:
    keys = {
        fs.derive_key(SECRET, FN, "fp", "sha256"),
        fs.derive_key(SECRET, FN, "ofd", "sha256"),
        fs.derive_key(SECRET, "9999078900000002", "fp", "sha256"),
        fs.derive_key(b"other", FN, "fp", "sha256"),
    }
    assert len(keys) == 4
    assert fs.derive_key(SECRET, FN + " ", "fp", "sha256") == fs.derive_key(
        SECRET, FN, "fp", "sha256"
    )


def test_canonical_bytes() -> None:
    doc = _document()
    canon = fs.canonical_bytes(doc)
    assert canon == doc + struct.pack("<I", 7) + bytes([24, 1, 15, 10, 30])
    assert fs.canonical_bytes(_with_fp(doc, 99)) == canon
    with pytest.raises(fs.FiscalSignError):
        fs.canonical_bytes(doc[:-1])
    with pytest.raises(fs.FiscalSignError):
        fs.canonical_bytes(doc + doc)
    with pytest.raises(fs.FiscalSignError):
        fs.document_parts(encode([Field(3, (Field(1041, FN),))]))


def test_ofd_sign() -> None:
    key = fs.derive_key(SECRET, FN, "ofd", "sha256")
    fields = (Field(1041, FN), Field(1040, 7), Field(1068, (Field(1022, 0),)))
    unsigned = encode([Field(7, fields)])
    sign = fs.compute_ofd_fp(key, unsigned, "sha256")
    assert len(sign) == fs.OFD_FP_SIZE
    signed = encode([Field(7, (*fields, Field(1078, sign)))])
    assert fs.verify_ofd_fp(key, signed, "sha256")
    assert not fs.verify_ofd_fp(key, unsigned, "sha256")
    forged = encode([Field(7, (Field(1041, FN), Field(1040, 8), fields[2], Field(1078, sign)))])
    assert not fs.verify_ofd_fp(key, forged, "sha256")
    assert not fs.verify_ofd_fp(key, b"\x07\x00\x10\x00", "sha256")


def test_message_sign() -> None:
    key = b"k" * 32
    container = bytes(range(40))
    sign = fs.compute_message_sign(key, container, "sha256")
    assert len(sign) == fs.MESSAGE_SIGN_SIZE
    assert fs.verify_message_sign(key, container, sign, "sha256")
    # The CRC field (bytes 2..3) is outside the sign.
    assert fs.verify_message_sign(key, container[:2] + b"\xff\xff" + container[4:], sign, "sha256")
    assert not fs.verify_message_sign(key, container[:-1] + b"\xff", sign, "sha256")
    with pytest.raises(fs.FiscalSignError):
        fs.mac(key, b"", "md5")  # type: ignore[arg-type]
