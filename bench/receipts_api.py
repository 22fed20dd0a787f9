"""`python -m bench.receipts_api`: the integrator API's create alone — CPU a receipt and rate.

The fleet app (`fleet.main.create_app`) serves in a child process of its own on a throwaway
PostgreSQL database (no jobs, no receipts worker, no registers); this process sends
`POST /api/receipts` over `--connections` keep-alive HTTP/1.1 connections (raw sockets, one
thread each: the client's CPU is a few tens of µs a request and not counted) for `--seconds`,
and reads the child's CPU from /proc. Variants — a source tree (`now`: this one; `before`: a
tree given by `--before`, e.g. a git worktree of HEAD) × uvicorn's HTTP parser and event loop,
or `TREE:pool`: the tree's own API process as `oblako bench receipts` runs it
(oblako/api_pool.py) — alternate round by round, so the machine's load moves all of them alike.

    python -m bench.receipts_api --rounds 3 --seconds 8 \\
        --variants now:httptools:uvloop,now:h11:asyncio
    python -m bench.receipts_api --before /tmp/api-base --variants before:pool,now:pool
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine, select

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent

#: the child: serves the app on the inherited socket until stdin closes (any source tree)
_CHILD = r"""
import json, socket, sys, threading, uvicorn
from fleet.core.config import Settings
from fleet.main import create_app
spec = json.loads(sys.stdin.readline())
sock = socket.socket(fileno=int(spec["fd"]))
server = uvicorn.Server(uvicorn.Config(
    create_app(Settings(**spec["settings"])), log_level="warning", lifespan="on",
    http=spec["http"], loop=spec["loop"]))
def watch():
    import time
    while not server.started:
        time.sleep(0.02)
    print("ready", flush=True)
    sys.stdin.read()
    server.should_exit = True
threading.Thread(target=watch, daemon=True).start()
server.run(sockets=[sock])
"""


@dataclass
class Round:
    variant: str
    receipts: int
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.receipts / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / max(self.receipts, 1) * 1e3


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _seed(url: str) -> tuple[int, str]:
    """A confirmed client company and an API token of its «Администратор» role."""
    from fleet.access.models import Role, RoleKind
    from fleet.access.resolve import principal_for_user
    from fleet.access.tokens import create_token
    from fleet.accounts import service as accounts
    from fleet.accounts.mail import MemoryMailSender
    from fleet.accounts.passwords import Passwords
    from fleet.accounts.requisites import inn_check_digits, ogrn_check_digit
    from fleet.accounts.service import AccountsContext
    from fleet.core.clock import SystemClock
    from fleet.core.config import Settings
    from fleet.core.db import make_engine
    from fleet.core.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    mail = MemoryMailSender()
    clock = SystemClock()
    ctx = AccountsContext(
        Settings(database_url=url), clock, mail, Passwords(time_cost=2, memory_kib=19456)
    )
    with Session(engine) as s:
        accounts.sign_up(
            session=s,
            ctx=ctx,
            email="bench@romashka.ru",
            password="oblako-bench-2026",
            company_name="ООО «Ромашка»",
            inn="770112345" + inn_check_digits("770112345"),
            ogrn="102770012345" + ogrn_check_digit("102770012345"),
        )
        token = mail.outbox[-1].body.split("token=", 1)[1].split()[0]
        user = accounts.confirm_email(session=s, ctx=ctx, token=token)
        me = principal_for_user(s, user)
        role = s.exec(
            select(Role).where(Role.company_id == me.company_id, Role.kind == RoleKind.ADMIN.value)
        ).one()
        if role.id is None:
            raise RuntimeError("роль «Администратор» не сохранена")
        issued = create_token(s, clock, principal=me, name="Бенчмарк", role_id=role.id)
    engine.dispose()
    return me.company_id, issued.secret


def _request(token: str, external_id: str, rng: random.Random) -> bytes:
    items: list[dict[str, Any]] = []
    for n in range(rng.randint(1, 3)):
        price = rng.randint(100, 9_999)
        qty = rng.randint(1, 3)
        items.append(
            {
                "name": f"Товар {n + 1}",
                "price": price,
                "quantity": str(qty),
                "measure": 0,
                "sum": price * qty,
                "vat": "vat22",
                "type": 1,
                "method": "full_payment",
            }
        )
    total = sum(int(i["sum"]) for i in items)
    body = json.dumps(
        {
            "id": external_id,
            "operation": "sale",
            "tax_system": "osn",
            "items": items,
            "payments": {"electronic": total},
            "total": total,
            "buyer_contact": f"buyer{rng.randint(1, 999)}@example.ru",
        },
        ensure_ascii=False,
    ).encode()
    head = (
        "POST /api/receipts HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_answer(sock: socket.socket, buf: bytearray) -> int:
    """One HTTP/1.1 answer off the connection (Content-Length framed); its status."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        rest += chunk
    buf[:] = rest[length:]
    return status


def _client(port: int, token: str, until: float, seed: int, out: list[int]) -> None:
    rng = random.Random(seed)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        while time.monotonic() < until:
            sock.sendall(_request(token, f"api-{uuid.uuid4().hex[:20]}", rng))
            status = _read_answer(sock, buf)
            if status == 201:
                out[0] += 1
            else:
                out[1] += 1


def _serve(tree: Path, http: str, loop: str, url: str) -> tuple[subprocess.Popen[str], int, Any]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    sock.set_inheritable(True)
    settings = {
        "database_url": url,
        "migrate_on_start": False,
        "run_jobs": False,
        "run_receipts": False,
        "run_delivery": False,
        "mqtt_url": None,
    }
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # "pool": the tree's own API process (oblako/api_pool.py: its server options and setup)
    child = ["-m", "oblako.api_pool"] if http == "pool" else ["-c", _CHILD]
    proc = subprocess.Popen(
        [sys.executable, *child],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(sock.fileno(),),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(
        json.dumps({"fd": sock.fileno(), "settings": settings, "http": http, "loop": loop}) + "\n"
    )
    proc.stdin.flush()
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the API did not start")
    return proc, sock.getsockname()[1], sock


def _round(
    variant: str,
    tree: Path,
    url: str,
    token: str,
    seconds: float,
    connections: int,
    profile: Path | None = None,
) -> Round:
    _name, http, loop = (*variant.split(":"), "pool")[:3]
    proc, port, sock = _serve(tree, http, loop, url)
    spy: subprocess.Popen[bytes] | None = None
    try:
        # warm-up: the token cache, the statement cache, the pool's connections
        _run_clients(port, token, 1.0, connections)
        if profile is not None:  # py-spy's collapsed stacks of the child, its CPU only
            out = profile / f"{variant.replace(':', '-')}-{time.time():.0f}.txt"
            spy = subprocess.Popen(
                ["py-spy", "record", "--pid", str(proc.pid), "--duration", str(int(seconds)),
                 "--rate", "250", "--format", "raw", "--threads", "--output", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        cpu0 = _proc_cpu(proc.pid)
        t0 = time.monotonic()
        ok, bad = _run_clients(port, token, seconds, connections)
        elapsed = time.monotonic() - t0
        cpu = _proc_cpu(proc.pid) - cpu0
        if spy is not None:
            spy.wait(60)
        if bad:
            raise RuntimeError(f"{variant}: {bad} answers other than 201")
        return Round(variant, ok, elapsed, cpu)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)
        sock.close()


def _run_clients(port: int, token: str, seconds: float, connections: int) -> tuple[int, int]:
    until = time.monotonic() + seconds
    counts = [[0, 0] for _ in range(connections)]
    threads = [
        threading.Thread(target=_client, args=(port, token, until, n, c), daemon=True)
        for n, c in enumerate(counts)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def main(argv: list[str] | None = None) -> None:
    """Run the variants alternated and print CPU a receipt and the rate of each."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--variants", default="now:httptools:uvloop,now:h11:asyncio")
    ap.add_argument("--before", type=Path, help="the source tree of the `before` variants")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--py-spy", type=Path, help="a folder for py-spy's profiles of the child")
    args = ap.parse_args(argv)
    variants = args.variants.split(",")
    trees = {"now": ROOT, "before": args.before}
    for v in variants:
        parts = v.split(":")
        if (
            not (len(parts) == 3 or parts[1:] == ["pool"])
            or parts[0] not in trees
            or trees[parts[0]] is None
        ):
            ap.error(
                f"variant {v!r}: TREE:HTTP:LOOP or TREE:pool, TREE now or before (with --before)"
            )
    name = f"oblako_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    rounds: list[Round] = []
    try:
        _company, token = _seed(url)
        for n in range(args.rounds):
            for v in variants if n % 2 == 0 else reversed(variants):
                r = _round(
                    v,
                    trees[v.split(":")[0]],
                    url,
                    token,
                    args.seconds,
                    args.connections,
                    args.py_spy,
                )
                rounds.append(r)
                print(
                    f"round {n + 1} {v:28} {r.rate:7.1f} receipts/s {r.cpu_ms:6.2f} ms CPU a "
                    f"receipt ({r.receipts} in {r.seconds:.1f} s) load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print("median of the rounds:")
    base = statistics.median(r.cpu_ms for r in rounds if r.variant == variants[0])
    for v in variants:
        mine = [r for r in rounds if r.variant == v]
        cpu = statistics.median(r.cpu_ms for r in mine)
        print(
            f"  {v:28} {statistics.median(r.rate for r in mine):7.1f} receipts/s "
            f"{cpu:6.2f} ms CPU a receipt  ratio {cpu / base:.2f}"
        )


if __name__ == "__main__":
    main()
