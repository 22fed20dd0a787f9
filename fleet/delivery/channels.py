"""The channels a receipt can go by and what 'delivered' means for each.

54-FZ art. 1.2 p. 2 lets the buyer take the receipt by e-mail or phone (tag 1008); the sender
address is tag 1117. Viber is blocked in Russia since December 2024 (Roskomnadzor), so it
exists but is off unless the configuration turns it on.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.delivery.exceptions import UnknownChannelError

__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelPolicy",
    "DeliveredOn",
    "default_order",
    "enabled_channels",
]


class Channel(enum.StrEnum):
    """A way to the buyer."""

    EMAIL = "email"
    SMS = "sms"
    VK = "vk"
    OK = "ok"
    VIBER = "viber"


class DeliveredOn(enum.StrEnum):
    """What event makes an attempt 'delivered'."""

    ACCEPTED = "accepted"  # the provider took it; no report exists (messengers' bot APIs)
    REPORT = "report"  # an operator's delivery report (SMS DLR)
    BOUNCE_WINDOW = "bounce_window"  # SMTP accepted and no bounce came within the window


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """How one channel decides success and how long the cascade waits for it."""

    channel: Channel
    delivered_on: DeliveredOn
    wait_s: float  # after this, an undecided attempt counts as failed and the cascade moves on
    paid: bool
    needs: str  # "email" or "phone": which kind of contact the channel can use
    enabled_by_default: bool = True


CHANNELS: dict[Channel, ChannelPolicy] = {
    Channel.EMAIL: ChannelPolicy(Channel.EMAIL, DeliveredOn.BOUNCE_WINDOW, 15 * 60, False, "email"),
    Channel.SMS: ChannelPolicy(Channel.SMS, DeliveredOn.REPORT, 10 * 60, True, "phone"),
    Channel.VK: ChannelPolicy(Channel.VK, DeliveredOn.ACCEPTED, 5 * 60, True, "phone"),
    Channel.OK: ChannelPolicy(Channel.OK, DeliveredOn.ACCEPTED, 5 * 60, True, "phone"),
    Channel.VIBER: ChannelPolicy(
        Channel.VIBER, DeliveredOn.REPORT, 10 * 60, True, "phone", enabled_by_default=False
    ),
}


def enabled_channels(names: Sequence[str] | None = None) -> list[Channel]:
    """The configured set (``names``) or the default one; an unknown name is refused."""
    if names is None:
        return [c for c, p in CHANNELS.items() if p.enabled_by_default]
    out: list[Channel] = []
    for name in names:
        try:
            out.append(Channel(name))
        except ValueError:
            raise UnknownChannelError(
                f"Неизвестный канал «{name}»", fields={"channels": name}
            ) from None
    return out


def default_order(contact_kind: str, enabled: Sequence[Channel]) -> list[Channel]:
    """E-mail first where the buyer gave an e-mail; for a phone, SMS then the messengers."""
    return [c for c in enabled if CHANNELS[c].needs == contact_kind]
