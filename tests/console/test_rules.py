"""Each alarm rule (fleet/console/rules.py) on facts that trip it and facts that do not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fleet.console.models import Severity
from fleet.console.rules import (
    INACTIVE_S,
    RULES,
    Facts,
    clock_drift,
    drive_critical,
    drive_expiring,
    failure_rate,
    ofd_down,
    offline,
    queue_above_target,
    unsent_ageing,
)

NOW = 1_764_316_860.0
DAY = 86400.0


def facts(**over: Any) -> Facts:
    base: dict[str, Any] = {
        "register_id": 1,
        "serial": "SER001",
        "online": True,
        "presence_at": NOW - 3600,
        "last_seen_at": NOW - 10,
        "reported": {
            "clock": int(NOW),
            "clock_trusted": True,
            "drive": {"fn": "9999078900012345", "phase": 3, "warnings": 0, "last_fd": 5},
            "ofd": {"connected": True},
        },
        "reported_at": NOW,
    }
    base.update(over)
    return Facts(**base)


def drive(**over: Any) -> dict[str, Any]:
    rep = dict(facts().reported)
    rep["drive"] = {**rep["drive"], **over}
    return rep


def test_a_healthy_register_trips_no_rule() -> None:
    assert [r.code for r in RULES if r.check(facts(), NOW) is not None] == []


def test_offline_from_the_last_will_counts_from_the_will() -> None:
    f = offline(facts(online=False, presence_at=NOW - 30), NOW)
    assert f is not None and f.since == NOW - 30
    assert offline(facts(online=True), NOW) is None


def test_offline_from_silence_without_a_will() -> None:
    quiet = facts(last_seen_at=NOW - INACTIVE_S - 1)
    f = offline(quiet, NOW)
    assert f is not None and f.since == NOW - 1
    assert offline(facts(last_seen_at=NOW - INACTIVE_S + 5), NOW) is None
    # never connected (waiting for installation): nothing to alarm about
    assert offline(facts(online=None, last_seen_at=None), NOW) is None


def test_ofd_down_only_when_the_register_says_so() -> None:
    rep = {**facts().reported, "ofd": {"connected": False, "last_exchange_at": int(NOW - 600)}}
    f = ofd_down(facts(reported=rep), NOW)
    assert f is not None and f.since == NOW - 600 and "ОФД" in f.message
    no_ofd = {k: v for k, v in facts().reported.items() if k != "ofd"}
    assert ofd_down(facts(reported=no_ofd), NOW) is None


def test_unsent_documents_warn_after_a_day_and_are_critical_after_twenty() -> None:
    assert (
        unsent_ageing(facts(reported=drive(unsent=2, oldest_unsent_at=int(NOW - 3600))), NOW)
        is None
    )
    f = unsent_ageing(facts(reported=drive(unsent=2, oldest_unsent_at=int(NOW - 2 * DAY))), NOW)
    assert f is not None and f.severity is None and "2 дн." in f.message
    f = unsent_ageing(facts(reported=drive(unsent=9, oldest_unsent_at=int(NOW - 21 * DAY))), NOW)
    assert f is not None and f.severity is Severity.CRITICAL
    # nothing unsent: an old timestamp alone is not a condition
    assert (
        unsent_ageing(facts(reported=drive(unsent=0, oldest_unsent_at=int(NOW - 9 * DAY))), NOW)
        is None
    )


def _iso(days: float) -> str:
    return dt.datetime.fromtimestamp(NOW + days * DAY, dt.UTC).date().isoformat()


def test_drive_expiring_or_full() -> None:
    assert drive_expiring(facts(reported=drive(expires=_iso(200), memory_used_pct=40)), NOW) is None
    f = drive_expiring(facts(reported=drive(expires=_iso(20))), NOW)
    assert f is not None and "истекает" in f.message and f.severity is None
    f = drive_expiring(facts(reported=drive(expires=_iso(2))), NOW)
    assert f is not None and f.severity is Severity.CRITICAL
    f = drive_expiring(facts(reported=drive(memory_used_pct=93)), NOW)
    assert f is not None and "93 %" in f.message
    # the inventory's expiry when the register did not report one
    assert drive_expiring(facts(drive_expires_at=NOW + 5 * DAY), NOW) is not None


def test_critical_drive_error_is_bit_seven_of_the_flags() -> None:
    assert drive_critical(facts(reported=drive(warnings=0x80)), NOW) is not None
    assert drive_critical(facts(reported=drive(warnings=0x7F)), NOW) is None


def test_clock_drift_and_an_untrusted_clock() -> None:
    assert (
        clock_drift(facts(reported={**facts().reported, "clock": int(NOW + 400)}), NOW) is not None
    )
    assert (
        clock_drift(facts(reported={**facts().reported, "clock": int(NOW - 400)}), NOW) is not None
    )
    assert clock_drift(facts(reported={**facts().reported, "clock": int(NOW + 200)}), NOW) is None
    assert (
        clock_drift(facts(reported={**facts().reported, "clock_trusted": False}), NOW) is not None
    )


def test_queue_above_target_by_depth_or_lag() -> None:
    assert queue_above_target(facts(queued=25, oldest_queued_at=NOW - 1), NOW) is not None
    assert queue_above_target(facts(queued=2, oldest_queued_at=NOW - 300), NOW) is not None
    assert queue_above_target(facts(queued=10, oldest_queued_at=NOW - 30), NOW) is None


def test_failure_rate_needs_enough_results() -> None:
    assert failure_rate(facts(results=10, failures=3), NOW) is not None
    assert failure_rate(facts(results=10, failures=2), NOW) is None
    assert failure_rate(facts(results=4, failures=4), NOW) is None


def test_every_rule_has_a_unique_code_and_a_russian_label() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes)) == 8
    assert all(any("а" <= ch <= "я" for ch in r.label.lower()) for r in RULES)
