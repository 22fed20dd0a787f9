"""Remote commands from the console: sent through the fleet's command sender, followed to the
end, retried with the same request id, all in the audit trail.

A command's life (`Stage`) is read from three rows: the sender's `sentcommand` (queued until
its first publish, then delivered; expired when its TTL ran out without an ack), the ingest's
`linkcommand` (the register's ack, then its result) and `consolecommand` (who asked, when,
retries). The actions are the ones the register runtime serves (firmware/agent.py,
protocol/portable/link.py): document actions carry a request (the runtime's own cashier when
empty), service actions small params.

A retry keeps the request id (DESIGN decision 4: the register's journal answers a document
request it already made with the first result, so a retry never makes a second document). It
moves the last answer into the command's history, clears the ingest's row so the new answer
shows, and sends again with a new issue time and TTL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Table, and_, delete, select, update
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.console.exceptions import (
    CommandNotFoundError,
    CommandStateError,
    ConsoleRegisterNotFoundError,
    InvalidCommandError,
)
from fleet.console.models import ConsoleCommand
from fleet.core.clock import Clock
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.commands import enqueue
from fleet.link.ingest_models import LinkCommand
from fleet.registers.models import Register
from protocol.portable import link

__all__ = [
    "ACTION_LABEL",
    "CONFIRM_ACTIONS",
    "CONSOLE_ACTIONS",
    "DEFAULT_TTL_S",
    "STAGE_LABEL",
    "CommandView",
    "Stage",
    "commands_waiting",
    "get_command",
    "list_commands",
    "retry",
    "send",
    "stage_of",
]

DEFAULT_TTL_S: Final = 3600  # an operator's command an hour later is not what was meant

ACTION_LABEL: Final[dict[str, str]] = {
    "open_shift": "Открыть смену",
    "close_shift": "Закрыть смену",
    "x_report": "X-отчёт",
    "ofd_exchange": "Обмен с ОФД",
    "sync_time": "Синхронизировать время",
    "reboot": "Перезагрузить",
    "read_archive": "Прочитать архив ФН",
    "close_fiscal_mode": "Закрыть фискальный режим",
}
CONSOLE_ACTIONS: Final = tuple(ACTION_LABEL)
#: closing the fiscal mode ends the drive's life: the operator types the serial to confirm
CONFIRM_ACTIONS: Final = frozenset({"close_fiscal_mode"})

_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_LINK: Table = LinkCommand.__table__  # type: ignore[attr-defined]


class Stage(StrEnum):
    """Where a command is."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


STAGE_LABEL: Final[dict[str, str]] = {
    Stage.QUEUED: "В очереди",
    Stage.DELIVERED: "Доставлена брокеру",
    Stage.ACKNOWLEDGED: "Принята кассой",
    Stage.DONE: "Выполнена",
    Stage.FAILED: "Ошибка",
    Stage.EXPIRED: "Истекла",
}
FINAL: Final = frozenset({Stage.DONE, Stage.FAILED, Stage.EXPIRED})


def stage_of(
    sent_status: str | None,
    attempts: int,
    ack_status: str | None,
    result_status: str | None,
) -> Stage:
    """The stage from the sender's and the ingest's rows (the register's word wins)."""
    if result_status in ("done", "made"):
        return Stage.DONE
    if result_status == "failed" or ack_status == "rejected":
        return Stage.FAILED
    if ack_status == "expired":
        return Stage.EXPIRED
    if result_status == "unknown" or ack_status in ("accepted", "duplicate"):
        return Stage.ACKNOWLEDGED
    if sent_status == CommandStatus.EXPIRED.value:
        return Stage.EXPIRED
    return Stage.DELIVERED if attempts > 0 else Stage.QUEUED


@dataclass(frozen=True)
class CommandView:
    """One command as the console shows it."""

    id: int
    register_id: int
    serial: str
    request_id: str
    action: str
    action_label: str
    params: dict[str, Any]
    stage: Stage
    stage_label: str
    requested_by: int | None
    requested_at: float
    retries: int
    attempts: int
    sent_at: float | None
    acked_at: float | None
    result_at: float | None
    result: dict[str, Any] | None
    errors: list[str]
    history: list[Any]

    @property
    def final(self) -> bool:
        """Nothing more will happen unless an operator retries."""
        return self.stage in FINAL

    @property
    def retryable(self) -> bool:
        """A failed or expired command may be sent again with its request id."""
        return self.stage in (Stage.FAILED, Stage.EXPIRED)


def _errors(ack_errors: Any, result: Any) -> list[str]:
    out: list[str] = []
    for errs in (ack_errors, (result or {}).get("errors") if isinstance(result, dict) else None):
        if isinstance(errs, list):
            for e in errs[:5]:
                if isinstance(e, dict):
                    out.append(str(e.get("message") or e.get("code")))
    return out


def _params(action: str, params: dict[str, Any]) -> dict[str, Any]:
    if action == "read_archive":
        first, last = params.get("from"), params.get("to")
        errs: dict[str, str] = {}
        if not isinstance(first, int) or first < 1:
            errs["from"] = "номер ФД — целое число от 1"
        if not isinstance(last, int) or last < 1:
            errs["to"] = "номер ФД — целое число от 1"
        if not errs and isinstance(first, int) and isinstance(last, int) and first > last:
            errs["to"] = "не меньше начального номера"
        if errs:
            raise InvalidCommandError("Неверный диапазон архива", fields=errs)
        return {"from": first, "to": last}
    if params:
        raise InvalidCommandError(
            "У этой команды нет параметров", fields={k: "лишний параметр" for k in params}
        )
    return {}


def send(
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    confirm: str = "",
    ttl_s: int = DEFAULT_TTL_S,
) -> ConsoleCommand:
    """Queue a command to a register (sent by the fleet's sender); nothing is written when
    the action, its parameters or the register are wrong. Does not commit."""
    reg = session.get(Register, register_id)
    if reg is None:
        raise ConsoleRegisterNotFoundError("Касса не найдена")
    if action not in CONSOLE_ACTIONS or action not in link.ACTIONS:
        raise InvalidCommandError("Неизвестная команда", fields={"action": "неизвестная команда"})
    if reg.serial is None:
        raise InvalidCommandError(
            "У кассы нет оборудования: команду некому отправить",
            fields={"register_id": "виртуальное место"},
        )
    if action in CONFIRM_ACTIONS and confirm.strip() != reg.serial:
        raise InvalidCommandError(
            "Закрытие фискального режима необратимо: введите заводской номер кассы",
            fields={"confirm": "не совпадает с заводским номером"},
        )
    if not 0 < ttl_s <= link.MAX_TTL:
        raise InvalidCommandError("Неверное время жизни", fields={"ttl_s": f"1..{link.MAX_TTL} с"})
    body = _params(action, dict(params or {}))
    now = clock.wall()
    request_id = f"op-{uuid.uuid4().hex[:16]}"
    enqueue(
        session,
        clock,
        register_id=register_id,
        serial=reg.serial,
        request_id=request_id,
        action=action,
        body=body,
        ttl_s=ttl_s,
    )
    cmd = ConsoleCommand(
        register_id=register_id,
        request_id=request_id,
        action=action,
        params=body,
        ttl_s=ttl_s,
        requested_by=principal.user_id,
        requested_at=now,
    )
    session.add(cmd)
    session.flush()
    record_by(session, clock, principal, action="console.command.send", entity="register",
              entity_id=register_id, company_id=reg.company_id, command_id=cmd.id,
              request_id=request_id, command=action, params=body)  # fmt: skip
    return cmd


def _rows(session: Session, where: Any, limit: int) -> list[CommandView]:
    cc = ConsoleCommand.__table__  # type: ignore[attr-defined]
    reg = Register.__table__  # type: ignore[attr-defined]
    stmt = (
        select(
            cc,
            reg.c.serial,
            _SENT.c.status.label("sent_status"),
            _SENT.c.attempts,
            _SENT.c.sent_at,
            _LINK.c.ack_status,
            _LINK.c.ack_errors,
            _LINK.c.acked_at,
            _LINK.c.result_status,
            _LINK.c.result,
            _LINK.c.result_at,
        )
        .select_from(
            cc.join(reg, reg.c.id == cc.c.register_id)
            .outerjoin(
                _SENT,
                and_(
                    _SENT.c.register_id == cc.c.register_id, _SENT.c.request_id == cc.c.request_id
                ),
            )
            .outerjoin(
                _LINK,
                and_(
                    _LINK.c.register_id == cc.c.register_id, _LINK.c.request_id == cc.c.request_id
                ),
            )
        )
        .order_by(cc.c.id.desc())
        .limit(limit)
    )
    if where is not None:
        stmt = stmt.where(where)
    out = []
    for r in session.connection().execute(stmt).all():
        stage = stage_of(r.sent_status, r.attempts or 0, r.ack_status, r.result_status)
        out.append(
            CommandView(
                id=r.id,
                register_id=r.register_id,
                serial=r.serial or "",
                request_id=r.request_id,
                action=r.action,
                action_label=ACTION_LABEL.get(r.action, r.action),
                params=dict(r.params or {}),
                stage=stage,
                stage_label=STAGE_LABEL[stage],
                requested_by=r.requested_by,
                requested_at=r.requested_at,
                retries=r.retries,
                attempts=r.attempts or 0,
                sent_at=r.sent_at,
                acked_at=r.acked_at,
                result_at=r.result_at,
                result=r.result if isinstance(r.result, dict) else None,
                errors=_errors(r.ack_errors, r.result),
                history=list(r.history or []),
            )
        )
    return out


def list_commands(
    session: Session, *, register_id: int | None = None, limit: int = 100
) -> list[CommandView]:
    """Newest first; of one register or of the whole fleet."""
    cc = ConsoleCommand.__table__  # type: ignore[attr-defined]
    where = None if register_id is None else cc.c.register_id == register_id
    return _rows(session, where, limit)


def get_command(session: Session, command_id: int) -> CommandView:
    """One command (CommandNotFoundError when there is none)."""
    cc = ConsoleCommand.__table__  # type: ignore[attr-defined]
    found = _rows(session, cc.c.id == command_id, 1)
    if not found:
        raise CommandNotFoundError("Команда не найдена")
    return found[0]


def retry(session: Session, clock: Clock, principal: Principal, command_id: int) -> ConsoleCommand:
    """Send a failed or expired command again with the same request id. Does not commit."""
    view = get_command(session, command_id)
    if not view.retryable:
        raise CommandStateError(
            f"Повторить можно только неудачную или истёкшую команду ({view.stage_label})"
        )
    cmd = session.get(ConsoleCommand, command_id)
    if cmd is None:  # pragma: no cover (read just above)
        raise CommandNotFoundError("Команда не найдена")
    now = clock.wall()
    conn = session.connection()
    where_link = and_(_LINK.c.register_id == cmd.register_id, _LINK.c.request_id == cmd.request_id)
    last = conn.execute(select(_LINK).where(where_link)).first()
    entry: dict[str, Any] = {"stage": view.stage.value, "at": now, "attempts": view.attempts}
    if last is not None:
        entry.update(ack=last.ack_status, result=last.result, errors=view.errors)
    cmd.history = [*cmd.history, entry]
    conn.execute(delete(_LINK).where(where_link))
    conn.execute(
        update(_SENT)
        .where(_SENT.c.register_id == cmd.register_id, _SENT.c.request_id == cmd.request_id)
        .values(
            status=CommandStatus.PENDING.value,
            attempts=0,
            sent_at=None,
            issued_at=int(now),
            expires_at=now + cmd.ttl_s,
            next_at=now,
        )
    )
    cmd.retries += 1
    cmd.retried_at = now
    session.add(cmd)
    reg = session.get(Register, cmd.register_id)
    record_by(session, clock, principal, action="console.command.retry", entity="register",
              entity_id=cmd.register_id, company_id=reg.company_id if reg else None,
              command_id=cmd.id, request_id=cmd.request_id, command=cmd.action)  # fmt: skip
    return cmd


def commands_waiting(session: Session) -> int:
    """Console commands not finished yet (for the console's header)."""
    return sum(1 for v in list_commands(session, limit=500) if not v.final)
