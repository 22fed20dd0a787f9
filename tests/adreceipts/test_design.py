"""The designer's rules without a database: colours, links, erid, pictures, escaping, and the
receipt kept byte for byte inside the frame."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.adreceipts import design, markup
from fleet.adreceipts.exceptions import InvalidAdTemplateError
from fleet.adreceipts.images import MAX_IMAGE_BYTES, sniff
from tests.adreceipts.builders import png

BANNER = design.RawBanner(link="https://shop.example.ru/sale", erid="LjN8Kaaxi", upload=png())


def raw(**kw: object) -> design.RawTemplate:
    base: dict[str, object] = {"name": "Весна", "background": "#FFAA00"}
    base.update(kw)
    return design.RawTemplate(**base)  # type: ignore[arg-type]


def refused(r: design.RawTemplate) -> dict[str, str]:
    with pytest.raises(InvalidAdTemplateError) as info:
        design.check(r)
    return info.value.fields


def view(**kw: object) -> markup.FrameView:
    base: dict[str, object] = {
        "background": "#ffffff",
        "company_name": "",
        "logo_src": None,
        "greeting": "",
        "text": "",
        "banners": (),
        "links": (),
        "advertiser": "ООО «Ромашка», ИНН 7701000000",
    }
    base.update(kw)
    return markup.FrameView(**base)  # type: ignore[arg-type]


def test_a_good_design_is_kept_and_colour_normalised() -> None:
    got = design.check(raw(banners=(BANNER,), links=(design.RawLink("Сайт", "http://a.ru"),)))
    assert got.background == "#ffaa00"
    assert got.banners[0].erid == "LjN8Kaaxi" and got.banners[0].advertising
    assert got.banners[0].upload is not None and got.banners[0].upload.content_type == "image/png"
    assert got.links == (design.LinkInput("Сайт", "http://a.ru"),)


@pytest.mark.parametrize("colour", ["red", "#fff", "#12345g", "#1234567", "", "url(x)"])
def test_bad_colours_are_refused(colour: str) -> None:
    assert "background" in refused(raw(background=colour))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://a.ru/",
        "//a.ru/x",
        "https://",
        "https://a.ru/a b",
        "shop.example.ru",
        "vbscript:msgbox",
    ],
)
def test_only_http_links_pass(url: str) -> None:
    fields = refused(raw(links=(design.RawLink("x", url),)))
    assert fields == {
        "link1_url": "Ссылка 1: адрес должен начинаться с http:// или https:// и вести на сайт"
    }
    assert "banner1_link" in refused(
        raw(banners=(design.RawBanner(link=url, erid="LjN8Kaaxi", upload=png()),))
    )


def test_banner_without_erid_is_refused_with_the_law_named_unless_not_advertising() -> None:
    banner = design.RawBanner(link="https://a.ru", upload=png())
    fields = refused(raw(banners=(banner,)))
    assert fields["banner1_erid"].startswith("Баннер 1: укажите идентификатор рекламы erid")
    assert "38-ФЗ «О рекламе», ст. 18.1" in fields["banner1_erid"]
    assert "«Не реклама»" in fields["banner1_erid"]
    ok = design.check(
        raw(banners=(design.RawBanner(link="https://a.ru", upload=png(), not_advertising=True),))
    )
    assert ok.banners[0].advertising is False and ok.banners[0].erid is None


@pytest.mark.parametrize("erid", ["abc", "Lj N8Kaaxi", "LjN8Kaaxi!", "ерид12345", "x" * 41])
def test_malformed_erid_is_refused(erid: str) -> None:
    fields = refused(raw(banners=(design.RawBanner(link="https://a.ru", erid=erid, upload=png()),)))
    assert "латинские буквы и цифры" in fields["banner1_erid"]


def test_pictures_are_checked_by_their_bytes_and_size() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert sniff(svg) is None
    assert refused(raw(logo_upload=svg))["logo"] == "Загрузите картинку PNG, JPEG, GIF или WebP"
    big = png() + b"\x00" * MAX_IMAGE_BYTES
    assert refused(raw(logo_upload=big))["logo"].startswith("Не больше 512 КБ")
    assert sniff(b"GIF89a....") == "image/gif" and sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    banner = design.RawBanner(link="https://a.ru", erid="LjN8Kaaxi")
    assert refused(raw(banners=(banner,)))["banner1_image"] == "Баннер 1: загрузите картинку"


def test_every_mistake_is_reported_at_once() -> None:
    fields = refused(
        raw(name=" ", background="x", text="я" * 2001, links=(design.RawLink("", "x"),))
    )
    assert set(fields) == {"name", "background", "text", "link1_url"}


def test_erid_goes_into_the_click_link() -> None:
    assert (
        design.with_erid("https://a.ru/p?x=1&erid=old", "LjN8Kaaxi")
        == "https://a.ru/p?x=1&erid=LjN8Kaaxi"
    )
    assert design.with_erid("https://a.ru", None) == "https://a.ru"


@given(st.text(max_size=60))
def test_check_url_accepts_only_absolute_http(value: str) -> None:
    got = design.check_url(value)
    if got is not None:
        assert re.match(r"(?i)https?://[^\s/]", got)


RECEIPTS = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda head, body: (
            f"<!DOCTYPE html><html><head>{head}</head><body class=r>{body}</body></html>"
        ),
        st.text(max_size=40),
        st.text(max_size=200).filter(lambda s: "</body" not in s.lower()),
    ),
)


@given(
    receipt=RECEIPTS,
    greeting=st.text(max_size=80),
    text=st.text(max_size=80),
    name=st.text(max_size=40),
)
def test_the_receipt_is_kept_byte_for_byte_and_user_text_is_escaped(
    receipt: str, greeting: str, text: str, name: str
) -> None:
    v = view(
        greeting=greeting,
        text=text,
        company_name=name,
        links=(design.LinkInput(name, "https://a.ru"),),
    )
    framed = markup.document(v, receipt)
    inner = receipt
    if receipt.startswith("<!DOCTYPE html>"):
        inner = receipt[
            receipt.index("<body class=r>") + len("<body class=r>") : receipt.rindex("</body>")
        ]
        assert framed.startswith(receipt[: receipt.index("<body class=r>")])
    assert markup.fiscal_of(framed) == inner
    outside = framed.replace(markup.FISCAL_START + inner + markup.FISCAL_END, "")
    tags = Tags()
    tags.feed(outside)
    # whatever the person typed, only the frame's own tags exist outside the receipt, and
    # the typed text reads back as typed
    assert tags.names <= FRAME_TAGS, tags.names - FRAME_TAGS
    for typed in (greeting.strip(), text.strip(), name.strip()):
        for line in typed.splitlines():
            assert line.strip() in "".join(tags.text) or not line.strip()


FRAME_TAGS = {
    "table",
    "tr",
    "td",
    "div",
    "p",
    "img",
    "a",
    "br",
    "html",
    "head",
    "body",
    "meta",
    "title",
    "!doctype",
}


class Tags(HTMLParser):
    """Tag names and text seen by an HTML parser (what a mail client would build)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)

    def handle_decl(self, decl: str) -> None:
        self.names.add("!doctype")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_marking_line_and_link_for_an_advertising_banner() -> None:
    v = view(
        banners=(
            markup.BannerView(
                "cid:x", design.with_erid("https://a.ru", "LjN8Kaaxi"), "LjN8Kaaxi", True
            ),
            markup.BannerView("cid:y", "https://b.ru", None, False),
        )
    )
    html = markup.fragment(v, "<p>чек</p>")
    assert html.count("Реклама. ООО «Ромашка», ИНН 7701000000. erid: LjN8Kaaxi") == 1
    assert 'href="https://a.ru?erid=LjN8Kaaxi"' in html
    assert html.count("Реклама.") == 1  # the second banner is not advertising
    assert "erid: LjN8Kaaxi" in markup.plain_text(v, "чек")


def test_script_in_greeting_is_escaped() -> None:
    html = markup.fragment(
        view(greeting='<script>alert("x")</script>', company_name='"><img src=x>'), "R"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '"><img src=x>' not in html
