"""The tag registry: one consistent source of truth."""

from __future__ import annotations

from collections import Counter

from protocol.tagdata import TAGS
from protocol.tags import DOCUMENT_TYPES, FFD_VERSIONS, FIXED_SIZE, REGISTRY, Kind, by_id, lookup


def test_rows_are_unique_and_sorted_within_groups() -> None:
    tags = [row[0] for row in TAGS]
    ids = [row[4] for row in TAGS]
    assert [t for t, n in Counter(tags).items() if n > 1] == []
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert len(REGISTRY) == len(TAGS) >= 200


def test_kinds_and_sizes_are_consistent() -> None:
    for d in REGISTRY.values():
        assert 0 < d.max_len <= 0xFFFF, d
        if d.kind in FIXED_SIZE:
            assert d.max_len == FIXED_SIZE[d.kind], d
        if d.fixed:
            assert d.kind is Kind.STRING and d.max_len == d.fixed, d
        assert d.ru_name and d.en_id[0].islower() and d.en_id.isalnum(), d
        assert set(d.ffd) <= set(FFD_VERSIONS), d
        assert set(d.docs) <= set(DOCUMENT_TYPES), d


def test_document_types_and_key_tags() -> None:
    for t in DOCUMENT_TYPES:
        assert lookup(t) is not None and lookup(t).kind is Kind.STLV  # type: ignore[union-attr]
    expect = {
        1054: (Kind.BYTE, 1, 0),
        1020: (Kind.VLN, 6, 0),
        1023: (Kind.FVLN, 8, 0),
        1030: (Kind.STRING, 128, 0),
        1041: (Kind.STRING, 16, 16),
        1037: (Kind.STRING, 20, 20),
        1018: (Kind.STRING, 12, 12),
        1012: (Kind.UNIXTIME, 4, 0),
        1077: (Kind.BYTES, 6, 0),
        1059: (Kind.STLV, 1024, 0),
        1290: (Kind.U32, 4, 0),
    }
    for tag, (kind, max_len, fixed) in expect.items():
        d = REGISTRY[tag]
        assert (d.kind, d.max_len, d.fixed) == (kind, max_len, fixed), tag
    assert by_id("operationType") is REGISTRY[1054]
