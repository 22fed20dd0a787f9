"""The request digest (firmware/register.py `digest`, the journal's refs on flash) and the link's
CRC-16 (firmware/crc16.py) now take CPython's C sums (zlib.adler32, binascii.crc_hqx) and a
type-dispatched canonical form: byte for byte what the portable code computed before, which the
journals already on flash name their requests by. The oracle is that code, copied here as it
was (2026-11-29)."""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import register
from firmware.crc16 import crc16, crc16_table
from firmware.register import adler_parts, canonical, digest

# ---- the code before, verbatim (the oracle) --------------------------------------------------


def _old_feed(v: object, acc: list[bytes]) -> None:
    if isinstance(v, dict):
        acc.append(b"{")
        for k in sorted(v):
            _old_feed(k, acc)
            _old_feed(v[k], acc)
        acc.append(b"}")
    elif isinstance(v, list) or isinstance(v, tuple):
        acc.append(b"[")
        for x in v:
            _old_feed(x, acc)
        acc.append(b"]")
    elif isinstance(v, str):
        raw = v.encode()
        acc.append(("s%d:" % len(raw)).encode())
        acc.append(raw)
    elif v is None or v is True or v is False:
        acc.append(b"n" if v is None else (b"t" if v else b"f"))
    elif isinstance(v, int):
        acc.append(("i%d;" % v).encode())
    else:
        acc.append(b"r")
        acc.append(repr(v).encode())


def old_digest(request: object, kind: str = "receipt") -> str:
    acc: list[bytes] = []
    _old_feed(request, acc)
    data = b"".join(acc)
    a = 1
    s = 0
    for x in data:
        a = (a + x) % 65521
        s = (s + a) % 65521
    letter = register._KIND_LETTERS.get(kind, "?")
    return "%s%d.%04x%04x%04x" % (letter, len(data), crc16_table(data), s, a)


# ---- values ----------------------------------------------------------------------------------


class Kind(enum.IntEnum):
    A = 1
    B = 300


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from([Kind.A, Kind.B]),  # an int subclass: the general rules
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=12), inner, max_size=6),
        st.dictionaries(st.text(max_size=8), inner, max_size=4).map(OrderedDict),
        st.dictionaries(st.integers(-5, 5), inner, max_size=3),  # non-str keys
    ),
    max_leaves=40,
)


@settings(max_examples=600)
@given(values, st.sampled_from(sorted(register._KIND_LETTERS) + ["unknown"]))
def test_digest_equals_the_portable_code(value: Any, kind: str) -> None:
    assert digest(value, kind) == old_digest(value, kind)


@settings(max_examples=300)
@given(values)
def test_canonical_equals_the_portable_feed(value: Any) -> None:
    acc: list[bytes] = []
    _old_feed(value, acc)
    assert canonical(value) == b"".join(acc)


@given(st.binary(max_size=3000))
def test_c_adler_equals_the_loop(data: bytes) -> None:
    import zlib

    s, a = adler_parts(data)
    assert zlib.adler32(data) == (s << 16) | a


@given(st.binary(max_size=600), st.integers(0, 0xFFFF), st.integers(0, 600))
def test_c_crc16_equals_the_table(data: bytes, init: int, cut: int) -> None:
    assert crc16(data, init) == crc16_table(data, init)
    mv = memoryview(data)
    assert crc16(mv[cut:], crc16(mv[:cut])) == crc16_table(data)  # in place, in pieces


def test_c_versions_in_use_on_cpython() -> None:
    # the speed-up is what this file guards: CPython must take the C sums
    assert register._adler32 is not None
    assert crc16 is not crc16_table
