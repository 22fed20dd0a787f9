"""A channel provider that accepts, delays, bounces or fails on a script, on a shared clock.

Same wire contract as fleet.delivery.cascade.Provider: ``send`` returns an id or raises,
``report`` answers 'accepted' / 'delivered' / 'bounced'. The simulator imports no fleet
code, so its refusal is its own exception type; the adapter in tests maps it.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FakeChannels", "Outcome", "RefusedError"]


class RefusedError(Exception):
    """The fake provider refused the message at hand-over."""


class Outcome(enum.StrEnum):
    """What the provider will do with the next message on a channel."""

    DELIVER = "deliver"  # report 'delivered' after ``delay_s``
    SILENT = "silent"  # accept and never report
    BOUNCE = "bounce"  # report 'bounced' after ``delay_s``
    FAIL = "fail"  # refuse at hand-over


@dataclass(slots=True)
class _Message:
    channel: str
    address: str
    body: str
    outcome: Outcome
    at: float


@dataclass(slots=True)
class FakeChannels:
    """Scripted providers for every channel; ``now`` is the shared simulated clock."""

    now: Callable[[], float]
    delay_s: float = 30.0
    script: dict[str, list[Outcome]] = field(default_factory=dict)
    sent: dict[str, _Message] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def plan(self, channel: str, *outcomes: Outcome) -> None:
        """Queue outcomes for the next messages on ``channel`` (default: DELIVER)."""
        self.script.setdefault(channel, []).extend(outcomes)

    def send(self, channel: str, address: str, body: str) -> str:
        queue = self.script.get(channel) or []
        outcome = queue.pop(0) if queue else Outcome.DELIVER
        if outcome is Outcome.FAIL:
            raise RefusedError(f"{channel}: провайдер отказал")
        pid = f"{channel}-{next(self._ids)}"
        self.sent[pid] = _Message(channel, address, body, outcome, self.now())
        return pid

    def report(self, provider_id: str) -> str:
        msg = self.sent[provider_id]
        if msg.outcome is Outcome.SILENT or self.now() - msg.at < self.delay_s:
            return "accepted"
        return "delivered" if msg.outcome is Outcome.DELIVER else "bounced"
