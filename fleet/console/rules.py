"""The alarm rules: a table of small functions over one register's facts (shadow and events).

Each rule looks at `Facts` at `now` and returns a `Finding` (the condition holds: a Russian
message, since when if known, and a severity when it differs from the rule's) or None. The
evaluator (fleet/console/alarms.py) damps each rule with its `raise_after_s`/`clear_after_s`
(fleet/console/flap.py). Thresholds cite where they come from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from fleet.console.models import Severity

__all__ = [
    "CRITICAL_WARNING",
    "RULES",
    "Facts",
    "Finding",
    "Rule",
    "rule_by_code",
]

#: 30h byte 4 bit 7: «Критическая ошибка ФН» (reference fiscal-protocols.md §1.5)
CRITICAL_WARNING: Final = 0x80
#: a register reports its state every 60 s (firmware/agent.py state_every_s): three missed
#: reports with no other message mean the link is gone even if no last will came
INACTIVE_S: Final = 180.0
OFFLINE_AFTER_S: Final = 120.0  # presence offline this long: a reboot or update takes less
#: the drive blocks 30 days after its oldest unsent document (54-FZ art. 4.1 p. 3; FN
#: protocol «30 дней без связи с ОФД»): warn after a day, critical with 10 days left
UNSENT_WARN_S: Final = 24 * 3600.0
UNSENT_CRITICAL_S: Final = 20 * 24 * 3600.0
DRIVE_EXPIRY_WARN_DAYS: Final = 30  # a replacement drive needs delivery and re-registration
DRIVE_EXPIRY_CRITICAL_DAYS: Final = 3
DRIVE_FULL_PCT: Final = 90
MAX_CLOCK_DRIFT_S: Final = 300.0  # the desired state's default drift limit (docs/mqtt.md)
#: routing keeps at most 32 parts in flight per register (fleet/receipts/routing.py); more
#: than three quarters of that, or a part waiting over two minutes, is above the target
QUEUE_TARGET: Final = 24
QUEUE_LAG_S: Final = 120.0
FAILURE_RATE: Final = 0.2  # of the last hour's results
FAILURE_MIN_RESULTS: Final = 5


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules know of one register (times are UTC seconds)."""

    register_id: int
    serial: str
    online: bool | None = None  # None: no presence seen yet
    presence_at: float | None = None
    last_seen_at: float | None = None
    reported: dict[str, Any] = field(default_factory=dict)
    reported_at: float | None = None
    drive_expires_at: float | None = None  # the inventory's
    queued: int = 0  # receipt parts given to it and not yet answered
    oldest_queued_at: float | None = None
    results: int = 0  # document results in the last hour
    failures: int = 0  # of which failed


@dataclass(frozen=True)
class Finding:
    """A condition that holds."""

    message: str
    since: float | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    code: str
    label: str
    severity: Severity
    check: Callable[[Facts, float], Finding | None]
    raise_after_s: float = 0.0
    clear_after_s: float = 0.0


def _when(t: float) -> str:
    return (
        dt.datetime.fromtimestamp(t, dt.UTC)
        .astimezone(dt.timezone(dt.timedelta(hours=3)))
        .strftime("%d.%m.%Y %H:%M МСК")
    )


def offline(f: Facts, now: float) -> Finding | None:
    """The last will (presence offline), or no message at all for INACTIVE_S."""
    if f.online is False:
        since = f.presence_at if f.presence_at is not None else f.last_seen_at
        return Finding("Касса не в сети (последняя воля брокера)", since)
    if f.online is None and f.last_seen_at is None:
        return None  # never connected: not installed yet, nothing to alarm about
    if f.last_seen_at is not None and now - f.last_seen_at >= INACTIVE_S:
        return Finding(f"Касса молчит с {_when(f.last_seen_at)}", f.last_seen_at + INACTIVE_S)
    return None


def ofd_down(f: Facts, now: float) -> Finding | None:
    """The register reports its OFD link down."""
    ofd = f.reported.get("ofd")
    if isinstance(ofd, dict) and ofd.get("connected") is False:
        last = ofd.get("last_exchange_at")
        since = float(last) if isinstance(last, int) else None
        tail = f", последний обмен {_when(since)}" if since is not None else ""
        return Finding("Нет связи с ОФД" + tail, since)
    return None


def unsent_ageing(f: Facts, now: float) -> Finding | None:
    """The oldest document not sent to the OFD is over a day old (critical past 20 days)."""
    drive = f.reported.get("drive") or {}
    oldest = drive.get("oldest_unsent_at")
    if not isinstance(oldest, int) or not drive.get("unsent"):
        return None
    age = now - oldest
    if age < UNSENT_WARN_S:
        return None
    days = int(age // 86400)
    severity = Severity.CRITICAL if age >= UNSENT_CRITICAL_S else None
    return Finding(
        f"{drive['unsent']} документ(ов) не отправлено в ОФД, старейшему {days} дн.;"
        " через 30 дней ФН заблокируется",
        float(oldest),
        severity,
    )


def _expires(f: Facts) -> float | None:
    drive = f.reported.get("drive") or {}
    text = drive.get("expires")
    if isinstance(text, str):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return f.drive_expires_at
        return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    return f.drive_expires_at


def drive_expiring(f: Facts, now: float) -> Finding | None:
    """The drive's key expires within DRIVE_EXPIRY_WARN_DAYS, or its memory is nearly full."""
    out: list[str] = []
    severity: Severity | None = None
    at = _expires(f)
    if at is not None:
        days = int((at - now) // 86400)
        if days <= DRIVE_EXPIRY_WARN_DAYS:
            out.append(
                "срок ключа ФН истёк" if days < 0 else f"срок ключа ФН истекает через {days} дн."
            )
            if days <= DRIVE_EXPIRY_CRITICAL_DAYS:
                severity = Severity.CRITICAL
    used = (f.reported.get("drive") or {}).get("memory_used_pct")
    if isinstance(used, int) and used >= DRIVE_FULL_PCT:
        out.append(f"память ФН заполнена на {used} %")
        if used >= 99:
            severity = Severity.CRITICAL
    if not out:
        return None
    text = "; ".join(out)
    return Finding(text[0].upper() + text[1:], None, severity)


def drive_critical(f: Facts, now: float) -> Finding | None:
    """30h warning flags with bit 7: the drive reports a critical error."""
    warnings = (f.reported.get("drive") or {}).get("warnings")
    if isinstance(warnings, int) and warnings & CRITICAL_WARNING:
        return Finding(f"Критическая ошибка ФН (флаги 30h: {warnings:08b})", f.reported_at)
    return None


def clock_drift(f: Facts, now: float) -> Finding | None:
    """The register's clock is untrusted or off the fleet's by more than MAX_CLOCK_DRIFT_S."""
    if f.reported.get("clock_trusted") is False:
        return Finding("Время кассы не подтверждено: касса не работает с ФН", f.reported_at)
    clock = f.reported.get("clock")
    if isinstance(clock, int) and f.reported_at is not None:
        drift = clock - f.reported_at
        if abs(drift) > MAX_CLOCK_DRIFT_S:
            side = "спешат" if drift > 0 else "отстают"
            return Finding(f"Часы кассы {side} на {int(abs(drift))} с", f.reported_at)
    return None


def queue_above_target(f: Facts, now: float) -> Finding | None:
    """More parts wait on the register than its target, or the oldest waits too long."""
    lag = now - f.oldest_queued_at if f.oldest_queued_at is not None and f.queued else 0.0
    if f.queued > QUEUE_TARGET or lag > QUEUE_LAG_S:
        return Finding(f"Очередь кассы: {f.queued} чек(ов), старейший ждёт {int(lag)} с")
    return None


def failure_rate(f: Facts, now: float) -> Finding | None:
    """Over FAILURE_RATE of the last hour's documents failed (at least FAILURE_MIN_RESULTS)."""
    if f.results >= FAILURE_MIN_RESULTS and f.failures / f.results > FAILURE_RATE:
        pct = round(100 * f.failures / f.results)
        return Finding(f"Ошибок за час: {f.failures} из {f.results} ({pct} %)")
    return None


RULES: Final[tuple[Rule, ...]] = (
    Rule("offline", "Касса не в сети", Severity.CRITICAL, offline, OFFLINE_AFTER_S, 60.0),
    Rule("ofd_down", "Нет связи с ОФД", Severity.WARNING, ofd_down, 300.0, 60.0),
    Rule("unsent", "Неотправленные документы", Severity.WARNING, unsent_ageing),
    Rule("drive_expiring", "Срок или память ФН", Severity.WARNING, drive_expiring),
    Rule("drive_critical", "Критическая ошибка ФН", Severity.CRITICAL, drive_critical),
    Rule("clock_drift", "Часы кассы", Severity.WARNING, clock_drift, 60.0, 60.0),
    Rule("queue", "Очередь выше нормы", Severity.WARNING, queue_above_target, 30.0, 60.0),
    Rule("failures", "Доля ошибок", Severity.WARNING, failure_rate, 0.0, 300.0),
)

_BY_CODE: Final = {r.code: r for r in RULES}


def rule_by_code(code: str) -> Rule | None:
    """The rule with this code."""
    return _BY_CODE.get(code)
