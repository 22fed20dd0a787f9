"""The route × role walker: every route checks permissions and tenant.

(a) Every route outside an explicit public allowlist declares a `need`/`page_need` dependency.
(b) Every protected route is called by every built-in role, an operator, API tokens and an
    anonymous caller, with path objects of the caller's own company (tests/fleet/objects.py):
    anonymous → 401 (API) or not 200 (pages); missing permission → 403; holding it → neither
    401 nor 403 (nor a server error).
(c) Company A's all-permissions principal calling with company B's object ids → 404 (403 for
    operator-only routes).
The walker reads everything from the app, so routes other domains add are walked as they land.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request

from fleet.access import tokens
from fleet.access.models import RoleKind
from fleet.access.permissions import CLIENT_PERMISSIONS, OPERATOR_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.access.roles import BUILTIN, ensure_builtin_roles
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import AuthSession, User
from fleet.accounts.service import AccountsContext, hash_token
from fleet.core import csrf
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.deps import SESSION_COOKIE
from fleet.main import create_app
from tests.fleet.helpers import confirmed_user
from tests.fleet.objects import FACTORIES

#: Routes anyone may call: sign-up, confirmation, sign-in and -out, invitations, the main page
#: (a guest sees the pitch), the API description, static files, the bank's acquiring callback
#: (signed by the bank, not by a user); pages whose unguessable token is the key (the General's
#: report /g/, the buyer's receipt /r/), firmware bundles addressed by their SHA-256, and the
#: peers' APIs with their own tokens (ATOL, Ferma, the sandbox: tests/compat prove their auth).
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/signup",
        "/signin",
        "/signout",
        "/confirm",
        "/invite",
        "/api/auth/signup",
        "/api/auth/confirm",
        "/api/auth/signin",
        "/api/auth/accept-invite",
        "/api/billing/acquiring/callback",
        "/api/delivery/dlr/smsc/{token}",  # SMS gateway reports: the path token is the check
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/g/{token}",
        "/r/{token}",
        "/firmware/bundles/{sha256}.bin",
    }
)
PUBLIC_PREFIXES = (
    "/static",
    "/ad/images/",  # advertising pictures: mail clients fetch them
    "/atol/",
    "/ferma/",
    "/sandbox/",
)

PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True)
class Requirement:
    """One permission checker on a route."""

    permissions: frozenset[Permission]
    mode: str  # "all" or "any"
    kind: str  # "api" or "page"

    def allows(self, held: frozenset[Permission]) -> bool:
        if not self.permissions:
            return True
        if self.mode == "any":
            return bool(self.permissions & held)
        return self.permissions <= held


@dataclass(frozen=True)
class WalkRoute:
    """A method + path of the app and the permission checkers it declares."""

    method: str
    path: str
    requirements: tuple[Requirement, ...]
    body_fields: tuple[str, ...]  # form field names (pages) or () for JSON bodies
    original: Any

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api")

    @property
    def params(self) -> list[str]:
        return list(PARAM.findall(self.path))

    @property
    def operator_only(self) -> bool:
        return any(
            r.permissions and r.permissions <= OPERATOR_PERMISSIONS for r in self.requirements
        )

    def allows(self, held: frozenset[Permission]) -> bool:
        return all(r.allows(held) for r in self.requirements)

    def label(self) -> str:
        return f"{self.method} {self.path}"


def _requirements(dependant: Any) -> list[Requirement]:
    found: list[Requirement] = []
    for dep in getattr(dependant, "dependencies", []):
        required = getattr(dep.call, "required", None)
        if required is not None:
            found.append(
                Requirement(frozenset(required), dep.call.mode, getattr(dep.call, "kind", "api"))
            )
        found.extend(_requirements(dep))
    return found


def walk(app: FastAPI) -> list[WalkRoute]:
    """Every method + path the app serves (included routers flattened)."""
    routes: list[WalkRoute] = []
    for ctx in iter_route_contexts(app.router.routes):
        path = ctx.path or ""
        original = ctx.original_route
        dependant = getattr(original, "dependant", None)
        reqs = tuple(_requirements(dependant)) if dependant is not None else ()
        form_fields: tuple[str, ...] = ()
        if dependant is not None and not path.startswith("/api"):
            form_fields = tuple(f.alias for f in dependant.body_params)
        for method in sorted(ctx.methods or {"*"}):
            if method == "HEAD":
                continue
            routes.append(WalkRoute(method, path, reqs, form_fields, original))
    return routes


def is_public(route: WalkRoute) -> bool:
    return route.path in PUBLIC_PATHS or route.path.startswith(PUBLIC_PREFIXES)


# --- the world: two companies, a user per built-in role, an operator, API tokens ------------


@dataclass
class Caller:
    """Someone who calls: a user (session minted per call) or an API token, or nobody."""

    name: str
    permissions: frozenset[Permission]
    company_id: int
    user_id: int | None = None
    api_token: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None and self.api_token is None


@dataclass
class World:
    client: TestClient
    engine: Engine
    clock: SettableClock
    settings: Settings
    app: FastAPI
    callers: list[Caller]
    owner_a: Caller
    company_a: int
    company_b: int
    csrf_token: str

    def bearer(self, caller: Caller) -> str | None:
        if caller.api_token is not None:
            return caller.api_token
        if caller.user_id is None:
            return None
        secret = secrets.token_urlsafe(24)
        with Session(self.engine) as session:
            session.add(
                AuthSession(
                    token_hash=hash_token(secret),
                    user_id=caller.user_id,
                    created_at=self.clock.wall(),
                    expires_at=self.clock.wall() + 3600,
                )
            )
            session.commit()
        return secret

    def objects(self, params: list[str], company_id: int) -> dict[str, str]:
        with Session(self.engine) as session:
            values = {p: str(FACTORIES[p](session, self.clock, company_id)) for p in params}
            session.commit()
        return values

    def call(self, route: WalkRoute, caller: Caller, company_id: int) -> Any:
        """Call with path objects of ``company_id``; body fields named like a factory (say
        ``role_id``) get a fresh object of that company too, the rest plain values."""
        path = route.path
        for name, value in self.objects(route.params, company_id).items():
            path = re.sub(r"{" + name + r"(?::\w+)?}", value, path)
        token = self.bearer(caller)
        headers: dict[str, str] = {}
        cookies = {csrf.COOKIE: self.csrf_token}
        if route.is_api and token:
            headers["Authorization"] = f"Bearer {token}"
        elif token:
            cookies[SESSION_COOKIE] = token
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.client.cookies.clear()
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if route.method in {"POST", "PUT", "PATCH"}:
            if route.is_api:
                body = minimal_body(self.app, route)
                if isinstance(body, dict):
                    refs = [k for k in body if k in FACTORIES]
                    body.update({k: int(v) for k, v in self.objects(refs, company_id).items()})
                kwargs["json"] = body
            else:
                data = {f: "1" for f in route.body_fields}
                data.update(self.objects([f for f in data if f in FACTORIES], company_id))
                data[csrf.FIELD] = self.csrf_token
                kwargs["data"] = data
        return self.client.request(route.method, path, **kwargs)


def _example(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], defs, depth + 1) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example(sub, defs, depth + 1)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if fmt == "email":
        return "walker@example.ru"
    return "x" * max(1, int(schema.get("minLength", 1)))


def minimal_body(app: FastAPI, route: WalkRoute) -> Any:
    """The required fields of the route's JSON body, filled with plain values."""
    spec = app.openapi()
    operation = spec.get("paths", {}).get(route.path, {}).get(route.method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    return _example(schema, spec.get("components", {}).get("schemas", {}))


def _user(
    session: Session,
    clock: SettableClock,
    company_id: int,
    role_id: int | None,
    tag: str,
    *,
    operator: bool = False,
) -> int:
    user = User(
        email=f"{tag}-{secrets.token_hex(4)}@example.ru",
        password_hash="",
        company_id=company_id,
        email_confirmed=True,
        created_at=clock.wall(),
        role_id=role_id,
        is_operator=operator,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    return user.id


@pytest.fixture(name="world")
def fixture_world(
    settings: Settings,
    clock: SettableClock,
    mailer: MemoryMailSender,
    engine: Engine,
    ctx: AccountsContext,
) -> Iterator[World]:
    with Session(engine) as session:
        owner_a, company_a = confirmed_user(session, ctx, mailer, 1)
        _owner_b, company_b = confirmed_user(session, ctx, mailer, 2)
        assert company_a.id is not None and company_b.id is not None and owner_a.id is not None
        roles_a = ensure_builtin_roles(session, clock, company_a.id)
        callers: list[Caller] = []
        for kind, perms in BUILTIN.items():
            uid = _user(session, clock, company_a.id, roles_a[kind].id, kind.value)
            callers.append(Caller(f"роль «{roles_a[kind].name}»", perms, company_a.id, uid))
        operator_id = _user(
            session, clock, company_a.id, roles_a[RoleKind.INTEGRATOR].id, "op", operator=True
        )
        callers.append(Caller("оператор", frozenset(Permission), company_a.id, operator_id))
        session.commit()
        owner_principal = Principal(
            company_id=company_a.id, permissions=CLIENT_PERMISSIONS, user_id=owner_a.id
        )
        for kind in (RoleKind.INTEGRATOR, RoleKind.OWNER):
            role_id = roles_a[kind].id
            assert role_id is not None
            issued = tokens.create_token(
                session, clock, principal=owner_principal, name=f"Токен {kind}", role_id=role_id
            )
            callers.append(
                Caller(
                    f"API-токен с ролью «{roles_a[kind].name}»",
                    BUILTIN[kind],
                    company_a.id,
                    api_token=issued.secret,
                )
            )
        callers.append(Caller("аноним", frozenset(), company_a.id))
        owner = Caller("владелец A", CLIENT_PERMISSIONS, company_a.id, owner_a.id)
        ids = (company_a.id, company_b.id)
    app = create_app(settings, clock=clock, mailer=mailer, engine=engine)
    csrf_token = csrf.token_for(Request({"type": "http", "headers": []}), settings.secret_key)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(
            client, engine, clock, settings, app, callers, owner, ids[0], ids[1], csrf_token
        )


# --- the tests ------------------------------------------------------------------------------


def test_every_route_outside_the_allowlist_declares_its_permissions(world: World) -> None:
    routes = walk(world.app)
    assert routes, "no routes found"
    bare = sorted({r.label() for r in routes if not is_public(r) and not r.requirements})
    assert not bare, "routes without need()/page_need(): " + ", ".join(bare)


def test_every_path_parameter_has_a_factory(world: World) -> None:
    missing: dict[str, list[str]] = {}
    for route in walk(world.app):
        if is_public(route):
            continue
        for param in route.params:
            if param not in FACTORIES:
                missing.setdefault(param, []).append(route.label())
    assert not missing, "path parameters without a factory in tests/fleet/objects.py: " + "; ".join(
        f"{p} (used by {', '.join(sorted(set(r)))})" for p, r in sorted(missing.items())
    )


def _walkable(world: World) -> list[WalkRoute]:
    return [
        r
        for r in walk(world.app)
        if not is_public(r) and r.requirements and all(p in FACTORIES for p in r.params)
    ]


def test_every_route_with_every_role(world: World) -> None:
    failures: list[str] = []
    calls = 0
    for route in _walkable(world):
        for caller in world.callers:
            if caller.api_token is not None and not route.is_api:
                continue  # API tokens are bearer-only; pages read the session cookie
            answer = world.call(route, caller, caller.company_id)
            calls += 1
            got = answer.status_code
            if caller.anonymous:
                ok = got == 401 if route.is_api else got != 200
                want = "401" if route.is_api else "not 200"
            elif route.allows(caller.permissions):
                ok = got not in (401, 403) and got < 500
                want = "neither 401 nor 403 (nor 5xx)"
            else:
                ok = got == 403
                want = "403"
            if not ok:
                failures.append(
                    f"{route.label()} as {caller.name}: {got}, want {want}: {answer.text[:200]}"
                )
    assert calls > 0
    assert not failures, f"{len(failures)} of {calls} calls wrong:\n" + "\n".join(failures)


def test_another_companys_objects_are_not_found(world: World) -> None:
    failures: list[str] = []
    checked = 0
    for route in _walkable(world):
        if not route.params:
            continue
        answer = world.call(route, world.owner_a, world.company_b)
        checked += 1
        want = 403 if route.operator_only else 404
        if answer.status_code != want:
            failures.append(
                f"{route.label()} with company B's ids: {answer.status_code}, want {want}: "
                f"{answer.text[:200]}"
            )
    assert checked > 0
    assert not failures, "tenant isolation broken:\n" + "\n".join(failures)
