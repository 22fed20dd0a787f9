"""Each user's layout: which widgets, in which order, and the sales period.

The stored list may hold widgets the user can no longer see (a role changed); they stay stored
but are not shown, and a new order from the page moves only the shown ones. Every change is
validated before anything is written: a bad widget id or move is a typed error and the layout
stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.dashboard.exceptions import InvalidLayoutError, StaleLayoutError, UnknownWidgetError
from fleet.dashboard.models import DashboardLayout
from fleet.dashboard.widgets import CATALOGUE, DEFAULT, available

__all__ = [
    "SALES_PERIODS",
    "Layout",
    "add",
    "current",
    "move",
    "remove",
    "reorder",
    "save",
    "set_sales_period",
    "shown",
]

SALES_PERIODS: Final[dict[str, str]] = {
    "today": "сегодня",
    "7d": "7 дней",
    "30d": "30 дней",
    "month": "этот месяц",
}


@dataclass(frozen=True)
class Layout:
    """A user's widget ids (stored order) and the sales widget's period."""

    widgets: tuple[str, ...]
    sales_period: str
    stored: bool  # False: the default, nothing saved yet


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise InvalidLayoutError("Главную страницу настраивает пользователь, а не API-токен")
    return principal.user_id


def current(session: Session, user_id: int) -> Layout:
    """The user's layout, or the default."""
    row = session.get(DashboardLayout, user_id)
    if row is None:
        return Layout(DEFAULT, "7d", stored=False)
    ids = tuple(w for w in row.widgets.split(",") if w in CATALOGUE)
    period = row.sales_period if row.sales_period in SALES_PERIODS else "7d"
    return Layout(ids, period, stored=True)


def shown(layout: Layout, principal: Principal) -> tuple[str, ...]:
    """The widgets of the layout the principal may see, in order."""
    allowed = set(available(principal))
    return tuple(w for w in layout.widgets if w in allowed)


def _check_ids(widgets: Sequence[str]) -> None:
    unknown = [w for w in widgets if w not in CATALOGUE]
    if unknown:
        raise UnknownWidgetError(
            "Нет такого виджета: " + ", ".join(repr(w[:40]) for w in unknown[:3]),
            fields={"widget": "Выберите виджет из списка"},
        )
    if len(set(widgets)) != len(widgets):
        raise InvalidLayoutError("Виджет можно поставить на главную только один раз")


def save(
    session: Session,
    clock: Clock,
    user_id: int,
    widgets: Sequence[str],
    *,
    sales_period: str | None = None,
) -> Layout:
    """Store the user's layout (flushed, not committed) after checking every id."""
    _check_ids(widgets)
    if sales_period is not None and sales_period not in SALES_PERIODS:
        raise InvalidLayoutError(
            "Период продаж — сегодня, 7 дней, 30 дней или этот месяц",
            fields={"period": "Выберите период из списка"},
        )
    row = session.get(DashboardLayout, user_id)
    if row is None:
        row = DashboardLayout(user_id=user_id, widgets="", updated_at=clock.wall())
    row.widgets = ",".join(widgets)
    if sales_period is not None:
        row.sales_period = sales_period
    row.updated_at = clock.wall()
    session.add(row)
    session.flush()
    return current(session, user_id)


def _may_show(principal: Principal, widget: str) -> None:
    _check_ids([widget])
    if widget not in available(principal):
        raise UnknownWidgetError(
            f"Виджет «{CATALOGUE[widget].title}» вам недоступен: не хватает прав",
            fields={"widget": "Выберите виджет из списка"},
        )


def add(session: Session, clock: Clock, principal: Principal, widget: str) -> Layout:
    """Put a widget at the end of the page."""
    _may_show(principal, widget)
    user_id = _user_id(principal)
    layout = current(session, user_id)
    if widget in shown(layout, principal):
        raise InvalidLayoutError(f"Виджет «{CATALOGUE[widget].title}» уже на главной")
    rest = [w for w in layout.widgets if w != widget]
    return save(session, clock, user_id, [*rest, widget])


def remove(session: Session, clock: Clock, principal: Principal, widget: str) -> Layout:
    """Take a widget off the page."""
    _check_ids([widget])
    user_id = _user_id(principal)
    layout = current(session, user_id)
    if widget not in shown(layout, principal):
        raise InvalidLayoutError(f"Виджета «{CATALOGUE[widget].title}» нет на главной")
    return save(session, clock, user_id, [w for w in layout.widgets if w != widget])


def reorder(session: Session, clock: Clock, principal: Principal, order: Sequence[str]) -> Layout:
    """Put the shown widgets in ``order`` (a drag on the page); it must list exactly them."""
    _check_ids(order)
    user_id = _user_id(principal)
    layout = current(session, user_id)
    visible = shown(layout, principal)
    if set(order) != set(visible):
        raise StaleLayoutError(
            "Порядок виджетов устарел: главная изменилась в другой вкладке. Обновите страницу"
        )
    hidden = [w for w in layout.widgets if w not in set(visible)]
    return save(session, clock, user_id, [*order, *hidden])


def move(
    session: Session, clock: Clock, principal: Principal, widget: str, direction: str
) -> Layout:
    """Swap a widget with its shown neighbour above (``up``) or below (``down``)."""
    _check_ids([widget])
    if direction not in ("up", "down"):
        raise InvalidLayoutError(
            "Направление — вверх или вниз", fields={"direction": "up или down"}
        )
    layout = current(session, _user_id(principal))
    visible = list(shown(layout, principal))
    if widget not in visible:
        raise InvalidLayoutError(f"Виджета «{CATALOGUE[widget].title}» нет на главной")
    i = visible.index(widget)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(visible):
        edge = "первый" if direction == "up" else "последний"
        raise InvalidLayoutError(f"Виджет «{CATALOGUE[widget].title}» уже {edge}")
    visible[i], visible[j] = visible[j], visible[i]
    return reorder(session, clock, principal, visible)


def set_sales_period(session: Session, clock: Clock, principal: Principal, period: str) -> Layout:
    """Remember the sales widget's period."""
    user_id = _user_id(principal)
    return save(session, clock, user_id, current(session, user_id).widgets, sales_period=period)
