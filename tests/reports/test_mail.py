"""Auto-reports over real SMTP: the `report-schedules` job, as the app runs it, mails the
file to an aiosmtpd server; the attachment received is opened and its numbers checked. And the
company filter, which only an Oblako operator has."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.reports import custom, schedules
from fleet.reports.models import ReportRun
from tests.fleet.test_billing_kit import make_operator, signed_in, use_cookie
from tests.reports.smtp import smtp_sink
from tests.reports.test_reports import fixture_world
from tests.reports.world import MSK, T0, World

__all__ = ["fixture_world"]

HOUR = 3600.0


def test_the_job_mails_a_monthly_report_and_a_template_over_smtp(
    engine: Engine, clock: SettableClock, world: World
) -> None:
    # April: the world's 555,00 on 2 April and 123,45 on 20 April on the second register
    world.doc(register=1, at=T0 + 49 * 86400 + 12 * HOUR, total=12345)
    clock.advance(max(0.0, dt.datetime(2026, 5, 1, 5, tzinfo=MSK).timestamp() - clock.wall()))
    with Session(engine) as s:
        template = custom.save(s, world.principal, clock, custom.TemplateSpec(
            name="Кассы за месяц", base="revenue_register", columns=("register", "net"),
            sort="-net",
        ))  # fmt: skip
        s.commit()
        monthly = schedules.ScheduleForm("revenue_day", "monthly", "month", "xlsx", "boss@shop.ru")
        mine = schedules.ScheduleForm(f"t{template.id}", "monthly", "month", "csv", "cfo@shop.ru")
        for form in (monthly, mine):
            schedules.create(s, world.principal, clock, form)
        s.commit()
    with smtp_sink() as sink:
        job = schedules.schedule_job(sink.sender())
        with Session(engine) as s:
            assert job.run(s, clock) == 0  # 05:00: not yet
        clock.advance(2.5 * HOUR)  # 07:30 Moscow on the 1st
        with Session(engine) as s:
            assert job.run(s, clock) == 2
            s.commit()
        with Session(engine) as s:
            assert job.run(s, clock) == 0  # next month's now

    (boss,) = sink.to("boss@shop.ru")
    assert "Выручка по дням" in boss["Subject"] and "01.04.2026 — 30.04.2026" in boss["Subject"]
    (xlsx,) = list(boss.iter_attachments())
    assert xlsx.get_filename() == "revenue_day_01.04.2026-30.04.2026.xlsx"
    ws = load_workbook(io.BytesIO(xlsx.get_content())).active
    assert ws is not None
    sheet = list(ws.iter_rows(values_only=True))
    net = list(sheet[2]).index("Выручка, ₽")
    days = {r[0].date(): Decimal(str(r[net])) for r in sheet[3:] if isinstance(r[0], dt.datetime)}
    assert days == {dt.date(2026, 4, 2): Decimal("555"), dt.date(2026, 4, 20): Decimal("123.45")}

    (cfo,) = sink.to("cfo@shop.ru")
    (attachment,) = list(cfo.iter_attachments())
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf")  # a BOM for Excel
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Касса", "Выручка, ₽"], ["Касса 1", "555,00"], ["Касса 2", "123,45"]]

    with Session(engine) as s:
        runs = s.exec(select(ReportRun).order_by(ReportRun.id)).all()  # type: ignore[arg-type]
        assert [r.emailed_to for r in runs] == ["boss@shop.ru", "cfo@shop.ru"]
        assert runs[0].content == xlsx.get_content()


def test_an_operator_picks_the_company_in_the_filters(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, world: World
) -> None:
    march = "date_from=2026-03-01&date_to=2026-03-31"
    url = f"/reports/show?code=revenue_store&company_id={world.company}&{march}"
    headers, _inn = signed_in(client, mailer, 73)
    use_cookie(client, headers)
    assert client.get(url).status_code == 404  # a client never sees another company
    own = client.get(f"/reports/show?code=revenue_store&{march}")
    assert own.status_code == 200 and 'id="f-company"' not in own.text

    headers, _inn = signed_in(client, mailer, 74)
    make_operator(engine, "billing74@example.ru")
    use_cookie(client, headers)
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(rf'<option value="{world.company}" selected>ООО «Отчёты»</option>', page.text)
    # the store list is the chosen company's, and so are the figures
    assert ">Магазин на Арбате</option>" in page.text
    assert "Магазин на Тверской" in page.text and "1\u00a0399,00" in page.text
