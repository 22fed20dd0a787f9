"""The account JSON API (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from fleet.accounts import service
from fleet.accounts.schemas import (
    CompanyPublic,
    ConfirmIn,
    MeOut,
    SessionOut,
    SignInIn,
    SignUpIn,
    SignUpOut,
    UserPublic,
    utc,
)
from fleet.deps import ApiTokenDep, ApiUserDep, CtxDep, SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["Учётные записи"])


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, configure uvicorn's --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUpIn, session: SessionDep, ctx: CtxDep) -> SignUpOut:
    """Register a company and its first user; a confirmation link is e-mailed."""
    result = service.sign_up(session=session, ctx=ctx, **body.model_dump())
    return SignUpOut(user=UserPublic.of(result.user), company=CompanyPublic.of(result.company))


@router.post("/auth/confirm")
def confirm(body: ConfirmIn, session: SessionDep, ctx: CtxDep) -> UserPublic:
    """Confirm the e-mail address with the token from the letter."""
    return UserPublic.of(service.confirm_email(session=session, ctx=ctx, token=body.token))


@router.post("/auth/signin")
def sign_in(body: SignInIn, request: Request, session: SessionDep, ctx: CtxDep) -> SessionOut:
    """Exchange e-mail and password for a bearer token (throttled per account and address)."""
    issued = service.sign_in(
        session=session, ctx=ctx, email=body.email, password=body.password, ip=client_ip(request)
    )
    return SessionOut(token=issued.token, expires_at=utc(issued.expires_at))


@router.post("/auth/signout", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(user: ApiUserDep, token: ApiTokenDep, session: SessionDep, ctx: CtxDep) -> None:
    """End the bearer token's session."""
    if token is not None:
        service.sign_out(session=session, ctx=ctx, token=token)


@router.get("/me")
def me(user: ApiUserDep, session: SessionDep) -> MeOut:
    """The signed-in user and their company."""
    company = service.get_company(session=session, user=user, company_id=user.company_id)
    return MeOut(user=UserPublic.of(user), company=CompanyPublic.of(company))


@router.get("/companies/{company_id}")
def company(company_id: int, user: ApiUserDep, session: SessionDep) -> CompanyPublic:
    """A company the user belongs to (any other id: 404)."""
    return CompanyPublic.of(service.get_company(session=session, user=user, company_id=company_id))
