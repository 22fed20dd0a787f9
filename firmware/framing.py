# firmware/framing.py: sans-IO framing of the fiscal-drive UART link.
# MIT license; Oblako register runtime.
#
# Frame (reference fiscal-protocols.md §1.2), requests and answers alike:
#
#   +------+---------------+------+--------------+---------------+
#   | 0x04 | LEN u16 LE    | CODE | DATA (N)     | CRC16 u16 LE  |
#   +------+---------------+------+--------------+---------------+
#          |<---- CRC-16/CCITT-FALSE over LEN..DATA ---->|
#   LEN = N + 1, N <= 1024, so a frame is 6..1030 bytes.
#
# The Framer does no I/O: the driver feeds it whatever the UART returned and gets whole
# frames back. A UART line carries noise (a stray byte at power-up, an ENQ echo, a
# corrupted byte), so the Framer hunts:
#   - bytes before a start byte are garbage: dropped;
#   - a start byte whose LEN is impossible (0 or > 1025) is garbage: dropped;
#   - a candidate whose CRC fails loses only its start byte, and the scan restarts at the
#     next byte, so a real frame hidden inside the bad candidate is still found;
#   - a candidate with a plausible LEN waits for its bytes. If it was a false start, the
#     following bytes arrive and its CRC fails, or the driver's idle timeout calls reset()
#     and re-requests the answer with ENQ (§1.1).
# No frame is ever longer than 1030 bytes, so the buffer is fixed: one maximal frame plus
# one chunk; a bigger chunk is taken in pieces. Receiving allocates only the returned data.
import struct

from firmware.compat import const
from firmware.crc16 import crc16
from firmware.errors import UsageError

MAX_DATA = const(1024)  # "Максимальный размер данных сообщения ... 1024 байта", §1.2
_MSG_START = const(0x04)  # first byte of every frame, §1.2
_MAX_LEN = const(1025)  # LEN counts DATA plus the code byte, §1.2
_HEAD = const(3)  # start byte + LEN: enough to know the frame size
_OVERHEAD = const(5)  # start + LEN(2) + CRC(2); frame size = LEN + 5
_MAX_FRAME = const(_MAX_LEN + _OVERHEAD)  # 1030 bytes
_BUF_SIZE = const(2 * _MAX_FRAME)  # one maximal frame + one chunk of up to _MAX_FRAME
_START = b"\x04"  # for bytearray.find: the hunt runs in C, not byte by byte in Python
ENQ = b"\x05"  # KKT -> FN: "send the last answer again", a bare byte, §1.1


def encode(code: int, data: bytes | bytearray | memoryview = b"") -> bytes:
    """Return the frame carrying code and data; raise UsageError if they cannot be framed."""
    n = len(data)
    if n > MAX_DATA:
        raise UsageError("frame data of %d bytes exceeds %d" % (n, MAX_DATA))
    if not isinstance(code, int) or code < 0 or code > 0xFF:
        raise UsageError("frame code %r outside 0..255" % (code,))
    out = bytearray(n + _OVERHEAD + 1)
    struct.pack_into("<BHB", out, 0, _MSG_START, n + 1, code)  # LEN = N + 1, §1.2
    out[4 : 4 + n] = data
    mv = memoryview(out)
    struct.pack_into("<H", out, 4 + n, crc16(mv[1 : 4 + n]))  # CRC over LEN..DATA, LE
    return bytes(out)


class Framer:
    """Split a received byte stream into (code, data) frames, resynchronising on noise.

    Counters (cumulative, never reset): dropped = bytes discarded as garbage (including
    bytes discarded by reset()), crc_errors = candidates rejected by their CRC.
    """

    def __init__(self) -> None:
        self._buf = bytearray(_BUF_SIZE)
        self._mv = memoryview(self._buf)
        self._fill = 0  # bytes held in _buf[0:_fill], always starting at a start byte
        self.dropped = 0
        self.crc_errors = 0

    @property
    def pending(self) -> int:
        """Bytes held back as the start of an incomplete frame."""
        return self._fill

    def reset(self) -> None:
        """Discard an incomplete frame (the driver calls this after an idle timeout)."""
        self.dropped += self._fill
        self._fill = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, bytes]]:
        """Take received bytes (bytes, bytearray or memoryview); return completed frames."""
        frames: list[tuple[int, bytes]] = []
        src = memoryview(data)
        n = len(src)
        off = 0
        while off < n:
            # After a scan at most _MAX_FRAME - 1 bytes stay, so each piece is > 1000 bytes.
            k = min(_BUF_SIZE - self._fill, n - off)
            self._mv[self._fill : self._fill + k] = src[off : off + k]
            self._fill += k
            off += k
            self._scan(frames)
        return frames

    def _scan(self, frames: list[tuple[int, bytes]]) -> None:
        buf = self._buf
        mv = self._mv
        fill = self._fill
        pos = 0
        while pos < fill:
            i = buf.find(_START, pos, fill)
            if i < 0:
                i = fill
            self.dropped += i - pos
            pos = i
            if fill - pos < _HEAD:
                break  # no start byte, or LEN not here yet
            length = buf[pos + 1] | (buf[pos + 2] << 8)  # LEN, u16 LE, §1.2
            if length == 0 or length > _MAX_LEN:
                self.dropped += 1  # impossible LEN: a false start byte
                pos += 1
                continue
            end = pos + length + _OVERHEAD
            if end > fill:
                break  # wait for the rest of the candidate
            crc_at = end - 2
            if crc16(mv[pos + 1 : crc_at]) != (buf[crc_at] | (buf[crc_at + 1] << 8)):
                # Drop only the start byte: a real frame may begin inside this candidate.
                self.crc_errors += 1
                self.dropped += 1
                pos += 1
                continue
            frames.append((buf[pos + 3], bytes(mv[pos + 4 : crc_at])))
            pos = end
        rest = fill - pos
        if pos and rest:
            mv[0:rest] = mv[pos:fill]  # memmove: the source may overlap the destination
        self._fill = rest
