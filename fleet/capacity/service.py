"""Capacity per register group (issue 9): a group is the registers that can serve the same
receipt parts — one company's active registers at one store (or with no store), the pool the
router picks from (fleet/receipts/routing.py). Per group, over the last hour on the injected
clock:

- **load**: parts fiscalised per second against what the group's online registers can make
  (`RECEIPTS_PER_S` each), as utilisation;
- **queue**: parts waiting for a register (accepted) and given to one and not answered
  (queued), and the lag — the age of the oldest of them;
- **suggestion**: registers to add so that the hour's inflow runs at `TARGET_UTILISATION`,
  or one more when the queue lags past `LAG_TARGET_S` with too few online (ATOL warns that a
  group with too few registers for its inflow times out, reference peers-and-regulations.md
  §1.2, §5.2 item 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Table, func, select
from sqlmodel import Session

from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts.models import ReceiptPart, ReceiptStatus
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store

__all__ = [
    "LAG_TARGET_S",
    "RECEIPTS_PER_S",
    "TARGET_UTILISATION",
    "WINDOW_S",
    "GroupCapacity",
    "groups",
    "registers_needed",
]

# A register on its drive: 3.1 receipts/s through the driver with the drive's processing time
# (docs/benchmarks.md, "wire + processing", one-item receipt); larger receipts take longer.
RECEIPTS_PER_S: Final = 3.1
TARGET_UTILISATION: Final = 0.6  # headroom for bursts, shift closes and OFD exchanges
LAG_TARGET_S: Final = 120.0  # the console's queue alarm (fleet/console/rules.py QUEUE_LAG_S)
WINDOW_S: Final = 3600.0
_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_SH: Table = DeviceShadow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GroupCapacity:
    """One group's figures."""

    company_id: int
    company: str
    store_id: int | None
    store: str
    registers: int
    online: int
    made: int  # parts fiscalised in the window
    arrived: int  # parts accepted in the window
    waiting: int  # accepted, no register yet
    queued: int  # given to a register, not answered
    lag_s: float  # age of the oldest waiting or queued part
    utilisation: float  # made per second / what the online registers can make
    add: int  # registers to add

    @property
    def suggestion(self) -> str:
        if self.add <= 0:
            return ""
        return f"Добавьте касс: {self.add}"


def registers_needed(arrived: int, online: int, lag_s: float, window_s: float = WINDOW_S) -> int:
    """Registers to add to a group: the inflow at the target utilisation, or one more when
    the queue lags with no spare register."""
    rate = arrived / window_s
    need = math.ceil(rate / (RECEIPTS_PER_S * TARGET_UTILISATION) - 1e-9) if rate > 0 else 0
    add = max(0, need - online)
    if add == 0 and lag_s > LAG_TARGET_S:
        add = 1
    return add


def groups(session: Session, clock: Clock) -> list[GroupCapacity]:
    """Every group with an active register, the most loaded first."""
    now = clock.wall()
    since = now - WINDOW_S
    conn = session.connection()
    regs = conn.execute(
        select(
            _REG.c.company_id,
            _REG.c.store_id,
            func.count(),
            func.sum(func.coalesce(_SH.c.online, False).cast(type_=_REG.c.id.type)),
        )
        .select_from(_REG.outerjoin(_SH, _SH.c.register_id == _REG.c.id))
        .where(
            _REG.c.state == RegisterState.ACTIVE.value,
            _REG.c.serial.is_not(None),
            _REG.c.company_id.is_not(None),
        )
        .group_by(_REG.c.company_id, _REG.c.store_id)
    ).all()
    key = (_PART.c.company_id, _PART.c.store_id)
    made = dict(
        ((c, s), n)
        for c, s, n in conn.execute(
            select(*key, func.count())
            .where(
                _PART.c.status.in_([ReceiptStatus.FISCALISED.value, ReceiptStatus.CONFIRMED.value]),
                _PART.c.updated_at >= since,
            )
            .group_by(*key)
        ).all()
    )
    arrived = dict(
        ((c, s), n)
        for c, s, n in conn.execute(
            select(*key, func.count()).where(_PART.c.created_at >= since).group_by(*key)
        ).all()
    )
    pending = {
        (c, s, st): (n, oldest)
        for c, s, st, n, oldest in conn.execute(
            select(*key, _PART.c.status, func.count(), func.min(_PART.c.created_at))
            .where(_PART.c.status.in_([ReceiptStatus.ACCEPTED.value, ReceiptStatus.QUEUED.value]))
            .group_by(*key, _PART.c.status)
        ).all()
    }
    company_t: Table = Company.__table__  # type: ignore[attr-defined]
    store_t: Table = Store.__table__  # type: ignore[attr-defined]
    names: dict[int, str] = {
        i: n
        for i, n in conn.execute(
            select(company_t.c.id, company_t.c.name).where(company_t.c.id.in_({r[0] for r in regs}))
        ).all()
    }
    stores: dict[int, str] = {
        i: n
        for i, n in conn.execute(
            select(store_t.c.id, store_t.c.name).where(
                store_t.c.id.in_({r[1] for r in regs if r[1] is not None})
            )
        ).all()
    }
    out = []
    for company_id, store_id, total, online in regs:
        k = (company_id, store_id)
        waiting, w_old = pending.get((*k, ReceiptStatus.ACCEPTED.value), (0, None))
        queued, q_old = pending.get((*k, ReceiptStatus.QUEUED.value), (0, None))
        olds = [t for t in (w_old, q_old) if t is not None]
        lag = now - min(olds) if olds else 0.0
        online = int(online or 0)
        n_made = int(made.get(k, 0))
        n_in = int(arrived.get(k, 0))
        capacity = online * RECEIPTS_PER_S
        out.append(
            GroupCapacity(
                company_id=company_id,
                company=names.get(company_id, str(company_id)),
                store_id=store_id,
                store=stores.get(store_id, "без магазина") if store_id else "без магазина",
                registers=int(total),
                online=online,
                made=n_made,
                arrived=n_in,
                waiting=int(waiting),
                queued=int(queued),
                lag_s=max(0.0, lag),
                utilisation=(n_made / WINDOW_S) / capacity if capacity else 0.0,
                add=registers_needed(n_in, online, lag),
            )
        )
    out.sort(key=lambda g: (-g.add, -g.lag_s, -g.utilisation, g.company, g.store))
    return out
