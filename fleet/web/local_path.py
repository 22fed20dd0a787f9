"""The ``next`` of a sign-in: where to return, only ever a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["local_path"]


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` if it is a local absolute path (``/registers?page=2``), else ``default``.

    Refuses anything a browser could read as another host: ``//evil``, ``/\\evil``, a scheme,
    control characters (a browser strips tabs and newlines before parsing).
    """
    if not value or not value.startswith("/") or len(value) > 2000:
        return default
    if any(ord(ch) < 0x20 or ch == "\x7f" or ch == "\\" for ch in value):
        return default
    if value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
