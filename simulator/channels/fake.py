"""A channel provider that accepts, delays, bounces or fails on a script, on a shared clock.

Same wire contract as fleet.delivery.cascade.Provider: ``send`` returns an id or raises,
``report`` answers 'accepted' / 'delivered' / 'bounced'. A message is anything with a ``text``
(the fleet's Outgoing); the simulator imports no fleet code, so its refusal is its own
exception type and the adapter maps it. Like real SMS gateways it deduplicates by the client's
message key: a repeated key returns the first id and sends nothing.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

__all__ = ["FakeChannels", "Outcome", "RefusedError"]


class RefusedError(Exception):
    """The fake provider refused the message at hand-over."""


class _Text(Protocol):
    @property
    def text(self) -> str: ...


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

    idempotent: ClassVar[bool] = True  # a repeated key sends nothing (see the module)
    now: Callable[[], float]
    delay_s: float = 30.0
    script: dict[str, list[Outcome]] = field(default_factory=dict)
    sent: dict[str, _Message] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, channel: str, *outcomes: Outcome) -> None:
        """Queue outcomes for the next messages on ``channel`` (default: DELIVER)."""
        self.script.setdefault(channel, []).extend(outcomes)

    def send(self, channel: str, address: str, message: _Text | str, key: str) -> str:
        with self._lock:
            if key in self.by_key:
                return self.by_key[key]
            queue = self.script.get(channel) or []
            outcome = queue.pop(0) if queue else Outcome.DELIVER
            if outcome is Outcome.FAIL:
                raise RefusedError(f"{channel}: провайдер отказал")
            pid = f"{channel}-{next(self._ids)}"
            body = message if isinstance(message, str) else message.text
            self.sent[pid] = _Message(channel, address, body, outcome, self.now())
            self.by_key[key] = pid
            return pid

    def report(self, provider_id: str) -> str:
        msg = self.sent[provider_id]
        if msg.outcome is Outcome.SILENT or self.now() - msg.at < self.delay_s:
            return "accepted"
        return "delivered" if msg.outcome is Outcome.DELIVER else "bounced"

    def counts(self) -> Counter[tuple[str, str]]:
        """Messages handed over per (channel, address): the "never twice" check."""
        return Counter((m.channel, m.address) for m in self.sent.values())
