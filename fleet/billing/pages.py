"""Russian billing pages: /billing (balance, top-up, invoices, history, chart), the printable
invoice, /tariffs, and the operator's /operator/billing (statement upload, unmatched queue)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.billing import acquiring, bank, invoices, ledger, tariffs
from fleet.billing.chart import balance_chart
from fleet.billing.exceptions import InvalidBillingInputError
from fleet.billing.models import CardPaymentStatus, InvoiceStatus
from fleet.billing.money import parse_rubles, rubles
from fleet.billing.periods import moscow
from fleet.core import csrf
from fleet.core.errors import DomainError, status_for
from fleet.deps import AppState, SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
ViewPage = Annotated[Principal, page_need(Permission.BILLING_VIEW)]
PayPage = Annotated[Principal, page_need(Permission.BILLING_PAY)]
OperatorPage = Annotated[Principal, page_need(Permission.OPERATOR_BILLING)]

KIND_LABEL = {
    "card": "Пополнение картой",
    "bank": "Платёж по счёту",
    "booking": "Оплата брони",
    "subscription": "Абонентская плата",
}
PAYMENT_LABEL = {
    CardPaymentStatus.PENDING: "ожидает подтверждения банка",
    CardPaymentStatus.SUCCEEDED: "зачислен",
    CardPaymentStatus.FAILED: "отклонён",
}
INVOICE_LABEL = {
    InvoiceStatus.ISSUED: "Ожидает оплаты",
    InvoiceStatus.PARTIAL: "Оплачен частично",
    InvoiceStatus.PAID: "Оплачен",
}


def _day(seconds: float) -> str:
    return moscow(seconds).strftime("%d.%m.%Y")


def _billing(
    request: Request,
    state: AppState,
    session: Session,
    p: Principal,
    *,
    status: int = 200,
    payment_id: int | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    payment: dict[str, Any] | None = None
    if payment_id is not None:
        found = acquiring.get_card_payment(
            session=session, company_id=p.company_id, payment_id=payment_id
        )
        payment = {
            "id": found.id,
            "amount": rubles(found.amount),
            "status": found.status,
            "label": PAYMENT_LABEL.get(found.status, found.status),
            "reason": found.failure_reason,
        }
    history = [
        {
            "day": moscow(h.at).strftime("%d.%m.%Y %H:%M"),
            "kind": KIND_LABEL.get(h.kind, h.kind),
            "memo": h.memo,
            "amount": rubles(h.amount),
            "credit": h.amount > 0,
        }
        for h in ledger.history(session, p.company_id, limit=50)
    ]
    invoice_rows = [
        {
            "id": i.id,
            "number": i.number,
            "day": _day(i.created_at),
            "amount": rubles(i.amount),
            "paid": rubles(i.paid_amount),
            "status": INVOICE_LABEL.get(i.status, i.status),
        }
        for i in invoices.list_invoices(session=session, company_id=p.company_id)
    ]
    return render_page(
        request,
        state,
        "billing/billing.html",
        principal=p,
        status=status,
        balance=rubles(ledger.balance(session, p.company_id)),
        payment=payment,
        history=history,
        invoices=invoice_rows,
        chart=balance_chart(session, p.company_id, state.clock.wall()),
        can_pay=p.has(Permission.BILLING_PAY),
        errors=errors or {},
        message=message,
        form=form or {},
    )


@router.get("/billing", response_class=HTMLResponse)
def billing(
    request: Request, state: StateDep, session: SessionDep, p: ViewPage, payment: int | None = None
) -> HTMLResponse:
    """The balance, top-up by card, invoices, history and the 30-day chart."""
    return _billing(request, state, session, p, payment_id=payment)


def _amount(text: str, field: str) -> int:
    amount = parse_rubles(text)
    if amount is None:
        raise InvalidBillingInputError(
            "Неверная сумма", fields={field: "Сумма в рублях, например 1500 или 1500,50"}
        )
    return amount


@router.post("/billing/topup", response_model=None)
def topup(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: PayPage,
    amount: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Create a card payment and send the browser to the acquirer's form."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        payment = acquiring.create_card_payment(
            session=session, clock=state.clock, principal=p, amount=_amount(amount, "amount")
        )
    except InvalidBillingInputError as exc:
        return _billing(
            request,
            state,
            session,
            p,
            status=status_for(exc),
            errors={"topup": exc.fields.get("amount", exc.message)},
            form={"topup": amount},
        )
    return RedirectResponse(acquiring.payment_url(state.settings, payment), status_code=303)


@router.post("/billing/invoices", response_model=None)
def new_invoice(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: PayPage,
    amount: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Issue an invoice and show it for printing."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        invoice = invoices.create_invoice(
            session=session, clock=state.clock, principal=p, amount=_amount(amount, "amount")
        )
    except InvalidBillingInputError as exc:
        return _billing(
            request,
            state,
            session,
            p,
            status=status_for(exc),
            errors={"invoice": exc.fields.get("amount", exc.message)},
            form={"invoice": amount},
        )
    return RedirectResponse(f"/billing/invoices/{invoice.id}", status_code=303)


@router.get("/billing/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(
    invoice_id: int, request: Request, state: StateDep, session: SessionDep, p: ViewPage
) -> HTMLResponse:
    """The printable invoice with Oblako's bank requisites."""
    invoice = invoices.get_invoice(session=session, company_id=p.company_id, invoice_id=invoice_id)
    company = session.get(Company, invoice.company_id)
    return render_page(
        request,
        state,
        "billing/invoice.html",
        principal=p,
        invoice=invoice,
        day=_day(invoice.created_at),
        amount=rubles(invoice.amount),
        status_label=INVOICE_LABEL.get(invoice.status, invoice.status),
        company=company,
        bank=state.settings,
    )


@router.get("/tariffs", response_class=HTMLResponse)
def tariffs_page(
    request: Request, state: StateDep, session: SessionDep, p: ViewPage
) -> HTMLResponse:
    """The active tariffs."""
    rows = [
        {
            "code": t.code,
            "name": t.name,
            "price": rubles(t.price_kop),
            "quota": "без ограничений"
            if t.receipts_quota is None
            else f"{t.receipts_quota:,}".replace(",", " "),
            "months": t.months,
            "first": rubles(tariffs.first_period_price(t)),
        }
        for t in tariffs.list_tariffs(session)
    ]
    return render_page(request, state, "billing/tariffs.html", principal=p, rows=rows)


def _operator(
    request: Request,
    state: AppState,
    session: Session,
    p: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    queue = bank.list_unmatched(session)
    inns = {b.payer_inn for b in queue}
    by_inn = {
        c.inn: c
        for c in session.exec(select(Company).where(col(Company.inn).in_(sorted(inns)))).all()
    }
    rows = [
        {
            "id": b.id,
            "doc": f"№ {b.doc_number} от {b.doc_date}",
            "amount": rubles(b.amount),
            "payer": f"{b.payer_name} (ИНН {b.payer_inn})".strip(),
            "purpose": b.purpose,
            "reason": b.reason,
            "suggested": by_inn.get(b.payer_inn),
        }
        for b in queue
    ]
    return render_page(
        request,
        state,
        "billing/operator.html",
        principal=p,
        status=status,
        rows=rows,
        message=message,
        error=error,
    )


@router.get("/operator/billing", response_class=HTMLResponse)
def operator_billing(
    request: Request, state: StateDep, session: SessionDep, p: OperatorPage, done: str = ""
) -> HTMLResponse:
    """Statement upload and the queue of unmatched bank payments."""
    return _operator(request, state, session, p, message=done or None)


@router.post("/operator/billing/statement", response_model=None)
async def operator_upload(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: OperatorPage,
    file: UploadFile,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Load a statement file from the form."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    data = await file.read()
    try:
        result = bank.import_statement(
            session=session, clock=state.clock, settings=state.settings, principal=p, data=data
        )
    except DomainError as exc:
        session.rollback()
        return _operator(request, state, session, p, status=status_for(exc), error=exc.message)
    message = (
        f"Платёжных поручений: {result.lines}; зачислено по счетам: {result.matched}; "
        f"в очередь: {result.unmatched}; уже загружены раньше: {result.duplicates}; "
        f"не наши: {result.skipped}."
    )
    return _operator(request, state, session, p, message=message)


@router.post("/operator/billing/bank-payments/{bank_payment_id}/match", response_model=None)
def operator_match(
    bank_payment_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: OperatorPage,
    company_id: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Credit a queued bank payment to a company."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    if not company_id.strip().isdigit():
        return _operator(
            request, state, session, p, status=422, error="Укажите номер компании (число)"
        )
    try:
        bank.resolve_by_hand(
            session=session,
            clock=state.clock,
            principal=p,
            bank_payment_id=bank_payment_id,
            company_id=int(company_id),
        )
    except DomainError as exc:
        session.rollback()
        return _operator(request, state, session, p, status=status_for(exc), error=exc.message)
    done = urlencode({"done": f"Платёж № {bank_payment_id} зачислен компании № {company_id}"})
    return RedirectResponse(f"/operator/billing?{done}", status_code=303)
