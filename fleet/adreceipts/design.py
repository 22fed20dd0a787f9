"""What a person designs, checked: every field validated at once, so the form can show every
mistake; nothing here touches the database.

Rules: the background is ``#rrggbb``; links and banner targets are absolute ``http(s)`` URLs;
a banner is internet advertising and needs its marking identifier (erid, 38-FZ «О рекламе»
art. 18.1) unless the person marks it as not advertising; text is stored as typed and escaped
when rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fleet.adreceipts.exceptions import AdImageError, InvalidAdTemplateError
from fleet.adreceipts.images import Picture, picture

__all__ = [
    "MAX_BANNERS",
    "MAX_LINKS",
    "BannerInput",
    "LinkInput",
    "RawBanner",
    "RawLink",
    "RawTemplate",
    "TemplateInput",
    "check",
    "check_colour",
    "check_erid",
    "check_url",
    "with_erid",
]

MAX_BANNERS: Final = 3
MAX_LINKS: Final = 3
DEFAULT_BACKGROUND: Final = "#f2f5fa"
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# A token from an advertising data operator (ОРД): Latin letters and digits, e.g. LjN8Kaaxi.
_ERID = re.compile(r"[A-Za-z0-9]{6,40}")
_LIMITS: Final = {"name": 100, "company_name": 200, "greeting": 300, "text": 2000}


@dataclass(frozen=True)
class RawBanner:
    """One banner slot of the form as typed (``image_id``: the picture already stored)."""

    link: str = ""
    erid: str = ""
    not_advertising: bool = False
    image_id: int | None = None
    upload: bytes | None = None


@dataclass(frozen=True)
class RawLink:
    """One link slot as typed."""

    label: str = ""
    url: str = ""


@dataclass(frozen=True)
class RawTemplate:
    """The whole form as typed."""

    name: str = ""
    background: str = DEFAULT_BACKGROUND
    company_name: str = ""
    greeting: str = ""
    text: str = ""
    logo_id: int | None = None
    logo_upload: bytes | None = None
    remove_logo: bool = False
    banners: tuple[RawBanner, ...] = ()
    links: tuple[RawLink, ...] = ()


@dataclass(frozen=True)
class BannerInput:
    """A checked banner: a stored picture or a new upload, a target, its marking."""

    link: str
    erid: str | None
    advertising: bool
    image_id: int | None
    upload: Picture | None


@dataclass(frozen=True)
class LinkInput:
    """A checked link."""

    label: str
    url: str


@dataclass(frozen=True)
class TemplateInput:
    """A checked template, ready to store or render."""

    name: str
    background: str
    company_name: str
    greeting: str
    text: str
    logo_id: int | None
    logo_upload: Picture | None
    banners: tuple[BannerInput, ...] = field(default=())
    links: tuple[LinkInput, ...] = field(default=())


def check_colour(value: str) -> str | None:
    """``#rrggbb`` in lower case, None when it is not one."""
    value = value.strip()
    return value.lower() if _COLOUR.fullmatch(value) else None


def check_url(value: str) -> str | None:
    """An absolute http(s) URL with a host and no spaces or control characters, else None."""
    value = value.strip()
    if not value or len(value) > 500 or any(c.isspace() or ord(c) < 32 for c in value):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return value


def check_erid(value: str) -> str | None:
    """The marking token as given (Latin letters and digits, 6–40), None when malformed."""
    value = value.strip()
    return value if _ERID.fullmatch(value) else None


def with_erid(url: str, erid: str | None) -> str:
    """The click link carries the token as ``erid=`` (Roskomnadzor's placement advice)."""
    if not erid:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "erid"]
    query.append(("erid", erid))
    return urlunsplit(parts._replace(query=urlencode(query)))


def check(raw: RawTemplate) -> TemplateInput:
    """The checked template, or `InvalidAdTemplateError` listing every wrong field."""
    errors: dict[str, str] = {}
    texts = {
        "name": raw.name.strip(),
        "company_name": raw.company_name.strip(),
        "greeting": raw.greeting.strip(),
        "text": raw.text.strip(),
    }
    for key, value in texts.items():
        if len(value) > _LIMITS[key]:
            errors[key] = f"Не длиннее {_LIMITS[key]} символов (сейчас {len(value)})"
    if not texts["name"]:
        errors["name"] = "Назовите шаблон"
    background = check_colour(raw.background)
    if background is None:
        errors["background"] = "Цвет в виде #rrggbb, например #f2f5fa"
    logo: Picture | None = None
    if raw.logo_upload:
        try:
            logo = picture(raw.logo_upload, "logo", "Логотип")
        except AdImageError as exc:
            errors.update(exc.fields)
    banners = _banners(raw.banners, errors)
    links = _links(raw.links, errors)
    if errors:
        first = next(iter(errors.values()))
        raise InvalidAdTemplateError(
            f"Шаблон не сохранён: {len(errors)} ошиб. в полях; первая: {first}", fields=errors
        )
    return TemplateInput(
        name=texts["name"],
        background=background or DEFAULT_BACKGROUND,
        company_name=texts["company_name"],
        greeting=texts["greeting"],
        text=texts["text"],
        logo_id=None if raw.remove_logo or logo is not None else raw.logo_id,
        logo_upload=logo,
        banners=banners,
        links=links,
    )


def _banners(slots: tuple[RawBanner, ...], errors: dict[str, str]) -> tuple[BannerInput, ...]:
    if len(slots) > MAX_BANNERS:
        errors["banners"] = f"Не больше {MAX_BANNERS} баннеров"
    out: list[BannerInput] = []
    for n, slot in enumerate(slots[:MAX_BANNERS], start=1):
        if not (slot.link.strip() or slot.erid.strip() or slot.upload or slot.image_id):
            continue  # an empty slot
        where = f"banner{n}"
        upload: Picture | None = None
        if slot.upload:
            try:
                upload = picture(slot.upload, f"{where}_image", f"Баннер {n}")
            except AdImageError as exc:
                errors.update(exc.fields)
        elif slot.image_id is None:
            errors[f"{where}_image"] = f"Баннер {n}: загрузите картинку"
        link = check_url(slot.link)
        if link is None:
            errors[f"{where}_link"] = (
                f"Баннер {n}: ссылка должна начинаться с http:// или https:// и вести на сайт"
            )
        erid: str | None = None
        if slot.erid.strip():
            erid = check_erid(slot.erid)
            if erid is None:
                errors[f"{where}_erid"] = (
                    f"Баннер {n}: erid — это токен из ОРД, латинские буквы и цифры "
                    "(6–40 знаков), например LjN8Kaaxi"
                )
        elif not slot.not_advertising:
            errors[f"{where}_erid"] = (
                f"Баннер {n}: укажите идентификатор рекламы erid, полученный в ОРД "
                "(интернет-реклама маркируется, 38-ФЗ «О рекламе», ст. 18.1), "
                "или отметьте «Не реклама»"
            )
        out.append(
            BannerInput(
                link=link or "",
                erid=erid,
                advertising=not slot.not_advertising,
                image_id=None if upload is not None else slot.image_id,
                upload=upload,
            )
        )
    return tuple(out)


def _links(slots: tuple[RawLink, ...], errors: dict[str, str]) -> tuple[LinkInput, ...]:
    if len(slots) > MAX_LINKS:
        errors["links"] = f"Не больше {MAX_LINKS} ссылок"
    out: list[LinkInput] = []
    for n, slot in enumerate(slots[:MAX_LINKS], start=1):
        label, raw_url = slot.label.strip(), slot.url.strip()
        if not (label or raw_url):
            continue
        url = check_url(raw_url)
        if url is None:
            errors[f"link{n}_url"] = (
                f"Ссылка {n}: адрес должен начинаться с http:// или https:// и вести на сайт"
            )
        if len(label) > 100:
            errors[f"link{n}_label"] = f"Ссылка {n}: текст не длиннее 100 символов"
        out.append(LinkInput(label=label or raw_url, url=url or ""))
    return tuple(out)
