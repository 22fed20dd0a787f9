"""Used fiscal drives on record: the user keeps a drive for five years after it leaves service
(54-ФЗ ст. 5 п. 2; peers-and-regulations §2.1, "Storage")."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlmodel import Session, col, select

from fleet.registers.models import Register
from fleet.registration.models import UsedDrive

__all__ = ["KEEP_YEARS", "keep_drive", "keep_until", "list_used_drives"]

KEEP_YEARS: Final = 5


def keep_until(removed_at: float) -> float:
    """The same calendar day five years on (29 February → 1 March), UTC midnight."""
    day = dt.datetime.fromtimestamp(removed_at, dt.UTC).date()
    try:
        until = day.replace(year=day.year + KEEP_YEARS)
    except ValueError:  # 29 February into a common year
        until = dt.date(day.year + KEEP_YEARS, 3, 1)
    return dt.datetime(until.year, until.month, until.day, tzinfo=dt.UTC).timestamp()


def keep_drive(
    session: Session,
    register: Register,
    *,
    number: str,
    model: str,
    removed_at: float,
    close_fd_number: int | None,
    close_fiscal_sign: str | None,
    close_date: str | None,
) -> UsedDrive:
    """Put a drive taken out of ``register`` on record (in the caller's transaction)."""
    assert register.id is not None
    row = UsedDrive(
        drive_number=number,
        model=model or "—",
        register_id=register.id,
        company_id=register.company_id,
        rnm=register.rnm,
        close_fd_number=close_fd_number,
        close_fiscal_sign=close_fiscal_sign,
        close_date=close_date,
        removed_at=removed_at,
        keep_until=keep_until(removed_at),
    )
    session.add(row)
    return row


def list_used_drives(
    session: Session, *, company_id: int | None = None, limit: int = 500
) -> list[UsedDrive]:
    """Used drives, newest first; ``company_id`` narrows to one client."""
    stmt = select(UsedDrive)
    if company_id is not None:
        stmt = stmt.where(UsedDrive.company_id == company_id)
    return list(session.exec(stmt.order_by(col(UsedDrive.removed_at).desc()).limit(limit)))
