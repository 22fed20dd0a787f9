"""The runner's life cycle, the real-time pass, `open_counts`, the digest and the pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.compliance.digest import digest_letters, weekly_job
from fleet.compliance.runner import open_counts, run_realtime
from fleet.core.clock import SettableClock
from tests.compliance.test_checks import marked_sale
from tests.compliance.world import World
from tests.firmware.test_register import KM
from tests.firmware.test_register import sale as _sale
from tests.fleet.helpers import PASSWORD, confirmed_user
from tests.fleet.test_pages import _csrf
from tests.receipts.builders import add_register


def sale(rid: str, total: int) -> dict[str, Any]:
    return _sale(rid, total, vat="vat22")


def _signed_in(client: TestClient, email: str) -> None:
    page = client.get("/signin")
    done = client.post(
        "/signin",
        data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303


def _drifted_place(engine: Engine, tmp: Path, company_id: int) -> World:
    w = World(engine, tmp, company_id=company_id)
    w.register()
    w.receipt({**sale("s1", 1000), "place": "Склад на Лесной"})
    return w


def test_the_real_time_pass_checks_a_receipt_that_just_arrived(
    engine: Engine, tmp_path: Path
) -> None:
    w = World(engine, tmp_path)
    w.register(modes=["marking"])
    with Session(engine) as s:
        run_realtime(s, w.fleet_clock)  # the first pass sets its mark
        s.commit()
    unit = w.model.marking
    check = unit.check

    def negative(code_type: int, length: int, payload: bytes) -> bytes:
        return (
            check(code_type, 1, b"\x01")
            if payload.startswith(b"BAD")
            else check(code_type, length, payload)
        )

    unit.check = negative  # type: ignore[assignment, method-assign]
    w.receipt(marked_sale("m1", code="BAD" + KM, allow_negative_marking=True))
    with Session(engine) as s:
        # no content job has run: the pass files the new receipt's content itself
        assert run_realtime(s, w.fleet_clock) == 1
        s.commit()
        assert open_counts(s, w.company_id) == {"critical": 1, "high": 0, "medium": 0, "total": 1}
        assert run_realtime(s, w.fleet_clock) == 0  # nothing new reported


def test_pages_digest_and_tenancy(
    engine: Engine,
    tmp_path: Path,
    client: TestClient,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
    clock: SettableClock,
) -> None:
    with Session(engine) as s:
        user, company = confirmed_user(s, ctx, mailer, 1)
        _, other = confirmed_user(s, ctx, mailer, 2)
        foreign = add_register(s, clock, other, "foreign-1")
        s.commit()
        company_id, foreign_id, email = company.id, foreign.id, user.email
    assert company_id is not None
    w = _drifted_place(engine, tmp_path, company_id)
    w.run(["K20", "K01"])
    _signed_in(client, email)
    page = client.get("/compliance")
    assert page.status_code == 200
    assert "Место расчётов не совпадает с регистрацией" in page.text
    assert f'href="/registers/{w.register_id}/registration"' in page.text
    assert "ч. 4 ст. 14.5 КоАП РФ" in page.text
    assert 'href="/compliance"' in page.text  # the menu item
    assert "Нарушений не найдено" in client.get("/compliance?severity=critical").text
    bad = client.get("/compliance?check=K99")
    assert bad.status_code == 422 and "Нет проверки с кодом «K99»" in bad.text
    block = client.get(f"/compliance/registers/{w.register_id}/block")
    assert "Место расчётов не совпадает" in block.text
    card = client.get(f"/registers/{w.register_id}")
    assert f'hx-get="/compliance/registers/{w.register_id}/block"' in card.text
    assert client.get(f"/compliance/registers/{foreign_id}/block").status_code == 404
    # the digest goes to the company's owner only
    with Session(engine) as s:
        letters = digest_letters(s, "http://testserver")
    assert [x.to for x in letters] == [email]
    assert "Место расчётов не совпадает с регистрацией" in letters[0].body
    assert re.search(r"нарушений — 1", letters[0].subject)
    sent = MemoryMailSender()
    with Session(engine) as s:
        weekly_job(sent, "http://testserver").run(s, w.fleet_clock)
        s.commit()
    assert [x.to for x in sent.outbox] == [email]
