"""The public offer: booking is free, paying needs the accepted offer; a person accepts it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.contract.models import OfferAcceptance
from fleet.contract.service import OFFER_VERSION
from tests.fleet.test_billing_kit import csrf_of, signed_in, top_up, use_cookie


def test_paying_waits_for_the_offer_and_a_person_accepts_it(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1, accept_offer=False)
    booked = client.post("/api/bookings", json={"quantity": 1}, headers=headers)
    assert booked.status_code == 201  # booking needs no contract
    top_up(client, headers, 1_000_000)
    pay = f"/api/bookings/{booked.json()['id']}/pay"
    refused = client.post(pay, headers=headers)
    assert refused.status_code == 409 and "договор-оферту" in refused.json()["message"]
    assert client.get("/api/contract", headers=headers).json()["accepted"] is False

    # an API token cannot accept for the company
    owner_role = client.get("/api/roles", headers=headers).json()
    role_id = next(r["id"] for r in owner_role if r["name"] == "Владелец")
    token = client.post("/api/tokens", json={"name": "crm", "role_id": role_id}, headers=headers)
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    by_token = client.post("/api/contract/accept", headers=bearer)
    assert by_token.status_code == 409 and "сотрудник" in by_token.json()["message"]

    first = client.post("/api/contract/accept", headers=headers)
    again = client.post("/api/contract/accept", headers=headers)
    assert first.json()["accepted"] and first.json()["version"] == OFFER_VERSION
    assert again.json()["accepted_at"] == first.json()["accepted_at"]  # idempotent
    assert client.post(pay, headers=headers).status_code == 200
    with Session(engine) as session:
        rows = session.exec(select(OfferAcceptance)).all()
        assert len(rows) == 1 and rows[0].ip
        audits = session.exec(select(AuditLog).where(AuditLog.action == "offer.accept")).all()
        assert len(audits) == 1


def test_the_offer_page_shows_the_state_and_accepts_with_csrf(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 2, accept_offer=False)
    use_cookie(client, headers)
    page = client.get("/contract")
    assert page.status_code == 200 and 'data-testid="offer-pending"' in page.text
    assert "Публичная оферта" in page.text
    assert client.post("/contract", data={"csrf_token": "forged.x"}).status_code == 403
    done = client.post("/contract", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert 'data-testid="offer-accepted"' in client.get("/contract").text
    assert client.get("/api/contract", headers=headers).json()["accepted"] is True
