"""A local SMTP sink that keeps up, and a pipelined client that measures how much it takes.

The delivery benchmark compares the cascade with bare SMTP sends; with aiosmtpd as the sink
(under 200 letters/s on the loaded machine) both sides measured the sink. This one is a bare
asyncio protocol (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING advertised) that
counts a letter at the end of its DATA and keeps nothing, run in several processes on one port
(``SO_REUSEPORT``: the kernel spreads the connections). `capacity` drives it with pipelined
transactions over several connections from its own process: the sink's ceiling, printed next
to the figures so a reader sees the sink was not the limit.
"""

from __future__ import annotations

import asyncio
import socket
import time
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any, Final

__all__ = ["capacity", "serve"]

_END: Final = b"\r\n.\r\n"


class _Sink(asyncio.Protocol):
    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.buf = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            self.transport = transport
            transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out: list[bytes] = []
        while True:
            if self.in_data:
                if self.buf.startswith(b".\r\n"):  # an empty body
                    end, skip = 0, 3
                else:
                    end, skip = self.buf.find(_END), len(_END)
                if end < 0:
                    break
                self.buf = self.buf[end + skip :]
                self.in_data = False
                self.counter[0] += 1
                out.append(b"250 2.0.0 OK\r\n")
                continue
            i = self.buf.find(b"\r\n")
            if i < 0:
                break
            verb = self.buf[:4].upper()
            self.buf = self.buf[i + 2 :]
            if verb == b"EHLO":
                out.append(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                out.append(b"354 go on\r\n")
                self.in_data = True
            elif verb == b"QUIT":
                out.append(b"221 bye\r\n")
                if self.transport is not None:
                    self.transport.write(b"".join(out))
                    self.transport.close()
                return
            else:
                out.append(b"250 OK\r\n")
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


def serve(
    port: int, count: Synchronized[int], cpu: Synchronized[float], ready: Any, stop: Event
) -> None:
    """One sink process on ``port`` (shared by SO_REUSEPORT) until ``stop``; adds what it
    received to ``count`` and its CPU seconds to ``cpu`` every 0.1 s and at the end."""
    counter = [0]

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        server = await asyncio.get_running_loop().create_server(
            lambda: _Sink(counter), sock=sock, backlog=512
        )
        ready.release()
        told, cpu0, cpu_told = 0, time.process_time(), 0.0
        while not stop.is_set():
            await asyncio.sleep(0.1)
            n, c = counter[0], time.process_time() - cpu0
            with count.get_lock():
                count.value += n - told
            with cpu.get_lock():
                cpu.value += c - cpu_told
            told, cpu_told = n, c
        server.close()

    asyncio.run(main())


def capacity(port: int, letter: bytes, *, connections: int = 8, per_connection: int = 500) -> float:
    """Letters/s the sink on ``port`` takes from pipelined clients (``letter``: CRLF bytes)."""
    body = letter.replace(b"\r\n.", b"\r\n..")  # dot-stuffing (RFC 5321 §4.5.2)
    txn = b"MAIL FROM:<bench@example.ru>\r\nRCPT TO:<sink@example.ru>\r\nDATA\r\n" + body
    txn += b"" if body.endswith(b"\r\n") else b"\r\n"
    txn += b".\r\n"

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"EHLO bench\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        for _ in range(0, per_connection, 50):
            writer.write(txn * 50)
            await writer.drain()
            got = 0
            while got < 50:
                if (await reader.readline()).startswith(b"250 2.0.0"):
                    got += 1
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()

    async def main() -> float:
        t0 = time.monotonic()
        await asyncio.gather(*(one() for _ in range(connections)))
        return time.monotonic() - t0

    took = asyncio.run(main())
    return connections * (per_connection // 50 * 50) / took
