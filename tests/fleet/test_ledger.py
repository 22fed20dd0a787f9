"""The double-entry ledger: balanced postings only, once per key, never below zero; a hypothesis
state machine over credits, debits and acquirer callbacks checks the invariants after each step."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

import fleet.models  # noqa: F401  (registers the tables)
from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.billing import acquiring, ledger
from fleet.billing.exceptions import (
    BadSignatureError,
    InsufficientFundsError,
    PaymentStateError,
    UnbalancedTransactionError,
)
from fleet.billing.models import (
    ACCOUNT_ACQUIRING,
    ACCOUNT_BANK,
    CardPayment,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine

SECRET = "ledger-test-secret"


def _company(session: Session, n: int) -> int:
    company = Company(name=f"ООО «Л{n}»", inn=f"77000000{n:02d}", ogrn="1", created_at=0.0)
    session.add(company)
    session.commit()
    assert company.id is not None
    return company.id


def test_unbalanced_posting_is_refused_and_writes_nothing(engine: Engine) -> None:
    clock = SettableClock()
    with Session(engine) as session:
        cid = _company(session, 1)
        client = ledger.company_account_id(session, clock, cid)
        bank = ledger.account_id(session, clock, ACCOUNT_BANK)
        session.commit()
        with pytest.raises(UnbalancedTransactionError) as info:
            ledger.post(
                session,
                clock,
                idempotency_key="k1",
                kind="test",
                memo="несбалансированная",
                entries=[(bank, -100), (client, 99)],
            )
        assert info.value.fields["entries"] == "сумма записей: -1 коп."
        with pytest.raises(UnbalancedTransactionError):
            ledger.post(
                session,
                clock,
                idempotency_key="k2",
                kind="t",
                memo="",
                entries=[(bank, 0), (client, 0)],
            )
        session.rollback()
        assert session.exec(select(func.count()).select_from(LedgerTransaction)).one() == 0
        assert ledger.balance(session, cid) == 0


def test_same_key_posts_once_and_a_short_balance_is_refused_with_the_shortfall(
    engine: Engine,
) -> None:
    clock = SettableClock()
    with Session(engine) as session:
        cid = _company(session, 1)
        first = ledger.credit(
            session,
            clock,
            company_id=cid,
            amount=50_000,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="приход",
            idempotency_key="bank:1",
        )
        again = ledger.credit(
            session,
            clock,
            company_id=cid,
            amount=50_000,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="приход",
            idempotency_key="bank:1",
        )
        session.commit()
        assert first.created and not again.created
        assert again.transaction.id == first.transaction.id
        assert ledger.balance(session, cid) == 50_000
        with pytest.raises(InsufficientFundsError) as info:
            ledger.charge(session, clock, cid, 150_050, "booking", "бронь", "booking:1")
        assert info.value.message == "Недостаточно средств: пополните баланс на 1 000,50 ₽"
        assert info.value.shortfall == 100_050
        session.rollback()
        assert ledger.balance(session, cid) == 50_000
        assert session.exec(select(func.count()).select_from(LedgerTransaction)).one() == 1


def test_two_concurrent_debits_never_overdraw(engine: Engine) -> None:
    clock = SettableClock()
    with Session(engine) as session:
        cid = _company(session, 1)
        ledger.credit(
            session,
            clock,
            company_id=cid,
            amount=1_000,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="приход",
            idempotency_key="bank:1",
        )
        ledger.account_id(session, clock, "revenue")
        session.commit()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def debit(n: int) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                ledger.charge(session, clock, cid, 700, "sms", f"списание {n}", f"sms:{n}")
                session.commit()
                outcomes.append("ok")
            except InsufficientFundsError:
                session.rollback()
                outcomes.append("short")
            except Exception as exc:  # SQLite may refuse the second writer outright
                session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=debit, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("ok") == 1, outcomes
    with Session(engine) as session:
        assert ledger.balance(session, cid) == 300
        account = ledger.company_account_id(session, clock, cid)
        assert ledger.entries_sum(session, account) == 300


class LedgerMachine(RuleBasedStateMachine):
    """Random credits, debits and (forged, duplicated, contradicting) card callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = make_engine("sqlite://")
        SQLModel.metadata.create_all(self.engine)
        self.clock = SettableClock()
        self.session = Session(self.engine, expire_on_commit=False)
        self.companies = [_company(self.session, n) for n in (1, 2)]
        self.expected = dict.fromkeys(self.companies, 0)
        self.keys: list[tuple[str, int, int]] = []  # (key, company, amount) of credits made
        self.payments: dict[int, tuple[int, int, str]] = {}  # id -> (company, amount, status)
        self.counter = 0

    def teardown(self) -> None:
        self.session.close()
        self.engine.dispose()

    @rule(who=st.integers(0, 1), amount=st.integers(1, 500_000))
    def credit(self, who: int, amount: int) -> None:
        cid = self.companies[who]
        self.counter += 1
        key = f"bank:{self.counter}"
        ledger.credit(
            self.session,
            self.clock,
            company_id=cid,
            amount=amount,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="приход",
            idempotency_key=key,
        )
        self.session.commit()
        self.keys.append((key, cid, amount))
        self.expected[cid] += amount

    @precondition(lambda self: bool(self.keys))
    @rule(index=st.integers(0, 10_000))
    def repeat_a_credit(self, index: int) -> None:
        key, cid, amount = self.keys[index % len(self.keys)]
        posting = ledger.credit(
            self.session,
            self.clock,
            company_id=cid,
            amount=amount,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="повтор",
            idempotency_key=key,
        )
        self.session.commit()
        assert not posting.created

    @rule(who=st.integers(0, 1), amount=st.integers(1, 600_000))
    def debit(self, who: int, amount: int) -> None:
        cid = self.companies[who]
        self.counter += 1
        try:
            ledger.charge(
                self.session, self.clock, cid, amount, "sms", "списание", f"d:{self.counter}"
            )
        except InsufficientFundsError as exc:
            self.session.rollback()
            assert amount > self.expected[cid]
            assert exc.shortfall == amount - self.expected[cid]
            return
        self.session.commit()
        assert amount <= self.expected[cid]
        self.expected[cid] -= amount

    @rule(who=st.integers(0, 1), amount=st.integers(100, 300_000))
    def start_card_payment(self, who: int, amount: int) -> None:
        cid = self.companies[who]
        principal = Principal(company_id=cid, permissions=CLIENT_PERMISSIONS, user_id=None)
        payment = acquiring.create_card_payment(
            session=self.session, clock=self.clock, principal=principal, amount=amount
        )
        assert payment.id is not None
        self.payments[payment.id] = (cid, amount, "pending")

    @precondition(lambda self: bool(self.payments))
    @rule(
        index=st.integers(0, 10_000),
        status=st.sampled_from(["succeeded", "failed"]),
        forged=st.booleans(),
    )
    def card_callback(self, index: int, status: str, forged: bool) -> None:
        payment_id = sorted(self.payments)[index % len(self.payments)]
        cid, amount, current = self.payments[payment_id]
        raw = json.dumps({"payment_id": payment_id, "status": status, "amount": amount}).encode()
        signature = acquiring.sign("wrong" if forged else SECRET, raw)
        try:
            acquiring.handle_callback(
                session=self.session, clock=self.clock, secret=SECRET, raw=raw, signature=signature
            )
        except BadSignatureError:
            self.session.rollback()
            assert forged
            return
        except PaymentStateError:
            self.session.rollback()
            assert current not in ("pending", status)
            return
        assert not forged
        if current == "pending":
            self.payments[payment_id] = (cid, amount, status)
            if status == "succeeded":
                self.expected[cid] += amount
        else:
            assert current == status  # a duplicate: nothing changes

    @invariant()
    def books_balance(self) -> None:
        sums = self.session.exec(
            select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount)).group_by(
                col(LedgerEntry.transaction_id)
            )
        ).all()
        assert all(total == 0 for _, total in sums)
        for account in self.session.exec(select(LedgerAccount)).all():
            self.session.refresh(account)
            assert account.id is not None
            assert account.balance == ledger.entries_sum(self.session, account.id)
            if account.company_id is not None:
                assert account.balance >= 0
                assert account.balance == self.expected[account.company_id]
        for payment_id, (_, _, status) in self.payments.items():
            row = self.session.get(CardPayment, payment_id)
            assert row is not None and row.status == status
        acq = self.session.exec(
            select(LedgerAccount).where(LedgerAccount.code == ACCOUNT_ACQUIRING)
        ).first()
        paid = sum(a for _, a, s in self.payments.values() if s == "succeeded")
        assert (acq.balance if acq else 0) == -paid


LedgerMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
