"""Shared builders for the billing tests (no tests here): signed-in clients, operators, card
top-ups through a signed callback, and 1C statement text."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.billing.acquiring import SIGNATURE_HEADER, sign
from fleet.core.config import DEFAULT_ACQUIRING_SECRET
from fleet.deps import SESSION_COOKIE
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import company_requisites

SECRET = DEFAULT_ACQUIRING_SECRET  # the test settings keep the development secret


def signed_in(
    client: TestClient, mailer: MemoryMailSender, n: int, *, accept_offer: bool = True
) -> tuple[dict[str, str], str]:
    """Sign up and sign in company n (and accept the offer, unless told not to); the bearer
    headers and the company's ИНН."""
    inn, ogrn = company_requisites(n)
    email = f"billing{n}@example.ru"
    body = {
        "email": email,
        "password": PASSWORD,
        "company_name": f"ООО «Биллинг {n}»",
        "inn": inn,
        "ogrn": ogrn,
    }
    assert client.post("/api/auth/signup", json=body).status_code == 201
    assert client.post("/api/auth/confirm", json={"token": token_from(mailer)}).status_code == 200
    answer = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    if accept_offer:
        accepted = client.post("/api/contract/accept", headers=headers)
        assert accepted.status_code == 200 and accepted.json()["accepted"], accepted.text
    return headers, inn


def company_id(client: TestClient, headers: dict[str, str]) -> int:
    """The signed-in user's company id."""
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200, me.text
    value = me.json()["company"]["id"]
    assert isinstance(value, int)
    return value


def make_operator(engine: Engine, email: str) -> None:
    """Make the user an Oblako operator (done in the database, as in production for now)."""
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        user.is_operator = True
        session.add(user)
        session.commit()


def use_cookie(client: TestClient, headers: dict[str, str]) -> None:
    """Sign the client's pages in with the same session as the bearer token."""
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))


def callback(
    client: TestClient,
    payment_id: int,
    amount: int,
    status: str = "succeeded",
    *,
    secret: str = SECRET,
    signature: str | None = None,
) -> tuple[int, dict[str, object]]:
    """Post the acquirer's callback, signed with ``secret`` (or the given signature)."""
    raw = json.dumps(
        {"payment_id": payment_id, "status": status, "amount": amount, "operation_id": "op-1"}
    ).encode()
    answer = client.post(
        "/api/billing/acquiring/callback",
        content=raw,
        headers={
            SIGNATURE_HEADER: signature if signature is not None else sign(secret, raw),
            "Content-Type": "application/json",
        },
    )
    return answer.status_code, answer.json()


def top_up(client: TestClient, headers: dict[str, str], amount: int) -> int:
    """Top up by card (payment + signed success callback); the payment id."""
    created = client.post("/api/billing/card-payments", json={"amount": amount}, headers=headers)
    assert created.status_code == 201, created.text
    payment_id = created.json()["id"]
    assert isinstance(payment_id, int)
    status, _ = callback(client, payment_id, amount)
    assert status == 200
    return payment_id


def balance(client: TestClient, headers: dict[str, str]) -> int:
    """The company's balance in kopecks, through the API."""
    answer = client.get("/api/billing/balance", headers=headers)
    assert answer.status_code == 200, answer.text
    value = answer.json()["balance"]
    assert isinstance(value, int)
    return value


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def statement(*documents: dict[str, str], header: str = "1CClientBankExchange") -> str:
    """A 1C ClientBankExchange statement with these payment orders."""
    lines = [
        header,
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        "Отправитель=Бухгалтерия предприятия",
        "ДатаНачала=15.01.2024",
        "ДатаКонца=15.01.2024",
        "РасчСчет=40702810900000000001",
        "СекцияРасчСчет",
        "ДатаНачала=15.01.2024",
        "РасчСчет=40702810900000000001",
        "НачальныйОстаток=0.00",
        "КонецРасчСчет",
    ]
    for doc in documents:
        lines.append("СекцияДокумент=Платежное поручение")
        lines.extend(f"{k}={v}" for k, v in doc.items())
        lines.append("КонецДокумента")
    lines.append("КонецФайла")
    return "\r\n".join(lines) + "\r\n"


def order(
    number: str, inn: str, amount: str, purpose: str, date: str = "15.01.2024"
) -> dict[str, str]:
    """One payment order's fields (to Oblako: recipient ИНН is the settings' default)."""
    return {
        "Номер": number,
        "Дата": date,
        "Сумма": amount,
        "ПлательщикСчет": "40702810100000000777",
        "ПлательщикИНН": inn,
        "Плательщик": "ООО «Плательщик»",
        "ПолучательСчет": "40702810900000000001",
        "ПолучательИНН": "7701999993",
        "Получатель": "ООО «Облако»",
        "НазначениеПлатежа": purpose,
    }
