"""The register runtime (firmware/register.py) end to end against the simulated drive.

CPython, in-process link (simulator/fn inproc_pair) on a SimClock, the journal on the flash
model. Each document kind through `handle`, validation that touches nothing, time trust,
automatic shifts over 24 h, counters against the drive, returns that reference their
original, corrections, duplicates and restarts; a hypothesis state machine compares the
counters with a naive model. Power cuts: test_register_powercut.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware.counters import Counters, compare, load, tally
from firmware.drive import FiscalDrive
from firmware.errors import RequestRefused, TimeUntrusted
from firmware.flashmodel import FlashModel
from firmware.journal import BEGUN, MADE, Journal
from firmware.register import Register
from firmware.tlv import decode
from hil import scenarios
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveEndpoint, DriveModel, DrivePort, FaultPlan

CASHIER = {"name": "Кассир Иванова", "inn": "500100732259"}
PROFILE = {
    "tax_systems": ["osn"],
    "user_name": "ООО Облако-тест",
    "address": "г. Москва, ул. Тестовая, д. 1",
    "place": "Облачная касса",
}


def drive_config(**over: Any) -> DriveConfig:
    """A fast simulated drive with room for long runs (SHA-256 signs, big OFD storage)."""
    base: dict[str, Any] = {
        "sign_algorithm": "sha256",
        "ofd_storage_bytes": 1 << 30,
        "ofd_block": dt.timedelta(days=3650),
        "lifetime_days": 3650,
    }
    base.update(over)
    return DriveConfig(**base)


def registration_request(rid: str = "reg-1", **over: Any) -> dict[str, Any]:
    """An FFD 1.2 registration of the reference's example register (§3.2 RNM)."""
    r: dict[str, Any] = {
        "id": rid,
        "kind": "registration",
        "inn": scenarios.INN,
        "rnm": scenarios.RNM,
        "kkt_serial": scenarios.KKT_SERIAL,
        "tax_systems": ["osn"],
        "ofd_inn": scenarios.OFD_INN,
        "ofd_name": "ОФД-тест",
        "user_name": PROFILE["user_name"],
        "address": PROFILE["address"],
        "place": PROFILE["place"],
        "sender_email": "noreply@oblako.test",
        "cashier": CASHIER,
    }
    r.update(over)
    return r


def sale(
    rid: str,
    total: int,
    items: int = 1,
    operation: str = "sale",
    pay: str = "cash",
    vat: str = "vat20",
    **over: Any,
) -> dict[str, Any]:
    """A receipt request whose total is exactly `total` (the first item takes the rest)."""
    rest = 1000 * (items - 1)
    rows = []
    for i in range(items):
        price = total - rest if i == 0 else 1000
        rows.append(
            {
                "name": f"Товар {i + 1}",
                "price": price,
                "quantity": "1",
                "measure": 0,
                "sum": price,
                "vat": vat,
                "type": 1,
                "method": "full_payment",
            }
        )
    r: dict[str, Any] = {
        "id": rid,
        "operation": operation,
        "tax_system": "osn",
        "items": rows,
        "payments": {pay: total},
        "total": total,
        "cashier": {"name": CASHIER["name"]},
    }
    r.update(over)
    return r


class Rig:
    """A simulated drive, the link, the flash model and a register on them."""

    def __init__(
        self,
        tmp: Path | None = None,
        config: DriveConfig | None = None,
        settings: dict[str, Any] | None = None,
        storage: bool = True,
        seed: int = 1,
        journal_limits: dict[str, int] | None = None,
        wrap_port: Any = None,
    ) -> None:
        self.clock = SimClock()
        state = str(tmp / "fn.json") if tmp is not None else None
        self.model = DriveModel(config or drive_config(), clock=self.clock, state_file=state)
        self.endpoint = DriveEndpoint(self.model, faults=FaultPlan(), trace=True)
        self.flash = FlashModel(random.Random(seed))
        self.settings = {"cashier": CASHIER} if settings is None else settings
        self.use_storage = storage
        self.journal_limits = journal_limits or {}
        self.wrap_port = wrap_port
        self.boot()

    def boot(self) -> Register:
        """A fresh board: new driver, journal and register over the same drive and flash."""
        self.flash.power_on()
        if not self.model.powered:
            self.endpoint.power_on()
        self.port = DrivePort(self.endpoint, timeout=0.05)
        link = self.wrap_port(self.port) if self.wrap_port is not None else self.port
        self.drive = FiscalDrive(link, self.clock, idle_s=0.02, settle_s=0.02)
        self.journal = Journal(self.flash, **self.journal_limits)
        self.reg = Register(
            self.drive,
            self.journal,
            self.clock,
            copy.deepcopy(PROFILE),
            storage=self.flash if self.use_storage else None,
            settings=self.settings,
        )
        return self.reg

    def start(self, register: bool = True) -> Register:
        """Recover, trust the time and (optionally) register the drive."""
        assert self.reg.recover() == []
        self.reg.trust_time("test")
        if register:
            r = self.reg.handle(registration_request())
            assert r["status"] == "made", r
            self.reg.ack("reg-1")
        return self.reg

    def rx_bytes(self) -> int:
        """Bytes the drive has received so far (the trace)."""
        assert self.endpoint.trace is not None
        return sum(len(c) for _t, way, c in self.endpoint.trace if way == "rx")

    def docs(self) -> list[Any]:
        """Every document in the drive's archive."""
        return list(self.model.state.archive)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    r = Rig(tmp_path)
    r.start()
    return r


def fields_of(rig: Rig, fd: int) -> dict[int, Any]:
    """Top-level fields of a made document (decoded by the firmware codec)."""
    doc = rig.model.document(fd)
    assert doc is not None
    return {f[0]: f[1] for f in decode(doc.stlv[4:])}


# ---- each document kind ------------------------------------------------------------------


def test_registration_then_every_document_kind(rig: Rig) -> None:
    reg = rig.reg
    reg1 = fields_of(rig, 1)
    assert rig.model.document(1).doc_type == 1  # type: ignore[union-attr]
    assert reg1[1048] == PROFILE["user_name"] and reg1[1013] == scenarios.KKT_SERIAL
    assert reg1[1209] == 4 and reg1[1290] == 0 and reg1[1017].strip() == scenarios.OFD_INN
    opened = reg.handle({"id": "o-1", "kind": "open_shift"})
    assert opened["status"] == "made" and opened["kind"] == "open_shift" and opened["shift"] == 1
    assert fields_of(rig, opened["fd"])[1021] == CASHIER["name"]
    made = {}
    for n, op in enumerate(("sale", "sale_return", "expense", "expense_return")):
        r = reg.handle(sale(f"s-{op}", 1000 * (n + 1), operation=op))
        assert r["status"] == "made" and r["kind"] == "receipt", r
        assert r["operation"] == n + 1 and r["total"] == 1000 * (n + 1) and r["number"] == n + 1
        doc = fields_of(rig, r["fd"])
        assert doc[1054] == n + 1 and doc[1020] == 1000 * (n + 1) and doc[1042] == n + 1
        made[op] = r
    corr = reg.handle(
        sale(
            "c-1",
            777,
            correction={"type": "order", "original_date": "2024-01-10", "order_number": "ПР-12"},
        )
    )
    assert corr["status"] == "made" and corr["kind"] == "correction", corr
    doc = fields_of(rig, corr["fd"])
    assert rig.model.document(corr["fd"]).doc_type == 31  # type: ignore[union-attr]
    assert doc[1173] == 1 and dict(doc[1174])[1179] == "ПР-12" and 1178 in dict(doc[1174])
    report = reg.handle({"id": "x-1", "kind": "report"})
    assert report["status"] == "made" and report["kind"] == "report"
    assert report["unconfirmed_count"] == report["fd"] - 1  # no OFD here: all but itself
    assert report["counters"]["receipts"] == 5 and report["reconciliation"]["ok"]
    closed = reg.handle({"id": "z-1", "kind": "close_shift"})
    assert closed["status"] == "made" and closed["reconciliation"] == {
        "ok": True,
        "mismatches": [],
        "audited": 6,
    }
    totals = fields_of(rig, closed["fd"])[1194]
    assert totals[0] == (1134, 5)
    assert (1129, [(1135, 1), (1201, 1000), (1136, 1000), (1139, 167)]) in totals
    assert (1133, [(1144, 1), (1145, [(1135, 1), (1201, 777), (1136, 777), (1139, 130)])]) in totals
    rereg = reg.handle(
        registration_request(
            "rr-1", kind="reregistration", reasons=["address"], address="г. Москва, ул. Новая, д. 2"
        )
    )
    assert rereg["status"] == "made" and rereg["kind"] == "reregistration", rereg
    doc = fields_of(rig, rereg["fd"])
    assert rig.model.document(rereg["fd"]).doc_type == 11  # type: ignore[union-attr]
    assert doc[1205] == 1 << 3 and doc[1009] == "г. Москва, ул. Новая, д. 2"
    assert reg.profile is not None and reg.profile["address"] == "г. Москва, ул. Новая, д. 2"
    sold = reg.handle(sale("s-after", 4242))  # opens a new shift on its own
    assert sold["status"] == "made" and sold["shift"] == 2
    assert [d["kind"] for d in sold["shift_documents"]] == ["open_shift"]
    gone = reg.handle({"id": "fn-close", "kind": "close_fiscal_mode"})
    assert gone["status"] == "made" and gone["kind"] == "close_fiscal_mode", gone
    assert [d["kind"] for d in gone["shift_documents"]] == ["close_shift"]
    assert rig.model.document(gone["fd"]).doc_type == 6  # type: ignore[union-attr]
    late = reg.handle(sale("s-late", 100))
    assert late["status"] == "failed" and late["errors"][0]["code"] == "phase"
    assert not late["retryable"]
    fds = [d.fd for d in rig.docs()]
    assert fds == list(range(1, len(fds) + 1))  # no gaps (DESIGN decision 3)


def test_receipt_fields_are_streamed_and_match_the_schema(rig: Rig) -> None:
    from firmware.shared import receipt as schema

    req = sale("s-20", 50000, items=20, pay="electronic", buyer_contact="buyer@example.ru")
    r = rig.reg.handle(req)
    assert r["status"] == "made", r
    # the profile the registration gave the register (it added 1117, the sender's e-mail)
    norm, errs = schema.check(req, rig.reg.profile, "2024-01-15T10:30:00+03:00")
    assert not errs and norm is not None
    sent = list(schema.fields(norm))
    doc = decode(rig.model.document(r["fd"]).stlv[4:])  # type: ignore[union-attr]
    assert doc[-len(sent) :] == sent  # the register's TLVs, verbatim, after the drive's
    assert r["qr"] == (
        f"t=20240115T1030&s=500.00&fn={rig.model.config.fn_number}&i={r['fd']}&fp={r['fp']}&n=1"
    )
    # 20 items stream through several 07h frames of at most 1024 bytes (§1.8)
    assert rig.endpoint.trace is not None
    sizes = [len(c) - 6 for _t, way, c in rig.endpoint.trace if way == "rx" and c[3] == 0x07]
    assert len(sizes) >= 2 and max(sizes) <= 1024


# ---- validation, time trust, oversized documents ----------------------------------------


def test_a_bad_request_returns_every_problem_and_touches_nothing(rig: Rig) -> None:
    reg = rig.reg
    before = (rig.rx_bytes(), rig.flash.writes, len(rig.docs()))
    bad = sale("bad-1", 1000, items=2)
    bad["items"][0]["price"] = -5
    bad["items"][1]["vat"] = "vat99"
    bad["payments"] = {"cash": 1}
    bad["surprise"] = True
    r = reg.handle(bad)
    assert r["status"] == "failed" and not r["retryable"]
    paths = {e["path"] for e in r["errors"]}
    assert {"items[0].price", "items[1].vat", "surprise"} <= paths, r["errors"]
    for req in (
        {"id": "k", "kind": "nonsense"},
        {"id": 'quote"s', "kind": "report"},
        {"id": "o", "kind": "open_shift", "cashier": {"inn": "123"}},
        {"id": "rg", "kind": "registration", "inn": "7702203277", "rnm": "0000000005008571"},
        {"id": "rt", **sale("x", 100, operation="sale_return"), "original": {"fd": 0}},
        [1, 2, 3],
    ):
        out = reg.handle(req)
        assert out["status"] == "failed" and not out["retryable"] and out["errors"], out
    assert (rig.rx_bytes(), rig.flash.writes, len(rig.docs())) == before


def test_registration_validation_reports_every_field(rig: Rig) -> None:
    r = rig.reg.handle(
        {"id": "rg", "kind": "registration", "inn": "7702203277", "rnm": "0000000005008571",
         "kkt_serial": scenarios.KKT_SERIAL, "tax_systems": ["envd"], "modes": ["teleport"],
         "user_name": "", "address": "x", "place": "y", "sender_email": "not-an-email"}
    )  # fmt: skip
    codes = {(e["path"], e["code"]) for e in r["errors"]}
    assert {
        ("inn", "inn"),
        ("tax_systems[0]", "enum"),
        ("modes[0]", "enum"),
        ("ofd_inn", "required"),
        ("user_name", "empty"),
        ("sender_email", "contact"),
    } <= codes, codes


def test_an_oversized_receipt_is_refused_before_the_drive(rig: Rig) -> None:
    before = (rig.rx_bytes(), rig.flash.writes)
    big = sale("big", 200 * 1000, items=200)
    for it in big["items"]:
        it["name"] = ("Очень длинное наименование товара " * 4)[:120] + it["name"][-3:]
    r = rig.reg.handle(big)
    assert r["status"] == "failed" and not r["retryable"]
    assert any(e["code"] == "document_too_large" for e in r["errors"]), r["errors"]
    too_large = next(e for e in r["errors"] if e["code"] == "document_too_large")
    assert "разделите" in too_large["message"]
    assert (rig.rx_bytes(), rig.flash.writes) == before
    with pytest.raises(RequestRefused):  # the typed error behind it
        rig.reg._prepare("receipt", big)


def test_no_document_until_the_time_is_trusted(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert rig.reg.recover() == []  # recovery sends no date-time: allowed
    sent = (rig.rx_bytes(), rig.flash.writes)
    r = rig.reg.handle(registration_request())
    assert r["status"] == "failed" and r["retryable"]
    assert r["errors"][0]["code"] == "time_untrusted"
    assert (rig.rx_bytes(), rig.flash.writes) == sent
    with pytest.raises(TimeUntrusted):
        rig.reg._at()
    rig.reg.trust_time("ntp")
    assert rig.reg.handle(registration_request())["status"] == "made"


def test_a_clock_the_drive_refuses_stops_documents(rig: Rig) -> None:
    reg = rig.reg
    assert reg.handle(sale("s-1", 100))["status"] == "made"
    rig.clock.set_wall(rig.clock.wall() + 3600)  # an NTP step: the drive's timer did not move
    r = reg.handle(sale("s-2", 200))
    assert r["status"] == "failed" and r["retryable"]
    assert r["errors"][0]["code"] == "time_refused" and not reg.time_trusted
    assert rig.model.open_document is None  # the refused receipt was cancelled
    sent = rig.rx_bytes()
    again = reg.handle(sale("s-2", 200))
    assert again["errors"][0]["code"] == "time_untrusted" and rig.rx_bytes() == sent
    rig.clock.set_wall(rig.clock.wall() - 3600)
    reg.trust_time("fleet")
    assert reg.handle(sale("s-2", 200))["status"] == "made"  # the same id, now made
    rig.clock.set_wall(rig.clock.wall() - 7200)  # behind the drive's last document
    behind = reg.handle(sale("s-3", 300))
    assert behind["errors"][0]["code"] == "time_behind_drive" and not reg.time_trusted


# ---- shifts ------------------------------------------------------------------------------


def test_shifts_roll_over_before_24_hours(rig: Rig) -> None:
    reg = rig.reg
    first = reg.handle(sale("s-1", 100))
    assert [d["kind"] for d in first["shift_documents"]] == ["open_shift"]
    rig.clock.advance(24 * 3600 - 11 * 60)  # 11 minutes before the end: margin is 10
    assert "shift_documents" not in reg.handle(sale("s-2", 200))
    rig.clock.advance(2 * 60)  # now inside the margin
    third = reg.handle(sale("s-3", 300))
    assert third["status"] == "made", third
    kinds = [d["kind"] for d in third["shift_documents"]]
    assert kinds == ["close_shift", "open_shift"] and third["shift"] == 2
    closing = third["shift_documents"][0]
    assert closing["counters"]["receipts"] == 2 and closing["reconciliation"]["ok"]
    # service() closes a shift that reaches the limit with no request in sight
    rig.clock.advance(24 * 3600 - 5 * 60)
    out = reg.service()
    assert [d["kind"] for d in out["shift_documents"]] == ["close_shift"]
    assert not rig.model.state.shift_open
    assert reg.service()["shift_documents"] == []


def test_the_shift_margin_is_a_setting(tmp_path: Path) -> None:
    rig = Rig(tmp_path, settings={"shift_margin_s": 3 * 3600})
    rig.start()
    rig.reg.handle(sale("s-1", 100))
    rig.clock.advance(21 * 3600 + 60)
    r = rig.reg.handle(sale("s-2", 200))
    assert [d["kind"] for d in r["shift_documents"]] == ["close_shift", "open_shift"]
    with pytest.raises(Exception, match="shift_margin_s"):
        Register(rig.drive, rig.journal, rig.clock, None, settings={"shift_margin_s": -1})


def test_explicit_shift_requests_and_wrong_states(rig: Rig) -> None:
    reg = rig.reg
    assert reg.handle({"id": "c-0", "kind": "close_shift"})["errors"][0]["code"] == "shift_closed"
    assert reg.handle({"id": "o-1", "kind": "open_shift"})["status"] == "made"
    again = reg.handle({"id": "o-2", "kind": "open_shift"})
    assert again["errors"][0]["code"] == "shift_open" and not again["retryable"]
    assert reg.handle({"id": "o-1", "kind": "open_shift"})["duplicate"]  # same id: same doc


# ---- counters against the drive --------------------------------------------------------


def test_counters_sum_payments_and_vat_and_survive_a_restart(tmp_path: Path) -> None:
    rig = Rig(tmp_path, settings={"cashier": CASHIER, "counters_every": 4})
    reg = rig.start()
    reg.handle(sale("a", 12000, pay="cash", vat="vat20"))
    reg.handle(sale("b", 11000, pay="electronic", vat="vat10"))
    reg.handle(sale("c", 5000, pay="cash", vat="vat0"))
    reg.handle(sale("d", 3000, pay="electronic", vat="none"))
    reg.handle(sale("e", 2000, operation="sale_return", pay="cash", vat="vat120"))
    reg.handle(sale("f", 1100, operation="expense", pay="electronic", vat="vat110"))
    ops = reg.counters.summary()["operations"]
    assert ops["sale"] == {
        "count": 4,
        "total": 31000,
        "cash": 17000,
        "electronic": 14000,
        "vat20": 2000,
        "vat10": 1000,
        "vat0_sum": 5000,
        "novat_sum": 3000,
    }
    assert ops["sale_return"]["vat120"] == 333 and ops["expense"]["vat110"] == 100
    before = reg.counters.summary()
    # a restart (the snapshot is 2 receipts behind): the drive's documents are read back
    rig.boot()
    rig.reg.recover()
    assert rig.reg.counters.summary() == before
    # with no storage at all, they are rebuilt from the archive alone
    rig2 = Rig.__new__(Rig)
    rig2.__dict__.update(rig.__dict__)
    rig2.use_storage = False
    rig2.boot()
    rig2.reg.recover()
    assert rig2.reg.counters.summary() == before
    assert rig2.reg.audit() == {"ok": True, "mismatches": [], "audited": 6}


def test_a_counters_mismatch_is_reported_and_repaired(rig: Rig) -> None:
    reg = rig.reg
    for i in range(3):
        reg.handle(sale(f"s-{i}", 1000 + i))
    reg.counters.rows[0][1] += 5  # a bug, or a damaged snapshot
    audit = reg.audit()
    assert not audit["ok"] and audit["rebuilt"]
    assert audit["mismatches"] == [{"what": "sale.total", "runtime": 3008, "drive": 3003}]
    assert reg.counters.rows[0][1] == 3003 and any("mismatch" in a for a in reg.alarms)
    reg.counters.rows[0][0] += 1
    closed = reg.handle({"id": "z", "kind": "close_shift"})
    recon = closed["reconciliation"]
    assert not recon["ok"] and recon["rebuilt"]
    assert {"what": "receipts", "runtime": 4, "drive": 3} in recon["mismatches"]
    # the report carries the drive's figures, not the wrong ones
    assert dict(fields_of(rig, closed["fd"])[1194])[1134] == 3


def test_a_drive_that_forms_1194_itself_gets_no_second_one(rig: Rig) -> None:
    rig.reg.handle(sale("s", 100))
    rig.endpoint.faults.force_answer(0x0B, command=0x07)  # the close report's 07h
    closed = rig.reg.handle({"id": "z", "kind": "close_shift"})
    assert closed["status"] == "made", closed
    assert 1194 not in fields_of(rig, closed["fd"])
    assert not rig.reg._totals_tlv


# ---- returns and corrections -------------------------------------------------------------


def test_a_return_references_its_original(rig: Rig) -> None:
    reg = rig.reg
    orig = reg.handle(sale("s-1", 5000))
    exp = reg.handle(sale("e-1", 3000, operation="expense"))
    ok = reg.handle(sale("r-1", 4000, operation="sale_return", original={"fd": orig["fd"]}))
    assert ok["status"] == "made" and ok["original"] == {"fd": orig["fd"]}
    cases = [
        ({"fd": orig["fd"]}, 6000, "exceeds_original"),
        ({"fd": exp["fd"]}, 100, "operation"),
        ({"fd": 999}, 100, "not_found"),
        ({"fd": 1}, 100, "not_a_receipt"),
    ]
    for n, (ref, total, code) in enumerate(cases):
        r = reg.handle(sale(f"bad-{n}", total, operation="sale_return", original=ref))
        assert r["status"] == "failed" and r["errors"][0]["code"] == code, r
        assert not r["retryable"]
    other = {"fd": 7, "fn": "9999078900000099"}  # another drive: the fleet's to check
    assert reg.handle(sale("r-2", 100, operation="sale_return", original=other))["status"] == (
        "made"
    )
    not_return = reg.handle(sale("x", 100, original={"fd": orig["fd"]}))
    assert not_return["errors"][0]["path"] == "original"


# ---- exactly once: duplicates, lost answers, restarts -------------------------------------


def test_duplicates_are_answered_from_the_journal(rig: Rig) -> None:
    reg = rig.reg
    req = sale("dup", 1234)
    first = reg.handle(copy.deepcopy(req))
    docs = len(rig.docs())
    second = reg.handle(copy.deepcopy(req))
    assert second["duplicate"] and (second["fd"], second["fp"], second["qr"]) == (
        first["fd"],
        first["fp"],
        first["qr"],
    )
    assert len(rig.docs()) == docs
    reg.ack("dup")
    assert reg.handle(copy.deepcopy(req))["fd"] == first["fd"]  # still known after the ack
    other = sale("dup", 999)
    r = reg.handle(other)
    assert r["status"] == "failed" and r["errors"][0]["code"] == "id_reused"


def test_a_lost_make_answer_is_settled_without_a_second_document(rig: Rig) -> None:
    reg = rig.reg
    reg.handle(sale("warm", 1))
    # the answer to 16h is cut and the drive stays dark for a while: outcome unknown
    rig.endpoint.faults.power_cut(command=0x16, after_bytes=3)
    r = reg.handle(sale("lost", 4321))
    assert r["status"] == "unknown" and r["retryable"], r
    assert reg.journal.get("lost").step == BEGUN  # type: ignore[union-attr]
    blocked = reg.handle(sale("next", 1111))
    assert blocked["status"] == "failed" and blocked["retryable"]
    rig.endpoint.power_on()
    again = reg.handle(sale("lost", 4321))
    assert again["status"] == "made" and again["recovered"] and again["duplicate"], again
    assert sum(1 for d in rig.docs() if d.doc_type == 3) == 2
    assert reg.handle(sale("next", 1111))["status"] == "made"


def test_a_restart_reports_made_and_fails_unmade_requests(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    reg = rig.start()
    reg.handle(sale("s-1", 100))
    # made on the drive, journal still BEGUN (the board died before journal.made)
    reg.journal.received("s-2", "x")
    reg.journal.begun("s-2", 3, rig.model.state.last_fd)
    rig.drive.receipt_begin()
    rig.drive.send_data([(1031, 200), (1055, 1)])
    rig.drive.receipt_make(1, 200)
    # begun but never made
    reg.journal.received("s-3", "y")
    reg.journal.begun("s-3", 3, rig.model.state.last_fd)
    rig.drive.receipt_begin()  # left open on the drive
    # received only
    reg.journal.received("s-4", "z")
    rig.boot()
    out = {r["id"]: r for r in rig.reg.recover()}
    assert out["s-1"]["status"] == "made" and out["s-1"]["fd"] == 3
    assert out["s-2"]["status"] == "made" and out["s-2"]["recovered"]
    assert out["s-2"]["total"] == 200 and out["s-2"]["number"] == 2
    assert out["s-3"]["status"] == "failed" and out["s-3"]["retryable"]
    assert out["s-4"]["status"] == "failed" and out["s-4"]["retryable"]
    assert rig.model.open_document is None
    j = rig.reg.journal
    assert j.get("s-2").step == MADE  # type: ignore[union-attr]
    assert rig.reg.counters.receipts() == 2  # the counters read s-2 back from the drive


# ---- counters against a naive model (hypothesis) -------------------------------------------

_PAYS = ("cash", "electronic", "prepayment", "provision")
_VATS = {"vat20": (1102, 20), "vat10": (1103, 10), "vat0": (1104, 0), "none": (1105, -1),
         "vat120": (1106, 20), "vat110": (1107, 10)}  # fmt: skip
_COLUMN = {"cash": 2, "electronic": 3, "prepayment": 4, "provision": 6, 1102: 7, 1103: 8,
           1106: 9, 1107: 10, 1104: 11, 1105: 12}  # fmt: skip


def _vat(total: int, rate: int) -> int:
    return (2 * total * rate + 100 + rate) // (2 * (100 + rate))


class CountersMachine(RuleBasedStateMachine):
    """Receipts, corrections, restarts (with and without a snapshot) and shift closes, with
    the runtime's counters compared to plain sums after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.rig = Rig(None, settings={"cashier": CASHIER, "counters_every": 3})
        self.rig.start()
        self.rows = [[0] * 13 for _ in range(8)]
        self.n = 0

    @rule(
        op=st.sampled_from(("sale", "sale_return", "expense", "expense_return")),
        pay=st.sampled_from(_PAYS),
        vat=st.sampled_from(sorted(_VATS)),
        total=st.integers(1, 10**9),
        correction=st.booleans(),
    )
    def receipt(self, op: str, pay: str, vat: str, total: int, correction: bool) -> None:
        self.n += 1
        extra = (
            {"correction": {"type": "self", "original_date": "2024-01-02"}} if correction else {}
        )
        r = self.rig.reg.handle(sale(f"h{self.n}", total, operation=op, pay=pay, vat=vat, **extra))
        assert r["status"] == "made", r
        self.rig.reg.ack(r["id"])
        if r.get("shift_documents"):
            self.rows = [[0] * 13 for _ in range(8)]
        row = self.rows[(4 if correction else 0) + ("sale", "sale_return", "expense",
                                                    "expense_return").index(op)]  # fmt: skip
        row[0] += 1
        row[1] += total
        row[_COLUMN[pay]] += total
        tag, rate = _VATS[vat]
        row[_COLUMN[tag]] += total if rate <= 0 else _vat(total, rate)

    @rule(snapshot=st.booleans())
    def restart(self, snapshot: bool) -> None:
        self.rig.use_storage = snapshot
        self.rig.boot()
        assert self.rig.reg.recover() == []
        self.rig.reg.trust_time("test")

    @rule()
    def close(self) -> None:
        self.n += 1
        r = self.rig.reg.handle({"id": f"h{self.n}", "kind": "close_shift"})
        self.rig.reg.ack(r["id"])
        if r["status"] == "made":
            assert r["reconciliation"]["ok"], r
            self.rows = [[0] * 13 for _ in range(8)]

    @rule(hours=st.integers(1, 30))
    def later(self, hours: int) -> None:
        self.rig.clock.advance(hours * 3600)

    @invariant()
    def counters_match(self) -> None:
        c = self.rig.reg.counters
        if c.open:
            assert c.rows == self.rows


TestCountersAgainstANaiveModel = CountersMachine.TestCase
TestCountersAgainstANaiveModel.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_counters_pure_parts() -> None:
    c = Counters()
    c.start("9999078900000001", 3, 10, 1000)
    assert c.apply(11, 3, 1, 500, [(1031, 500), (1102, 83)])
    assert not c.apply(11, 3, 1, 500, [(1031, 500)])  # the same FD twice: counted once
    assert c.apply(12, 31, 4, 70, [(1081, 70), (1115, [(1119, [(1199, 11), (1120, 13)])])])
    assert c.receipts() == 2 and c.corrections() == 1
    assert c.summary()["corrections"]["expense_return"]["vat_other"] == {"11": 13}
    again = load(c.dump())
    assert again is not None and again.rows == c.rows and again.other == c.other
    assert load(b"{}") is None and load(b"\xff") is None and load(None) is None
    assert (
        compare(c, {"shift_number": 3, "receipt_number": 2}, tally([(3, 1, 500), (31, 4, 70)]))
        == []
    )
    assert compare(c, {"shift_number": 4, "receipt_number": 2}) == [
        {"what": "shift", "runtime": 3, "drive": 4}
    ]


# ---- `oblako register run` (oblako/register_run.py) over a real pty --------------------------


def test_register_run_over_a_pty(tmp_path: Path) -> None:
    import io
    import json

    from oblako.register_run import run
    from simulator.clock import SystemClock
    from simulator.fn import serve_pty

    model = DriveModel(drive_config(), clock=SystemClock(), state_file=str(tmp_path / "fn.json"))
    lines = [
        json.dumps(registration_request()),
        "{not json",
        json.dumps(sale("s-1", 1000, vat="vat10")),
        "",
        json.dumps([1, 2]),
        json.dumps({"kind": "status"}),
        json.dumps(sale("s-1", 1000, vat="vat10")),
        json.dumps({"kind": "ack_upto", "fd": "x"}),
    ]
    out = io.StringIO()
    with serve_pty(model) as server:
        counts = run(server.path, None, tmp_path / "journal", lines, out)
    answers = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [a.get("status") for a in answers] == [
        "made",
        "error",
        "made",
        "failed",
        None,
        "made",
        "error",
    ], answers
    assert answers[1]["code"] == "json" and answers[1]["line"] == 2
    assert answers[2]["qr"].startswith("t=") and answers[5]["duplicate"]
    assert answers[4]["result"]["journal"]["live"] == 0  # auto_ack: written = stored
    assert counts == {"lines": 7, "made": 3, "failed": 1, "unknown": 0, "errors": 2}
    # the registration's profile was kept next to the journal for the next start
    saved = json.loads((tmp_path / "journal" / "profile").read_text())
    assert saved["user_name"] == PROFILE["user_name"]
    out2 = io.StringIO()
    with serve_pty(model) as server:
        again = run(
            server.path, None, tmp_path / "journal", [json.dumps(sale("s-2", 5, vat="vat10"))], out2
        )
    assert again["made"] == 1 and json.loads(out2.getvalue())["number"] == 2, out2.getvalue()


# ---- flash wear per receipt ------------------------------------------------------------------


def wear_per_receipt(receipts: int = 1000) -> dict[str, float]:
    """Flash writes, bytes and barriers per receipt through the whole runtime (journal and
    counters snapshot), UUID-like ids, default limits, each result acknowledged."""
    rig = Rig(None)
    reg = rig.start()
    reg.handle(sale("warm-up", 1))
    reg.ack("warm-up")
    w0, b0, s0 = rig.flash.writes, rig.flash.bytes_written, rig.flash.syncs
    for i in range(receipts):
        rid = f"{i:08x}-d9cb-469f-a165-70867728950e"
        r = reg.handle(sale(rid, 1000 + i))
        assert r["status"] == "made", r
        reg.ack(rid)
    n = float(receipts)
    return {
        "writes": (rig.flash.writes - w0) / n,
        "bytes": (rig.flash.bytes_written - b0) / n,
        "barriers": (rig.flash.syncs - s0) / n,
        "journal_bytes": float(len(rig.flash.durable["journal"])),
    }


def test_wear_per_receipt_is_bounded() -> None:
    w = wear_per_receipt()
    print(w)
    # journal: received, begun, made, reported (4 appends; begun and made synced) plus a
    # compaction every ~32 receipts; counters: one atomic write every 16 receipts
    assert 4.0 <= w["writes"] <= 4.0 + 1 / 16 + 0.01, w
    assert 2.0 <= w["barriers"] <= 2.0 + 1 / 16 + 1 / 30, w
    assert w["bytes"] <= 600, w


def test_service_settles_an_unknown_request_when_the_drive_is_back(rig: Rig) -> None:
    reg = rig.reg
    reg.handle(sale("warm", 1))
    rig.endpoint.faults.power_cut(command=0x16, after_bytes=0)
    assert reg.handle(sale("lost", 55))["status"] == "unknown"
    assert "settled" not in reg.service()  # still dark
    rig.endpoint.power_on()
    out = reg.service()
    assert out["settled"]["status"] == "made" and out["settled"]["id"] == "lost"
    assert reg.status()["unsettled"] is None and reg.counters.receipts() == 2


def test_register_run_calls_the_ofd_client_between_requests(tmp_path: Path) -> None:
    import importlib.util
    import io
    import json

    from oblako.register_run import run
    from simulator.clock import SystemClock
    from simulator.fn import serve_pty

    model = DriveModel(drive_config(), clock=SystemClock(), state_file=str(tmp_path / "fn.json"))
    lines = [
        json.dumps(registration_request()),
        json.dumps(sale("s-1", 1000, vat="vat10")),
        json.dumps({"kind": "status"}),
    ]
    out = io.StringIO()
    with serve_pty(model) as server:  # nothing listens on port 1: the client backs off
        counts = run(server.path, "127.0.0.1:1", tmp_path / "j", lines, out)
    assert counts["made"] == 2 and counts["errors"] == 0
    status = json.loads(out.getvalue().splitlines()[-1])["result"]
    if importlib.util.find_spec("firmware.ofd") is not None:
        assert status["ofd"]["ofd"] == "127.0.0.1:1" and status["ofd"]["failures"] >= 1


def test_counters_out_of_reach_are_reported_and_the_shift_renewed(tmp_path: Path) -> None:
    rig = Rig(tmp_path, settings={"cashier": CASHIER, "scan_limit": 3}, storage=False)
    reg = rig.start()
    for i in range(6):
        reg.handle(sale(f"s-{i}", 100 + i))
    rig.boot()
    reg = rig.reg
    reg.recover()
    reg.trust_time("test")
    assert not reg.counters.complete and any("not found" in a for a in reg.alarms)
    r = reg.handle(sale("s-next", 999))  # the opening time is unknown: a new shift first
    kinds = [d["kind"] for d in r["shift_documents"]]
    assert kinds == ["close_shift", "open_shift"], r
    recon = r["shift_documents"][0]["reconciliation"]
    assert (
        not recon["ok"]
        and {"what": "complete", "runtime": False, "drive": True} in (recon["mismatches"])
    )
    assert reg.counters.complete and reg.counters.receipts() == 1


# ---- marked goods (FN-1.2 B1h/B2h/B3h/B7h, provisional layouts) ---------------------------

KM = "0104601234567890215abcdefghijklm" + "\x1d" + "93ABCD"


def marked_sale(rid: str, code: str = KM, **over: Any) -> dict[str, Any]:
    """A sale of one marked item (type 33) and one ordinary item."""
    r = sale(rid, 2000, items=2, **over)
    r["items"][0].update({"type": 33, "marking": {"code": code, "type": 2, "planned_status": 1}})
    return r


@pytest.fixture
def marking_rig(tmp_path: Path) -> Rig:
    r = Rig(tmp_path)
    r.start(register=False)
    made = r.reg.handle(registration_request(modes=["marking"]))
    assert made["status"] == "made" and made["profile"]["marking"], made
    r.reg.ack("reg-1")
    return r


def test_a_marked_sale_checks_the_code_and_sends_the_item_with_b7(marking_rig: Rig) -> None:
    rig = marking_rig
    rig.endpoint.trace = []
    r = rig.reg.handle(marked_sale("m-1"))
    assert r["status"] == "made", r
    cmds = [c[3] for _t, way, c in rig.endpoint.trace if way == "rx" and len(c) > 3]
    assert cmds.index(0xB3) < cmds.index(0xB1) < cmds.index(0xB2) < cmds.index(0x15)
    assert cmds.index(0x15) < cmds.index(0xB7) < cmds.index(0x16)
    doc = rig.model.document(r["fd"])
    assert doc is not None and doc.doc_type == 3
    fields = decode(doc.stlv[4:])
    items = [dict(f[1]) for f in fields if f[0] == 1059]
    assert len(items) == 2
    assert items[0][2000] == KM and items[0][2100] == 2 and items[0][2102] == 0
    assert items[0][2106] == 3 and items[0][2110] == 1  # checked and positive; sold
    assert 2000 not in items[1]
    top = {f[0]: f[1] for f in fields}
    assert top[1037].strip() == scenarios.RNM and top[1018].strip() == scenarios.INN
    # The drive queued a notification for the marking system (document 82).
    assert len(rig.model.state.notifications) == 1
    assert rig.drive.marking_status()["saved_results"] == 0  # cleared by the receipt


def test_a_negative_check_refuses_the_sale_unless_allowed(marking_rig: Rig) -> None:
    rig = marking_rig
    unit = rig.model.marking
    check = unit.check

    def negative(code_type: int, length: int, payload: bytes) -> bytes:
        # The simulator's own negative path: a code it finds malformed.
        if payload.startswith(b"BAD"):
            return check(code_type, 1, b"\x01")
        return check(code_type, length, payload)

    unit.check = negative  # type: ignore[method-assign]
    before = len(rig.docs())
    r = rig.reg.handle(marked_sale("m-bad", code="BAD" + KM))
    assert r["status"] == "failed", r
    assert [(e["path"], e["code"]) for e in r["errors"]] == [
        ("items[0].marking", "marking_negative")
    ]
    assert len(rig.docs()) == before + 1  # the shift opened, no receipt
    assert rig.drive.marking_status()["saved_results"] == 0
    ok = rig.reg.handle(marked_sale("m-bad-ok", code="BAD" + KM, allow_negative_marking=True))
    assert ok["status"] == "made", ok

    doc = rig.model.document(ok["fd"])
    assert doc is not None
    first = next(dict(f[1]) for f in decode(doc.stlv[4:]) if f[0] == 1059)
    assert first[2106] == 1  # checked, not positive: sold as allowed
    bad_flag = rig.reg.handle(marked_sale("m-flag", allow_negative_marking="yes"))
    assert bad_flag["status"] == "failed"
    assert bad_flag["errors"][0]["path"] == "allow_negative_marking"


def test_a_register_without_the_marking_flag_refuses_marked_goods(rig: Rig) -> None:
    before = len(rig.docs())
    r = rig.reg.handle(marked_sale("m-no"))
    assert r["status"] == "failed", r
    assert ("items[0].marking", "flag_marking") in [(e["path"], e["code"]) for e in r["errors"]]
    rig.reg.profile = None  # no profile at all: the runtime still refuses them
    r = rig.reg.handle(marked_sale("m-no-profile"))
    assert r["status"] == "failed" and r["errors"][0]["code"] == "flag_marking", r
    assert len(rig.docs()) == before
