"""The sandbox's simulated registers: each answers the fleet's commands itself, in-process.

Routing queues a sandbox part on a simulated register exactly as on a real one (a `sentcommand`
row); `answer_commands` plays the register and its test drive: it checks the request with the
shared schema on the register's profile (the rules a real register applies), numbers the
document from the test drive's counters, makes a test fiscal sign, and stores the answer where
the ingest stores a real register's (`linkcommand`: ack "accepted", result "made" or
"failed"). The receipts tracker then moves the part as for any register. Nothing leaves the
process: no MQTT, no OFD, no tax service. A sandbox receipt stops at "fiscalised": no OFD
confirms it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine

from fleet.core.clock import Clock
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.ingest_models import DeviceShadow, LinkCommand
from fleet.receipts.models import RoutingProfile
from fleet.sandbox.models import SandboxRegister
from protocol.portable import receipt as schema

__all__ = ["answer_commands"]

MSK: Final = dt.timezone(dt.timedelta(hours=3))
SHIFT_RECEIPTS: Final = 5000  # a new test shift after this many receipts

_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_LINK: Table = LinkCommand.__table__  # type: ignore[attr-defined]
_SIM: Table = SandboxRegister.__table__  # type: ignore[attr-defined]
_PROFILE: Table = RoutingProfile.__table__  # type: ignore[attr-defined]
_SHADOW: Table = DeviceShadow.__table__  # type: ignore[attr-defined]


def _fiscal_sign(fn: str, fd: int, total: int) -> int:
    """A test drive's fiscal sign: 10 digits, deterministic (no key: it proves nothing)."""
    digest = hashlib.sha256(f"sandbox:{fn}:{fd}:{total}".encode()).digest()
    return int.from_bytes(digest[:5], "big") % 4_000_000_000 + 1


def _answer(sim: Any, profile: dict[str, Any], body: Any, now: float) -> tuple[str, dict[str, Any]]:
    """(result status, result) of one document request on the simulated register."""
    local = dt.datetime.fromtimestamp(now, MSK)
    norm, errors = schema.check(body, profile, local.isoformat(timespec="seconds"))
    if errors or norm is None:
        return "failed", {
            "retryable": False,
            "errors": [{"path": p, "code": c, "message": m} for p, c, m in errors],
        }
    _doc, operation, total = schema.closing(norm)
    fd = sim.last_fd + 1
    fp = _fiscal_sign(sim.fn_number, fd, total)
    number = sim.receipts_in_shift + 1
    qr = (
        f"t={local:%Y%m%dT%H%M}&s={total // 100}.{total % 100:02d}"
        f"&fn={sim.fn_number}&i={fd}&fp={fp}&n={operation}"
    )
    return "made", {
        "fn": sim.fn_number,
        "fd": fd,
        "fp": fp,
        "shift": sim.shift_number,
        "number": number,
        "date_time": local.isoformat(timespec="seconds"),
        "qr": qr,
        "sandbox": True,
    }


def answer_commands(engine: Engine, clock: Clock, *, limit: int = 500) -> int:
    """Answer every pending command of the simulated registers; how many were answered."""
    now = clock.wall()
    answered = 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(_SENT, _PROFILE.c.profile)
            .select_from(
                _SENT.join(_SIM, _SIM.c.register_id == _SENT.c.register_id).join(
                    _PROFILE, _PROFILE.c.register_id == _SENT.c.register_id
                )
            )
            .where(_SENT.c.status == CommandStatus.PENDING.value)
            .order_by(_SENT.c.id)
            .limit(limit)
        ).all()
        for cmd in rows:
            sim = conn.execute(select(_SIM).where(_SIM.c.register_id == cmd.register_id)).one()
            if cmd.action in ("receipt", "correction"):
                status, result = _answer(sim, dict(cmd.profile), cmd.body, now)
                ack, ack_errors = "accepted", None
            else:  # a simulated register takes no service command (it is never registered)
                status, result = "", {}
                ack = "rejected"
                ack_errors = [{"path": "", "message": "Тестовая касса песочницы не выполняет"
                               f" команду «{cmd.action}»"}]  # fmt: skip
            done = conn.execute(
                update(_SENT)
                .where(_SENT.c.id == cmd.id, _SENT.c.status == CommandStatus.PENDING.value)
                .values(status=CommandStatus.ACKED.value, sent_at=now, attempts=cmd.attempts + 1)
            )
            if done.rowcount != 1:
                continue  # another pass answered it
            conn.execute(
                _LINK.insert().values(
                    register_id=cmd.register_id,
                    request_id=cmd.request_id,
                    ack_status=ack,
                    ack_errors=ack_errors,
                    acked_at=now,
                    result_status=status or None,
                    result=result or None,
                    result_at=now if status else None,
                )
            )
            if status == "made":
                new_shift = sim.receipts_in_shift + 1 >= SHIFT_RECEIPTS
                conn.execute(
                    update(_SIM)
                    .where(_SIM.c.register_id == sim.register_id)
                    .values(
                        last_fd=result["fd"],
                        shift_number=sim.shift_number + (1 if new_shift else 0),
                        receipts_in_shift=0 if new_shift else result["number"],
                    )
                )
            answered += 1
        if rows:
            conn.execute(
                update(_SHADOW)
                .where(_SHADOW.c.register_id.in_({r.register_id for r in rows}))
                .values(last_seen_at=now, presence_at=now, online=True)
            )
    return answered
