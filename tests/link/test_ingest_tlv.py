"""The document TLV at ingest: the scanner (golden bytes, random bytes) and what the fleet keeps."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firmware.tlv import decode as firmware_decode
from fleet.documents.models import FiscalDocument
from fleet.link.doctlv import TlvScanError, scan, scan_checked
from fleet.link.ingest_models import LinkCommand
from tests.firmware.test_register import marked_sale, registration_request, sale
from tests.link.test_ingest import (
    Broker,
    IngestThread,
    SimRegister,
    _setup,
    assert_exactly_once,
    broker,
    dead_letters,
    fixture_engine,
    fixture_pg_server,
    online,
    settled,
    wait_for,
)

__all__ = ["broker", "fixture_engine", "fixture_pg_server"]


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack("<HH", tag, len(value)) + value


# ---- golden bytes ----------------------------------------------------------------------------

FN_1041 = bytes.fromhex("1104 1000") + b"9999078900012345"
ITEM_PLAIN = bytes.fromhex("2304 0f000604 0500 8de2a5ac31ff03 0200 e803")
# 1059 { 1030 "Товар1" (cp866), 1023 quantity 1000 }: 4 + 15 bytes
# 1059 { 2000 "01046012" (a marking code), 2150 (0x0866) one byte }: 4 + 17 bytes
ITEM_MARKED = bytes.fromhex("2304 1100d007 0800 30313034363031326608 0100 03")


def test_golden_receipt_without_marking() -> None:
    # 1041 FN number, 1055 (0x041f) = 4 (УСН доход−расход), an item without marking
    assert scan(FN_1041 + bytes.fromhex("1f04 0100 04") + ITEM_PLAIN) == (4, False)
    # a (malformed) second 1055: the last one read wins
    data = FN_1041 + bytes.fromhex("1f04 0100 01") + ITEM_PLAIN + bytes.fromhex("1f04 0100 20")
    assert scan(data) == (32, False)
    assert scan(b"") == (None, False)
    assert scan(FN_1041) == (None, False)


def test_golden_receipt_with_a_marked_item() -> None:
    assert ITEM_MARKED[:4] == struct.pack("<HH", 1059, 17)
    data = FN_1041 + bytes.fromhex("1f04 0100 02") + ITEM_PLAIN + ITEM_MARKED
    assert scan(data) == (2, True)
    # each FFD 1.2 item marking tag alone marks the document; 2108 (measure) does not
    for tag in (2000, 2100, 2102, 2106, 2110, 2115):
        assert scan(tlv(1059, tlv(tag, b"\x01"))) == (None, True), tag
    assert scan(tlv(1059, tlv(2108, b"\x00"))) == (None, False)
    # 2107 at the top level marks it; a 2000 outside an item is not looked at
    assert scan(tlv(2107, b"\x00")) == (None, True)
    assert scan(tlv(2000, b"KM")) == (None, False)
    # marking tags nested in another STLV (1163 product code) are not items: skipped unread
    assert scan(tlv(1163, tlv(2000, b"KM"))) == (None, False)


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"\x00\x00\x00", 0, "обрезан заголовок"),
        (FN_1041 + b"\x1f\x04", 20, "обрезан заголовок"),
        (FN_1041 + bytes.fromhex("1f04 0500 01"), 20, "тег 1055 длиной 5 выходит за конец"),
        (FN_1041 + bytes.fromhex("1f04 0200 0101"), 20, "тег 1055 длиной 2, а не 1"),
        # inside an item: 1030 claims 9 bytes of the item's 5
        (FN_1041 + tlv(1059, bytes.fromhex("0604 0900 41")), 24, "в предмете расчёта (1059)"),
        (FN_1041 + tlv(1059, b"\x06\x04"), 24, "в предмете расчёта (1059) обрезан"),
    ],
)
def test_broken_framing_names_the_offset(data: bytes, offset: int, words: str) -> None:
    with pytest.raises(TlvScanError) as e:
        scan(data)
    assert e.value.offset == offset
    assert f"смещение {offset}" in str(e.value) and words in str(e.value)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_the_scanners_error(data: bytes) -> None:
    try:
        tax, marked = scan(data)
    except TlvScanError as e:
        assert 0 <= e.offset < len(data)
    else:
        assert tax is None or 0 <= tax <= 255
        assert isinstance(marked, bool)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1041, 1055, 1059, 1020, 2107, 2000]),
            st.lists(st.tuples(st.sampled_from([1030, 2000, 2108, 2110]), st.binary(max_size=8))),
            st.binary(min_size=1, max_size=1),
        ),
        max_size=8,
    )
)
def test_well_framed_documents_scan_as_a_tree_decode_says(
    fields: list[tuple[int, list[tuple[int, bytes]], bytes]],
) -> None:
    data = b""
    tax: int | None = None
    marked = False
    for tag, inner, one in fields:
        if tag == 1059:
            data += tlv(1059, b"".join(tlv(t, v) for t, v in inner))
            marked = marked or any(t in (2000, 2110) for t, _v in inner)
        elif tag == 1055:
            data += tlv(1055, one)
            tax = one[0]
        else:
            data += tlv(tag, one)
            marked = marked or tag == 2107
    assert scan(data) == (tax, marked)


def _broken(doc: bytes, cut: int, at: int, byte: int) -> bytes:
    """A valid document cut short, or with one byte changed (often a length)."""
    if cut % 2:
        return doc[: at % (len(doc) + 1)]
    i = at % len(doc)
    return doc[:i] + bytes([byte]) + doc[i + 1 :]


_DOC = FN_1041 + tlv(1055, b"\x02") + ITEM_PLAIN + ITEM_MARKED + tlv(2107, b"\x00")


@settings(max_examples=800, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=120),
        st.builds(
            _broken, st.just(_DOC), st.integers(0, 1), st.integers(0, 200), st.integers(0, 255)
        ),
    )
)
def test_the_fast_walk_agrees_with_the_checked_one(data: bytes) -> None:
    # scan() tests no bound per TLV and falls back to the checked walk on anything odd: both
    # must give the same answer, or the same error at the same offset
    def outcome(walk: Callable[[bytes], tuple[int | None, bool]]) -> object:
        try:
            return walk(data)
        except TlvScanError as e:
            return (e.offset, e.reason)

    assert outcome(scan) == outcome(scan_checked)


# ---- end to end: the drive's archive TLV in the fleet's database ------------------------------


def results(engine: Engine) -> list[tuple[str, str | None, object]]:
    with Session(engine) as s:
        rows = s.execute(select(LinkCommand)).scalars().all()
        return [(c.request_id, c.result_status, c.result) for c in rows]


def test_the_fleet_keeps_the_archive_tlv_and_reads_tax_system_and_marking(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    root = f"ingest-test/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 1, root, tmp_path)
    worker = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
    reg = SimRegister(tmp_path, names[0], broker, root)
    try:
        reg.start()
        assert wait_for(lambda: online(engine, reg.serial), 15)
        cmd.command(reg.serial, "reg-1", "registration", registration_request(modes=["marking"]))
        cmd.command(reg.serial, "m-1", "receipt", marked_sale("m-1", vat="vat22"))
        cmd.command(reg.serial, "s-1", "receipt", sale("s-1", 1500, vat="vat22"))
        # registration, shift open, the marked receipt, the plain one
        ok = wait_for(settled(engine, [reg], 4), 25)
        assert ok, str(results(engine))
        assert_exactly_once(engine, [reg])
        assert dead_letters(engine) == []
        with Session(engine) as s:
            rows = {d.fd_number: d for d in s.execute(select(FiscalDocument)).scalars().all()}
        marked_seen = 0
        for doc in reg.model.state.archive:
            row = rows[doc.fd]
            assert row.tlv == doc.stlv[4:]  # the archive's document without its outer tag
            fields = firmware_decode(doc.stlv[4:])
            top = {f[0]: f[1] for f in fields}
            items = [dict(f[1]) for f in fields if f[0] == 1059]
            want_marked = any(2000 in it for it in items)
            marked_seen += want_marked
            assert row.has_marking is want_marked, doc.fd
            assert row.tax_system == top.get(1055), doc.fd
        # FD 3 the marked receipt, FD 4 the plain one; the registration says ОСН (1055 = 1)
        assert rows[3].has_marking and rows[3].tax_system == 1 and rows[3].doc_type == 3
        assert not rows[4].has_marking and rows[4].tax_system == 1
        assert not rows[1].has_marking and rows[1].tax_system is None
        assert marked_seen == 1
    finally:
        reg.close()
        worker.close()
        cmd.close()
    assert not reg.errors
