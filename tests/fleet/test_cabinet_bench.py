"""The cabinet benchmark at a small scale on PostgreSQL: the result's shape, and the card's
counters it saw equal an independent count (skipped without a PostgreSQL DATABASE_URL)."""

from __future__ import annotations

import os

import pytest

from bench import cabinet

URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not URL.startswith(("postgresql", "postgres:")), reason="needs DATABASE_URL=postgresql://..."
)


def test_small_run_measures_every_request_kind_and_counts_right() -> None:
    result = cabinet.run(URL, registers=2000, documents=100_000, n=20, seed=1)
    assert (result.registers, result.documents) == (2000, 100_000)
    assert result.client_registers >= 100 and result.load_s > 0
    names = [t.name for t in result.timings]
    assert len(names) == len(set(names)) == 11
    assert any("карточка API" in n for n in names) and any("3 фильтра" in n for n in names)
    for t in result.timings:
        assert t.n == 20 and 0 < t.p50_ms <= t.p95_ms <= t.max_ms
        assert t.sql_p50_ms is not None and t.sql_p50_ms > 0 and t.ratio is not None
    assert result.checks and all(c.equal for c in result.checks), result.checks
    assert all(c.api["documents_total"] > 0 for c in result.checks)
    assert result.worst_p95_ms == max(t.p95_ms for t in result.timings)


def test_refuses_a_non_postgresql_url() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        cabinet.run("sqlite:///x.db", registers=10, documents=10)
