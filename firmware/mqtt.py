# firmware/mqtt.py: the register's MQTT client (3.1.1) over a firmware/net connection.
# MIT license; Oblako register runtime.
#
# The interface (a CPython implementation over paho-mqtt meets it too: oblako/mqtt_paho.py):
#
#   client.service()                   connect or reconnect when due (exponential backoff with
#                                      jitter); never raises for a broker that is away
#   client.poll(timeout_s) -> n        read and handle packets for up to timeout_s: messages go
#                                      to on_message(topic, payload) and are acknowledged
#                                      (PUBACK) only after it returns, so what it wrote to
#                                      the journal comes first; PUBACKs of ours go to
#                                      on_published(pid)
#   client.publish(topic, payload, qos=1, retain=False) -> pid
#                                      queued while disconnected; QoS 1 messages stay in flight
#                                      until the broker's PUBACK and are re-sent (DUP) after a
#                                      reconnect (persistent session, §4.4)
#   client.subscribe(filter, qos=1)    remembered and renewed on every connection
#   client.tick()                      keepalive only: sends PINGREQ when due. The drive driver
#                                      calls it from its waits (FiscalDrive(idle=...)), so a
#                                      register busy with a long drive operation never looks
#                                      dead; it reads nothing, so no handler runs re-entrantly
#   client.close()                     DISCONNECT (the broker drops the last will)
#
# The last will (retained "offline" presence) is given at connect; a persistent session
# (clean session 0) keeps QoS 1 commands queued at the broker while the register is away.
from firmware import mqttwire as w
from firmware.compat import const
from firmware.errors import MqttError, MqttProtocolError, MqttRefusedError

TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from typing import Any, Callable

MAX_IN_FLIGHT = const(64)


class MqttClient:
    """One register's connection to the broker (see the module comment)."""

    def __init__(
        self,
        open_conn: "Callable[[], Any]",
        clock: "Any",
        client_id: str,
        keepalive_s: int = 30,
        will: "tuple | None" = None,
        username: "str | None" = None,
        password: "str | None" = None,
        on_message: "Callable[[str, bytes], None] | None" = None,
        on_published: "Callable[[int], None] | None" = None,
        backoff_s: tuple = (0.5, 60.0),
        connect_timeout_s: float = 10.0,
        rand: "Callable[[], float] | None" = None,
    ) -> None:
        self._open = open_conn
        self.clock = clock
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.will = will
        self.username = username
        self.password = password
        self.on_message = on_message
        self.on_published = on_published
        self.backoff_min, self.backoff_max = backoff_s
        self.connect_timeout_s = connect_timeout_s
        self._rand = rand
        self.conn = None  # type: Any
        self.connected = False
        self.session_present = False
        self._decoder = w.Decoder()
        self._buf = bytearray(2048)
        self._subs = []  # type: list
        self._in_flight = {}  # type: dict  # pid -> (topic, payload, retain)
        self._order = []  # type: list  # pids in publish order, for re-sending
        self._next_pid = 1
        self._pending = []  # type: list  # packets read while waiting for CONNACK/SUBACK
        self._last_sent = 0.0
        self._ping_sent_at = None  # type: float | None
        self._retry_at = 0.0
        self._delay = self.backoff_min
        self.connects = 0  # successful connections (a reconnect counts)
        self.last_error = ""

    # ---- connection ---------------------------------------------------------------------

    def service(self) -> bool:
        """Connect when disconnected and the backoff allows; True when connected."""
        if self.connected:
            return True
        now = self.clock.monotonic()
        if now < self._retry_at:
            return False
        try:
            self._connect()
        except (OSError, MqttError) as e:
            self._drop(str(e))
            jitter = self._rand() if self._rand is not None else 0.5
            self._retry_at = now + self._delay * (0.5 + jitter)
            self._delay = min(self._delay * 2, self.backoff_max)
            return False
        self._delay = self.backoff_min
        return True

    def _connect(self) -> None:
        self.conn = self._open()
        self._decoder = w.Decoder()
        self._pending = []
        self._send(
            w.connect(
                self.client_id,
                self.keepalive_s,
                clean=False,
                will=self.will,
                username=self.username,
                password=self.password,
            )
        )
        ack = self._wait_for(w.CONNACK, None)
        if ack[2] != 0:
            raise MqttRefusedError(ack[2])
        self.session_present = ack[1]
        self.connected = True
        self.connects += 1
        self._ping_sent_at = None
        # §4.4: unacknowledged QoS 1 messages are sent again, with DUP, in their order
        for pid in self._order:
            topic, payload, retain = self._in_flight[pid]
            self._send(w.publish(topic, payload, 1, retain, pid, True))
        for flt, qos in self._subs:
            pid = self._take_pid()
            self._send(w.subscribe(pid, [(flt, qos)]))
            ack = self._wait_for(w.SUBACK, pid)
            if ack[2] and ack[2][0] == 0x80:
                raise MqttError("the broker refused the subscription to " + flt)
        # messages that arrived while we waited for CONNACK/SUBACK
        pending = self._pending
        self._pending = []
        for p in pending:
            self._handle(p)

    def _wait_for(self, kind: int, pid: "int | None") -> tuple:
        deadline = self.clock.monotonic() + self.connect_timeout_s
        while True:
            for i in range(len(self._pending)):
                p = self._pending[i]
                if p[0] == kind and (pid is None or p[1] == pid):
                    self._pending.pop(i)
                    return p
            if self.clock.monotonic() >= deadline:
                raise MqttError("no answer from the broker within %ss" % self.connect_timeout_s)
            self._read_some()

    def _read_some(self) -> bool:
        n = self.conn.recv_into(self._buf)
        if n is None:
            return False
        if n == 0:
            raise OSError(104, "the broker closed the connection")
        self._pending.extend(self._decoder.feed(memoryview(self._buf)[:n]))
        return True

    def _send(self, data: bytes) -> None:
        conn = self.conn
        if conn is None:  # dropped meanwhile (by a handler's failed send): reconnect first
            raise OSError(107, "not connected")
        conn.send(data)
        self._last_sent = self.clock.monotonic()

    def _drop(self, why: str) -> None:
        self.last_error = why
        self.connected = False
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def close(self) -> None:
        """Disconnect cleanly (the broker discards the last will)."""
        if self.connected:
            try:
                self._send(w.disconnect())
            except OSError:
                pass
        self._drop("closed")

    # ---- publishing and subscribing -------------------------------------------------------

    def _take_pid(self) -> int:
        while True:
            pid = self._next_pid
            self._next_pid = pid % 65535 + 1
            if pid not in self._in_flight:
                return pid

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Send (or queue, at QoS 1, while disconnected); the packet id, 0 for QoS 0."""
        if qos == 0:
            if self.connected:
                self._guard(w.publish(topic, payload, 0, retain))
            return 0
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            raise MqttError("%d messages are waiting for the broker" % MAX_IN_FLIGHT)
        pid = self._take_pid()
        self._in_flight[pid] = (topic, bytes(payload), retain)
        self._order.append(pid)
        if self.connected:
            self._guard(w.publish(topic, payload, 1, retain, pid))
        return pid

    def subscribe(self, flt: str, qos: int = 1) -> None:
        """Subscribe now if connected, and again on every connection."""
        if (flt, qos) not in self._subs:
            self._subs.append((flt, qos))
        if self.connected:
            pid = self._take_pid()
            self._guard(w.subscribe(pid, [(flt, qos)]))

    def in_flight(self) -> int:
        """QoS 1 messages the broker has not acknowledged yet."""
        return len(self._in_flight)

    def _guard(self, data: bytes) -> None:
        try:
            self._send(data)
        except OSError as e:
            self._drop(str(e))

    # ---- the loop --------------------------------------------------------------------------

    def tick(self) -> None:
        """Keepalive only (see the module comment): PINGREQ when half a keepalive passed
        since we last sent anything. It reads nothing, so it never judges the broker: a
        PINGRESP waits in the socket until poll() reads it."""
        if not self.connected:
            return
        now = self.clock.monotonic()
        if now - self._last_sent >= self.keepalive_s / 2:
            if self._ping_sent_at is None:
                self._ping_sent_at = now
            self._guard(w.pingreq())

    def _silent_broker(self) -> bool:
        # called by poll() after a read found nothing: a ping unanswered for a keepalive
        return (
            self._ping_sent_at is not None
            and self.clock.monotonic() - self._ping_sent_at > self.keepalive_s
        )

    def poll(self, timeout_s: float) -> int:
        """Handle what arrives within timeout_s (reconnecting when due); packets handled."""
        handled = 0
        deadline = self.clock.monotonic() + timeout_s
        while True:
            if not self.service():
                remaining = deadline - self.clock.monotonic()
                if remaining <= 0:
                    return handled
                self.clock.sleep(min(remaining, max(0.0, self._retry_at - self.clock.monotonic())))
                continue
            self.tick()
            try:
                got = self._read_some() if self.connected else False
                pending = self._pending
                self._pending = []
                for p in pending:
                    if not self.connected:
                        break  # a handler's send dropped the link: the broker re-sends
                    self._handle(p)
                    handled += 1
            except (OSError, MqttProtocolError) as e:
                self._drop(str(e))
                got = False
            if self.connected and not got and self._silent_broker():
                self._drop("no PINGRESP within the keepalive")
            if self.clock.monotonic() >= deadline or (handled and not got):
                return handled

    def _handle(self, p: tuple) -> None:
        kind = p[0]
        if kind == w.PUBLISH:
            _, topic, payload, qos, _retain, _dup, pid = p
            if self.on_message is not None:
                self.on_message(topic, payload)
            if qos == 1:
                self._guard(w.puback(pid))
        elif kind == w.PUBACK:
            pid = p[1]
            if self._in_flight.pop(pid, None) is not None:
                self._order.remove(pid)
                if self.on_published is not None:
                    self.on_published(pid)
        elif kind == w.PINGRESP:
            self._ping_sent_at = None
        elif kind == w.SUBACK:
            if p[2] and p[2][0] == 0x80:
                self.last_error = "the broker refused a subscription"
        else:
            raise MqttProtocolError("unexpected packet %d" % kind)
