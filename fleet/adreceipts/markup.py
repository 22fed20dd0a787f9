"""The advertising frame as HTML for e-mail (tables and inline styles: mail clients drop
``<style>`` and scripts). Every person-typed string is escaped here; the buyer's receipt is
inserted byte for byte between two markers and never parsed or changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Final

from fleet.adreceipts.design import LinkInput

__all__ = [
    "FISCAL_END",
    "FISCAL_START",
    "BannerView",
    "FrameView",
    "document",
    "fiscal_of",
    "fragment",
    "plain_text",
]

FISCAL_START: Final = "<!--oblako:fiscal-->"
FISCAL_END: Final = "<!--/oblako:fiscal-->"
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_FONT: Final = "font-family:Arial,Helvetica,sans-serif;color:#1f2933"


@dataclass(frozen=True)
class BannerView:
    """A banner ready to show: picture source, click link (with erid), marking."""

    src: str
    href: str
    erid: str | None
    advertising: bool


@dataclass(frozen=True)
class FrameView:
    """A template ready to show. ``advertiser``: «ООО …, ИНН …» for the marking line."""

    background: str
    company_name: str
    logo_src: str | None
    greeting: str
    text: str
    banners: tuple[BannerView, ...]
    links: tuple[LinkInput, ...]
    advertiser: str


def _a(value: str) -> str:
    return escape(value, quote=True)


def _paragraphs(text: str) -> str:
    return "<br>".join(escape(line) for line in text.splitlines())


def _header(v: FrameView) -> str:
    parts: list[str] = []
    if v.logo_src:
        parts.append(
            f'<img src="{_a(v.logo_src)}" alt="{_a(v.company_name or "Логотип")}" '
            'style="max-width:200px;max-height:80px;display:block;margin:0 auto 8px" '
            'data-ad="logo">'
        )
    if v.company_name:
        parts.append(
            f'<div style="font-size:20px;font-weight:bold;text-align:center" '
            f'data-ad="company">{escape(v.company_name)}</div>'
        )
    if v.greeting:
        parts.append(
            f'<p style="font-size:16px;text-align:center;margin:12px 0" data-ad="greeting">'
            f"{_paragraphs(v.greeting)}</p>"
        )
    return "".join(parts)


def _footer(v: FrameView) -> str:
    parts: list[str] = []
    if v.text:
        parts.append(
            f'<p style="font-size:14px;margin:12px 0" data-ad="text">{_paragraphs(v.text)}</p>'
        )
    for n, b in enumerate(v.banners, start=1):
        mark = ""
        if b.advertising:
            erid = f" erid: {escape(b.erid)}" if b.erid else ""
            mark = (
                f'<div style="font-size:11px;color:#6b7280" data-ad="marking">'
                f"Реклама. {escape(v.advertiser)}.{erid}</div>"
            )
        parts.append(
            f'<div style="margin:12px 0;text-align:center" data-ad="banner">'
            f'<a href="{_a(b.href)}" target="_blank" rel="noopener">'
            f'<img src="{_a(b.src)}" alt="Баннер {n}" style="max-width:100%;border:0"></a>'
            f"{mark}</div>"
        )
    if v.links:
        links = " · ".join(
            f'<a href="{_a(link.url)}" target="_blank" rel="noopener" style="color:#1d4ed8">'
            f"{escape(link.label)}</a>"
            for link in v.links
        )
        parts.append(f'<p style="font-size:14px;text-align:center" data-ad="links">{links}</p>')
    return "".join(parts)


def fragment(v: FrameView, fiscal_html: str) -> str:
    """The frame around ``fiscal_html`` (inserted verbatim), as one table."""
    return (
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="background:{_a(v.background)};{_FONT}" data-ad="frame"><tr><td align="center" '
        'style="padding:16px">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="max-width:600px;width:100%"><tr><td style="padding:8px 0">'
        f"{_header(v)}"
        '<div style="background:#ffffff;padding:12px;border-radius:6px" data-ad="receipt">'
        f"{FISCAL_START}{fiscal_html}{FISCAL_END}</div>"
        f"{_footer(v)}"
        "</td></tr></table></td></tr></table>"
    )


def document(v: FrameView, html: str) -> str:
    """The framed e-mail. A whole document keeps its head and body attributes, the body's
    content is framed; a fragment becomes a document's body."""
    opening = _BODY_OPEN.search(html)
    # the last </body>: everything between <body> and it is the content to frame
    ends = [] if opening is None else list(_BODY_CLOSE.finditer(html, opening.end()))
    if opening is not None and ends:
        closing = ends[-1].start()
        inner = html[opening.end() : closing]
        return html[: opening.end()] + fragment(v, inner) + html[closing:]
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>Кассовый чек</title></head><body style="margin:0">{fragment(v, html)}'
        "</body></html>"
    )


def fiscal_of(framed: str) -> str | None:
    """The receipt exactly as it was inserted, None when the markers are missing."""
    start = framed.find(FISCAL_START)
    end = framed.rfind(FISCAL_END)
    if start < 0 or end < start:
        return None
    return framed[start + len(FISCAL_START) : end]


def plain_text(v: FrameView, receipt_text: str) -> str:
    """The same frame for the text part of the letter."""
    lines: list[str] = []
    if v.company_name:
        lines.append(v.company_name)
    if v.greeting:
        lines += [v.greeting, ""]
    lines += [receipt_text, ""]
    if v.text:
        lines += [v.text, ""]
    for b in v.banners:
        mark = f" (Реклама. {v.advertiser}. erid: {b.erid})" if b.advertising else ""
        lines.append(f"{b.href}{mark}")
    lines += [f"{link.label}: {link.url}" for link in v.links]
    return "\n".join(lines).strip() + "\n"
