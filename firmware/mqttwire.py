# firmware/mqttwire.py: MQTT 3.1.1 packets, sans-IO (OASIS mqtt-v3.1.1, §2 and §3).
# MIT license; Oblako register runtime.
#
# Only what a register needs: CONNECT (with a last will, persistent session, credentials),
# CONNACK, PUBLISH at QoS 0 and 1, PUBACK, SUBSCRIBE/SUBACK, PINGREQ/PINGRESP, DISCONNECT.
# Encoders return bytes; Decoder.feed(bytes) returns the complete packets received so far as
# tuples, keeping a partial packet for the next call, so any chunking of the TCP stream gives
# the same packets. Malformed input raises MqttProtocolError and never anything else.
from firmware.compat import const
from firmware.errors import MqttProtocolError

TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from typing import Any

CONNECT = const(1)
CONNACK = const(2)
PUBLISH = const(3)
PUBACK = const(4)
SUBSCRIBE = const(8)
SUBACK = const(9)
PINGREQ = const(12)
PINGRESP = const(13)
DISCONNECT = const(14)

MAX_REMAINING = const(268435455)  # four length bytes (§2.2.3)
MAX_PACKET = 64 * 1024 + 512  # what this client accepts: the largest link payload and a topic


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _str(s: "str | bytes") -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    if len(b) > 0xFFFF:
        raise MqttProtocolError("string longer than 65535 bytes")
    return bytes((len(b) >> 8, len(b) & 0xFF)) + b


def _packet(first: int, body: bytes) -> bytes:
    if len(body) > MAX_REMAINING:
        raise MqttProtocolError("packet too large")
    return bytes((first,)) + _varint(len(body)) + body


def connect(
    client_id: str,
    keepalive_s: int,
    clean: bool = False,
    will: "tuple | None" = None,
    username: "str | None" = None,
    password: "str | None" = None,
) -> bytes:
    """CONNECT (§3.1). will = (topic, payload, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = _str(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _str(topic) + _str(message)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    head = _str("MQTT") + bytes((4, flags, keepalive_s >> 8, keepalive_s & 0xFF))
    return _packet(CONNECT << 4, head + payload)


def publish(
    topic: str, payload: bytes, qos: int = 0, retain: bool = False, pid: int = 0, dup: bool = False
) -> bytes:
    """PUBLISH (§3.3); pid is required for QoS 1."""
    first = (PUBLISH << 4) | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = _str(topic)
    if qos:
        body += bytes((pid >> 8, pid & 0xFF))
    return _packet(first, body + bytes(payload))


def puback(pid: int) -> bytes:
    """PUBACK (§3.4)."""
    return bytes((PUBACK << 4, 2, pid >> 8, pid & 0xFF))


def subscribe(pid: int, filters: list) -> bytes:
    """SUBSCRIBE (§3.8); filters = [(topic filter, qos)]."""
    body = bytes((pid >> 8, pid & 0xFF))
    for flt, qos in filters:
        body += _str(flt) + bytes((qos,))
    return _packet((SUBSCRIBE << 4) | 0x02, body)


def pingreq() -> bytes:
    """PINGREQ (§3.12)."""
    return bytes((PINGREQ << 4, 0))


def disconnect() -> bytes:
    """DISCONNECT (§3.14): the broker then discards the last will."""
    return bytes((DISCONNECT << 4, 0))


# ---- decoding -----------------------------------------------------------------------------
# Packets come out as tuples:
#   (CONNACK, session_present, return_code)
#   (PUBLISH, topic, payload, qos, retain, dup, pid)      pid 0 at QoS 0
#   (PUBACK, pid)   (SUBACK, pid, [granted qos])   (PINGRESP,)


def _u16(buf: "Any", pos: int) -> int:
    return (buf[pos] << 8) | buf[pos + 1]


def _parse(first: int, body: bytes) -> tuple:
    kind = first >> 4
    flags = first & 0x0F
    n = len(body)
    if kind == CONNACK:
        if n != 2 or body[0] & 0xFE:
            raise MqttProtocolError("malformed CONNACK")
        return (CONNACK, bool(body[0] & 1), body[1])
    if kind == PUBLISH:
        qos = (flags >> 1) & 3
        if qos == 3:
            raise MqttProtocolError("PUBLISH with QoS 3")
        if n < 2:
            raise MqttProtocolError("PUBLISH too short")
        tlen = _u16(body, 0)
        pos = 2 + tlen
        if pos + (2 if qos else 0) > n:
            raise MqttProtocolError("PUBLISH topic runs past the packet")
        try:
            topic = body[2:pos].decode("utf-8")
        except UnicodeError:
            raise MqttProtocolError("PUBLISH topic is not UTF-8")
        pid = 0
        if qos:
            pid = _u16(body, pos)
            pos += 2
            if pid == 0:
                raise MqttProtocolError("PUBLISH with packet id 0")
        return (PUBLISH, topic, body[pos:], qos, bool(flags & 1), bool(flags & 8), pid)
    if kind == PUBACK:
        # 3.1.1 says exactly 2 bytes; Mosquitto 2.0.11 adds a reason code byte when it
        # denies a publish (seen in tests/link), so the packet id is read and the rest ignored
        if n < 2:
            raise MqttProtocolError("malformed PUBACK")
        return (PUBACK, _u16(body, 0))
    if kind == SUBACK:
        if n < 3:
            raise MqttProtocolError("malformed SUBACK")
        return (SUBACK, _u16(body, 0), list(body[2:]))
    if kind == PINGRESP:
        if n:
            raise MqttProtocolError("malformed PINGRESP")
        return (PINGRESP,)
    raise MqttProtocolError("unexpected packet type %d from the broker" % kind)


class Decoder:
    """Bytes of a broker's stream in, complete packets out."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.buf = b""
        self.max_packet = max_packet

    def feed(self, data: "bytes | bytearray | memoryview") -> list:
        """The packets completed by data (possibly none)."""
        self.buf += bytes(data)
        out = []  # type: list
        while True:
            buf = self.buf
            if len(buf) < 2:
                return out
            length = 0
            shift = 0
            pos = 1
            while True:
                if pos >= len(buf):
                    return out  # the length is not complete yet
                b = buf[pos]
                length |= (b & 0x7F) << shift
                pos += 1
                if not b & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise MqttProtocolError("remaining length longer than 4 bytes")
            if length > self.max_packet:
                raise MqttProtocolError("packet of %d bytes exceeds the limit" % length)
            if len(buf) < pos + length:
                return out
            out.append(_parse(buf[0], buf[pos : pos + length]))
            self.buf = buf[pos + length :]
