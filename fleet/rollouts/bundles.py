"""Firmware bundles in the fleet: uploaded (checked file by file, as the register will),
certified by an operator, downloaded by registers by their SHA-256."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.audit import record_by
from fleet.core.clock import Clock
from fleet.rollouts.exceptions import (
    BundleExistsError,
    BundleNotFoundError,
    InvalidBundleError,
)
from fleet.rollouts.models import FirmwareBundle

__all__ = ["MAX_BUNDLE", "certify", "get", "list_bundles", "parse", "upload"]

MAX_BUNDLE = 2 * 1024 * 1024
_MAGIC = b"OBLAKOFW1"


def parse(data: bytes) -> dict[str, Any]:
    """The manifest of a bundle (firmware/update.py's format), every file's size and SHA-256
    checked; InvalidBundleError with the Russian reason otherwise."""
    if len(data) > MAX_BUNDLE:
        raise InvalidBundleError(f"Пакет больше {MAX_BUNDLE} байт")
    head, sep, rest = data.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) not in (2, 3) or parts[0] != _MAGIC or not parts[1].isdigit():
        raise InvalidBundleError("Не пакет прошивки Облако (нет заголовка OBLAKOFW1)")
    signature = parts[2].decode("ascii", "replace") if len(parts) == 3 else None
    if signature is not None and (
        len(signature) != 128 or any(c not in "0123456789abcdef" for c in signature)
    ):  # the register checks it against its build key (firmware/update.py)
        raise InvalidBundleError("Подпись пакета — 128 шестнадцатеричных цифр")
    n = int(parts[1])
    try:
        manifest = json.loads(rest[:n])
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidBundleError("Манифест пакета не JSON") from e
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise InvalidBundleError("Манифест пакета не формата 1")
    version = manifest.get("version")
    files = manifest.get("files")
    if not isinstance(version, str) or not 0 < len(version) <= 32:
        raise InvalidBundleError("В манифесте нет версии (строка до 32 символов)")
    if not isinstance(files, list) or not files:
        raise InvalidBundleError("В манифесте нет списка файлов")
    at = n
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("size"), int):
            raise InvalidBundleError("Файл в манифесте без размера")
        body = rest[at : at + f["size"]]
        at += f["size"]
        if len(body) != f["size"] or hashlib.sha256(body).hexdigest() != f.get("sha256"):
            raise InvalidBundleError(f"Файл {f.get('path')} не совпал с манифестом")
    if at != len(rest):
        raise InvalidBundleError("После файлов пакета лишние байты")
    manifest["signed"] = signature is not None
    return manifest


def upload(session: Session, clock: Clock, principal: Principal, data: bytes) -> FirmwareBundle:
    """Register a bundle (not certified); does not commit."""
    manifest = parse(data)
    digest = hashlib.sha256(data).hexdigest()
    version = manifest["version"]
    clash = session.exec(
        select(FirmwareBundle.id).where(
            (FirmwareBundle.version == version) | (FirmwareBundle.sha256 == digest)
        )
    ).first()
    if clash is not None:
        raise BundleExistsError(f"Пакет версии {version} (или с теми же байтами) уже загружен")
    bundle = FirmwareBundle(
        version=version,
        sha256=digest,
        size=len(data),
        board=str(manifest.get("board", ""))[:64],
        manifest=manifest,
        data=data,
        uploaded_by=principal.user_id,
        created_at=clock.wall(),
    )
    session.add(bundle)
    session.flush()
    record_by(session, clock, principal, action="firmware.bundle.upload", entity="firmwarebundle",
              entity_id=bundle.id, version=version, sha256=digest)  # fmt: skip
    return bundle


def get(session: Session, bundle_id: int) -> FirmwareBundle:
    bundle = session.get(FirmwareBundle, bundle_id)
    if bundle is None:
        raise BundleNotFoundError("Пакет прошивки не найден")
    return bundle


def certify(session: Session, clock: Clock, principal: Principal, bundle_id: int) -> None:
    """Mark the version certified (it may now go to registered registers); does not commit."""
    bundle = get(session, bundle_id)
    if bundle.certified:
        return
    bundle.certified = True
    bundle.certified_by = principal.user_id
    bundle.certified_at = clock.wall()
    session.add(bundle)
    record_by(session, clock, principal, action="firmware.bundle.certify",
              entity="firmwarebundle", entity_id=bundle_id, version=bundle.version)  # fmt: skip


def list_bundles(session: Session) -> list[FirmwareBundle]:
    """Every bundle, newest first, without its bytes (loaded only for the download)."""
    stmt = (
        select(FirmwareBundle)
        .options(defer(FirmwareBundle.data))  # type: ignore[arg-type]
        .order_by(col(FirmwareBundle.id).desc())
    )
    return list(session.exec(stmt).all())
