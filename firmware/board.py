# firmware/board.py: the board's entry point (docs/firmware.md: ESP32-S3-WROOM-1-N8R8).
# MIT license; Oblako register runtime.
#
# main.py (oblako/firmware_build.py BOARD_MAIN) picks the bundle slot and calls main(): the
# identity that `oblako firmware provision` wrote to /store/identity.json (serial, broker URL,
# credentials, topic root, CA file; optionally the OFD's HOST:PORT, the drive's UART pins and
# a Wi-Fi network), the drive on its UART, the runtime with its journal and profile on /store,
# the MQTT client (firmware/mqtt.py, TLS for mqtts://) and the agent with the updater
# (firmware/update.py) fetching bundles over plain HTTP(S) GET. No secret is baked into the
# image: a board without its identity file stops with the reason.
#
# build() is the wiring without the hardware, so CPython tests run the same composition over a
# simulated drive; main() adds machine.UART, the network and machine.reset().
import binascii
import json

from firmware import net
from firmware.agent import Agent, will
from firmware.clock import SystemClock
from firmware.compat import const
from firmware.drive import FiscalDrive
from firmware.errors import UsageError
from firmware.journal import Journal
from firmware.mqtt import MqttClient
from firmware.ofd import OfdClient
from firmware.outbox import Outbox
from firmware.register import Register
from firmware.shared import link
from firmware.update import DirSlots, Updater

TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from typing import Any

IDENTITY = "identity.json"
PROFILE = "profile"  # the register profile, as `oblako register run` keeps it
STORE = "/store"
SLOTS = "/fw"
UART_DEFAULT = {"id": 1, "tx": 17, "rx": 18, "baud": 115200}
_IDENTITY_KEYS = ("serial", "mqtt_url", "username", "password", "root", "ca_file", "ofd",
                  "uart", "wifi", "fw_key")  # fmt: skip


def _unquote(s: str) -> str:
    # percent-decoding of the URL's user and password (token_urlsafe needs none, a typed
    # password may)
    out = bytearray()
    b = s.encode()
    i = 0
    while i < len(b):
        if b[i] == 0x25 and i + 2 < len(b):
            try:
                out.append(int(b[i + 1 : i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(b[i])
        i += 1
    return out.decode()


def parse_url(url: str, schemes: tuple) -> tuple:
    """(tls, host, port, user, password, path) of scheme://[user[:password]@]host[:port][/path];
    UsageError naming what is wrong. schemes: ((name, tls, default port), ...)."""
    if not isinstance(url, str):
        raise UsageError("адрес — строка")
    sep = url.find("://")
    if sep < 0:
        raise UsageError("адрес %r без схемы" % (url,))
    scheme = url[:sep]
    tls = None
    port = 0
    for name, is_tls, default in schemes:
        if scheme == name:
            tls = is_tls
            port = default
    if tls is None:
        raise UsageError("схема %r не поддерживается" % (scheme,))
    rest = url[sep + 3 :]
    slash = rest.find("/")
    path = "/"
    if slash >= 0:
        path = rest[slash:]
        rest = rest[:slash]
    user = None
    password = None
    at = rest.rfind("@")
    if at >= 0:
        cred = rest[:at]
        rest = rest[at + 1 :]
        colon = cred.find(":")
        if colon >= 0:
            user = _unquote(cred[:colon])
            password = _unquote(cred[colon + 1 :])
        else:
            user = _unquote(cred)
    host = rest
    colon = rest.rfind(":")
    if colon >= 0 and rest.find("]") < colon:
        host = rest[:colon]
        try:
            port = int(rest[colon + 1 :])
        except ValueError:
            raise UsageError("порт в адресе %r — не число" % (url,))
    if host[:1] == "[" and host[-1:] == "]":
        host = host[1:-1]
    if not host or not 0 < port < 65536:
        raise UsageError("в адресе %r нет узла или порта" % (url,))
    return tls, host, port, user, password, path


def load_identity(storage: "Any") -> dict:
    """The board's identity from its storage; UsageError with the reason when it is missing
    or wrong (the board must not start as someone else)."""
    raw = storage.read(IDENTITY)
    if not raw:
        raise UsageError("нет %s: выполните `oblako firmware provision`" % (IDENTITY,))
    try:
        ident = json.loads(raw)
    except ValueError:
        raise UsageError("%s — не JSON" % (IDENTITY,))
    if not isinstance(ident, dict):
        raise UsageError("%s — не объект" % (IDENTITY,))
    for key in ident:
        if key not in _IDENTITY_KEYS:
            raise UsageError("%s: неизвестное поле %r" % (IDENTITY, key))
    if not link.serial_ok(ident.get("serial")):
        raise UsageError("%s: serial — 1..32 символа [0-9A-Za-z_-]" % (IDENTITY,))
    if not link.root_ok(ident.get("root")):
        raise UsageError("%s: root — корень топиков без + # $" % (IDENTITY,))
    parse_url(ident.get("mqtt_url", ""), (("mqtt", False, 1883), ("mqtts", True, 8883)))
    ofd = ident.get("ofd")
    if ofd is not None:
        _host_port(ofd)
    fw_key = ident.get("fw_key")
    if fw_key is not None:
        try:
            ok = isinstance(fw_key, str) and len(binascii.unhexlify(fw_key)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise UsageError("%s: fw_key — 64 шестнадцатеричные цифры (Ed25519)" % (IDENTITY,))
    uart = dict(UART_DEFAULT)
    given = ident.get("uart") or {}
    if not isinstance(given, dict):
        raise UsageError("%s: uart — объект {id, tx, rx, baud}" % (IDENTITY,))
    for k in given:
        if k not in UART_DEFAULT or type(given[k]) is not int or given[k] < 0:
            raise UsageError("%s: uart.%s — неотрицательное целое" % (IDENTITY, k))
        uart[k] = given[k]
    ident["uart"] = uart
    return ident


def _host_port(text: "Any") -> tuple:
    if not isinstance(text, str) or text.rfind(":") <= 0:
        raise UsageError("адрес ОФД — HOST:PORT, не %r" % (text,))
    host = text[: text.rfind(":")]
    try:
        port = int(text[text.rfind(":") + 1 :])
    except ValueError:
        raise UsageError("адрес ОФД — HOST:PORT, не %r" % (text,))
    if not 0 < port < 65536:
        raise UsageError("порт ОФД вне 1..65535: %r" % (text,))
    return host, port


class _Body:
    """An HTTP response body: read(n) from what followed the headers, then the connection."""

    def __init__(self, conn: "Any", head: bytes, clock: "Any", timeout_s: float) -> None:
        self._conn = conn
        self._buf = head
        self._clock = clock
        self._timeout_s = timeout_s
        self._eof = False

    def read(self, n: int) -> bytes:
        deadline = self._clock.monotonic() + self._timeout_s
        while len(self._buf) < n and not self._eof:
            chunk = bytearray(1024)
            got = self._conn.recv_into(chunk)
            if got is None:
                if self._clock.monotonic() > deadline:
                    raise OSError("сервер сборок молчит %d с" % int(self._timeout_s))
                continue
            if got == 0:
                self._eof = True
            else:
                self._buf += bytes(chunk[:got])
        out = self._buf[:n]
        self._buf = self._buf[n:]
        return out

    def close(self) -> None:
        self._conn.close()


def http_fetch(clock: "Any", ca_file: "str | None" = None, timeout_s: float = 30.0) -> "Any":
    """fetch(url) for the updater: an HTTP/1.0 GET (https verified against ca_file) whose body
    reads in pieces; OSError for a refusal, a status other than 200, or silence."""

    def fetch(url: str) -> "Any":
        try:
            tls, host, port, _u, _p, path = parse_url(
                url, (("http", False, 80), ("https", True, 443))
            )
        except UsageError as e:
            raise OSError(str(e))
        conn = net.connector(tls=tls, ca_file=ca_file)(host, port, 10.0)
        try:
            conn.send(
                ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode()
            )
            head = b""
            deadline = clock.monotonic() + timeout_s
            while head.find(b"\r\n\r\n") < 0:
                chunk = bytearray(512)
                got = conn.recv_into(chunk)
                if got is None:
                    if clock.monotonic() > deadline:
                        raise OSError("сервер сборок молчит %d с" % int(timeout_s))
                    continue
                if got == 0 or len(head) > 8192:
                    raise OSError("ответ сервера сборок оборван")
                head += bytes(chunk[:got])
            end = head.find(b"\r\n\r\n")
            status = head[: head.find(b"\r\n")].split()
            if len(status) < 2 or status[1] != b"200":
                raise OSError("сервер сборок ответил %s" % (b" ".join(status[1:]).decode(),))
            return _Body(conn, head[end + 4 :], clock, timeout_s)
        except BaseException:
            conn.close()
            raise

    return fetch


def build(
    ident: dict,
    transport: "Any",
    storage: "Any",
    slots: "Any",
    clock: "Any" = None,
    connect: "Any" = None,
) -> Agent:
    """The runtime on a drive transport (UART contract: write/readinto) with its agent; the
    identity as load_identity() returned it."""
    clock = clock if clock is not None else SystemClock()
    tls, host, port, user, password, _path = parse_url(
        ident["mqtt_url"], (("mqtt", False, 1883), ("mqtts", True, 8883))
    )
    ca_file = ident.get("ca_file")
    if connect is None:
        connect = net.connector(read_timeout_s=0.05, tls=tls, ca_file=ca_file)
    serial = ident["serial"]
    root = ident["root"]
    client = MqttClient(
        lambda: connect(host, port, 10.0),
        clock,
        "reg-" + serial,
        will=will(root, serial),
        username=user if user is not None else ident.get("username"),
        password=password if password is not None else ident.get("password"),
    )
    drive = FiscalDrive(transport, clock)
    drive.idle = client.tick
    ofd = None
    if ident.get("ofd"):
        ofd_host, ofd_port = _host_port(ident["ofd"])
        # linger_s: the connection is kept 10 s after the last document, so a register selling
        # every few seconds does not reconnect (and 21h up/down) per receipt (firmware/ofd.py)
        ofd = OfdClient(
            drive, net.connector(), ofd_host, ofd_port, clock,
            utc_offset_min=drive.utc_offset_min, linger_s=10.0,
        )  # fmt: skip
    profile = None
    raw = storage.read(PROFILE)
    if raw:
        try:
            profile = json.loads(raw)
        except ValueError:
            profile = None
    reg = Register(
        drive, Journal(storage), clock, profile if isinstance(profile, dict) else None,
        storage=storage, ofd=ofd,
    )  # fmt: skip
    fw_key = ident.get("fw_key")  # the build key's public half: only signed bundles install
    updater = Updater(
        storage, slots, fetch=http_fetch(clock, ca_file),
        public_key=binascii.unhexlify(fw_key) if fw_key else None,
    )  # fmt: skip
    return Agent(
        reg, client, Outbox(storage, clock), root, serial, updater.version(), updater=updater
    )


def _wifi(conf: "Any") -> None:
    import network  # type: ignore[import-not-found]  # MicroPython only

    if not isinstance(conf, dict):
        raise UsageError("%s: wifi — объект {ssid, password}" % (IDENTITY,))
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(conf.get("ssid", ""), conf.get("password", ""))


def main() -> None:  # pragma: no cover  (the board)
    """Start the register on the board; reset it when the agent asks (a reboot, an update)."""
    import machine  # type: ignore[import-not-found]  # MicroPython only

    from firmware.storage import FileStorage

    storage = FileStorage(STORE)
    ident = load_identity(storage)
    if ident.get("wifi"):
        _wifi(ident["wifi"])
    u = ident["uart"]
    uart = machine.UART(u["id"], baudrate=u["baud"], tx=u["tx"], rx=u["rx"], timeout=0)
    agent = build(ident, uart, storage, DirSlots(SLOTS))
    agent.run()
    machine.reset()
