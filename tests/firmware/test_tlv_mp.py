# micropython
# The firmware TLV codec against the golden vectors; runs under CPython and MicroPython.
from mpsupport import load_vector, raises, read_vector, unhex

from firmware import tlv
from firmware.errors import TlvError

_CARRIER = {"VLN": 1020, "FVLN": 1023, "UnixTime": 1012, "string": 1030}


def _header(tag, n):
    return bytes([tag & 0xFF, tag >> 8, n & 0xFF, n >> 8])


def test_examples_decode_and_reencode():
    for ex in load_vector("tlv_examples.json")["examples"]:
        if ex["value"] is None:
            continue
        raw = unhex(ex["hex"])
        fields = tlv.decode(raw)
        assert len(fields) == 1 and len(fields[0]) == 2, ex
        assert fields[0][0] == ex["tag"]
        assert fields[0][1] == ex["value"], (fields, ex)
        assert tlv.encode(fields) == raw


def test_invalid_example_is_refused():
    for ex in load_vector("tlv_examples.json")["examples"]:
        if ex["value"] is None:
            e = raises(TlvError, tlv.decode, unhex(ex["hex"]))
            assert e.path == (1054,) and e.offset == 0


def test_value_vectors():
    for vv in load_vector("tlv_examples.json")["value_vectors"]:
        value = unhex(vv["hex"])
        raw = _header(_CARRIER[vv["type"]], len(value)) + value
        fields = tlv.decode(raw)
        assert fields[0][1] == vv["value"], (fields, vv)
        assert tlv.encode(fields) == raw


def test_non_minimal_widths_survive():
    raw = unhex("ff030800" + "02d7370200000000")
    assert tlv.decode(raw) == [(1023, "1453.67", 8)]
    assert tlv.encode([(1023, "1453.67", 8)]) == raw
    assert tlv.encode([(1023, "1453.67")]) == unhex("ff030400" + "02d73702")
    raw = unhex("fc030400" + "39300000")
    assert tlv.decode(raw) == [(1020, 12345, 4)]
    assert tlv.encode(tlv.decode(raw)) == raw


def test_v1_registration_report():
    v1 = load_vector("v1_container_registration.json")
    raw = unhex(read_vector("v1_container_registration.hex"))
    body = raw[32 : len(raw) - 10]
    doc = tlv.decode(body, 32)
    assert len(doc) == 1 and doc[0][0] == 1
    got = {}
    for f in doc[0][1]:
        got[f[0]] = f[1]
    for key, want in v1["document"]["fields"].items():
        if key == "1077_hex":
            assert got[1077] == unhex(want)
        elif key == "1077_printed":
            assert int.from_bytes(got[1077][2:6], "big") == want
        else:
            assert got[int(key)] == want, key
    assert tlv.encode(doc) == body


def test_fixed_width_strings_are_padded():
    raw = tlv.encode([(1018, "7701234567")])
    assert raw == _header(1018, 12) + b"7701234567  "
    assert tlv.decode(raw) == [(1018, "7701234567  ")]


def test_cyrillic_round_trip():
    text = "Ёлка №5, 10°, ёж ■"
    assert tlv.decode(tlv.encode([(1030, text)])) == [(1030, text)]
    e = raises(TlvError, tlv.encode, [(1059, [(1030, "тире — нет")])])
    assert e.path == (1059, 1030)


def test_decode_errors_have_path_and_offset():
    cases = (
        ("1e04", (), 0),
        ("1e040200", (1054,), 0),
        ("fc030000" + "23040600" + "060404009500", (1059, 1030), 8),
        ("23040400" + "06040100", (1059, 1030), 4),
        ("ff030000", (1023,), 0),
        ("1104030031" + "3233", (1041,), 0),
    )
    for hex_, path, offset in cases:
        e = raises(TlvError, tlv.decode, unhex(hex_))
        assert e.path == path and e.offset == offset, (hex_, e.path, e.offset)
    e = raises(TlvError, tlv.decode, unhex("1e04040095aba5a1"), 100)
    assert e.offset == 100


def test_encode_errors_have_path():
    cases = (
        ([(1054, 256)], (1054,)),
        ([(1054, "1")], (1054,)),
        ([(1030, "x" * 129)], (1030,)),
        ([(1018, "1234567890123")], (1018,)),
        ([(1023, "1,5")], (1023,)),
        ([(1023, "-1")], (1023,)),
        ([(1020, 1, 0)], (1020,)),
        ([(1059, [(1030, 5)])], (1059, 1030)),
        ([(65001, 5)], (65001,)),
    )
    for fields, path in cases:
        e = raises(TlvError, tlv.encode, fields)
        assert e.path == path, (fields, e.path)


def test_encode_into_buffer_without_room():
    buf = bytearray(6)
    e = raises(TlvError, tlv.encode_into, buf, 0, [(1030, "Хлеб")])
    assert e.path == (1030,)
    assert tlv.encode_into(bytearray(8), 0, [(1030, "Хлеб")]) == 8


def test_streamed_stlv_header_is_back_patched():
    fields = [(1059, [(1030, "Хлеб"), (1079, 4990), (1023, "1.500")])]
    buf = bytearray(64)
    end = tlv.encode_into(buf, 3, fields)
    assert bytes(buf[3:end]) == tlv.encode(fields)
    assert end - 3 == tlv.size_of(fields)
