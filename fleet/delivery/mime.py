"""The receipt letter's MIME bytes, written directly (RFC 5322, 2045–2047).

``email.message.EmailMessage`` with the SMTP policy took about 3.5 ms a letter (its header
registry and folding), twenty times the Jinja rendering, and was the cascade's and bare SMTP's
bottleneck. The letter is always the same shape — ASCII addresses, a subject, text and its HTML
alternative, UTF-8 quoted-printable (SMTP refuses lines over 998 octets, and HTML has long
ones) — so it is written here with C-accelerated ``binascii.b2a_qp``. A literal ``=`` is always
``=3D`` in quoted-printable, so a boundary beginning ``=_`` never occurs in a body (RFC 2045
§6.7, 2046 §5.1.1). Non-ASCII addresses are not handled here (the caller falls back to the
email package).

The cascade's letters are nearly all the same lines (the template's markup, the company, the
goods): `qp_lines` keeps each line's encoding, so only a receipt's own lines (its fiscal
requisites, its link) are encoded per letter; `body_bytes` is what follows the letter's own
headers, made once by the composer (compose.py, ``prepared``) instead of by the provider.
Quoted-printable encodes each line on its own (soft breaks count from a line's start, trailing
white space is judged at its end), so the lines' encodings joined are the text's encoding:
tests/delivery/test_mime.py checks that for any text.
"""

from __future__ import annotations

import base64
import binascii
import functools
from email.utils import formatdate
from typing import Final

__all__ = ["body_bytes", "encode_header", "letter_bytes", "qp_body", "qp_lines"]

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


_LINES: dict[str, bytes] = {}
_LINES_KEPT: Final = 8192  # a receipt adds a few lines of its own: cleared when full


def qp_lines(text: str) -> bytes:
    """`qp_body` with each line's encoding kept (the same bytes; see the module)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    last = lines.pop()
    kept = _LINES
    out: list[bytes | None] = list(map(kept.get, lines))  # the loop in C: most lines are kept
    if None in out:
        for i, b in enumerate(out):
            if b is None:
                line = lines[i]
                b = binascii.b2a_qp((line + "\n").encode(), quotetabs=False, istext=True)
                out[i] = b = b.replace(b"\n", b"\r\n")
                if len(kept) >= _LINES_KEPT:
                    kept.clear()
                kept[line] = b
    if last:
        out.append(
            binascii.b2a_qp(last.encode(), quotetabs=False, istext=True).replace(b"\n", b"\r\n")
        )
    return b"".join(out)  # type: ignore[arg-type]  # every None was filled above


_PLAIN: Final = 'Content-Type: text/plain; charset="utf-8"\r\n'
_QP: Final = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
_ALTERNATIVE: Final = (
    f'Content-Type: multipart/alternative; boundary="{_BOUNDARY}"\r\n\r\n'
    f"--{_BOUNDARY}\r\n{_PLAIN}{_QP}"
).encode()
_HTML: Final = f'\r\n--{_BOUNDARY}\r\nContent-Type: text/html; charset="utf-8"\r\n{_QP}'.encode()
_END: Final = f"\r\n--{_BOUNDARY}--\r\n".encode()


def body_bytes(text: str, html: str | None, *, kept: bool = False) -> bytes:
    """What follows the letter's own headers: its Content-Type and the parts (``kept``: each
    line's encoding kept, `qp_lines`)."""
    qp = qp_lines if kept else qp_body
    if html is None:
        return (_PLAIN + _QP).encode() + qp(text)  # smtplib ends DATA with CRLF
    return b"".join((_ALTERNATIVE, qp(text), _HTML, qp(html), _END))


def letter_bytes(
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    text: str,
    html: str | None,
    date: str | None = None,
    body: bytes | None = None,
) -> bytes:
    """The whole letter (``sender`` and ``to`` ASCII addresses; ``body``: `body_bytes` of
    ``text`` and ``html`` when made already)."""
    head = (
        f"From: {sender}\r\n"
        f"To: {to}\r\n"
        f"Subject: {encode_header(subject)}\r\n"
        f"Date: {date or formatdate()}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    return head.encode() + (body if body is not None else body_bytes(text, html))
