"""Golden vectors through the construct spec: decode to the stated values, re-encode to
the same bytes; the deliberately invalid field is refused with a typed error."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from protocol.errors import TlvDecodeError, TlvEncodeError
from protocol.tlv import decode, encode
from protocol.tree import Field, from_json, render, to_json

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
TLV = json.loads((VECTORS / "tlv_examples.json").read_text())
V1 = json.loads((VECTORS / "v1_container_registration.json").read_text())

#: A tag of each value vector's type, to carry the value in a TLV.
CARRIER = {"VLN": 1020, "FVLN": 1023, "UnixTime": 1012, "string": 1030}


def _expected(kind: str, value: object) -> object:
    return Decimal(str(value)) if kind == "FVLN" else value


@pytest.mark.parametrize("ex", [e for e in TLV["examples"] if e["value"] is not None])
def test_examples_decode_and_reencode(ex: dict[str, object]) -> None:
    raw = bytes.fromhex(str(ex["hex"]))
    (field,) = decode(raw)
    assert field.tag == ex["tag"]
    assert field.value == _expected(str(ex["type"]), ex["value"])
    assert field.size is None  # every example is in its minimal width
    assert encode([field]) == raw


def test_invalid_example_is_refused_with_path_and_offset() -> None:
    (bad,) = [e for e in TLV["examples"] if e["value"] is None]
    with pytest.raises(TlvDecodeError) as err:
        decode(bytes.fromhex(bad["hex"]))
    assert err.value.path == (1054,)
    assert err.value.offset == 0
    assert "length must be 1, got 4" in str(err.value)


@pytest.mark.parametrize("vv", TLV["value_vectors"])
def test_value_vectors(vv: dict[str, str]) -> None:
    tag = CARRIER[vv["type"]]
    value = bytes.fromhex(vv["hex"])
    raw = tag.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
    (field,) = decode(raw)
    assert field.value == _expected(vv["type"], vv["value"])
    assert encode([field]) == raw


def test_fvln_keeps_non_minimal_width() -> None:
    # 02 d7 37 02 00 00 00 00: 1453.67 in 8 bytes; the fiscal sign covers all of them.
    raw = bytes.fromhex("ff030800" + "02d7370200000000")
    (field,) = decode(raw)
    assert field == Field(1023, Decimal("1453.67"), 8)
    assert encode([Field(1023, Decimal("1453.67"))]) == bytes.fromhex("ff030400" + "02d73702")
    assert encode([field]) == raw


def test_vln_keeps_non_minimal_width() -> None:
    raw = bytes.fromhex("fc0304003930" + "0000")
    (field,) = decode(raw)
    assert field == Field(1020, 12345, 4)
    assert encode([field]) == raw


def test_v1_registration_report_values() -> None:
    raw = bytes.fromhex((VECTORS / "v1_container_registration.hex").read_text().strip())
    body = raw[32 : len(raw) - len(bytes.fromhex(V1["trailer_hex"]))]
    (doc,) = decode(body)
    assert doc.tag == V1["document"]["tag"]
    got = {f.tag: f.value for f in doc.children}
    for key, want in V1["document"]["fields"].items():
        if key == "1077_hex":
            assert got[1077] == bytes.fromhex(str(want))
        elif key == "1077_printed":
            assert int.from_bytes(got[1077][2:6], "big") == want  # type: ignore[index]
        else:
            assert got[int(key)] == want, key
    assert encode([doc]) == body


def test_json_round_trip_and_render() -> None:
    raw = bytes.fromhex((VECTORS / "v1_container_registration.hex").read_text().strip())
    body = raw[32:-10]
    fields = decode(body)
    js = to_json(fields)
    report = js["registrationReport"]
    assert report["fiscalDriveNumber"] == "999907891234567 "
    assert report["dateTime"] == "2016-04-13T14:14:00"
    assert report["fiscalSign"] == "21041c6b81a4"
    assert encode(from_json(json.loads(json.dumps(js)))) == body
    text = render(fields)
    assert "1048 Наименование пользователя" in text
    assert 'ООО "МММ"' in text


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ([Field(1054, 256)], "cannot encode"),
        ([Field(1054, "1")], "int"),
        ([Field(1030, "x" * 129)], "at most 128"),
        ([Field(1030, "日本")], "cannot encode"),
        ([Field(1018, "1234567890123")], "at most 12"),
        ([Field(1023, Decimal("-1"))], "cannot encode"),
        ([Field(1020, 1, 0)], "cannot encode"),
        ([Field(1059, (Field(1030, 5),))], "str"),
        ([Field(65001, 5)], "value must be bytes"),
    ],
)
def test_bad_values_are_refused_with_their_path(fields: list[Field], reason: str) -> None:
    with pytest.raises(TlvEncodeError) as err:
        encode(fields)
    assert reason in str(err.value)
    assert err.value.path[0] == fields[0].tag


@pytest.mark.parametrize(
    ("hex_", "path", "offset"),
    [
        ("1e04", (), 0),  # truncated header
        ("1e040200", (1054,), 0),  # value runs past the end
        ("fc030000" + "23040600" + "060404009500", (1059, 1030), 8),  # nested overrun
        ("23040400" + "06040100", (1059, 1030), 4),
        ("23040500" + "06040100", (1059,), 0),
        ("ff030000", (1023,), 0),  # FVLN without its scale byte
        ("1104030031 32 33".replace(" ", ""), (1041,), 0),  # FN number is exactly 16
    ],
)
def test_decode_errors_name_path_and_offset(hex_: str, path: tuple[int, ...], offset: int) -> None:
    with pytest.raises(TlvDecodeError) as err:
        decode(bytes.fromhex(hex_))
    assert err.value.path == path
    assert err.value.offset == offset
