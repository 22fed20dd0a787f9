"""The cascade's letters are made with each line's quoted-printable encoding kept
(mime.qp_lines) and their MIME body prepared by the composer: the same bytes as encoding the
whole letter, and never the body of another text (a copy with a new HTML is encoded anew)."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given
from hypothesis import strategies as st

from fleet.delivery.channels import Channel
from fleet.delivery.compose import ReceiptView, compose
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.mime import body_bytes, qp_body, qp_lines
from tests.delivery.test_compose import _views

_lines = st.lists(
    st.sampled_from(["", " ", ".", "a ", "\t", "=", "x" * 80, "Чек и QR-код " * 9, "<p>"]),
    max_size=8,
)
_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=400) | _lines.map("\n".join)
_MSGID = re.compile(rb"Message-ID: [^\r]*\r\n")


@given(text=_text, ending=st.sampled_from(["", "\n", "\r\n", "\r", " \n"]))
def test_kept_line_encodings_join_to_the_whole_encoding(text: str, ending: str) -> None:
    data = text + ending
    assert qp_lines(data) == qp_body(data)
    assert qp_lines(data) == qp_body(data)  # the second time from the kept lines


@given(text=_text, html=st.none() | _text)
def test_a_prepared_body_is_the_body_the_provider_makes(text: str, html: str | None) -> None:
    assert body_bytes(text, html, kept=True) == body_bytes(text, html)


def _letter(out: object) -> bytes:
    provider = SmtpEmailProvider("127.0.0.1", 25, sender="cheki@romashka.ru")
    raw, _ = provider.letter("ivan@mail.ru", out, "7:1:email")  # type: ignore[arg-type]
    return _MSGID.sub(b"", re.sub(rb"Date: [^\r]*\r\n", b"", raw))


@given(view=_views, sender=st.sampled_from([None, "cheki@romashka.ru"]))
def test_a_prepared_letter_is_the_letter(view: ReceiptView, sender: str | None) -> None:
    # an ASCII sender: another is encoded by the email package, with its own boundary
    view = dataclasses.replace(view, sender=sender)
    prepared = compose(Channel.EMAIL, view, prepared=True)
    plain = compose(Channel.EMAIL, view)
    assert prepared.body() is not None and plain.body() is None
    assert _letter(prepared) == _letter(plain)


def test_a_copy_with_another_html_is_not_sent_with_the_prepared_body() -> None:
    view = ReceiptView(
        company_name="ООО «Ромашка»",
        company_inn="7707083893",
        place=None,
        address=None,
        operation="Приход",
        items=[{"name": "Кофе", "quantity": "1", "price": 25000, "sum": 25000}],
        payments={"electronic": 25000},
        total=25000,
        parts=[],
        link="https://oblako.test/r/abc",
        sender="cheki@romashka.ru",
    )
    out = compose(Channel.EMAIL, view, prepared=True)
    framed = dataclasses.replace(out, html="<p>Рекламная рамка</p>")  # as adreceipts.frame
    assert framed.body() is None
    raw = _letter(framed)
    assert raw == _letter(dataclasses.replace(framed, prepared=None))
    assert qp_body("<p>Рекламная рамка</p>") in raw
