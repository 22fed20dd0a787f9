"""The cascade: try the buyer's channels in the client's order until one delivers.

A pure state machine over an injected time (``now``) so the job runner drives it on its
clock and hypothesis can walk it. Every attempt is kept as proof of sending (channel, masked
address, provider id, status, error, time). Paid channels are charged before sending; with
no money the channel is skipped and the reason recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from fleet.delivery.channels import CHANNELS, Channel, DeliveredOn
from fleet.delivery.masking import mask
from fleet.delivery.message import Outgoing

__all__ = [
    "Attempt",
    "AttemptStatus",
    "Cascade",
    "Provider",
    "ProviderRefusedError",
    "settle",
]


class AttemptStatus(enum.StrEnum):
    """One attempt's life: queued -> sent -> delivered | failed (or skipped, never sent)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class ProviderRefusedError(Exception):
    """The provider refused the message (bad address, outage).

    ``retry_later``: a later try may cure it (an outage, a rate limit): the worker keeps the
    attempt queued and sends it again with the same key within the channel's wait, after at
    least ``retry_after_s`` when the provider said how long."""

    retry_later: ClassVar[bool] = False
    retry_after_s: float | None = None


class Provider(Protocol):
    """The wire contract of a channel provider (the simulator in simulator/channels meets it)."""

    def send(self, channel: str, address: str, message: Outgoing, key: str) -> str:
        """Hand the message over; return the provider's id or raise ProviderRefusedError.

        ``key`` names this attempt: a provider that has seen it returns the first id and sends
        nothing (the worker re-sends an attempt a crash left unconfirmed with the same key)."""
        ...

    def report(self, provider_id: str) -> str:
        """'accepted' (no news), 'delivered' or 'bounced'/'failed'."""
        ...


@dataclass(slots=True)
class Attempt:
    """One try by one channel: the proof of sending."""

    channel: Channel
    masked_address: str
    at: float
    status: AttemptStatus = AttemptStatus.QUEUED
    provider_id: str | None = None
    error: str | None = None


@dataclass(slots=True)
class Cascade:
    """Deliver ``body`` to ``contact`` by ``order``; call `step` whenever the clock moves."""

    contact: str
    order: Sequence[Channel]
    body: Outgoing
    provider: Provider
    charge: Callable[[Channel], bool]  # debit the tariff's price; False when the balance is short
    attempts: list[Attempt] = field(default_factory=list)
    _next: int = 0

    @property
    def done(self) -> bool:
        """Delivered, or every channel tried."""
        if self.delivered:
            return True
        current = self.attempts[-1] if self.attempts else None
        pending = current is not None and current.status is AttemptStatus.SENT
        return not pending and self._next >= len(self.order)

    @property
    def delivered(self) -> bool:
        """One attempt delivered."""
        return any(a.status is AttemptStatus.DELIVERED for a in self.attempts)

    def step(self, now: float) -> None:
        """Settle the pending attempt if it can be settled, then start the next when needed."""
        if self.delivered:
            return
        current = self.attempts[-1] if self.attempts else None
        if current is not None and current.status is AttemptStatus.SENT:
            self._settle(current, now)
            if current.status is AttemptStatus.SENT:
                return
        if current is not None and current.status is AttemptStatus.DELIVERED:
            return
        while self._next < len(self.order):
            channel = self.order[self._next]
            self._next += 1
            attempt = Attempt(channel, mask(self.contact), now)
            self.attempts.append(attempt)
            if CHANNELS[channel].paid and not self.charge(channel):
                attempt.status = AttemptStatus.SKIPPED
                attempt.error = "недостаточно средств на балансе"
                continue
            try:
                attempt.provider_id = self.provider.send(
                    channel.value, self.contact, self.body, f"{channel.value}:{self._next}"
                )
            except ProviderRefusedError as exc:
                attempt.status = AttemptStatus.FAILED
                attempt.error = str(exc)
                continue
            attempt.status = AttemptStatus.SENT
            self._settle(attempt, now)
            if attempt.status is AttemptStatus.SENT or attempt.status is AttemptStatus.DELIVERED:
                return

    def _settle(self, attempt: Attempt, now: float) -> None:
        if attempt.provider_id is None:  # only a SENT attempt reaches here, and SENT has an id
            return
        state = self.provider.report(attempt.provider_id)
        attempt.status, attempt.error = settle(attempt.channel, state, now - attempt.at)


def settle(channel: Channel, report: str, waited_s: float) -> tuple[AttemptStatus, str | None]:
    """A sent attempt's status from the provider's report and the time it has waited, by the
    channel's rule of "delivered" (channels.py). A failure may carry the provider's words
    after a colon (``failed:SMSC: статус 20 …``): they become the attempt's error."""
    policy = CHANNELS[channel]
    state, _, detail = report.partition(":")
    if state in ("bounced", "failed"):
        return AttemptStatus.FAILED, (detail.strip() or state)[:300]
    waited = waited_s >= policy.wait_s
    if (
        policy.delivered_on is DeliveredOn.ACCEPTED
        or state == "delivered"
        or (policy.delivered_on is DeliveredOn.BOUNCE_WINDOW and waited)
    ):
        return AttemptStatus.DELIVERED, None
    if waited:
        return AttemptStatus.FAILED, "нет отчёта о доставке за отведённое время"
    return AttemptStatus.SENT, None
