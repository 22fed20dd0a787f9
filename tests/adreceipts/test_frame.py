"""`render.frame`: consent, campaign > register > store precedence, periods, the receipt kept
as made; consent recorded from a receipt request and through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.adreceipts import consent, design, markup, render, service
from fleet.adreceipts.exceptions import InvalidAdTemplateError
from fleet.adreceipts.models import AdConsent, AssignmentKind, ConsentSource
from fleet.core.clock import SettableClock
from tests.adreceipts.builders import Shop, png, receipt_to, shop
from tests.fleet.test_registers import _signed_in
from tests.receipts.builders import sale

RECEIPT = "<div data-receipt><b>ИТОГ 480,00</b> ФН 7380440800000001 ФД 1234 ФП 2881964133</div>"
DAY = 24 * 3600.0


def template(session: Session, clock: SettableClock, s: Shop, greeting: str) -> int:
    data = design.check(
        design.RawTemplate(
            name=greeting,
            greeting=greeting,
            logo_upload=png(),
            banners=(design.RawBanner(link="https://a.ru/x", erid="LjN8Kaaxi", upload=png(3)),),
        )
    )
    row = service.create_template(session, clock, s.principal, data)
    assert row.id is not None
    return row.id


def agree(session: Session, clock: SettableClock, s: Shop, contact: str, yes: bool = True) -> None:
    consent.record(
        session, clock, company_id=s.company_id, contact=contact, granted=yes,
        source=ConsentSource.CABINET,
    )  # fmt: skip
    session.commit()


def greeting_of(framed: str | None) -> str | None:
    if framed is None:
        return None
    start = framed.index('data-ad="greeting">') + len('data-ad="greeting">')
    return framed[start : framed.index("</p>", start)]


def test_no_consent_means_a_plain_receipt(engine: Engine, clock: SettableClock) -> None:
    with Session(engine) as session:
        s = shop(session, clock, 1)
        t = template(session, clock, s, "Магазин")
        service.add_assignment(
            session,
            clock,
            s.principal,
            t,
            service.AssignmentInput(AssignmentKind.STORE, store_id=s.store_id),
        )
        rid = receipt_to(
            session, clock, s.company_id, "Buyer@Example.ru", register_id=s.register_id
        )
        assert render.frame(session, rid, RECEIPT) is None  # nobody agreed
        agree(session, clock, s, "buyer@example.ru", yes=False)
        assert render.frame(session, rid, RECEIPT) is None  # refused
        agree(session, clock, s, " BUYER@example.ru ")
        framed = render.frame(session, rid, RECEIPT)
        assert framed is not None and greeting_of(framed) == "Магазин"
        assert markup.fiscal_of(framed) == RECEIPT  # the receipt exactly as made
        assert "data:image/png;base64," in framed  # no base URL: pictures inline
        linked = render.frame(session, rid, RECEIPT, base_url="https://lk.oblako.ru/")
        assert linked is not None and 'src="https://lk.oblako.ru/ad/images/' in linked
        assert markup.fiscal_of(linked) == RECEIPT
        no_contact = receipt_to(session, clock, s.company_id, None, register_id=s.register_id)
        assert render.frame(session, no_contact, RECEIPT) is None
        assert render.frame(session, 10_000, RECEIPT) is None


def test_campaign_beats_register_beats_store_within_periods(
    engine: Engine, clock: SettableClock
) -> None:
    now = clock.wall()
    with Session(engine) as session:
        s = shop(session, clock, 2)
        agree(session, clock, s, "+7 (900) 123-45-67")
        by_store, by_register, by_campaign = (
            template(session, clock, s, g) for g in ("Магазин", "Касса", "Кампания")
        )
        add = service.add_assignment
        add(
            session,
            clock,
            s.principal,
            by_store,
            service.AssignmentInput(AssignmentKind.STORE, store_id=s.store_id),
        )

        def greeting(register_id: int | None, at: float) -> str | None:
            rid = receipt_to(
                session, clock, s.company_id, "89001234567", register_id=register_id, at=at
            )
            return greeting_of(render.frame(session, rid, RECEIPT))

        assert greeting(s.register_id, now) == "Магазин"  # the register's store
        assert greeting(s.loose_register_id, now) is None  # in no store, nothing assigned
        add(
            session,
            clock,
            s.principal,
            by_register,
            service.AssignmentInput(AssignmentKind.REGISTER, register_id=s.register_id),
        )
        assert greeting(s.register_id, now) == "Касса"
        spring = service.AssignmentInput(
            AssignmentKind.CAMPAIGN, campaign="Весна", starts_at=now + DAY, ends_at=now + 2 * DAY
        )
        add(session, clock, s.principal, by_campaign, spring)
        assert greeting(s.register_id, now) == "Касса"  # before the campaign
        assert greeting(s.register_id, now + DAY) == "Кампания"  # its first second
        assert greeting(s.loose_register_id, now + DAY) == "Кампания"  # every register
        assert greeting(s.register_id, now + 2 * DAY) == "Касса"  # the end is exclusive


def test_campaign_narrowed_to_a_store(engine: Engine, clock: SettableClock) -> None:
    now = clock.wall()
    with Session(engine) as session:
        s = shop(session, clock, 3)
        agree(session, clock, s, "a@b.ru")
        t = template(session, clock, s, "Точка")
        here = service.AssignmentInput(
            AssignmentKind.CAMPAIGN,
            campaign="Точка",
            store_id=s.store_id,
            starts_at=now - 1,
            ends_at=now + 1,
        )
        service.add_assignment(session, clock, s.principal, t, here)
        inside = receipt_to(session, clock, s.company_id, "a@b.ru", register_id=s.register_id)
        outside = receipt_to(
            session, clock, s.company_id, "a@b.ru", register_id=s.loose_register_id
        )
        assert greeting_of(render.frame(session, inside, RECEIPT)) == "Точка"
        assert render.frame(session, outside, RECEIPT) is None


def test_bad_assignments_are_refused_and_change_nothing(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        s, other = shop(session, clock, 4), shop(session, clock, 5)
        t = template(session, clock, s, "x")
        cases = [
            (
                service.AssignmentInput(
                    AssignmentKind.CAMPAIGN, campaign="", starts_at=1, ends_at=2
                ),
                "campaign",
            ),
            (
                service.AssignmentInput(
                    AssignmentKind.CAMPAIGN, campaign="В", starts_at=None, ends_at=2
                ),
                "period",
            ),
            (
                service.AssignmentInput(
                    AssignmentKind.CAMPAIGN, campaign="В", starts_at=5, ends_at=5
                ),
                "period",
            ),
            (service.AssignmentInput(AssignmentKind.STORE, store_id=other.store_id), "store_id"),
            (
                service.AssignmentInput(AssignmentKind.REGISTER, register_id=other.register_id),
                "register_id",
            ),
            (service.AssignmentInput(AssignmentKind.REGISTER), "register_id"),
        ]
        for a, field in cases:
            try:
                service.add_assignment(session, clock, s.principal, t, a)
            except InvalidAdTemplateError as exc:
                assert field in exc.fields
                session.rollback()
            else:
                raise AssertionError(f"accepted {a}")
        assert service.assignments_of(session, t) == []


def test_consent_from_the_request_and_the_api(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers = _signed_in(client, mailer, 6)
    bad = client.post(
        "/api/adreceipts/consents",
        json={"contact": "not a contact", "granted": True},
        headers=headers,
    )
    assert bad.status_code == 422 and "e-mail или телефон" in bad.json()["message"]
    ok = client.post(
        "/api/adreceipts/consents",
        json={"contact": "Ivan@Mail.ru", "granted": True},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["contact"] == "i***@m***.ru" and ok.json()["source"] == "api"
    with Session(engine) as session:
        row = session.exec(select(AdConsent)).one()
        assert "ivan" not in row.contact_hash and row.granted  # only the hash and the mask kept
        company_id = row.company_id
        assert consent.granted(session, company_id, "ivan@mail.ru")
        assert not consent.granted(session, company_id + 1, "ivan@mail.ru")  # per company
    # the receipt request carries the flag: recorded for its buyer_contact, from the request
    made = client.post(
        "/api/receipts?ad_consent=true",
        json=sale("ad-1", 10000, buyer_contact="petr@example.ru"),
        headers=headers,
    )
    assert made.status_code == 201, made.text
    silent = client.post(
        "/api/receipts", json=sale("ad-2", 10000, buyer_contact="anna@example.ru"), headers=headers
    )
    assert silent.status_code == 201
    with Session(engine) as session:
        assert consent.granted(session, company_id, "petr@example.ru")
        assert not consent.granted(session, company_id, "anna@example.ru")  # silence is not consent
        petr = session.exec(select(AdConsent).where(AdConsent.masked == "p***@e***.ru")).one()
        assert petr.source == "receipt_request" and petr.receipt_id == made.json()["id"]
    withdrawn = client.post(
        "/api/receipts?ad_consent=false",
        json=sale("ad-3", 10000, buyer_contact="PETR@example.ru"),
        headers=headers,
    )
    assert withdrawn.status_code == 201
    with Session(engine) as session:
        assert not consent.granted(session, company_id, "petr@example.ru")
