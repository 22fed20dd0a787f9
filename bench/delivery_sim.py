"""The channel simulator wired to the fleet's provider contract (the two share no code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.message import Outgoing
from simulator.channels import FakeChannels, RefusedError

__all__ = ["SimProvider"]


@dataclass
class SimProvider:
    """`simulator.channels.FakeChannels` as a fleet `Provider`: its refusal mapped."""

    fake: FakeChannels
    idempotent: ClassVar[bool] = True

    def send(self, channel: str, address: str, message: Outgoing, key: str) -> str:
        try:
            return self.fake.send(channel, address, message, key)
        except RefusedError as exc:
            raise ProviderRefusedError(str(exc)) from exc

    def report(self, provider_id: str) -> str:
        return self.fake.report(provider_id)
