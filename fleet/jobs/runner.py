"""One runner for every scheduled job, safe with N workers on SQLite and PostgreSQL.

The lock is a row per job in ``job`` taken by compare-and-set::

    UPDATE job SET owner=:me, lease_until=:now+lease, last_started_at=:now
     WHERE name=:name AND next_run_at <= :now
       AND (lease_until IS NULL OR lease_until < :now)

Exactly one concurrent UPDATE can match: SQLite serialises writers on its database lock;
PostgreSQL row-locks the row and re-checks the WHERE clause for the waiting UPDATE after the first
commits (READ COMMITTED), so it matches nothing. The winner runs the job in one transaction that
starts by re-writing its own lock row (guarded by ``owner=:me``: it fails if the lease was lost)
and ends by releasing the lease and setting the next run, so the job's writes and the release
commit together. A worker that dies mid-run rolls back its writes and leaves a lease that expires
after ``lease_s``; then another worker runs the job, so jobs must be idempotent (each is a
set-based "bring up to date" step). All times come from the injected clock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col

from fleet.core.clock import Clock
from fleet.jobs.models import Job

__all__ = ["JobOutcome", "JobRunner", "JobSpec"]

log = logging.getLogger(__name__)

JobFn = Callable[[Session, Clock], int]


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: a name, a period and a function ``(session, clock) -> items changed``."""

    name: str
    interval_s: float
    run: JobFn


@dataclass(frozen=True)
class JobOutcome:
    """What one run of a job did (for this runner)."""

    name: str
    ok: bool
    changed: int
    error: str | None = None


class JobRunner:
    """Runs due jobs, each under its database lease; many runners may share one database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        jobs: Sequence[JobSpec],
        *,
        owner: str | None = None,
        lease_s: float = 300.0,
        retry_s: float = 60.0,
    ) -> None:
        """``owner`` names this worker in the lock row (default: a random id)."""
        self.engine = engine
        self.clock = clock
        self.jobs = list(jobs)
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self.lease_s = lease_s
        self.retry_s = retry_s

    def _ensure_row(self, spec: JobSpec) -> None:
        # INSERT ... ON CONFLICT DO NOTHING as the transaction's first statement: no read
        # before the write, so SQLite waits on its busy timeout instead of failing on a
        # stale snapshot, and a concurrent insert by another worker is harmless.
        values = {"name": spec.name, "next_run_at": self.clock.wall(), "runs": 0}
        if self.engine.dialect.name == "postgresql":
            stmt: Insert = pg_insert(Job).values(**values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(Job).values(**values).on_conflict_do_nothing()
        with self.engine.connect() as conn:
            conn.execute(stmt)
            conn.commit()

    def _acquire(self, spec: JobSpec) -> bool:
        now = self.clock.wall()
        stmt = (
            update(Job)
            .where(
                col(Job.name) == spec.name,
                col(Job.next_run_at) <= now,
                or_(col(Job.lease_until).is_(None), col(Job.lease_until) < now),
            )
            .values(owner=self.owner, lease_until=now + self.lease_s, last_started_at=now)
        )
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            conn.commit()
        return result.rowcount == 1

    def _release(self, session: Session, spec: JobSpec, *, ok: bool, error: str | None) -> bool:
        now = self.clock.wall()
        stmt = (
            update(Job)
            .where(col(Job.name) == spec.name, col(Job.owner) == self.owner)
            .values(
                owner=None,
                lease_until=None,
                next_run_at=now + (spec.interval_s if ok else self.retry_s),
                last_finished_at=now,
                last_status="ok" if ok else "failed",
                last_error=error,
                runs=Job.runs + 1,
            )
        )
        return session.connection().execute(stmt).rowcount == 1

    def _confirm(self, session: Session, spec: JobSpec) -> bool:
        # The job transaction's first statement is a write on our own lock row: SQLite takes its
        # write lock before the job reads anything (no stale-snapshot failure on the job's
        # writes), and PostgreSQL row-locks the job row for the run (nobody can steal the lease
        # mid-run; a competing acquire waits and then sees the released row).
        stmt = (
            update(Job)
            .where(col(Job.name) == spec.name, col(Job.owner) == self.owner)
            .values(last_started_at=self.clock.wall())
        )
        return session.connection().execute(stmt).rowcount == 1

    def run_one(self, spec: JobSpec) -> JobOutcome | None:
        """Run ``spec`` if it is due and this runner wins its lock; None if it did not run."""
        self._ensure_row(spec)
        if not self._acquire(spec):
            return None
        with Session(self.engine) as session:
            if not self._confirm(session, spec):
                session.rollback()
                log.warning("job %s: lease lost before the run", spec.name)
                return JobOutcome(spec.name, ok=False, changed=0, error="lease lost")
            try:
                changed = spec.run(session, self.clock)
            except Exception as exc:  # a job's failure must not stop the others
                session.rollback()
                log.exception("job %s failed", spec.name)
                error = f"{type(exc).__name__}: {exc}"[:500]
                self._release(session, spec, ok=False, error=error)
                session.commit()
                return JobOutcome(spec.name, ok=False, changed=0, error=error)
            self._release(session, spec, ok=True, error=None)
            session.commit()
        return JobOutcome(spec.name, ok=True, changed=changed)

    def run_due(self) -> list[JobOutcome]:
        """Run every due job this runner can lock; return what ran here.

        One read of the schedule first: a pass where nothing is due (most of them, at a poll
        of a few seconds) costs one query, not an insert and a compare-and-set per job. The
        lock is still the compare-and-set (`run_one`): the read only skips jobs whose next run
        has not come or whose lease is held."""
        now = self.clock.wall()
        names = [spec.name for spec in self.jobs]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(Job.name), col(Job.next_run_at), col(Job.lease_until)).where(
                    col(Job.name).in_(names)
                )
            ).all()
        schedule = {name: (next_at, lease) for name, next_at, lease in rows}
        outcomes = []
        for spec in self.jobs:
            row = schedule.get(spec.name)
            if row is not None and (row[0] > now or (row[1] is not None and row[1] >= now)):
                continue  # not due, or another runner holds it
            outcome = self.run_one(spec)  # a new job's row is made there
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run_forever(self, stop: threading.Event, poll_s: float) -> None:
        """Poll until ``stop`` is set (the poll wait is real time so stopping is prompt)."""
        while not stop.is_set():
            try:
                self.run_due()
            except Exception:  # the database may be briefly away; keep polling
                log.exception("job runner pass failed")
            stop.wait(poll_s)
