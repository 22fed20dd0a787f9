"""The rollout state machine, pure: what the next pass may do, given the devices' states.

A rollout starts a canary (`canary` devices), then phases by cumulative share of the group
(1 %, 10 %, 50 %, 100 % by default; the AWS IoT Jobs / hawkBit model, reference
peers-and-regulations.md §5.1–5.2). A phase moves on only when every device it started has
finished; a device that has not finished `timeout_s` after its command counts as failed. The
rollout aborts when the canary fails, or when, after at least `min_devices` finished, the
failures pass `threshold_pct` of them; an aborted rollout starts nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "DEFAULT_PHASES",
    "Decision",
    "Device",
    "DeviceStatus",
    "Policy",
    "RolloutStatus",
    "decide",
    "quota",
]

DEFAULT_PHASES: Final = (1, 10, 50, 100)


class DeviceStatus(StrEnum):
    """A register's part: waiting → sent → staged (rebooting) → succeeded | failed."""

    WAITING = "waiting"
    SENT = "sent"
    STAGED = "staged"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RolloutStatus(StrEnum):
    """running → completed, or aborted (by its threshold or an operator)."""

    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"


IN_FLIGHT: Final = (DeviceStatus.SENT, DeviceStatus.STAGED)
FINISHED: Final = (DeviceStatus.SUCCEEDED, DeviceStatus.FAILED)


@dataclass(frozen=True)
class Policy:
    """How a rollout proceeds (validated by the service before it is stored)."""

    canary: int = 1
    phases: tuple[int, ...] = DEFAULT_PHASES
    threshold_pct: int = 5
    min_devices: int = 20
    timeout_s: float = 1800.0

    @property
    def last_phase(self) -> int:
        return len(self.phases)


@dataclass(frozen=True)
class Device:
    """What the machine needs of a device."""

    status: DeviceStatus
    sent_at: float | None = None


@dataclass(frozen=True)
class Decision:
    """What to do now: mark `timed_out` (indexes) failed, then abort, or move to `phase`,
    complete, or start up to `start` more devices."""

    timed_out: tuple[int, ...]
    abort: str | None
    phase: int
    completed: bool
    start: int


def quota(policy: Policy, total: int, phase: int) -> int:
    """How many devices may have been started by the end of `phase` (0: the canary)."""
    canary = min(policy.canary, total)
    if phase <= 0:
        return canary
    share = policy.phases[min(phase, policy.last_phase) - 1]
    return max(canary, min(total, math.ceil(total * share / 100)))


def decide(policy: Policy, phase: int, devices: Sequence[Device], now: float) -> Decision:
    """The next step of a running rollout."""
    timed_out = tuple(
        i
        for i, d in enumerate(devices)
        if d.status in IN_FLIGHT and d.sent_at is not None and now - d.sent_at >= policy.timeout_s
    )
    late = set(timed_out)
    statuses = [DeviceStatus.FAILED if i in late else d.status for i, d in enumerate(devices)]
    total = len(statuses)
    failed = statuses.count(DeviceStatus.FAILED)
    finished = failed + statuses.count(DeviceStatus.SUCCEEDED)
    in_flight = sum(1 for s in statuses if s in IN_FLIGHT)
    started = total - statuses.count(DeviceStatus.WAITING)
    abort = None
    if failed and phase == 0:
        abort = f"Канареечное обновление не удалось: {failed} из {finished}"
    elif finished >= policy.min_devices and failed * 100 > policy.threshold_pct * finished:
        abort = (
            f"Отказов {failed} из {finished} ({failed * 100 // finished} %) — больше порога "
            f"{policy.threshold_pct} %"
        )
    if abort is not None:
        return Decision(timed_out, abort, phase, False, 0)
    while in_flight == 0 and phase < policy.last_phase and started >= quota(policy, total, phase):
        phase += 1
    completed = phase >= policy.last_phase and in_flight == 0 and started >= total
    start = 0 if completed else max(0, quota(policy, total, phase) - started)
    return Decision(timed_out, None, phase, completed, start)
