"""The layout service (typed errors, nothing changed on a refusal; a random sequence of
changes against a list model) and the main page's widgets over HTTP."""

from __future__ import annotations

import datetime as dt
import importlib
import random
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.access.models import RegisterFolder, RoleKind
from fleet.access.principal import Principal
from fleet.core.clock import SettableClock
from fleet.dashboard import layout
from fleet.dashboard.data import sales_view
from fleet.dashboard.exceptions import (
    DashboardError,
    InvalidLayoutError,
    StaleLayoutError,
    UnknownWidgetError,
)
from fleet.dashboard.widgets import CATALOGUE, DEFAULT, available
from fleet.registers.models import Register
from tests.dashboard.web import csrf_of, sign_in_as
from tests.dashboard.world import make_shop

_COUNTERS = ("fleet.compliance", "fleet.compliance.runner", "fleet.compliance.service")


def _has_counter() -> bool:
    for name in _COUNTERS:
        try:
            if callable(getattr(importlib.import_module(name), "open_counts", None)):
                return True
        except ImportError:
            continue
    return False


def _stored(engine: Engine, user_id: int) -> layout.Layout:
    with Session(engine) as s:
        return layout.current(s, user_id)


def test_a_new_user_gets_the_default_and_changes_are_kept(
    engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    p = shop.principal
    before = _stored(engine, shop.owner)
    assert before.widgets == DEFAULT and not before.stored
    with Session(engine) as s:
        layout.move(s, clock, p, "balance", "up")
        layout.remove(s, clock, p, "drives")
        layout.set_sales_period(s, clock, p, "30d")
        s.commit()
    after = _stored(engine, shop.owner)
    assert after.stored and after.sales_period == "30d"
    assert layout.shown(after, p)[:3] == ("balance", "registers", "sales")
    assert "drives" not in after.widgets
    with Session(engine) as s:
        layout.add(s, clock, p, "drives")
        s.commit()
    assert _stored(engine, shop.owner).widgets[-1] == "drives"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s, c, p: layout.add(s, c, p, "weather"), UnknownWidgetError),
        (lambda s, c, p: layout.remove(s, c, p, "<script>"), UnknownWidgetError),
        (lambda s, c, p: layout.move(s, c, p, "nope", "up"), UnknownWidgetError),
        (lambda s, c, p: layout.reorder(s, c, p, ["registers", "x"]), UnknownWidgetError),
        (lambda s, c, p: layout.add(s, c, p, "fleet"), UnknownWidgetError),  # operators only
        (lambda s, c, p: layout.add(s, c, p, "sales"), InvalidLayoutError),  # already there
        (lambda s, c, p: layout.move(s, c, p, "registers", "up"), InvalidLayoutError),
        (lambda s, c, p: layout.move(s, c, p, "next_steps", "down"), InvalidLayoutError),
        (lambda s, c, p: layout.move(s, c, p, "sales", "left"), InvalidLayoutError),
        (lambda s, c, p: layout.reorder(s, c, p, ["sales", "sales"]), InvalidLayoutError),
        (lambda s, c, p: layout.reorder(s, c, p, ["sales", "balance"]), StaleLayoutError),
        (lambda s, c, p: layout.set_sales_period(s, c, p, "year"), InvalidLayoutError),
    ],
)
def test_bad_input_is_a_typed_error_and_changes_nothing(
    engine: Engine, clock: SettableClock, call: object, error: type[DashboardError]
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        layout.save(s, clock, shop.owner, DEFAULT, sales_period="7d")
        s.commit()
    before = _stored(engine, shop.owner)
    with Session(engine) as s:
        with pytest.raises(error) as caught:
            call(s, clock, shop.principal)  # type: ignore[operator]
        assert caught.value.message  # a Russian reason for the page
        s.rollback()
    assert _stored(engine, shop.owner) == before


def test_a_role_sees_only_its_widgets_and_hidden_ones_survive_a_reorder(
    engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        integrator = shop.role_principal(s, clock, RoleKind.INTEGRATOR)
        s.commit()
    assert integrator.user_id is not None
    assert "balance" not in available(integrator)
    lay = _stored(engine, integrator.user_id)
    visible = layout.shown(lay, integrator)
    assert "balance" not in visible and "registers" in visible
    with Session(engine) as s:
        layout.reorder(s, clock, integrator, list(reversed(visible)))
        s.commit()
    after = _stored(engine, integrator.user_id)
    assert layout.shown(after, integrator) == tuple(reversed(visible))
    assert "balance" in after.widgets  # kept, for when the role grows again


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "up", "down", "order"]),
        st.sampled_from([*CATALOGUE, "bogus"]),
        st.randoms(use_true_random=False),
    ),
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_random_changes_match_a_list_model(
    engine: Engine, clock: SettableClock, steps: list[tuple[str, str, random.Random]]
) -> None:
    shop = make_shop(engine, clock)
    p = shop.principal
    allowed = available(p)
    model = [w for w in DEFAULT if w in allowed]
    for op, widget, rnd in steps:
        want = list(model)
        if op == "order":  # a drag: any permutation of the shown widgets is accepted
            rnd.shuffle(want)
            expect_ok = True
        elif widget not in allowed:  # unknown, or not for this role
            expect_ok = False
        elif op == "add":
            expect_ok = widget not in model
            want = [*model, widget]
        elif op == "remove":
            expect_ok = widget in model
            want = [w for w in model if w != widget]
        else:
            i = model.index(widget) if widget in model else -1
            j = i - 1 if op == "up" else i + 1
            expect_ok = i >= 0 and 0 <= j < len(model)
            if expect_ok:
                want[i], want[j] = want[j], want[i]
        with Session(engine) as s:
            try:
                if op == "add":
                    layout.add(s, clock, p, widget)
                elif op == "remove":
                    layout.remove(s, clock, p, widget)
                elif op in ("up", "down"):
                    layout.move(s, clock, p, widget, op)
                else:
                    layout.reorder(s, clock, p, want)
                s.commit()
                ok = True
            except DashboardError:
                s.rollback()
                ok = False
        assert ok == expect_ok, (op, widget, model)
        if ok:
            model = want
        assert list(layout.shown(_stored(engine, shop.owner), p)) == model


def _grid_order(html: str) -> list[str]:
    return re.findall(r'data-widget="(\w+)"', html)


def test_the_main_page_arranges_widgets_by_htmx_and_forms(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        shop.ingest(s, clock, register=0, at=clock.wall() - 60, operation=1, total=777_00)
        s.commit()
    sign_in_as(client, engine, clock, shop.owner)
    home = client.get("/")
    assert _grid_order(home.text) == list(DEFAULT[:-1])  # no operator widget for a client
    assert 'data-testid="sales-revenue">777,00 ₽' in home.text
    assert 'data-testid="compliance' in home.text
    # each widget leads to its own section
    links = re.findall(r'<a href="([^"]+)" data-testid="widget-link-(\w+)"', home.text)
    assert {w: h.replace("&amp;", "&") for h, w in links} == {
        "registers": "/registers",
        "balance": "/billing",
        "sales": "/reports/show?code=revenue_day",
        "messages": "/receipts/delivery",
        "compliance": "/compliance",
        "drives": "/drives",
        "next_steps": "/registers",
    }
    token = csrf_of(home.text)
    hx = {"HX-Request": "true"}
    moved = client.post(
        "/dashboard/widgets/move",
        data={"widget": "sales", "direction": "up", "csrf_token": token},
        headers=hx,
    )
    assert moved.status_code == 200 and moved.text.lstrip().startswith('<div id="dashboard"')
    assert _grid_order(moved.text)[:3] == ["registers", "sales", "balance"]
    assert 'data-focus="w-sales-up"' in moved.text
    refused = client.post(
        "/dashboard/widgets/add", data={"widget": "weather", "csrf_token": token}, headers=hx
    )
    assert refused.status_code == 200 and "Нет такого виджета" in refused.text
    plain = client.post(
        "/dashboard/widgets/remove",
        data={"widget": "balance", "csrf_token": token},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/"
    bad = client.post("/dashboard/widgets/order", data={"order": "sales", "csrf_token": token})
    assert bad.status_code == 409
    no_csrf = client.post("/dashboard/widgets/remove", data={"widget": "sales"})
    assert no_csrf.status_code == 403
    client.cookies.clear()
    sign_in_as(client, engine, clock, shop.owner)
    again = _grid_order(client.get("/").text)
    assert again[:2] == ["registers", "sales"] and "balance" not in again


def test_the_sales_widget_counts_its_period_and_the_folders_seen(
    engine: Engine, clock: SettableClock
) -> None:
    msk = dt.timezone(dt.timedelta(hours=3))
    now = dt.datetime(2026, 11, 18, 12, 0, tzinfo=msk).timestamp()  # a Wednesday, noon
    clock.advance(now - clock.wall())
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        shop.ingest(s, clock, register=0, at=now - 3600, operation=1, total=100_00)
        shop.ingest(s, clock, register=0, at=now - 3 * 86400, operation=1, total=40_00)
        shop.ingest(s, clock, register=1, at=now - 3 * 86400, operation=2, total=10_00)
        shop.ingest(s, clock, register=1, at=now - 20 * 86400, operation=1, total=7_00)
        shop.ingest(s, clock, register=1, at=now + 3600, operation=1, total=999_00)  # future
        folder = RegisterFolder(company_id=shop.company, name="Тверская", created_at=now)
        s.add(folder)
        s.flush()
        assert folder.id is not None
        folder_id = folder.id
        first = s.get(Register, shop.registers[0])
        assert first is not None
        first.folder_id = folder.id
        s.add(first)
        s.commit()
    p = shop.principal
    limited = Principal(company_id=shop.company, permissions=p.permissions, user_id=shop.owner,
                        folder_ids=frozenset({folder_id}))  # fmt: skip
    with Session(engine) as s:
        revenue = {
            period: sales_view(s, clock, p, period).totals.revenue
            for period in layout.SALES_PERIODS
        }
        assert revenue == {"today": 100_00, "7d": 130_00, "30d": 137_00, "month": 130_00}
        week = sales_view(s, clock, p, "7d").totals
        assert (week.sales, week.returns, week.average_check) == (2, 1, 70_00)
        assert sales_view(s, clock, limited, "7d").totals.revenue == 140_00


def test_the_compliance_widget_counts_open_findings(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    models = pytest.importorskip("fleet.compliance.models")
    shop = make_shop(engine, clock)
    sign_in_as(client, engine, clock, shop.owner)
    counted = _has_counter()
    with Session(engine) as s:
        for n, (severity, status) in enumerate(
            [("critical", "open"), ("high", "open"), ("high", "open"), ("medium", "fixed")]
        ):
            s.add(
                models.ComplianceFinding(
                    company_id=shop.company,
                    register_id=shop.registers[0],
                    check_code=f"C{n}",
                    severity=severity,
                    status=status,
                    first_seen=clock.wall(),
                    last_seen=clock.wall(),
                )
            )
        s.commit()
    home = client.get("/").text
    if not counted:  # the compliance package has no counter yet: the widget still works
        assert 'data-testid="compliance-none">нет данных' in home
        return
    assert 'data-testid="compliance-total">3<' in home
    assert "1 критичных, 2 серьёзных" in home
