"""A paho client that reads its socket in bulk and hands PUBLISH packets straight over.

paho's reader costs a subscriber about as much as everything else it does: per packet a recv()
of the command byte, one per length byte and one for the rest — each a system call that
releases the GIL, which a busy batching thread then holds for up to the switch interval — and,
for MQTT 5, a Properties object and an MQTTMessage built and matched against the callbacks.
`BulkReadClient` replaces only `_packet_read`: one recv() of up to 256 KiB, then every complete
packet in the buffer; a QoS 0/1 PUBLISH with a topic goes to `on_publish_bytes(topic, payload,
mid, qos)` (properties skipped: the client announces no Topic Alias Maximum, so the broker
sends none); the broker's PUBACK of the client's own QoS 1 publish (success, no properties, no
`on_publish` callback) straight to paho's bookkeeping without the ReasonCode and Properties
objects paho's decoder builds (~30 µs a PUBACK with them; the ingest's `stored`); every other
packet (CONNACK, SUBACK, PINGRESP, a PUBACK with a failure or properties, a QoS 2 PUBLISH) to
paho's own handler exactly as paho would have read it. Connecting, keepalive,
writing, TLS (paho's select honours `pending()`) and reconnecting stay paho's.

It relies on paho 2.x's reader state (`_in_packet`, `_packet_handle`, `_sock_recv`,
`_last_bytes_received`) and its outgoing bookkeeping (`_out_messages`, `_do_on_publish`);
`BulkReadClient.fits()` checks them and the ingest falls back to the
plain client otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["BulkReadClient", "PublishHook"]

log = logging.getLogger(__name__)

PublishHook = Callable[[str, bytes, int, int], None]  # topic, payload, mid, qos

CHUNK: Final = 256 * 1024
_PUBLISH: Final = 0x30
_PUBACK: Final = 0x40
_NEEDS: Final = (
    "_in_packet",
    "_packet_handle",
    "_sock_recv",
    "_msgtime_mutex",
    "_sock",
    "_out_message_mutex",
    "_out_messages",
    "_do_on_publish",
)


def _in_packet(command: int = 0, length: int = 0, packet: bytes | bytearray = b"") -> Any:
    """paho's reader state: a whole packet read (or, all zero, none begun)."""
    return {
        "command": command,
        "have_remaining": 1 if command else 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": length,
        "packet": bytearray(packet),
        "to_process": 0,
        "pos": 0,
    }


class BulkReadClient(paho.Client):
    """paho's client with a bulk reader; set `on_publish_bytes` to receive publishes."""

    on_publish_bytes: PublishHook | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = bytearray()
        self._rsock: object = None
        self._v5 = kwargs.get("protocol") == paho.MQTTv5
        self._puback: tuple[ReasonCode, Properties] | None = None

    @classmethod
    def fits(cls) -> bool:
        """Whether this paho keeps the reader state the bulk reader stands in for."""
        probe = paho.Client(CallbackAPIVersion.VERSION2)
        return all(hasattr(probe, name) for name in _NEEDS) and hasattr(paho, "time_func")

    def _acked(self) -> tuple[ReasonCode, Properties]:
        # what _do_on_publish is given for a PUBACK without a reason or properties (unused:
        # the fast path runs only without an on_publish callback)
        if self._puback is None:
            self._puback = (
                ReasonCode(PacketTypes.PUBACK),
                Properties(PacketTypes.PUBACK),  # type: ignore[no-untyped-call]
            )
        return self._puback

    def _packet_read(self) -> MQTTErrorCode:
        if self._rsock is not self._sock:  # a new connection: nothing of the old one is valid
            self._rbuf = bytearray()
            self._rsock = self._sock
        try:
            data = self._sock_recv(CHUNK)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as err:  # timeouts and resets included
            log.info("MQTT receive failed: %s", err)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        buf = self._rbuf
        buf += data
        rc = self._parse(buf)
        with self._msgtime_mutex:
            self._last_bytes_received = paho.time_func()
        return rc

    def _parse(self, buf: bytearray) -> MQTTErrorCode:
        """Handle every complete packet at the start of `buf` and remove it from there."""
        hook = self.on_publish_bytes
        v5 = self._v5
        n = len(buf)
        pos = 0
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while n - pos >= 2:
            cmd = buf[pos]
            # the remaining length: 1..4 bytes of 7 bits (MQTT 3.1.1 2.2.3, 5.0 1.5.5)
            length = 0
            shift = 0
            i = pos + 1
            while True:
                if i >= n:
                    del buf[:pos]
                    return rc
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
                if shift > 21:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL
            end = i + length
            if end > n:
                break
            qos = (cmd >> 1) & 3
            if hook is not None and cmd & 0xF0 == _PUBLISH and qos < 2 and length >= 2:
                t = i + 2 + (buf[i] << 8 | buf[i + 1])
                p = t + (2 if qos else 0)
                mid = buf[t] << 8 | buf[t + 1] if qos and t + 2 <= end else 0
                if v5 and p < end:  # skip the properties (a varint length, then them)
                    plen = 0
                    shift = 0
                    while p < end:
                        byte = buf[p]
                        p += 1
                        plen |= (byte & 0x7F) << shift
                        if byte < 0x80:
                            break
                        shift += 7
                    p += plen
                if t > i + 2 and p <= end:
                    topic = buf[i + 2 : t].decode("utf-8", "replace")
                    hook(topic, bytes(buf[p:end]), mid, qos)
                    pos = end
                    continue
            if (
                cmd == _PUBACK
                and self.on_publish is None
                and (length == 2 or (length == 3 and v5 and buf[i + 2] < 0x80))
            ):
                # the broker's PUBACK of our own QoS 1 publish, success (a v5 reason code
                # below 0x80) and no properties: what paho's handler does, without the
                # ReasonCode and Properties objects no callback would see
                mid = buf[i] << 8 | buf[i + 1]
                pos = end
                with self._out_message_mutex:
                    if mid in self._out_messages:
                        rc = self._do_on_publish(mid, *self._acked())
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
                continue
            # anything else, or a publish this reader does not take: paho's own handler
            self._in_packet = _in_packet(cmd, length, buf[i:end])
            pos = end
            try:
                rc = self._packet_handle()
            except MalformedPacket as exc:
                log.info("malformed MQTT packet: %s", exc)
                rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
            self._in_packet = _in_packet()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        del buf[:pos]
        return rc
