"""Staged rollouts: created from the console, advanced by the `firmware-rollouts` job.

The update goes over the command path (fleet/link/commands.py): the service action
`firmware_update` with params `{"firmware": {version, url, sha256, size}}` (reboot into it), which
the register's agent hands to firmware/update.py. The register acks it, refuses it (failed,
with the reason) when its shift is open or documents are unsent, or downloads the bundle,
checks it, answers `done` ({"staged": version}) and reboots. The fleet reads the outcome from
the ingest's rows: the result (`linkcommand`), then the presence after the reboot
(`deviceshadow`): the new version is success; the old one means the register rolled back by
itself (the new bundle failed its health check). A device with no outcome within the
rollout's time-out is failed (fleet/rollouts/plan.py).

A device is started only when its shadow says it may update (online, shift closed, nothing
unsent or unstored); the register checks the same itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.core.clock import Clock
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.commands import enqueue
from fleet.link.ingest_models import DeviceShadow, LinkCommand
from fleet.registers.models import Register, RegisterState
from fleet.rollouts import bundles
from fleet.rollouts.exceptions import (
    InvalidRolloutError,
    RolloutNotFoundError,
    RolloutStateError,
    UncertifiedBundleError,
)
from fleet.rollouts.models import FirmwareBundle, Rollout, RolloutDevice
from fleet.rollouts.plan import (
    DEFAULT_PHASES,
    Device,
    DeviceStatus,
    Policy,
    RolloutStatus,
    decide,
    quota,
)

__all__ = [
    "ROLLOUT_EVERY_S",
    "RolloutForm",
    "abort",
    "advance",
    "bundle_url",
    "counts",
    "create",
    "devices",
    "get",
    "list_rollouts",
    "parse_form",
    "readiness",
]

ROLLOUT_EVERY_S: Final = 3.0
COMMAND_TTL_S: Final = 3600
_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_NO_UPDATE: Final = (RegisterState.DEAD.value, RegisterState.DEREGISTERED.value)
_RACK = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class RolloutForm:
    """A checked new-rollout form."""

    bundle_id: int
    target: str
    canary: int
    phases: tuple[int, ...]
    threshold_pct: int
    min_devices: int
    timeout_s: int


def _int(
    raw: dict[str, str], key: str, default: int, lo: int, hi: int, errors: dict[str, str]
) -> int:
    text = raw.get(key, "").strip()
    if not text:
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        errors[key] = f"целое от {lo} до {hi}"
        return default
    return int(text)


def parse_form(raw: dict[str, str]) -> RolloutForm:
    """The form's fields checked all at once (InvalidRolloutError names each bad field)."""
    errors: dict[str, str] = {}
    bundle_id = _int(raw, "bundle_id", 0, 1, 2**31 - 1, errors)
    if "bundle_id" not in errors and bundle_id == 0:
        errors["bundle_id"] = "выберите пакет"
    target = raw.get("target", "").strip()
    if target and not _RACK.match(target):
        errors["target"] = "стойка: буквы, цифры, «-» и «_», до 32 символов"
    phases: tuple[int, ...] = DEFAULT_PHASES
    text = raw.get("phases", "").strip()
    if text:
        try:
            phases = tuple(int(p) for p in text.replace(" ", "").split(","))
        except ValueError:
            phases = ()
        good = (
            0 < len(phases) <= 10
            and all(0 < p <= 100 for p in phases)
            and all(a < b for a, b in itertools.pairwise(phases))
            and phases[-1] == 100
        )
        if not good:
            errors["phases"] = "возрастающие доли в %, через запятую, последняя — 100"
            phases = DEFAULT_PHASES
    form = RolloutForm(
        bundle_id=bundle_id,
        target=target,
        canary=_int(raw, "canary", 1, 1, 100, errors),
        phases=phases,
        threshold_pct=_int(raw, "threshold_pct", 5, 0, 100, errors),
        min_devices=_int(raw, "min_devices", 20, 1, 100000, errors),
        timeout_s=_int(raw, "timeout_min", 30, 1, 7 * 24 * 60, errors) * 60,
    )
    if errors:
        raise InvalidRolloutError("Проверьте параметры выкатки", fields=errors)
    return form


def _registered(reg: Register) -> bool:
    return reg.rnm is not None or reg.state == RegisterState.ACTIVE.value


def _busy_registers(session: Session) -> set[int]:
    rows = session.exec(
        select(RolloutDevice.register_id)
        .join(Rollout, col(Rollout.id) == RolloutDevice.rollout_id)
        .where(Rollout.status == RolloutStatus.RUNNING.value)
    ).all()
    return set(rows)


def create(
    session: Session, clock: Clock, principal: Principal, form: RolloutForm, base_url: str
) -> Rollout:
    """A running rollout of the bundle to the group's registers that run another version and
    are in no other running rollout; does not commit. Refused (nothing written) with an
    uncertified bundle when the group has a registered register, or with nobody to update."""
    bundle = bundles.get(session, form.bundle_id)
    stmt = (
        select(Register, DeviceShadow)
        .outerjoin(DeviceShadow, col(DeviceShadow.register_id) == Register.id)
        .where(col(Register.serial).is_not(None), col(Register.state).not_in(_NO_UPDATE))
    )
    if form.target:
        stmt = stmt.where(col(Register.rack_slot).startswith(form.target + "-"))
    busy = _busy_registers(session)
    chosen: list[tuple[Register, DeviceShadow | None]] = []
    for reg, shadow in session.exec(stmt.order_by(col(Register.rack_slot), col(Register.id))):
        running = (shadow.firmware if shadow else None) or reg.firmware_version
        if running == bundle.version or reg.id in busy:
            continue
        chosen.append((reg, shadow))
    if not chosen:
        raise InvalidRolloutError(
            "В группе нет касс для обновления (все уже на этой версии или в другой выкатке)",
            fields={"target": "нет касс для обновления"},
        )
    if not bundle.certified:
        registered = [r.serial for r, _ in chosen if _registered(r)]
        if registered:
            raise UncertifiedBundleError(
                f"Версия {bundle.version} не сертифицирована: её нельзя ставить на "
                f"зарегистрированные кассы ({', '.join(s or '' for s in registered[:5])})",
                fields={"bundle_id": "версия не сертифицирована"},
            )
    rollout = Rollout(
        bundle_id=form.bundle_id,
        target=form.target,
        canary=form.canary,
        phases=list(form.phases),
        threshold_pct=form.threshold_pct,
        min_devices=form.min_devices,
        device_timeout_s=form.timeout_s,
        base_url=base_url.rstrip("/"),
        created_by=principal.user_id,
        created_at=clock.wall(),
    )
    session.add(rollout)
    session.flush()
    for pos, (reg, sh) in enumerate(chosen):
        session.add(
            RolloutDevice(
                rollout_id=rollout.id or 0,
                register_id=reg.id or 0,
                serial=reg.serial or "",
                position=pos,
                from_version=(sh.firmware if sh else None) or reg.firmware_version,
            )
        )
    record_by(session, clock, principal, action="firmware.rollout.create", entity="rollout",
              entity_id=rollout.id, version=bundle.version, target=form.target,
              devices=len(chosen), phases=list(form.phases))  # fmt: skip
    return rollout


def get(session: Session, rollout_id: int) -> Rollout:
    rollout = session.get(Rollout, rollout_id)
    if rollout is None:
        raise RolloutNotFoundError("Выкатка не найдена")
    return rollout


def devices(session: Session, rollout_id: int) -> list[RolloutDevice]:
    return list(
        session.exec(
            select(RolloutDevice)
            .where(RolloutDevice.rollout_id == rollout_id)
            .order_by(col(RolloutDevice.position))
        ).all()
    )


def list_rollouts(session: Session) -> list[tuple[Rollout, str]]:
    rows = session.exec(
        select(Rollout, FirmwareBundle.version)
        .join(FirmwareBundle, col(FirmwareBundle.id) == Rollout.bundle_id)
        .order_by(col(Rollout.id).desc())
        .limit(200)
    ).all()
    return [(r, v) for r, v in rows]


def counts(devs: Sequence[RolloutDevice]) -> dict[str, int]:
    out = {s.value: 0 for s in DeviceStatus}
    for d in devs:
        out[d.status] = out.get(d.status, 0) + 1
    return out


def policy_of(rollout: Rollout) -> Policy:
    return Policy(
        canary=rollout.canary,
        phases=tuple(rollout.phases),
        threshold_pct=rollout.threshold_pct,
        min_devices=rollout.min_devices,
        timeout_s=float(rollout.device_timeout_s),
    )


def bundle_url(base_url: str, sha256: str) -> str:
    return f"{base_url}/firmware/bundles/{sha256}.bin"


def readiness(shadow: DeviceShadow | None) -> str:
    """Why the register may not update now, from its shadow ("" = it may)."""
    if shadow is None or not shadow.online:
        return "касса не в сети"
    rep = shadow.reported or {}
    if (rep.get("shift") or {}).get("open"):
        return "смена открыта"
    unsent = (rep.get("drive") or {}).get("unsent")
    if unsent:
        return f"не переданы в ОФД: {unsent}"
    if rep.get("outbox") or shadow.outbox:
        return "документы не сохранены парком"
    return ""


def _first_error(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))[:400]
    return ""


@dataclass(frozen=True)
class _Answers:
    """What the ingest and the sender hold for the in-flight devices, read in three queries."""

    links: dict[str, LinkCommand]
    sent: dict[str, SentCommand]
    shadows: dict[int, DeviceShadow]


def _answers(session: Session, devs: Sequence[RolloutDevice]) -> _Answers:
    ids = [d.request_id for d in devs if d.request_id]
    regs = {d.register_id for d in devs}
    if not ids:
        return _Answers({}, {}, {})
    links = session.exec(
        select(LinkCommand).where(
            col(LinkCommand.request_id).in_(ids), col(LinkCommand.register_id).in_(regs)
        )
    ).all()
    sent = session.exec(
        select(SentCommand).where(
            col(SentCommand.request_id).in_(ids), col(SentCommand.register_id).in_(regs)
        )
    ).all()
    shadows = session.exec(select(DeviceShadow).where(col(DeviceShadow.register_id).in_(regs)))
    return _Answers(
        {r.request_id: r for r in links},
        {r.request_id: r for r in sent},
        {r.register_id: r for r in shadows.all()},
    )


def _observe(
    session: Session, answers: _Answers, dev: RolloutDevice, version: str, now: float
) -> None:
    """Move a sent or staged device on from the register's answers: the first result says
    the bundle is staged; after the reboot the register replaces it under the same request
    id with the update's end (committed, or failed: rolled back by itself)."""
    link_row = answers.links.get(dev.request_id or "")
    if link_row is not None and link_row.register_id != dev.register_id:
        link_row = None
    sent = answers.sent.get(dev.request_id or "")
    result = (link_row.result or {}) if link_row is not None else {}
    data = result.get("data") or {}
    if link_row is not None and link_row.ack_status in ("rejected", "expired"):
        _finish(dev, DeviceStatus.FAILED, now,
                f"Касса отклонила команду ({link_row.ack_status}): "
                f"{_first_error(link_row.ack_errors)}")  # fmt: skip
    elif link_row is not None and link_row.result_status == "failed":
        _finish(dev, DeviceStatus.FAILED, now,
                "Касса не обновилась: " + _first_error(result.get("errors")))  # fmt: skip
    elif link_row is not None and link_row.result_status == "done":
        shadow = answers.shadows.get(dev.register_id)
        running = shadow.firmware if shadow is not None and shadow.online else None
        if data.get("update") == "committed" or running == version:
            _finish(dev, DeviceStatus.SUCCEEDED, now, None)
            reg = session.get(Register, dev.register_id)
            if reg is not None:
                reg.firmware_version = version
                session.add(reg)
        elif dev.status == DeviceStatus.SENT.value:
            dev.status = DeviceStatus.STAGED.value
            dev.staged_at = now
    elif sent is not None and sent.status == CommandStatus.EXPIRED.value:
        _finish(dev, DeviceStatus.FAILED, now, "Команда истекла: касса не ответила")
    session.add(dev)


def _finish(dev: RolloutDevice, status: DeviceStatus, now: float, reason: str | None) -> None:
    dev.status = status.value
    dev.finished_at = now
    dev.reason = reason


def _stop_commands(session: Session, devs: Sequence[RolloutDevice]) -> None:
    # a command still unacknowledged is not sent again (the sender re-sends until its ack)
    ids = [d.request_id for d in devs if d.request_id]
    if ids:
        session.connection().execute(
            update(_SENT)
            .where(_SENT.c.request_id.in_(ids), _SENT.c.status == CommandStatus.PENDING.value)
            .values(status=CommandStatus.EXPIRED.value)
        )


def _step(session: Session, clock: Clock, rollout: Rollout) -> int:
    now = clock.wall()
    bundle = bundles.get(session, rollout.bundle_id)
    devs = devices(session, rollout.id or 0)
    flying = [d for d in devs if d.status in (DeviceStatus.SENT.value, DeviceStatus.STAGED.value)]
    answers = _answers(session, flying)
    for d in flying:
        _observe(session, answers, d, bundle.version, now)
    policy = policy_of(rollout)
    decision = decide(
        policy, rollout.phase, [Device(DeviceStatus(d.status), d.sent_at) for d in devs], now
    )
    changed = 0
    for i in decision.timed_out:
        d = devs[i]
        _finish(d, DeviceStatus.FAILED, now,
                f"Нет результата за {rollout.device_timeout_s} с после команды")  # fmt: skip
        session.add(d)
        changed += 1
    if decision.timed_out:
        _stop_commands(session, [devs[i] for i in decision.timed_out])
    if decision.abort is not None:
        rollout.status = RolloutStatus.ABORTED.value
        rollout.abort_reason = decision.abort
        rollout.finished_at = now
        _stop_commands(session, devs)
        session.add(rollout)
        return changed + 1
    rollout.phase = decision.phase
    if decision.completed:
        rollout.status = RolloutStatus.COMPLETED.value
        rollout.finished_at = now
        session.add(rollout)
        return changed + 1
    left = decision.start
    for d in devs:
        if left <= 0:
            break
        if d.status != DeviceStatus.WAITING.value:
            continue
        reg = session.get(Register, d.register_id)
        if reg is None or reg.serial is None or reg.state in _NO_UPDATE:
            _finish(d, DeviceStatus.FAILED, now, "Касса выведена из работы")
            session.add(d)
            left -= 1
            continue
        if not bundle.certified and _registered(reg):
            _finish(
                d, DeviceStatus.FAILED, now, "Касса зарегистрирована, версия не сертифицирована"
            )
            session.add(d)
            left -= 1
            continue
        why = readiness(session.get(DeviceShadow, d.register_id))
        if why:
            if d.reason != f"Ждёт: {why}":
                d.reason = f"Ждёт: {why}"
                session.add(d)
            continue
        d.request_id = f"fw-{rollout.id}-{d.id}"
        enqueue(
            session,
            clock,
            register_id=d.register_id,
            serial=reg.serial,
            request_id=d.request_id,
            action="firmware_update",
            body={
                "firmware": {
                    "version": bundle.version,
                    "url": bundle_url(rollout.base_url, bundle.sha256),
                    "sha256": bundle.sha256,
                    "size": bundle.size,
                }
            },
            ttl_s=min(COMMAND_TTL_S, max(rollout.device_timeout_s, 60)),
        )
        d.status = DeviceStatus.SENT.value
        d.phase = rollout.phase
        d.sent_at = now
        d.reason = None
        session.add(d)
        left -= 1
        changed += 1
    session.add(rollout)
    return changed


def advance(session: Session, clock: Clock) -> int:
    """One pass over every running rollout (the job); devices changed. Does not commit."""
    running = session.exec(
        select(Rollout)
        .where(Rollout.status == RolloutStatus.RUNNING.value)
        .order_by(col(Rollout.id))
    ).all()
    return sum(_step(session, clock, r) for r in running)


def abort(
    session: Session, clock: Clock, principal: Principal, rollout_id: int, reason: str
) -> None:
    """The operator stops a running rollout: nothing more is sent; does not commit."""
    rollout = get(session, rollout_id)
    if rollout.status != RolloutStatus.RUNNING.value:
        raise RolloutStateError("Выкатка уже не идёт")
    reason = reason.strip()[:400] or "без причины"
    rollout.status = RolloutStatus.ABORTED.value
    rollout.abort_reason = f"Остановлена оператором: {reason}"
    rollout.finished_at = clock.wall()
    _stop_commands(session, devices(session, rollout_id))
    session.add(rollout)
    record_by(session, clock, principal, action="firmware.rollout.abort", entity="rollout",
              entity_id=rollout_id, reason=reason)  # fmt: skip


def phase_label(rollout: Rollout, total: int) -> str:
    """ "канарейка (1 из 12)" / "фаза 2: 10 % (2 из 12)"."""
    policy = policy_of(rollout)
    q = quota(policy, total, rollout.phase)
    if rollout.phase == 0:
        return f"канарейка ({q} из {total})"
    return f"фаза {rollout.phase}: {rollout.phases[rollout.phase - 1]} % ({q} из {total})"
