"""Every check against a register on a simulated drive: the violation and a clean case.

Documents come from the firmware register (tests/compliance/world.py) through the ingest; a
violation is made the way it happens in life: a register whose settings drifted from its
registration report, a register left off with its shift open, a drive close to its end, a
clock that runs ahead. Checks whose violation our register refuses to make (K11, K12, K13, K25)
have a test that shows the refusal, and tests where a register that skips the shared rules
(World.unchecked) makes the violating document on its simulated drive.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.compliance.catalogue import CHECKS, Severity, by_code, fix_link
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.compliance.rules import RULES
from tests.compliance.world import MSK, World
from tests.firmware.test_register import KM
from tests.firmware.test_register import marked_sale as _marked_sale
from tests.firmware.test_register import sale as _sale

DAY = 86400.0


def sale(rid: str, total: int, **kw: Any) -> dict[str, Any]:
    """A sale at the 2026 rate (the world's clock is in 2026)."""
    kw.setdefault("vat", "vat22")
    return _sale(rid, total, **kw)


def marked_sale(rid: str, **kw: Any) -> dict[str, Any]:
    r = _marked_sale(rid, **kw)
    for it in r["items"]:
        it["vat"] = "vat22"
    return r


def world(engine: Engine, tmp: Path, **kw: Any) -> World:
    return World(engine, tmp, **kw)


def item(**over: Any) -> dict[str, Any]:
    it = {"name": "Товар", "price": 10000, "quantity": "1", "measure": 0, "sum": 10000,
          "vat": "vat22", "type": 1, "method": "full_payment"}  # fmt: skip
    it.update(over)
    return it


def receipt_of(rid: str, *items: dict[str, Any], **over: Any) -> dict[str, Any]:
    total = sum(i["sum"] for i in items)
    r = sale(rid, total)
    r.update(items=list(items), payments={"cash": total}, total=total)
    r.update(over)
    return r


AGENT_ITEM = item(
    agent_info={
        "type": "paying_agent",
        "paying_agent": {"operation": "Оплата", "phones": ["+79001112233"]},
    },
    supplier_info={"name": "ООО Поставщик", "inn": "7704358518", "phones": ["+79001112244"]},
)


def test_every_check_is_declared_with_a_rule_and_text() -> None:
    assert len(CHECKS) >= 20
    assert {c.code for c in CHECKS} == set(RULES)
    for c in CHECKS:
        assert c.title and c.basis and c.rule and c.explanation and c.fix_steps
    assert all(c.severity == Severity.CRITICAL for c in CHECKS if c.code in ("K01", "K16", "K21"))


def test_fix_links_lead_to_pages_the_viewer_can_open() -> None:
    k01, k20, k23 = (by_code(c) for c in ("K01", "K20", "K23"))
    assert k01 is not None and k20 is not None and k23 is not None
    assert fix_link(k01, 5, None) is None  # a client has no shift commands
    assert fix_link(k01, 5, None, operator=True) == ("Команды кассы", "/console/registers/5")
    assert fix_link(k20, 5, None) == ("Перерегистрация", "/registers/5/registration")
    assert fix_link(k23, None, 7) == ("Пробить чеки по выписке", "/receipts/import")


# ---- K01 shift ------------------------------------------------------------------------------


def test_k01_a_shift_left_open_over_24_hours(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.receipt(sale("s1", 1000))  # opens the shift
    w.advance(20 * 3600, step=False)
    assert w.check("K01") == []
    w.advance(5 * 3600, step=False)  # the register is off: nobody closes the shift
    (f,) = w.check("K01")
    assert f.severity == "critical" and "Смена открыта 25 ч" in f.detail
    # it comes back on, closes the shift itself and the finding is fixed
    w.advance(60)
    w.receipt(sale("s2", 1000))
    assert w.check("K01") == []
    assert _status(engine, f.id) == FindingStatus.FIXED.value


# ---- K02 OFD ------------------------------------------------------------------------------


def test_k02_documents_unconfirmed_by_the_ofd(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)  # no OFD: nothing gets confirmed
    w.register()
    w.receipt(sale("s1", 1000))
    w.advance(2 * DAY, step=False)
    assert w.check("K02") == []
    w.advance(2 * DAY, step=False)
    (f,) = w.check("K02")
    assert f.severity == "high"
    w.advance(22 * DAY, step=False)
    (f,) = w.check("K02")
    assert f.severity == "critical"


# ---- K03, K04 drive --------------------------------------------------------------------------


def test_k03_a_drive_at_the_end_of_its_term(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register()
    ok.advance(60)
    assert ok.check("K03") == []
    w = world(engine, tmp_path / "end", drive={"lifetime_days": 20})
    w.register()
    w.advance(60)  # the state tells the drive's warning flags
    (f,) = w.check("K03")
    assert f.severity == "high" and f.detail == "ФН предупреждает: срок ключа подходит к концу"
    w.advance(18 * DAY)
    (f,) = w.check("K03")
    assert f.severity == "critical"


def test_k04_a_drive_archive_nearly_full(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register()
    ok.advance(60)
    assert ok.check("K04") == []
    w = world(engine, tmp_path / "full", drive={"archive_capacity": 30})
    w.register()
    for n in range(25):  # with the registration and the shift opening: 27 of 30 = 90 %
        w.receipt(sale(f"s{n}", 1000 + n))
    w.advance(60)
    (f,) = w.check("K04")
    assert f.severity == "high"


# ---- K05 drive term -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tax", "days", "found"),
    [
        (["usn_income"], 470, True),  # a 15-month drive (simulator/fn: key life in days)
        (["usn_income"], 396, True),  # 13 months
        (["usn_income"], 1100, False),  # 36 months
        (["osn"], 470, False),  # ОСН may use a 15-month drive
    ],
)
def test_k05_a_short_drive_for_a_special_regime(
    engine: Engine, tmp_path: Path, tax: list[str], days: int, found: bool
) -> None:
    # the drive's term as the register reports it: 32h's validity end in its state
    w = world(engine, tmp_path, drive={"lifetime_days": days})
    w.register(tax_systems=tax)
    w.advance(60)
    findings = w.check("K05")
    assert bool(findings) is found
    if found:
        assert findings[0].detail == f"ФН на {13 if days < 430 else 15} мес."


# ---- K06-K10 settlements the registration does not allow ---------------------------------


def _drifted(w: World, **profile: Any) -> None:
    """The register's settings allow what its registration report does not."""
    assert w.reg.profile is not None
    w.reg.profile.update(profile)


def test_k06_excise_goods_without_the_flag(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register(modes=["excise"])
    ok.receipt(receipt_of("e1", item(type=2)))
    assert ok.check("K06") == []
    w = world(engine, tmp_path / "bad", company_no=2)
    w.register()
    _drifted(w, excise=True)
    w.receipt(receipt_of("e1", item(type=2)))
    (f,) = w.check("K06")
    assert f.document_id is not None and f.company_id == w.company_id


def test_k07_an_agent_sale_without_the_agent_flag(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register(agent_types=["paying_agent"])
    ok.receipt(receipt_of("a1", AGENT_ITEM))
    assert ok.check("K07") == []
    w = world(engine, tmp_path / "bad")
    w.register()
    _drifted(w, agent=True)
    w.receipt(receipt_of("a1", AGENT_ITEM))
    assert len(w.check("K07")) == 1


def test_k08_gambling_and_lottery_without_their_flags(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register(modes=["gambling", "lottery"])
    ok.receipt(receipt_of("g1", item(type=5, vat="none")))
    ok.receipt(receipt_of("l1", item(type=7, vat="none")))
    assert ok.check("K08") == []
    w = world(engine, tmp_path / "bad")
    w.register(modes=["gambling"])
    _drifted(w, lottery=True)
    w.receipt(receipt_of("g1", item(type=5, vat="none")))
    assert w.check("K08") == []
    w.receipt(receipt_of("l1", item(type=7, vat="none")))
    assert len(w.check("K08")) == 1


def test_k09_receipts_from_an_automat_not_registered_as_one(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok")
    ok.register(modes=["automat"], automat_number="A-17")
    ok.receipt(sale("s1", 1000))
    assert ok.check("K09") == []
    w = world(engine, tmp_path / "bad")
    w.register()
    _drifted(w, automat_number="A-17")
    w.receipt(sale("s1", 1000))
    assert len(w.check("K09")) == 1


def test_k10_cash_on_an_internet_only_register(engine: Engine, tmp_path: Path) -> None:
    site = {"place": "https://shop.example.ru", "buyer_contact": "buyer@example.ru"}
    ok = world(engine, tmp_path / "ok")
    ok.register(modes=["internet"], place="https://shop.example.ru")
    ok.receipt({**sale("s1", 1000, pay="electronic"), **site})
    assert ok.check("K10") == []
    w = world(engine, tmp_path / "bad")
    w.register(modes=["internet"], place="https://shop.example.ru")
    _drifted(w, internet_only=False)
    w.receipt({**sale("s1", 1000), **site})
    assert len(w.check("K10")) == 1


# ---- K11-K13, K25: our register refuses; a register that skips the rules makes them --------


def test_k11_k12_k13_k25_our_register_refuses_the_violations(
    engine: Engine, tmp_path: Path
) -> None:
    w = world(engine, tmp_path)
    w.register(tax_systems=["osn", "patent"])
    refused = [
        w.request("receipt", {**sale("i1", 1000), "internet": True}),  # K11: no contact
        w.request("receipt", {**sale("v1", 1000, vat="vat20")}),  # K13: 20 % in 2026
        w.request("receipt", {**sale("v2", 1000, vat="vat5")}),  # K13: 5 % on ОСН
        w.request("receipt", {**sale("v3", 1000), "tax_system": "patent"}),  # K13: VAT on ПСН
        w.request("receipt", {**sale("t1", 1000), "total": 999}),  # K25
    ]
    assert all(r["status"] == "failed" for r in refused), refused
    w.receipt({**sale("i2", 1000), "internet": True, "buyer_contact": "+79001234567",
               "place": "https://shop.example.ru"})  # fmt: skip
    w.receipt({**sale("p1", 1000, vat="none"), "tax_system": "patent"})
    for code in ("K11", "K12", "K13", "K25"):
        assert w.check(code) == [], code


SITE = {"internet": True, "buyer_contact": "+79001234567", "place": "https://shop.example.ru"}


def test_k11_an_internet_sale_without_the_buyer_contact(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.unchecked({**sale("i1", 1000), **SITE}, lambda n: None)
    assert w.check("K11") == []
    w.unchecked({**sale("i2", 1000), **SITE}, lambda n: n.update(buyer_contact=None))
    (f,) = w.check("K11")
    assert f.detail == "Документов: 1" and f.document_id is not None


def test_k12_an_internet_only_register_without_the_internet_flag(
    engine: Engine, tmp_path: Path
) -> None:
    w = world(engine, tmp_path)
    w.register(modes=["internet"], place="https://shop.example.ru")
    site = {**SITE, "payments": {"electronic": 1000}}
    w.unchecked({**sale("i1", 1000), **site}, lambda n: None)
    assert w.check("K12") == []
    w.unchecked({**sale("i2", 1000), **site}, lambda n: n.update(internet=False))
    assert len(w.check("K12")) == 1


def _vat20(n: dict[str, Any]) -> None:
    for it in n["items"]:  # the 2025 rate, code 1 (20 %), in a 2026 sale
        it["vat"], it["vat_sum"] = 1, it["sum"] * 20 // 120


def test_k13_a_2025_vat_rate_in_a_2026_sale(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.unchecked(sale("v1", 1200), lambda n: None)
    assert w.check("K13") == []
    w.unchecked(sale("v2", 1200), _vat20)
    (f,) = w.check("K13")
    assert f.detail == "Документов: 1"


def test_k13_vat_in_a_patent_receipt(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register(tax_systems=["osn", "patent"])
    w.receipt({**sale("p1", 1000, vat="none"), "tax_system": "patent"})
    assert w.check("K13") == []
    w.unchecked(sale("p2", 1200), lambda n: n.update(tax_system=32))  # ПСН (1055 bit 5)
    assert len(w.check("K13")) == 1


def test_k25_a_total_that_is_not_the_sum_of_its_items(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.unchecked(sale("t1", 1000), lambda n: None)
    assert w.check("K25") == []

    def short(n: dict[str, Any]) -> None:
        n["total"] = 900
        n["payments"]["cash"] = 900

    w.unchecked(sale("t2", 1000), short)
    (f,) = w.check("K25")
    assert f.severity == "high"


# ---- K14 tax system ----------------------------------------------------------------------


def test_k14_a_tax_system_not_in_the_registration(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register(tax_systems=["osn"])
    w.receipt(sale("s1", 1000))
    assert w.check("K14") == []
    _drifted(w, tax_systems=["osn", "usn_income"])
    w.receipt({**sale("s2", 1000), "tax_system": "usn_income"})
    (f,) = w.check("K14")
    assert f.detail == "Документов: 1"


# ---- K15, K16 marking ---------------------------------------------------------------------


def test_k15_a_good_subject_to_marking_sold_without_its_code(
    engine: Engine, tmp_path: Path
) -> None:
    w = world(engine, tmp_path)
    w.register(modes=["marking"])
    w.receipt(marked_sale("m1"))
    assert w.check("K15") == []
    w.receipt(receipt_of("m2", item(type=32)))
    assert len(w.check("K15")) == 1


def test_k16_a_sale_despite_a_negative_code_check(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register(modes=["marking"])
    w.receipt(marked_sale("m1"))
    assert w.check("K16") == []
    unit = w.model.marking
    check = unit.check

    def negative(code_type: int, length: int, payload: bytes) -> bytes:
        # the simulator's own negative path: a code it finds malformed
        if payload.startswith(b"BAD"):
            return check(code_type, 1, b"\x01")
        return check(code_type, length, payload)

    unit.check = negative  # type: ignore[assignment, method-assign]
    w.receipt(marked_sale("m2", code="BAD" + KM, allow_negative_marking=True))
    (f,) = w.check("K16")
    assert f.severity == "critical"


# ---- K17-K19 FNS risk indicators ----------------------------------------------------------


def test_k17_returns_over_30_percent_of_sales(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    for n in range(10):
        w.receipt(sale(f"s{n}", 1000 + n))
    w.receipt(sale("r0", 1000, operation="sale_return"))
    w.receipt(sale("r1", 1001, operation="sale_return"))
    assert w.check("K17") == []
    w.receipt(sale("r2", 1002, operation="sale_return"))
    (f,) = w.check("K17")
    assert "30 %" in f.detail


def test_k18_corrections_over_30_percent(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    today = dt.datetime.fromtimestamp(w.clock.wall(), MSK).date().isoformat()
    correction = {"type": "self", "original_date": today}
    for n in range(6):
        w.receipt(sale(f"s{n}", 1000 + n))
    w.receipt({**sale("c0", 500), "correction": correction})
    assert w.check("K18") == []  # 1 of 9 (registration, shift opening, 6 sales, correction)
    for n in range(1, 4):
        w.receipt({**sale(f"c{n}", 500 + n), "correction": correction})
    assert len(w.check("K18")) == 1  # 4 of 12


def test_k19_a_silent_register(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.receipt(sale("s1", 1000))
    w.advance(30 * DAY, step=False)
    assert w.check("K19") == []
    w.advance(16 * DAY, step=False)
    (f,) = w.check("K19")
    assert f.severity == "medium"
    w.advance(15 * DAY, step=False)
    (f,) = w.check("K19")
    assert f.severity == "high"


# ---- K20, K21 registration drift ------------------------------------------------------------


def test_k20_a_receipt_from_another_place(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.receipt(sale("s1", 1000))
    assert w.check("K20") == []
    w.receipt({**sale("s2", 1000), "place": "Склад на Лесной"})
    assert len(w.check("K20")) == 1


def test_k21_a_drive_swapped_without_re_registration(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.advance(2 * DAY)
    assert w.check("K21") == []
    w.swap_drive()
    w.advance(2 * DAY)
    (f,) = w.check("K21")
    assert f.severity == "critical"


# ---- K22, K24 settlements ---------------------------------------------------------------


def test_k22_a_full_prepayment_never_settled(engine: Engine, tmp_path: Path) -> None:
    pre = item(vat="vat122", method="full_prepayment", type=10)
    w = world(engine, tmp_path)
    w.register()
    w.receipt(receipt_of("p1", pre))
    w.receipt(receipt_of("p2", {**pre, "price": 20000, "sum": 20000}))
    w.receipt({**receipt_of("f1", item()), "payments": {"prepayment": 10000}})  # settles p1
    w.advance(31 * DAY)
    (f,) = w.check("K22")
    assert f.detail == "Документов: 1"  # p2 only


def test_k24_a_return_larger_than_any_sale(engine: Engine, tmp_path: Path) -> None:
    w = world(engine, tmp_path)
    w.register()
    w.receipt(sale("s1", 5000))
    w.receipt(sale("r1", 5000, operation="sale_return"))
    assert w.check("K24") == []
    w.receipt(sale("r2", 7000, operation="sale_return"))
    assert len(w.check("K24")) == 1


# ---- K26 clock ------------------------------------------------------------------------------


def test_k26_a_register_clock_ahead_of_the_server(engine: Engine, tmp_path: Path) -> None:
    ok = world(engine, tmp_path / "ok", fleet_behind_s=60)
    ok.register()
    ok.receipt(sale("s1", 1000))
    assert ok.check("K26") == []
    w = world(engine, tmp_path / "bad", fleet_behind_s=900)
    w.register()
    w.receipt(sale("s1", 1000))
    (f,) = w.check("K26")
    assert f.detail.startswith("Расхождение часов") and int(f.detail.split()[2]) >= 890


def _status(engine: Engine, finding_id: int | None) -> str:
    with Session(engine) as s:
        f = s.get(ComplianceFinding, finding_id)
        assert f is not None
        return f.status
