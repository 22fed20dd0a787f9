"""The detection rules: set-based SQL (SQLAlchemy Core) on SQLite and PostgreSQL.

A run first builds three small per-register tables (`prepare`), each in ONE pass over its
source, so that a weekly run reads the big tables a few times, not once per check:

* ``cmp_reg``: each register's latest registration report content (registered flags, tax
  systems, place), by the partial index ``ix_receiptcontent_registration``;
* ``cmp_docs``: fiscaldocument (D) over the last `DOCS_DAYS` days, per register: shift reports,
  the oldest document the OFD has not confirmed, counts by kind for the FNS risk indicators,
  documents dated ahead of their arrival;
* ``cmp_content``: receiptcontent (C, fleet/documents/content.py) of settlement documents in the
  window, per register: how many carry each fact, with an example document id.

Each check is then a SELECT over those and register (R), deviceshadow (S), drive and
driveforecast, with the same columns — ``register_id, company_id, n, example, value,
severity`` (``n`` documents or 1, ``example`` a document id, ``value`` a measure for the detail
line, ``severity`` NULL for the check's own or the level the rule chose). K22 (a prepayment
never settled) reads C itself: it matches documents across a company. Only registers in a
working state with a company are checked; a real-time pass restricts the passes to the
registers that reported. K23 (bank payments with no receipt) is about the company, not a
register: its rows have ``register_id`` NULL, and it reads receivedpayment (P,
fleet/receipts_import) with C through the index ``ix_receiptcontent_company_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import col

from fleet.compliance.catalogue import Severity
from fleet.documents import content as ct
from fleet.documents.models import DocType, FiscalDocument, OfdStatus, Operation, ReceiptContent
from fleet.drives.models import Drive, DriveForecast
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts_import.models import ImportedPayment, ReceivedPayment
from fleet.registers.models import Register, RegisterState

__all__ = [
    "BANK_DAYS",
    "BANK_EARLY_DAYS",
    "BANK_GRACE_DAYS",
    "DAY",
    "RULES",
    "Context",
    "Rule",
    "drop",
    "prepare",
]

DAY: Final = 86400.0
DOCS_DAYS: Final = 60  # the silent-register indicator's horizon
_D: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_C: Table = ReceiptContent.__table__  # type: ignore[attr-defined]
_R: Table = Register.__table__  # type: ignore[attr-defined]
_S: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
_DR: Table = Drive.__table__  # type: ignore[attr-defined]
_F: Table = DriveForecast.__table__  # type: ignore[attr-defined]
_P: Table = ReceivedPayment.__table__  # type: ignore[attr-defined]
_I: Table = ImportedPayment.__table__  # type: ignore[attr-defined]

WORKING: Final = (
    RegisterState.ACTIVE.value,
    RegisterState.REREGISTRATION.value,
    RegisterState.DRIVE_REPLACEMENT.value,
)
_RECEIPTS: Final = (int(DocType.RECEIPT), int(DocType.BSO))
_CORRECTIONS: Final = (int(DocType.CORRECTION_RECEIPT), int(DocType.CORRECTION_BSO))
_SETTLEMENTS: Final = _RECEIPTS + _CORRECTIONS
_REGISTRATIONS: Final = (int(DocType.REGISTRATION), int(DocType.REREGISTRATION))
# 2025-09-01 and 2026-01-01 00:00 Moscow time (UTC+3), UTC seconds
INTERNET_RULES_FROM: Final = 1756674000.0
VAT22_FROM: Final = 1767214800.0
ENVD: Final = 8
PATENT: Final = 32
TAX_BITS: Final = (1, 2, 4, 8, 16, 32)
SPECIAL: Final = 2 | 4 | 16 | 32  # УСН доход, УСН доход − расход, ЕСХН, ПСН
GENERAL: Final = 1 | 16  # ОСН, ЕСХН: no 5/7 % rates
_CODES_5_7: Final = (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10)
_CODES_20: Final = (1 << 1) | (1 << 3)
_NOT_NONE: Final = 0x1FFE & ~(1 << 6)  # any code 1..12 but 6 «без НДС»
# FN warning flags in the shadow's drive.warnings (status byte 4 of 30h, protocol/fn/codes.py
# WarningFlag): 0x01 three days left (1051), 0x02 thirty days left (1050), 0x04 archive 90 %
_URGENT: Final = 0x01
_EXHAUSTION: Final = 0x02
_MEMORY_FULL: Final = 0x04


# K23 (§2.9 row 23). The reference names no term for a bank payment's receipt, only the match
# (amount/date/order). UNVERIFIED: 54-ФЗ is recalled to allow "not later than the business day
# after the money arrives"; the service waits BANK_GRACE_DAYS calendar days after the payment's
# date (a weekend included) before it calls a payment unreceipted, accepts a receipt from
# BANK_EARLY_DAYS before that date on (an order paid at checkout, credited the next day), and
# looks back BANK_DAYS days. Change them here (or per run in Context).
BANK_GRACE_DAYS: Final = 3.0
BANK_EARLY_DAYS: Final = 1.0
BANK_DAYS: Final = 90.0


@dataclass(frozen=True)
class Context:
    """What a run checks: its time, the receipt window, the prepayment term, the bank terms."""

    now: float
    window_s: float = 30 * DAY
    prepay_days: float = 30.0
    bank_grace_days: float = BANK_GRACE_DAYS
    bank_early_days: float = BANK_EARLY_DAYS
    bank_days: float = BANK_DAYS

    @property
    def since(self) -> float:
        return self.now - self.window_s


Rule = Callable[[Context], Select[Any]]


def _bit(column: Any, bit: int) -> ColumnElement[bool]:
    out: ColumnElement[bool] = func.coalesce(column, 0).op("&")(bit) != 0
    return out


def _no_bit(column: Any, bit: int) -> ColumnElement[bool]:
    out: ColumnElement[bool] = func.coalesce(column, 0).op("&")(bit) == 0
    return out


def _count(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _first(cond: ColumnElement[bool], doc_id: Any) -> Any:
    return func.min(case((cond, doc_id), else_=None))


# ---- the per-register tables ---------------------------------------------------------------

_META = MetaData()
REG = Table(
    "cmp_reg",
    _META,
    Column("register_id", Integer),
    Column("document_id", Integer),
    Column("reg_tax", Integer),
    Column("reg_usage", Integer),
    Column("reg_agent", Integer),
    Column("flags", Integer),
    Column("place", String),
    prefixes=["TEMPORARY"],
)


def _registered(registers: Sequence[int] | None) -> Select[Any]:
    c = _C.c
    ranked = select(
        c.register_id,
        c.document_id,
        c.reg_tax,
        c.reg_usage,
        c.reg_agent,
        c.flags,
        c.place,
        func.row_number()
        .over(partition_by=c.register_id, order_by=(c.issued_at.desc(), c.document_id.desc()))
        .label("rn"),
    ).where(col(c.doc_type).in_(_REGISTRATIONS))
    if registers is not None:
        ranked = ranked.where(col(c.register_id).in_(list(registers)))
    sub = ranked.subquery("ranked")
    return select(*(sub.c[k.name] for k in REG.columns)).where(sub.c.rn == 1)


def _docs(ctx: Context, registers: Sequence[int] | None) -> Select[Any]:
    d = _D.c
    since = ctx.since
    recent = d.issued_at >= since
    receipt = col(d.doc_type).in_(_RECEIPTS)
    pending = d.ofd_status == OfdStatus.PENDING.value
    ahead = and_(recent, d.issued_at > d.received_at + 300)
    stmt = select(
        d.register_id.label("register_id"),
        func.max(case((d.doc_type == int(DocType.SHIFT_OPEN), d.issued_at))).label("opened"),
        func.max(case((d.doc_type == int(DocType.SHIFT_CLOSE), d.issued_at))).label("closed"),
        func.min(case((pending, d.issued_at))).label("pending_oldest"),
        _count(pending).label("pending_n"),
        _count(d.issued_at >= ctx.now - 45 * DAY).label("n45"),
        func.max(d.issued_at).label("last"),
        _count(and_(recent, receipt, d.operation == int(Operation.INCOME))).label("income"),
        _count(and_(recent, receipt, d.operation == int(Operation.INCOME_RETURN))).label("returns"),
        _count(and_(recent, col(d.doc_type).in_(_CORRECTIONS))).label("corrections"),
        _count(recent).label("recent"),
        _count(ahead).label("ahead_n"),
        func.max(case((ahead, d.issued_at - d.received_at))).label("ahead_s"),
        _first(ahead, d.id).label("ahead_example"),
    ).where(d.issued_at >= ctx.now - DOCS_DAYS * DAY)
    if registers is not None:
        stmt = stmt.where(col(d.register_id).in_(list(registers)))
    return stmt.group_by(d.register_id)


def _content_facts(ctx: Context) -> dict[str, ColumnElement[bool]]:
    """Name → condition on one settlement document of the window (C only)."""
    c = _C.c
    f = ct.Flag
    tax = func.coalesce(c.tax_system, 0)
    income = c.operation == int(Operation.INCOME)
    facts: dict[str, ColumnElement[bool]] = {
        "excise": _bit(c.flags, int(f.EXCISE)),
        "agent": _bit(c.flags, int(f.AGENT)),
        "gambling": _bit(c.flags, int(f.GAMBLING)),
        "lottery": _bit(c.flags, int(f.LOTTERY)),
        "automat": _bit(c.flags, int(f.AUTOMAT)),
        "uncoded": _bit(c.flags, int(f.MARK_UNCODED)),
        "negative": _bit(c.flags, int(f.MARK_NEGATIVE)),
        "cash": func.coalesce(c.cash, 0) > 0,
        "no_contact": and_(c.internet.is_(True), c.buyer_contact.is_(False)),
        "no_place": and_(
            c.issued_at >= INTERNET_RULES_FROM, c.internet.is_(True), c.place.is_(None)
        ),
        "not_internet": and_(c.issued_at >= INTERNET_RULES_FROM, c.internet.is_(False)),
        "vat": or_(
            and_(tax == PATENT, _bit(c.vat_codes, _NOT_NONE)),
            and_(_bit(tax, GENERAL), _bit(c.vat_codes, _CODES_5_7)),
            and_(
                c.issued_at >= VAT22_FROM,
                col(c.doc_type).in_(_RECEIPTS),
                income,
                _bit(c.vat_codes, _CODES_20),
            ),
        ),
        "envd": tax == ENVD,
        "totals": and_(
            c["items"] > 0,
            _no_bit(c.flags, int(f.BROKEN)),
            or_(
                c.items_sum != func.coalesce(c.total, 0),
                func.coalesce(c.cash, 0)
                + func.coalesce(c.electronic, 0)
                + func.coalesce(c.prepaid, 0)
                + func.coalesce(c.credit, 0)
                + func.coalesce(c.consideration, 0)
                != func.coalesce(c.total, 0),
                _bit(c.flags, int(f.VAT_MISMATCH)),
            ),
        ),
    }
    for bit in TAX_BITS:
        facts[f"tax{bit}"] = tax == bit
    return facts


def _content(ctx: Context, registers: Sequence[int] | None) -> Select[Any]:
    c = _C.c
    columns: list[Any] = [c.register_id.label("register_id")]
    for name, cond in _content_facts(ctx).items():
        columns.append(_count(cond).label(f"n_{name}"))
        columns.append(_first(cond, c.document_id).label(f"x_{name}"))
    receipt = col(c.doc_type).in_(_RECEIPTS)
    ret = and_(receipt, c.operation == int(Operation.INCOME_RETURN))
    columns += [
        func.max(case((and_(receipt, c.operation == int(Operation.INCOME)), c.total))).label(
            "income_max"
        ),
        func.max(case((ret, c.total))).label("return_max"),
        func.max(case((ret, c.document_id))).label("return_last"),
        func.min(c.place).label("place_min"),
        func.max(c.place).label("place_max"),
        _first(c.place.is_not(None), c.document_id).label("place_example"),
    ]
    stmt = select(*columns).where(col(c.doc_type).in_(_SETTLEMENTS), c.issued_at >= ctx.since)
    if registers is not None:
        stmt = stmt.where(col(c.register_id).in_(list(registers)))
    return stmt.group_by(c.register_id)


_FLOATS: Final = frozenset({"opened", "closed", "pending_oldest", "last", "ahead_s"})


def _as_table(name: str, stmt: Select[Any]) -> Table:
    """A Table naming the columns `stmt` selects (what CREATE TABLE AS made)."""
    cols = []
    for c in stmt.selected_columns:
        kind: Any = (
            Float if c.name in _FLOATS else String if c.name.startswith("place") else Integer
        )
        cols.append(Column(c.name, kind))
    return Table(name, MetaData(), *cols)


def prepare(
    conn: Connection, ctx: Context, registers: Sequence[int] | None = None
) -> dict[str, Table]:
    """Build the per-register tables (temporary, this connection only)."""
    drop(conn)
    built: dict[str, Table] = {}
    for name, stmt in (
        ("cmp_reg", _registered(registers)),
        ("cmp_docs", _docs(ctx, registers)),
        ("cmp_content", _content(ctx, registers)),
    ):
        sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        conn.execute(text(f"CREATE TEMPORARY TABLE {name} AS {sql}"))
        built[name] = _as_table(name, stmt)
    return built


def drop(conn: Connection) -> None:
    """Drop the per-register tables."""
    for name in ("cmp_reg", "cmp_docs", "cmp_content"):
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


# ---- the rules ----------------------------------------------------------------------------
# every rule takes the prepared tables: t["cmp_reg"], t["cmp_docs"], t["cmp_content"]

Tables = dict[str, Table]
TableRule = Callable[[Context, Tables], Select[Any]]


def _out(n: Any = None, example: Any = None, value: Any = None, severity: Any = None) -> list[Any]:
    return [
        _R.c.id.label("register_id"),
        _R.c.company_id.label("company_id"),
        (n if n is not None else literal(1)).label("n"),
        (example if example is not None else cast(null(), Integer)).label("example"),
        (value if value is not None else cast(null(), Float)).label("value"),
        (severity if severity is not None else cast(null(), String)).label("severity"),
    ]


def _working() -> ColumnElement[bool]:
    return and_(col(_R.c.state).in_(WORKING), _R.c.company_id.is_not(None))


def _fact(t: Tables, name: str, *where: ColumnElement[bool], with_reg: bool = True) -> Select[Any]:
    """Registers with documents of a content fact (and, with `with_reg`, a registration)."""
    k = t["cmp_content"].c
    frm = _R.join(t["cmp_content"], k.register_id == _R.c.id)
    if with_reg:
        frm = frm.join(t["cmp_reg"], t["cmp_reg"].c.register_id == _R.c.id)
    return (
        select(*_out(k[f"n_{name}"], k[f"x_{name}"]))
        .select_from(frm)
        .where(_working(), k[f"n_{name}"] > 0, *where)
    )


def k01_shift(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    return (
        select(*_out(value=(ctx.now - d.opened) / 3600.0))
        .select_from(_R.join(t["cmp_docs"], d.register_id == _R.c.id))
        .where(
            _working(),
            d.opened < ctx.now - DAY,
            or_(d.closed.is_(None), d.closed < d.opened),
        )
    )


def k02_unsent(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    sev = case((d.pending_oldest <= ctx.now - 25 * DAY, Severity.CRITICAL.value), else_=None)
    return (
        select(*_out(n=d.pending_n, value=(ctx.now - d.pending_oldest) / DAY, severity=sev))
        .select_from(_R.join(t["cmp_docs"], d.register_id == _R.c.id))
        .where(_working(), d.pending_oldest <= ctx.now - 3 * DAY)
    )


def _warnings() -> ColumnElement[int]:
    out: ColumnElement[int] = func.coalesce(_S.c.reported["drive"]["warnings"].as_integer(), 0)
    return out


def k03_drive_expiry(ctx: Context, t: Tables) -> Select[Any]:
    r = _R.c
    warn = _warnings()
    critical = or_(r.drive_expires_at <= ctx.now + 7 * DAY, warn.op("&")(_URGENT) != 0)
    return (
        select(
            *_out(
                value=(r.drive_expires_at - ctx.now) / DAY,
                severity=case((critical, Severity.CRITICAL.value), else_=None),
            )
        )
        .select_from(_R.outerjoin(_S, _S.c.register_id == r.id))
        .where(
            _working(),
            or_(
                r.drive_expires_at <= ctx.now + 30 * DAY,
                warn.op("&")(_URGENT | _EXHAUSTION) != 0,
            ),
        )
    )


def k04_drive_memory(ctx: Context, t: Tables) -> Select[Any]:
    r = _R.c
    pct = func.coalesce(_F.c.last_pct, 0)
    return (
        select(
            *_out(
                value=cast(_F.c.last_pct, Float),
                severity=case((pct >= 99, Severity.CRITICAL.value), else_=None),
            )
        )
        .select_from(
            _R.outerjoin(_S, _S.c.register_id == r.id)
            .outerjoin(_DR, and_(_DR.c.register_id == r.id, _DR.c.fn_number == r.drive_number))
            .outerjoin(_F, _F.c.drive_id == _DR.c.id)
        )
        .where(_working(), or_(_warnings().op("&")(_MEMORY_FULL) != 0, pct >= 90))
    )


def _iso_day_seconds(text_expr: Any) -> Any:
    """UTC seconds of a 'YYYY-MM-DD' text's midnight, by integer arithmetic (days from the
    civil date) so a malformed date gives a number, not an error that stops the whole run."""
    y0 = cast(func.substr(text_expr, 1, 4), Integer)
    m0 = cast(func.substr(text_expr, 6, 2), Integer)
    d0 = cast(func.substr(text_expr, 9, 2), Integer)
    y = y0 - case((m0 <= 2, 1), else_=0)
    m = (m0 + 9) % 12  # March is 0
    days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d0 - 1 - 719468
    return days * DAY


def _drive_term() -> tuple[Any, Any]:
    """(the drive's term in months, FROM clause): the term recorded for the drive, else the one
    its key's life implies — the state's drive.expires (32h) less the time of the drive's first
    document (its registration report, FD 1); the thresholds are fleet/drives/regime.py
    term_of_life's (≥ 900 days: 36, ≥ 430: 15), anything shorter read as 13 months."""
    r = _R.c
    fd1 = _D.alias("fd1")
    expires = _S.c.reported["drive"]["expires"].as_string()
    life = (_iso_day_seconds(expires) - fd1.c.issued_at) / DAY
    inferred = case(
        (or_(expires.is_(None), fd1.c.issued_at.is_(None)), None),
        (life >= 900, 36),
        (life >= 430, 15),
        else_=13,
    )
    term = func.coalesce(_DR.c.term_months, inferred)
    frm = (
        _R.outerjoin(_DR, and_(_DR.c.register_id == r.id, _DR.c.fn_number == r.drive_number))
        .outerjoin(_S, _S.c.register_id == r.id)
        .outerjoin(fd1, and_(fd1.c.fn_number == _S.c.drive_fn, fd1.c.fd_number == 1))
    )
    return term, frm


def k05_drive_term(ctx: Context, t: Tables) -> Select[Any]:
    r = _R.c
    reg = t["cmp_reg"].c
    tax = func.coalesce(reg.reg_tax, 0)
    usage = func.coalesce(reg.reg_usage, 0)
    needs_36 = or_(
        and_(tax != 0, tax.op("&")(~SPECIAL & 0xFF) == 0),  # special regimes only
        and_(usage.op("&")(ct.USAGE_SERVICES) != 0, tax.op("&")(1) == 0),
    )
    exception = or_(
        usage.op("&")(ct.USAGE_EXCISE) != 0,
        _bit(reg.flags, int(ct.Flag.REG_AUTONOMOUS)),
        and_(tax.op("&")(1) != 0, tax.op("&")(SPECIAL) != 0),
    )
    term, frm = _drive_term()
    return (
        select(*_out(value=cast(term, Float)))
        .select_from(frm.join(t["cmp_reg"], reg.register_id == r.id))
        .where(_working(), term.in_((13, 15)), needs_36, ~exception)
    )


def k06_excise(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "excise", _no_bit(t["cmp_reg"].c.reg_usage, ct.USAGE_EXCISE))


def k07_agent(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "agent", func.coalesce(t["cmp_reg"].c.reg_agent, 0) == 0)


def k08_gambling_lottery(ctx: Context, t: Tables) -> Select[Any]:
    k = t["cmp_content"].c
    usage = t["cmp_reg"].c.reg_usage
    gambling = and_(k.n_gambling > 0, _no_bit(usage, ct.USAGE_GAMBLING))
    lottery = and_(k.n_lottery > 0, _no_bit(usage, ct.USAGE_LOTTERY))
    n = case((gambling, k.n_gambling), else_=0) + case((lottery, k.n_lottery), else_=0)
    return (
        select(*_out(n, func.coalesce(case((gambling, k.x_gambling)), k.x_lottery)))
        .select_from(
            _R.join(t["cmp_content"], k.register_id == _R.c.id).join(
                t["cmp_reg"], t["cmp_reg"].c.register_id == _R.c.id
            )
        )
        .where(_working(), or_(gambling, lottery))
    )


def k09_automat(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "automat", _no_bit(t["cmp_reg"].c.reg_usage, ct.USAGE_AUTOMAT))


def k10_cash_internet(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "cash", _bit(t["cmp_reg"].c.reg_usage, ct.USAGE_INTERNET))


def k11_internet_contact(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "no_contact", with_reg=False)


def k12_internet_tags(ctx: Context, t: Tables) -> Select[Any]:
    k = t["cmp_content"].c
    internet_only = _bit(t["cmp_reg"].c.reg_usage, ct.USAGE_INTERNET)
    flagless = and_(internet_only, k.n_not_internet > 0)
    n = case((flagless, k.n_not_internet), else_=0) + k.n_no_place
    return (
        select(*_out(n, func.coalesce(case((flagless, k.x_not_internet)), k.x_no_place)))
        .select_from(
            _R.join(t["cmp_content"], k.register_id == _R.c.id).join(
                t["cmp_reg"], t["cmp_reg"].c.register_id == _R.c.id
            )
        )
        .where(_working(), or_(flagless, k.n_no_place > 0))
    )


def k13_vat(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "vat", with_reg=False)


def k14_tax_system(ctx: Context, t: Tables) -> Select[Any]:
    k = t["cmp_content"].c
    reg_tax = t["cmp_reg"].c.reg_tax
    wrong = [
        and_(k[f"n_tax{b}"] > 0, *(() if b == ENVD else (_no_bit(reg_tax, b),))) for b in TAX_BITS
    ]
    n = sum(
        (case((w, k[f"n_tax{b}"]), else_=0) for w, b in zip(wrong, TAX_BITS, strict=True)),
        literal(0),
    )
    example = func.coalesce(
        *(case((w, k[f"x_tax{b}"])) for w, b in zip(wrong, TAX_BITS, strict=True))
    )
    return (
        select(*_out(n, example))
        .select_from(
            _R.join(t["cmp_content"], k.register_id == _R.c.id).outerjoin(
                t["cmp_reg"], t["cmp_reg"].c.register_id == _R.c.id
            )
        )
        .where(_working(), or_(*wrong), or_(reg_tax.is_not(None), k.n_tax8 > 0))
    )


def k15_uncoded(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "uncoded", with_reg=False)


def k16_mark_negative(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "negative", with_reg=False)


def _share(t: Tables, part: Any, whole: Any) -> Select[Any]:
    return (
        select(*_out(n=part, value=100.0 * part / whole))
        .select_from(_R.join(t["cmp_docs"], t["cmp_docs"].c.register_id == _R.c.id))
        .where(_working(), whole >= 10, part * 10 >= whole * 3)
    )


def k17_returns(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    return _share(t, d.returns, d.income)


def k18_corrections(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    return _share(t, d.corrections, d.recent)


def k19_silent(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    reg = t["cmp_reg"].c
    # a register with no row in cmp_docs sent nothing for DOCS_DAYS days (if ever)
    days = func.coalesce((ctx.now - d.last) / DAY, float(DOCS_DAYS))
    sev = case((d.register_id.is_(None), Severity.HIGH.value), else_=None)
    return (
        select(*_out(value=days, severity=sev))
        .select_from(
            _R.join(t["cmp_reg"], reg.register_id == _R.c.id).outerjoin(
                t["cmp_docs"], d.register_id == _R.c.id
            )
        )
        .where(
            _working(),
            func.coalesce(d.n45, 0) == 0,
            _no_bit(reg.flags, int(ct.Flag.REG_AUTONOMOUS)),
        )
    )


def k20_place(ctx: Context, t: Tables) -> Select[Any]:
    k = t["cmp_content"].c
    reg = t["cmp_reg"].c
    return (
        select(*_out(example=k.place_example))
        .select_from(
            _R.join(t["cmp_content"], k.register_id == _R.c.id).join(
                t["cmp_reg"], reg.register_id == _R.c.id
            )
        )
        .where(
            _working(),
            reg.place.is_not(None),
            k.place_min.is_not(None),
            or_(k.place_min != reg.place, k.place_max != reg.place),
        )
    )


def k21_drive_swapped(ctx: Context, t: Tables) -> Select[Any]:
    reg = t["cmp_reg"].c
    regdoc = _D.alias("regdoc")
    return (
        select(*_out())
        .select_from(
            _R.join(t["cmp_reg"], reg.register_id == _R.c.id)
            .join(regdoc, regdoc.c.id == reg.document_id)
            .join(_S, _S.c.register_id == _R.c.id)
        )
        .where(
            _working(),
            _S.c.drive_fn.is_not(None),
            _S.c.drive_fn != regdoc.c.fn_number,
            # during the replacement procedure the new drive is expected to differ
            _R.c.state == RegisterState.ACTIVE.value,
        )
    )


def k22_prepayment(ctx: Context, t: Tables) -> Select[Any]:
    c = _C.c
    later = _C.alias("later")
    settled = (
        select(literal(1))
        .where(
            later.c.company_id == c.company_id,
            later.c.document_id > c.document_id,  # ids follow arrival; times may tie
            later.c.prepaid == c.total,
        )
        .exists()
    )
    due = ctx.now - ctx.prepay_days * DAY
    docs = (
        select(c.register_id, func.count().label("n"), func.min(c.document_id).label("x"))
        .where(
            col(c.doc_type).in_(_RECEIPTS),
            c.issued_at >= due - ctx.window_s,
            c.issued_at <= due,
            _bit(c.flags, int(ct.Flag.FULL_PREPAY)),
            c.operation == int(Operation.INCOME),
            ~settled,
        )
        .group_by(c.register_id)
        .subquery("prepaid")
    )
    return (
        select(*_out(docs.c.n, docs.c.x))
        .select_from(_R.join(docs, docs.c.register_id == _R.c.id))
        .where(_working())
    )


def k23_bank_unreceipted(ctx: Context, t: Tables) -> Select[Any]:
    """Payments from people (acquiring, transfers) past the term with no receipt: neither one
    the bank import made for the payment nor any settlement document of the company for the same
    sum and sign, paid electronically, dated from `bank_early_days` before the payment on (a late
    receipt or a correction receipt fixes it)."""
    p = _P.c
    c = _C.c
    i = _I.c
    imported = (
        select(literal(1))
        .where(i.company_id == p.company_id, i.key == p.key, i.receipt_id.is_not(None))
        .exists()
    )
    matched = (
        select(literal(1))
        .where(
            c.company_id == p.company_id,
            c.total == p.amount,
            c.issued_at >= p.paid_at - ctx.bank_early_days * DAY,
            col(c.doc_type).in_(_SETTLEMENTS),
            c.operation == p.operation,
            func.coalesce(c.electronic, 0) > 0,
        )
        .exists()
    )
    rows = (
        select(
            p.company_id.label("company_id"),
            func.count().label("n"),
            func.min(p.id).label("example"),
            (func.sum(p.amount) / 100.0).label("value"),
        )
        .where(
            p.needs_receipt.is_(True),
            p.paid_at <= ctx.now - ctx.bank_grace_days * DAY,
            p.paid_at >= ctx.now - ctx.bank_days * DAY,
            ~imported,
            ~matched,
        )
        .group_by(p.company_id)
        .subquery("unreceipted")
    )
    return select(
        cast(null(), Integer).label("register_id"),
        rows.c.company_id,
        rows.c.n,
        rows.c.example,
        cast(rows.c.value, Float).label("value"),
        cast(null(), String).label("severity"),
    )


def k24_return_exceeds(ctx: Context, t: Tables) -> Select[Any]:
    k = t["cmp_content"].c
    return (
        select(*_out(example=k.return_last))
        .select_from(_R.join(t["cmp_content"], k.register_id == _R.c.id))
        .where(_working(), k.return_max > func.coalesce(k.income_max, 0))
    )


def k25_totals(ctx: Context, t: Tables) -> Select[Any]:
    return _fact(t, "totals", with_reg=False)


def k26_clock(ctx: Context, t: Tables) -> Select[Any]:
    d = t["cmp_docs"].c
    clock = _S.c.reported["clock"].as_float()
    skew = func.abs(clock - _S.c.reported_at)
    ahead = func.coalesce(d.ahead_n, 0) > 0
    return (
        select(
            *_out(
                n=case((ahead, d.ahead_n), else_=1),
                example=d.ahead_example,
                value=case((ahead, d.ahead_s), else_=skew),
            )
        )
        .select_from(
            _R.outerjoin(t["cmp_docs"], d.register_id == _R.c.id).outerjoin(
                _S, _S.c.register_id == _R.c.id
            )
        )
        .where(
            _working(),
            or_(ahead, and_(clock.is_not(None), _S.c.reported_at.is_not(None), skew > 300)),
        )
    )


RULES: Final[dict[str, TableRule]] = {
    "K01": k01_shift,
    "K02": k02_unsent,
    "K03": k03_drive_expiry,
    "K04": k04_drive_memory,
    "K05": k05_drive_term,
    "K06": k06_excise,
    "K07": k07_agent,
    "K08": k08_gambling_lottery,
    "K09": k09_automat,
    "K10": k10_cash_internet,
    "K11": k11_internet_contact,
    "K12": k12_internet_tags,
    "K13": k13_vat,
    "K14": k14_tax_system,
    "K15": k15_uncoded,
    "K16": k16_mark_negative,
    "K17": k17_returns,
    "K18": k18_corrections,
    "K19": k19_silent,
    "K20": k20_place,
    "K21": k21_drive_swapped,
    "K22": k22_prepayment,
    "K23": k23_bank_unreceipted,
    "K24": k24_return_exceeds,
    "K25": k25_totals,
    "K26": k26_clock,
}
