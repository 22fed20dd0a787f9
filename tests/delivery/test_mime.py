"""The hand-written letter (fleet/delivery/mime.py) reads back through the email package as
what was put in, whatever the text, and keeps SMTP's line limit."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

from hypothesis import given
from hypothesis import strategies as st

from fleet.delivery.mime import encode_header, letter_bytes

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=3000)


def _unix(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n")


@given(text=_text, html=st.none() | _text, subject=st.text(max_size=200))
def test_letter_round_trips_through_the_email_package(
    text: str, html: str | None, subject: str
) -> None:
    raw = letter_bytes(
        sender="cheki@romashka.ru",
        to="ivan@mail.ru",
        subject=subject,
        message_id="<1.1.email@romashka.ru>",
        text=text,
        html=html,
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    assert (msg["From"], msg["To"], msg["Message-ID"]) == (
        "cheki@romashka.ru",
        "ivan@mail.ru",
        "<1.1.email@romashka.ru>",
    )
    assert str(msg["Subject"]) == " ".join(subject.split())
    plain = msg.get_body(("plain",))
    assert plain is not None and _unix(plain.get_content()) == _unix(text)
    if html is None:
        assert not msg.is_multipart()
    else:
        part = msg.get_body(("html",))
        assert part is not None and _unix(part.get_content()) == _unix(html)


def test_header_injection_is_folded_away() -> None:
    assert "\n" not in encode_header("Чек\r\nBcc: evil@x.ru").replace("\r\n ", "")
    assert encode_header("a\r\nBcc: b") == "a Bcc: b"
