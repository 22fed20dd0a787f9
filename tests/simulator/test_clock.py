"""simulator.clock: the injected clock contract (DESIGN.md decision 6)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from simulator.clock import DEFAULT_START, Clock, ClockError, SimClock, SystemClock


def test_sim_clock_jumps_days_in_no_time() -> None:
    clock = SimClock()
    assert clock.wall() == DEFAULT_START
    assert clock.monotonic() == 0.0
    started = time.monotonic()
    clock.advance(30 * 86400)
    clock.sleep(3600)
    assert time.monotonic() - started < 0.5
    assert clock.wall() == DEFAULT_START + 30 * 86400 + 3600
    assert clock.monotonic() == 30 * 86400 + 3600
    assert clock.now() == dt.datetime(2024, 2, 14, 8, 30, tzinfo=dt.UTC)


def test_set_wall_moves_only_the_wall_clock() -> None:
    clock = SimClock(dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    clock.advance(10)
    clock.set_wall(dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))))
    assert clock.wall() == dt.datetime(2019, 12, 31, 21, tzinfo=dt.UTC).timestamp()
    assert clock.monotonic() == 10  # monotonic time never goes back
    clock.set_wall(1_700_000_000.5)
    assert clock.wall() == 1_700_000_000.5


def test_sim_clock_refuses_what_time_cannot_do() -> None:
    clock = SimClock()
    with pytest.raises(ClockError):
        clock.advance(-1)
    with pytest.raises(ClockError):
        clock.set_wall(dt.datetime(2024, 1, 1))  # naive: which zone?
    with pytest.raises(ClockError):
        SimClock(real_sleep_scale=-1)
    clock.sleep(-5)  # a negative sleep is a no-op, as time.sleep(0)
    assert clock.monotonic() == 0


def test_scaled_sleep_really_sleeps() -> None:
    clock = SimClock(real_sleep_scale=0.01)
    started = time.monotonic()
    clock.sleep(2.0)
    assert 0.015 <= time.monotonic() - started < 1.0
    assert clock.monotonic() == 2.0


def test_system_clock_contract() -> None:
    clocks: list[Clock] = [SystemClock(), SimClock()]
    for clock in clocks:
        first = clock.monotonic()
        clock.sleep(0.001)
        assert clock.monotonic() >= first
        assert isinstance(clock.wall(), float)
    assert abs(SystemClock().wall() - time.time()) < 1
