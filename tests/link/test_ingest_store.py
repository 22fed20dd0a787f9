"""The ingest's database half (`Store.apply`) without a broker: idempotence and ordering rules."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.documents.models import FiscalDocument
from fleet.link.ingest import Incoming, Store, _pg_array
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


def test_a_batch_of_ofd_answers_lands_as_if_applied_one_by_one(engine: Engine) -> None:
    # PostgreSQL applies a batch's answers in one statement (Store._ofd_batch); repeats of an
    # FD in the batch must leave what applying them in order leaves, as on SQLite
    store = setup(engine)
    store.apply([msg("doc", doc(fd)) for fd in (1, 2, 3, 5)])
    ofd = {**EXAMPLES["ofd"], "fn": FN}
    store.apply([msg("ofd", {**ofd, "fd": 5, "code": 1, "at": 10})])
    answers = [
        {**ofd, "fd": 1, "status": "rejected", "code": 14, "at": 11},
        {**ofd, "fd": 1, "status": "accepted", "code": 0, "at": 12},  # a refusal, then yes
        {**ofd, "fd": 2, "status": "accepted", "code": 0, "at": 13},
        {**ofd, "fd": 2, "status": "rejected", "code": 14, "at": 14},  # accepted stays
        {**ofd, "fd": 3, "status": "rejected", "code": 14, "at": 15},
        {**ofd, "fd": 3, "status": "rejected", "code": 20, "at": 16},  # the last refusal
        {**ofd, "fd": 4, "status": "rejected", "code": 14, "at": 17},  # before its document
        {**ofd, "fd": 4, "status": "accepted", "code": 0, "at": 18},
        {**ofd, "fd": 5, "status": "rejected", "code": 3, "at": 19},  # accepted before
    ]
    store.apply([msg("ofd", a) for a in answers])
    with Session(engine) as s:
        docs = {
            d.fd_number: (d.ofd_status, d.ofd_code, d.ofd_answered_at)
            for d in s.execute(select(FiscalDocument)).scalars()
        }
        pending = [
            (p.fd_number, p.status, p.code) for p in s.execute(select(PendingOfdAnswer)).scalars()
        ]
    assert docs == {
        1: ("accepted", 0, 12.0),
        2: ("accepted", 0, 13.0),
        3: ("rejected", 20, 16.0),
        5: ("accepted", 1, 10.0),
    }
    assert pending == [(4, "accepted", 0)]
    store.apply([msg("doc", doc(4))])
    with Session(engine) as s:
        four = s.execute(select(FiscalDocument).where(FiscalDocument.fd_number == 4)).scalar_one()
        assert (four.ofd_status, four.ofd_code) == ("accepted", 0)


def test_every_stored_ofd_answer_is_acknowledged_to_the_register_that_sent_it(
    engine: Engine,
) -> None:
    # the register keeps an answer on flash until a `stored` message names its FD
    store = setup(engine)
    ofd = {**EXAMPLES["ofd"], "fn": FN}
    out = store.apply([msg("ofd", {**ofd, "fd": fd}) for fd in (3, 1, 2, 1)])  # before docs
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 0, "ofd": [1, 2, 3]})]
    out = store.apply([msg("doc", doc(1)), msg("ofd", {**ofd, "fd": 4})])
    assert (SERIAL, {"v": 1, "fn": FN, "through": 1}) in out
    assert (SERIAL, {"v": 1, "fn": FN, "through": 1, "ofd": [4]}) in out
    many = store.apply([msg("ofd", {**ofd, "fd": fd}) for fd in range(10, 80)])
    assert [len(p["ofd"]) for _s, p in many] == [64, 6]  # link.MAX_OFD_ACKS a message
    for _serial, payload in out + many:
        codec.validate("stored", payload)


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


def test_numbers_above_int32_are_stored_not_dead_letters(engine: Engine) -> None:
    """The link allows totals up to 2^48 - 1 and FD/shift numbers up to 2^32 - 1: PostgreSQL's
    INTEGER refused them with a DataError that failed the whole batch (migration 0013)."""
    store = setup(engine)
    big_fd = 0xFFFFFFFF
    total = (1 << 48) - 1
    batch = [
        msg("doc", doc(1)),
        msg("doc", doc(2, total=(1 << 31) + 5, shift=(1 << 31) + 1)),
        msg("doc", doc(big_fd, total=total)),
    ]
    out = store.apply(batch)
    assert out == [(SERIAL, {"v": 1, "fn": FN, "through": 2, "missing": [[3, big_fd - 1]]})]
    state = {**EXAMPLES["state"], "seq": (1 << 53) - 1, "outbox": 0xFFFFFFFF}
    state["drive"] = {**state["drive"], "fn": FN, "last_fd": 0xFFFFFFFF}
    store.apply([msg("ofd", {**EXAMPLES["ofd"], "fn": FN, "fd": big_fd - 1}), msg("state", state)])
    with Session(engine) as s:
        rows = {
            d.fd_number: (d.total, d.shift_number)
            for d in s.execute(select(FiscalDocument)).scalars().all()
        }
        assert s.execute(select(DeadLetter)).scalars().all() == []
        assert s.execute(select(PendingOfdAnswer.fd_number)).scalars().all() == [big_fd - 1]  # type: ignore[call-overload]
        sh = s.execute(select(DeviceShadow)).scalars().one()
    assert rows[2] == ((1 << 31) + 5, (1 << 31) + 1)
    assert rows[big_fd][0] == total
    assert (sh.seq, sh.drive_last_fd, sh.outbox) == ((1 << 53) - 1, 0xFFFFFFFF, 0xFFFFFFFF)
    assert store.stats.documents == 3 and store.stats.dead == 0


def test_a_message_the_database_refuses_is_isolated_and_the_rest_stored(engine: Engine) -> None:
    """A poison message (here: its register deleted while the ingest's serial cache still
    holds it, so the insert breaks a foreign key) must not fail its batch forever."""
    store = setup(engine)
    gone = "0000000000000077"
    with Session(engine) as s:
        s.add(Register(serial=gone, created_at=1.0, company_id=None))
        s.commit()
    store.apply([msg("presence", EXAMPLES["presence"], serial=gone)])  # cached now
    with engine.begin() as conn:
        rid = conn.execute(select(Register.id).where(Register.serial == gone)).scalar_one()  # type: ignore[call-overload]
        conn.execute(DeviceShadow.__table__.delete())  # type: ignore[attr-defined]
        conn.execute(Register.__table__.delete().where(Register.__table__.c.id == rid))  # type: ignore[attr-defined]
    other_fn = "9999078900099999"
    poison = msg("doc", doc(1, fn=other_fn), serial=gone)
    batch = [msg("doc", doc(fd)) for fd in range(1, 8)]
    batch.insert(5, poison)
    batches_before = store.stats.batches
    out = store.apply(batch)
    # the halves are stored one after another: their `stored` in order, the last the newest
    assert out[-1] == (SERIAL, {"v": 1, "fn": FN, "through": 7})
    assert all(serial == SERIAL for serial, _p in out)
    with Session(engine) as s:
        fds = s.execute(select(FiscalDocument.fd_number)).scalars().all()  # type: ignore[call-overload]
        dead = s.execute(select(DeadLetter)).scalars().one()
    assert sorted(fds) == [1, 2, 3, 4, 5, 6, 7]
    assert (dead.serial, dead.kind, dead.payload) == (gone, "doc", poison.payload)
    assert dead.reason.startswith("База данных отказала в записи: ")
    assert store.stats.dead == 1 and store.stats.messages == 1 + 8
    assert store.stats.batches - batches_before <= 2 * 3  # halving: ~2·log2(8), not 8
    # the serial is looked up again: the next message of the deleted register is plainly
    # an unknown serial, with no refused transaction
    store.apply([msg("doc", doc(2, fn=other_fn), serial=gone)])
    with Session(engine) as s:
        reasons = sorted(d.reason for d in s.execute(select(DeadLetter)).scalars().all())
    assert reasons[-1] == f"Касса с серийным номером {gone} не найдена в парке"


def test_a_topic_with_nul_is_a_dead_letter_on_every_database(engine: Engine) -> None:
    store = setup(engine)
    bad = Incoming(f"{ROOT}/v1/reg/\x00/doc", b"{}", time.time())
    assert store.apply([bad, msg("doc", doc(1))]) == [(SERIAL, {"v": 1, "fn": FN, "through": 1})]
    with Session(engine) as s:
        dead = s.execute(select(DeadLetter)).scalars().one()
    assert dead.topic == f"{ROOT}/v1/reg/\ufffd/doc" and dead.payload == b"{}"


def test_two_workers_watermark_stays_exact_when_reading_only_what_it_must(engine: Engine) -> None:
    """A worker skips reading the documents back for a drive whose batch continues its
    watermark and has nothing stored above it; whatever another worker (or another path)
    stored meanwhile must still count."""
    a = setup(engine)
    b = Store(engine, ROOT)  # a second worker: its own caches

    def through(store: Store, *fds: int) -> dict[str, Any]:
        out = store.apply([msg("doc", doc(fd)) for fd in fds])
        assert len(out) == 1
        return out[0][1]

    assert through(a, 1, 2) == {"v": 1, "fn": FN, "through": 2}
    assert through(b, 3, 4) == {"v": 1, "fn": FN, "through": 4}
    assert through(a, 5, 6) == {"v": 1, "fn": FN, "through": 6}  # no read: continues it
    assert through(b, 8) == {"v": 1, "fn": FN, "through": 6, "missing": [[7, 7]]}
    assert through(a, 7) == {"v": 1, "fn": FN, "through": 8}  # B's 8 counts
    assert through(a, 9, 10) == {"v": 1, "fn": FN, "through": 10}
    # a document stored by another path (not the ingest) above the watermark
    with Session(engine) as s:
        row = s.execute(select(FiscalDocument)).scalars().first()
        assert row is not None
        s.add(
            FiscalDocument(
                register_id=row.register_id, fn_number=FN, fd_number=12, doc_type=3,
                fiscal_sign="1", issued_at=1.0, received_at=1.0,
            )
        )  # fmt: skip
        s.commit()
    # 11 continues the watermark: never above what is surely stored (12 is found next time)
    assert through(a, 11)["through"] in (11, 12)
    assert through(a, 13) == {"v": 1, "fn": FN, "through": 13}
    assert through(b, 13) == {"v": 1, "fn": FN, "through": 13}  # a repeat: released again


def test_array_literals_read_back_as_the_lists_they_were(engine: Engine) -> None:
    # the watermark statements pass FN numbers and FDs as one array literal, not a list
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL arrays")
    texts = ["9999078900012345", "", "a,b", 'q"u\\o', "{}", " sp ", "NULL", "кириллица"]
    with engine.connect() as conn:
        for values in (texts, texts[:1], ["0000000000000001", "9999078900012345"], []):
            got = conn.exec_driver_sql("SELECT %s::text[]", (_pg_array(values),)).scalar()
            assert got == values
        ints = [0, 1, 2**40, -5]
        assert conn.exec_driver_sql("SELECT %s::int8[]", (_pg_array(ints),)).scalar() == ints


def test_acks_and_results_land_in_one_row_a_command_whatever_the_batches(engine: Engine) -> None:
    # one upsert for a batch's acks and results (Store._commands): an ack alone, a result
    # alone, both in one batch; a later repeat's "duplicate" never hides the first verdict,
    # a later non-duplicate ack does replace it, and an ack never erases a stored result
    store = setup(engine)
    ack, result = EXAMPLES["ack"], EXAMPLES["result"]
    errors = [{"path": "request.items", "code": "required", "message": "нужны позиции"}]
    store.apply(
        [
            msg("ack", {**ack, "id": "only-ack"}),
            msg("result", {**result, "id": "only-result"}),
            msg("ack", {**ack, "id": "both"}),
            msg("result", {**result, "id": "both", "fd": 119}),
        ]
    )
    store.apply(
        [
            msg("ack", {**ack, "id": "only-ack", "status": "duplicate", "at": ack["at"] + 5}),
            msg("result", {**result, "id": "only-ack", "fd": 120}),
            msg("ack", {**ack, "id": "only-result", "status": "rejected", "errors": errors}),
            msg("ack", {**ack, "id": "both", "status": "duplicate"}),
        ]
    )
    with Session(engine) as s:
        rows = {c.request_id: c for c in s.execute(select(LinkCommand)).scalars().all()}
    assert set(rows) == {"only-ack", "only-result", "both"}
    a, r, b = rows["only-ack"], rows["only-result"], rows["both"]
    assert (a.ack_status, a.acked_at, a.ack_errors) == ("accepted", float(ack["at"]), None)
    assert a.result_status == "made" and a.result is not None and a.result["fd"] == 120
    assert (r.ack_status, r.ack_errors) == ("rejected", errors)
    assert r.result == {**result, "id": "only-result"} and r.result_at == float(result["at"])
    assert (b.ack_status, b.result_status) == ("accepted", "made")
    assert b.result is not None and b.result["fd"] == 119
