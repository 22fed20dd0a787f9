# firmware/net.py: a TCP connection for the OFD client over the `socket` module.
# MIT license; Oblako register runtime.
#
# The OFD client (firmware/ofd.py) needs the smallest connection there is:
#
#   connect(host, port, timeout) -> conn     open a TCP connection (timeout: seconds)
#   conn.send(buf)                           send all of buf (raises OSError on failure)
#   conn.recv_into(buf) -> int | None        bytes received into buf; 0: the peer closed;
#                                            None: nothing arrived within read_timeout_s
#   conn.close()
#
# This module implements it with `socket`, which CPython and MicroPython (the unix, esp32,
# rp2 ... ports) both have, using only what both offer: getaddrinfo, socket(), settimeout,
# connect, send, recv_into or readinto. A board build may replace it with its own modem or
# TLS transport; nothing else in firmware/ imports socket.
import socket

from firmware.compat import const

# mypy treats `if TYPE_CHECKING:` as true; MicroPython folds const(0) and drops the block.
TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from collections.abc import Callable

_ETIMEDOUT = 110  # errno on Linux and MicroPython (lwIP and the unix port)
_EAGAIN = 11


def _is_timeout(e: OSError) -> bool:
    # CPython raises TimeoutError (socket.timeout); MicroPython an OSError carrying
    # ETIMEDOUT or EAGAIN in args[0].
    if type(e).__name__ in ("timeout", "TimeoutError"):
        return True
    code = e.args[0] if e.args else None
    return code == _ETIMEDOUT or code == _EAGAIN


class SocketConnection:
    """One TCP connection under the contract above."""

    def __init__(self, sock: "socket.socket", read_timeout_s: float) -> None:
        self.sock = sock
        sock.settimeout(read_timeout_s)
        recv_into = getattr(sock, "recv_into", None)
        # MicroPython sockets (and its TLS sockets) may offer readinto and write only.
        self._recv_into = recv_into if recv_into is not None else sock.readinto  # type: ignore[attr-defined]
        send = getattr(sock, "send", None)
        self._send = send if send is not None else sock.write  # type: ignore[attr-defined]

    def send(self, buf: "bytes | bytearray | memoryview") -> None:
        """Send all of buf; OSError when the connection fails or stalls."""
        mv = memoryview(buf)
        off = 0
        n = len(mv)
        while off < n:
            try:
                w = self._send(mv[off:])
            except OSError as e:
                if _is_timeout(e):
                    raise OSError(_ETIMEDOUT, "send timed out")
                raise
            if not w:
                raise OSError(_EAGAIN, "the connection takes no data")
            off += w

    def recv_into(self, buf: "bytearray | memoryview") -> "int | None":
        """Bytes received into buf, 0 when the peer closed, None when nothing came yet."""
        try:
            n = self._recv_into(buf)
        except OSError as e:
            if _is_timeout(e):
                return None
            raise
        return 0 if n is None else n

    def close(self) -> None:
        """Close the connection (never raises)."""
        try:
            self.sock.close()
        except OSError:
            pass


def connector(
    read_timeout_s: float = 0.05, tls: bool = False, ca_file: "str | None" = None
) -> "Callable[[str, int, float], SocketConnection]":
    """A connect(host, port, timeout) function whose connections wait at most
    read_timeout_s (real seconds) in each recv_into before answering None.

    tls: wrap the connection in TLS, verifying the server's certificate and host name against
    ca_file (or, on CPython without ca_file, the system's CA store). Both ports' `ssl` module
    offer SSLContext(PROTOCOL_TLS_CLIENT), load_verify_locations and wrap_socket."""

    def connect(host: str, port: int, timeout: float) -> SocketConnection:
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        sock = socket.socket(ai[0], ai[1], ai[2])
        try:
            sock.settimeout(timeout)
            sock.connect(ai[-1])
            if tls:
                sock = _tls(sock, host, ca_file)
        except Exception:
            sock.close()
            raise
        return SocketConnection(sock, read_timeout_s)

    return connect


def _tls(sock: "socket.socket", host: str, ca_file: "str | None") -> "socket.socket":
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    else:
        ctx.load_default_certs()  # CPython; a board passes its CA file
    return ctx.wrap_socket(sock, server_hostname=host)


connect = connector()
