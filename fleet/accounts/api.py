"""The account JSON API (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts import service, users
from fleet.accounts.exceptions import CompanyNotFoundError
from fleet.accounts.models import Company, User
from fleet.accounts.schemas import (
    AcceptInviteIn,
    CompanyPublic,
    ConfirmIn,
    InviteIn,
    MeOut,
    RoleChangeIn,
    SessionOut,
    SignInIn,
    SignUpIn,
    SignUpOut,
    UserOut,
    UserPublic,
    utc,
)
from fleet.deps import ApiTokenDep, CtxDep, SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["Учётные записи"])

SignedIn = Annotated[Principal, need()]
UsersView = Annotated[Principal, need(Permission.USERS_VIEW)]
UsersManage = Annotated[Principal, need(Permission.USERS_MANAGE)]


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, configure uvicorn's --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUpIn, session: SessionDep, ctx: CtxDep) -> SignUpOut:
    """Register a company and its first user (the owner); a confirmation link is e-mailed."""
    result = service.sign_up(session=session, ctx=ctx, **body.model_dump())
    return SignUpOut(user=UserPublic.of(result.user), company=CompanyPublic.of(result.company))


@router.post("/auth/confirm")
def confirm(body: ConfirmIn, session: SessionDep, ctx: CtxDep) -> UserPublic:
    """Confirm the e-mail address with the token from the letter."""
    return UserPublic.of(service.confirm_email(session=session, ctx=ctx, token=body.token))


@router.post("/auth/accept-invite")
def accept_invite(body: AcceptInviteIn, session: SessionDep, ctx: CtxDep) -> UserPublic:
    """Accept an invitation: set the password with the token from the letter."""
    return UserPublic.of(
        users.accept_invite(session, ctx, token=body.token, password=body.password)
    )


@router.post("/auth/signin")
def sign_in(body: SignInIn, request: Request, session: SessionDep, ctx: CtxDep) -> SessionOut:
    """Exchange e-mail and password for a bearer token (throttled per account and address)."""
    issued = service.sign_in(
        session=session, ctx=ctx, email=body.email, password=body.password, ip=client_ip(request)
    )
    return SessionOut(token=issued.token, expires_at=utc(issued.expires_at))


@router.post("/auth/signout", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(principal: SignedIn, token: ApiTokenDep, session: SessionDep, ctx: CtxDep) -> None:
    """End the bearer token's session (an API token is revoked through /api/tokens instead)."""
    if token is not None and principal.token_id is None:
        service.sign_out(session=session, ctx=ctx, token=token)


def _company(session: SessionDep, principal: Principal, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None or company.id != principal.company_id:
        raise CompanyNotFoundError(f"Компания № {company_id} не найдена")
    return company


@router.get("/me")
def me(principal: SignedIn, session: SessionDep) -> MeOut:
    """Who calls: the user (None for an API token), the company, permissions and folders."""
    user = None if principal.user_id is None else session.get(User, principal.user_id)
    return MeOut(
        user=None if user is None else UserPublic.of(user),
        company=CompanyPublic.of(_company(session, principal, principal.company_id)),
        token_id=principal.token_id,
        permissions=sorted(principal.permissions),
        folder_ids=None if principal.folder_ids is None else sorted(principal.folder_ids),
    )


@router.get("/companies/{company_id}")
def company(company_id: int, principal: SignedIn, session: SessionDep) -> CompanyPublic:
    """The caller's company (any other id: 404)."""
    return CompanyPublic.of(_company(session, principal, company_id))


@router.get("/users", tags=["Пользователи"])
def list_users(principal: UsersView, session: SessionDep) -> list[UserOut]:
    """The company's users with roles and status."""
    return [UserOut.of(v) for v in users.list_users(session, principal=principal)]


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["Пользователи"])
def invite(body: InviteIn, principal: UsersManage, session: SessionDep, ctx: CtxDep) -> UserOut:
    """Invite a person by e-mail with a role: they get a one-time link to set a password."""
    user = users.invite_user(
        session, ctx, principal=principal, email=body.email, role_id=body.role_id
    )
    return UserOut.of(users.view_user(session, user))


@router.get("/users/{user_id}", tags=["Пользователи"])
def get_user(user_id: int, principal: UsersView, session: SessionDep) -> UserOut:
    """One user of the company (another company's id: 404)."""
    user = users.get_user(session, company_id=principal.company_id, user_id=user_id)
    return UserOut.of(users.view_user(session, user))


@router.put("/users/{user_id}/role", tags=["Пользователи"])
def change_role(
    user_id: int, body: RoleChangeIn, principal: UsersManage, session: SessionDep, state: StateDep
) -> UserOut:
    """Give the user another role (only roles within the caller's own rights)."""
    return UserOut.of(
        users.change_role(
            session, state.clock, principal=principal, user_id=user_id, role_id=body.role_id
        )
    )


@router.post("/users/{user_id}/block", tags=["Пользователи"])
def block(user_id: int, principal: UsersManage, session: SessionDep, state: StateDep) -> UserOut:
    """Block the user: their sessions end at once and sign-in is refused."""
    return UserOut.of(
        users.set_blocked(session, state.clock, principal=principal, user_id=user_id, blocked=True)
    )


@router.post("/users/{user_id}/unblock", tags=["Пользователи"])
def unblock(user_id: int, principal: UsersManage, session: SessionDep, state: StateDep) -> UserOut:
    """Let a blocked user sign in again."""
    return UserOut.of(
        users.set_blocked(session, state.clock, principal=principal, user_id=user_id, blocked=False)
    )
