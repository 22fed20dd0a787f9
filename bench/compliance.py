"""`oblako bench compliance`: the weekly fines-control run over 10k registers and 10M documents.

A throwaway PostgreSQL database (`create_all`), loaded with COPY: companies, registers, their
shadows, and per register one registration report then settlement documents and shift reports
spread over 60 days (receipts, returns, corrections; the newest few unconfirmed by the OFD),
with the `receiptcontent` row the content job would file for each (fleet/documents/content.py);
a small share of documents carry violations so the checks have findings to file. Bank payments
for K23 (`receivedpayment`): one per hundred documents, each the sum of an electronic receipt
that day, plus one unreceipted payment on every 50th register. The secondary indexes of both
document tables are built after the load, then `VACUUM ANALYZE`.

Measured: the weekly run (`run_checks`, every check, every register) with the time of each
check, against a same-run baseline — a bare `SELECT count(*) FROM fiscaldocument` (one full
scan) — and the content extractor's speed on a real receipt's TLV (documents per second).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from sqlalchemy import Index, Table, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers every table)
from bench.cabinet import _database
from fleet.compliance.catalogue import CHECKS
from fleet.compliance.rules import DAY, RULES, Context, drop, prepare
from fleet.compliance.runner import run_checks
from fleet.core.db import make_engine
from fleet.documents.content import extract

__all__ = ["ComplianceResult", "print_table", "run"]

TARGET_S: Final = 60.0
NOW: Final = 1_772_000_000.0  # 2026-02-25
SPAN: Final = 60 * DAY


@dataclass
class ComplianceResult:
    """The run's figures."""

    registers: int
    documents: int
    load_s: float = 0.0
    index_s: float = 0.0
    weekly_s: float = 0.0
    baseline_s: float = 0.0
    findings: int = 0
    per_check: list[tuple[str, float, int]] = field(default_factory=list)
    extract_per_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.weekly_s / self.baseline_s if self.baseline_s else 0.0

    @property
    def ok(self) -> bool:
        return self.weekly_s < TARGET_S


def _copy(conn: psycopg.Connection[Any], table: str, columns: list[str], buf: io.StringIO) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as cp:
        cp.write(buf.getvalue())


DOC_COLS: Final = [
    "id", "register_id", "company_id", "fn_number", "fd_number", "doc_type", "operation",
    "total", "tax_system", "shift_number", "fiscal_sign", "has_marking", "issued_at",
    "received_at", "ofd_status",
]  # fmt: skip
CONTENT_COLS: Final = [
    "document_id", "company_id", "register_id", "issued_at", "doc_type", "operation", "total",
    "cash", "electronic", "vat1102", "vat_codes", "items", "items_sum", "internet",
    "buyer_contact", "place", "flags", "tax_system", "reg_tax", "reg_usage", "reg_agent",
]  # fmt: skip
PAYMENT_COLS: Final = [
    "company_id", "key", "source", "paid_at", "number", "amount", "operation", "payer",
    "payer_inn", "purpose", "needs_receipt", "reason", "recorded_at",
]  # fmt: skip
N: Final = "\\N"
MSK_S: Final = 3 * 3600.0


def _payment(co: int, key: str, at: float, amount: int) -> str:
    """A person's bank transfer on the day of `at` (Moscow), as received.record files it."""
    paid = ((at + MSK_S) // DAY) * DAY - MSK_S
    return (
        f"{co}\t{key}\tbank\t{paid}\t{key[-8:]}\t{amount}\t1\tИванов И. И.\t\tЗаказ"
        f"\ttrue\t\t{NOW}\n"
    )


def _load(conninfo: str, registers: int, documents: int, progress: Callable[[str], None]) -> None:
    per = max(10, documents // registers)
    companies = max(1, registers // 100)
    with psycopg.connect(conninfo) as conn:
        # bulk load: no per-row foreign-key triggers (the generator keeps the keys right)
        conn.execute("SET session_replication_role = replica")
        buf = io.StringIO()
        for c in range(1, companies + 1):
            buf.write(f"{c}\tООО «Бенч {c}»\t{7700000000 + c}\t1\t{NOW}\n")
        _copy(conn, "company", ["id", "name", "inn", "ogrn", "created_at"], buf)
        buf = io.StringIO()
        sh = io.StringIO()
        for r in range(1, registers + 1):
            co = (r - 1) % companies + 1
            fn = f"9999{r:012d}"
            expires = NOW + 20 * DAY if r % 100 == 0 else NOW + 300 * DAY
            buf.write(f"{r}\t{r:010d}\t{fn}\t{expires}\tactive\t{co}\tfalse\tfalse\t{NOW}\n")
            warn = 2 if r % 250 == 0 else 0
            sh.write(
                f'{r}\ttrue\t{NOW}\t{NOW}\t{{"clock": {NOW}, "drive": {{"fn": "{fn}",'
                f' "warnings": {warn}}}}}\t{NOW}\t{fn}\t1\n'
            )
        _copy(
            conn, "register",
            ["id", "serial", "drive_number", "drive_expires_at", "state", "company_id",
             "shift_open", "has_errors", "created_at"],
            buf,
        )  # fmt: skip
        _copy(
            conn, "deviceshadow",
            ["register_id", "online", "presence_at", "last_seen_at", "reported", "reported_at",
             "drive_fn", "seq"],
            sh,
        )  # fmt: skip
        conn.commit()
        step = SPAN / per
        doc_id = 0
        for start in range(1, registers + 1, 200):
            progress(f"документы: {doc_id:,} из {per * registers:,}".replace(",", " "))
            docs = io.StringIO()
            cont = io.StringIO()
            pays = io.StringIO()
            for r in range(start, min(registers, start + 199) + 1):
                co = (r - 1) % companies + 1
                fn = f"9999{r:012d}"
                t0 = NOW - SPAN
                for j in range(per):
                    doc_id += 1
                    at = t0 + j * step
                    status = "pending" if j >= per - 2 else "accepted"
                    if j == 0:
                        docs.write(
                            f"{doc_id}\t{r}\t{co}\t{fn}\t{j + 1}\t1\t{N}\t{N}\t{N}\t{N}\t0\tfalse"
                            f"\t{at}\t{at + 1}\t{status}\n"
                        )
                        cont.write(
                            f"{doc_id}\t{co}\t{r}\t{at}\t1\t{N}\t{N}\t{N}\t{N}\t{N}\t0\t0\t0"
                            f"\tfalse\tfalse\tМагазин\t0\t{N}\t1\t0\t0\n"
                        )
                        continue
                    k = j % 48
                    if k == 1 or k == 47 or j == per - 1:
                        kind = 2 if k == 1 and j != per - 1 else 5
                        docs.write(
                            f"{doc_id}\t{r}\t{co}\t{fn}\t{j + 1}\t{kind}\t{N}\t{N}"
                            f"\t{N}\t{j // 48 + 1}\t0\tfalse\t{at}\t{at + 1}\t{status}\n"
                        )
                        continue
                    dtype = 31 if j % 100 == 50 else 3
                    op = 2 if j % 12 == 6 else 1
                    total = 10000 + (j * 37) % 90000
                    vat = total * 22 // 122
                    cash = total if j % 3 == 0 else 0
                    place = "Склад" if (r % 500 == 0 and j % 97 == 0) else "Магазин"
                    if j % 100 == 7 and cash == 0 and op == 1 and dtype == 3:
                        pays.write(_payment(co, f"bench:{doc_id}", at, total))
                    if j == per // 2 and r % 50 == 0:  # K23: nobody made this one a receipt
                        pays.write(_payment(co, f"bench:lost:{r}", at, 500_000 + r))
                    docs.write(
                        f"{doc_id}\t{r}\t{co}\t{fn}\t{j + 1}\t{dtype}\t{op}\t{total}\t1"
                        f"\t{j // 48 + 1}\t0\tfalse\t{at}\t{at + 1}\t{status}\n"
                    )
                    cont.write(
                        f"{doc_id}\t{co}\t{r}\t{at}\t{dtype}\t{op}\t{total}\t{cash}"
                        f"\t{total - cash}\t{vat}\t{1 << 11}\t1\t{total}\tfalse\tfalse\t{place}"
                        f"\t0\t1\t{N}\t{N}\t{N}\n"
                    )
            _copy(conn, "fiscaldocument", DOC_COLS, docs)
            _copy(conn, "receiptcontent", CONTENT_COLS, cont)
            _copy(conn, "receivedpayment", PAYMENT_COLS, pays)
            conn.commit()
        for table in ("company", "register", "fiscaldocument"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f' (SELECT max(id) FROM "{table}"))'
            )
        conn.commit()


def _drop_indexes(engine: Engine) -> list[Index]:
    dropped: list[Index] = []
    for name in ("fiscaldocument", "receiptcontent"):
        table: Table = SQLModel.metadata.tables[name]
        for idx in table.indexes:
            with engine.begin() as conn:
                conn.execute(text(f'DROP INDEX IF EXISTS "{idx.name}"'))
            dropped.append(idx)
    return dropped


def run(
    admin_url: str,
    registers: int,
    documents: int,
    progress: Callable[[str], None] = lambda _m: None,
) -> ComplianceResult:
    """Load, index, run the weekly checks; the figures."""
    result = ComplianceResult(registers=registers, documents=0)
    with _database(admin_url) as url:
        engine = make_engine(url)
        try:
            SQLModel.metadata.create_all(engine)
            indexes = _drop_indexes(engine)
            conninfo = (
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            )
            t = time.perf_counter()
            _load(conninfo, registers, documents, progress)
            result.load_s = time.perf_counter() - t
            progress("индексы…")
            t = time.perf_counter()
            for idx in indexes:
                with engine.begin() as conn:
                    idx.create(conn)
            with psycopg.connect(conninfo, autocommit=True) as pg:
                pg.execute("VACUUM ANALYZE")
            result.index_s = time.perf_counter() - t
            with engine.connect() as conn:
                result.documents = int(
                    conn.execute(text("SELECT count(*) FROM fiscaldocument")).scalar_one()
                )
            progress("проверки…")
            with Session(engine) as s:
                t = time.perf_counter()
                s.connection().execute(text("SELECT count(*) FROM fiscaldocument")).scalar_one()
                result.baseline_s = time.perf_counter() - t
                ctx = Context(now=NOW)
                t0 = time.perf_counter()
                res = run_checks(s, NOW, CHECKS, ctx=ctx)
                result.weekly_s = time.perf_counter() - t0
                result.findings = res.opened
                s.commit()
                # the breakdown: the per-register passes, then each check's query on them
                conn = s.connection()
                t = time.perf_counter()
                tables = prepare(conn, ctx)
                result.per_check.append(("проходы", time.perf_counter() - t, 0))
                for check in CHECKS:
                    t = time.perf_counter()
                    rows = conn.execute(RULES[check.code](ctx, tables)).all()
                    result.per_check.append((check.code, time.perf_counter() - t, len(rows)))
                drop(conn)
                s.commit()
        finally:
            engine.dispose()
    result.extract_per_s = _extract_rate()
    return result


def _extract_rate(n: int = 50_000) -> float:
    """Documents a second `extract` reads: a 5-item receipt with payments and VAT totals."""

    def tlv(tag: int, value: bytes) -> bytes:
        return tag.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value

    def vln(v: int) -> bytes:
        return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "little")

    item = b"".join(
        [tlv(1030, "Товар с длинным названием".encode("cp866")), tlv(1079, vln(12200)),
         tlv(1023, b"\x00\x01"), tlv(2108, b"\x00"), tlv(1043, vln(12200)), tlv(1199, b"\x0b"),
         tlv(1200, vln(2200)), tlv(1212, b"\x01"), tlv(1214, b"\x04")]
    )  # fmt: skip
    doc = b"".join(
        [tlv(1048, "ООО Ромашка".encode("cp866")), tlv(1187, "Магазин".encode("cp866")),
         tlv(1055, b"\x01"), *(tlv(1059, item) for _ in range(5)), tlv(1031, vln(61000)),
         tlv(1081, b"\x00"), tlv(1115, tlv(1119, tlv(1199, b"\x0b") + tlv(1120, vln(11000)))),
         tlv(1209, b"\x04")]
    )  # fmt: skip
    t = time.perf_counter()
    for _ in range(n):
        extract(doc)
    return n / (time.perf_counter() - t)


def print_table(r: ComplianceResult) -> None:
    """The figures, plain text."""
    print(f"регистры: {r.registers:,}  документы: {r.documents:,}".replace(",", " "))
    print(f"загрузка (COPY): {r.load_s:.1f} с; индексы и ANALYZE: {r.index_s:.1f} с")
    print(f"базовая линия count(*) по fiscaldocument: {r.baseline_s:.2f} с")
    for code, secs, opened in r.per_check:
        print(f"  {code}: {secs:6.2f} с, касс с нарушением {opened}")
    print(
        f"еженедельный прогон: {r.weekly_s:.1f} с (цель < {TARGET_S:.0f} с), "
        f"{r.ratio:.1f}× базовой линии; нарушений {r.findings}"
    )
    print(f"извлечение содержимого чека: {r.extract_per_s:,.0f} док./с".replace(",", " "))
    print("OK" if r.ok else "ЦЕЛЬ НЕ ДОСТИГНУТА")
