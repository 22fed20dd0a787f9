"""The console menu: built from the principal's permissions and the routes that exist.

An item shows only when the principal holds its permission and its page is served by this app
(so a menu never links to a page that is not built). A section with no visible items is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI
from starlette.routing import Match

from fleet.access.permissions import Permission
from fleet.access.principal import Principal

__all__ = ["MENU", "MenuItem", "MenuSection", "ShownItem", "ShownSection", "menu_for", "page_paths"]


@dataclass(frozen=True)
class MenuItem:
    """One link: its label, path (may carry a query), the permission it needs (None: any
    signed-in user). Keep the permission the page itself asks for."""

    label: str
    path: str
    permission: Permission | None = None


@dataclass(frozen=True)
class MenuSection:
    """A heading with links; a one-item section without a heading is a plain link."""

    label: str
    items: tuple[MenuItem, ...]
    heading: bool = True


MENU: tuple[MenuSection, ...] = (
    MenuSection("Главная", (MenuItem("Главная", "/"),), heading=False),
    MenuSection("Кассы", (MenuItem("Кассы", "/registers", Permission.REGISTERS_VIEW),), False),
    MenuSection("Магазины", (MenuItem("Магазины", "/stores", Permission.REGISTERS_VIEW),), False),
    MenuSection(
        "Чеки",
        (
            MenuItem("Поиск чеков", "/receipts/search", Permission.RECEIPTS_VIEW),
            MenuItem("Пробить чек", "/receipts/new", Permission.RECEIPTS_CREATE),
            MenuItem("Чеки из выписки", "/receipts/import", Permission.RECEIPTS_CREATE),
            MenuItem("Маркированные товары", "/receipts/marked", Permission.RECEIPTS_VIEW),
            MenuItem("Чеки покупателям", "/receipts/delivery", Permission.RECEIPTS_VIEW),
            MenuItem("Рекламные чеки", "/adreceipts", Permission.COMPANY_MANAGE),
        ),
    ),
    MenuSection(
        "Отчёты",
        (
            MenuItem("Готовые отчёты", "/reports", Permission.RECEIPTS_VIEW),
            MenuItem("Свой отчёт", "/reports/templates/new", Permission.RECEIPTS_VIEW),
            MenuItem("Автоотчёты", "/reports/schedules", Permission.RECEIPTS_VIEW),
            MenuItem("Готовые файлы", "/reports/history", Permission.RECEIPTS_VIEW),
            MenuItem("Отчёт генерала", "/general", Permission.COMPANY_MANAGE),
        ),
    ),
    MenuSection(
        "Бронирование",
        (MenuItem("Бронирование", "/bookings", Permission.REGISTERS_VIEW),),
        heading=False,
    ),
    MenuSection(
        "Баланс и платежи",
        (
            MenuItem("Баланс и платежи", "/billing", Permission.BILLING_VIEW),
            MenuItem("Договор", "/contract", Permission.BILLING_VIEW),
        ),
        heading=False,
    ),
    MenuSection("Тарифы", (MenuItem("Тарифы", "/tariffs", Permission.BILLING_VIEW),), False),
    MenuSection(
        "Контроль штрафов",
        (MenuItem("Контроль штрафов", "/compliance", Permission.REGISTERS_VIEW),),
        heading=False,
    ),
    MenuSection(
        "Фискальные накопители",
        (
            MenuItem("График замены ФН", "/drives", Permission.REGISTERS_VIEW),
            MenuItem("Покупка ФН", "/drives/purchase", Permission.REGISTERS_VIEW),
        ),
    ),
    MenuSection("Уведомления", (MenuItem("Уведомления", "/notifications"),), heading=False),
    MenuSection(
        "Подключение",
        (MenuItem("Как подключиться к облачной кассе", "/guides", Permission.RECEIPTS_VIEW),),
        heading=False,
    ),
    MenuSection(
        "Настройки",
        (
            MenuItem("Пользователи", "/settings/users", Permission.USERS_VIEW),
            MenuItem("Роли", "/settings/roles", Permission.USERS_VIEW),
            MenuItem("API-токены", "/settings/tokens", Permission.TOKENS_MANAGE),
            MenuItem("Журнал действий", "/settings/audit", Permission.AUDIT_VIEW),
            MenuItem("ЭДО", "/settings/edo", Permission.BILLING_VIEW),
        ),
    ),
    MenuSection(
        "Оператор",
        (
            MenuItem("Парк касс", "/operator/registers", Permission.OPERATOR_FLEET),
            # the inventory: free registers are the ones on the shelf
            MenuItem("Склад", "/operator/registers?state=free", Permission.OPERATOR_INVENTORY),
            MenuItem("Платежи", "/operator/billing", Permission.OPERATOR_BILLING),
        ),
    ),
    MenuSection(
        "Пульт",
        (
            MenuItem("Стойки и кассы", "/console", Permission.OPERATOR_FLEET),
            MenuItem("Тревоги", "/console/alarms", Permission.OPERATOR_FLEET),
            MenuItem("Прошивки", "/console/rollouts", Permission.OPERATOR_FLEET),
            MenuItem("Мощность групп", "/console/capacity", Permission.OPERATOR_FLEET),
            MenuItem("Склад ФН и наряды", "/console/stock", Permission.OPERATOR_FLEET),
            MenuItem("Команды", "/console/commands", Permission.OPERATOR_FLEET),
        ),
    ),
)


@dataclass(frozen=True)
class ShownItem:
    """A visible link; ``current`` marks the page being shown."""

    label: str
    path: str
    current: bool


@dataclass(frozen=True)
class ShownSection:
    """A visible section."""

    label: str
    heading: bool
    items: tuple[ShownItem, ...]


def page_paths(app: FastAPI) -> frozenset[str]:
    """The menu paths this app serves with a GET page, cached on the app (the routes do not
    change after start). Asked by matching a GET scope, as the router does: included routers
    are not plain lists of routes in every FastAPI version."""
    cached = getattr(app.state, "web_page_paths", None)
    if isinstance(cached, frozenset):
        return cached
    paths = frozenset(
        item.path for section in MENU for item in section.items if _serves(app, item.path)
    )
    app.state.web_page_paths = paths
    return paths


def _serves(app: FastAPI, path: str) -> bool:
    scope = {
        "type": "http",
        "method": "GET",
        "path": urlsplit(path).path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def _specificity(item_path: str, request_path: str, request_query: str) -> int:
    """How well a menu link matches the page shown (0: not at all); the best one is current."""
    link = urlsplit(item_path)
    if link.query:
        wanted = set(parse_qsl(link.query))
        if request_path == link.path and wanted <= set(parse_qsl(request_query)):
            return 10_000 + len(item_path)
        return 0
    if link.path == "/":
        return 1 if request_path == "/" else 0
    if request_path == link.path or request_path.startswith(link.path + "/"):
        return len(link.path)
    return 0


def menu_for(
    principal: Principal | None,
    existing: Iterable[str],
    request_path: str = "",
    request_query: str = "",
) -> tuple[ShownSection, ...]:
    """The sections and links this principal may open (nothing for a guest); the link that
    best matches the page shown is marked current."""
    if principal is None:
        return ()
    paths = frozenset(existing)
    visible = [
        (section, tuple(i for i in section.items if i.path in paths and _may(principal, i)))
        for section in MENU
    ]
    scores = {
        item.path: _specificity(item.path, request_path, request_query)
        for _, items in visible
        for item in items
    }
    best = max(scores.values(), default=0)
    return tuple(
        ShownSection(
            section.label,
            section.heading,
            tuple(ShownItem(i.label, i.path, best > 0 and scores[i.path] == best) for i in items),
        )
        for section, items in visible
        if items
    )


def _may(principal: Principal, item: MenuItem) -> bool:
    return item.permission is None or principal.has(item.permission)
