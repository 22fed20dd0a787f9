"""The fleet's `desired` messages: one retained document per register, re-sent while it lags.

The fleet keeps a desired document per register (`desiredstate`: the OFD endpoint, the clock
drift limit, automatic shift close, the firmware; docs/mqtt.md). `change()` merges a change,
checks the whole document with the contract's own `link.check_desired` and bumps `seq`; an
unchanged document keeps its seq. `DesiredSender.step()` publishes each new seq at QoS 1,
**retained**, on `<root>/v1/reg/<serial>/desired`: a register that is offline gets it from the
broker when it subscribes again. The register applies a newer seq and reports it as
`desired_seq` in its state (firmware/agent.py). While the shadow's `desired_seq` is behind,
the sender publishes again every `resend_s` (a broker restarted without persistence forgets its
retained messages); once the shadow shows it, the row is looked at again only every `verify_s`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Table, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.link.desired_models import DesiredState
from fleet.link.exceptions import InvalidDesiredError
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register
from protocol.errors import LinkError
from protocol.mqtt import codec
from protocol.portable import link

__all__ = [
    "FIELDS",
    "DesiredSender",
    "DesiredStats",
    "RetainedPublisher",
    "applied_seq",
    "change",
    "payload",
]

# The fields the register applies or keeps (link.check_desired); `v` and `seq` are the fleet's.
FIELDS: Final = ("ofd_host", "ofd_port", "max_clock_drift_s", "auto_close_shift", "firmware")
RESEND_S: Final = 30.0  # half a state period (60 s): a lagging register is seen within a minute
VERIFY_S: Final = 600.0  # an applied document is checked again now and then: a register that
# rebooted while the broker had lost its retained messages reports no desired_seq
_DESIRED: Table = DesiredState.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_SHADOW: Table = DeviceShadow.__table__  # type: ignore[attr-defined]


class RetainedPublisher(Protocol):
    """Publishes one message at QoS 1 with the retain flag given."""

    def __call__(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...


def payload(seq: int, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The `desired` message of a document at a seq."""
    return {"v": link.VERSION, "seq": seq, **doc}


def change(
    session: Session,
    register_id: int,
    changes: Mapping[str, Any],
    now: float,
    user_id: int | None = None,
) -> DesiredState:
    """Merge `changes` (a field set to None is removed) into the register's desired document.

    The whole document is checked first; InvalidDesiredError names each bad field and nothing
    is written. A document equal to the current one keeps its seq; else seq + 1 and the sender
    publishes it at its next step. Flushed, not committed (the caller's transaction).
    """
    unknown = sorted(k for k in changes if k not in FIELDS)
    if unknown:
        raise InvalidDesiredError(
            "Неизвестные поля желаемого состояния", fields={k: "нет такого поля" for k in unknown}
        )
    row = session.get(DesiredState, register_id)
    doc = dict(row.doc) if row is not None else {}
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    seq = (row.seq if row is not None else 0) + 1
    errors = link.check_desired(payload(seq, doc))
    if errors:
        raise InvalidDesiredError(
            "Желаемое состояние не принято", fields={path: msg for path, _c, msg in errors}
        )
    if row is None:
        row = DesiredState(register_id=register_id, seq=seq, doc=doc, updated_at=now)
    elif doc == row.doc:
        return row
    else:
        row.seq, row.doc = seq, doc
    row.updated_at, row.updated_by, row.next_at = now, user_id, now
    session.add(row)
    session.flush()
    return row


def applied_seq(reported: Mapping[str, Any] | None) -> int | None:
    """The desired seq the register reported applying (its state's `desired_seq`)."""
    seq = (reported or {}).get("desired_seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


@dataclass
class DesiredStats:
    """What one step did."""

    published: int = 0  # a new seq
    republished: int = 0  # the same seq again: the register had not reported it
    applied: int = 0  # rows the shadow shows applied (they rest)
    refused: int = 0  # the codec refused the document (a bug: the row rests)


@dataclass
class DesiredSender:
    """Publishes desired documents; see the module docstring. `step()` is one transaction."""

    engine: Engine
    publish: RetainedPublisher | Callable[..., None]
    clock: Clock
    root: str = link.ROOT
    resend_s: float = RESEND_S
    verify_s: float = VERIFY_S
    batch: int = 500

    def step(self) -> DesiredStats:
        """Publish new seqs; publish again what the shadow shows not applied after resend_s."""
        stats = DesiredStats()
        now = self.clock.wall()
        due = or_(
            _DESIRED.c.published_seq.is_(None),
            _DESIRED.c.published_seq < _DESIRED.c.seq,
            _DESIRED.c.next_at <= now,
        )
        with self.engine.connect() as probe:  # most steps find nothing due: no transaction
            if probe.execute(select(_DESIRED.c.register_id).where(due).limit(1)).first() is None:
                return stats
        with self.engine.begin() as conn:
            stmt = (
                select(
                    _DESIRED.c.register_id,
                    _DESIRED.c.seq,
                    _DESIRED.c.doc,
                    _DESIRED.c.published_seq,
                    _REG.c.serial,
                    _SHADOW.c.reported,
                )
                .select_from(
                    _DESIRED.join(_REG, _REG.c.id == _DESIRED.c.register_id).outerjoin(
                        _SHADOW, _SHADOW.c.register_id == _DESIRED.c.register_id
                    )
                )
                .where(due)
                .order_by(_DESIRED.c.register_id)
                .limit(self.batch)
            )
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(of=_DESIRED, skip_locked=True)
            for r in conn.execute(stmt).all():
                self._one(conn, r, now, stats)
        return stats

    def _one(self, conn: Connection, r: Any, now: float, stats: DesiredStats) -> None:
        where = _DESIRED.c.register_id == r.register_id
        applied = applied_seq(r.reported)
        if r.published_seq == r.seq and applied is not None and applied >= r.seq:
            conn.execute(update(_DESIRED).where(where).values(next_at=now + self.verify_s))
            stats.applied += 1
            return
        if not r.serial:  # no hardware to send to; looked at again later
            conn.execute(update(_DESIRED).where(where).values(next_at=now + self.resend_s))
            return
        try:
            data = codec.encode(link.DESIRED, payload(r.seq, r.doc))
        except LinkError:  # change() checked it: only a contract change gets here
            conn.execute(update(_DESIRED).where(where).values(published_seq=r.seq, next_at=None))
            stats.refused += 1
            return
        self.publish(link.topic(self.root, r.serial, link.DESIRED), data, retain=True)
        if r.published_seq == r.seq:
            stats.republished += 1
        else:
            stats.published += 1
        conn.execute(
            update(_DESIRED)
            .where(where)
            .values(published_seq=r.seq, published_at=now, next_at=now + self.resend_s)
        )
