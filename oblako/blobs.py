"""Reading fiscal bytes given on the command line: hex text, a hex file or a binary file."""

from __future__ import annotations

import string
from pathlib import Path

_HEX = set(string.hexdigits + " \t\r\n:")


class InputError(ValueError):
    """The argument is neither hex text nor a readable file."""


def read_blob(arg: str) -> bytes:
    """Bytes from `arg`: a path to a file (binary, or hex text) or hex text itself.

    Spaces, newlines and colons between hex digits are allowed.
    """
    path = Path(arg)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a long hex string is not a valid file name
        is_file = False
    if is_file:
        data = path.read_bytes()
        text = data.decode("ascii", errors="replace")
        if data and set(text) <= _HEX:
            return _unhex(text, f"file {arg}")
        return data
    if set(arg) <= _HEX:
        return _unhex(arg, "argument")
    raise InputError(f"not hex and not a file: {arg[:40]!r}")


def _unhex(text: str, what: str) -> bytes:
    digits = "".join(ch for ch in text if ch in string.hexdigits)
    if len(digits) % 2:
        raise InputError(f"{what}: odd number of hex digits ({len(digits)})")
    return bytes.fromhex(digits)


def hex_context(raw: bytes, offset: int, width: int = 8) -> str:
    """Two lines showing the bytes around `offset` with a caret under it."""
    start = max(0, offset - width)
    end = min(len(raw), offset + width)
    cells = [f"{b:02x}" for b in raw[start:end]]
    line = f"{start:6d}: " + " ".join(cells)
    caret = " " * (8 + 3 * (offset - start)) + "^^"
    return f"{line}\n{caret}"
