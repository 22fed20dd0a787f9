"""What a channel carries: the text, the HTML twin for e-mail, the sender (tag 1117) and the
merchant's DKIM key when it mails from its own domain."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DkimKey", "Outgoing", "Prepared"]


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A merchant's signing key for its own From domain (published at selector._domainkey)."""

    domain: str
    selector: str
    private_key_pem: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """An e-mail's MIME body made by its composer (`fleet.delivery.mime.body_bytes`) for
    exactly this ``text`` and ``html``: a provider uses it only while the message still holds
    these very objects (a copy with another HTML, e.g. the advertising frame, is encoded anew)."""

    text: str
    html: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one buyer; SMS and messengers use ``text`` only."""

    text: str
    html: str | None = None
    subject: str = "Кассовый чек"
    sender: str | None = None  # tag 1117; None: the provider's own address
    dkim: DkimKey | None = None
    prepared: Prepared | None = None

    def body(self) -> bytes | None:
        """The prepared MIME body when it is this message's own, else None."""
        p = self.prepared
        if p is not None and p.text is self.text and p.html is self.html:
            return p.data
        return None
