"""The receipt shown in the preview and in a test send: a sample with real-looking requisites,
marked as a sample, so the person sees the frame exactly as a buyer will."""

from __future__ import annotations

from html import escape

__all__ = ["sample_html", "sample_text"]

_ROWS = (
    ("Кофе капучино 300 мл", "1 × 190,00", "190,00"),
    ("Круассан миндальный", "2 × 145,00", "290,00"),
)
_REQUISITES = (
    ("ИТОГ", "480,00"),
    ("Безналичными", "480,00"),
    ("в т.ч. НДС 22%", "86,56"),
    ("ФН", "7380440800000001"),
    ("ФД", "1234"),
    ("ФП", "2881964133"),
    ("Смена / чек", "12 / 34"),
    ("Сайт ФНС", "www.nalog.gov.ru"),
)


def sample_html(company: str, inn: str) -> str:
    """A sample receipt's HTML block (the part delivery renders for real receipts)."""
    rows = "".join(
        f'<tr><td>{escape(n)}</td><td style="text-align:right">{escape(q)}</td>'
        f'<td style="text-align:right">{escape(s)}</td></tr>'
        for n, q, s in _ROWS
    )
    reqs = "".join(
        f'<tr><td colspan="2">{escape(k)}</td><td style="text-align:right">{escape(v)}</td></tr>'
        for k, v in _REQUISITES
    )
    return (
        '<div style="font-family:monospace;font-size:13px" data-receipt="sample">'
        '<p style="color:#b00020;font-weight:bold">ОБРАЗЕЦ: тестовая отправка, это не чек</p>'
        f"<p>{escape(company)}<br>ИНН {escape(inn)}<br>Кассовый чек · Приход</p>"
        f'<table style="width:100%;border-collapse:collapse">{rows}{reqs}</table></div>'
    )


def sample_text(company: str, inn: str) -> str:
    """The same sample as plain text."""
    lines = [
        "ОБРАЗЕЦ: тестовая отправка, это не чек",
        company,
        f"ИНН {inn}",
        "Кассовый чек · Приход",
    ]
    lines += [f"{n}  {q}  {s}" for n, q, s in _ROWS]
    lines += [f"{k}: {v}" for k, v in _REQUISITES]
    return "\n".join(lines)
