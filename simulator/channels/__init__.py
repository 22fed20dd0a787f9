"""In-process fake of the receipt channel providers (SMTP relay, SMS gateway, messengers)."""

from simulator.channels.fake import FakeChannels, Outcome, RefusedError
from simulator.channels.mta import BouncingMta, dsn_bytes

__all__ = ["BouncingMta", "FakeChannels", "Outcome", "RefusedError", "dsn_bytes"]
