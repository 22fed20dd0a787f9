# firmware/errors.py: the register runtime's exception hierarchy.
# MIT license; Oblako register runtime.
#
# One root so callers can catch everything the runtime raises on purpose. Wire errors say
# where the bytes went wrong; they never surface as IndexError, struct.error or
# UnicodeDecodeError.


class RegisterError(Exception):
    """Root of every error the register runtime raises on purpose."""


class FrameError(RegisterError):
    """A drive-link frame is malformed: bad start byte, length or CRC."""


class TlvError(RegisterError):
    """A TLV document cannot be decoded or encoded.

    `path` is the chain of tags from the document root to the bad field (a tuple of
    ints), `offset` the byte offset of the bad field's header in the buffer given to the
    decoder (-1 when encoding).
    """

    def __init__(self, reason: str, path: tuple = (), offset: int = -1) -> None:
        self.reason = reason
        self.path = tuple(path)
        self.offset = offset
        where = "/".join([str(t) for t in self.path]) or "-"
        super().__init__("%s (tag path %s, offset %d)" % (reason, where, offset))


class UsageError(RegisterError):
    """The caller misused an API (a local bug, not bad bytes from outside)."""


class BufferFullError(TlvError):
    """The output buffer has no room for the next field (streamed encoding)."""
