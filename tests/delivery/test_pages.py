"""«Чеки покупателям» over HTTP: stats, masked journal, resend with progress, settings, the
buyer's export and erasure (audited), and the public receipt page with its QR code."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.delivery.models import Delivery, DeliveryRoute
from fleet.delivery.worker import DeliveryState
from fleet.main import create_app
from fleet.registers.models import Register, RegisterState
from simulator.channels import Outcome
from tests.delivery.world import World, make_world
from tests.fleet.test_billing_kit import company_id, signed_in, use_cookie


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _world(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> World:
    headers, _ = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    return make_world(engine, clock, company_id=company_id(client, headers))


def test_section_shows_stats_masked_journal_and_resends(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _world(client, mailer, engine, clock)
    ok = w.receipt("+79161234567")
    worker = w.worker()
    worker.run_once()  # sms sent; delivered when its report comes
    clock.advance(60)
    worker.run_once()
    bad = w.receipt("+79167654321")
    for ch in ("sms", "vk", "ok"):
        w.fake.script[ch] = [Outcome.FAIL]
    for _ in range(6):
        clock.advance(60)
        worker.run_once()
    page = client.get("/receipts/delivery")
    assert page.status_code == 200
    html = page.text
    assert "Чеки покупателям" in html and 'data-testid="delivery-chart"' in html
    assert "+7********67" in html and "+7********21" in html
    assert "9161234567" not in html and "9167654321" not in html
    with Session(engine) as s:
        d_bad = s.exec(select(Delivery).where(Delivery.receipt_id == bad)).one()
        d_ok = s.exec(select(Delivery).where(Delivery.receipt_id == ok)).one()
    assert d_ok.state == DeliveryState.DELIVERED and d_bad.state == DeliveryState.FAILED
    w.fake.script.clear()
    r = client.post(
        "/receipts/delivery/resend",
        data={"csrf_token": _csrf(html), "id": str(d_bad.id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    resent = client.get(r.headers["location"])
    assert 'data-testid="resend-progress"' in resent.text and "0 из 1" in resent.text
    worker.run_once()
    clock.advance(60)
    worker.run_once()
    mark = re.search(r"resent=([0-9.]+)", r.headers["location"])
    assert mark is not None
    frag = client.get(f"/receipts/delivery/progress?resent={mark.group(1)}")
    assert "Готово: 1 из 1" in frag.text and "hx-trigger" not in frag.text


def test_settings_route_retention_and_buyer_requests(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _world(client, mailer, engine, clock)
    rid = w.receipt("Ivan@Mail.ru")
    w.worker().run_once()
    page = client.get("/receipts/delivery/settings")
    assert page.status_code == 200
    token = _csrf(page.text)
    r = client.post(
        "/receipts/delivery/settings/route",
        data={
            "csrf_token": token,
            "scope": f"register:{w.register_id}",
            "order": ["vk", "sms", ""],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    bad = client.post(
        "/receipts/delivery/settings/route",
        data={"csrf_token": token, "scope": "company", "order": ["sms", "sms"]},
    )
    assert bad.status_code == 422 and "дважды" in bad.text
    with Session(engine) as s:
        [route] = s.exec(select(DeliveryRoute)).all()
        assert route.order == ["vk", "sms"] and route.register_id == w.register_id
    assert (
        client.post(
            "/receipts/delivery/settings/retention",
            data={"csrf_token": token, "retention_days": "0"},
        ).status_code
        == 422
    )
    exported = client.post(
        "/receipts/delivery/buyer/export", data={"csrf_token": token, "contact": "ivan@mail.ru "}
    )
    assert exported.status_code == 200
    assert exported.json()["receipts"][0]["attempts"][0]["address"] == "i***@m***.ru"
    erased = client.post(
        "/receipts/delivery/buyer/erase",
        data={"csrf_token": token, "contact": "IVAN@mail.ru"},
        follow_redirects=False,
    )
    assert erased.status_code == 303 and "erased=1" in erased.headers["location"]
    with Session(engine) as s:
        d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one()
        assert d.contact is None and d.masked == "i***@m***.ru"
        actions = {a.action for a in s.exec(select(AuditLog))}
    assert {"delivery.contact_export", "delivery.contact_erase"} <= actions


def test_public_page_shows_fiscal_data_and_qr_without_sign_in(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _world(client, mailer, engine, clock)
    rid = w.receipt("+79161234567", total=45600)
    w.worker().run_once()
    with Session(engine) as s:
        d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one()
    client.cookies.clear()
    page = client.get(f"/r/{d.token}")
    assert page.status_code == 200
    assert "456,00" in page.text and "ФП" in page.text and "1234567890" in page.text
    assert "<svg" in page.text and 'name="viewport"' in page.text
    assert "+7916" not in page.text
    assert client.get("/r/" + "x" * 43).status_code == 404
    assert client.get("/r/short").status_code == 404


def test_the_app_runs_the_delivery_thread(
    settings: Settings, engine: Engine, clock: SettableClock, mailer: MemoryMailSender
) -> None:
    live = settings.model_copy(
        update={"run_jobs": True, "delivery_loopback": True, "delivery_poll_s": 0.05}
    )
    wall = SettableClock(time.time())
    world = make_world(engine, wall)
    with Session(engine) as s:  # not billable: the monthly charge job has nothing to do
        reg = s.get(Register, world.register_id)
        assert reg is not None
        reg.state = RegisterState.FREE.value
        s.add(reg)
        s.commit()
    rid = world.receipt("+79161234567")
    with TestClient(create_app(live, clock=wall, mailer=mailer, engine=engine)):
        end = time.monotonic() + 20
        state = None
        while time.monotonic() < end:
            with Session(engine) as s:
                d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).first()
                state = d.state if d else None
            if state == DeliveryState.DELIVERED:
                break
            time.sleep(0.05)
    assert state == DeliveryState.DELIVERED  # SMS through the app's loopback provider
