"""A register's routing profile from its registration (what the FNS holds).

Routing (fleet/receipts/routing.py) checks each part with the shared `check()` against the
profile of the register it would go to, so a part never reaches a register that would refuse
it. The profile is written when a registration or re-registration is in force, and when an
automatic change of parameters applies (fleet/registration); the keys are the shared schema's
register profile (protocol/portable/rules.py), the flags mapped from the application's usage
flags (КНД 1110061, fleet/registration/application.py FLAGS).
"""

from __future__ import annotations

from typing import Any, Final

from sqlmodel import Session

from fleet.receipts.models import RoutingProfile

__all__ = ["FLAG_MAP", "profile_from_form", "put_profile"]

#: application usage flag → the shared schema's register flag
FLAG_MAP: Final = {
    "internet": "internet_only",
    "excise": "excise",
    "agent": "agent",
    "gambling": "gambling",
    "lottery": "lottery",
    "marked": "marking",
}


def profile_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The register profile routing checks against (FFD 1.2: the drives Oblako registers)."""
    flags = form.get("flags") or {}
    out: dict[str, Any] = {"ffd": "1.2", "tax_systems": list(form.get("tax_systems") or [])}
    for src, dst in FLAG_MAP.items():
        out[dst] = bool(flags.get(src, False))
    # 1187: an Internet register's place of settlement is its website (the shared rules refuse
    # an Internet receipt without it); otherwise the place the application names
    place = form.get("website") if out["internet_only"] else form.get("place")
    if place:
        out["place"] = str(place)
    if form.get("automat_number"):
        out["automat_number"] = str(form["automat_number"])
    return out


def put_profile(
    session: Session, *, register_id: int, inn: str, form: dict[str, Any], now: float
) -> RoutingProfile:
    """Insert or replace the register's profile (flushed with the caller's transaction)."""
    row = session.get(RoutingProfile, register_id)
    profile = profile_from_form(form)
    if row is None:
        row = RoutingProfile(register_id=register_id, inn=inn, profile=profile, updated_at=now)
    else:
        row.inn, row.profile, row.updated_at = inn, profile, now
    session.add(row)
    return row
