"""The settings pages (Russian): users, roles (a permission × role grid), API tokens, the
audit log. Forms post with a CSRF token; an HTMX request gets the partial it targets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access import folders, roles, tokens
from fleet.access.deps import page_need, page_need_any
from fleet.access.permissions import CLIENT_PERMISSIONS, LABEL, Permission
from fleet.access.principal import Principal
from fleet.accounts import users
from fleet.accounts.models import User
from fleet.accounts.schemas import utc
from fleet.core import csrf
from fleet.core.errors import DomainError, status_for
from fleet.deps import AppState, CtxDep, SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["ACTION_LABEL", "router"]

router = APIRouter(include_in_schema=False)

P = Permission
FormStr = Annotated[str, Form()]
FormInt = Annotated[int, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
UsersView = Annotated[Principal, page_need(P.USERS_VIEW)]
UsersManage = Annotated[Principal, page_need(P.USERS_MANAGE)]
TokensManage = Annotated[Principal, page_need(P.TOKENS_MANAGE)]

ACTION_LABEL: Final[dict[str, str]] = {
    "company.create": "Компания зарегистрирована",
    "user.sign_up": "Регистрация",
    "user.confirm_email": "Адрес почты подтверждён",
    "user.sign_in": "Вход",
    "user.sign_in_failed": "Неудачная попытка входа",
    "user.sign_out": "Выход",
    "user.invite": "Приглашён пользователь",
    "user.accept_invite": "Приглашение принято",
    "user.change_role": "Изменена роль пользователя",
    "user.block": "Пользователь заблокирован",
    "user.unblock": "Пользователь разблокирован",
    "role.create": "Создана роль",
    "role.update": "Изменена роль",
    "role.delete": "Удалена роль",
    "folder.create": "Создана папка касс",
    "folder.rename": "Папка касс переименована",
    "folder.delete": "Папка касс удалена",
    "folder.set_registers": "Изменён состав папки касс",
    "token.create": "Выпущен API-токен",
    "token.revoke": "API-токен отозван",
    "operator.grant": "Выданы права оператора",
    "operator.revoke": "Сняты права оператора",
    "booking.create": "Создана бронь",
    "booking.paid": "Бронь оплачена",
    "booking.lapsed": "Бронь снята",
    "register.add": "Касса добавлена на склад",
}

CLIENT_ORDER: Final = [p for p in Permission if p in CLIENT_PERMISSIONS]


def _moment(seconds: float) -> str:
    return utc(seconds).strftime("%d.%m.%Y %H:%M UTC")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- users -----------------------------------------------------------------------------------


def _users_context(session: Session, state: AppState, principal: Principal) -> dict[str, Any]:
    views = users.list_users(session, principal=principal)
    role_views = roles.list_roles(session, state.clock, principal=principal)
    return {
        "rows": [
            {
                "id": v.user.id,
                "email": v.user.email,
                "role_id": v.user.role_id,
                "role": v.role_name,
                "owner": v.owner,
                "status": v.status.value,
                "status_label": v.status_label,
                "created": _moment(v.user.created_at),
                "me": v.user.id == principal.user_id,
            }
            for v in views
        ],
        "roles": [{"id": r.role.id, "name": r.role.name} for r in role_views],
        "can_manage": principal.has(P.USERS_MANAGE),
    }


def _users_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    flash: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    htmx = _is_htmx(request)
    return render_page(
        request,
        state,
        "settings/_users.html" if htmx else "settings/users.html",
        principal=principal,
        status=status,
        message=message,
        flashes=[{"kind": "ok", "text": flash}] if flash and not htmx else [],
        htmx_flash=flash if htmx else None,
        form=form or {},
        errors=errors or {},
        **_users_context(session, state, principal),
    )


@router.get("/settings/users", response_class=HTMLResponse)
def users_page(
    request: Request, principal: UsersView, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """The company's users: roles, status, invitation, blocking."""
    return _users_page(request, state, session, principal)


@router.post("/settings/users", response_class=HTMLResponse)
def invite_user(
    request: Request,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    email: FormStr,
    role_id: FormInt,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Invite by e-mail with a role."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        user = users.invite_user(session, ctx, principal=principal, email=email, role_id=role_id)
    except DomainError as exc:
        session.rollback()
        return _users_page(
            request,
            state,
            session,
            principal,
            status=status_for(exc),
            message=exc.message,
            form={"email": email, "role_id": str(role_id)},
            errors=exc.fields,
        )
    return _users_page(
        request, state, session, principal, flash=f"Приглашение отправлено на {user.email}"
    )


def _user_action(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    submitted: str | None,
    action: Any,
    done: str,
) -> Response:
    csrf.check(request, state.settings.secret_key, submitted)
    try:
        view = action()
    except DomainError as exc:
        session.rollback()
        return _users_page(
            request, state, session, principal, status=status_for(exc), message=exc.message
        )
    if not _is_htmx(request):
        return RedirectResponse("/settings/users", status_code=303)
    return _users_page(request, state, session, principal, flash=done.format(view.user.email))


@router.post("/settings/users/{user_id}/role", response_model=None)
def change_role(
    request: Request,
    user_id: int,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    role_id: FormInt,
    csrf_token: CsrfField = None,
) -> Response:
    """Give a user another role."""
    return _user_action(
        request,
        state,
        session,
        principal,
        csrf_token,
        lambda: users.change_role(
            session, state.clock, principal=principal, user_id=user_id, role_id=role_id
        ),
        "Роль пользователя {} изменена",
    )


@router.post("/settings/users/{user_id}/block", response_model=None)
def block_user(
    request: Request,
    user_id: int,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    csrf_token: CsrfField = None,
) -> Response:
    """Block a user (their sessions end at once)."""
    return _user_action(
        request,
        state,
        session,
        principal,
        csrf_token,
        lambda: users.set_blocked(
            session, state.clock, principal=principal, user_id=user_id, blocked=True
        ),
        "Пользователь {} заблокирован",
    )


@router.post("/settings/users/{user_id}/unblock", response_model=None)
def unblock_user(
    request: Request,
    user_id: int,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    csrf_token: CsrfField = None,
) -> Response:
    """Unblock a user."""
    return _user_action(
        request,
        state,
        session,
        principal,
        csrf_token,
        lambda: users.set_blocked(
            session, state.clock, principal=principal, user_id=user_id, blocked=False
        ),
        "Пользователь {} разблокирован",
    )


# --- roles -----------------------------------------------------------------------------------


def _roles_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    views = roles.list_roles(session, state.clock, principal=principal)
    company_folders = folders.list_folders(session, principal=principal)
    return render_page(
        request,
        state,
        "settings/roles.html",
        principal=principal,
        status=status,
        message=message,
        flashes=[{"kind": "ok", "text": flash}] if flash else [],
        errors=errors or {},
        form=form or {},
        roles=views,
        permissions=[(p.value, LABEL[p]) for p in CLIENT_ORDER],
        folders=[(f.id, f.name) for f in company_folders],
        can_manage=principal.has(P.USERS_MANAGE),
        can_manage_folders=principal.has(P.USERS_MANAGE) or principal.has(P.REGISTERS_MANAGE),
    )


@router.get("/settings/roles", response_class=HTMLResponse)
def roles_page(
    request: Request, principal: UsersView, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """Roles as a grid: permissions (and folders) × roles."""
    return _roles_page(request, state, session, principal)


def _pairs(values: list[str]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for value in values:
        role_id, _, item = value.partition(":")
        if role_id.isdigit() and item:
            out.setdefault(int(role_id), set()).add(item)
    return out


@router.post("/settings/roles", response_class=HTMLResponse)
def save_grid(
    request: Request,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    role: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies form defaults)
    grant: Annotated[list[str], Form()] = [],  # noqa: B006
    scope: Annotated[list[str], Form()] = [],  # noqa: B006
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Save the grid: each listed role gets exactly the ticked permissions and folders."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    grants, scopes = _pairs(grant), _pairs(scope)
    changed: list[str] = []
    for role_id in role:
        view = roles.view_of(
            session, roles.get_role(session, company_id=principal.company_id, role_id=role_id)
        )
        if not view.editable:
            continue
        new_perms = grants.get(role_id, set())
        new_folders = {int(f) for f in scopes.get(role_id, set()) if f.isdigit()}
        if new_perms == set(view.permissions) and (new_folders or None) == (
            set(view.folder_ids) if view.folder_ids else None
        ):
            continue
        try:
            roles.update_role(
                session,
                state.clock,
                principal=principal,
                role_id=role_id,
                permissions=sorted(new_perms),
                folder_ids=sorted(new_folders),
                set_folders=True,
            )
        except DomainError as exc:
            session.rollback()
            detail = "; ".join(exc.fields.values()) if exc.fields else ""
            return _roles_page(
                request,
                state,
                session,
                principal,
                status=status_for(exc),
                message=f"Роль «{view.role.name}»: {exc.message}"
                + (f" ({detail})" if detail else ""),
                flash="Сохранены роли: " + ", ".join(changed) if changed else None,
            )
        changed.append(view.role.name)
    flash = "Сохранены роли: " + ", ".join(changed) if changed else "Изменений нет"
    return _roles_page(request, state, session, principal, flash=flash)


@router.post("/settings/roles/new", response_class=HTMLResponse)
def create_role(
    request: Request,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    name: FormStr,
    permission: Annotated[list[str], Form()] = [],  # noqa: B006
    folder: Annotated[list[int], Form()] = [],  # noqa: B006
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """A custom role."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        view = roles.create_role(
            session,
            state.clock,
            principal=principal,
            name=name,
            permissions=permission,
            folder_ids=folder,
        )
    except DomainError as exc:
        session.rollback()
        return _roles_page(
            request,
            state,
            session,
            principal,
            status=status_for(exc),
            message=exc.message,
            errors=exc.fields,
            form={"name": name, "permission": permission, "folder": folder},
        )
    return _roles_page(request, state, session, principal, flash=f"Роль «{view.role.name}» создана")


@router.post("/settings/roles/{role_id}/delete", response_class=HTMLResponse)
def delete_role(
    request: Request,
    role_id: int,
    principal: UsersManage,
    state: StateDep,
    session: SessionDep,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Delete a custom role nobody holds."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    role = roles.get_role(session, company_id=principal.company_id, role_id=role_id)
    try:
        roles.delete_role(session, state.clock, principal=principal, role_id=role_id)
    except DomainError as exc:
        session.rollback()
        return _roles_page(
            request, state, session, principal, status=status_for(exc), message=exc.message
        )
    return _roles_page(request, state, session, principal, flash=f"Роль «{role.name}» удалена")


@router.post("/settings/folders", response_class=HTMLResponse)
def create_folder(
    request: Request,
    principal: Annotated[Principal, page_need_any(P.USERS_MANAGE, P.REGISTERS_MANAGE)],
    state: StateDep,
    session: SessionDep,
    name: FormStr,
    csrf_token: CsrfField = None,
) -> Response:
    """A new folder of registers (then tick it for the roles it should limit)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        folder = folders.create_folder(session, state.clock, principal=principal, name=name)
    except DomainError as exc:
        session.rollback()
        if not principal.has(P.USERS_VIEW):
            raise
        return _roles_page(
            request, state, session, principal, status=status_for(exc), message=exc.message
        )
    if not principal.has(P.USERS_VIEW):
        return RedirectResponse("/registers", status_code=303)
    return _roles_page(request, state, session, principal, flash=f"Папка «{folder.name}» создана")


# --- tokens ----------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "role": r.name,
            "created": _moment(t.created_at),
            "last_used": _moment(t.last_used_at) if t.last_used_at else "не использовался",
            "revoked": _moment(t.revoked_at) if t.revoked_at else None,
        }
        for t, r in tokens.list_tokens(session, principal=principal)
    ]
    role_views = roles.list_roles(session, state.clock, principal=principal)
    return render_page(
        request,
        state,
        "settings/tokens.html",
        principal=principal,
        status=status,
        message=message,
        errors=errors or {},
        rows=rows,
        roles=[
            {"id": v.role.id, "name": v.role.name}
            for v in role_views
            if v.permissions <= principal.permissions
        ],
        new_token=new_token,
        flashes=[{"kind": "ok", "text": flash}] if flash else [],
    )


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request, principal: TokensManage, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """API tokens for integrators."""
    return _tokens_page(request, state, session, principal)


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    principal: TokensManage,
    state: StateDep,
    session: SessionDep,
    name: FormStr,
    role_id: FormInt,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Issue a token and show it this once."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        issued = tokens.create_token(
            session, state.clock, principal=principal, name=name, role_id=role_id
        )
    except DomainError as exc:
        session.rollback()
        return _tokens_page(
            request,
            state,
            session,
            principal,
            status=status_for(exc),
            message=exc.message,
            errors=exc.fields,
        )
    return _tokens_page(request, state, session, principal, new_token=issued.secret)


@router.post("/settings/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    request: Request,
    token_id: int,
    principal: TokensManage,
    state: StateDep,
    session: SessionDep,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Revoke a token at once."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    row = tokens.revoke_token(session, state.clock, principal=principal, token_id=token_id)
    return _tokens_page(request, state, session, principal, flash=f"Токен «{row.name}» отозван")


# --- audit -----------------------------------------------------------------------------------


def _day(text: str, *, end: bool) -> float | None:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return (start + dt.timedelta(days=1 if end else 0)).timestamp()


def _detail(text: str) -> str:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    return "; ".join(f"{k}: {v}" for k, v in data.items())


@router.get("/settings/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    principal: Annotated[Principal, page_need(P.AUDIT_VIEW)],
    state: StateDep,
    session: SessionDep,
    action: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> HTMLResponse:
    """The company's audit log, newest first, 50 a page; filters by action and days (UTC)."""
    per_page = 50
    page = max(1, page)
    found = audit.list_entries(
        session,
        company_id=principal.company_id,
        action=action or None,
        since=_day(since, end=False),
        until=_day(until, end=True),
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    user_ids = {a.user_id for a in found.items if a.user_id is not None}
    emails = (
        dict(session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids))).all())
        if user_ids
        else {}
    )
    rows = [
        {
            "at": _moment(a.at),
            "who": emails.get(a.user_id, f"№ {a.user_id}")
            if a.user_id is not None
            else (f"API-токен № {a.token_id}" if a.token_id is not None else "система"),
            "action": ACTION_LABEL.get(a.action, a.action),
            "code": a.action,
            "entity": f"{a.entity} {a.entity_id}" if a.entity_id else a.entity,
            "detail": _detail(a.detail),
        }
        for a in found.items
    ]
    template = "settings/_audit.html" if _is_htmx(request) else "settings/audit.html"
    return render_page(
        request,
        state,
        template,
        principal=principal,
        rows=rows,
        total=found.total,
        page=page,
        has_next=found.offset + len(found.items) < found.total,
        form={"action": action, "since": since, "until": until},
        actions=sorted(ACTION_LABEL.items(), key=lambda kv: kv[1]),
    )
