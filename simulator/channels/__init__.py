"""Fakes of the receipt channel providers: in-process (SMTP relay, SMS gateway, messengers)
and over HTTP (an SMSC.ru-style gateway, `smsc.py`)."""

from simulator.channels.fake import FakeChannels, Outcome, RefusedError
from simulator.channels.mta import BouncingMta, dsn_bytes

__all__ = ["BouncingMta", "FakeChannels", "Outcome", "RefusedError", "dsn_bytes"]
