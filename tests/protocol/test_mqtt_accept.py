"""The codec's fast accept (protocol/mqtt/accept.py) never admits what the JSON Schema refuses.

Hypothesis mutates valid `ack`, `result`, `ofd`, `state` and `presence` messages — fields
dropped, replaced by odd values (1.0, true, null, strings with a trailing newline, too long,
unknown keys), nested objects and errors broken — and compares the struct's verdict with the
schema validator's. The register checks that accept the fleet's own kinds are compared with
the schema in tests/protocol/test_mqtt_contract.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import PayloadFormatError
from protocol.mqtt import accept, codec
from protocol.mqtt.examples import EXAMPLES
from protocol.mqtt.schemas import SCHEMAS
from protocol.portable import link

FAST_UP = (link.ACK, link.RESULT, link.OFD, link.STATE, link.PRESENCE)

_strings = st.one_of(
    st.text(max_size=70),
    st.sampled_from(
        [
            "",
            "a\n",
            "1234\n",
            "9999078900012345\n",
            "9999078900012345",
            "order-1",
            'a"b',
            "a b",
            "x" * 33,
            "x" * 41,
            "x" * 65,
            "x" * 257,
            "12345678901",
            "accepted",
            "made",
            "receipt",
            "ё" * 40,
        ]
    ),
)
_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=2**54),
    st.sampled_from([0, 1, 255, 256, 0xFFFFFFFF, 2**32, (1 << 48) - 1, 1 << 48, (1 << 53) - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 0.0, 118.0]),
    _strings,
    st.lists(st.integers(-1, 3), max_size=10),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)
_error_item = st.one_of(
    st.fixed_dictionaries({"path": _strings, "code": _strings, "message": _strings}),
    st.dictionaries(st.sampled_from(["path", "code", "message", "x"]), _odd, max_size=4),
    _odd,
)


def _mutations(kind: str) -> st.SearchStrategy[Any]:
    base = EXAMPLES[kind]
    keys = sorted({*SCHEMAS[kind]["properties"], "zzz"})

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        payload = copy.deepcopy(base)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(keys))
            roll = draw(st.integers(0, 3))
            if roll == 0:
                payload.pop(key, None)
            elif roll == 1 and key in ("errors", "shift_documents"):
                payload[key] = draw(st.lists(_error_item, max_size=52))
            elif roll == 1 and isinstance(payload.get(key), dict):  # state's drive, shift, ofd
                inner = payload[key]
                sub = draw(st.sampled_from(sorted({*inner, "zzz", "expires", "number"})))
                if draw(st.booleans()):
                    inner.pop(sub, None)
                else:
                    inner[sub] = draw(_odd)
            else:
                payload[key] = draw(_odd)
        return payload

    return build()


def _schema_ok(kind: str, payload: Any) -> bool:
    return not codec.schema_errors(kind, payload)


@pytest.mark.parametrize("kind", FAST_UP)
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_the_fast_accept_takes_only_what_the_schema_takes(kind: str, data: st.DataObject) -> None:
    payload = data.draw(_mutations(kind))
    fast, schema = accept.accepts(kind, payload), _schema_ok(kind, payload)
    if fast:
        assert schema, payload
    elif schema:
        # the one valid form it leaves to the schema: "v": 1.0 (the schema's const is a JSON
        # number; the codec's version check lets 1.0 pass to it)
        assert isinstance(payload["v"], float), payload


@pytest.mark.parametrize("kind", FAST_UP)
def test_the_examples_and_their_json_round_trip_take_the_fast_path(kind: str) -> None:
    payload = json.loads(json.dumps(EXAMPLES[kind]))
    assert accept.accepts(kind, payload)


def test_known_differences_of_python_and_json_are_refused_by_both() -> None:
    for kind, change in [
        (link.OFD, {"fd": 118.0}),  # 118.0 is an integer to Python's ==, not to the schema
        (link.OFD, {"fd": True}),
        (link.OFD, {"fn": "9999078900012345\n"}),  # Python's $ matches before a newline
        (link.ACK, {"id": "a\n"}),
        (link.ACK, {"errors": None}),  # the schema refuses null for an optional field
        (link.RESULT, {"fp": "1\n"}),
        (link.RESULT, {"total": 1 << 48}),
        (link.RESULT, {"errors": [{"path": "", "code": "x", "message": "m", "more": 1}]}),
    ]:
        payload = {**EXAMPLES[kind], **change}
        assert not accept.accepts(kind, payload), change
        assert not _schema_ok(kind, payload), change
        with pytest.raises(PayloadFormatError):
            codec.validate(kind, payload)


def test_a_rich_result_takes_the_fast_path() -> None:
    result = {
        **EXAMPLES[link.RESULT],
        "recovered": True,
        "retryable": False,
        "errors": [{"path": "items[0].vat", "code": "enum", "message": "ставка НДС"}],
        "qr": "t=20261128T1120&s=99.80&fn=9999078900012345&i=118&fp=2751634921&n=1",
        "total": 9980,
        "data": {"shift": {"receipts": 3}},
        "shift_documents": [{"fd": 117}],
    }
    assert accept.accepts(link.RESULT, result) and _schema_ok(link.RESULT, result)


def test_the_result_struct_knows_every_action() -> None:
    assert set(get_args(accept._Action)) == set(link.ACTIONS)
    assert set(accept._Result.__struct_fields__) == set(SCHEMAS[link.RESULT]["properties"])
    assert set(accept._Ack.__struct_fields__) == set(SCHEMAS[link.ACK]["properties"])
    assert set(accept._Ofd.__struct_fields__) == set(SCHEMAS[link.OFD]["properties"])
    state = SCHEMAS[link.STATE]["properties"]
    assert set(accept._State.__struct_fields__) == set(state)
    assert set(accept._Drive.__struct_fields__) == set(state["drive"]["properties"])
    assert set(accept._Shift.__struct_fields__) == set(state["shift"]["properties"])
    assert set(accept._OfdLink.__struct_fields__) == set(state["ofd"]["properties"])
    presence = SCHEMAS[link.PRESENCE]["properties"]
    assert set(accept._Presence.__struct_fields__) == set(presence)


def test_a_refused_message_still_names_its_field() -> None:
    with pytest.raises(PayloadFormatError, match="вне диапазона") as caught:
        codec.validate(link.OFD, {**EXAMPLES[link.OFD], "code": 256})
    assert caught.value.path == "code"
