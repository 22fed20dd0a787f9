"""The fleet's fixtures for the compat and sandbox tests, on a 2026 clock (VAT 22 %)."""

from __future__ import annotations

import pytest

from fleet.core.clock import SettableClock
from tests.receipts.conftest import (
    fixture_client,
    fixture_ctx,
    fixture_engine,
    fixture_mailer,
    fixture_pg_engine,
    fixture_pg_server,
    fixture_settings,
)

__all__ = [
    "fixture_client",
    "fixture_ctx",
    "fixture_engine",
    "fixture_mailer",
    "fixture_pg_engine",
    "fixture_pg_server",
    "fixture_settings",
]

FEB_2026 = 1_770_714_000.0  # 2026-02-10 09:00 UTC (12:00 in Moscow)


@pytest.fixture(name="clock")
def fixture_clock() -> SettableClock:
    return SettableClock(FEB_2026)
