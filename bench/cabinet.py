"""`oblako bench cabinet`: the register list and the register card over a large fleet.

On a throwaway PostgreSQL database (created on the server ``admin_url`` names, dropped at the
end) the schema is built with ``create_all`` and loaded with set-based SQL (``INSERT ... SELECT
generate_series``; row-by-row ORM inserts are about 10x slower): companies, three stores each,
``registers`` registers (mixed states, stores, tariffs, drive expiries, errors, open shifts; one
client holds thousands of them, the rest spread over ~100 per company, 5 % free inventory) and
``documents`` fiscal documents (shifts, receipts of every operation, corrections, marked goods,
OFD answers). Then VACUUM ANALYZE, and the real app (``create_app`` through Starlette's
TestClient, a signed-in operator and the big client) is timed, ``n`` requests each:

  list API, no filter / one filter / three filters (the client and the operator's whole fleet),
  the list page, the card API and the card page (random registers of the client).

The same queries run bare (Core statements the service builds, on one connection, no HTTP, no
ORM objects) are the baseline measured in the same run; the ratio app/SQL is the app's cost.
Target (issue 5): p95 under 100 ms for every page and API call.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers every table)
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import AuthSession, Company, User
from fleet.core.clock import SystemClock
from fleet.core.config import Settings
from fleet.core.db import make_engine, normalise_url
from fleet.deps import SESSION_COOKIE
from fleet.documents.counters import counters_statement, utc_offset_s
from fleet.main import create_app
from fleet.registers import service
from fleet.registers.models import RegisterState

__all__ = ["CabinetResult", "CounterCheck", "Timing", "main", "percentile", "print_table", "run"]

TARGET_MS: Final = 100.0
#: 2026-01-01 00:00 UTC: documents are spread over the year after it
EPOCH: Final = 1_767_225_600.0
TIMEZONES: Final = ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok")


@dataclass(frozen=True)
class Timing:
    """Latency of one request kind over ``n`` requests (milliseconds)."""

    name: str
    n: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    sql_p50_ms: float | None = None  # the same queries bare, when there is a baseline
    sql_p95_ms: float | None = None

    @property
    def ratio(self) -> float | None:
        """App p50 over bare-SQL p50."""
        if not self.sql_p50_ms:
            return None
        return self.p50_ms / self.sql_p50_ms


@dataclass(frozen=True)
class CounterCheck:
    """One register's card counters as the API returned them and as counted independently."""

    register_id: int
    api: dict[str, int]
    independent: dict[str, int]

    @property
    def equal(self) -> bool:
        """Whether the API's counters equal the independent count."""
        return self.api == self.independent


@dataclass
class CabinetResult:
    """The whole run."""

    registers: int
    documents: int
    client_registers: int
    load_s: float
    timings: list[Timing] = field(default_factory=list)
    checks: list[CounterCheck] = field(default_factory=list)
    target_ms: float = TARGET_MS

    @property
    def worst_p95_ms(self) -> float:
        """The slowest p95 of all request kinds."""
        return max(t.p95_ms for t in self.timings)

    @property
    def ok(self) -> bool:
        """Every p95 under the target and every counter check equal."""
        return self.worst_p95_ms < self.target_ms and all(c.equal for c in self.checks)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values` (nearest rank); the benches share it."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _measure(n: int, call: Callable[[int], object]) -> list[float]:
    call(0)  # warm: first plans, first pages in the cache
    spent = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def _timing(name: str, app_ms: list[float], sql_ms: list[float] | None = None) -> Timing:
    return Timing(
        name=name,
        n=len(app_ms),
        p50_ms=statistics.median(app_ms),
        p95_ms=percentile(app_ms, 0.95),
        max_ms=max(app_ms),
        sql_p50_ms=None if sql_ms is None else statistics.median(sql_ms),
        sql_p95_ms=None if sql_ms is None else percentile(sql_ms, 0.95),
    )


# ---------------------------------------------------------------- the throwaway database


@contextmanager
def _database(admin_url: str) -> Iterator[str]:
    admin = make_url(normalise_url(admin_url))
    if admin.get_backend_name() != "postgresql":
        raise ValueError("the cabinet benchmark needs PostgreSQL: give a postgresql:// URL")
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"oblako_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- loading


def _signed_in_user(session: Session, company_id: int, email: str, *, operator: bool) -> str:
    """A confirmed user with a live session; returns the session token (cookie or bearer)."""
    user = User(
        email=email,
        password_hash="-",  # never signs in by password: the session is made directly
        company_id=company_id,
        email_confirmed=True,
        created_at=EPOCH,
        is_operator=operator,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            user_id=user.id,
            created_at=time.time(),
            expires_at=time.time() + 86400,
        )
    )
    return token


def _copy_companies(conn: Connection, template_id: int, count: int) -> None:
    """``count`` more companies like the template (every other column copied: the schema may
    grow columns this benchmark does not know)."""
    table = SQLModel.metadata.tables["company"]
    names = [c.name for c in table.columns if c.name != "id"]
    values = []
    for name in names:
        if name == "name":
            values.append("'ООО «Бенч ' || g || '»'")
        elif name == "inn":
            values.append("lpad((1000000000 + g)::text, 10, '0')")
        else:
            values.append(f't."{name}"')
    cols = ", ".join(f'"{n}"' for n in names)
    conn.execute(
        text(
            f"INSERT INTO company ({cols}) SELECT {', '.join(values)} "
            f"FROM company t, generate_series(1, :n) g WHERE t.id = :tid ORDER BY g"
        ),
        {"n": count, "tid": template_id},
    )


def _load(
    engine: Engine, registers: int, documents: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Fill the database; returns the tokens and the ids the measurements use."""
    with Session(engine) as session:
        oblako = Company(name="ООО «Облако»", inn="7700000001", ogrn="1", created_at=EPOCH)
        client = Company(name="ООО «Сеть магазинов»", inn="7700000002", ogrn="1", created_at=EPOCH)
        session.add_all([oblako, client])
        session.flush()
        assert oblako.id is not None and client.id is not None
        operator_token = _signed_in_user(session, oblako.id, "operator@bench.ru", operator=True)
        client_token = _signed_in_user(session, client.id, "owner@bench.ru", operator=False)
        session.commit()
        client_id = client.id
    companies = max(3, registers // 100)
    big = max(10, min(5000, registers // 20))  # "a client with thousands of registers"
    assigned = max(big + 1, registers * 95 // 100)
    with engine.begin() as conn:
        _copy_companies(conn, client_id, companies - 2)
        conn.execute(
            text(
                "INSERT INTO store (company_id, name, kind, postal_code, region_code, city,"
                " street, house, timezone, created_at)"
                " SELECT c.id, 'Магазин ' || s, 'shop', '101000', '77', 'Москва',"
                " 'ул. Тверская', s::text, (ARRAY[:tz1, :tz2, :tz3])[s], :t"
                " FROM company c, generate_series(1, 3) s WHERE c.id <> :op ORDER BY c.id, s"
            ),
            {"tz1": TIMEZONES[0], "tz2": TIMEZONES[1], "tz3": TIMEZONES[2], "t": EPOCH, "op": 1},
        )
        states = [s.value for s in RegisterState if s is not RegisterState.FREE]
        # registers 1..big: the big client; then the other companies round robin; then free
        conn.execute(
            text(
                """
                INSERT INTO register (serial, model, rack_slot, drive_number, drive_expires_at,
                    firmware_version, state, company_id, store_id, tariff_code, rnm, name,
                    shift_open, has_errors, last_error, last_seen_at, created_at, booked_at,
                    paid_at)
                SELECT lpad(g::text, 16, '0'), 'Облако-Ф', 'R' || (g / 40) || '-S' || (g % 40),
                    CASE WHEN g % 10 <> 1 THEN '99990789' || lpad(g::text, 8, '0') END,
                    CASE WHEN g % 10 <> 1 THEN :epoch + ((g * 7919) % 900) * 86400.0 END,
                    '1.' || (g % 4) || '.0',
                    CASE WHEN g > :assigned THEN 'free'
                         WHEN g % 10 < 7 THEN 'active'
                         ELSE (CAST(:states AS text[]))[1 + g % :nstates] END,
                    CASE WHEN g <= :big THEN :client
                         WHEN g <= :assigned THEN 3 + (g % (:companies - 2)) END,
                    NULL, (ARRAY['basic', 'pro', NULL])[1 + g % 3],
                    CASE WHEN g % 10 < 7 THEN lpad((g * 31)::text, 16, '0') END,
                    CASE WHEN g % 4 = 0 THEN 'Касса ' || g END,
                    g % 3 = 0, g % 37 = 0,
                    CASE WHEN g % 37 = 0 THEN 'Нет связи с ОФД более 24 часов' END,
                    :epoch + 300 * 86400.0 + (g % 86400), :epoch, :epoch, :epoch
                FROM generate_series(1, :n) g
                """
            ),
            {
                "epoch": EPOCH,
                "assigned": assigned,
                "states": states,
                "nstates": len(states),
                "big": big,
                "client": client_id,
                "companies": companies,
                "n": registers,
            },
        )
        # each register in one of its company's three stores
        conn.execute(
            text(
                "UPDATE register r SET store_id = s.id FROM store s"
                " WHERE s.company_id = r.company_id AND s.name = 'Магазин ' || (1 + r.id % 3)"
            )
        )
    progress(f"{registers} касс загружено")
    # documents: document g goes to register 1 + (g-1) % assigned as its number (g-1)/assigned+1
    chunk = 1_000_000
    for start in range(0, documents, chunk):
        stop = min(documents, start + chunk)
        with engine.begin() as conn:
            conn.execute(
                text(
                    """
                    INSERT INTO fiscaldocument (register_id, company_id, fn_number, fd_number,
                        doc_type, operation, total, tax_system, shift_number, fiscal_sign,
                        has_marking, issued_at, received_at, ofd_status, ofd_code)
                    SELECT r.id, r.company_id, '99990789' || lpad(r.id::text, 8, '0'), d.seq,
                        d.kind,
                        CASE WHEN d.kind IN (3, 31) THEN
                            CASE WHEN d.seq % 211 = 0 THEN 4 WHEN d.seq % 97 = 0 THEN 3
                                 WHEN d.seq % 20 = 0 THEN 2 ELSE 1 END END,
                        CASE WHEN d.kind IN (3, 31) THEN 10000 + (d.g % 500000) END,
                        CASE WHEN d.kind IN (3, 31) THEN
                            (ARRAY[2, 2, 1, 4, 32])[1 + (r.id + d.seq / 400) % 5] END,
                        1 + d.seq / 50, (1000000000 + d.g)::text,
                        d.kind = 3 AND d.g % 7 = 0,
                        :epoch + d.seq * 4 * 3600.0 + (r.id % 3600),
                        :epoch + d.seq * 4 * 3600.0 + (r.id % 3600) + 5,
                        CASE WHEN d.g % 1000 = 0 THEN 'rejected'
                             WHEN d.g > :pending_after THEN 'pending' ELSE 'accepted' END,
                        CASE WHEN d.g % 1000 = 0 THEN 14 END
                    FROM (
                        SELECT g, 1 + (g - 1) % :assigned AS rid, (g - 1) / :assigned + 1 AS seq,
                            CASE WHEN ((g - 1) / :assigned) % 50 = 0 THEN 2
                                 WHEN ((g - 1) / :assigned) % 50 = 49 THEN 5
                                 WHEN ((g - 1) / :assigned) % 500 = 250 THEN 31
                                 ELSE 3 END AS kind
                        FROM generate_series(:lo, :hi) g
                    ) d JOIN register r ON r.id = d.rid
                    """
                ),
                {
                    "epoch": EPOCH,
                    "assigned": assigned,
                    "lo": start + 1,
                    "hi": stop,
                    "pending_after": documents - documents // 100,
                },
            )
        progress(f"документы: {stop} из {documents}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {
        "operator_token": operator_token,
        "client_token": client_token,
        "client_id": client_id,
        "big": big,
    }


# ---------------------------------------------------------------- the independent count


def independent_counts(conn: Connection, register_id: int) -> dict[str, int]:
    """The card's integer counters counted with plain SQL written apart from the service."""
    row = conn.execute(
        text(
            """
            SELECT count(*) AS documents_total,
                count(*) FILTER (WHERE doc_type = 3 AND operation = 1) AS income,
                count(*) FILTER (WHERE doc_type = 3 AND operation = 2) AS income_return,
                count(*) FILTER (WHERE doc_type = 3 AND operation = 3) AS expense,
                count(*) FILTER (WHERE doc_type = 3 AND operation = 4) AS expense_return,
                count(*) FILTER (WHERE doc_type IN (31, 41)) AS correction_receipts,
                count(*) FILTER (WHERE ofd_status = 'accepted') AS ofd_accepted,
                count(*) FILTER (WHERE ofd_status = 'rejected') AS ofd_rejected,
                count(*) FILTER (WHERE ofd_status = 'pending') AS ofd_pending,
                count(*) FILTER (WHERE has_marking AND doc_type IN (3, 4, 31, 41))
                    AS marked_receipts,
                count(*) FILTER (WHERE doc_type = 2) AS shifts,
                count(DISTINCT (to_timestamp(d.issued_at)
                    AT TIME ZONE coalesce(s.timezone, 'UTC'))::date) AS working_days
            FROM fiscaldocument d JOIN register r ON r.id = d.register_id
            LEFT JOIN store s ON s.id = r.store_id
            WHERE d.register_id = :rid
            """
        ),
        {"rid": register_id},
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


def _api_counts(card: dict[str, Any]) -> dict[str, int]:
    c = card["counters"]
    return {
        "documents_total": c["documents_total"],
        **c["receipts"],
        "correction_receipts": c["correction_receipts"],
        "ofd_accepted": c["ofd_accepted"],
        "ofd_rejected": c["ofd_rejected"],
        "ofd_pending": c["ofd_pending"],
        "marked_receipts": c["marked_receipts"],
        "shifts": c["shifts"],
        "working_days": c["working_days"],
    }


# ---------------------------------------------------------------- measuring


def _bare_list(
    conn: Connection, company_id: int | None, flt: service.RegisterFilter
) -> Callable[[int], object]:
    count_stmt, page_stmt = service.list_statements(company_id=company_id, folder_ids=None, flt=flt)

    def call(_i: int) -> object:
        conn.execute(count_stmt).scalar_one()
        return conn.execute(page_stmt).all()

    return call


def _bare_card(conn: Connection, ids: list[int]) -> Callable[[int], object]:
    def call(i: int) -> object:
        rid = ids[i % len(ids)]
        reg = conn.execute(text("SELECT * FROM register WHERE id = :id"), {"id": rid}).one()
        tz = None
        if reg.store_id is not None:
            tz = (
                conn.execute(text("SELECT * FROM store WHERE id = :id"), {"id": reg.store_id})
                .one()
                .timezone
            )
        offset = utc_offset_s(tz, time.time())
        return conn.execute(counters_statement(rid, dialect="postgresql", offset_s=offset)).one()

    return call


def _get(client: TestClient, url: str, **kwargs: Any) -> Callable[[int], object]:
    def call(_i: int) -> object:
        answer = client.get(url, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:200]}")
        return answer

    return call


def _measure_all(
    engine: Engine, loaded: dict[str, Any], n: int, seed: int
) -> tuple[list[Timing], list[CounterCheck]]:
    settings = Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="bench-secret-key-" + "x" * 16,
        migrate_on_start=False,
        run_jobs=False,
    )
    app = create_app(settings, clock=SystemClock(), mailer=MemoryMailSender(), engine=engine)
    rng = random.Random(seed)
    client_id = loaded["client_id"]
    card_ids = [rng.randint(1, loaded["big"]) for _ in range(max(n, 1))]
    client_auth = {"Authorization": f"Bearer {loaded['client_token']}"}
    operator_auth = {"Authorization": f"Bearer {loaded['operator_token']}"}
    with Session(engine) as session:
        store_id = session.execute(
            text("SELECT min(id) FROM store WHERE company_id = :c"), {"c": client_id}
        ).scalar_one()
    one = {"state": "active"}
    three = {"state": "active", "store_id": store_id, "shift_open": "true"}
    fleet_three = {"state": "active", "has_errors": "false", "tariff_code": "pro"}
    flt = service.RegisterFilter
    one_f = flt(states=(RegisterState.ACTIVE,))
    three_f = flt(states=(RegisterState.ACTIVE,), store_ids=(store_id,), shift_open=True)
    fleet_f = flt(states=(RegisterState.ACTIVE,), has_errors=False, tariff_code="pro")
    timings: list[Timing] = []
    checks: list[CounterCheck] = []
    with TestClient(app) as http, engine.connect() as conn:

        def both(
            name: str, app_call: Callable[[int], object], sql: Callable[[int], object] | None
        ) -> None:
            app_ms = _measure(n, app_call)
            sql_ms = None if sql is None else _measure(n, sql)
            timings.append(_timing(name, app_ms, sql_ms))

        both(
            "список API клиента, без фильтра",
            _get(http, "/api/registers", headers=client_auth),
            _bare_list(conn, client_id, flt()),
        )
        both(
            "список API клиента, 1 фильтр",
            _get(http, "/api/registers", params=one, headers=client_auth),
            _bare_list(conn, client_id, one_f),
        )
        both(
            "список API клиента, 3 фильтра",
            _get(http, "/api/registers", params=three, headers=client_auth),
            _bare_list(conn, client_id, three_f),
        )
        both(
            "парк API оператора, без фильтра",
            _get(http, "/api/operator/registers", headers=operator_auth),
            _bare_list(conn, None, flt()),
        )
        both(
            "парк API оператора, 1 фильтр",
            _get(http, "/api/operator/registers", params=one, headers=operator_auth),
            _bare_list(conn, None, one_f),
        )
        both(
            "парк API оператора, 3 фильтра",
            _get(http, "/api/operator/registers", params=fleet_three, headers=operator_auth),
            _bare_list(conn, None, fleet_f),
        )

        def card_api(i: int) -> object:
            return _get(http, f"/api/registers/{card_ids[i % len(card_ids)]}", headers=client_auth)(
                i
            )

        both("карточка API", card_api, _bare_card(conn, card_ids))
        http.cookies.set(SESSION_COOKIE, loaded["client_token"])
        both(
            "страница списка",
            _get(http, "/registers", params=one),
            _bare_list(conn, client_id, one_f),
        )
        both(
            "страница списка, HTMX-таблица",
            _get(http, "/registers", params=three, headers={"HX-Request": "true"}),
            _bare_list(conn, client_id, three_f),
        )

        def card_page(i: int) -> object:
            return _get(http, f"/registers/{card_ids[i % len(card_ids)]}")(i)

        both("страница карточки", card_page, _bare_card(conn, card_ids))
        http.cookies.set(SESSION_COOKIE, loaded["operator_token"])
        both(
            "страница парка (оператор)",
            _get(http, "/operator/registers", params=one),
            _bare_list(conn, None, one_f),
        )
        for rid in sorted(set(card_ids[:3])):
            card = http.get(f"/api/registers/{rid}", headers=client_auth).json()
            checks.append(CounterCheck(rid, _api_counts(card), independent_counts(conn, rid)))
    return timings, checks


def run(
    admin_url: str,
    registers: int = 100_000,
    documents: int = 10_000_000,
    *,
    n: int = 200,
    seed: int = 5,
    progress: Callable[[str], None] | None = None,
) -> CabinetResult:
    """Build, load, measure and drop a throwaway database on the server ``admin_url`` names."""
    say = progress or (lambda _m: None)
    with _database(admin_url) as url:
        engine = make_engine(url)
        try:
            SQLModel.metadata.create_all(engine)
            started = time.perf_counter()
            loaded = _load(engine, registers, documents, say)
            load_s = time.perf_counter() - started
            say(f"загрузка: {load_s:.1f} с; измеряю")
            timings, checks = _measure_all(engine, loaded, n, seed)
        finally:
            engine.dispose()
    return CabinetResult(
        registers=registers,
        documents=documents,
        client_registers=loaded["big"],
        load_s=load_s,
        timings=timings,
        checks=checks,
    )


def print_table(result: CabinetResult) -> None:
    """The figures as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=(
            f"Кабинет: {result.registers} касс, {result.documents} документов"
            f" (у клиента {result.client_registers} касс), загрузка {result.load_s:.0f} с"
        )
    )
    for column in ("запрос", "n", "p50, мс", "p95, мс", "max, мс", "SQL p50", "SQL p95", "app/SQL"):
        table.add_column(column, justify="left" if column == "запрос" else "right")
    for t in result.timings:
        table.add_row(
            t.name,
            str(t.n),
            f"{t.p50_ms:.1f}",
            f"{t.p95_ms:.1f}",
            f"{t.max_ms:.1f}",
            "—" if t.sql_p50_ms is None else f"{t.sql_p50_ms:.2f}",
            "—" if t.sql_p95_ms is None else f"{t.sql_p95_ms:.2f}",
            "—" if t.ratio is None else f"{t.ratio:.1f}×",
        )
    console = Console(width=None if sys.stdout.isatty() else 120)  # a log keeps whole rows
    console.print(table)
    verdict = "да" if result.worst_p95_ms < result.target_ms else "НЕТ"
    worst, target = result.worst_p95_ms, result.target_ms
    console.print(f"Худший p95: {worst:.1f} мс; цель p95 < {target:.0f} мс: {verdict}.")
    for c in result.checks:
        state = "совпадают" if c.equal else f"РАСХОДЯТСЯ: API {c.api} ≠ {c.independent}"
        console.print(f"Счётчики кассы № {c.register_id} и независимый подсчёт: {state}")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.cabinet --registers 2000 --documents 100000``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--registers", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=10_000_000)
    parser.add_argument("-n", type=int, default=200, help="requests per kind")
    args = parser.parse_args(argv)
    result = run(
        args.database_url,
        args.registers,
        args.documents,
        n=args.n,
        progress=lambda m: print(m, flush=True),
    )
    print_table(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
