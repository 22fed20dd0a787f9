"""Flap damping: when a rule's condition raises and clears an alarm.

A condition must hold `raise_after_s` (counted from when it began: for "offline", the last
will's or the last message's time, not when the fleet noticed) before its alarm is raised, and
must be gone `clear_after_s` before the alarm clears. A condition that comes back while the
alarm is recovering keeps the one alarm: a register dropping its link every minute raises one
alarm, not one a minute (peers-and-regulations.md §5: offline detection with hysteresis).

    clear ─cond─▶ pending ─held raise_after─▶ RAISED ─gone─▶ recovering ─gone clear_after─▶ clear
      ▲             │ gone                     ▲               │ cond
      └─────────────┘                          └───────────────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Event", "Phase", "Watch", "step"]


class Phase(StrEnum):
    """Where a rule on a register is."""

    CLEAR = "clear"
    PENDING = "pending"  # the condition holds, not long enough yet
    RAISED = "raised"
    RECOVERING = "recovering"  # raised; the condition is gone, not long enough yet


class Event(StrEnum):
    """What a step did to the alarm."""

    RAISE = "raise"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Watch:
    """The phase and since when (the condition's start in PENDING, its end in RECOVERING)."""

    phase: Phase = Phase.CLEAR
    since: float = 0.0


def step(
    w: Watch,
    active: bool,
    now: float,
    *,
    started_at: float | None = None,
    raise_after_s: float = 0.0,
    clear_after_s: float = 0.0,
) -> tuple[Watch, Event | None]:
    """One observation: is the condition `active` at `now` (begun at `started_at` if known)?"""
    if active:
        if w.phase is Phase.RAISED:
            return w, None
        if w.phase is Phase.RECOVERING:
            return Watch(Phase.RAISED, w.since), None  # flapping: the same alarm stays
        begun = w.since if w.phase is Phase.PENDING else now
        if started_at is not None:
            begun = min(begun, started_at) if w.phase is Phase.PENDING else min(now, started_at)
        if now - begun >= raise_after_s:
            return Watch(Phase.RAISED, now), Event.RAISE
        return Watch(Phase.PENDING, begun), None
    if w.phase is Phase.PENDING or w.phase is Phase.CLEAR:
        return Watch(), None  # the same value every time: an idle rule writes nothing
    gone = w.since if w.phase is Phase.RECOVERING else now
    if now - gone >= clear_after_s:
        return Watch(), Event.CLEAR
    return Watch(Phase.RECOVERING, gone), None
