"""The desired half of the shadow: the document, its seq, the retained publishing until the
register reports it applied, and the register page's form and view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.audit import AuditLog
from fleet.console import desired as console_desired
from fleet.core.clock import SettableClock
from fleet.link import desired
from fleet.link.desired import DesiredSender
from fleet.link.desired_models import DesiredState
from fleet.link.exceptions import InvalidDesiredError
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts.runner import ReceiptWorker
from protocol.mqtt import codec
from tests.console.test_pages import csrf_of, sign_in
from tests.console.world import company, operator, register

ROOT = "oblako-test"


class Wire:
    """What the sender published: (topic, decoded payload, retained)."""

    def __init__(self) -> None:
        self.out: list[tuple[str, dict[str, Any], bool]] = []

    def __call__(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.out.append((topic, codec.decode(ROOT, topic, payload).payload, retain))


def _report(engine: Engine, register_id: int, desired_seq: int | None) -> None:
    with Session(engine) as s:
        sh = s.get(DeviceShadow, register_id)
        assert sh is not None
        rep = dict(sh.reported or {})
        rep.pop("desired_seq", None)
        if desired_seq is not None:
            rep["desired_seq"] = desired_seq
        sh.reported = rep
        s.add(sh)
        s.commit()


def test_a_change_bumps_seq_an_equal_one_does_not_and_a_bad_one_writes_nothing(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = register(s, clock, company(s, clock, 1), "SER0000001")
        rid = reg.id or 0
        row = desired.change(s, rid, {"ofd_host": "ofd.example", "ofd_port": 7777}, clock.wall())
        assert row.seq == 1
        assert desired.change(s, rid, {"ofd_port": 7777}, clock.wall()).seq == 1  # no change
        row = desired.change(s, rid, {"ofd_port": None, "max_clock_drift_s": 60}, clock.wall())
        assert (row.seq, row.doc) == (2, {"ofd_host": "ofd.example", "max_clock_drift_s": 60})
        s.commit()
        bads: list[tuple[dict[str, Any], str]] = [
            ({"ofd_port": 70000}, "ofd_port"),
            ({"max_clock_drift_s": 0}, "max_clock_drift_s"),
            ({"ofd_host": "bad\x01host"}, "ofd_host"),
            ({"auto_close_shift": "yes"}, "auto_close_shift"),
            ({"firmware": {"version": "2.0.0", "url": "https://x", "sha256": "00"}},
             "firmware.sha256"),
            ({"colour": "red"}, "colour"),
        ]  # fmt: skip
        for bad, field in bads:
            with pytest.raises(InvalidDesiredError) as e:
                desired.change(s, rid, bad, clock.wall())
            assert field in e.value.fields
        s.rollback()
        again = s.get(DesiredState, rid)
        assert again is not None and again.seq == 2 and again.doc["max_clock_drift_s"] == 60


def test_the_sender_publishes_retained_repeats_while_it_lags_and_rests_when_applied(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = register(s, clock, company(s, clock, 1), "SER0000001")
        rid = reg.id or 0
        desired.change(s, rid, {"ofd_host": "ofd.example"}, clock.wall())
        s.commit()
    wire = Wire()
    sender = DesiredSender(engine, wire, clock, ROOT, resend_s=30, verify_s=600)
    assert sender.step().published == 1
    topic, body, retained = wire.out[-1]
    assert topic == f"{ROOT}/v1/reg/SER0000001/desired" and retained
    assert body == {"v": 1, "seq": 1, "ofd_host": "ofd.example"}
    assert sender.step().published == 0 and len(wire.out) == 1  # not due yet
    clock.advance(31)
    assert sender.step().republished == 1 and wire.out[-1][1]["seq"] == 1  # still lagging
    _report(engine, rid, 1)
    clock.advance(31)
    stats = sender.step()
    assert (stats.applied, len(wire.out)) == (1, 2)
    clock.advance(300)
    assert sender.step().applied == 0 and len(wire.out) == 2  # rests
    with Session(engine) as s:  # a change goes at once, whatever the rest time
        desired.change(s, rid, {"ofd_port": 19081}, clock.wall())
        s.commit()
    assert sender.step().published == 1 and wire.out[-1][1]["seq"] == 2
    _report(engine, rid, None)  # the register rebooted and the broker lost its retained copy
    clock.advance(31)
    assert sender.step().republished == 1
    _report(engine, rid, 2)
    clock.advance(31)
    assert sender.step().applied == 1
    _report(engine, rid, None)
    clock.advance(601)  # the verification finds it lagging again
    assert sender.step().republished == 1 and len(wire.out) == 5


def test_the_register_page_sets_the_document_and_shows_it_pending_then_applied(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
    rid = reg.id or 0
    sign_in(client, engine, clock, user.id or 0)
    url = f"/console/registers/{rid}"
    page = client.get(url).text
    assert 'data-testid="desired"' not in page  # nothing desired yet
    token = csrf_of(page)
    form = {"ofd_host": "ofd.example", "ofd_port": "7777", "max_clock_drift_s": "60",
            "auto_close_shift": "yes", "csrf_token": token}  # fmt: skip
    done = client.post(f"{url}/desired", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(url).text
    assert 'data-testid="desired-status">ожидает применения' in page
    assert page.count('data-pending="1"') == 4 and "ofd.example" in page
    assert "≤ 60" in page  # the shadow's clock row uses the desired drift limit
    _report(engine, rid, 1)
    page = client.get(url).text
    assert 'data-testid="desired-status">применено' in page and 'data-pending="1"' not in page
    refused = client.post(f"{url}/desired", data={**form, "ofd_port": "порт"})
    assert refused.status_code == 422 and "целое число" in refused.text
    refused = client.post(f"{url}/desired", data={**form, "ofd_port": "0"})
    assert refused.status_code == 422 and "ofd_port" in refused.text
    with Session(engine) as s:
        row = s.get(DesiredState, rid)
        assert row is not None and row.seq == 1 and row.doc["ofd_port"] == 7777
        audit = s.exec(select(AuditLog).where(AuditLog.action == "console.desired.change")).all()
        assert len(audit) == 1
        assert json.loads(audit[0].detail)["doc"]["ofd_host"] == "ofd.example"


def test_the_view_compares_the_firmware_with_what_the_register_runs(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = register(s, clock, company(s, clock, 1), "SER0000001")
        rid = reg.id or 0
        fw = {"version": "2.0.0", "url": "https://fw.example/2.0.0", "sha256": "a" * 64}
        desired.change(s, rid, {"firmware": fw}, clock.wall())
        sh = s.get(DeviceShadow, rid)
        assert sh is not None
        sh.reported = {**(sh.reported or {}), "desired_seq": 1}
        v = console_desired.view(s, rid, sh)
    assert not v.pending  # applied: the register keeps it; the version itself is not there yet
    assert [(r.label, r.desired, r.applied, r.pending) for r in v.rows] == [
        ("Прошивка", "2.0.0", "1.0.0", True)
    ]


def test_the_fleet_worker_publishes_desired_documents_with_its_pass(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = register(s, clock, company(s, clock, 1), "SER0000001")
        desired.change(s, reg.id or 0, {"auto_close_shift": True}, clock.wall())
        s.commit()
    wire = Wire()
    worker = ReceiptWorker(engine, wire, clock, root=ROOT)
    try:
        worker.step()
        worker.step()  # within desired_every_s: the sender is not asked again
    finally:
        worker.http.close()
    assert worker.stats.desired == 1
    assert [(b["seq"], b["auto_close_shift"], r) for _t, b, r in wire.out] == [(1, True, True)]
