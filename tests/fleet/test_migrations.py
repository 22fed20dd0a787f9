"""Alembic: `upgrade head` on an empty database gives exactly the models' schema; app start-up."""

from __future__ import annotations

import time

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.core.migrate import upgrade
from fleet.jobs.models import Job
from fleet.main import create_app


def test_upgrade_head_matches_models_without_pending_diff(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            assert tables == set(SQLModel.metadata.tables)
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
        upgrade(engine)  # idempotent at head
    finally:
        engine.dispose()


def test_app_start_migrates_and_runs_jobs(empty_db_url: str) -> None:
    settings = Settings(
        environment="test",
        database_url=empty_db_url,
        run_jobs=True,
        migrate_on_start=True,
        job_poll_s=0.02,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    engine = make_engine(empty_db_url)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            assert client.get("/").status_code == 200
            deadline = time.monotonic() + 10
            while True:
                with Session(engine) as session:
                    job = session.get(Job, "booking-lapse")
                if job is not None and job.runs >= 1:
                    break
                assert time.monotonic() < deadline, "the job loop did not run"
                time.sleep(0.02)
        assert job.last_status == "ok"
    finally:
        engine.dispose()


def test_the_migration_seeds_the_default_tariffs(empty_db_url: str) -> None:
    from sqlmodel import Session, select

    from fleet.billing.models import Tariff
    from fleet.billing.tariffs import DEFAULT_TARIFFS
    from fleet.core.db import make_engine
    from fleet.core.migrate import upgrade

    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            rows = {t.code: t for t in session.exec(select(Tariff)).all()}
        assert set(rows) == {t.code for t in DEFAULT_TARIFFS}
        for t in DEFAULT_TARIFFS:
            row = rows[t.code]
            assert (row.name, row.price_kop, row.receipts_quota, row.months, row.active) == (
                t.name, t.price_kop, t.receipts_quota, t.months, t.active,
            )  # fmt: skip
    finally:
        engine.dispose()
