"""In-process fake of the receipt channel providers (SMTP relay, SMS gateway, messengers)."""

from simulator.channels.fake import FakeChannels, Outcome, RefusedError

__all__ = ["FakeChannels", "Outcome", "RefusedError"]
