"""The ingest's fast `doc` decoder: it accepts only what the JSON Schema accepts, and the same.

`fleet.link.deadletter.decode` takes a `doc` through one msgspec decoder (`DocEvent`) and falls
back to the codec (JSON Schema) for anything that decoder refuses. Were the fast path ever to
accept a payload the schema refuses, a bad document would be stored instead of dead-lettered:
these tests throw valid, near-valid and broken payloads at both and compare.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from msgspec import UNSET

from fleet.link.deadletter import _DOC_DECODER, Doc, DocEvent, Rejected, decode
from fleet.link.doctlv import TlvScanError
from fleet.link.ingest import parse
from protocol.errors import LinkError
from protocol.mqtt import codec
from protocol.mqtt.examples import EXAMPLES

ROOT = "decode-test"
TOPIC = f"{ROOT}/v1/reg/0000000000000042/doc"
OPTIONAL = ("shift", "operation", "total", "request_id")

TRICKY: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 0.5, 2**31, 2**32 - 1, 2**32, 2**48 - 1, 2**48,
    2**53 - 1, 2**53, -(2**63), "", "1", "1" * 10, "1" * 11, "1" * 16, "1" * 16 + "\n",
    "١" * 16, "１" * 16, "QQ==", "QQ", "QQ=", "Q===", "QQ==\n", " QQ==", "QUJD", "QUJD\n",
    "abc def", "a" * 64, "a" * 65, "\"", "\\", "\x00", "\u2028", "ok\n", [], {}, [1], {"a": 1},
    3, 4, 5, 7, 11, 21, 31, 41,
]  # fmt: skip


def valid_doc() -> dict[str, Any]:
    return {
        **EXAMPLES["doc"],
        "fn": "9999078900012345",
        "fd": 7,
        "shift": 3,
        "operation": 1,
        "total": 14440,
        "request_id": "req-1",
    }


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """A valid `doc` with a few keys dropped, added or given tricky values, as JSON bytes."""
    obj = valid_doc()
    keys = [*obj, "extra", "V", "tlv "]
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["drop", "tricky", "int", "text"]))
        if action == "drop":
            obj.pop(key, None)
        elif action == "tricky":
            obj[key] = draw(st.sampled_from(TRICKY))
        elif action == "int":
            obj[key] = draw(st.integers(-(2**70), 2**70))
        else:
            obj[key] = draw(st.text(max_size=20))
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):  # now and then broken at the byte level too
        raw = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 3))):
            if raw:
                raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw)
    return text.encode()


def agrees(raw: bytes) -> None:
    """If the fast decoder accepts `raw`, the schema accepts it too, with the same values."""
    try:
        fast: DocEvent | None = _DOC_DECODER.decode(raw)
    except ValueError:
        fast = None
    try:
        slow: codec.Message | None = codec.decode(ROOT, TOPIC, raw)
    except LinkError:
        slow = None
    if fast is None:
        return  # the codec decides; nothing to compare
    assert slow is not None, f"fast path accepted what the schema refuses: {raw!r}"
    p = slow.payload
    assert (fast.fn, fast.fd, fast.fs, fast.type, fast.at) == (
        p["fn"], p["fd"], p["fs"], p["type"], p["at"]
    )  # fmt: skip
    assert fast.tlv == base64.b64decode(p["tlv"], validate=True)
    for key in OPTIONAL:
        value = getattr(fast, key)
        assert (value is UNSET) == (key not in p)
        if key in p:
            assert value == p[key]
    # and decode() hands the ingest the fast result
    got = decode(ROOT, TOPIC, raw)
    assert isinstance(got, Doc) and got.event == fast


@settings(max_examples=800, deadline=None)
@given(near_valid())
@example(json.dumps({**valid_doc(), "fn": "9999078900012345\n"}).encode())
@example(json.dumps({**valid_doc(), "tlv": "QQ"}).encode())
@example(json.dumps({**valid_doc(), "v": 1.0}).encode())
@example(json.dumps({**valid_doc(), "shift": None}).encode())
@example(json.dumps({**valid_doc(), "request_id": "a b"}).encode())
@example(b'{"v":1,"v":2}')
def test_the_fast_path_accepts_only_what_the_schema_accepts(raw: bytes) -> None:
    agrees(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_pass_the_fast_path_alone(raw: bytes) -> None:
    agrees(raw)


def test_a_valid_doc_takes_the_fast_path_with_its_tlv_decoded() -> None:
    obj = valid_doc()
    got = decode(ROOT, TOPIC, json.dumps(obj).encode())
    assert isinstance(got, Doc) and got.serial == "0000000000000042"
    assert got.event.tlv == base64.b64decode(obj["tlv"])
    assert (got.event.total, got.event.request_id) == (14440, "req-1")
    bare = {k: v for k, v in obj.items() if k not in OPTIONAL}
    event = decode(ROOT, TOPIC, json.dumps(bare).encode())
    assert isinstance(event, Doc)
    assert all(getattr(event.event, k) is UNSET for k in OPTIONAL)


def test_what_only_the_schema_accepts_is_still_stored_or_dead_lettered_precisely() -> None:
    # 1.0 is the schema's const 1 (JSON Schema compares numbers by value): the codec's path
    got = parse(ROOT, TOPIC, json.dumps({**valid_doc(), "v": 1.0}).encode())
    assert isinstance(got, tuple)
    (serial, event), scanned = got
    assert (serial, event.fd, event.total) == ("0000000000000042", 7, 14440)
    assert not isinstance(scanned, TlvScanError)
    # the schema's base64 pattern admits "QQ", which is not base64: a dead letter that says so
    got = parse(ROOT, TOPIC, json.dumps({**valid_doc(), "tlv": "QQ"}).encode())
    assert isinstance(got, tuple) and isinstance(got[1], TlvScanError)
    assert "не base64" in str(got[1])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"fn": "9999078900012345\n"}, "fn: не соответствует шаблону"),
        ({"fd": 0}, "fd"),
        ({"shift": None}, "shift"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_refused_doc_gets_the_codecs_reason(change: dict[str, Any], words: str) -> None:
    with pytest.raises(Rejected) as e:
        decode(ROOT, TOPIC, json.dumps({**valid_doc(), **change}).encode())
    assert words in e.value.reason and e.value.kind == "doc"
