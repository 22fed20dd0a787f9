"""`POST /api/receipts`'s fast path (fleet/receipts/create_route.py) answers as FastAPI does.

Every request is sent twice, by two companies: through the fast path, and with a dependency
override set (which sends everything to FastAPI's own handler, the route's declared
dependencies). The answers must be the same but for the ids; the fast path must have served
exactly the ordinary requests.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from fleet.accounts.mail import MemoryMailSender
from fleet.receipts import create_route
from tests.fleet.helpers import PASSWORD
from tests.fleet.test_access_roles import owner_headers, roles_by_name
from tests.receipts.builders import sale
from tests.receipts.test_api import integrator

#: (name, query, headers beyond the token, body: JSON value or raw bytes, served fast)
Case = tuple[str, str, dict[str, str], Any, bool]

JSON = {"Content-Type": "application/json"}


def _cases(p: str) -> list[Case]:
    bad = sale(f"{p}bad", 1000)
    bad["items"][0]["price"] = -5
    del bad["tax_system"]
    buyer = sale(f"{p}ad", 2000, buyer_contact="anna@example.ru")
    return [
        ("new", "", JSON, sale(f"{p}1", 12345, items=2), True),
        ("repeat", "", JSON, sale(f"{p}1", 12345, items=2), True),
        ("other body", "", JSON, sale(f"{p}1", 999), True),
        ("invalid", "", JSON, bad, True),
        ("key", "", {**JSON, "Idempotency-Key": f"{p}key-1"}, sale(f"{p}2", 500), True),
        ("key again", "", {**JSON, "Idempotency-Key": f"{p}key-1"}, sale(f"{p}3", 500), True),
        ("empty key", "", {**JSON, "Idempotency-Key": ""}, sale(f"{p}4", 500), True),
        (
            "charset",
            "",
            {"Content-Type": "application/json; charset=utf-8"},
            sale(f"{p}5", 7),
            True,
        ),
        ("no store", "store_id=999999", JSON, sale(f"{p}6", 500), True),
        ("consent", "ad_consent=true", JSON, buyer, True),
        ("consent off", "ad_consent=false", JSON, sale(f"{p}7", 300, buyer_contact="b@c.ru"), True),
        # FastAPI's handler for these, in both runs
        ("store not int", "store_id=abc", JSON, sale(f"{p}8", 500), False),
        ("consent maybe", "ad_consent=maybe", JSON, sale(f"{p}9", 500), False),
        ("two stores", "store_id=1&store_id=2", JSON, sale(f"{p}10", 500), False),
        ("unknown param", "x=1", JSON, sale(f"{p}11", 500), False),
        ("not json", "", JSON, b"{not json", False),
        ("array", "", JSON, [1, 2], False),
        ("null", "", JSON, None, False),
        ("empty", "", JSON, b"", False),
        ("text", "", {"Content-Type": "text/plain"}, json.dumps(sale(f"{p}12", 5)).encode(), False),
        ("no type", "", {}, json.dumps(sale(f"{p}13", 5)).encode(), False),
        ("ld+json", "", {"Content-Type": "application/ld+json"}, sale(f"{p}14", 5), False),
    ]


_IDS = re.compile(r"\d+")


def _norm(value: Any, p: str) -> Any:
    """The answer without what differs between the runs: ids, times, the prefix."""
    if isinstance(value, dict):
        return {
            k: _norm(v, p)
            for k, v in value.items()
            if k not in ("id", "receipt_id", "request_id", "created_at", "updated_at")
        }
    if isinstance(value, list):
        return [_norm(v, p) for v in value]
    if isinstance(value, str):
        return _IDS.sub("N", value.replace(p, "P-"))
    return value


def _send(client: TestClient, token: dict[str, str], case: Case) -> tuple[int, Any]:
    _name, query, headers, body, _fast = case
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    r = client.post(
        "/api/receipts" + (f"?{query}" if query else ""), content=raw, headers={**token, **headers}
    )
    return r.status_code, r.json()


def _served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The external ids the fast path served (its worker-thread function, wrapped)."""
    seen: list[str] = []
    real = create_route._in_thread

    def counting(state: Any, args: Any, body: dict[str, Any], answer: Any) -> Any:
        seen.append(str(body.get("id")))
        return real(state, args, body, answer)

    monkeypatch.setattr(create_route, "_in_thread", counting)
    return seen


def _no_override() -> None:  # the key of the override that turns the fast path off
    return None


def test_the_fast_path_answers_as_fastapi_does(
    client: TestClient, mailer: MemoryMailSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = _served(monkeypatch)
    app = client.app
    assert isinstance(app, FastAPI)
    fast_token, slow_token = integrator(client, mailer, 1), integrator(client, mailer, 2)
    fast = [(c[0], _send(client, fast_token, c)) for c in _cases("fast-")]
    expected_fast = [str(c[3]["id"]) for c in _cases("fast-") if c[4]]
    assert served == expected_fast
    served.clear()
    app.dependency_overrides[_no_override] = _no_override
    try:
        slow = [(c[0], _send(client, slow_token, c)) for c in _cases("slow-")]
    finally:
        app.dependency_overrides.clear()
    assert served == []
    for (name, (fs, fb)), (_n, (ss, sb)) in zip(fast, slow, strict=True):
        assert (name, fs, _norm(fb, "fast-")) == (name, ss, _norm(sb, "slow-"))
    codes = {name: status for name, (status, _b) in fast}
    assert codes["new"] == 201 and codes["repeat"] == 200 and codes["other body"] == 409
    assert codes["invalid"] == codes["no store"] == codes["store not int"] == 422
    assert codes["consent"] == 201 and codes["not json"] == 422


def test_auth_and_permissions_on_the_fast_path(
    client: TestClient, mailer: MemoryMailSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = _served(monkeypatch)
    body = json.dumps(sale("auth-1", 100)).encode()
    h = owner_headers(client, mailer, 3)
    role_id = roles_by_name(client, h)["Бухгалтер"]["id"]
    made = client.post("/api/tokens", json={"name": "Бух", "role_id": role_id}, headers=h).json()
    for auth, status in (
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": "Bearer obl_nope"}, 401),
        ({"Authorization": f"Bearer {made['token']}"}, 403),
        (h, 201),  # the owner's session token: every client permission
    ):
        r = client.post("/api/receipts", content=body, headers={**JSON, **auth})
        assert r.status_code == status, (auth, r.text)
        if status != 201:
            assert set(r.json()) == {"error", "message", "fields"}
    assert len(served) == 6
    # a revoked token is refused at once (the token cache is emptied in this process)
    token = integrator(client, mailer, 4)
    assert client.post("/api/receipts", json=sale("rev-1", 100), headers=token).status_code == 201
    owner = owner_headers_for(client, 4)
    tokens = client.get("/api/tokens", headers=owner).json()
    assert client.delete(f"/api/tokens/{tokens[0]['id']}", headers=owner).status_code == 200
    assert client.post("/api/receipts", json=sale("rev-2", 100), headers=token).status_code == 401


def owner_headers_for(client: TestClient, n: int) -> dict[str, str]:
    """Sign company n's owner in again (already signed up)."""
    answer = client.post(
        "/api/auth/signin", json={"email": f"owner{n}@example.ru", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.mark.parametrize(
    ("query", "headers", "args"),
    [
        (
            "",
            {"content-type": "application/json", "authorization": "Bearer t"},
            ("t", None, None, None),
        ),
        (
            "store_id=7&ad_consent=false",
            {"content-type": "Application/JSON"},
            (None, None, 7, False),
        ),
        ("", {"content-type": "application/json", "idempotency-key": "k"}, (None, "k", None, None)),
        (
            "",
            {"content-type": "application/json", "authorization": "bearer  t "},
            ("t", None, None, None),
        ),
        (
            "",
            {"content-type": "application/json", "authorization": "Token t"},
            (None, None, None, None),
        ),
        ("store_id=-1", {"content-type": "application/json"}, None),
        ("store_id=1e3", {"content-type": "application/json"}, None),
        ("ad_consent=1", {"content-type": "application/json"}, None),
        ("ad_consent=true&ad_consent=true", {"content-type": "application/json"}, None),
        ("", {"content-type": "application/xml"}, None),
        ("", {}, None),
    ],
)
def test_fast_args(query: str, headers: dict[str, str], args: tuple[Any, ...] | None) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/receipts",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    got = create_route.fast_args(Request(scope))
    if args is None:
        assert got is None
    else:
        assert got is not None
        assert (got.token, got.idempotency_key, got.store_id, got.ad_consent) == args
