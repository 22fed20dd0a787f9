"""Logo and banner uploads: the type is read from the bytes (never from the browser's word),
only raster formats mail clients show (no SVG: it can carry scripts), at most 512 KiB."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

from fleet.adreceipts.exceptions import AdImageError

__all__ = ["MAX_IMAGE_BYTES", "Picture", "data_uri", "picture", "sniff"]

MAX_IMAGE_BYTES: Final = 512 * 1024


@dataclass(frozen=True)
class Picture:
    """A checked image: its type and bytes."""

    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        """Hex digest (part of the public URL: unguessable, changes with the content)."""
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The MIME type by magic bytes, None when not PNG, JPEG, GIF or WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def picture(data: bytes, field: str, what: str) -> Picture:
    """A checked upload, or `AdImageError` naming ``field``."""
    if len(data) > MAX_IMAGE_BYTES:
        raise AdImageError(
            f"{what}: файл больше {MAX_IMAGE_BYTES // 1024} КБ",
            fields={field: f"Не больше {MAX_IMAGE_BYTES // 1024} КБ ({len(data) // 1024} КБ)"},
        )
    kind = sniff(data)
    if kind is None:
        raise AdImageError(
            f"{what}: это не картинка PNG, JPEG, GIF или WebP",
            fields={field: "Загрузите картинку PNG, JPEG, GIF или WebP"},
        )
    return Picture(kind, data)


def data_uri(p: Picture) -> str:
    """The picture inline (previews, and e-mail when no public base URL is given)."""
    return f"data:{p.content_type};base64,{base64.b64encode(p.data).decode('ascii')}"
