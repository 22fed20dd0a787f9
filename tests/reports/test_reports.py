"""The ready reports over a known set of documents, custom templates, exports read back,
auto-reports mailed with their file, and the pages (tenant and folder scoping)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.reports import catalog, custom, export, rollup, schedules, service
from fleet.reports.exceptions import InvalidReportError, ReportNotFoundError
from fleet.reports.filters import ReportFilter
from fleet.reports.models import ReportRun, ReportSchedule
from fleet.reports.table import ReportTable
from tests.fleet.test_billing_kit import company_id, signed_in, use_cookie
from tests.reports.world import T0, World

HOUR = 3600.0
DAY = 86400.0
MARCH = ReportFilter(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def _to(clock: SettableClock, moment: float) -> None:
    clock.advance(max(0.0, moment - clock.wall()))


@pytest.fixture(name="world")
def fixture_world(engine: Engine, clock: SettableClock) -> World:
    """Sales on 2 and 3 March on three registers, a return, a correction, a BSO, a shift
    close (not a settlement), half the documents folded into the rollup."""
    w = World(engine, clock)
    _to(clock, T0 + 40 * DAY)
    old = clock.wall() - HOUR
    w.doc(register=0, at=T0 + 10 * HOUR, total=10000, received_at=old)
    w.doc(register=0, at=T0 + 10.5 * HOUR, total=30000, received_at=old)
    w.doc(register=1, at=T0 + 11 * HOUR, total=5000, tax_system=2, received_at=old)
    w.doc(register=1, at=T0 + 12 * HOUR, total=2000, operation=2, received_at=old)  # return
    with Session(engine) as s:
        rollup.refresh(s, clock)
        s.commit()
    w.doc(register=2, at=T0 + DAY + 9 * HOUR, total=7000, doc_type=4)  # BSO sale
    w.doc(register=2, at=T0 + DAY + 9.5 * HOUR, total=1000, doc_type=31)  # correction
    w.doc(register=2, at=T0 + DAY + 20 * HOUR, total=None, doc_type=5, operation=None)
    w.doc(register=0, at=T0 - HOUR, total=99900)  # 1 March 23:00 Moscow: in March
    w.doc(register=0, at=T0 + 31 * DAY, total=55500)  # April
    return w


def _ready(engine: Engine, w: World, code: str, flt: ReportFilter = MARCH) -> ReportTable:
    with Session(engine) as s:
        return service.ready(s, w.principal, code, flt)


def test_revenue_by_register_store_day(engine: Engine, world: World) -> None:
    t = _ready(engine, world, "revenue_register")
    by = {r["register"]: r for r in t.rows}
    assert by["Касса 1"]["net"] == 10000 + 30000 + 99900 and by["Касса 1"]["receipts"] == 3
    assert by["Касса 2"]["sales"] == 5000 and by["Касса 2"]["returns"] == 2000
    assert by["Касса 2"]["net"] == 3000 and by["Касса 2"]["returns_n"] == 1
    assert by["Касса 3"]["net"] == 7000  # the BSO sells; the correction does not
    assert by["Касса 1"]["average"] == round(139900 / 3)
    stores = {r["store"]: r for r in _ready(engine, world, "revenue_store").rows}
    assert stores["Без магазина"]["net"] == 7000
    assert sum(r["share"] for r in stores.values()) in (9999, 10000, 10001)
    days = {r["date"]: r for r in _ready(engine, world, "revenue_day").rows}
    assert days[dt.date(2026, 3, 1)]["net"] == 99900
    assert days[dt.date(2026, 3, 2)]["net"] == 10000 + 30000 + 5000 - 2000
    assert days[dt.date(2026, 3, 3)]["net"] == 7000
    assert days[dt.date(2026, 3, 3)]["corrections"] == 1


def test_filters_narrow_by_store_register_and_period(engine: Engine, world: World) -> None:
    store = ReportFilter(MARCH.date_from, MARCH.date_to, store_id=world.stores[1])
    assert [r["register"] for r in _ready(engine, world, "revenue_register", store).rows] == [
        "Касса 2"
    ]
    one = ReportFilter(dt.date(2026, 3, 2), dt.date(2026, 3, 2), register_id=world.registers[0])
    assert _ready(engine, world, "average_check", one).rows[0]["net"] == 40000
    april = ReportFilter(dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert _ready(engine, world, "average_check", april).rows[0]["max"] == 55500
    with pytest.raises(InvalidReportError):
        _ready(engine, world, "revenue_day", ReportFilter(dt.date(2026, 3, 2), dt.date(2026, 3, 1)))


def test_folders_limit_what_a_role_sees(engine: Engine, world: World) -> None:
    nobody = Principal(world.company, CLIENT_PERMISSIONS, folder_ids=frozenset())
    with Session(engine) as s:
        assert service.ready(s, nobody, "revenue_register", MARCH).rows == []
        assert service.ready(s, nobody, "journal", MARCH).rows == []
        other = Principal(world.company + 1000, CLIENT_PERMISSIONS)
        assert service.ready(s, other, "revenue_day", MARCH).rows == []


def test_hour_tax_returns_corrections_shifts_journal(engine: Engine, world: World) -> None:
    hours = _ready(engine, world, "revenue_hour").rows
    monday_10 = next(r for r in hours if r["weekday"] == "Пн" and r["hour"] == "10:00")
    assert monday_10["receipts"] == 2 and monday_10["net"] == 40000
    tax = {r["tax_system"]: r["net"] for r in _ready(engine, world, "tax_systems").rows}
    # the return was made under ОСН (the world's default)
    assert tax == {"ОСН": 10000 + 30000 + 99900 + 7000 - 2000, "УСН доход": 5000}
    rets = _ready(engine, world, "returns")
    assert [r["total"] for r in rets.rows] == [2000]
    corr = _ready(engine, world, "corrections")
    assert [r["total"] for r in corr.rows] == [1000]
    journal = _ready(engine, world, "journal")
    assert len(journal.rows) == 7  # settlement documents only, April excluded
    assert journal.rows[0]["issued_at"] > journal.rows[-1]["issued_at"]
    shifts = _ready(engine, world, "shifts").rows
    assert sum(r["receipts"] for r in shifts) == 5


def test_every_ready_report_builds_and_exports(engine: Engine, world: World) -> None:
    assert len(catalog.REPORTS) >= 15
    for code in catalog.REPORTS:
        table = _ready(engine, world, code)
        assert table.title == catalog.REPORTS[code].title
        for fmt in export.Format:
            assert export.export(table, fmt)


def test_exports_round_trip(engine: Engine, world: World) -> None:
    table = _ready(engine, world, "revenue_register")
    wb = load_workbook(io.BytesIO(export.export(table, export.Format.XLSX)))
    ws = wb.active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Выручка по кассам"
    header = list(rows[2])
    assert header[:2] == ["Касса", "РНМ"]
    net = header.index("Выручка, ₽")
    got = {r[0]: r[net] for r in rows[3 : 3 + len(table.rows)]}
    assert got["Касса 1"] == Decimal("1399.00") and got["Касса 2"] == Decimal("30.00")
    raw = export.export(table, export.Format.CSV)
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert parsed[0][0] == "Касса"
    assert {r[0]: r[parsed[0].index("Выручка, ₽")] for r in parsed[1:]}["Касса 1"] == "1399,00"
    pdf = PdfReader(io.BytesIO(export.export(table, export.Format.PDF)))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Выручка по кассам" in text and "Касса 2" in text


def test_missing_font_is_a_precise_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBLAKO_REPORT_FONT", "/nonexistent/DejaVuSans.ttf")
    from fleet.reports.exceptions import FontMissingError

    with pytest.raises(FontMissingError, match="fonts-dejavu-core"):
        export.find_font()


def test_custom_template_columns_grouping_sort(
    engine: Engine, clock: SettableClock, world: World
) -> None:
    spec = custom.TemplateSpec(
        name="Выручка по магазинам кассами",
        base="revenue_register",
        columns=("store", "receipts", "net"),
        group_by="store",
        sort="-net",
    )
    with Session(engine) as s:
        t = custom.save(s, world.principal, clock, spec)
        s.commit()
        assert t.id is not None
        table = service.templated(s, world.principal, t.id, MARCH)
    assert [c.key for c in table.columns] == ["store", "receipts", "net"]
    assert table.rows == [
        {"store": "Магазин на Тверской", "receipts": 3, "net": 139900},
        {"store": "", "receipts": 1, "net": 7000},
        {"store": "Магазин на Арбате", "receipts": 1, "net": 3000},
    ]
    bad = custom.TemplateSpec(name="", base="revenue_register", columns=("nope",),
                              group_by="net", sort="x")  # fmt: skip
    with Session(engine) as s, pytest.raises(InvalidReportError) as e:
        custom.save(s, world.principal, clock, bad)
    assert set(e.value.fields) == {"name", "columns", "group_by", "sort"}
    with Session(engine) as s:
        stranger = Principal(world.company + 1000, CLIENT_PERMISSIONS)
        with pytest.raises(ReportNotFoundError):
            custom.get(s, stranger, t.id)


def test_schedule_runs_when_due_keeps_file_and_mails_it(
    engine: Engine, clock: SettableClock, world: World
) -> None:
    # 1 May 2026, 05:00 Moscow: the monthly report for April runs at 07:00
    _to(clock, dt.datetime(2026, 5, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp())
    mailer = MemoryMailSender()
    form = schedules.ScheduleForm("revenue_day", "monthly", "month", "xlsx", "boss@example.ru")
    with Session(engine) as s:
        sched_id = schedules.create(s, world.principal, clock, form).id
        s.commit()
        assert schedules.run_due(s, clock, mailer) == 0
    clock.advance(2.5 * HOUR)
    with Session(engine) as s:
        assert schedules.run_due(s, clock, mailer) == 1
        s.commit()
    (mail,) = mailer.outbox
    assert mail.to == "boss@example.ru" and "Выручка по дням" in mail.subject
    (att,) = mail.attachments
    ws = load_workbook(io.BytesIO(att.content)).active
    assert ws is not None
    assert ws["A2"].value == "Период: 01.04.2026 — 30.04.2026"
    with Session(engine) as s:
        (run,) = s.query(ReportRun).all()
        assert run.content == att.content and run.emailed_to == "boss@example.ru"
        again = s.get(ReportSchedule, sched_id)
        assert again is not None
        assert dt.datetime.fromtimestamp(again.next_run_at, dt.UTC).month == 6
    with Session(engine) as s, pytest.raises(InvalidReportError) as e:
        schedules.create(s, world.principal, clock,
                         schedules.ScheduleForm("nope", "hourly", "year", "doc", "x"))  # fmt: skip
    assert set(e.value.fields) == {"report", "frequency", "period", "fmt", "email"}


def test_periods_and_next_runs() -> None:
    msk = dt.timezone(dt.timedelta(hours=3))
    wed = dt.datetime(2026, 3, 11, 12, tzinfo=msk).timestamp()
    assert schedules.period_for(wed, "day").date_from == dt.date(2026, 3, 10)
    week = schedules.period_for(wed, "week")
    assert (week.date_from, week.date_to) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    month = schedules.period_for(wed, "month")
    assert (month.date_from, month.date_to) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    nxt = dt.datetime.fromtimestamp(schedules.next_run_after(wed, "weekly"), msk)
    assert (nxt.date(), nxt.hour) == (dt.date(2026, 3, 16), 7)


def test_pages_show_export_and_scope(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers, _inn = signed_in(client, mailer, 71)
    use_cookie(client, headers)
    me = company_id(client, headers)
    w = World(engine, clock)
    w.company = me  # file documents for the signed-in company
    with Session(engine) as s:
        from fleet.registers.models import Register

        for rid in w.registers:
            reg = s.get(Register, rid)
            assert reg is not None
            reg.company_id = me
            reg.store_id = None
            s.add(reg)
        s.commit()
    day = dt.datetime.fromtimestamp(clock.wall(), dt.timezone(dt.timedelta(hours=3))).date()
    w.doc(at=clock.wall() - 60, total=12345)
    page = client.get("/reports")
    assert page.status_code == 200 and "Выручка по кассам" in page.text
    shown = client.get(f"/reports/show?code=revenue_register&date_from={day}&date_to={day}")
    assert shown.status_code == 200 and "123,45" in shown.text and "<svg" in shown.text
    bad = client.get("/reports/show?code=revenue_day&date_from=2026-13-01")
    assert bad.status_code == 422 and "ГГГГ-ММ-ДД" in bad.text
    xlsx = client.get(f"/reports/export?code=revenue_register&date_from={day}&date_to={day}"
                      "&fmt=xlsx")  # fmt: skip
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/reports/show?code=nope").status_code == 404
    form = client.get("/reports/templates/new?base=revenue_register")
    assert form.status_code == 200 and 'value="net"' in form.text
    refused = client.post(
        "/reports/templates",
        data={"name": "", "base": "revenue_register", "csrf_token": _csrf(form.text)},
    )
    assert refused.status_code == 422 and "хотя бы одну колонку" in refused.text
    created = client.post(
        "/reports/templates",
        data={
            "name": "Моя выручка",
            "base": "revenue_register",
            "columns": ["register", "net"],
            "sort": "-net",
            "csrf_token": _csrf(form.text),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    template_id = int(location.rsplit("=", 1)[1])
    mine = client.get(f"{location}&date_from={day}&date_to={day}")
    assert mine.status_code == 200 and "Моя выручка" in mine.text and "123,45" in mine.text
    page = client.get("/reports/schedules")
    made = client.post(
        "/reports/schedules",
        data={
            "report": f"t{template_id}",
            "frequency": "weekly",
            "period": "week",
            "fmt": "csv",
            "email": "boss@example.ru",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get("/reports/schedules")
    assert "Моя выручка" in page.text and "boss@example.ru" in page.text
    sched_id = int(re.findall(r"/reports/schedules/(\d+)/run", page.text)[0])
    before = len(mailer.outbox)
    ran = client.post(f"/reports/schedules/{sched_id}/run",
                      data={"csrf_token": _csrf(page.text)}, follow_redirects=False)  # fmt: skip
    assert ran.status_code == 303
    (mail,) = mailer.outbox[before:]
    assert mail.attachments[0].filename.endswith(".csv")
    history = client.get("/reports/history")
    run_id = int(re.findall(r"/reports/history/(\d+)", history.text)[0])
    file = client.get(f"/reports/history/{run_id}")
    assert file.content == mail.attachments[0].content
    assert client.post(f"/reports/templates/{template_id}/delete",
                       data={"csrf_token": _csrf(page.text)}).status_code == 409  # fmt: skip


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_compliance_summary_counts_findings(engine: Engine, world: World) -> None:
    from fleet.compliance.models import ComplianceFinding

    with Session(engine) as s:
        for reg, status in ((0, "open"), (1, "fixed")):
            s.add(ComplianceFinding(
                company_id=world.company, register_id=world.registers[reg], check_code="K01",
                severity="critical", status=status, first_seen=T0 + reg * HOUR,
                last_seen=T0 + DAY,
            ))  # fmt: skip
        s.commit()
    (row,) = _ready(engine, world, "compliance").rows
    assert (row["code"], row["n"], row["registers"], row["open"]) == ("K01", 2, 2, 1)
    assert row["first"] == T0 and "КоАП" in row["basis"]


def test_only_an_operator_names_another_company(engine: Engine, world: World) -> None:
    from dataclasses import replace

    from fleet.access.permissions import Permission

    theirs = replace(MARCH, company_id=world.company)
    stranger = Principal(world.company + 1000, CLIENT_PERMISSIONS)
    operator = Principal(world.company + 1000, frozenset(Permission))
    with Session(engine) as s:
        with pytest.raises(ReportNotFoundError):
            service.ready(s, stranger, "revenue_day", theirs)
        days = service.ready(s, operator, "revenue_day", theirs).rows
    assert sum(d["net"] for d in days) == 10000 + 30000 + 5000 - 2000 + 7000 + 99900
