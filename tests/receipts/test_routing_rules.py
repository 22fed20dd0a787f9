"""Routing's matching rules beyond the profile check: the store a receipt names, the place of
settlement (1187), the register's time zone (dated rules on its local day) and the tariff's
receipts quota (RoutingUsage), which a part that comes back unmade gives back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.billing.models import Tariff
from fleet.core.clock import SettableClock
from fleet.link.ingest_models import LinkCommand
from fleet.receipts.exceptions import InvalidReceiptError
from fleet.receipts.models import Receipt, ReceiptPart, ReceiptStatus, RoutingUsage
from fleet.receipts.queue import queue_depth
from fleet.receipts.routing import normal_place, route
from fleet.receipts.service import create_receipt
from fleet.receipts.tracker import not_executed, track
from fleet.registers.models import Register
from fleet.stores.models import Store
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company, parts

#: 2025-12-31 23:30 in Moscow = 2026-01-01 07:30 in Vladivostok (UTC+10)
NEW_YEAR_EVE_MSK = 1_767_213_000.0


def store(s: Session, clock: SettableClock, c: Company, name: str, tz: str) -> Store:
    st = Store(company_id=c.id, name=name, timezone=tz, created_at=clock.wall())  # type: ignore[arg-type]
    s.add(st)
    s.commit()
    return st


def put_in(s: Session, reg: Register, **values: Any) -> None:
    for k, v in values.items():
        setattr(reg, k, v)
    s.add(reg)
    s.commit()


def test_a_receipt_naming_a_store_goes_only_to_that_stores_registers(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        b = company(s, clock, 2)
        north = store(s, clock, a, "Север", "Europe/Moscow")
        south = store(s, clock, a, "Юг", "Europe/Moscow")
        other = store(s, clock, b, "Чужой", "Europe/Moscow")
        r_north = add_register(s, clock, a, "NORTH001")
        r_south = add_register(s, clock, a, "SOUTH001")
        put_in(s, r_north, store_id=north.id)
        put_in(s, r_south, store_id=south.id)
        for i in range(4):
            create_receipt(s, a, sale(f"n-{i}", 100 + i), clock=clock, store_id=south.id)
        create_receipt(s, a, sale("any-1", 300), clock=clock)
        try:
            create_receipt(s, a, sale("x-1", 300), clock=clock, store_id=other.id)
        except InvalidReceiptError as e:
            assert e.errors[0][:2] == ("store_id", "not_found")
        else:
            raise AssertionError("another company's store was accepted")
    assert route(engine, clock).routed == 5
    by_id = {p.request["items"][0]["price"]: p.register_id for p in parts(engine)}
    assert {by_id[100 + i] for i in range(4)} == {r_south.id}
    assert len(parts(engine)) == 5  # the refused one left nothing behind


def test_a_store_without_a_working_register_fails_the_part_and_names_why(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        empty = store(s, clock, a, "Пустая", "Europe/Moscow")
        add_register(s, clock, a, "ELSE0001")
        create_receipt(s, a, sale("e-1", 100), clock=clock, store_id=empty.id)
    assert route(engine, clock).unroutable == 1
    (p,) = parts(engine)
    assert p.status == ReceiptStatus.FAILED and p.retryable is False
    assert "касса другой торговой точки" in (p.failure or "")


def test_place_of_settlement_matches_the_registered_place_loosely(
    engine: Engine, clock: SettableClock
) -> None:
    assert normal_place(" HTTPS://Shop.RU/ ") == "shop.ru"
    assert normal_place("г. Москва,  ул. Ленина, д. 1") == "г. москва, ул. ленина, д. 1"
    base = {"ffd": "1.2", "tax_systems": ["osn"]}
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        shop = add_register(s, clock, a, "SHOPRU01", profile={**base, "place": "https://Shop.ru/"})
        add_register(s, clock, a, "OTHER001", profile={**base, "place": "other.ru"})
        add_register(
            s, clock, a, "ADDRESS1", profile={**base, "address": "г. Москва, ул. Ленина, д. 1"}
        )
        for i in range(3):
            create_receipt(s, a, sale(f"p-{i}", 100 + i, place="shop.ru"), clock=clock)
        create_receipt(s, a, sale("nowhere", 200, place="nowhere.ru"), clock=clock)
    stats = route(engine, clock)
    assert (stats.routed, stats.unroutable) == (3, 1)
    ps = {p.request["items"][0]["price"]: p for p in parts(engine)}
    assert {ps[100 + i].register_id for i in range(3)} == {shop.id}
    assert "не для места расчётов «nowhere.ru»" in (ps[200].failure or "")


def test_a_register_without_a_registered_place_takes_any_place(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        mobile = add_register(s, clock, a, "MOBILE01")  # no place or address in its profile
        create_receipt(s, a, sale("m-1", 100, place="Ярмарка, павильон 3"), clock=clock)
    assert route(engine, clock).routed == 1
    assert parts(engine)[0].register_id == mobile.id


def test_a_register_in_another_time_zone_is_checked_on_its_own_date(engine: Engine) -> None:
    # vat20 is gone from 2026-01-01: at 23:30 Moscow time on New Year's Eve a Moscow register
    # may still make a 20 % sale; one in Vladivostok, where it is already 1 January, may not
    clock = SettableClock(NEW_YEAR_EVE_MSK)
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        vl = store(s, clock, a, "Владивосток", "Asia/Vladivostok")
        msk = store(s, clock, a, "Москва", "Europe/Moscow")
        r_vl = add_register(s, clock, a, "VLADIVO1")
        r_msk = add_register(s, clock, a, "MOSCOW01")
        put_in(s, r_vl, store_id=vl.id)
        put_in(s, r_msk, store_id=msk.id)
        create_receipt(s, a, sale("ny-1", 100, vat="vat20"), clock=clock)
        create_receipt(s, a, sale("ny-2", 200, vat="vat20"), clock=clock, store_id=vl.id)
    stats = route(engine, clock)
    assert (stats.routed, stats.unroutable) == (1, 1)
    ps = {p.request["items"][0]["price"]: p for p in parts(engine)}
    assert ps[100].register_id == r_msk.id  # not least-loaded luck: Vladivostok refuses it
    assert ps[200].status == ReceiptStatus.FAILED
    assert "VLADIVO1" in (ps[200].failure or "") and "items[0].vat" in (ps[200].failure or "")


def _usage(engine: Engine) -> dict[int, int]:
    with Session(engine) as s:
        return {u.register_id: u.routed for u in s.exec(select(RoutingUsage)).all()}


def test_the_tariffs_quota_caps_a_month_and_an_unmade_part_gives_its_place_back(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            Tariff(
                code="mini", name="Мини", price_kop=100, receipts_quota=2,
                created_at=clock.wall(), updated_at=clock.wall(),
            )
        )  # fmt: skip
        a = company(s, clock, 1)
        mini = add_register(s, clock, a, "MINI0001")
        put_in(s, mini, tariff_code="mini")
        for i in range(3):
            create_receipt(s, a, sale(f"q-{i}", 100 + i), clock=clock)
    stats = route(engine, clock)
    assert (stats.routed, stats.unroutable) == (2, 1)
    assert _usage(engine) == {mini.id: 2}
    failed = [p for p in parts(engine) if p.status == ReceiptStatus.FAILED]
    assert len(failed) == 1 and failed[0].retryable is True
    assert "исчерпана квота тарифа: 2 чеков в месяц" in (failed[0].failure or "")
    # the register answers "not executed" for one part: it is no longer counted, and the part
    # comes back to routing (the register, the only one, takes it again under a new id)
    first = next(p for p in parts(engine) if p.status == ReceiptStatus.QUEUED)
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            LinkCommand(
                register_id=mini.id, request_id=first.request_id,  # type: ignore[arg-type]
                result_status="failed", result={"retryable": True, "errors": []},
                result_at=clock.wall(),
            )
        )  # fmt: skip
        s.commit()
    clock.advance(10)
    assert track(engine, clock, quiet_s=5).rerouted == 1
    assert _usage(engine) == {mini.id: 1}
    assert route(engine, clock).routed == 1
    assert _usage(engine) == {mini.id: 2}
    # a new Moscow month starts from zero
    with Session(engine, expire_on_commit=False) as s:
        create_receipt(s, a, sale("q-next", 500), clock=clock)
    assert route(engine, clock).unroutable == 1
    clock.advance(31 * 86400)
    with Session(engine, expire_on_commit=False) as s:
        create_receipt(s, a, sale("q-later", 600), clock=clock)
    assert route(engine, clock).routed == 1
    with Session(engine) as s:
        rows = s.exec(select(RoutingUsage).order_by(RoutingUsage.period)).all()  # type: ignore[arg-type]
    assert [(u.period, u.routed) for u in rows] == [("2024-01", 2), ("2024-02", 1)]


def test_a_part_refused_by_the_register_gives_its_quota_place_back(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "REFUSE01")
        create_receipt(s, a, sale("rf-1", 100), clock=clock)
    route(engine, clock)
    assert _usage(engine) == {reg.id: 1}
    (p,) = parts(engine)
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            LinkCommand(
                register_id=reg.id, request_id=p.request_id,  # type: ignore[arg-type]
                result_status="failed", result={"retryable": False, "errors": []},
                result_at=clock.wall(),
            )
        )  # fmt: skip
        s.commit()
    assert track(engine, clock).failed == 1
    assert _usage(engine) == {reg.id: 0}
    with Session(engine) as s:
        assert s.get(ReceiptPart, p.id).status == ReceiptStatus.FAILED  # type: ignore[union-attr]


def test_the_queue_by_store_shows_a_stores_waiting_parts_and_their_lag(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        shop = store(s, clock, a, "Магазин на Ленина", "Europe/Moscow")
        reg = add_register(s, clock, a, "QSTORE01", online=False)  # it waits for this one
        put_in(s, reg, store_id=shop.id)
        add_register(s, clock, a, "QOTHER01")
        for i in range(3):
            create_receipt(s, a, sale(f"qs-{i}", 100 + i), clock=clock, store_id=shop.id)
        create_receipt(s, a, sale("qs-any", 300), clock=clock)
    route(engine, clock)
    clock.advance(12)
    with Session(engine) as s:
        rows = queue_depth(s.connection(), clock.wall(), company_id=a.id, group_by="store")
    assert {r["group"]: (r["waiting"], r["queued"], r["lag_s"]) for r in rows} == {
        "Магазин на Ленина": (3, 0, 12.0),
        "без торговой точки": (0, 1, 12.0),
    }


def test_not_executed_moves_a_dead_registers_unmade_parts_and_gives_quota_back(
    engine: Engine, clock: SettableClock
) -> None:
    # the entry point the operator's "declare dead" flow calls for parts its archive proves
    # were not made: the same move as a "not executed" answer
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        dead = add_register(s, clock, a, "DEADREG1")
        for i in range(3):
            create_receipt(s, a, sale(f"d-{i}", 100 + i), clock=clock)
    route(engine, clock)
    ps = parts(engine)
    assert {p.register_id for p in ps} == {dead.id} and _usage(engine) == {dead.id: 3}
    moved_ids = [ps[0].id, ps[1].id]
    with engine.begin() as conn:
        stats = not_executed(conn, dead.id, moved_ids, clock.wall(), "касса выведена из работы")  # type: ignore[arg-type]
        # a part not queued there (wrong register) is left alone
        assert not_executed(conn, dead.id + 1, [ps[2].id], clock.wall(), "нет").rerouted == 0  # type: ignore[operator]
    assert stats.rerouted == 2 and _usage(engine) == {dead.id: 1}
    after = {p.id: p for p in parts(engine)}
    for pid in moved_ids:
        p = after[pid]
        assert p.status == ReceiptStatus.ACCEPTED and p.register_id is None
        assert p.tried == [dead.id] and p.request_id.endswith(".1")
        assert p.request["id"] == p.request_id and p.failure == "касса выведена из работы"
    assert after[ps[2].id].status == ReceiptStatus.QUEUED
    with Session(engine) as s:
        statuses = {r.external_id: r.status for r in s.exec(select(Receipt)).all()}
    assert statuses == {"d-0": "accepted", "d-1": "accepted", "d-2": "queued"}
