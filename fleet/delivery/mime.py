"""The receipt letter's MIME bytes, written directly (RFC 5322, 2045–2047).

``email.message.EmailMessage`` with the SMTP policy took about 3.5 ms a letter (its header
registry and folding), twenty times the Jinja rendering, and was the cascade's and bare SMTP's
bottleneck. The letter is always the same shape — ASCII addresses, a subject, text and its HTML
alternative, UTF-8 quoted-printable (SMTP refuses lines over 998 octets, and HTML has long
ones) — so it is written here with C-accelerated ``binascii.b2a_qp``. A literal ``=`` is always
``=3D`` in quoted-printable, so a boundary beginning ``=_`` never occurs in a body (RFC 2045
§6.7, 2046 §5.1.1). Non-ASCII addresses are not handled here (the caller falls back to the
email package).
"""

from __future__ import annotations

import base64
import binascii
import functools
from email.utils import formatdate
from typing import Final

__all__ = ["encode_header", "letter_bytes", "qp_body"]

_BOUNDARY: Final = "=_oblako_alt"
_WORD_BYTES: Final = 45  # 45 octets -> 60 base64 characters: an encoded word under 75 (2047 §2)


@functools.lru_cache(maxsize=1024)
def encode_header(value: str) -> str:
    """``value`` as itself when ASCII, else RFC 2047 ``=?utf-8?b?…?=`` words, folded (kept:
    a subject names the company, so the same few recur letter after letter)."""
    value = " ".join(value.split())  # no CR/LF can reach a header
    if value.isascii():
        return value
    words: list[str] = []
    chunk = b""
    for ch in value:
        b = ch.encode()
        if len(chunk) + len(b) > _WORD_BYTES:
            words.append(chunk.decode())
            chunk = b""
        chunk += b
    words.append(chunk.decode())
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def qp_body(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends (soft breaks at 76)."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode()
    return binascii.b2a_qp(data, quotetabs=False, istext=True).replace(b"\n", b"\r\n")


def letter_bytes(
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    text: str,
    html: str | None,
    date: str | None = None,
) -> bytes:
    """The whole letter (``sender`` and ``to`` ASCII addresses)."""
    head = (
        f"From: {sender}\r\n"
        f"To: {to}\r\n"
        f"Subject: {encode_header(subject)}\r\n"
        f"Date: {date or formatdate()}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    plain = 'Content-Type: text/plain; charset="utf-8"\r\n'
    qp = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    if html is None:
        return (head + plain + qp).encode() + qp_body(text)  # smtplib ends DATA with CRLF
    b = _BOUNDARY
    return b"".join(
        (
            (head + f'Content-Type: multipart/alternative; boundary="{b}"\r\n\r\n').encode(),
            f"--{b}\r\n{plain}{qp}".encode(),
            qp_body(text),
            f'\r\n--{b}\r\nContent-Type: text/html; charset="utf-8"\r\n{qp}'.encode(),
            qp_body(html),
            f"\r\n--{b}--\r\n".encode(),
        )
    )
