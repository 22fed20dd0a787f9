"""The drive's receiver: a byte stream from the register in, frames and ENQs out (sans-IO).

Independent of the firmware's framer on purpose (the simulator is the oracle). Rules:

- ENQ (05h) outside a frame is a request to repeat the last answer (reference §1.1).
- Any other byte outside a frame that is not MSG_START (04h) is line noise: dropped.
- LEN 0 or above MAX_DATA + 1 cannot start a frame: the 04h is dropped and the scan goes on.
- A frame whose CRC fails is reported as `BadFrame` and consumed whole (LEN said how long
  it was); the model answers 01h or ignores it (DriveConfig.bad_crc).
- A partial frame older than ``idle_timeout`` seconds (by the drive's timer) is discarded
  before new bytes are taken, so a register that lost a byte can recover with ENQ [rec].
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.crc import crc16_ccitt_false
from protocol.fn.frame import ENQ, MAX_DATA, MSG_START

__all__ = ["BadFrame", "Enq", "Event", "FrameReceiver", "Request"]


@dataclass(frozen=True)
class Request:
    """A whole request frame with a good CRC."""

    raw: bytes
    code: int
    data: bytes


@dataclass(frozen=True)
class BadFrame:
    """A frame-shaped run of bytes whose CRC does not match."""

    raw: bytes


@dataclass(frozen=True)
class Enq:
    """A bare ENQ byte: repeat the last answer."""


Event = Request | BadFrame | Enq


class FrameReceiver:
    """Turns received bytes into events; keeps at most one partial frame."""

    def __init__(self, idle_timeout: float) -> None:
        """``idle_timeout``: seconds after which a partial frame is dropped."""
        self.idle_timeout = idle_timeout
        self._buf = bytearray()
        self._last_rx: float | None = None

    @property
    def pending(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame (power cut)."""
        self._buf.clear()
        self._last_rx = None

    def feed(self, data: bytes, now: float) -> list[Event]:
        """Take ``data`` received at time ``now`` (drive timer); return complete events."""
        if self._buf and self._last_rx is not None and now - self._last_rx > self.idle_timeout:
            self._buf.clear()
        self._last_rx = now
        self._buf += data
        events: list[Event] = []
        buf = self._buf
        while buf:
            first = buf[0]
            if first == ENQ:
                events.append(Enq())
                del buf[0]
                continue
            if first != MSG_START:
                del buf[0]
                continue
            if len(buf) < 3:
                break
            length = buf[1] | (buf[2] << 8)
            if not 1 <= length <= MAX_DATA + 1:
                del buf[0]
                continue
            total = 3 + length + 2
            if len(buf) < total:
                break
            raw = bytes(buf[:total])
            del buf[:total]
            crc = raw[-2] | (raw[-1] << 8)
            if crc16_ccitt_false(raw[1:-2]) == crc:
                events.append(Request(raw, raw[3], raw[4:-2]))
            else:
                events.append(BadFrame(raw))
        return events
