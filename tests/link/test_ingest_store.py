"""The ingest's database half (`Store.apply`) without a broker: idempotence and ordering rules."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.documents.models import FiscalDocument
from fleet.link.ingest import Incoming, Store
from fleet.link.ingest_models import DeadLetter, DeviceShadow, LinkCommand, PendingOfdAnswer
from fleet.registers.models import Register
from protocol.mqtt import codec
from protocol.mqtt.examples import EXAMPLES
from tests.link.test_ingest import fixture_engine, fixture_pg_server

__all__ = ["fixture_engine", "fixture_pg_server"]

ROOT = "store-test"
SERIAL = "0000000000000042"
FN = "9999078900012345"


def msg(kind: str, payload: dict[str, Any] | bytes, serial: str = SERIAL) -> Incoming:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Incoming(f"{ROOT}/v1/reg/{serial}/{kind}", data, time.time())


def doc(fd: int, **over: Any) -> dict[str, Any]:
    return {**EXAMPLES["doc"], "fn": FN, "fd": fd, **over}


def setup(engine: Engine) -> Store:
    with Session(engine) as s:
        s.add(Register(serial=SERIAL, created_at=1.0, company_id=None))
        s.commit()
    return Store(engine, ROOT)


def test_documents_are_stored_once_and_the_watermark_names_the_gaps(engine: Engine) -> None:
    store = setup(engine)
    out = store.apply([msg("doc", doc(1)), msg("doc", doc(2)), msg("doc", doc(2))])
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 2})]
    out = store.apply([msg("doc", doc(5)), msg("doc", doc(7)), msg("doc", doc(1))])
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 2, "missing": [[3, 4], [6, 6]]})]
    for _serial, payload in out:
        codec.validate("stored", payload)  # what the ingest sends passes the contract
    out = store.apply([msg("doc", doc(3)), msg("doc", doc(4)), msg("doc", doc(6))])
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 7})]
    with Session(engine) as s:
        fds = s.execute(select(FiscalDocument.fd_number)).scalars().all()  # type: ignore[call-overload]
    assert sorted(fds) == [1, 2, 3, 4, 5, 6, 7]
    assert store.stats.documents == 7


def test_ofd_answers_commands_and_shadows_are_idempotent(engine: Engine) -> None:
    store = setup(engine)
    ofd = {**EXAMPLES["ofd"], "fn": FN, "fd": 1}
    # the answer before its document waits, then lands with it
    store.apply([msg("ofd", ofd)])
    with Session(engine) as s:
        assert s.execute(select(PendingOfdAnswer)).scalars().all()
    store.apply([msg("doc", doc(1))])
    rejected = {**ofd, "status": "rejected", "code": 14}
    store.apply([msg("ofd", rejected)])  # accepted stays accepted
    with Session(engine) as s:
        row = s.execute(select(FiscalDocument)).scalars().one()
        assert row.ofd_status == "accepted"
        assert s.execute(select(PendingOfdAnswer)).scalars().all() == []

    ack = {**EXAMPLES["ack"]}
    store.apply([msg("ack", ack), msg("result", EXAMPLES["result"])])
    store.apply([msg("ack", {**ack, "status": "duplicate"}), msg("result", EXAMPLES["result"])])
    with Session(engine) as s:
        cmd = s.execute(select(LinkCommand)).scalars().one()
        assert (cmd.ack_status, cmd.result_status) == ("accepted", "made")

    state = {**EXAMPLES["state"], "seq": 10}
    store.apply([msg("presence", EXAMPLES["presence"]), msg("state", state)])
    store.apply([msg("state", {**state, "seq": 9, "outbox": 99})])  # older: ignored
    will = {"v": 1, "status": "offline", "reason": "lost"}
    store.apply([msg("presence", will), msg("presence", b"")])  # b"": a retained clear
    with Session(engine) as s:
        sh = s.execute(select(DeviceShadow)).scalars().one()
        assert sh.seq == 10 and sh.reported is not None and sh.reported["outbox"] == 1
        assert (sh.online, sh.offline_reason, sh.firmware) == (False, "lost", "1.0.0")
        assert s.execute(select(DeadLetter)).scalars().all() == []


def test_unknown_registers_and_bad_payloads_are_dead_letters(engine: Engine) -> None:
    store = setup(engine)
    out = store.apply(
        [
            msg("doc", doc(1), serial="NOPE"),
            msg("doc", doc(1, total=-1)),
            msg("state", b"\xff"),
            msg("doc", doc(1)),
        ]
    )
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 1})]
    with Session(engine) as s:
        dead = {(d.serial, d.kind, d.reason) for d in s.execute(select(DeadLetter)).scalars().all()}
    assert dead == {
        ("NOPE", "doc", "Касса с серийным номером NOPE не найдена в парке"),
        (SERIAL, "doc", "total: вне диапазона (minimum 0)"),
        (
            SERIAL,
            "state",
            "Не JSON в UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: "
            "invalid start byte",
        ),
    }


def test_a_resubscribed_worker_asks_for_what_registers_reported_beyond_the_watermark(
    engine: Engine,
) -> None:
    store = setup(engine)
    store.apply([msg("doc", doc(1)), msg("doc", doc(2)), msg("doc", doc(3))])
    assert store.pending_drives() == []
    state = {**EXAMPLES["state"], "seq": 1, "outbox": 2}
    state["drive"] = {**state["drive"], "fn": FN, "last_fd": 5}
    store.apply([msg("state", state)])
    nudges = store.pending_drives()
    assert nudges == [(SERIAL, {"v": 1, "fn": FN, "through": 3, "missing": [[4, 5]]})]
    codec.validate("stored", nudges[0][1])
    store.apply([msg("doc", doc(4)), msg("doc", doc(5))])
    caught_up = {**state, "seq": 2, "outbox": 0}
    store.apply([msg("state", caught_up)])
    assert store.pending_drives() == []


def test_the_tlv_and_request_id_are_kept_and_a_broken_tlv_is_a_dead_letter(
    engine: Engine,
) -> None:
    import base64

    store = setup(engine)
    receipt = (
        bytes.fromhex("1104 1000") + FN.encode()  # 1041
        + bytes.fromhex("1f04 0100 02")  # 1055: УСН доход
        + bytes.fromhex("2304 0900" "d007 0500 4b4d303031")  # 1059 { 2000 "KM001" }
    )  # fmt: skip
    good = doc(1, tlv=base64.b64encode(receipt).decode(), request_id="order-1")
    cut = doc(2, tlv=base64.b64encode(receipt[:-2]).decode())
    out = store.apply([msg("doc", good), msg("doc", cut), msg("doc", doc(3, tlv="QUJD"))])
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 1})]
    with Session(engine) as s:
        row = s.execute(select(FiscalDocument)).scalars().one()
        dead = sorted(d.reason for d in s.execute(select(DeadLetter)).scalars().all())
    assert (row.fd_number, row.tlv, row.request_id) == (1, receipt, "order-1")
    assert (row.tax_system, row.has_marking) == (2, True)
    assert dead == [
        "TLV документа повреждён: смещение 0: обрезан заголовок TLV (3 байт из 4)",
        "TLV документа повреждён: смещение 25: тег 1059 длиной 9 выходит за конец документа"
        " (осталось 7 байт)",
    ]
