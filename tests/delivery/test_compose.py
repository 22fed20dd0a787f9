"""The letter written without Jinja (compose.email_html / email_text) is, character for
character, what the reference templates delivery/email.html and .txt render: the fiscal
requisites stay exactly as made, whatever the receipt holds (markup, quotes, None, no items)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fleet.delivery.channels import Channel
from fleet.delivery.compose import (
    PAYMENT_LABEL,
    PartView,
    ReceiptView,
    compose,
    email_html,
    email_text,
    money,
    templates,
)
from fleet.delivery.message import DkimKey

_ENV = templates()
_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_tricky = st.sampled_from(["", "<b>", "a & b", '"q"', "'s'", "ООО «Ромашка»", "{{ x }}"])
_str = _text | _tricky
_opt = st.none() | _str
_kop = st.integers(-(10**9), 10**9)

_items = st.lists(
    st.fixed_dictionaries(
        {"name": _str, "quantity": _str, "price": _kop, "sum": _kop},
    ),
    max_size=4,
)
_parts = st.lists(
    st.builds(
        PartView,
        st.none() | st.from_regex(r"\d{16}", fullmatch=True),
        st.none() | st.integers(0, 2**32),
        st.none() | _str,
        st.none() | st.integers(0, 9999),
        st.none() | st.integers(0, 9999),
        _opt,
        _opt,
    ),
    max_size=3,
)
_views = st.builds(
    ReceiptView,
    company_name=_str,
    company_inn=_str,
    place=_opt,
    address=_opt,
    operation=_str,
    items=_items,
    payments=st.dictionaries(
        st.sampled_from([*PAYMENT_LABEL, "barter", "<x>"]), st.integers(-5, 10**7), max_size=4
    ),
    total=_kop,
    parts=_parts,
    link=_str,
    sender=_opt,
)


def _jinja(name: str, view: ReceiptView) -> str:
    ctx: dict[str, Any] = {"r": view, "money": money, "payment_label": PAYMENT_LABEL}
    return _ENV.get_template(name).render(**ctx)


@given(view=_views)
def test_the_letter_is_what_the_templates_render(view: ReceiptView) -> None:
    assert email_html(view) == _jinja("delivery/email.html", view)
    assert email_text(view) == _jinja("delivery/email.txt", view)


def test_a_real_receipt_keeps_its_requisites_and_escapes_markup() -> None:
    view = ReceiptView.build(
        company_name="ООО «Ромашка» <script>",
        company_inn="7707083893",
        body={
            "operation": "sale",
            "items": [{"name": "Хлеб & соль", "price": 4550, "quantity": "2", "sum": 9100}],
            "payments": {"electronic": 9100, "cash": 0},
        },
        total=9100,
        profile={"sender_email": "cheki@romashka.ru", "address": "Москва"},
        parts=[PartView("7380440700076549", 101, "1234567890", 1, 7, "2024-01-15T10:30", None)],
        link="https://oblako.test/r/" + "x" * 43,
    )
    out = compose(Channel.EMAIL, view, dkim=DkimKey("romashka.ru", "s1", "pem"))
    assert out.html is not None and out.dkim is not None and out.sender == "cheki@romashka.ru"
    assert "ФН 7380440700076549 · ФД 101 · ФП 1234567890" in out.html
    assert "Хлеб &amp; соль" in out.html and "&lt;script&gt;" in out.html
    assert "Наличными" not in out.html  # a zero payment is not shown
    assert "ФН 7380440700076549  ФД 101  ФП 1234567890" in out.text
    assert "Хлеб & соль: 2 × 45,50 = 91,00" in out.text
    assert out.html == _jinja("delivery/email.html", view)
