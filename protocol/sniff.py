"""Tell what a blob of fiscal bytes is: a whole OFD message, an FN container, or TLV."""

from __future__ import annotations

from enum import StrEnum

from protocol.ofd import CONTAINER_HEADER_SIZE, CONTAINER_TYPE, SIGNATURE


class BlobKind(StrEnum):
    """What `sniff` found."""

    MESSAGE = "message"  # session header (2A 08 41 0A ...) + container
    CONTAINER = "container"  # 32-byte container header (type A5h) + document + trailer
    TLV = "tlv"  # bare TLV fields, e.g. a document from the drive's archive


def sniff(raw: bytes) -> BlobKind:
    """Classify `raw` by its signature bytes; anything else is taken as TLV."""
    if raw[:4] == SIGNATURE:
        return BlobKind.MESSAGE
    if (
        len(raw) >= CONTAINER_HEADER_SIZE
        and raw[4] == CONTAINER_TYPE
        and int.from_bytes(raw[0:2], "little") == len(raw)
    ):
        return BlobKind.CONTAINER
    return BlobKind.TLV
