"""The store table: where a company sells; registers are placed in stores."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["Store"]


class Store(SQLModel, table=True):
    """A point of sale (a shop or a website) of one company."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=200)
    created_at: float
