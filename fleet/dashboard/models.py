"""Each user's main page: which widgets, in which order, and the sales widget's period."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["DashboardLayout"]


class DashboardLayout(SQLModel, table=True):
    """A user's widget ids in order (comma-separated; validated against the catalogue on
    write). No row: the default layout."""

    __tablename__ = "dashboard_layout"

    user_id: int = Field(primary_key=True, foreign_key="user.id")
    widgets: str = Field(max_length=400)
    sales_period: str = Field(default="7d", max_length=8)
    updated_at: float
