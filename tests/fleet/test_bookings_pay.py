"""Booking on a tariff and paying it from the balance: short and sufficient balances, tariffs,
expiry, and the /bookings page with its "Оплатить с баланса" button."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.mail import MemoryMailSender
from fleet.billing.models import LedgerTransaction, RegisterPeriod
from fleet.core.clock import SettableClock
from fleet.registers.models import Register
from tests.fleet.test_billing_kit import balance, csrf_of, signed_in, top_up, use_cookie

DAY = 86400.0


def _registers(engine: Engine, booking_id: int) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(Register).where(Register.booking_id == booking_id)).all()
        return [(r.state, r.tariff_code) for r in rows]


def test_booking_pay_with_short_then_sufficient_balance(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    booked = client.post("/api/bookings", json={"quantity": 2}, headers=headers)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["tariff_code"] == "start" and booking["price"] == 300_000
    assert _registers(engine, booking["id"]) == [("booked", "start"), ("booked", "start")]
    short = client.post(f"/api/bookings/{booking['id']}/pay", headers=headers)
    assert short.status_code == 409
    assert short.json()["message"] == "Недостаточно средств: пополните баланс на 3 000,00 ₽"
    top_up(client, headers, 100_000)
    short = client.post(f"/api/bookings/{booking['id']}/pay", headers=headers)
    assert short.json()["message"] == "Недостаточно средств: пополните баланс на 2 000,00 ₽"
    assert (
        client.get(f"/api/bookings/{booking['id']}", headers=headers).json()["status"] == "active"
    )
    assert _registers(engine, booking["id"]) == [("booked", "start"), ("booked", "start")]
    top_up(client, headers, 250_000)
    paid = client.post(f"/api/bookings/{booking['id']}/pay", headers=headers)
    assert paid.status_code == 200, paid.text
    assert paid.json()["balance"] == 50_000 and paid.json()["booking"]["status"] == "paid"
    assert _registers(engine, booking["id"]) == [("paid", "start"), ("paid", "start")]
    again = client.post(f"/api/bookings/{booking['id']}/pay", headers=headers)
    assert again.status_code == 409 and "уже не активна" in again.json()["message"]
    assert balance(client, headers) == 50_000
    history = client.get("/api/billing/balance", headers=headers).json()["history"]
    assert [(h["kind"], h["amount"]) for h in history] == [
        ("booking", -300_000),
        ("card", 250_000),
        ("card", 100_000),
    ]
    with Session(engine) as session:
        periods = session.exec(select(RegisterPeriod)).all()
        assert sorted((p.period, p.status) for p in periods) == [("2024-01", "paid")] * 2
        assert session.exec(select(func.count()).select_from(LedgerTransaction)).one() == 3


def test_tariffs_at_booking_time(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    wrong = client.post(
        "/api/bookings", json={"quantity": 1, "tariff_code": "vip"}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["fields"] == {"tariff_code": "Тарифа «vip» нет среди действующих"}
    year = client.post(
        "/api/bookings", json={"quantity": 3, "tariff_code": "year"}, headers=headers
    )
    assert year.json()["price"] == 3 * 12 * 180_000
    top_up(client, headers, 6_480_000)
    assert client.post(f"/api/bookings/{year.json()['id']}/pay", headers=headers).status_code == 200
    assert balance(client, headers) == 0
    with Session(engine) as session:
        periods = sorted({p.period for p in session.exec(select(RegisterPeriod)).all()})
        assert periods[0] == "2024-01" and periods[-1] == "2024-12" and len(periods) == 12


def test_an_expired_booking_cannot_be_paid(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    booking = client.post("/api/bookings", json={"quantity": 1}, headers=headers).json()
    top_up(client, headers, 150_000)
    clock.advance(7 * DAY)
    late = client.post(f"/api/bookings/{booking['id']}/pay", headers=headers)
    assert late.status_code == 409 and "истекла" in late.json()["message"]
    assert balance(client, headers) == 150_000


def test_another_company_cannot_pay_my_booking(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    mine, _ = signed_in(client, mailer, 1)
    other, _ = signed_in(client, mailer, 2)
    booking = client.post("/api/bookings", json={"quantity": 1}, headers=mine).json()
    top_up(client, other, 150_000)
    assert client.post(f"/api/bookings/{booking['id']}/pay", headers=other).status_code == 404
    assert balance(client, other) == 150_000


def test_bookings_page_books_and_pays_with_a_top_up_hint(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    page = client.get("/bookings")
    assert page.status_code == 200 and "Броней пока нет" in page.text
    assert 'option value="business"' in page.text
    token = csrf_of(page.text)
    bad = client.post("/bookings", data={"quantity": "ноль", "csrf_token": token})
    assert bad.status_code == 422 and "Укажите число касс" in bad.text
    done = client.post(
        "/bookings", data={"quantity": "2", "tariff_code": "business", "csrf_token": token}
    )
    assert done.status_code == 200 and "Кассы забронированы" in done.text  # after the redirect
    assert "5 000,00 ₽" in done.text and "Оплатить с баланса" in done.text
    [booking] = client.get("/api/bookings", headers=headers).json()
    short = client.post(f"/bookings/{booking['id']}/pay", data={"csrf_token": token})
    assert short.status_code == 409
    assert "Недостаточно средств: пополните баланс на 5 000,00 ₽" in short.text
    assert 'href="/billing"' in short.text
    top_up(client, headers, 500_000)
    paid = client.post(f"/bookings/{booking['id']}/pay", data={"csrf_token": token})
    assert paid.status_code == 200 and "Бронь оплачена" in paid.text
    assert "Оплатить с баланса" not in paid.text
    forged = client.post(f"/bookings/{booking['id']}/pay", data={"csrf_token": "x.y"})
    assert forged.status_code == 403
