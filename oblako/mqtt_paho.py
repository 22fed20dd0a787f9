"""The register's MQTT interface (firmware/mqtt.py's contract) over paho-mqtt, for CPython.

The same calls as `firmware.mqtt.MqttClient`: service(), poll(timeout_s), publish(), subscribe(),
tick(), close(), with `connected`, `connects`, `session_present`, `on_message`, `on_published`.
paho runs in the caller's thread (client.loop in poll), so the agent is never re-entered;
messages are acknowledged by hand (manual_ack) after on_message returns, as on the board.
TLS when the URL is mqtts:// (the system's CA store, or `ca_file`).
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

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
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
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
                self._c.loop(0.05)
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
        self._c.loop(timeout_s)
        return 0

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
