"""End to end through the pages: sign in, book two registers, top up by card at the simulated
acquirer, pay the booking from the balance, see the register's card; and the /billing page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from simulator.acquiring import create_app as create_acquirer
from tests.fleet.helpers import PASSWORD
from tests.fleet.test_billing_kit import SECRET, balance, csrf_of, signed_in, top_up, use_cookie

DAY = 86400.0


def test_sign_in_book_two_pay_and_see_the_card(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    client.cookies.clear()
    signin = client.get("/signin")
    signed = client.post(
        "/signin",
        data={
            "email": "billing1@example.ru",
            "password": PASSWORD,
            "csrf_token": csrf_of(signin.text),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    page = client.get("/bookings")
    token = csrf_of(page.text)
    booked = client.post(
        "/bookings", data={"quantity": "2", "tariff_code": "start", "csrf_token": token}
    )
    assert booked.status_code == 200 and "Кассы забронированы" in booked.text
    registers = client.get("/api/registers", headers=headers).json()["items"]
    assert [r["state"] for r in registers] == ["booked", "booked"]
    pay_form = re.search(r'action="(/bookings/\d+/pay)"', booked.text)
    assert pay_form is not None
    short = client.post(pay_form.group(1), data={"csrf_token": token})
    assert "пополните баланс на 3 000,00 ₽" in short.text

    # Top up 3 000 ₽ by card at the simulated acquirer.
    billing = client.get("/billing")
    to_bank = client.post(
        "/billing/topup",
        data={"amount": "3000", "csrf_token": csrf_of(billing.text)},
        follow_redirects=False,
    )
    assert to_bank.status_code == 303
    pay_url = urlparse(to_bank.headers["location"])
    acquirer = create_acquirer(SECRET, transport=httpx.ASGITransport(app=client.app))
    with TestClient(acquirer) as bank:
        form = bank.get(f"{pay_url.path}?{pay_url.query}")
        fields = {k: v[0] for k, v in parse_qs(pay_url.query).items()}
        declined = bank.post(
            "/pay",
            data={**fields, "number": "4111 1111 1111 1111", "expiry": "01/20", "cvc": "123"},
        )
        assert declined.status_code == 422 and "Срок действия карты истёк" in declined.text
        back = bank.post(
            "/pay",
            data={**fields, "number": "4111 1111 1111 1111", "expiry": "12/35", "cvc": "123"},
            follow_redirects=False,
        )
        assert form.status_code == 200 and back.status_code == 303
    returned = urlparse(back.headers["location"])
    shown = client.get(f"{returned.path}?{returned.query}")
    assert "зачислен" in shown.text and 'id="balance">3 000,00 ₽' in shown.text

    paid = client.post(pay_form.group(1), data={"csrf_token": token})
    assert paid.status_code == 200 and "Бронь оплачена" in paid.text
    assert balance(client, headers) == 0
    registers = client.get("/api/registers", headers=headers).json()["items"]
    assert [r["state"] for r in registers] == ["paid", "paid"]
    card = client.get(f"/registers/{registers[0]['id']}")
    assert card.status_code == 200 and "Оплачена" in card.text


def test_billing_page_shows_balance_history_invoices_and_chart(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    top_up(client, headers, 100_000)
    clock.advance(3 * DAY)
    top_up(client, headers, 23_450)
    client.post("/api/billing/invoices", json={"amount": 500_000}, headers=headers)
    use_cookie(client, headers)
    page = client.get("/billing")
    assert page.status_code == 200
    assert 'id="balance">1 234,50 ₽' in page.text
    assert "+234,50 ₽" in page.text and "Пополнение картой" in page.text
    assert "СЧ-2024-" in page.text and "Ожидает оплаты" in page.text
    svg = re.search(r'<polyline[^>]*points="([^"]+)"', page.text)
    assert svg is not None
    points = [tuple(map(float, p.split(","))) for p in svg.group(1).split()]
    assert len(points) == 30
    ys = [y for _, y in points]
    # The line only rises (smaller y is higher): 0, then 1 000 ₽, then 1 234,50 ₽.
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == 3
    assert "от 0,00 ₽ до 1 234,50 ₽" in page.text
    refused = client.post(
        "/billing/topup", data={"amount": "много", "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 422 and "Сумма в рублях" in refused.text
    invoice = client.post(
        "/billing/invoices",
        data={"amount": "150,5", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert invoice.status_code == 303
    printed = client.get(invoice.headers["location"])
    assert "150,50 ₽" in printed.text and "Счёт на оплату № СЧ-2024-" in printed.text
