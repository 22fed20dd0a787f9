"""The MQTT link contract: schemas, the validating codec, and the register's portable checks.

The register checks what the fleet sends with protocol/portable/link.py (MicroPython subset);
the fleet checks with the JSON Schemas. For the fleet-to-register kinds both must accept
exactly the same payloads: hypothesis generates near-valid payloads and compares the verdicts.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import (
    LinkError,
    PayloadFormatError,
    PayloadTooLargeError,
    TopicError,
    UnsupportedVersionError,
)
from protocol.mqtt import codec
from protocol.mqtt.examples import EXAMPLES
from protocol.mqtt.schemas import SCHEMAS
from protocol.portable import link

ROOT = "test/run-1"


def _topic(kind: str, serial: str = "0001234567") -> str:
    return link.topic(ROOT, serial, kind)


def test_every_kind_has_a_schema_and_a_valid_example() -> None:
    assert set(SCHEMAS) == set(link.KINDS) == set(EXAMPLES)
    for kind, example in EXAMPLES.items():
        data = codec.encode(kind, example)
        assert codec.decode(ROOT, _topic(kind), data) == codec.Message("0001234567", kind, example)


def test_topics_round_trip_and_wrong_topics_say_why() -> None:
    assert link.parse_topic(ROOT, "test/run-1/v1/reg/AB-12_x/doc") == ("AB-12_x", "doc", "")
    for name, words in [
        ("other/v1/reg/A/doc", "не из дерева"),
        ("test/run-1/v2/reg/A/doc", "v2 не поддерживается"),
        ("test/run-1/v1/reg/A/b/doc", "не по схеме"),
        ("test/run-1/v1/dev/A/doc", "не по схеме"),
        ("test/run-1/v1/reg/A+B/doc", "серийный номер"),
        ("test/run-1/v1/reg/A/shadow", "Неизвестный вид"),
    ]:
        with pytest.raises(TopicError, match=words):
            codec.decode(ROOT, name, b"{}")
    assert link.subscription(ROOT, "doc") == "test/run-1/v1/reg/+/doc"
    assert link.root_ok("a/b") and not link.root_ok("a/+") and not link.root_ok("$SYS")


def test_unknown_or_missing_version_is_refused_with_the_reason() -> None:
    doc = dict(EXAMPLES[link.DOC])
    for version, shown in [(2, "2"), ("1", '"1"'), (True, "true"), (None, "null")]:
        doc["v"] = version
        with pytest.raises(UnsupportedVersionError, match=f"Версия сообщения {shown} "):
            codec.decode(ROOT, _topic("doc"), json.dumps(doc).encode())
    del doc["v"]
    with pytest.raises(UnsupportedVersionError, match="нет"):
        codec.validate("doc", doc)


def test_limits_on_payload_size() -> None:
    big = dict(EXAMPLES[link.OFD])
    data = json.dumps(big).encode() + b" " * (link.MAX_PAYLOAD["ofd"])
    with pytest.raises(PayloadTooLargeError, match="больше предела 1024"):
        codec.decode(ROOT, _topic("ofd"), data)
    doc = dict(EXAMPLES[link.DOC], tlv="A" * (44 * 1024 + 4))
    with pytest.raises(LinkError):
        codec.encode("doc", doc)


@pytest.mark.parametrize(
    ("kind", "change", "path", "words"),
    [
        ("doc", {"fn": "123"}, "fn", "шаблону"),
        ("doc", {"fd": 0}, "fd", "вне диапазона"),
        ("doc", {"fd": 1.0}, "fd", "целое число"),
        ("doc", {"type": 7}, "type", "допустимо"),
        ("doc", {"extra": 1}, "", "неизвестное поле extra"),
        ("state", {"seq": -1}, "seq", "вне диапазона"),
        ("cmd", {"action": "dance"}, "action", "допустимо"),
        ("cmd", {"ttl": link.MAX_TTL + 1}, "ttl", "вне диапазона"),
        ("cmd", {"id": "a\n"}, "id", "шаблону"),
        ("stored", {"missing": [[5, 1, 2]]}, "missing[0]", "длина"),
    ],
)
def test_schema_violations_name_the_field(
    kind: str, change: dict[str, Any], path: str, words: str
) -> None:
    payload = dict(EXAMPLES[kind], **change)
    with pytest.raises(PayloadFormatError, match=words) as caught:
        codec.decode(ROOT, _topic(kind), json.dumps(payload).encode())
    assert caught.value.path == path


def test_not_json_and_not_an_object() -> None:
    for data in (b"\xff", b"{", b"[1]", b"null"):
        with pytest.raises(PayloadFormatError):
            codec.decode(ROOT, _topic("cmd"), data)


def test_a_document_command_needs_its_request_and_a_service_one_must_not_have_it() -> None:
    cmd = dict(EXAMPLES[link.CMD])
    del cmd["request"]
    with pytest.raises(PayloadFormatError, match="request"):
        codec.validate("cmd", cmd)
    assert link.check_cmd(cmd) == [
        ("request", "required", "Документу нужен запрос (объект request)")
    ]
    reboot = {"v": 1, "id": "r1", "ttl": 60, "issued_at": 0, "action": "reboot", "request": {}}
    with pytest.raises(PayloadFormatError):
        codec.validate("cmd", reboot)
    assert link.check_cmd(reboot)[0][0] == "request"


# ---- the register's checks agree with the schemas -----------------------------------------

_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**33), max_value=2**54),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=70),
    st.sampled_from(["", "a\n", 'a"b', "ok-id", "9999078900012345", "0" * 64, "f" * 64]),
    st.lists(st.integers(min_value=-1, max_value=2**32 + 1), max_size=3),
    st.dictionaries(st.sampled_from(["version", "url", "sha256", "x"]), st.text(max_size=3)),
)


def _mutations(kind: str) -> st.SearchStrategy[Any]:
    base = EXAMPLES[kind]
    keys = sorted({*SCHEMAS[kind]["properties"], "zzz"})

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        payload = copy.deepcopy(base)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(keys))
            if draw(st.booleans()):
                payload.pop(key, None)
            else:
                payload[key] = draw(_odd_values)
        if kind == "cmd" and draw(st.booleans()):
            payload["action"] = draw(st.sampled_from(link.ACTIONS))
        if kind == "stored" and draw(st.booleans()):
            payload["missing"] = draw(
                st.lists(st.lists(st.integers(-1, 2**32 + 1), min_size=1, max_size=3), max_size=34)
            )
        return payload

    return build()


@pytest.mark.parametrize("kind", link.DOWN)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_register_checks_accept_exactly_what_the_schema_accepts(
    kind: str, data: st.DataObject
) -> None:
    payload = data.draw(_mutations(kind))
    # the schema validator alone: codec.validate takes these very checks as its fast accept
    schema_ok = (
        isinstance(payload, dict)
        and not isinstance(payload.get("v"), bool)
        and payload.get("v") == link.VERSION
        and not codec.schema_errors(kind, payload)
    )
    if schema_ok and kind == link.STORED:
        schema_ok = all(g[0] <= g[1] for g in payload.get("missing", ()))  # codec._rules
    problems = link.CHECKS[kind](payload)
    assert schema_ok == (not problems), (payload, problems)


def test_a_firmware_update_needs_its_bundle_in_the_schema_as_in_the_register() -> None:
    # found by the property test above: the schema took a firmware_update without params
    cmd = {"v": 1, "id": "fw-1", "ttl": 60, "issued_at": 0, "action": "firmware_update"}
    with pytest.raises(PayloadFormatError):
        codec.validate("cmd", cmd)
    assert link.check_cmd(cmd)[0][0] == "params.firmware"
    cmd["params"] = {
        "firmware": {"version": "1.2.0", "url": "https://fw.example/1.2.0", "sha256": "a" * 64}
    }
    codec.validate("cmd", cmd)
    assert link.check_cmd(cmd) == []
    cmd["params"]["firmware"]["url"] = "ftp://fw.example/1.2.0"
    with pytest.raises(PayloadFormatError):
        codec.validate("cmd", cmd)
    assert link.check_cmd(cmd)[0][0] == "params.firmware.url"
