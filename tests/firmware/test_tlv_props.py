"""Properties of the two TLV codecs: the firmware codec and the construct spec agree to the
byte on generated documents, each round-trips, and any bytes give a tree or a typed error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.codec import to_firmware, to_spec
from firmware import cp866
from firmware import tlv as fw
from firmware.errors import TlvError
from protocol import tlv as spec
from protocol.errors import ContainerError, TlvDecodeError, TlvEncodeError
from protocol.ofd import parse_container, parse_message
from protocol.tags import DOCUMENT_TYPES, REGISTRY, Kind, TagDef

CP866_CHARS = bytes(range(256)).decode("cp866")
LEAVES = [d for d in REGISTRY.values() if d.kind is not Kind.STLV]
NESTS = [d for d in REGISTRY.values() if d.kind is Kind.STLV and d.tag not in DOCUMENT_TYPES]
ITEM_TAGS = [1030, 1079, 1023, 1043, 1199, 1200, 1212, 1214, 2108, 1222, 1162, 2000]
UINT_MAX = {Kind.BYTE: 0xFF, Kind.U16: 0xFFFF, Kind.U32: 0xFFFFFFFF, Kind.UNIXTIME: 0xFFFFFFFF}

fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def leaf(draw: st.DrawFn, d: TagDef) -> tuple[Any, ...]:
    """A valid value of a non-STLV tag in the firmware field form."""
    k = d.kind
    if k in UINT_MAX:
        return (d.tag, draw(st.integers(0, UINT_MAX[k])))
    if k is Kind.VLN:
        v = draw(st.integers(0, 256 ** min(d.max_len, 8) - 1))
        minimal = fw.vln_size(v)
        if minimal < d.max_len and draw(st.booleans()):
            return (d.tag, v, draw(st.integers(minimal + 1, d.max_len)))
        return (d.tag, v)
    if k is Kind.FVLN:
        m = draw(st.integers(0, 256 ** (d.max_len - 1) - 1))
        text = fw.fvln_text(m, draw(st.integers(0, 9)))
        minimal = 1 + (fw.vln_size(m) or 1)
        if minimal < d.max_len and draw(st.booleans()):
            return (d.tag, text, draw(st.integers(minimal + 1, d.max_len)))
        return (d.tag, text)
    if k is Kind.STRING:
        n = d.fixed or min(d.max_len, 40)
        text = draw(st.text(CP866_CHARS, max_size=n))
        return (d.tag, text.ljust(d.fixed) if d.fixed else text)
    return (d.tag, draw(st.binary(max_size=min(d.max_len, 24))))


any_leaf = st.sampled_from(LEAVES).flatmap(leaf)


def nested(depth: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """An STLV of a random nesting tag, children leaves or (depth-1) STLVs."""
    child = any_leaf if depth == 0 else st.one_of(any_leaf, nested(depth - 1))
    return st.tuples(st.sampled_from(NESTS).map(lambda d: d.tag), st.lists(child, max_size=4))


item = st.lists(
    st.sampled_from(ITEM_TAGS).flatmap(lambda t: leaf(REGISTRY[t])), min_size=1, max_size=9
).map(lambda children: (1059, children))


@st.composite
def receipt(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A receipt (tag 3): random top-level leaves, nested STLVs and up to 100 items."""
    body = draw(st.lists(st.one_of(any_leaf, nested(1)), max_size=10))
    body += draw(st.lists(item, max_size=100))
    return [(3, draw(st.permutations(body)))]


def _both_encode(doc: list[tuple[Any, ...]]) -> bytes | None:
    """Encode in both codecs; they must agree on the bytes or both refuse."""
    try:
        mine = fw.encode(doc)
    except TlvError as e:
        try:
            spec.encode(to_spec(doc))
        except TlvEncodeError as e2:
            assert e.path == e2.path
            return None
        raise AssertionError(f"firmware refused what the spec accepts: {e}") from e
    assert spec.encode(to_spec(doc)) == mine
    return mine


@fast
@given(receipt())
def test_codecs_agree_on_receipts(doc: list[tuple[Any, ...]]) -> None:
    raw = _both_encode(doc)
    if raw is None:
        return
    assert fw.decode(raw) == doc
    assert spec.decode(raw) == to_spec(doc)
    assert fw.size_of(doc) == len(raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(any_leaf, nested(2)), max_size=6))
def test_codecs_agree_on_any_fields(fields: list[tuple[Any, ...]]) -> None:
    raw = _both_encode(fields)
    if raw is not None:
        assert fw.decode(raw) == fields
        assert to_firmware(spec.decode(raw)) == fields


def _decode_both(raw: bytes) -> None:
    try:
        mine = fw.decode(raw)
    except TlvError as e:
        try:
            spec.decode(raw)
        except TlvDecodeError as e2:
            assert (e.path, e.offset) == (e2.path, e2.offset)
            return
        raise AssertionError(f"firmware refused what the spec decodes: {e}") from e
    theirs = spec.decode(raw)
    assert to_firmware(theirs) == mine
    assert fw.encode(mine) == raw  # widths and padding survive: the fiscal sign holds
    assert spec.encode(theirs) == raw


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_fail_typed_in_both(raw: bytes) -> None:
    _decode_both(raw)


@fast
@given(receipt(), st.data())
def test_corrupted_documents_decode_or_fail_typed(
    doc: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    raw = _both_encode(doc)
    if not raw:
        return
    bad = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(bad) - 1))
        bad[i] ^= 1 << data.draw(st.integers(0, 7))
    _decode_both(bytes(bad))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_into_container_parsers_fail_typed(raw: bytes) -> None:
    for parse in (parse_container, parse_message):
        try:
            parse(raw)
        except (ContainerError, TlvDecodeError):
            pass


@settings(max_examples=200, deadline=None)
@given(st.text(CP866_CHARS, max_size=60))
def test_cp866_table_matches_the_platform_codec(text: str) -> None:
    buf = bytearray(len(text))
    assert cp866.write_table(text, buf, 0) == len(text)
    assert bytes(buf) == text.encode("cp866")
    assert cp866.decode_table(bytes(buf)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_cp866_table_refuses_what_cp866_lacks(text: str) -> None:
    try:
        want: bytes | None = text.encode("cp866")
    except UnicodeEncodeError:
        want = None
    buf = bytearray(len(text))
    try:
        cp866.write_table(text, buf, 0)
    except TlvError:
        assert want is None
    else:
        assert bytes(buf) == want
