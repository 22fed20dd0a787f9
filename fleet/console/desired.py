"""The register page's desired state: the operator's form, and the document against what the
register reported applying.

The document itself, its seq and its publishing are fleet/link/desired.py's; here the form's
text becomes typed fields (an empty field removes it from the document), the change is audited
(`console.desired.change`), and the view says for each field whether the register has applied
it: it has when its state's `desired_seq` reached the document's seq (firmware/agent.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.console.exceptions import ConsoleRegisterNotFoundError
from fleet.core.clock import Clock
from fleet.link import desired as link_desired
from fleet.link.desired_models import DesiredState
from fleet.link.exceptions import InvalidDesiredError
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register, RegisterState

__all__ = ["FORM_FIELDS", "DesiredRow", "DesiredView", "change", "view"]

# the fields an operator sets on the register page (the firmware comes by rollouts)
FORM_FIELDS: Final = ("ofd_host", "ofd_port", "max_clock_drift_s", "auto_close_shift")
LABEL: Final = {
    "ofd_host": "Адрес ОФД",
    "ofd_port": "Порт ОФД",
    "max_clock_drift_s": "Допустимое расхождение часов, с",
    "auto_close_shift": "Автоматическое закрытие смены",
    "firmware": "Прошивка",
}
_INTS: Final = ("ofd_port", "max_clock_drift_s")


def _parse(form: Mapping[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    errs: dict[str, str] = {}
    for key in FORM_FIELDS:
        text = form.get(key, "").strip()
        if key == "auto_close_shift":
            if text not in ("", "yes", "no"):
                errs[key] = "да, нет или не задано"
            changes[key] = {"": None, "yes": True, "no": False}.get(text)
        elif key in _INTS:
            if text and not text.isdigit():
                errs[key] = "целое число"
            changes[key] = int(text) if text.isdigit() else None
        else:
            changes[key] = text or None
    if errs:
        raise InvalidDesiredError("Желаемое состояние не принято", fields=errs)
    return changes


def change(
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    form: Mapping[str, str],
) -> DesiredState:
    """Set the register's desired document from the form; InvalidDesiredError names each bad
    field and nothing is written. The caller commits."""
    reg = session.get(Register, register_id)
    if reg is None or reg.serial is None:
        raise ConsoleRegisterNotFoundError("Касса не найдена")
    if reg.state == RegisterState.DEAD.value:
        raise InvalidDesiredError("Касса выведена из работы", fields={"register": "неисправна"})
    before = session.get(DesiredState, register_id)
    seq_before = before.seq if before is not None else 0
    row = link_desired.change(
        session, register_id, _parse(form), clock.wall(), user_id=principal.user_id
    )
    if row.seq != seq_before:
        record_by(session, clock, principal, action="console.desired.change", entity="register",
                  entity_id=register_id, company_id=reg.company_id, seq=row.seq,
                  doc=dict(row.doc))  # fmt: skip
    return row


@dataclass(frozen=True)
class DesiredRow:
    """One field of the desired document."""

    label: str
    desired: str
    applied: str
    pending: bool


@dataclass(frozen=True)
class DesiredView:
    """The document against the register's report."""

    seq: int  # 0: the fleet never set one
    reported_seq: int | None
    pending: bool  # reported desired_seq < seq: "ожидает применения"
    published_at: float | None
    rows: list[DesiredRow]
    form: dict[str, str]  # the form's current values


def _show(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if key == "firmware" and isinstance(value, dict):
        return str(value.get("version", "—"))
    return str(value)


def view(session: Session, register_id: int, shadow: DeviceShadow | None) -> DesiredView:
    """The register's desired document, field by field, with what it applied."""
    row = session.get(DesiredState, register_id)
    reported = shadow.reported if shadow is not None else None
    got = link_desired.applied_seq(reported)
    seq = row.seq if row is not None else 0
    doc: dict[str, Any] = dict(row.doc) if row is not None else {}
    pending = seq > 0 and (got is None or got < seq)
    rows = []
    for key in link_desired.FIELDS:
        if key not in doc:
            continue
        shown = _show(key, doc[key])
        if key == "firmware":  # the one field the state reports itself
            have = (shadow.firmware if shadow else None) or (reported or {}).get("firmware")
            rows.append(
                DesiredRow(LABEL[key], shown, _show(key, have), have != doc[key].get("version"))
            )
        else:
            rows.append(
                DesiredRow(LABEL[key], shown, "ожидает применения" if pending else shown, pending)
            )
    form = {k: "" for k in FORM_FIELDS}
    for key in FORM_FIELDS:
        if key in doc:
            value = doc[key]
            form[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return DesiredView(seq, got, pending, row.published_at if row else None, rows, form)
