# micropython
# The register's MQTT client, sans-IO: packets (firmware/mqttwire.py) and the client
# (firmware/mqtt.py) against a scripted broker connection on fake time. Runs under CPython
# (pytest) and under MicroPython 1.27 (node tools/mprun.mjs tests/firmware).
from mpsupport import FakeClock, raises

from firmware import mqttwire as w
from firmware.errors import MqttError, MqttProtocolError, MqttRefusedError
from firmware.mqtt import MqttClient


def test_publish_round_trip_and_any_chunking():
    data = w.publish("a/b", b"payload", 1, True, 513) + w.puback(7) + b"\xd0\x00"
    for size in (1, 2, 3, 7, len(data)):
        d = w.Decoder()
        out = []
        for i in range(0, len(data), size):
            out.extend(d.feed(data[i : i + size]))
        assert out == [
            (w.PUBLISH, "a/b", b"payload", 1, True, False, 513),
            (w.PUBACK, 7),
            (w.PINGRESP,),
        ], (size, out)
    # a broker never sends PINGREQ
    e = raises(MqttProtocolError, w.Decoder().feed, w.pingreq())
    assert "unexpected packet type 12" in str(e)


def test_lengths_around_the_varint_steps():
    for n in (0, 1, 120, 121, 122, 16380, 16381, 16390, 70000):
        pkt = w.publish("t", b"x" * n, 0)
        out = w.Decoder(max_packet=100000).feed(pkt)
        assert out == [(w.PUBLISH, "t", b"x" * n, 0, False, False, 0)], n


def test_connect_bytes_follow_the_spec():
    # §3.1: "MQTT", level 4, flags: will retain + will QoS 1 + will + user + password = 0xEC
    pkt = w.connect("reg-1", 30, False, ("t/p", b"off", 1, True), "reg-1", "pw")
    assert pkt[0] == 0x10
    assert pkt[2:10] == b"\x00\x04MQTT\x04\xec"
    assert pkt[10:12] == b"\x00\x1e"
    assert pkt.endswith(b"\x00\x05reg-1\x00\x03t/p\x00\x03off\x00\x05reg-1\x00\x02pw")
    assert w.connect("x", 60, True)[9] == 0x02


def test_malformed_input_is_a_protocol_error():
    for bad in (
        b"\x20\x03\x00\x00\x00",  # CONNACK of 3 bytes
        b"\x36\x02\x00\x00",  # PUBLISH QoS 3
        b"\x32\x04\x00\x09ab",  # topic runs past the packet
        b"\x32\x05\x00\x01a\x00\x00",  # QoS 1 with packet id 0
        b"\x30\xff\xff\xff\xff\x01",  # a fifth length byte
        b"\xd0\x01\x00",  # PINGRESP with a body
    ):
        assert raises(MqttProtocolError, w.Decoder().feed, bad) is not None, bad
    assert raises(MqttProtocolError, w.Decoder(max_packet=10).feed, w.publish("t", b"x" * 20))


class Broker:
    """A scripted broker connection (the firmware/net contract)."""

    def __init__(self, answers):
        self.answers = list(answers)  # bytes to return, one chunk per recv_into
        self.sent = []
        self.closed = False

    def send(self, data):
        if self.closed:
            raise OSError(32, "closed")
        self.sent.append(bytes(data))

    def recv_into(self, buf):
        if not self.answers:
            return None
        chunk = self.answers.pop(0)
        if chunk is None:
            return 0
        buf[: len(chunk)] = chunk
        return len(chunk)

    def close(self):
        self.closed = True

    def packets(self):
        d = w.Decoder()
        out = []
        for s in self.sent:
            first = s[0] >> 4
            if first in (w.CONNECT, w.SUBSCRIBE, w.PINGREQ, w.DISCONNECT):
                out.append((first,))
            else:
                out.extend(d.feed(s))
        return out


CONNACK = b"\x20\x02\x00\x00"
CONNACK_SESSION = b"\x20\x02\x01\x00"


def make(brokers, **kw):
    clock = FakeClock()
    got = []
    acked = []
    queue = list(brokers)

    def open_conn():
        if not queue:
            raise OSError(111, "refused")
        b = queue.pop(0)
        if b is None:
            raise OSError(111, "refused")
        return b

    c = MqttClient(
        open_conn,
        clock,
        "reg-1",
        keepalive_s=10,
        on_message=lambda t, p: got.append((t, bytes(p))),
        on_published=acked.append,
        rand=lambda: 0.5,
        **kw,
    )
    return Harness(c, clock, got, acked)


class Harness:
    def __init__(self, c, clock, got, acked):
        self.c = c
        self.clock = clock
        self.got = got
        self.acked = acked


def test_connect_subscribe_receive_and_ack_after_the_handler():
    b = Broker([CONNACK, b"\x90\x03\x00\x01\x01", w.publish("r/cmd", b"{}", 1, False, 9)])
    h = make([b])
    h.c.subscribe("r/cmd")
    assert h.c.service() and h.c.connected
    h.c.poll(0)
    assert h.got == [("r/cmd", b"{}")]
    assert b.sent[-1] == w.puback(9)


def test_refused_connection_backs_off_and_retries():
    h = make([Broker([b"\x20\x02\x00\x05"]), None, Broker([CONNACK])])
    assert not h.c.service()
    assert "not authorised" in h.c.last_error
    assert not h.c.service()  # within the backoff: no attempt
    h.clock.sleep(0.5)
    assert not h.c.service()  # refused at TCP level; the delay doubles
    h.clock.sleep(0.9)
    assert not h.c.service()
    h.clock.sleep(0.2)
    assert h.c.service()
    e = MqttRefusedError(4)
    assert e.code == 4 and "bad user name" in str(e)


def test_unacknowledged_messages_are_resent_with_dup_after_a_reconnect():
    first = Broker([CONNACK, w.puback(1), None])
    second = Broker([CONNACK_SESSION, w.puback(2)])
    h = make([first, second])
    h.c.service()
    p1 = h.c.publish("r/doc", b"one")
    p2 = h.c.publish("r/doc", b"two")
    h.c.poll(0)  # PUBACK 1
    assert h.acked == [p1] and h.c.in_flight() == 1
    h.c.poll(0)  # the broker closes
    assert not h.c.connected
    h.clock.sleep(1)
    h.c.poll(0)
    assert h.c.connected and h.c.session_present
    resent = [p for p in second.packets() if p[0] == w.PUBLISH]
    assert resent == [(w.PUBLISH, "r/doc", b"two", 1, False, True, p2)]
    h.c.poll(0)
    assert h.acked == [p1, p2] and h.c.in_flight() == 0


def test_messages_published_while_away_wait_in_flight():
    b = Broker([CONNACK])
    h = make([None, b])
    assert not h.c.service()
    h.c.publish("r/doc", b"x")
    assert h.c.in_flight() == 1 and not h.c.connected
    h.clock.sleep(1)
    h.c.service()
    assert (w.PUBLISH, "r/doc", b"x", 1, False, True, 1) in b.packets()


def test_tick_pings_when_due_and_poll_drops_a_silent_broker():
    b = Broker([CONNACK])
    h = make([b])
    h.c.service()
    h.clock.sleep(4)
    h.c.tick()
    assert b.packets()[-1] != (w.PINGREQ,)
    h.clock.sleep(1)
    h.c.tick()
    assert b.packets()[-1] == (w.PINGREQ,)
    h.clock.sleep(5)
    h.c.tick()  # still busy: pings go on, nothing is judged without reading
    assert sum(1 for p in b.packets() if p == (w.PINGREQ,)) == 2
    h.clock.sleep(6)
    h.c.tick()
    assert h.c.connected
    h.c.poll(0)  # reads nothing: the first ping is 11 s (> keepalive) unanswered
    assert not h.c.connected and "PINGRESP" in h.c.last_error


def test_a_pingresp_read_late_keeps_the_connection():
    b = Broker([CONNACK])
    h = make([b])
    h.c.service()
    h.clock.sleep(30)
    h.c.tick()
    h.clock.sleep(30)  # a long drive operation
    b.answers.append(b"\xd0\x00")
    h.c.poll(0)
    assert h.c.connected


def test_the_in_flight_window_is_bounded():
    h = make([None])
    for _ in range(64):
        h.c.publish("t", b"x")
    assert raises(MqttError, h.c.publish, "t", b"x") is not None
