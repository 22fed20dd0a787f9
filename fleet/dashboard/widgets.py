"""The widget catalogue: what each widget shows, who may see it, where it leads.

A widget leads to the first of its sections the app serves, so a widget keeps working while a
section (the reports, the compliance checks) is still being built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from fleet.access.permissions import Permission
from fleet.access.principal import Principal

__all__ = ["CATALOGUE", "DEFAULT", "Widget", "WidgetId", "available", "section_of"]


class WidgetId(StrEnum):
    """The widget ids (stored in the user's layout)."""

    REGISTERS = "registers"
    BALANCE = "balance"
    SALES = "sales"
    MESSAGES = "messages"
    COMPLIANCE = "compliance"
    DRIVES = "drives"
    NEXT_STEPS = "next_steps"
    FLEET = "fleet"


@dataclass(frozen=True)
class Widget:
    """One kind of widget."""

    id: WidgetId
    title: str
    permission: Permission | None
    sections: tuple[str, ...]  # where it leads: the first the app serves (a query may follow)


CATALOGUE: Final[dict[str, Widget]] = {
    w.id.value: w
    for w in (
        Widget(
            WidgetId.REGISTERS, "Кассы по состояниям", Permission.REGISTERS_VIEW, ("/registers",)
        ),
        Widget(WidgetId.BALANCE, "Баланс", Permission.BILLING_VIEW, ("/billing",)),
        Widget(
            WidgetId.SALES,
            "Продажи",
            Permission.RECEIPTS_VIEW,
            ("/reports/show?code=revenue_day", "/receipts/search"),
        ),
        Widget(
            WidgetId.MESSAGES,
            "Отправленные чеки покупателям",
            Permission.RECEIPTS_VIEW,
            ("/receipts/delivery", "/reports/show?code=delivery", "/receipts/search"),
        ),
        Widget(
            WidgetId.COMPLIANCE,
            "Нарушения 54-ФЗ",
            Permission.REGISTERS_VIEW,
            ("/compliance", "/reports"),
        ),
        Widget(WidgetId.DRIVES, "Замена ФН", Permission.REGISTERS_VIEW, ("/drives",)),
        Widget(
            WidgetId.NEXT_STEPS, "Что сделать дальше", Permission.REGISTERS_VIEW, ("/registers",)
        ),
        Widget(
            WidgetId.FLEET, "Весь парк касс", Permission.OPERATOR_FLEET, ("/operator/registers",)
        ),
    )
}

#: A new user's page: the summary first (as the page was before widgets), then the rest.
DEFAULT: Final = tuple(
    w.value
    for w in (
        WidgetId.REGISTERS,
        WidgetId.BALANCE,
        WidgetId.SALES,
        WidgetId.MESSAGES,
        WidgetId.COMPLIANCE,
        WidgetId.DRIVES,
        WidgetId.NEXT_STEPS,
        WidgetId.FLEET,
    )
)


def available(principal: Principal) -> tuple[str, ...]:
    """The widget ids the principal may put on the page, catalogue order."""
    return tuple(
        wid for wid, w in CATALOGUE.items() if w.permission is None or principal.has(w.permission)
    )


def section_of(widget: Widget, served: Iterable[str]) -> str | None:
    """The first of the widget's sections the app serves (None: none yet)."""
    paths = frozenset(served)
    return next((s for s in widget.sections if s.partition("?")[0] in paths), None)
