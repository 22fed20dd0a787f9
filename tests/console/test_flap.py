"""Flap damping (fleet/console/flap.py): properties over any sequence of observations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.console.flap import Event, Phase, Watch, step

RAISE_AFTER = 120.0
CLEAR_AFTER = 60.0

# observations: (seconds since the previous one, is the condition active)
observations = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=200.0), st.booleans()), max_size=60
)


def run(obs: list[tuple[float, bool]]) -> list[tuple[float, bool, Event | None, Watch]]:
    w, now, out = Watch(), 0.0, []
    for dt_, active in obs:
        now += dt_
        w, ev = step(w, active, now, raise_after_s=RAISE_AFTER, clear_after_s=CLEAR_AFTER)
        out.append((now, active, ev, w))
    return out


@given(observations)
@settings(max_examples=300)
def test_raise_only_after_the_condition_held_its_time_out(obs: list[tuple[float, bool]]) -> None:
    trace = run(obs)
    for i, (now, active, ev, _w) in enumerate(trace):
        if ev is Event.RAISE:
            assert active
            # every observation back to the run's start was active, and the run is long enough
            start = i
            while start > 0 and trace[start - 1][1]:
                start -= 1
            assert now - trace[start][0] >= RAISE_AFTER


@given(observations)
@settings(max_examples=300)
def test_clear_only_after_the_condition_was_gone_its_time(obs: list[tuple[float, bool]]) -> None:
    trace = run(obs)
    for i, (now, active, ev, _w) in enumerate(trace):
        if ev is Event.CLEAR:
            assert not active
            start = i
            while start > 0 and not trace[start - 1][1]:
                start -= 1
            assert now - trace[start][0] >= CLEAR_AFTER


@given(observations)
@settings(max_examples=300)
def test_raises_and_clears_alternate_and_the_phase_says_raised(
    obs: list[tuple[float, bool]],
) -> None:
    raised = False
    for _now, _active, ev, w in run(obs):
        if ev is Event.RAISE:
            assert not raised
            raised = True
        elif ev is Event.CLEAR:
            assert raised
            raised = False
        assert raised == (w.phase in (Phase.RAISED, Phase.RECOVERING))


@given(st.integers(min_value=1, max_value=40))
def test_flapping_faster_than_the_clear_time_keeps_one_alarm(flaps: int) -> None:
    # down for 3 minutes (raised), then up 30 s / down 30 s again and again: never cleared,
    # never raised twice
    obs = [(0.0, True), (180.0, True)] + [(30.0, False), (30.0, True)] * flaps
    events = [ev for _n, _a, ev, _w in run(obs) if ev is not None]
    assert events == [Event.RAISE]


def test_a_blip_shorter_than_the_time_out_raises_nothing() -> None:
    obs = [(0.0, True), (100.0, True), (10.0, False), (10.0, True), (100.0, True)]
    assert [ev for _n, _a, ev, _w in run(obs) if ev is not None] == []


def test_the_condition_start_counts_not_when_it_was_noticed() -> None:
    # the last will came 5 minutes before the first evaluation: raised at once
    w, ev = step(Watch(), True, 1000.0, started_at=700.0, raise_after_s=RAISE_AFTER)
    assert ev is Event.RAISE and w.phase is Phase.RAISED
    w, ev = step(Watch(), True, 1000.0, started_at=950.0, raise_after_s=RAISE_AFTER)
    assert ev is None and w == Watch(Phase.PENDING, 950.0)
    w, ev = step(w, True, 1070.0, started_at=950.0, raise_after_s=RAISE_AFTER)
    assert ev is Event.RAISE
