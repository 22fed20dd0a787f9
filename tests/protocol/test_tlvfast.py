"""The struct TLV codec (protocol/tlvfast.py) against its oracle, the construct spec
(protocol/tlv.py): the same trees, bytes and typed errors — reason, tag path and offset — on
generated documents, on malformed and mutated bytes, on values a tag cannot hold, and on the
golden vectors."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import tlv as spec
from protocol import tlvfast as fast
from protocol.errors import TlvDecodeError, TlvEncodeError, TlvError
from protocol.tags import DOCUMENT_TYPES, REGISTRY, Kind, TagDef
from protocol.tree import Field

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
TLV = json.loads((VECTORS / "tlv_examples.json").read_text())
V1_RAW = bytes.fromhex((VECTORS / "v1_container_registration.hex").read_text().strip())

CP866_CHARS = bytes(range(256)).decode("cp866")
LEAVES = [d for d in REGISTRY.values() if d.kind is not Kind.STLV]
NESTS = [d for d in REGISTRY.values() if d.kind is Kind.STLV and d.tag not in DOCUMENT_TYPES]
ITEM_TAGS = [1030, 1079, 1023, 1043, 1199, 1200, 1212, 1214, 2108, 1222, 1162, 2000]
UNKNOWN_TAGS = [t for t in (0, 9, 999, 1003, 4000, 65000, 65535) if t not in REGISTRY]
UINT_MAX = {Kind.BYTE: 0xFF, Kind.U16: 0xFFFF, Kind.U32: 0xFFFFFFFF, Kind.UNIXTIME: 0xFFFFFFFF}

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same_tree(a: list[Field], b: list[Field]) -> None:
    """Equal and of equal form: repr tells Decimal("1.50") from Decimal("1.5"), which == does
    not (the exponent is the wire scale, decision 1 of DESIGN.md)."""
    assert a == b
    assert repr(a) == repr(b)


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or ("error", (type, message, path, offset)) of a codec call."""
    try:
        return "ok", fn()
    except TlvError as e:
        return "error", (type(e), str(e), e.path, e.offset)


def agree_decode(raw: bytes, offset: int = 0) -> list[Field] | None:
    """Both decoders give the same tree, or the same typed error; the tree (or None)."""
    kind, theirs = outcome(lambda: spec.decode(raw, offset=offset))
    kind2, mine = outcome(lambda: fast.decode(raw, offset=offset))
    assert kind2 == kind, (theirs, mine)
    if kind == "error":
        assert theirs[0] is TlvDecodeError
        assert mine == theirs
        return None
    same_tree(mine, theirs)
    return list(mine)


def agree_encode(fields: list[Field]) -> bytes | None:
    """Both encoders give the same bytes, or the same typed error; the bytes (or None)."""
    kind, theirs = outcome(lambda: spec.encode(fields))
    kind2, mine = outcome(lambda: fast.encode(fields))
    assert kind2 == kind, (theirs, mine)
    if kind == "error":
        assert theirs[0] is TlvEncodeError
        assert mine == theirs
        return None
    assert mine == theirs
    return bytes(mine)


# ---- strategies: valid fields in the spec's form ------------------------------------------


@st.composite
def fvln_value(draw: st.DrawFn, max_len: int) -> Decimal:
    """A non-negative Decimal whose mantissa fits the tag, its exponent the wire scale."""
    mantissa = draw(st.integers(0, 256 ** (max_len - 1) - 1))
    return Decimal(mantissa).scaleb(-draw(st.integers(0, 12)))


@st.composite
def leaf(draw: st.DrawFn, d: TagDef) -> Field:
    """A valid value of a non-STLV tag; VLN/FVLN sometimes wider than minimal."""
    k = d.kind
    if k in UINT_MAX:
        return Field(d.tag, draw(st.integers(0, UINT_MAX[k])))
    if k is Kind.VLN:
        v = draw(st.integers(0, 256**d.max_len - 1))
        minimal = spec.vln_size(v)
        if minimal < d.max_len and draw(st.booleans()):
            return Field(d.tag, v, draw(st.integers(minimal + 1, d.max_len)))
        return Field(d.tag, v)
    if k is Kind.FVLN:
        value = draw(fvln_value(d.max_len))
        minimal = 1 + max(1, spec.vln_size(spec.fvln_parts(value)[1]))
        if minimal < d.max_len and draw(st.booleans()):
            return Field(d.tag, value, draw(st.integers(minimal + 1, d.max_len)))
        return Field(d.tag, value)
    if k is Kind.STRING:
        text = draw(st.text(CP866_CHARS, max_size=d.fixed or min(d.max_len, 40)))
        return Field(d.tag, text.ljust(d.fixed) if d.fixed else text)
    return Field(d.tag, draw(st.binary(max_size=min(d.max_len, 24))))


unknown = st.builds(Field, st.sampled_from(UNKNOWN_TAGS), st.binary(max_size=16))
any_leaf = st.one_of(
    st.sampled_from([d.tag for d in LEAVES]).flatmap(lambda t: leaf(REGISTRY[t])), unknown
)


def nested(depth: int) -> st.SearchStrategy[Field]:
    """An STLV of a nesting tag: leaves, unknown tags or (depth - 1) STLVs."""
    child = any_leaf if depth == 0 else st.one_of(any_leaf, nested(depth - 1))
    return st.builds(
        Field, st.sampled_from([d.tag for d in NESTS]), st.lists(child, max_size=4).map(tuple)
    )


item = st.lists(
    st.sampled_from(ITEM_TAGS).flatmap(lambda t: leaf(REGISTRY[t])), min_size=1, max_size=9
).map(lambda children: Field(1059, tuple(children)))


@st.composite
def document(draw: st.DrawFn) -> list[Field]:
    """A document STLV of a random type: leaves, nested STLVs and up to 60 items."""
    body = draw(st.lists(st.one_of(any_leaf, nested(1)), max_size=12))
    body += draw(st.lists(item, max_size=60))
    return [Field(draw(st.sampled_from([3, 31, 4, 1, 2, 5])), tuple(draw(st.permutations(body))))]


# ---- valid documents: same bytes, same tree -----------------------------------------------


@PROPS
@given(document())
def test_documents_encode_and_decode_alike(doc: list[Field]) -> None:
    raw = agree_encode(doc)
    if raw is None:  # a generated document over its tag's max length: refused alike
        return
    tree = agree_decode(raw)
    assert tree is not None
    same_tree(tree, doc)
    assert fast.encode(tree) == raw  # widths and padding survive: the fiscal sign holds


@PROPS
@given(st.lists(st.one_of(any_leaf, nested(2)), max_size=8), st.integers(0, 5000))
def test_any_fields_round_trip_alike(fields: list[Field], offset: int) -> None:
    raw = agree_encode(fields)
    if raw is None:  # an STLV over its tag's max length: refused alike
        return
    tree = agree_decode(raw, offset)
    assert tree is not None
    same_tree(tree, fields)


# ---- malformed input: the same typed error ------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 100))
def test_random_bytes_decode_or_fail_alike(raw: bytes, offset: int) -> None:
    agree_decode(raw, offset)


@PROPS
@given(document(), st.data())
def test_mutated_documents_decode_or_fail_alike(doc: list[Field], data: st.DataObject) -> None:
    raw = agree_encode(doc)
    if not raw:
        return
    bad = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(bad) - 1))
        bad[i] ^= 1 << data.draw(st.integers(0, 7))
    agree_decode(bytes(bad))
    agree_decode(raw[: data.draw(st.integers(0, len(raw)))])  # cut anywhere


def test_every_cut_of_the_v1_document_fails_alike() -> None:
    body = V1_RAW[32:-10]
    for n in range(len(body)):
        assert agree_decode(body[:n], 32) is None or n == 0


#: Values a tag cannot hold, of every kind of refusal the spec has.
BAD_VALUES: list[Field] = [
    Field(1054, 256),
    Field(1054, -1),
    Field(1054, True),
    Field(1054, "1"),
    Field(1054, 1.0),  # type: ignore[arg-type]
    Field(1038, 2**32),
    Field(1213, 0x10000),
    Field(1213, -1),
    Field(1077, b"x" * 7),
    Field(1012, -5),
    Field(1020, -1),
    Field(1020, True),
    Field(1020, 2**48),
    Field(1020, 12345, 1),
    Field(1020, 1, 0),
    Field(1020, 1, 7),
    Field(1020, 1, -1),
    Field(1023, Decimal("-1")),
    Field(1023, Decimal("NaN")),
    Field(1023, Decimal("Infinity")),
    Field(1023, Decimal(1).scaleb(-300)),
    Field(1023, Decimal(256**7)),
    Field(1023, Decimal("1.5"), 1),
    Field(1023, Decimal("1.5"), 9),
    Field(1023, 1),
    Field(1030, "x" * 129),
    Field(1030, "日本"),
    Field(1030, b"bytes"),
    Field(1018, "1234567890123"),
    Field(1077, "text"),
    Field(1077, bytearray(b"x")),
    Field(1059, [Field(1030, "list, not tuple")]),  # type: ignore[arg-type]
    Field(1059, (Field(1030, 5),)),
    Field(1059, (Field(1084, (Field(1085, "x" * 65),)),)),
    Field(1059, tuple(Field(1030, "x" * 128) for _ in range(10))),
    Field(65001, 5),
    Field(70000, b"x"),
    Field(-1, b"x"),
    Field(9, b"x" * 0x10000),
]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
def test_bad_values_are_refused_alike(bad: Field) -> None:
    fields = [Field(1054, 1), Field(3, (Field(1020, 5), bad))]
    assert agree_encode([bad]) is None
    assert agree_encode(fields) is None  # nested: the path says where


@PROPS
@given(st.lists(st.one_of(any_leaf, st.sampled_from(BAD_VALUES)), max_size=6))
def test_mixed_good_and_bad_values_alike(fields: list[Field]) -> None:
    agree_encode(fields)
    agree_encode([Field(3, tuple(fields))])


# ---- golden vectors -----------------------------------------------------------------------


@pytest.mark.parametrize("ex", TLV["examples"], ids=lambda ex: ex["hex"])
def test_examples_alike(ex: dict[str, Any]) -> None:
    raw = bytes.fromhex(ex["hex"])
    tree = agree_decode(raw)
    if ex["value"] is None:
        assert tree is None  # the deliberately invalid field
    else:
        assert tree is not None
        assert fast.encode(tree) == raw


@pytest.mark.parametrize("vv", TLV["value_vectors"], ids=lambda vv: vv["hex"])
def test_value_vectors_alike(vv: dict[str, str]) -> None:
    tag = {"VLN": 1020, "FVLN": 1023, "UnixTime": 1012, "string": 1030}[vv["type"]]
    value = bytes.fromhex(vv["hex"])
    raw = tag.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
    tree = agree_decode(raw)
    assert tree is not None
    assert fast.encode(tree) == raw


def test_v1_registration_report_alike() -> None:
    body = V1_RAW[32:-10]
    tree = agree_decode(body, 32)
    assert tree is not None and tree[0].tag == 1
    assert fast.encode(tree) == body
    assert isinstance(fast.decode(bytearray(body))[0].value, tuple)  # any bytes-like


def test_non_minimal_widths_survive() -> None:
    raw = bytes.fromhex("ff030800" + "02d7370200000000" + "fc0304003930" + "0000")
    tree = fast.decode(raw)
    assert tree == [Field(1023, Decimal("1453.67"), 8), Field(1020, 12345, 4)]
    assert fast.encode(tree) == raw
