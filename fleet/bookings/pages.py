"""The Russian bookings page: book N registers on a tariff, see bookings, pay from the balance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.billing import ledger, tariffs
from fleet.billing.exceptions import InsufficientFundsError
from fleet.billing.money import rubles
from fleet.billing.periods import moscow
from fleet.bookings import service
from fleet.bookings.models import BOOKING_ACTIVE
from fleet.contract import service as offer
from fleet.contract.exceptions import OfferNotAcceptedError
from fleet.core import csrf
from fleet.core.errors import ConflictError, InvalidInputError, status_for
from fleet.deps import AppState, SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]

STATUS_LABEL = {
    "active": "Забронирована, ожидает оплаты",
    "paid": "Оплачена",
    "lapsed": "Снята: не оплачена 7 дней",
}


def _page(
    request: Request,
    state: AppState,
    session: Session,
    p: Principal,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    short: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    names = {t.code: t.name for t in tariffs.list_tariffs(session, only_active=False)}
    rows = [
        {
            "id": b.id,
            "quantity": b.quantity,
            "tariff": names.get(b.tariff_code, b.tariff_code),
            "price": rubles(service.booking_price(session, b)),
            "status": STATUS_LABEL.get(b.status, b.status),
            "active": b.status == BOOKING_ACTIVE,
            "created": moscow(b.created_at).strftime("%d.%m.%Y"),
            "lapses": moscow(b.created_at + service.LAPSE_AFTER_S).strftime("%d.%m.%Y %H:%M"),
        }
        for b in service.list_bookings(session=session, company_id=p.company_id)
    ]
    options = [
        {"code": t.code, "label": f"{t.name} — {rubles(t.price_kop)} за кассу в месяц"}
        for t in tariffs.list_tariffs(session)
    ]
    return render_page(
        request,
        state,
        "bookings/bookings.html",
        principal=p,
        status=status,
        rows=rows,
        tariffs=options,
        balance=rubles(ledger.balance(session, p.company_id)),
        can_book=p.has(Permission.BOOKINGS_CREATE),
        can_pay=p.has(Permission.BILLING_PAY),
        offer_accepted=offer.state(session, p.company_id).accepted,
        errors=errors or {},
        message=message,
        short=short,
        form=form or {"quantity": "1", "tariff_code": tariffs.DEFAULT_TARIFF},
    )


@router.get("/bookings", response_class=HTMLResponse)
def bookings_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
    done: str = "",
) -> HTMLResponse:
    """The company's bookings and the booking form."""
    messages = {
        "booked": "Кассы забронированы: оплатите бронь в течение 7 дней.",
        "paid": "Бронь оплачена: кассы переходят к установке фискального накопителя.",
    }
    return _page(request, state, session, p, message=messages.get(done))


@router.post("/bookings", response_model=None)
def book(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Annotated[Principal, page_need(Permission.BOOKINGS_CREATE)],
    quantity: Annotated[str, Form()] = "",
    tariff_code: Annotated[str, Form()] = tariffs.DEFAULT_TARIFF,
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Book N registers on a tariff."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = {"quantity": quantity, "tariff_code": tariff_code}
    try:
        if not quantity.strip().isdigit():
            raise InvalidInputError(
                "Неверное количество касс", fields={"quantity": "Укажите число касс"}
            )
        service.create_booking(
            session=session,
            clock=state.clock,
            company_id=p.company_id,
            user_id=p.user_id,
            quantity=int(quantity),
            tariff_code=tariff_code,
        )
    except InvalidInputError as exc:
        session.rollback()
        return _page(
            request,
            state,
            session,
            p,
            status=422,
            errors=exc.fields,
            message=exc.message,
            form=form,
        )
    return RedirectResponse("/bookings?done=booked", status_code=303)


@router.post("/bookings/{booking_id}/pay", response_model=None)
def pay(
    booking_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Annotated[Principal, page_need(Permission.BILLING_PAY)],
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Pay a booking from the balance; a short balance says how much to top up."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        service.pay_booking(session=session, clock=state.clock, principal=p, booking_id=booking_id)
    except OfferNotAcceptedError as exc:
        session.rollback()
        return _page(request, state, session, p, status=409, message=exc.message)
    except InsufficientFundsError as exc:
        session.rollback()
        return _page(request, state, session, p, status=409, short=exc.message)
    except ConflictError as exc:
        session.rollback()
        return _page(request, state, session, p, status=status_for(exc), message=exc.message)
    return RedirectResponse("/bookings?done=paid", status_code=303)
