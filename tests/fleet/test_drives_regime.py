"""The regime rules: which term the law requires, how long a drive lives, the advice, the chart."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from fleet.drives import catalogue, regime
from fleet.drives.chart import timeline
from fleet.drives.schedule import ScheduleRow, level_of

TAX = ("osn", "usn_income", "usn_income_expense", "esxn", "psn")

profiles = st.builds(
    regime.Profile,
    tax_systems=st.frozensets(st.sampled_from(TAX)),
    services=st.booleans(),
    excise=st.booleans(),
    autonomous=st.booleans(),
    seasonal=st.booleans(),
    marked=st.booleans(),
)


def test_the_cited_lives() -> None:
    usn = regime.Profile(tax_systems=frozenset({"usn_income"}))
    osn = regime.Profile(tax_systems=frozenset({"osn"}))
    assert usn.needs_36() and regime.allowed_terms(usn) == (36,)
    assert not osn.needs_36() and regime.allowed_terms(osn) == (13, 15, 36)
    assert regime.Profile(tax_systems=frozenset({"osn"}), services=True).needs_36()
    assert regime.effective_days(36, usn) == 1100 and regime.effective_days(15, osn) == 470
    excise = regime.Profile(tax_systems=frozenset({"usn_income"}), excise=True)
    assert not excise.needs_36() and regime.effective_days(36, excise) == 410
    auto = regime.Profile(tax_systems=frozenset({"psn"}), autonomous=True)
    assert regime.effective_days(36, auto) == 560 and regime.effective_days(15, auto) == 396
    both = regime.Profile(tax_systems=frozenset({"osn", "usn_income"}))
    assert not both.needs_36() and regime.effective_days(36, both) == 410


def test_a_short_drive_under_usn_is_flagged_with_the_koap_article() -> None:
    usn = regime.Profile(tax_systems=frozenset({"usn_income"}))
    check = regime.check_drive(usn, 15, "ФН-1.2")
    assert not check.ok and "ч. 4 ст. 14.5 КоАП" in check.problems[0]
    assert regime.check_drive(usn, 36, "ФН-1.2").ok
    assert regime.check_drive(usn, None, "ФН-1.2").ok  # unknown term: no accusation
    marked = regime.Profile(tax_systems=frozenset({"osn"}), marked=True)
    assert "ФН-1.2" in regime.check_drive(marked, 15, "ФН-1.1М").problems[0]


@given(profiles)
def test_the_advice_is_always_allowed_and_required_when_the_law_says(
    profile: regime.Profile,
) -> None:
    advice = regime.advise(profile, catalogue.prices())
    assert advice.term_months in regime.allowed_terms(profile)
    assert advice.required == profile.needs_36()
    assert set(advice.days) == set(regime.allowed_terms(profile))
    assert all(d >= 396 for d in advice.days.values()) and advice.reason
    if profile.seasonal and not profile.needs_36():
        assert advice.term_months == min(regime.allowed_terms(profile))
    # a profile that needs 36 months never gets a misfit on a 36-month drive
    assert not [p for p in regime.check_drive(profile, 36, "ФН-1.2").problems if "мес." in p]


@given(st.integers(0, 2000))
def test_term_of_life_is_monotonic(days: int) -> None:
    term = regime.term_of_life(days)
    later = regime.term_of_life(days + 100)
    assert term is None or (later is not None and later >= term)


def _row(rid: int, replace_by: dt.date | None) -> ScheduleRow:
    return ScheduleRow(
        register_id=rid,
        label=str(rid),
        state="active",
        fn_number=None,
        expires=None,
        used_pct=None,
        full=None,
        replace_by=replace_by,
        days_left=None,
        level="unknown",
        reason="",
        term_months=None,
        problems=(),
        reregistrations_done=0,
        reregistrations_left=None,
    )


def test_the_chart_counts_by_month() -> None:
    today = dt.date(2026, 11, 28)
    rows = [
        _row(1, dt.date(2026, 11, 1)),  # overdue
        _row(2, dt.date(2026, 11, 30)),
        _row(3, dt.date(2026, 12, 5)),
        _row(4, dt.date(2026, 12, 31)),
        _row(5, dt.date(2029, 1, 1)),  # beyond 18 months
        _row(6, None),
    ]
    chart = timeline(rows, today)
    counts = [(b.label, b.count) for b in chart.bars[:4]]
    assert [b.sublabel for b in chart.bars[1:4]] == ["2026", "2026", "2027"]
    assert counts == [("срок", 1), ("ноя", 1), ("дек", 2), ("янв", 0)]
    assert chart.later == 1 and chart.unknown == 1 and len(chart.bars) == 19
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.label == "дек" and tallest.y + tallest.height == chart.height - 30
    assert [level_of(d) for d in (None, -1, 0, 7, 8, 30, 31)] == [
        "unknown",
        "overdue",
        "urgent",
        "urgent",
        "soon",
        "soon",
        "ok",
    ]
