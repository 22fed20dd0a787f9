"""The `doc` event from the document the register has just made (firmware/docimage.py).

Every document kind goes through the agent on the simulated drive; each `doc` event published
is compared with the event built from the drive's archive (40h, 45h, 46h per TLV) for the
same FD: byte-identical TLV, the drive's fiscal sign, the same type, time, shift, operation
and total. The image is used only once the archive agreed with the first of its type.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from firmware import docimage
from firmware.register import DOC_RECEIPT
from protocol.tree import Field
from simulator.fn.documents import assemble
from tests.firmware.test_agent import ROOT, Board, cmd
from tests.firmware.test_register import KM, marked_sale, registration_request, sale


def _docs(board: Board) -> dict[int, dict[str, Any]]:
    """The `doc` events published so far, by FD (the last one of an FD), without "v"."""
    out = {}
    for topic, payload, _ in board.client.out:
        if topic.endswith("/doc"):
            d = json.loads(payload)
            d.pop("v")
            out[d["fd"]] = d
    return out


def _commands(board: Board, code: int) -> int:
    trace = board.rig.endpoint.trace
    assert trace is not None
    return sum(1 for _t, way, c in trace if way == "rx" and c[3] == code)


def _run(board: Board, rid: str, action: str, request: dict[str, Any]) -> dict[str, Any]:
    board.send("cmd", cmd(rid, action, request, issued_at=int(board.rig.clock.wall())))
    board.agent.step(0)
    results = [r for r in board.client.taken("result") if r["id"] == rid]
    assert results and results[-1]["status"] == "made", results
    # the fleet stores what came, so the outbox's window never holds the next document back
    stored = {"v": 1, "fn": board.outbox.fn, "through": max(_docs(board))}
    board.send("stored", json.dumps(stored).encode())
    return results[-1]


def _same_as_archive(board: Board) -> dict[int, dict[str, Any]]:
    docs = _docs(board)
    archive = board.rig.docs()
    assert sorted(docs) == [d.fd for d in archive]
    for fd, event in docs.items():
        assert event == board.agent._archived(fd), fd
    return docs


def test_every_document_kind_s_event_is_the_archive_s(tmp_path: Path) -> None:
    board = Board(tmp_path)
    board.rig.endpoint.trace = []
    _run(board, "reg-1", "registration", registration_request())
    _run(board, "o-1", "open_shift", {})
    for n, op in enumerate(("sale", "sale_return", "expense", "expense_return")):
        _run(board, f"s-{op}", "receipt", sale(f"s-{op}", 1000 * (n + 1), operation=op))
    _run(board, "big", "receipt", sale("big", 90000, items=20, buyer_contact="b@example.ru"))
    correction = {"type": "order", "original_date": "2024-01-10", "order_number": "ПР-12"}
    _run(board, "c-1", "correction", sale("c-1", 777, correction=correction))
    _run(board, "x-1", "report", {})
    _run(board, "z-1", "close_shift", {})
    rereg = registration_request(
        "rr-1", kind="reregistration", reasons=["address"], address="г. Москва, ул. Новая, д. 2"
    )
    _run(board, "rr-1", "reregistration", rereg)
    _run(board, "s-after", "receipt", sale("s-after", 4242))  # opens shift 2 on its own
    _run(board, "s-after-2", "receipt", sale("s-after-2", 4243))
    _run(board, "fn-close", "close_fiscal_mode", {})
    read_by_agent = _commands(board, 0x45)
    docs = _same_as_archive(board)
    types = {d["type"] for d in docs.values()}
    assert types == {1, 2, 3, 31, 21, 5, 11, 6}
    images = board.rig.reg.images
    assert images is not None and images.mismatches == 0
    assert images.verdict == {2: True, 3: True, 31: True}
    # the first of each kind was read back to check it; the rest came from the images
    assert images.used == 7  # 5 receipts, shift 2's opening, the second sale of shift 2
    read = sum(1 for d in board.rig.docs() if d.doc_type not in (2, 3, 31)) + 3
    assert read_by_agent == read


def test_a_marked_sale_s_b7h_data_is_in_its_image(tmp_path: Path) -> None:
    board = Board(tmp_path)
    _run(board, "reg-1", "registration", registration_request(modes=["marking"]))
    for i in range(3):
        _run(board, f"m-{i}", "receipt", marked_sale(f"m-{i}", KM[:-1] + str(i)))
    _same_as_archive(board)
    images = board.rig.reg.images
    assert images is not None and images.used == 2 and images.verdict[3] is True


def test_a_drive_whose_layout_differs_is_read_from_its_archive(tmp_path: Path) -> None:
    # A BSO register: the drive makes document 4 where the image says 3. The first check
    # fails, every event still comes from the archive and nothing else is built for 3.
    board = Board(tmp_path)
    _run(board, "reg-1", "registration", registration_request(modes=["bso"]))
    for i in range(3):
        _run(board, f"s-{i}", "receipt", sale(f"s-{i}", 100 + i))
    docs = _same_as_archive(board)
    assert [d["type"] for d in docs.values()].count(4) == 3
    images = board.rig.reg.images
    assert images is not None
    assert images.verdict[3] is False and images.mismatches == 1 and images.used == 0
    assert images.built == 2 and images.verdict[2] is True  # the opening, the first receipt
    assert all(images.take(fd) is None for fd in range(1, 10))


def test_a_document_over_the_capture_limit_and_a_gap_refill_come_from_the_archive(
    tmp_path: Path,
) -> None:
    board = Board(tmp_path)
    board.rig.drive.capture_limit = 300
    _run(board, "reg-1", "registration", registration_request())
    _run(board, "s-1", "receipt", sale("s-1", 100))  # checks the receipt image
    _run(board, "s-2", "receipt", sale("s-2", 9000, items=5))  # over 300 bytes: no image
    _run(board, "s-3", "receipt", sale("s-3", 300))
    images = board.rig.reg.images
    assert images is not None and images.used == 1 and images.verdict[3] is True
    board.rig.endpoint.trace = []
    fn = board.outbox.fn
    stored = {"v": 1, "fn": fn, "through": 1, "missing": [[3, 4]]}
    board.send("stored", json.dumps(stored).encode())
    assert _commands(board, 0x45) == 2  # the refill reads the archive
    assert [d["fd"] for d in board.client.taken("doc")].count(4) == 2
    _same_as_archive(board)
    assert board.client.out[0][0].startswith(ROOT)


@given(
    fn=st.text("0123456789", min_size=16, max_size=16),
    fd=st.integers(1, 2**32 - 1),
    minute=st.integers(0, 60 * 24 * 365 * 20),
    shift=st.integers(1, 2**32 - 1),
    number=st.integers(1, 0xFFFF),
    operation=st.integers(1, 4),
    total=st.integers(0, 2**40 - 1),
    data=st.binary(max_size=40).map(lambda b: b"\xf4\x03" + bytes((len(b), 0)) + b),
)
def test_the_image_is_the_drive_s_document_body(
    fn: str,
    fd: int,
    minute: int,
    shift: int,
    number: int,
    operation: int,
    total: int,
    data: bytes,
) -> None:
    # the simulator's assemble() is the drive's layout; the firmware builds it without one
    when = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=minute)
    at = (when.year, when.month, when.day, when.hour, when.minute, 37)
    extra = [(1038, shift), (1042, number), (1054, operation), (1020, total)]
    stlv, sign = assemble(
        DOC_RECEIPT,
        identity=[Field(1041, fn)],
        fd=fd,
        date_time=when,
        extra=[Field(t, v) for t, v in extra],
        register_tlvs=data,
        key=b"k" * 32,
        algorithm="sha256",
    )
    assert docimage.build(DOC_RECEIPT, fn, fd, sign, at, extra, data) == stlv[4:]
