"""Drive stock and replacement work orders.

**Stock**: drives on the shelf per catalogue model (fleet/drives/catalogue.py: model and
term); an open work order reserves one of its model until its drive is installed.

**Work orders** are generated from the drive forecast (fleet/drives/forecast.py: `replace_by`,
the earlier of expiry and the fitted "full" day, minus the lead): every drive of a register
in service due within `HORIZON_DAYS` gets one order, once. The replacement drive is the same
term as the old one when the catalogue has it, else `DEFAULT_MODEL`.

**The procedure** is a checklist run in order; the steps that are commands are sent through
the console's commands (fleet/console/commands.py: queued, followed, audited) and a step is
done when its command is done:

1. close the shift (a shift already closed counts as done);
2. send the documents to the OFD (the drive must hold none unsent before it is closed);
3. close the fiscal mode (the closing report; the operator types the serial);
4. install a drive from the shelf (takes one from stock);
5. re-register the register for the new drive (the registration flow; confirmed here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.console import commands
from fleet.console.commands import Stage
from fleet.core.clock import Clock
from fleet.drives.catalogue import CATALOGUE
from fleet.drives.catalogue import model as catalogue_model
from fleet.drives.exceptions import InvalidPurchaseError
from fleet.drives.models import Drive, DriveForecast
from fleet.registers.models import Register, RegisterState
from fleet.stock.exceptions import InvalidStockError, StepStateError, WorkOrderNotFoundError
from fleet.stock.models import DriveStock, WorkOrder

__all__ = [
    "DEFAULT_MODEL",
    "HORIZON_DAYS",
    "STEPS",
    "Step",
    "StockRow",
    "generate",
    "generate_job",
    "get_order",
    "list_orders",
    "receive",
    "refresh",
    "run_step",
    "stock",
]

HORIZON_DAYS: Final = 30
DEFAULT_MODEL: Final = "fn12-15"
DAY_S: Final = 86400


@dataclass(frozen=True)
class Step:
    """One step of the replacement procedure."""

    code: str
    label: str
    action: str | None = None  # the console command it runs, if any


STEPS: Final[tuple[Step, ...]] = (
    Step("close_shift", "Закрыть смену", "close_shift"),
    Step("ofd_exchange", "Передать документы в ОФД", "ofd_exchange"),
    Step(
        "close_fiscal_mode", "Закрыть фискальный режим ФН (отчёт о закрытии)", "close_fiscal_mode"
    ),
    Step("install", "Установить новый ФН со склада"),
    Step("reregistration", "Перерегистрировать кассу: замена ФН"),
)
_STEP: Final = {s.code: s for s in STEPS}


@dataclass(frozen=True)
class StockRow:
    """One model on the shelf."""

    model_code: str
    name: str
    term_months: int
    quantity: int
    reserved: int  # open orders of this model whose drive is not installed yet

    @property
    def free(self) -> int:
        return self.quantity - self.reserved


def _model_for(term: int | None) -> str:
    for m in CATALOGUE:
        if m.term_months == term:
            return m.code
    return DEFAULT_MODEL


def stock(session: Session) -> list[StockRow]:
    """Every catalogue model with its quantity and reservations."""
    qty = {s.model_code: s.quantity for s in session.exec(select(DriveStock)).all()}
    reserved: dict[str, int] = {}
    for o in session.exec(select(WorkOrder).where(WorkOrder.status == "open")).all():
        if not _done(o, "install"):
            reserved[o.model_code] = reserved.get(o.model_code, 0) + 1
    return [
        StockRow(m.code, m.name, m.term_months, qty.get(m.code, 0), reserved.get(m.code, 0))
        for m in CATALOGUE
    ]


def receive(
    session: Session, clock: Clock, principal: Principal, model_code: str, quantity: str
) -> None:
    """Drives arrived on the shelf; does not commit."""
    try:
        m = catalogue_model(model_code)
    except InvalidPurchaseError as e:
        raise InvalidStockError(e.message, fields={"model_code": "нет в каталоге"}) from e
    text = quantity.strip()
    if not text.isdigit() or not 0 < int(text) <= 10000:
        raise InvalidStockError("Количество — целое от 1 до 10000", fields={"quantity": "1..10000"})
    row = session.get(DriveStock, m.code) or DriveStock(model_code=m.code, updated_at=0.0)
    row.quantity += int(text)
    row.updated_at = clock.wall()
    session.add(row)
    record_by(session, clock, principal, action="stock.receive", entity="drivestock",
              entity_id=m.code, quantity=int(text))  # fmt: skip


def generate(session: Session, clock: Clock, horizon_days: int = HORIZON_DAYS) -> int:
    """Work orders for drives due within the horizon that have none; how many. Does not
    commit."""
    today = int(clock.wall() // DAY_S)
    have = set(session.exec(select(WorkOrder.drive_id)).all())
    rows = session.exec(
        select(Drive, DriveForecast.replace_by, Register.state)
        .join(DriveForecast, col(DriveForecast.drive_id) == Drive.id)
        .join(Register, col(Register.id) == Drive.register_id)
        .where(
            col(DriveForecast.replace_by).is_not(None),
            col(DriveForecast.replace_by) <= today + horizon_days,
        )
        .order_by(col(DriveForecast.replace_by), col(Drive.id))
    ).all()
    made = 0
    for drive, due, state in rows:
        if drive.id in have or drive.register_id is None or due is None:
            continue
        if state in (RegisterState.DEAD.value, RegisterState.DEREGISTERED.value):
            continue
        session.add(
            WorkOrder(
                register_id=drive.register_id,
                drive_id=drive.id or 0,
                fn_number=drive.fn_number,
                model_code=_model_for(drive.term_months),
                due_day=due,
                steps=[{"code": s.code, "done_at": None, "command_id": None} for s in STEPS],
                created_at=clock.wall(),
            )
        )
        made += 1
    return made


def generate_job(session: Session, clock: Clock) -> int:
    """The scheduled generation (fleet/jobs/schedule.py)."""
    return generate(session, clock)


def get_order(session: Session, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id)
    if order is None:
        raise WorkOrderNotFoundError("Наряд не найден")
    return order


def list_orders(session: Session) -> list[WorkOrder]:
    return list(
        session.exec(
            select(WorkOrder).order_by(col(WorkOrder.status).desc(), col(WorkOrder.due_day))
        ).all()
    )


def _done(order: WorkOrder, code: str) -> bool:
    return any(s["code"] == code and s["done_at"] is not None for s in order.steps)


def _command_done(session: Session, step: dict[str, Any]) -> bool:
    view = commands.get_command(session, step["command_id"])
    if view.stage is Stage.DONE:
        return True
    # closing a shift that is closed already: the register refuses, nothing is left to do
    result = view.result or {}
    codes = {e.get("code") for e in result.get("errors") or [] if isinstance(e, dict)}
    return step["code"] == "close_shift" and "shift_closed" in codes


def refresh(session: Session, clock: Clock, order: WorkOrder) -> None:
    """Mark done the steps whose command is done; does not commit."""
    steps = [dict(s) for s in order.steps]
    changed = False
    for s in steps:
        if s["done_at"] is None and s["command_id"] is not None and _command_done(session, s):
            s["done_at"] = clock.wall()
            changed = True
    if changed:
        order.steps = steps
        session.add(order)


def run_step(
    session: Session,
    clock: Clock,
    principal: Principal,
    order_id: int,
    code: str,
    confirm: str = "",
) -> None:
    """Run the next step of the checklist (send its command, or do it); does not commit.
    Steps run in order; a command step sent already and not finished is not sent again
    unless it failed or expired."""
    order = get_order(session, order_id)
    if order.status != "open":
        raise StepStateError("Наряд закрыт")
    refresh(session, clock, order)
    steps = [dict(s) for s in order.steps]
    idx = next((i for i, s in enumerate(steps) if s["code"] == code), None)
    if idx is None or code not in _STEP:
        raise WorkOrderNotFoundError("Нет такого шага")
    if steps[idx]["done_at"] is not None:
        raise StepStateError("Шаг уже выполнен")
    if any(s["done_at"] is None for s in steps[:idx]):
        raise StepStateError("Сначала выполните предыдущие шаги")
    step = _STEP[code]
    now = clock.wall()
    if step.action is not None:
        if steps[idx]["command_id"] is not None:
            view = commands.get_command(session, steps[idx]["command_id"])
            if view.stage not in (Stage.FAILED, Stage.EXPIRED):
                raise StepStateError("Команда шага ещё выполняется")
        cmd = commands.send(
            session, clock, principal, order.register_id, step.action, {}, confirm=confirm
        )
        steps[idx]["command_id"] = cmd.id
    elif code == "install":
        row = session.get(DriveStock, order.model_code)
        if row is None or row.quantity < 1:
            raise StepStateError(f"На складе нет ФН модели {order.model_code}")
        row.quantity -= 1
        row.updated_at = now
        session.add(row)
        steps[idx]["done_at"] = now
    else:
        steps[idx]["done_at"] = now
    order.steps = steps
    if all(s["done_at"] is not None for s in steps):
        order.status = "done"
        order.closed_at = now
    session.add(order)
    record_by(session, clock, principal, action="stock.work_order.step", entity="workorder",
              entity_id=order_id, step=code)  # fmt: skip
