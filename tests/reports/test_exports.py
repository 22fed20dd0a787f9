"""Every ready report over one company with something in each (sales on simulated drives, a
correction, an unsent document, a drive, a delivery, a finding, a marked receipt): each has
rows and a chart, and each of its XLSX, CSV and PDF files is opened and read back to the
table's own numbers — cell by cell for XLSX and CSV, every cell in order for the PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.compliance.models import ComplianceFinding
from fleet.core.clock import SettableClock
from fleet.delivery.models import DeliveryAttempt
from fleet.drives.models import Drive, DriveForecast
from fleet.receipts.models import Receipt
from fleet.receipts_cabinet.models import ReceiptFacts
from fleet.reports import catalog, export, service
from fleet.reports.chart import bar_chart
from fleet.reports.table import MSK, Column, Kind, ReportTable, cell_text
from tests.reports.test_archive import Sold, sell
from tests.reports.test_reports import MARCH
from tests.reports.world import T0

DAY = 86400.0


def _seed(engine: Engine, sold: Sold) -> None:
    """What the drives' sales do not give: a correction, an unsent receipt, a drive with its
    forecast, a delivery, a finding and a marked receipt."""
    w = sold.world
    w.doc(register=2, at=T0 + 5 * DAY, total=1500, doc_type=31)
    pending = w.doc(register=2, at=T0 + 6 * DAY, total=4200, ofd="pending")
    day0 = int((T0 + 3 * 3600) // DAY)
    with Session(engine) as s:
        drive = Drive(fn_number="9999078900055555", register_id=w.registers[0],
                      company_id=w.company, term_months=15, first_seen_at=T0)  # fmt: skip
        s.add(drive)
        s.flush()
        assert drive.id is not None
        s.add(DriveForecast(drive_id=drive.id, company_id=w.company, last_day=day0,
                            last_pct=37, expires_day=day0 + 400, full_day=day0 + 300,
                            replace_by=day0 + 290))  # fmt: skip
        receipt = Receipt(company_id=w.company, external_id="ext-1", body_hash="0" * 64, body={},
                          kind="sale", total=4200, created_at=T0, updated_at=T0)  # fmt: skip
        s.add(receipt)
        s.flush()
        assert receipt.id is not None
        for n, status in enumerate(("delivered", "failed", "sent")):
            s.add(DeliveryAttempt(company_id=w.company, receipt_id=receipt.id, channel="email",
                                  masked_address="b***@example.ru", status=status,
                                  error="mailbox full" if status == "failed" else None,
                                  at=T0 + 7 * DAY + n))  # fmt: skip
        s.add(ComplianceFinding(company_id=w.company, register_id=w.registers[1],
                                check_code="K01", severity="critical", status="open",
                                first_seen=T0 + DAY, last_seen=T0 + 2 * DAY))  # fmt: skip
        assert pending.id is not None
        s.add(ReceiptFacts(document_id=pending.id, company_id=w.company,
                           register_id=w.registers[2], issued_at=pending.issued_at,
                           total=4200, marked_item="Молоко 3,2 %", marked_items=2))  # fmt: skip
        s.commit()


def _xlsx_raw(column: Column, cell: Any) -> Any:
    """A spreadsheet cell back to the table's raw value (kopecks, hundredths, seconds…)."""
    if cell is None:
        return None
    if column.kind == Kind.MONEY:
        return int(Decimal(str(cell)) * 100)
    if column.kind == Kind.PCT:
        return int(Decimal(str(cell)) * 100)
    if column.kind == Kind.QTY:
        return int(Decimal(str(cell)) * 1000)
    if column.kind == Kind.MOMENT:
        return cell.replace(tzinfo=MSK).timestamp()
    if column.kind == Kind.DATE:
        return cell.date() if isinstance(cell, dt.datetime) else cell
    return cell


def _csv_raw(column: Column, text: str) -> Any:
    """A CSV field («1234,50», «−12,5», «45,00») back to the raw value; text stays text."""
    if text == "":
        return None
    number = text.replace("−", "-").replace(",", ".")
    if column.kind == Kind.MONEY or column.kind == Kind.PCT:
        return int(Decimal(number) * 100)
    if column.kind == Kind.QTY:
        return int(Decimal(number) * 1000)
    if column.kind == Kind.INT:
        return int(number)
    return text


def _expected(column: Column, value: Any) -> Any:
    if value == "" or value is None:
        return None
    if column.kind == Kind.MOMENT:
        return round(float(value))  # Excel keeps whole seconds here
    return value


@pytest.fixture(name="tables")
def fixture_tables(engine: Engine, clock: SettableClock, tmp_path: Path) -> list[ReportTable]:
    sold = sell(engine, clock, tmp_path)
    _seed(engine, sold)
    with Session(engine) as s:
        return [service.ready(s, sold.world.principal, code, MARCH) for code in catalog.REPORTS]


def test_every_ready_report_has_rows_a_chart_and_exports_with_its_numbers(
    tables: list[ReportTable],
) -> None:
    assert [t.code for t in tables] == list(catalog.REPORTS) and len(tables) == 18
    for table in tables:
        code = table.code
        assert table.rows, code
        chart = bar_chart(table)
        assert chart is not None and chart.bars, code

        ws = load_workbook(io.BytesIO(export.export(table, export.Format.XLSX))).active
        assert ws is not None
        sheet = list(ws.iter_rows(values_only=True))
        assert sheet[0][0] == table.title and sheet[1][0] == f"Период: {table.period}"
        assert list(sheet[2])[: len(table.columns)] == [c.label for c in table.columns]
        body = sheet[3 : 3 + len(table.rows)]
        for row, cells in zip(table.rows, body, strict=True):
            got = [_xlsx_raw(c, v) for c, v in zip(table.columns, cells, strict=False)]
            want = [_expected(c, row.get(c.key)) for c in table.columns]
            got = [round(g) if c.kind == Kind.MOMENT and g is not None else g
                   for c, g in zip(table.columns, got, strict=True)]  # fmt: skip
            assert got == want, (code, row)

        raw = export.export(table, export.Format.CSV).decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(raw), delimiter=";"))
        assert lines[0] == [c.label for c in table.columns]
        for row, fields in zip(table.rows, lines[1:], strict=True):
            for c, text in zip(table.columns, fields, strict=True):
                if c.numeric or c.kind == Kind.PCT:
                    assert _csv_raw(c, text) == _expected(c, row.get(c.key)), (code, c.key)
                else:
                    assert text == cell_text(c, row.get(c.key)), (code, c.key)

        pdf = PdfReader(io.BytesIO(export.export(table, export.Format.PDF)))
        text = re.sub(r"\s", "", "".join(p.extract_text() for p in pdf.pages))
        assert re.sub(r"\s", "", table.title) in text
        at = 0
        for row in table.rows:
            for c in table.columns:
                needle = re.sub(r"\s", "", cell_text(c, row.get(c.key)))
                found = text.find(needle, at)
                assert found >= 0, (code, c.key, needle)
                at = found + len(needle)


def test_the_list_reports_chart_their_own_summary(tables: list[ReportTable]) -> None:
    by_code = {t.code: t for t in tables}
    journal = by_code["journal"]
    assert journal.series is not None
    per_day: dict[str, int] = {}
    for r in journal.rows:
        day = dt.datetime.fromtimestamp(r["issued_at"], MSK).strftime("%d.%m.%Y")
        per_day[day] = per_day.get(day, 0) + 1
    assert dict(journal.series.points) == per_day  # fewer than 1000: every receipt is listed
    marked = by_code["marked_goods"]
    assert marked.series is not None and marked.series.points == [("Молоко 3,2 %", 2)]
