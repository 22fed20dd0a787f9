"""`POST /api/receipts` without FastAPI's dependency machinery for the ordinary request.

The create is the integrator API's hot path (issue 8: every receipt passes it). Declared as a
FastAPI route (fleet/receipts/api.py `create`: the OpenAPI schema, the dependencies the route
walker reads), it is served by `CreateRoute`'s handler: for an ordinary request — a JSON object
body with `Content-Type: application/json`, no query string or only `store_id` (digits) and
`ad_consent` (true/false), each once, no dependency overrides — it reads the bearer as
`HTTPBearer` does and does the rest in ONE worker thread: the session, the principal
(`principal_for_token`, the token cache), the permission check (`need(RECEIPTS_CREATE)`), and
the same `answer()` as the route's function. FastAPI's own handler runs instead for anything
else (a malformed body or query, another content type), so every error keeps FastAPI's body,
and a refused token or permission raises the same `DomainError` through the app's handlers.
What it saves: FastAPI resolves seven dependencies, five of them sync (a threadpool hop each,
plus two for the session's generator), then the sync endpoint (one more). The one hop goes to
the fast path's own executor (`_executor`), no larger than the engine's connection pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from fleet.access.permissions import Permission
from fleet.access.resolve import principal_for_token
from fleet.deps import AppState, get_state

__all__ = ["Answer", "CreateArgs", "CreateRoute", "fast_args"]

#: what the route's function does once the dependencies are there (fleet/receipts/api.py)
Answer = Callable[..., Response]

_DIGITS: Final = re.compile(r"[0-9]{1,18}")
_BOOLS: Final = {"true": True, "false": False}
_QUERY: Final = frozenset({"store_id", "ad_consent"})
#: the fast path's worker threads at most: enough to keep PostgreSQL busy while one thread
#: holds the interpreter (a create is ~1.5 ms of CPU and well under 1 ms of waiting)
THREADS: Final = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(engine: Engine) -> ThreadPoolExecutor:
    """The fast path's own threads, made on first use, no more than the engine's pool keeps
    (QueuePool's size: 5). More threads than pooled connections open a connection beyond the
    pool for a request and close it after (a new PostgreSQL backend: ~0.25 ms CPU a receipt
    on average in the profile with 8 threads). A plain executor hop is also a fraction of
    Starlette's `run_in_threadpool` (anyio's limiter, cancel scope and checkpoints a call)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                size = getattr(engine.pool, "size", None)
                kept = size() if callable(size) else THREADS
                _pool = ThreadPoolExecutor(
                    max(1, min(THREADS, kept)), thread_name_prefix="receipts-create"
                )
    return _pool


class CreateArgs:
    """What the fast path took from the request (the endpoint's parameters but the body)."""

    __slots__ = ("ad_consent", "idempotency_key", "store_id", "token")

    def __init__(
        self,
        token: str | None,
        idempotency_key: str | None,
        store_id: int | None,
        ad_consent: bool | None,
    ) -> None:
        self.token = token
        self.idempotency_key = idempotency_key
        self.store_id = store_id
        self.ad_consent = ad_consent


def _bearer(value: str | None) -> str | None:
    """The bearer token as `HTTPBearer(auto_error=False)` and `fleet.deps.api_token` give it."""
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    if not scheme or not credentials or scheme.lower() != "bearer":
        return None
    return credentials


def fast_args(request: Request) -> CreateArgs | None:
    """The parameters when the request is one the fast path answers as FastAPI would; None
    for anything else (FastAPI's handler then validates and answers)."""
    headers = request.headers
    content_type = headers.get("content-type")
    if content_type is None or content_type.split(";", 1)[0].strip().lower() != (
        "application/json"
    ):
        return None
    store_id: int | None = None
    ad_consent: bool | None = None
    if request.scope.get("query_string"):
        items = request.query_params.multi_items()
        names = [k for k, _v in items]
        if len(set(names)) != len(names) or not _QUERY.issuperset(names):
            return None
        for name, value in items:
            if name == "store_id":
                if not _DIGITS.fullmatch(value):
                    return None
                store_id = int(value)
            else:
                if value not in _BOOLS:
                    return None
                ad_consent = _BOOLS[value]
    return CreateArgs(
        _bearer(headers.get("authorization")),
        headers.get("idempotency-key"),
        store_id,
        ad_consent,
    )


def _in_thread(state: AppState, args: CreateArgs, body: dict[str, Any], answer: Answer) -> Response:
    """The dependencies' work (fleet/deps.py `get_session`, fleet/access/deps.py `need`) and
    the answer, in the one worker thread."""
    with Session(state.engine, expire_on_commit=False) as session:
        principal = principal_for_token(session, state.clock, args.token)
        principal.check(Permission.RECEIPTS_CREATE)
        return answer(
            session,
            state,
            principal,
            body,
            idempotency_key=args.idempotency_key,
            store_id=args.store_id,
            ad_consent=args.ad_consent,
        )


class CreateRoute(APIRoute):
    """The create's route: the fast path first, FastAPI's handler for everything else.

    The endpoint must accept ``(session, state, p, body, idempotency_key=, store_id=,
    ad_consent=)`` as keywords and positions, as `fleet.receipts.api.create` does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        slow = super().get_route_handler()
        answer: Answer = self.endpoint

        async def handler(request: Request) -> Response:
            args = fast_args(request)
            if args is None or getattr(request.app, "dependency_overrides", None):
                return await slow(request)
            raw = await request.body()  # kept on the request: the slow path reads it again
            try:
                body = json.loads(raw) if raw else None
            except Exception:  # FastAPI's handler answers it (422 json_invalid, 400)
                body = None
            if not isinstance(body, dict):  # FastAPI's errors for the rest
                return await slow(request)
            state = get_state(request)
            loop = asyncio.get_running_loop()
            context = contextvars.copy_context()  # as Starlette's threadpool hands it over
            return await loop.run_in_executor(
                _executor(state.engine), context.run, _in_thread, state, args, body, answer
            )

        return handler
