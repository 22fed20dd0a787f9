"""Fixtures on disk, JSON Schemas, and a client company with production and sandbox keys."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from fleet.accounts.mail import MemoryMailSender
from tests.fleet.oracle import company_requisites
from tests.fleet.test_access_roles import owner_headers, roles_by_name

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_names(peer: str) -> list[str]:
    """The fixture files of a peer (atol, ferma), sorted."""
    return sorted(p.stem for p in (FIXTURES / peer).glob("*.json"))


def load(peer: str, name: str, inn: str) -> dict[str, Any]:
    """A fixture with the client's INN in place of __INN__."""
    text = (FIXTURES / peer / f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text.replace("__INN__", inn))
    return data


def check_schema(name: str, value: Any) -> None:
    """Validate `value` against fixtures/schemas/<name>.json (written from the peers' docs)."""
    schema = json.loads((FIXTURES / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.validate(value, schema)


def subset(expected: Any, actual: Any, path: str = "") -> None:
    """Every key of `expected` is in `actual` with an equal value (lists item by item)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), (path, actual)
        for k, v in expected.items():
            assert k in actual, f"{path}.{k} missing in {actual}"
            subset(v, actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (path, actual)
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            subset(e, a, f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: {expected!r} != {actual!r}"


@dataclass
class Client:
    """A signed-up client company: owner headers, a production key, its INN."""

    owner: dict[str, str]
    key: str
    inn: str

    @property
    def login(self) -> str:
        return self.key[:12]


def client_company(client: TestClient, mailer: MemoryMailSender, n: int = 1) -> Client:
    """Company n with its owner signed in and an «Интегратор» API key."""
    owner = owner_headers(client, mailer, n)
    role_id = roles_by_name(client, owner)["Интегратор"]["id"]
    made = client.post("/api/tokens", json={"name": "ATOL", "role_id": role_id}, headers=owner)
    assert made.status_code == 201, made.text
    return Client(owner=owner, key=made.json()["token"], inn=company_requisites(n)[0])


def sandbox_key(client: TestClient, c: Client) -> str:
    """A sandbox key for the client (the sandbox is made on first use)."""
    answer = client.post("/api/sandbox/keys", headers=c.owner)
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    assert key.startswith("obt_") and answer.json()["login"] == key[:12]
    return key


def deep(value: Any) -> Any:
    return copy.deepcopy(value)


__all__ = [
    "FIXTURES",
    "Client",
    "check_schema",
    "client_company",
    "deep",
    "fixture_names",
    "load",
    "owner_headers",
    "sandbox_key",
    "subset",
]
