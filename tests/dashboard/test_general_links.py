"""The General's report link: random, stored hashed, one live version, admins only, views
logged; and the pages that issue and show it."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.models import RoleKind
from fleet.access.principal import Principal
from fleet.core.clock import SettableClock
from fleet.general import links
from fleet.general.exceptions import (
    InvalidScopeError,
    LinkNotFoundError,
    LinkRevokedError,
    NotAdministratorError,
)
from fleet.general.models import GeneralLink, GeneralView
from tests.dashboard.web import csrf_of, sign_in_as
from tests.dashboard.world import make_shop


def _links(engine: Engine) -> list[GeneralLink]:
    with Session(engine) as s:
        return list(s.exec(select(GeneralLink)).all())


def test_the_token_is_random_256_bits_and_only_its_hash_is_stored(
    engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        issued = links.issue(s, clock, shop.principal)
        other = links.issue(s, clock, shop.principal)
        s.commit()
    raw = base64.urlsafe_b64decode(issued.secret + "=" * (-len(issued.secret) % 4))
    assert len(raw) * 8 >= 128
    assert issued.secret != other.secret
    rows = _links(engine)
    assert {r.token_hash for r in rows} == {
        hashlib.sha256(t.encode()).hexdigest() for t in (issued.secret, other.secret)
    }
    for row in rows:  # the secret itself is in no column
        assert issued.secret not in repr(row.model_dump()) and other.secret not in repr(
            row.model_dump()
        )


def test_a_new_version_revokes_the_old_link_at_once(engine: Engine, clock: SettableClock) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        first = links.issue(s, clock, shop.principal, days=7)
        s.commit()
    with Session(engine) as s:
        assert links.resolve(s, first.secret).days == 7
        second = links.issue(s, clock, shop.principal, store_id=shop.stores[1], days=90)
        s.commit()
    with Session(engine) as s:
        with pytest.raises(LinkRevokedError, match="больше не действует"):
            links.resolve(s, first.secret)
        live = links.resolve(s, second.secret)
        assert (live.store_id, live.days) == (shop.stores[1], 90)
        assert links.current_link(s, shop.company) == live
    assert sum(1 for r in _links(engine) if r.revoked_at is None) == 1


@pytest.mark.parametrize("token", ["", "x", "a" * 43 + "!", "../../etc/passwd", "A" * 43])
def test_unknown_or_malformed_tokens_are_not_found(
    engine: Engine, clock: SettableClock, token: str
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        links.issue(s, clock, shop.principal)
        s.commit()
        with pytest.raises(LinkNotFoundError, match="не найден"):
            links.resolve(s, token)


@pytest.mark.parametrize(
    "kind", [RoleKind.ACCOUNTANT, RoleKind.CASHIER_MANAGER, RoleKind.INTEGRATOR]
)
def test_only_an_administrator_issues(engine: Engine, clock: SettableClock, kind: RoleKind) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        principal = shop.role_principal(s, clock, kind)
        with pytest.raises(NotAdministratorError, match="только администратор"):
            links.issue(s, clock, principal)
        s.rollback()
    assert _links(engine) == []


def test_an_administrator_limited_to_folders_does_not_issue(
    engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    limited = Principal(
        company_id=shop.company,
        permissions=shop.principal.permissions,
        user_id=shop.owner,
        folder_ids=frozenset({1}),
    )
    with Session(engine) as s, pytest.raises(NotAdministratorError):
        links.issue(s, clock, limited)
    assert _links(engine) == []


def test_a_bad_scope_changes_nothing(engine: Engine, clock: SettableClock) -> None:
    shop = make_shop(engine, clock)
    other = make_shop(engine, clock)
    with Session(engine) as s:
        live = links.issue(s, clock, shop.principal)
        s.commit()
    for kwargs, field in (
        ({"days": 8}, "days"),
        ({"store_id": other.stores[0]}, "store_id"),
        ({"store_id": 10**9}, "store_id"),
    ):
        with Session(engine) as s:
            with pytest.raises(InvalidScopeError) as caught:
                links.issue(s, clock, shop.principal, **kwargs)
            assert field in caught.value.fields
            s.rollback()
    with Session(engine) as s:
        assert links.resolve(s, live.secret).revoked_at is None
    assert len(_links(engine)) == 1


def test_the_pages_issue_show_refuse_and_log(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        shop.ingest(s, clock, register=0, at=clock.wall() - 3600, operation=1, total=1234_50)
        shop.ingest(s, clock, register=1, at=clock.wall() - 3600, operation=2, total=34_50)
        s.commit()
    sign_in_as(client, engine, clock, shop.owner)
    page = client.get("/general")
    assert page.status_code == 200 and "Ссылки пока нет" in page.text
    issued = client.post("/general/links", data={"days": "30", "csrf_token": csrf_of(page.text)})
    assert issued.status_code == 200
    first = re.search(r'value="(http://testserver/g/[^"]+)"', issued.text)
    assert first
    first_path = first.group(1).removeprefix("http://testserver")

    client.cookies.clear()  # anyone with the link, signed out
    shown = client.get(first_path, headers={"User-Agent": "GeneralBrowser/1.0"})
    assert shown.status_code == 200
    assert "1 200,00 ₽" in shown.text  # 1 234,50 sold − 34,50 returned
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in shown.headers["Cache-Control"]

    sign_in_as(client, engine, clock, shop.owner)
    page = client.get("/general")
    assert "GeneralBrowser/1.0" in page.text and "testclient" in page.text
    again = client.post("/general/links", data={"days": "7", "csrf_token": csrf_of(page.text)})
    second = re.search(r'value="(http://testserver/g/[^"]+)"', again.text)
    assert second and second.group(1) != first.group(1)
    client.cookies.clear()
    gone = client.get(first_path)
    assert gone.status_code == 410
    assert "больше не действует" in gone.text
    assert client.get(second.group(1).removeprefix("http://testserver")).status_code == 200
    assert client.get("/g/" + "Z" * 43).status_code == 404
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(GeneralView)).one() == 2


def test_a_non_administrator_is_refused_by_the_pages(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        accountant = shop.role_principal(s, clock, RoleKind.ACCOUNTANT)
        s.commit()
    assert accountant.user_id is not None
    sign_in_as(client, engine, clock, accountant.user_id)
    home = client.get("/")
    assert home.status_code == 200 and 'href="/general"' not in home.text
    assert client.get("/general").status_code == 403
    refused = client.post("/general/links", data={"days": "30", "csrf_token": csrf_of(home.text)})
    assert refused.status_code == 403
    assert _links(engine) == []
