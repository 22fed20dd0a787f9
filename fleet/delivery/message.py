"""What a channel carries: the text, the HTML twin for e-mail, the sender (tag 1117) and the
merchant's DKIM key when it mails from its own domain."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DkimKey", "Outgoing"]


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A merchant's signing key for its own From domain (published at selector._domainkey)."""

    domain: str
    selector: str
    private_key_pem: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one buyer; SMS and messengers use ``text`` only."""

    text: str
    html: str | None = None
    subject: str = "Кассовый чек"
    sender: str | None = None  # tag 1117; None: the provider's own address
    dkim: DkimKey | None = None
