"""The peers' requests → the shared schema, as codecs: rubles ↔ kopecks exactly, and the
mappings never fail any other way than a typed MappingError, whatever JSON arrives."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.compat.atol.mapping import OPERATIONS
from fleet.compat.atol.mapping import to_request as atol_request
from fleet.compat.exceptions import MappingError
from fleet.compat.ferma.mapping import to_request as ferma_request
from fleet.compat.money import kopecks, quantity, rubles
from tests.compat.helpers import fixture_names, load

INN = "7700000016"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.integers(min_value=0, max_value=10**13))
def test_kopecks_survive_rubles_as_float_and_as_text(k: int) -> None:
    problems: list[tuple[str, str]] = []
    assert kopecks(problems, "p", rubles(k)) == k
    assert kopecks(problems, "p", f"{Decimal(k) / 100:.2f}") == k
    assert problems == []


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=9))
def test_a_fraction_of_a_kopeck_is_refused(k: int, tail: int) -> None:
    problems: list[tuple[str, str]] = []
    assert kopecks(problems, "items[0].price", f"{k // 100}.{k % 100:02d}{tail}") is None
    assert problems and problems[0][0] == "items[0].price"


@pytest.mark.parametrize("value", [True, None, [], {}, "abc", float("inf"), "1e999999"])
def test_not_a_sum(value: Any) -> None:
    problems: list[tuple[str, str]] = []
    assert kopecks(problems, "s", value) is None and len(problems) == 1


def test_quantities_keep_their_written_scale() -> None:
    p: list[tuple[str, str]] = []
    assert [quantity(p, "q", v) for v in (1, 0.345, "2.500", 10.0)] == ["1", "0.345", "2.5", "10"]


@settings(max_examples=300, deadline=None)
@given(JSON, st.sampled_from(sorted(OPERATIONS)))
def test_atol_mapping_fails_only_with_a_mapping_error(body: Any, operation: str) -> None:
    try:
        request, _callback = atol_request(operation, body, INN)
    except MappingError as e:
        assert e.errors and all(isinstance(m, str) and m for _p, m in e.errors)
    else:
        assert isinstance(request, dict)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_ferma_mapping_fails_only_with_a_mapping_error(body: Any) -> None:
    try:
        ferma_request(body, INN)
    except MappingError as e:
        assert e.errors


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return doc


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_fixture_with_any_field_replaced_maps_or_is_refused_by_field(data: st.DataObject) -> None:
    peer = data.draw(st.sampled_from(["atol", "ferma"]))
    fx = load(peer, data.draw(st.sampled_from(fixture_names(peer))), INN)
    path = data.draw(st.sampled_from(_paths(fx["request"])))
    body = _mutate(fx["request"], path, data.draw(JSON))
    try:
        if peer == "atol":
            atol_request(fx["operation"], body, INN)
        else:
            ferma_request(body, INN)
    except MappingError as e:
        assert all(isinstance(p, str) for p, _m in e.errors)
