"""The billing JSON API: tariffs, balance and history, card payments, invoices; the operator's
tariffs and bank statements; the acquirer's callback (public, authenticated by its HMAC)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request, UploadFile, status
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.billing import acquiring, bank, invoices, ledger, tariffs
from fleet.billing.models import BankPayment, CardPayment, Invoice, Tariff
from fleet.deps import AppState, SessionDep, StateDep

__all__ = ["callback_router", "operator_router", "router"]

router = APIRouter(prefix="/api", tags=["Баланс и платежи"])
operator_router = APIRouter(prefix="/api/operator", tags=["Тарифы и платежи (оператор)"])
callback_router = APIRouter(prefix="/api/billing/acquiring", tags=["Эквайринг"])

ViewDep = Annotated[Principal, need(Permission.BILLING_VIEW)]
PayDep = Annotated[Principal, need(Permission.BILLING_PAY)]
OperatorDep = Annotated[Principal, need(Permission.OPERATOR_BILLING)]


class TariffPublic(BaseModel):
    """A tariff; prices in kopecks; ``receipts_quota`` None means unlimited."""

    code: str
    name: str
    price_kop: int
    receipts_quota: int | None
    months: int
    active: bool

    @classmethod
    def of(cls, t: Tariff) -> TariffPublic:
        """From the table row."""
        return cls(
            code=t.code,
            name=t.name,
            price_kop=t.price_kop,
            receipts_quota=t.receipts_quota,
            months=t.months,
            active=t.active,
        )


class TariffIn(BaseModel):
    """A tariff as an operator creates or changes it (the code names it)."""

    code: str = Field(max_length=32, examples=["pro"])
    name: str = Field(max_length=100, examples=["Про"])
    price_kop: int = Field(examples=[300000])
    receipts_quota: int | None = Field(default=None, examples=[None])
    months: int = Field(default=1, examples=[1])
    active: bool = True

    def input(self) -> tariffs.TariffInput:
        """As the service takes it."""
        return tariffs.TariffInput(
            code=self.code,
            name=self.name,
            price_kop=self.price_kop,
            receipts_quota=self.receipts_quota,
            months=self.months,
            active=self.active,
        )


class AmountIn(BaseModel):
    """An amount in kopecks."""

    amount: int = Field(examples=[300000])


class HistoryItem(BaseModel):
    """One movement of the balance (``amount`` negative for a debit)."""

    transaction_id: int
    at: dt.datetime
    kind: str
    memo: str
    amount: int


class BalanceOut(BaseModel):
    """The company's balance (kopecks) and its latest movements."""

    balance: int
    history: list[HistoryItem]


class CardPaymentPublic(BaseModel):
    """A card top-up; ``payment_url`` is where the browser pays."""

    id: int
    amount: int
    status: str
    failure_reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    payment_url: str | None = None

    @classmethod
    def of(cls, p: CardPayment, url: str | None = None) -> CardPaymentPublic:
        """From the table row."""
        assert p.id is not None
        return cls(
            id=p.id,
            amount=p.amount,
            status=p.status,
            failure_reason=p.failure_reason,
            created_at=utc(p.created_at),
            finished_at=None if p.finished_at is None else utc(p.finished_at),
            payment_url=url,
        )


class InvoicePublic(BaseModel):
    """An invoice; ``print_url`` is its printable page."""

    id: int
    number: str
    amount: int
    paid_amount: int
    status: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    print_url: str

    @classmethod
    def of(cls, i: Invoice) -> InvoicePublic:
        """From the table row."""
        assert i.id is not None and i.number is not None
        return cls(
            id=i.id,
            number=i.number,
            amount=i.amount,
            paid_amount=i.paid_amount,
            status=i.status,
            created_at=utc(i.created_at),
            paid_at=None if i.paid_at is None else utc(i.paid_at),
            print_url=f"/billing/invoices/{i.id}",
        )


class BankPaymentPublic(BaseModel):
    """A bank statement line."""

    id: int
    doc_number: str
    doc_date: str
    amount: int
    payer_inn: str
    payer_name: str
    purpose: str
    status: str
    reason: str | None
    company_id: int | None
    invoice_id: int | None

    @classmethod
    def of(cls, p: BankPayment) -> BankPaymentPublic:
        """From the table row."""
        assert p.id is not None
        return cls(
            id=p.id,
            doc_number=p.doc_number,
            doc_date=p.doc_date,
            amount=p.amount,
            payer_inn=p.payer_inn,
            payer_name=p.payer_name,
            purpose=p.purpose,
            status=p.status,
            reason=p.reason,
            company_id=p.company_id,
            invoice_id=p.invoice_id,
        )


class StatementResult(BaseModel):
    """What an uploaded statement did."""

    lines: int
    matched: int
    unmatched: int
    duplicates: int
    skipped: int


class MatchIn(BaseModel):
    """The company an operator credits a bank payment to."""

    company_id: int


class CallbackOut(BaseModel):
    """The acknowledgement the acquirer gets."""

    payment_id: int
    status: str


@router.get("/tariffs", tags=["Тарифы"])
def list_tariffs(_p: ViewDep, session: SessionDep) -> list[TariffPublic]:
    """The active tariffs, cheapest first."""
    return [TariffPublic.of(t) for t in tariffs.list_tariffs(session)]


@router.get("/billing/balance")
def get_balance(p: ViewDep, session: SessionDep) -> BalanceOut:
    """The balance and the last 100 movements."""
    return BalanceOut(
        balance=ledger.balance(session, p.company_id),
        history=[
            HistoryItem(
                transaction_id=h.transaction_id,
                at=utc(h.at),
                kind=h.kind,
                memo=h.memo,
                amount=h.amount,
            )
            for h in ledger.history(session, p.company_id)
        ],
    )


@router.post("/billing/card-payments", status_code=status.HTTP_201_CREATED)
def create_card_payment(
    body: AmountIn, p: PayDep, session: SessionDep, state: StateDep
) -> CardPaymentPublic:
    """Start a top-up by card: send the browser to ``payment_url``."""
    payment = acquiring.create_card_payment(
        session=session, clock=state.clock, principal=p, amount=body.amount
    )
    return CardPaymentPublic.of(payment, acquiring.payment_url(state.settings, payment))


@router.get("/billing/card-payments/{payment_id}")
def get_card_payment(payment_id: int, p: ViewDep, session: SessionDep) -> CardPaymentPublic:
    """A card top-up's status (pending, succeeded, failed)."""
    return CardPaymentPublic.of(
        acquiring.get_card_payment(session=session, company_id=p.company_id, payment_id=payment_id)
    )


@router.post("/billing/invoices", status_code=status.HTTP_201_CREATED)
def create_invoice(
    body: AmountIn, p: PayDep, session: SessionDep, state: StateDep
) -> InvoicePublic:
    """Issue an invoice for a bank transfer."""
    return InvoicePublic.of(
        invoices.create_invoice(session=session, clock=state.clock, principal=p, amount=body.amount)
    )


@router.get("/billing/invoices")
def list_invoices(p: ViewDep, session: SessionDep) -> list[InvoicePublic]:
    """The company's invoices, newest first."""
    return [
        InvoicePublic.of(i)
        for i in invoices.list_invoices(session=session, company_id=p.company_id)
    ]


@router.get("/billing/invoices/{invoice_id}")
def get_invoice(invoice_id: int, p: ViewDep, session: SessionDep) -> InvoicePublic:
    """One of the company's invoices."""
    return InvoicePublic.of(
        invoices.get_invoice(session=session, company_id=p.company_id, invoice_id=invoice_id)
    )


@callback_router.post("/callback")
async def acquiring_callback(request: Request, state: StateDep) -> CallbackOut:
    """The acquirer's notification; authenticated by ``X-Acquiring-Signature`` (hex
    HMAC-SHA256 of the raw body). A bad signature is 403 and changes nothing."""
    raw = await request.body()
    signature = request.headers.get(acquiring.SIGNATURE_HEADER)
    payment = await run_in_threadpool(_apply_callback, state, raw, signature)
    assert payment.id is not None
    return CallbackOut(payment_id=payment.id, status=payment.status)


def _apply_callback(state: AppState, raw: bytes, signature: str | None) -> CardPayment:
    with Session(state.engine, expire_on_commit=False) as session:
        return acquiring.handle_callback(
            session=session,
            clock=state.clock,
            secret=state.settings.acquiring_secret,
            raw=raw,
            signature=signature,
        )


@operator_router.get("/tariffs")
def operator_tariffs(_p: OperatorDep, session: SessionDep) -> list[TariffPublic]:
    """Every tariff, inactive ones too."""
    return [TariffPublic.of(t) for t in tariffs.list_tariffs(session, only_active=False)]


@operator_router.post("/tariffs", status_code=status.HTTP_201_CREATED)
def create_tariff(
    body: TariffIn, p: OperatorDep, session: SessionDep, state: StateDep
) -> TariffPublic:
    """Add a tariff (409 if the code is taken)."""
    return TariffPublic.of(
        tariffs.create_tariff(session=session, clock=state.clock, principal=p, data=body.input())
    )


@operator_router.put("/tariffs")
def update_tariff(
    body: TariffIn, p: OperatorDep, session: SessionDep, state: StateDep
) -> TariffPublic:
    """Change the tariff named by ``code`` (404 if there is none); ``active: false`` retires it
    (registers on it keep it)."""
    return TariffPublic.of(
        tariffs.update_tariff(session=session, clock=state.clock, principal=p, data=body.input())
    )


@operator_router.post("/bank-statements")
async def upload_statement(
    file: UploadFile, p: OperatorDep, session: SessionDep, state: StateDep
) -> StatementResult:
    """Load a bank statement (1C ClientBankExchange, windows-1251 or UTF-8): matched lines are
    credited at once, the rest wait in the queue; a re-upload posts nothing twice."""
    data = await file.read()
    result = await run_in_threadpool(
        lambda: bank.import_statement(
            session=session, clock=state.clock, settings=state.settings, principal=p, data=data
        )
    )
    return StatementResult(**result.__dict__)


@operator_router.get("/bank-payments")
def unmatched(_p: OperatorDep, session: SessionDep) -> list[BankPaymentPublic]:
    """Statement lines waiting to be credited by hand."""
    return [BankPaymentPublic.of(b) for b in bank.list_unmatched(session)]


@operator_router.post("/bank-payments/{bank_payment_id}/match")
def match_by_hand(
    bank_payment_id: int, body: MatchIn, p: OperatorDep, session: SessionDep, state: StateDep
) -> BankPaymentPublic:
    """Credit an unmatched line to a company (409 if it is already credited)."""
    return BankPaymentPublic.of(
        bank.resolve_by_hand(
            session=session,
            clock=state.clock,
            principal=p,
            bank_payment_id=bank_payment_id,
            company_id=body.company_id,
        )
    )
