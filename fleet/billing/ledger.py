"""The double-entry ledger: post balanced transactions once, keep balances, never overdraw.

`post` checks before it writes: the entries sum to zero (`UnbalancedTransactionError`), the
idempotency key is new (a repeat returns the first transaction and writes nothing), and no client
account would go below zero (`InsufficientFundsError`). The accounts are read under a row lock
(``SELECT ... FOR UPDATE``, in id order so two postings cannot deadlock; SQLite serialises writers
on its database lock instead), and the cached balances move by a guarded
``UPDATE ... SET balance = balance + :delta`` in the same transaction as the entries. Nothing
here commits: the caller's transaction holds the posting together with what it pays for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col, select

from fleet.billing.exceptions import InsufficientFundsError, UnbalancedTransactionError
from fleet.billing.models import (
    ACCOUNT_REVENUE,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from fleet.billing.money import rubles
from fleet.core.clock import Clock

__all__ = [
    "HistoryLine",
    "Posting",
    "account_id",
    "balance",
    "charge",
    "client_account_code",
    "company_account_id",
    "credit",
    "entries_sum",
    "history",
    "post",
    "shortfall_message",
]


@dataclass(frozen=True)
class Posting:
    """The outcome of `post`: the transaction and whether this call wrote it."""

    transaction: LedgerTransaction
    created: bool


def client_account_code(company_id: int) -> str:
    """The code of a company's balance account."""
    return f"client:{company_id}"


def _upsert_account(session: Session, clock: Clock, code: str, company_id: int | None) -> None:
    # INSERT ... ON CONFLICT DO NOTHING: two first payments of one company never collide.
    values = {"code": code, "company_id": company_id, "balance": 0, "created_at": clock.wall()}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Insert = pg_insert(LedgerAccount).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(LedgerAccount).values(**values).on_conflict_do_nothing()
    session.execute(stmt)


def account_id(session: Session, clock: Clock, code: str) -> int:
    """The id of the system account ``code`` (created on first use)."""
    found = session.exec(select(LedgerAccount.id).where(LedgerAccount.code == code)).first()
    if found is None:
        _upsert_account(session, clock, code, None)
        found = session.exec(select(LedgerAccount.id).where(LedgerAccount.code == code)).one()
    assert found is not None
    return found


def company_account_id(session: Session, clock: Clock, company_id: int) -> int:
    """The id of the company's balance account (created on first use)."""
    code = client_account_code(company_id)
    found = session.exec(select(LedgerAccount.id).where(LedgerAccount.code == code)).first()
    if found is None:
        _upsert_account(session, clock, code, company_id)
        found = session.exec(select(LedgerAccount.id).where(LedgerAccount.code == code)).one()
    assert found is not None
    return found


def shortfall_message(shortfall: int) -> str:
    """The refusal a client reads when the balance is short."""
    return f"Недостаточно средств: пополните баланс на {rubles(shortfall)}"


def post(
    session: Session,
    clock: Clock,
    *,
    idempotency_key: str,
    kind: str,
    memo: str,
    entries: Sequence[tuple[int, int]],
    company_id: int | None = None,
    user_id: int | None = None,
) -> Posting:
    """Post ``entries`` (account id, amount) as one transaction, once per ``idempotency_key``."""
    totals: dict[int, int] = defaultdict(int)
    for account_ref, amount in entries:
        totals[account_ref] += amount
    if len(entries) < 2 or sum(totals.values()) != 0 or any(a == 0 for _, a in entries):
        raise UnbalancedTransactionError(
            "Проводка не сбалансирована: сумма записей должна быть равна нулю",
            fields={"entries": f"сумма записей: {sum(a for _, a in entries)} коп."},
        )
    if not idempotency_key:
        raise UnbalancedTransactionError(
            "У проводки нет ключа идемпотентности", fields={"idempotency_key": "Заполните ключ"}
        )
    # Lock first: a concurrent posting with the same key waits here and then sees it below.
    accounts = session.exec(
        select(LedgerAccount)
        .where(col(LedgerAccount.id).in_(sorted(totals)))
        .order_by(col(LedgerAccount.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if len(accounts) != len(totals):
        raise UnbalancedTransactionError(
            "Проводка ссылается на несуществующий счёт", fields={"entries": "нет такого счёта"}
        )
    existing = session.exec(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == idempotency_key)
    ).first()
    if existing is not None:
        return Posting(existing, created=False)
    for acc in accounts:
        assert acc.id is not None
        if acc.company_id is not None and acc.balance + totals[acc.id] < 0:
            short = -(acc.balance + totals[acc.id])
            raise InsufficientFundsError(shortfall_message(short), shortfall=short)
    now = clock.wall()
    tx = LedgerTransaction(
        idempotency_key=idempotency_key,
        kind=kind,
        memo=memo[:300],
        company_id=company_id,
        user_id=user_id,
        created_at=now,
    )
    session.add(tx)
    session.flush()
    assert tx.id is not None
    for acc_id, amount in entries:
        session.add(
            LedgerEntry(transaction_id=tx.id, account_id=acc_id, amount=amount, created_at=now)
        )
    for acc in accounts:
        assert acc.id is not None
        delta = totals[acc.id]
        if delta == 0:
            continue
        stmt = update(LedgerAccount).where(col(LedgerAccount.id) == acc.id)
        if acc.company_id is not None:  # the guard holds even if a lock was somehow missed
            stmt = stmt.where(col(LedgerAccount.balance) + delta >= 0)
        changed = (
            session.connection()
            .execute(stmt.values(balance=LedgerAccount.balance + delta))
            .rowcount
        )
        if changed != 1:
            raise InsufficientFundsError(shortfall_message(-delta), shortfall=-delta)
        session.expire(acc)
    session.flush()
    return Posting(tx, created=True)


def balance(session: Session, company_id: int) -> int:
    """The company's balance in kopecks (the cached column; 0 before any payment)."""
    found = session.exec(
        select(LedgerAccount.balance).where(LedgerAccount.code == client_account_code(company_id))
    ).first()
    return int(found or 0)


def entries_sum(session: Session, account: int) -> int:
    """The sum of an account's entries (what the cached balance must equal)."""
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account
        )
    ).one()
    return int(total)


@dataclass(frozen=True)
class HistoryLine:
    """One movement of a company's balance."""

    transaction_id: int
    at: float
    kind: str
    memo: str
    amount: int


def history(session: Session, company_id: int, *, limit: int = 100) -> list[HistoryLine]:
    """The company's balance movements, newest first."""
    rows = session.exec(
        select(LedgerTransaction, LedgerEntry.amount)
        .join(LedgerEntry, col(LedgerEntry.transaction_id) == col(LedgerTransaction.id))
        .join(LedgerAccount, col(LedgerAccount.id) == col(LedgerEntry.account_id))
        .where(LedgerAccount.code == client_account_code(company_id))
        .order_by(col(LedgerTransaction.id).desc())
        .limit(limit)
    ).all()
    lines = []
    for tx, amount in rows:
        assert tx.id is not None
        lines.append(HistoryLine(tx.id, tx.created_at, tx.kind, tx.memo, amount))
    return lines


def charge(
    session: Session,
    clock: Clock,
    company_id: int,
    amount: int,
    kind: str,
    memo: str,
    idempotency_key: str,
    *,
    user_id: int | None = None,
) -> Posting:
    """Debit a paid service from the company's balance (client → revenue). Does not commit.

    `InsufficientFundsError` (409, "Недостаточно средств: пополните баланс на N ₽") if the
    balance is short; nothing is written then.
    """
    if amount <= 0:
        raise UnbalancedTransactionError(
            "Сумма списания должна быть больше нуля", fields={"amount": "Больше нуля"}
        )
    client = company_account_id(session, clock, company_id)
    revenue = account_id(session, clock, ACCOUNT_REVENUE)
    return post(
        session,
        clock,
        idempotency_key=idempotency_key,
        kind=kind,
        memo=memo,
        entries=[(client, -amount), (revenue, amount)],
        company_id=company_id,
        user_id=user_id,
    )


def credit(
    session: Session,
    clock: Clock,
    *,
    company_id: int,
    amount: int,
    source: str,
    kind: str,
    memo: str,
    idempotency_key: str,
    user_id: int | None = None,
) -> Posting:
    """Money arrived for the company from system account ``source`` (source → client)."""
    client = company_account_id(session, clock, company_id)
    src = account_id(session, clock, source)
    return post(
        session,
        clock,
        idempotency_key=idempotency_key,
        kind=kind,
        memo=memo,
        entries=[(src, -amount), (client, amount)],
        company_id=company_id,
        user_id=user_id,
    )
