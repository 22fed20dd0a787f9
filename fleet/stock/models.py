"""The stock's tables: drives on the shelf by model, replacement work orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

__all__ = ["DriveStock", "WorkOrder"]


class DriveStock(SQLModel, table=True):
    """Drives of one catalogue model on the shelf (fleet/drives/catalogue.py)."""

    model_code: str = Field(primary_key=True, max_length=32)
    quantity: int = 0
    updated_at: float


class WorkOrder(SQLModel, table=True):
    """Replace one register's drive before the forecast's date: a checklist of steps."""

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id", index=True)
    drive_id: int = Field(foreign_key="drive.id", unique=True)  # one order per drive
    fn_number: str = Field(max_length=16)
    model_code: str = Field(max_length=32)  # the drive to take from the shelf
    due_day: int  # unix day: the forecast's replace-by
    status: str = Field(default="open", max_length=16, index=True)  # open → done | cancelled
    # [{"code", "done_at", "command_id"}] in the order of the procedure
    steps: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: float
    closed_at: float | None = None
