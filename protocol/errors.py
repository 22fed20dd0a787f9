"""Errors raised by the CPython protocol spec (`protocol.*`).

One root, `ProtocolError`, so callers can catch everything the spec rejects on purpose;
construct's own exceptions never escape a `protocol` helper.
"""


class ProtocolError(Exception):
    """Root of every error a `protocol` codec raises on purpose."""


class FrameFormatError(ProtocolError):
    """A fiscal-drive link frame is malformed (reference fiscal-protocols.md §1.2)."""


class TlvError(ProtocolError):
    """A TLV document is malformed; says where: the tag path and the byte offset."""

    def __init__(self, reason: str, path: tuple[int, ...] = (), offset: int | None = None):
        self.reason = reason
        self.path = tuple(path)
        self.offset = offset
        where = "/".join(str(t) for t in self.path) or "-"
        at = f", offset {offset}" if offset is not None else ""
        super().__init__(f"{reason} (tag path {where}{at})")


class TlvDecodeError(TlvError):
    """Bytes are not a valid TLV sequence for the registry (reference §2.1)."""


class TlvEncodeError(TlvError):
    """A value cannot be encoded as its tag requires."""


class ContainerError(ProtocolError):
    """An OFD session header or FN container is malformed (reference §4.1-4.2)."""


class LinkError(ProtocolError):
    """An MQTT link message breaks the contract (protocol/mqtt, docs/mqtt.md)."""


class TopicError(LinkError):
    """The topic is not of the link's tree, or of an unsupported version."""


class PayloadTooLargeError(LinkError):
    """The payload exceeds the limit of its kind."""


class UnsupportedVersionError(LinkError):
    """The payload's version ("v") is missing or not the one this side speaks."""


class PayloadFormatError(LinkError):
    """The payload is not JSON, or breaks its kind's schema; ``path`` says where."""

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class KepError(ProtocolError):
    """A qualified e-signature (КЭП) cannot be accepted; the message says why, in Russian."""


class MalformedCms(KepError):  # noqa: N818 - named after what is wrong, as the brief asks
    """The bytes are not a detached CMS SignedData (RFC 5652) that this reader understands."""


class UnsupportedAlgorithm(KepError):  # noqa: N818
    """The signature uses an algorithm other than GOST R 34.10-2012 (256) / 34.11-2012 (256)."""


class BadSignature(KepError):  # noqa: N818
    """The signature does not match the content, or a certificate's signature is wrong."""


class UntrustedChain(KepError):  # noqa: N818
    """The signer's certificate does not chain to a trusted (accredited) root."""


class CertificateExpired(KepError):  # noqa: N818
    """A certificate of the chain is not valid at the checked moment (expired or not yet valid)."""
