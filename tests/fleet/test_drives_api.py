"""The drive API and pages: the schedule with regime checks, advice, purchase from the balance."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.drives.history import DayReport, date_of, day_of, record_reports
from fleet.drives.models import Drive, DrivePurchase
from fleet.notify.models import Notification
from fleet.registers.models import Register, RegisterState
from fleet.registration.models import RegistrationApplication
from tests.fleet.test_billing_kit import (
    balance,
    company_id,
    csrf_of,
    signed_in,
    top_up,
    use_cookie,
)

FN = "9999078900012345"


def _register_with_history(
    engine: Engine,
    clock: SettableClock,
    company: int,
    *,
    fn: str = FN,
    rate: int = 1,
    expires_in: int = 400,
    term: int | None = None,
    form: dict[str, object] | None = None,
) -> int:
    """A registered register whose drive reported 20 days (``rate`` % a day)."""
    today = day_of(clock.wall())
    with Session(engine) as session:
        reg = Register(
            serial=f"S-{fn}",
            name=f"Касса {fn[-4:]}",
            state=RegisterState.ACTIVE.value,
            company_id=company,
            created_at=clock.wall(),
        )
        session.add(reg)
        session.flush()
        assert reg.id is not None
        if form is not None:
            session.add(
                RegistrationApplication(
                    company_id=company,
                    register_id=reg.id,
                    status="registered",
                    form=json.dumps(form),
                    created_at=clock.wall(),
                    updated_at=clock.wall(),
                )
            )
        record_reports(
            session,
            clock,
            [
                DayReport(fn, reg.id, today - 19 + d, 10 + rate * d, expires_day=today + expires_in)
                for d in range(20)
            ],
            lead_days=30,
        )
        if term is not None:
            drive = session.exec(select(Drive).where(Drive.fn_number == fn)).one()
            drive.term_months = term
            session.add(drive)
        session.commit()
        return reg.id


def test_schedule_shows_the_fill_date_and_flags_a_drive_that_does_not_fit(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    cid = company_id(client, headers)
    usn = {"tax_systems": ["usn_income"], "flags": {}, "fn_model": "ФН-1.2"}
    fast = _register_with_history(engine, clock, cid, rate=2, term=15, form=usn)
    slow = _register_with_history(
        engine, clock, cid, fn="9999078900099999", rate=0, expires_in=90, form=usn
    )
    answer = client.get("/api/drives/schedule", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["lead_days"] == 30
    rows = {r["register_id"]: r for r in body["items"]}
    today = day_of(clock.wall())
    # 2 % a day from 10 % on day −19: 48 % today, full in 26 more days
    assert rows[fast]["full"] == date_of(today + 26).isoformat()
    assert rows[fast]["replace_by"] == date_of(today + 26 - 30).isoformat()
    assert rows[fast]["level"] == "overdue" and rows[fast]["reason"] == "память"
    assert rows[fast]["used_pct"] == 48
    assert any("36 месяцев" in p for p in rows[fast]["problems"])  # УСН on a 15-month drive
    assert rows[slow]["full"] is None and rows[slow]["reason"] == "срок ключа"
    assert rows[slow]["replace_by"] == date_of(today + 60).isoformat()
    assert rows[slow]["level"] == "ok"
    assert [r["register_id"] for r in body["items"]] == [fast, slow]  # soonest first
    one = client.get(f"/api/drives/registers/{slow}", headers=headers).json()
    assert one["fn_number"] == "9999078900099999"
    use_cookie(client, headers)
    page = client.get("/drives")
    assert page.status_code == 200
    assert "График замены ФН" in page.text and 'data-testid="drive-chart"' in page.text
    assert "Просрочена замена ФН: касс — 1" in page.text
    assert "ФН не подходит режиму бизнеса: касс — 1" in page.text


def test_another_companys_register_is_not_found(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers_a, _ = signed_in(client, mailer, 1)
    headers_b, _ = signed_in(client, mailer, 2)
    rid = _register_with_history(engine, clock, company_id(client, headers_b))
    assert client.get(f"/api/drives/registers/{rid}", headers=headers_a).status_code == 404
    assert client.get("/api/drives/schedule", headers=headers_a).json()["items"] == []


def test_recommendation_follows_the_regime_rules(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)

    def advice(query: str) -> dict[str, object]:
        answer = client.get(f"/api/drives/recommendation?{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        result: dict[str, object] = answer.json()
        return result

    usn = advice("tax_systems=usn_income")
    assert usn["term_months"] == 36 and usn["required"] is True and usn["allowed_terms"] == [36]
    assert advice("tax_systems=osn&services=true")["term_months"] == 36
    excise = advice("tax_systems=usn_income&excise=true")
    assert excise["required"] is False and excise["term_months"] == 13  # 410 days whatever
    assert excise["days_by_term"] == {"13": 410, "15": 410, "36": 410}
    assert advice("tax_systems=psn&seasonal=true")["term_months"] == 13
    auto = advice("tax_systems=usn_income&autonomous=true")
    assert auto["days_by_term"]["36"] == 560  # type: ignore[index]
    bad = client.get("/api/drives/recommendation?tax_systems=envd", headers=headers)
    assert bad.status_code == 422 and "tax_systems" in bad.json()["fields"]


def test_purchase_is_paid_from_the_balance_once(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    order = {"model_code": "fn12-36", "quantity": 2, "request_key": "k1"}
    short = client.post("/api/drives/purchases", json=order, headers=headers)
    assert short.status_code == 409
    assert short.json()["message"] == "Недостаточно средств: пополните баланс на 31 800,00 ₽"
    with Session(engine) as session:
        assert session.exec(select(DrivePurchase)).all() == []
    top_up(client, headers, 4_000_000)
    bought = client.post("/api/drives/purchases", json=order, headers=headers)
    assert bought.status_code == 201, bought.text
    assert bought.json()["total"] == 3_180_000 and bought.json()["term_months"] == 36
    again = client.post("/api/drives/purchases", json=order, headers=headers)
    assert again.json()["id"] == bought.json()["id"]
    assert balance(client, headers) == 4_000_000 - 3_180_000
    history = client.get("/api/billing/balance", headers=headers).json()["history"]
    assert history[0]["kind"] == "drives" and history[0]["amount"] == -3_180_000
    listed = client.get("/api/drives/purchases", headers=headers).json()
    assert [p["id"] for p in listed] == [bought.json()["id"]]
    for bad, field in (
        ({**order, "model_code": "fn-99", "request_key": "k2"}, "model_code"),
        ({**order, "quantity": 0, "request_key": "k3"}, "quantity"),
    ):
        refused = client.post("/api/drives/purchases", json=bad, headers=headers)
        assert refused.status_code == 422 and field in refused.json()["fields"]
    assert balance(client, headers) == 4_000_000 - 3_180_000
    with Session(engine) as session:
        notes = session.exec(select(Notification)).all()
        assert [n.kind for n in notes] == ["drive.purchase"]


def test_purchase_page_advises_and_buys(client: TestClient, mailer: MemoryMailSender) -> None:
    headers, _ = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    page = client.get("/drives/purchase?advice=1&tax_systems=usn_income&services=true")
    assert page.status_code == 200
    assert "Рекомендуем ФН на 36 месяцев." in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "model_code": "fn12-13", "quantity": "1", "request_key": "p1"}
    short = client.post("/drives/purchase", data=form)
    assert short.status_code == 409 and "Недостаточно средств" in short.text
    top_up(client, headers, 1_000_000)
    done = client.post("/drives/purchase", data=form, follow_redirects=False)
    assert done.status_code == 303
    listing = client.get(done.headers["location"])
    assert "Покупка оформлена" in listing.text and "ФН-1.2 на 13 месяцев" in listing.text
    assert balance(client, headers) == 1_000_000 - 850_000
