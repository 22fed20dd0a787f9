"""A report table as XLSX (openpyxl), CSV for Excel (UTF-8 with BOM, «;») or PDF (fpdf2).

The PDF needs a TrueType font with Cyrillic: DejaVu Sans, as Debian's `fonts-dejavu-core`
installs it (tools/setup.sh); `OBLAKO_REPORT_FONT` names another file. A missing font is a
`FontMissingError` that says which package to install.
"""

from __future__ import annotations

import csv
import io
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF, FontFace
from openpyxl import Workbook
from openpyxl.styles import Font

from fleet.reports.exceptions import FontMissingError, InvalidReportError
from fleet.reports.table import Column, Kind, ReportTable, cell_text, cell_value

__all__ = ["FONT_PATHS", "MEDIA", "Format", "export", "filename", "find_font"]

FONT_PATHS: Final = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


class Format(StrEnum):
    """Export formats."""

    XLSX = "xlsx"
    CSV = "csv"
    PDF = "pdf"


MEDIA: Final = {
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.CSV: "text/csv; charset=utf-8",
    Format.PDF: "application/pdf",
}


def parse_format(text: str) -> Format:
    """The format named; `InvalidReportError` otherwise."""
    try:
        return Format(text)
    except ValueError:
        raise InvalidReportError(
            "Неизвестный формат выгрузки", fields={"fmt": "XLSX, CSV или PDF"}
        ) from None


def filename(table: ReportTable, fmt: Format) -> str:
    """«revenue_day_01.03.2026-31.03.2026.xlsx» (ASCII code and digits only)."""
    # the period's « — » becomes «-»; everything but digits, dots and hyphens goes
    period = "".join(
        ch for ch in table.period.replace("—", "-") if ch.isdigit() or ch in ".-"
    ).strip("-")
    return f"{table.code}_{period or 'report'}.{fmt.value}"


def export(table: ReportTable, fmt: Format) -> bytes:
    """The table's bytes in the format."""
    if fmt == Format.XLSX:
        return _xlsx(table)
    if fmt == Format.CSV:
        return _csv(table)
    return _pdf(table)


def _xlsx(table: ReportTable) -> bytes:
    wb = Workbook()
    ws = wb.active or wb.create_sheet()
    ws.title = "Отчёт"
    ws.append([table.title])
    ws["A1"].font = Font(bold=True)
    ws.append([f"Период: {table.period}"])
    ws.append([c.label for c in table.columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([cell_value(c, row.get(c.key)) for c in table.columns])
    for i, c in enumerate(table.columns, start=1):
        fmt = {
            Kind.MONEY: "#,##0.00",
            Kind.PCT: "0.00",
            Kind.QTY: "0.###",
            Kind.MOMENT: "DD.MM.YYYY HH:MM",
            Kind.DATE: "DD.MM.YYYY",
        }.get(c.kind)
        if fmt is not None:
            for (cell,) in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                cell.number_format = fmt
    for note in table.notes:
        ws.append([note])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _csv(table: ReportTable) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow([c.label for c in table.columns])
    for row in table.rows:
        w.writerow([_csv_field(c, row.get(c.key)) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_field(column: Column, value: Any) -> str:
    """The shown text; a number without group spaces or «%» (Excel in a Russian locale reads
    «1234,50» as a number). Text keeps its «%»: «НДС 20 %» is a name, not a number."""
    text = cell_text(column, value)
    if column.numeric or column.kind == Kind.PCT:
        return text.replace("\u00a0", "").replace(" %", "")
    return text


def find_font() -> Path:
    """The Cyrillic TrueType font for PDF; `FontMissingError` naming the package if none."""
    named = os.environ.get("OBLAKO_REPORT_FONT")
    candidates = (Path(named),) if named else FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissingError(
        "Для выгрузки в PDF нужен шрифт DejaVu Sans: установите пакет fonts-dejavu-core "
        "(apt-get install fonts-dejavu-core) или укажите путь к TTF-файлу в OBLAKO_REPORT_FONT; "
        "искали: " + ", ".join(str(p) for p in candidates)
    )


def _pdf(table: ReportTable) -> bytes:
    font = find_font()
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_font("dejavu", "", str(font))
    pdf.add_page()
    pdf.set_font("dejavu", size=13)
    pdf.cell(0, 8, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", size=9)
    pdf.cell(0, 6, f"Период: {table.period}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", size=7)
    if table.rows or table.columns:
        with pdf.table(
            text_align="LEFT",
            first_row_as_headings=True,
            # the regular face with a fill: a bold DejaVu file may not be installed
            headings_style=FontFace(emphasis=None, fill_color=(230, 230, 230)),
            line_height=4,
        ) as t:
            head = t.row()
            for c in table.columns:
                head.cell(c.label)
            for row in table.rows:
                r = t.row()
                for c in table.columns:
                    r.cell(cell_text(c, row.get(c.key)))
    for note in table.notes:
        pdf.cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
