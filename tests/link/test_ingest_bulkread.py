"""The ingest's bulk MQTT reader: packets split anywhere come out whole, in order, once."""

from __future__ import annotations

import struct

# imported here, at a shallow stack: when Hypothesis imports it lazily mid-test, pytest's
# rewriting of it can hit CPython 3.11.7's "AST constructor recursion depth mismatch"
import hypothesis.internal.conjecture.optimiser  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.client import MQTTv5, MQTTv311
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from fleet.link.bulkread import BulkReadClient


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: str, payload: bytes, mid: int, qos: int, props: bytes, v5: bool) -> bytes:
    """A PUBLISH as MQTT 3.1.1 3.3 / 5.0 3.3 lay it out."""
    t = topic.encode()
    body = struct.pack("!H", len(t)) + t + (struct.pack("!H", mid) if qos else b"")
    if v5:
        body += varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1]) + varint(len(body)) + body


PINGRESP = b"\xd0\x00"

messages = st.lists(
    st.tuples(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
        st.binary(max_size=300),
        st.integers(1, 65535),
        st.sampled_from([0, 1]),
        # properties as a v5 broker may send them: payload format, content type, user property
        st.sampled_from([b"", b"\x01\x01", b"\x03\x00\x04json", b"\x26\x00\x01k\x00\x02vv"]),
    ),
    max_size=12,
)


class Reader:
    """A BulkReadClient fed from a list of chunks instead of a socket."""

    def __init__(self, v5: bool, chunks: list[bytes]) -> None:
        proto = MQTTv5 if v5 else MQTTv311
        self.client = BulkReadClient(CallbackAPIVersion.VERSION2, protocol=proto)
        self.got: list[tuple[str, bytes, int, int]] = []
        self.client.on_publish_bytes = lambda *m: self.got.append(m)
        self.chunks = list(chunks)
        self.client._sock = self  # type: ignore[assignment]
        self.client._sock_recv = self.recv  # type: ignore[method-assign,assignment]

    def recv(self, _n: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        return self.chunks.pop(0)

    def close(self) -> None:
        """paho closes its socket when the client is collected; nothing to close here."""

    def drain(self) -> None:
        while self.chunks:
            assert self.client._packet_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert self.client._packet_read() == MQTTErrorCode.MQTT_ERR_AGAIN


@settings(max_examples=200, deadline=None)
@given(messages, st.booleans(), st.lists(st.integers(1, 400), max_size=30), st.booleans())
def test_any_split_gives_every_publish_once_in_order(
    msgs: list[tuple[str, bytes, int, int, bytes]], v5: bool, cuts: list[int], ping: bool
) -> None:
    stream = b"".join(
        publish(t, p, mid, qos, props, v5) + (PINGRESP if ping else b"")
        for t, p, mid, qos, props in msgs
    )
    chunks, pos = [], 0
    for cut in cuts:
        if pos < len(stream):
            chunks.append(stream[pos : pos + cut])
            pos += cut
    if pos < len(stream):
        chunks.append(stream[pos:])
    r = Reader(v5, chunks)
    r.drain()
    assert r.got == [(t, p, mid if qos else 0, qos) for t, p, mid, qos, _ in msgs]
    assert not r.client._rbuf  # nothing left over, nothing lost


def test_a_packet_for_paho_goes_to_paho_and_a_new_connection_drops_the_old_bytes() -> None:
    # a SUBACK (3.1.1: packet id, one granted QoS) reaches paho's own handler and callback
    acked: list[int] = []
    r = Reader(False, [b"\x90\x03\x00\x07\x01" + publish("a/b", b"x", 5, 1, b"", False)[:4]])
    r.client.on_subscribe = lambda _c, _u, mid, _rc, _p: acked.append(mid)
    r.drain()
    assert acked == [7] and r.got == [] and len(r.client._rbuf) == 4  # a publish begun
    # reconnected: a new socket
    r.client._sock = Reader(False, [])  # type: ignore[assignment]
    r.chunks = [publish("c/d", b"y", 6, 1, b"", False)]
    r.drain()
    assert r.got == [("c/d", b"y", 6, 1)]


def test_an_overlong_length_is_a_protocol_error() -> None:
    r = Reader(True, [b"\x30\xff\xff\xff\xff\x01"])
    assert r.client._packet_read() == MQTTErrorCode.MQTT_ERR_PROTOCOL


def test_a_closed_connection_is_reported() -> None:
    r = Reader(True, [b""])
    assert r.client._packet_read() == MQTTErrorCode.MQTT_ERR_CONN_LOST


def puback(mid: int, reason: int | None = None) -> bytes:
    """A PUBACK (3.1.1 3.4; 5.0 3.4 with a reason code)."""
    body = struct.pack("!H", mid) + (b"" if reason is None else bytes([reason]))
    return bytes([0x40, len(body)]) + body


def released(v5: bool, callback: bool) -> tuple[list[bool], list[int], int, list[int], int]:
    """Four QoS 1 publishes, then the broker's PUBACKs: what paho's bookkeeping says (and how
    many packets paho's own handler took)."""
    r = Reader(v5, [])
    handled = [0]
    handle = r.client._packet_handle

    def counted() -> MQTTErrorCode:
        handled[0] += 1
        return handle()

    r.client._packet_handle = counted  # type: ignore[method-assign]
    infos = [r.client.publish(f"t/{i}", b"x", qos=1) for i in range(4)]
    seen: list[int] = []
    if callback:  # the reader leaves every PUBACK to paho when a callback wants to see it
        r.client.on_publish = lambda _c, _u, mid, _rc, _p: seen.append(mid)
    acks = puback(infos[0].mid) + puback(infos[2].mid) + puback(999)  # 999: not ours
    if v5:  # "no matching subscribers" is a success; 0x80 a failure, paho's own handler
        acks += puback(infos[1].mid, 0x10) + puback(infos[3].mid, 0x80)
    r.chunks = [acks]
    r.drain()
    c = r.client
    published = [i.is_published() for i in infos]
    return published, sorted(c._out_messages), c._inflight_messages, seen, handled[0]


def test_pubacks_of_our_publishes_release_them_as_paho_itself_does() -> None:
    for v5 in (True, False):
        fast = released(v5, callback=False)
        paho_way = released(v5, callback=True)
        assert fast[:3] == paho_way[:3], v5
        published, waiting, inflight, _, _ = fast
        assert published == ([True] * 4 if v5 else [True, False, True, False])
        assert inflight == len(waiting) == (0 if v5 else 2)
        assert paho_way[3] == ([1, 3, 2, 4] if v5 else [1, 3])
        # every PUBACK went to paho's handler with a callback; without, only the failure did
        assert (paho_way[4], fast[4]) == ((5, 1) if v5 else (3, 0))
