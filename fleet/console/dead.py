"""A dead register: what its drive shows as made stays made, the rest moves, a successor opens.

DESIGN decision 5: a receipt moves to another register only after an explicit "not executed"
— or after an operator declares its register dead and the drive's archive proves what was and
was not made. The archive reaches the fleet as documents (the `doc` events the ingest stores,
with a per-drive watermark `storedwatermark.through`: every FD up to it is stored); a
`read_archive` command makes a register that still answers send a range again.

`assess` says, for each receipt part queued on the register:
- **made**: the register's result names the document (FN, FD) — the tracker fiscalises it;
- **held**: no result, but a receipt document of the drive that no part claims has the same
  total: it may be this part's, so the part stays where it is for a person to reconcile (a
  duplicate fiscal receipt is a legal error; a late one is not);
- **moved**: no document of the drive can be it, and the fleet holds every document the drive
  reported (its last FD is at or below the watermark): it was not made.
When the fleet lacks documents the drive reported, nothing is moved: `declare` refuses
(`ArchiveIncompleteError` with the missing FD range) unless the operator says the archive is
unreadable, and then every unproved part is held, none moved.

`declare` then, in one transaction: marks the moved parts "not executed" through the tracker
(fleet/receipts/tracker.not_executed: the register joins `tried`, a new request id, back
to "accepted" so routing gives them to another register), expires the commands still queued
for the dead register (the sender stops), revokes its broker account (a register that comes
back cannot take an old command), sets it `dead` (routing takes only active registers), opens
a replacement (a paid virtual slot of the same client, booking, store, folder and tariff for
an operator to put hardware behind), and writes the audit row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Table, and_, select, update
from sqlmodel import Session, col

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.console.exceptions import (
    ArchiveIncompleteError,
    ConsoleRegisterNotFoundError,
    RegisterAlreadyDeadError,
)
from fleet.console.models import Alarm, AlarmStatus, AlarmWatch, ConsoleCommand, DeadRegister
from fleet.core.clock import Clock
from fleet.core.errors import InvalidInputError
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.ingest_models import DeviceShadow, LinkCommand, StoredWatermark
from fleet.link.models import MqttAccount
from fleet.receipts.models import ReceiptPart, ReceiptStatus
from fleet.receipts.tracker import not_executed
from fleet.registers.models import Register, RegisterState

__all__ = ["Assessment", "PartVerdict", "assess", "declare"]

#: document types a receipt part becomes: receipt, BSO, their corrections (30h/40h types)
RECEIPT_TYPES: Final = (3, 4, 31, 41)

_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_LINK: Table = LinkCommand.__table__  # type: ignore[attr-defined]
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_ALARM: Table = Alarm.__table__  # type: ignore[attr-defined]
_WATCH: Table = AlarmWatch.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PartVerdict:
    """One queued part and what the archive says of it."""

    part_id: int
    receipt_id: int
    request_id: str
    total: int
    verdict: str  # made | held | moved
    why: str


@dataclass
class Assessment:
    """What the fleet knows of the register's drive and its queued parts."""

    register_id: int
    serial: str
    fn_number: str | None
    stored_through: int
    last_fd: int | None  # the drive's last FD as the register last reported it
    parts: list[PartVerdict] = field(default_factory=list)

    @property
    def missing(self) -> tuple[int, int] | None:
        """The FD range the drive reported and the fleet lacks (None: the archive is whole)."""
        if self.last_fd is not None and self.last_fd > self.stored_through:
            return self.stored_through + 1, self.last_fd
        return None

    def count(self, verdict: str) -> int:
        """Parts with this verdict."""
        return sum(1 for p in self.parts if p.verdict == verdict)


def _register(session: Session, register_id: int) -> Register:
    reg = session.get(Register, register_id)
    if reg is None or reg.serial is None:
        raise ConsoleRegisterNotFoundError("Касса не найдена")
    return reg


def assess(session: Session, register_id: int, *, archive_unreadable: bool = False) -> Assessment:
    """The verdict on every part queued on the register (see the module docstring)."""
    reg = _register(session, register_id)
    shadow = session.get(DeviceShadow, register_id)
    fn = (shadow.drive_fn if shadow else None) or reg.drive_number
    mark = session.get(StoredWatermark, fn) if fn else None
    out = Assessment(
        register_id=register_id,
        serial=reg.serial or "",
        fn_number=fn,
        stored_through=mark.through if mark else 0,
        last_fd=shadow.drive_last_fd if shadow else None,
    )
    conn = session.connection()
    parts = conn.execute(
        select(
            _PART.c.id,
            _PART.c.receipt_id,
            _PART.c.request_id,
            _PART.c.total,
            _LINK.c.result_status,
            _LINK.c.result,
        )
        .select_from(
            _PART.outerjoin(
                _LINK,
                and_(
                    _LINK.c.register_id == _PART.c.register_id,
                    _LINK.c.request_id == _PART.c.request_id,
                ),
            )
        )
        .where(_PART.c.register_id == register_id, _PART.c.status == ReceiptStatus.QUEUED.value)
        .order_by(_PART.c.id)
    ).all()
    # documents of the drive some part or result already claims
    claimed: set[int] = set()
    if fn:
        claimed |= {
            fd
            for (fd,) in conn.execute(
                select(_PART.c.fd_number).where(
                    _PART.c.fn_number == fn, _PART.c.fd_number.is_not(None)
                )
            ).all()
        }
        for (res,) in conn.execute(
            select(_LINK.c.result).where(
                _LINK.c.register_id == register_id, _LINK.c.result_status == "made"
            )
        ).all():
            if isinstance(res, dict) and res.get("fn") == fn and isinstance(res.get("fd"), int):
                claimed.add(res["fd"])
    unclaimed: dict[int, int] = {}  # total -> how many unclaimed receipt documents
    if fn:
        for fd, total in conn.execute(
            select(_DOCS.c.fd_number, _DOCS.c.total).where(
                _DOCS.c.fn_number == fn, _DOCS.c.doc_type.in_(RECEIPT_TYPES)
            )
        ).all():
            if fd not in claimed:
                unclaimed[int(total or 0)] = unclaimed.get(int(total or 0), 0) + 1
    whole = out.missing is None
    for p in parts:
        result: dict[str, Any] = p.result if isinstance(p.result, dict) else {}
        if p.result_status == "made":
            verdict, why = "made", f"ФД {result.get('fd')} по ответу кассы"
        elif p.result_status == "failed" and not result.get("retryable"):
            continue  # the tracker fails it: nothing was made and it must not be retried
        elif unclaimed.get(int(p.total), 0) > 0:
            verdict, why = "held", "в архиве ФН есть чек на ту же сумму без ответа кассы"
        elif not whole:
            verdict = "held"
            why = (
                "архив ФН не прочитан: сверить вручную"
                if archive_unreadable
                else "у парка нет всех документов ФН"
            )
        else:
            verdict, why = "moved", "архив ФН прочитан полностью: чек не пробит"
        out.parts.append(PartVerdict(p.id, p.receipt_id, p.request_id, int(p.total), verdict, why))
    return out


def declare(
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    reason: str,
    *,
    archive_unreadable: bool = False,
) -> DeadRegister:
    """Declare the register dead (see the module docstring). Does not commit."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("Укажите причину", fields={"reason": "обязательное поле"})
    if len(reason) > 500:
        raise InvalidInputError("Причина слишком длинная", fields={"reason": "до 500 символов"})
    reg = _register(session, register_id)
    if reg.state == RegisterState.DEAD.value:
        raise RegisterAlreadyDeadError("Касса уже выведена из работы")
    if reg.state in (RegisterState.FREE.value, RegisterState.DEREGISTERED.value):
        raise InvalidInputError(
            "Выводить из работы можно только кассу клиента", fields={"register_id": reg.state}
        )
    a = assess(session, register_id, archive_unreadable=archive_unreadable)
    missing = a.missing
    if missing is not None and not archive_unreadable:
        raise ArchiveIncompleteError(
            f"У парка нет документов ФН {a.fn_number} с № {missing[0]} по № {missing[1]}: "
            "прочитайте архив ФН (команда «Прочитать архив ФН») или отметьте, что архив "
            "не читается — тогда чеки останутся на кассе для ручной сверки"
        )
    now = clock.wall()
    conn = session.connection()
    moved = [p for p in a.parts if p.verdict == "moved"]
    # the tracker's own "not executed" (DESIGN decision 5): a new request id, the register in
    # `tried`, the quota place given back and the receipts' statuses refreshed
    not_executed(
        conn,
        register_id,
        [p.part_id for p in moved],
        now,
        f"Касса {a.serial} выведена из работы: чек не пробит (архив ФН)",
    )
    # the sender stops sending the moved parts' old ids and the operators' commands; a held
    # part's command stays: its answer, if the register ever gives one, is the proof wanted
    stop = [p.request_id for p in moved] + list(
        session.scalars(
            select(col(ConsoleCommand.request_id)).where(
                col(ConsoleCommand.register_id) == register_id
            )
        ).all()
    )
    if stop:
        conn.execute(
            update(_SENT)
            .where(
                _SENT.c.register_id == register_id,
                _SENT.c.request_id.in_(stop),
                _SENT.c.status == CommandStatus.PENDING.value,
            )
            .values(status=CommandStatus.EXPIRED.value)
        )
    # its alarms end with it: the rules no longer watch a dead register
    conn.execute(
        update(_ALARM)
        .where(_ALARM.c.register_id == register_id, _ALARM.c.status != AlarmStatus.CLEARED.value)
        .values(status=AlarmStatus.CLEARED.value, cleared_by=principal.user_id, cleared_at=now)
    )
    conn.execute(_WATCH.delete().where(_WATCH.c.register_id == register_id))
    account = session.get(MqttAccount, reg.serial)
    if account is not None and account.revoked_at is None:
        account.revoked_at = now
        session.add(account)
    replacement_id = None
    if reg.company_id is not None:
        successor = Register(
            state=RegisterState.PAID.value,
            company_id=reg.company_id,
            booking_id=reg.booking_id,
            store_id=reg.store_id,
            folder_id=reg.folder_id,
            tariff_code=reg.tariff_code,
            name=f"Замена кассы {reg.serial}"[:100],
            created_at=now,
            booked_at=reg.booked_at,
            paid_at=now,
        )
        session.add(successor)
        session.flush()
        replacement_id = successor.id
    reg.state = RegisterState.DEAD.value
    reg.last_error = f"Выведена из работы: {reason}"[:500]
    session.add(reg)
    dead = DeadRegister(
        register_id=register_id,
        replacement_id=replacement_id,
        declared_by=principal.user_id,
        declared_at=now,
        reason=reason,
        fn_number=a.fn_number,
        stored_through=a.stored_through,
        made=a.count("made"),
        moved=len(moved),
        held=a.count("held"),
        detail={
            "archive_unreadable": archive_unreadable,
            "last_fd": a.last_fd,
            "parts": [
                {"part": p.part_id, "request_id": p.request_id, "verdict": p.verdict, "why": p.why}
                for p in a.parts
            ],
        },
    )
    session.add(dead)
    session.flush()
    record_by(session, clock, principal, action="console.register.dead", entity="register",
              entity_id=register_id, company_id=reg.company_id, reason=reason,
              made=dead.made, moved=dead.moved, held=dead.held,
              replacement_id=replacement_id, archive_unreadable=archive_unreadable)  # fmt: skip
    return dead
