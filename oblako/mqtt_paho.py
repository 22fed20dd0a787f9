"""The register's MQTT interface (firmware/mqtt.py's contract) over paho-mqtt, for CPython.

The same calls as `firmware.mqtt.MqttClient`: service(), poll(timeout_s), publish(), subscribe(),
tick(), close(), with `connected`, `connects`, `session_present`, `on_message`, `on_published`.
paho runs in the caller's thread (client.loop in poll), so the agent is never re-entered;
messages are acknowledged by hand (manual_ack) after on_message returns, as on the board.
TLS when the URL is mqtts:// (the system's CA store, or `ca_file`).
"""

from __future__ import annotations

import random
import select
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["BrokerUrl", "PahoClient", "parse_broker_url"]


@dataclass(frozen=True)
class BrokerUrl:
    """mqtt[s]://[user[:password]@]host[:port]"""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_broker_url(url: str) -> BrokerUrl:
    """The parts of a broker URL; ValueError names what is wrong."""
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"a broker URL starts with mqtt:// or mqtts://, got {url!r}")
    if not u.hostname:
        raise ValueError(f"no host in the broker URL {url!r}")
    tls = u.scheme == "mqtts"
    return BrokerUrl(
        host=u.hostname,
        port=u.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(u.username) if u.username else None,
        password=unquote(u.password) if u.password else None,
    )


class _Client(paho.Client):
    """paho's client with a PUBACK path for MQTT 3.1.1 that builds no objects: paho decodes
    every PUBACK into a fresh ReasonCode and Properties (MQTT 5's, empty on 3.1.1) before it
    looks up the message (~1/6 of paho's CPU in the receipts bench: four QoS 1 messages a
    receipt). The same steps as paho 2.x's `_handle_pubackcomp`; anything else, or a paho
    without the internals it uses, goes through paho's own."""

    _OK = ReasonCode(PacketTypes.PUBACK)  # shared: the callback only reads them
    _NONE = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        try:
            packet = self._in_packet["packet"]
            fast = cmd == "PUBACK" and self._protocol != paho.MQTTv5 and len(packet) == 2
        except (AttributeError, KeyError, TypeError):
            fast = False
        if not fast:
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, self._OK, self._NONE)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


class PahoClient:
    """See the module comment."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        keepalive_s: int = 30,
        will: tuple[str, bytes, int, bool] | None = None,
        backoff_s: tuple[float, float] = (0.5, 60.0),
        ca_file: str | None = None,
    ) -> None:
        self.url = parse_broker_url(url)
        self.keepalive_s = keepalive_s
        self.on_message: Callable[[str, bytes], None] | None = None
        self.on_published: Callable[[int], None] | None = None
        self.connected = False
        self.session_present = False
        self.connects = 0
        self.last_error = ""
        self._subs: list[tuple[str, int]] = []
        self._backoff_min, self._backoff_max = backoff_s
        self._delay = self._backoff_min
        self._retry_at = 0.0
        self._started = False
        c = _Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        c.manual_ack_set(True)
        if self.url.username is not None:
            c.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            c.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will is not None:
            topic, payload, qos, retain = will
            c.will_set(topic, payload, qos=qos, retain=retain)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        self._c = c

    # paho callbacks, all in the caller's thread (inside loop())
    def _on_connect(
        self, c: paho.Client, _u: object, flags: paho.ConnectFlags, rc: object, _p: object
    ) -> None:
        if getattr(rc, "is_failure", False):
            self.last_error = f"the broker refused the connection: {rc}"
            return
        self.connected = True
        self.connects += 1
        self.session_present = bool(flags.session_present)
        for flt, qos in self._subs:
            c.subscribe(flt, qos)

    def _on_disconnect(
        self, _c: paho.Client, _u: object, _f: object, rc: object, _p: object
    ) -> None:
        self.connected = False
        self.last_error = f"disconnected: {rc}"

    def _on_message(self, c: paho.Client, _u: object, m: paho.MQTTMessage) -> None:
        if self.on_message is not None:
            self.on_message(m.topic, bytes(m.payload))
        c.ack(m.mid, m.qos)

    def _on_publish(self, _c: paho.Client, _u: object, mid: int, _rc: object, _p: object) -> None:
        if self.on_published is not None:
            self.on_published(mid)

    def service(self) -> bool:
        """Connect when disconnected and the backoff allows; True when connected."""
        if self.connected:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self.last_error = ""  # a CONNACK refusal during this attempt sets it again
        try:
            if self._started:
                self._c.reconnect()
            else:
                self._c.connect(self.url.host, self.url.port, keepalive=self.keepalive_s)
                self._started = True
            deadline = now + 10
            while not self.connected and time.monotonic() < deadline and not self.last_error:
                self._loop(0.05)
        except OSError as e:
            self.last_error = str(e)
        if self.connected:
            self._delay = self._backoff_min
            return True
        self._retry_at = now + self._delay * (0.5 + random.random())
        self._delay = min(self._delay * 2, self._backoff_max)
        return False

    def poll(self, timeout_s: float) -> int:
        """Network and callbacks for up to timeout_s."""
        if not self.service():
            time.sleep(min(timeout_s, max(0.0, self._retry_at - time.monotonic())))
            return 0
        self._loop(timeout_s)
        return 0

    def _loop(self, timeout_s: float) -> None:
        # paho's loop() in the caller's own select (the external-loop API: loop_read,
        # loop_write, loop_misc): without loop() paho makes no wake-up socket pair, which
        # cost a send() per packet queued and a recv() to drain it, and a packet queued
        # outside a callback goes out at once, as in loop().
        c = self._c
        sock = c.socket()
        if sock is None:
            c.loop(timeout_s)  # not connected: paho's own answer (MQTT_ERR_NO_CONN)
            return
        pending = getattr(sock, "pending", None)  # bytes a TLS socket has decrypted
        try:
            if pending is not None and pending() > 0:
                readable = True
            else:
                wlist = [sock] if c.want_write() else []
                readable = bool(select.select([sock], wlist, [], timeout_s)[0])
        except (OSError, ValueError, TypeError):
            c.loop(0.0)  # a socket closed under us: paho marks the connection lost
            return
        if readable:
            c.loop_read()
        if c.socket() is not None and c.want_write():
            c.loop_write()
        c.loop_misc()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Queue a message (paho keeps QoS 1 messages until PUBACK); the message id."""
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        return int(info.mid)

    def subscribe(self, flt: str, qos: int = 1) -> None:
        """Subscribe now if connected, and again on every connection."""
        if (flt, qos) not in self._subs:
            self._subs.append((flt, qos))
        if self.connected:
            self._c.subscribe(flt, qos)

    def tick(self) -> None:
        """Keepalive only, during long drive operations."""
        if self.connected:
            self._c.loop_misc()

    def close(self) -> None:
        """DISCONNECT (the broker drops the last will)."""
        if self.connected:
            self._c.disconnect()
        self.connected = False
