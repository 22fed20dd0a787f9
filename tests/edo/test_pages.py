"""The «ЭДО» settings page: connect, see the month's documents and their state, download the
УПД (XML that passes the check, a printable page); another company's documents are not found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.core.clock import SettableClock
from fleet.edo import service
from fleet.edo.jobs import seller_from
from fleet.edo.upd import check_upd
from tests.edo.builders import (
    JANUARY,
    company_with_charges,
    csrf_of,
    sign_in_pages,
    simulator,
)


def test_connect_then_see_and_download_the_documents(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator(sign_after_s=30.0)
    client.app.state.edo_gateway = sim.gateway  # type: ignore[attr-defined]
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 11)
        other = company_with_charges(session, ctx, mailer, 12)
        assert company.id is not None and other.id is not None
    sign_in_pages(client, 11)
    page = client.get("/settings/edo")
    assert page.status_code == 200 and 'data-testid="edo-none"' in page.text
    assert 'href="/settings/edo"' in page.text  # the menu item
    bad = client.post(
        "/settings/edo",
        data={"operator_id": "2BE", "participant_id": "2AL-1", "csrf_token": csrf_of(page.text)},
    )
    assert bad.status_code == 422 and "начинаться с идентификатора оператора 2BE" in bad.text
    done = client.post(
        "/settings/edo",
        data={
            "operator_id": "2BE",
            "participant_id": "2BE-PAGES-11",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 200 and "Подключено" in done.text
    settings = client.app.state.fleet.settings  # type: ignore[attr-defined]
    seller = seller_from(settings)
    clock = SettableClock(JANUARY + 3600.0)
    with Session(engine) as session:
        service.assemble_due(session, clock, seller)
        session.commit()
        service.exchange(session, clock, sim.gateway, seller)
        docs = service.documents(session, company.id)
    listed = client.get("/settings/edo")
    assert listed.text.count("Отправлен, ждёт подписи") == 3
    assert 'hx-trigger="every 5s"' in listed.text  # the table refreshes while one waits
    sim.now[0] += 31.0
    with Session(engine) as session:
        service.exchange(session, clock, sim.gateway, seller)
    poll = client.get("/settings/edo", headers={"HX-Request": "true"})
    assert poll.text.count("Подписан") == 3 and "<html" not in poll.text
    assert 'hx-trigger="every 5s"' not in poll.text
    tariffs = next(d for d in docs if d.kind == "tariffs")
    xml = client.get(f"/settings/edo/documents/{tariffs.id}/upd.xml")
    assert xml.status_code == 200 and "windows-1251" in xml.headers["content-type"]
    check_upd(xml.content)
    assert tariffs.file_id in xml.headers["content-disposition"]
    printed = client.get(f"/settings/edo/documents/{tariffs.id}/upd.html")
    assert printed.status_code == 200
    assert f"УПД № {tariffs.number}" in printed.text or tariffs.number in printed.text
    assert company.inn in printed.text and "4 500,00 ₽" in printed.text
    assert "Статус ЭДО: Подписан" in printed.text
    sign_in_pages(client, 12)
    assert client.get(f"/settings/edo/documents/{tariffs.id}/upd.xml").status_code == 404
    assert client.get(f"/settings/edo/documents/{tariffs.id}/upd.html").status_code == 404
