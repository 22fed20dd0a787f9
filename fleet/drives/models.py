"""Drive tables: the drives seen, their daily memory history, the forecast sums, purchases.

Days are integers: days since 1970-01-01 (UTC). The history is narrow on purpose (a year of
100k drives is 36.5M rows): ``(drive_id, day, used_pct)``. The forecast never scans it: it reads
the per-period rollups (`DriveRollup`, ~13 rows a drive a year), and the forecast rows' sums
are updated as the reports arrive (see `fleet.drives.rollup`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, SmallInteger
from sqlmodel import Field, SQLModel

__all__ = [
    "ROLLUP_DAYS",
    "Drive",
    "DriveForecast",
    "DrivePurchase",
    "DriveReport",
    "DriveReportInbox",
    "DriveRollup",
]

#: the rollup period: day numbers ``period * ROLLUP_DAYS … + ROLLUP_DAYS − 1`` (a fixed length,
#: so both databases compute the period with one integer division)
ROLLUP_DAYS = 30


class Drive(SQLModel, table=True):
    """A fiscal drive the fleet has heard of (by its number), and where it is installed."""

    id: int | None = Field(default=None, primary_key=True)
    fn_number: str = Field(max_length=16, unique=True)
    register_id: int | None = Field(default=None, foreign_key="register.id", index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    term_months: int | None = None  # when known (a drive bought here); else inferred
    #: what the drive reported in 32h, when a report carries it
    reregistrations_left: int | None = None
    first_seen_at: float
    reported_at: float | None = None  # the shadow state last copied into the history


class DriveReport(SQLModel, table=True):
    """One day of a drive's reported memory use (the highest of the day).

    The key is (day, drive): a day's reports append at the right edge of the index instead of
    touching one leaf page per drive (100k scattered page writes made the fold take seconds).
    """

    day: int = Field(primary_key=True)
    # no foreign key: rows come only from the inbox, whose key checked the drive already (a
    # per-row check here doubled the fold's time)
    drive_id: int = Field(primary_key=True)
    used_pct: int = Field(sa_column=Column(SmallInteger, nullable=False))


class DriveReportInbox(SQLModel, table=True):
    """Reports not recorded yet; `fleet.drives.rollup.absorb` empties it (O(new reports))."""

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    drive_id: int = Field(foreign_key="drive.id")
    day: int
    used_pct: int = Field(sa_column=Column(SmallInteger, nullable=False))
    expires_day: int | None = None


class DriveRollup(SQLModel, table=True):
    """A drive's least-squares sufficient statistics over one period of its history.

    Over the period's days x (absolute day numbers) with the day's highest figure y: n, Σx, Σy,
    Σxy, Σx²; plus the period's last day and highest figure and the latest expiry reported.
    Summed over a drive's periods they are exactly the sums over its whole history (integers).
    """

    drive_id: int = Field(primary_key=True)
    period: int = Field(primary_key=True)  # day // ROLLUP_DAYS
    n: int = 0
    sx: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sy: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sxy: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sxx: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    top_day: int
    top_pct: int
    expires_day: int | None = None


class DriveForecast(SQLModel, table=True):
    """Per drive: the least-squares running sums over (day, used_pct) and what they give.

    Integer sums with x the absolute day number are exact in 64 bits (n·Σx² < 6e13 for a
    year), so the slope's numerator and denominator are exact and the fit needs no offset.
    """

    # No index besides the key, and pages half empty: each batch of reports rewrites the rows
    # of its drives, and unindexed columns with room on the page let PostgreSQL update in
    # place (HOT). The schedule reads the rows by drive id.
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    drive_id: int = Field(primary_key=True, foreign_key="drive.id")
    company_id: int | None = Field(default=None, foreign_key="company.id")
    n: int = 0
    sx: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sy: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sxy: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sxx: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    last_day: int | None = None
    last_pct: int | None = None
    expires_day: int | None = None  # as the drive reports it
    full_day: int | None = None  # the day the fitted line reaches 100 % (None: not growing)
    replace_by: int | None = None  # min(expiry, full) − lead
    #: the smallest notification threshold (days before replace_by) already raised
    notified_days: int | None = None
    updated_at: float | None = None


class DrivePurchase(SQLModel, table=True):
    """Drives a company bought from the catalogue, paid from the balance."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    model_code: str = Field(max_length=32)
    model_name: str = Field(max_length=100)
    term_months: int
    quantity: int
    price_kop: int
    total_kop: int
    transaction_id: int | None = Field(default=None, foreign_key="ledgertransaction.id")
    status: str = Field(default="paid", max_length=16)  # paid → shipped → installed
    created_at: float
