"""The drive contract: what any fiscal drive on our bench must do, per reference §1.

Runs unchanged over the in-process simulator, the simulator on a pty or TCP, and a real
drive on a serial port (`oblako hil run --port URL`). Markers say what a test needs; see
hil/bench.py. The `bench` fixture comes from hil/plugin.py (real ports) or from
tests/contract/conftest.py (simulator links in `make test`).
"""

from __future__ import annotations

import pytest

from firmware.errors import DriveError
from firmware.tlv import decode as decode_tlv
from hil import scenarios
from hil.bench import SIMULATOR, Bench

PHASES = (0, 1, 3, 7, 15)  # §1.5 table: setup, ready, fiscal, post-fiscal, archive
DAY = 86400.0


def fresh(bench: Bench) -> None:
    """Back to 'ready for fiscalisation' with 60h (debug builds only, §1.6)."""
    bench.note("reset 60h")
    bench.drive.reset()
    st = bench.drive.status()
    if st["phase"] != 1:
        raise AssertionError(f"after 60h the phase is {st['phase']}, expected 1")


def fiscalised_with_shift(bench: Bench) -> None:
    """Reset, register and open a shift: the start of most document tests."""
    fresh(bench)
    scenarios.register(bench.drive)
    scenarios.open_shift(bench.drive)


# ---- safe on any drive ------------------------------------------------------------------


@pytest.mark.safe
def test_status_is_well_formed(bench: Bench) -> None:
    st = bench.drive.status()
    assert st["phase"] in PHASES
    assert len(st["fn_number"]) == 16 and st["fn_number"].isdigit()
    assert st["last_fd"] >= 0
    assert st["shift_open"] in (0, 1)
    assert bench.drive.fn_number() == st["fn_number"]


@pytest.mark.safe
def test_identity_and_resources(bench: Bench) -> None:
    version = bench.drive.version()
    assert version["software_type"] in (0, 1)
    ffd = bench.drive.ffd_versions()
    assert 1 <= ffd["ffd_current"] <= ffd["ffd_max"] <= 4 or ffd["ffd_current"] == 0
    validity = bench.drive.validity()
    assert validity["reregistrations_left"] >= 0
    free = bench.drive.free_resource()
    assert free["archive_docs_left"] >= 0
    params = bench.drive.shift_parameters()
    assert params["shift_open"] in (0, 1)
    assert bench.drive.ofd_exchange_status()["message_count"] >= 0


@pytest.mark.safe
def test_enq_repeats_the_last_answer(bench: Bench) -> None:
    first = bench.raw(0x30)
    bench.send_raw(b"\x05")
    assert bench.read_answer() == first


@pytest.mark.safe
def test_unknown_command_answers_01h(bench: Bench) -> None:
    code, _data = bench.raw(0x7E)
    assert code & 0x7F == 0x01


@pytest.mark.safe
def test_make_without_begin_is_refused_and_nothing_is_made(bench: Bench) -> None:
    before = bench.drive.status()["last_fd"]
    with pytest.raises(DriveError) as err:
        bench.drive.receipt_make(1, 100)
    assert err.value.code in (0x02, 0x01)  # wrong state (§1.4); 01h for an odd phase
    assert err.value.ru
    assert bench.drive.status()["last_fd"] == before


@pytest.mark.safe
def test_last_document_reads_back_from_the_archive(bench: Bench) -> None:
    st = bench.drive.status()
    if st["last_fd"] == 0 and bench.kind == SIMULATOR:
        fiscalised_with_shift(bench)  # the simulator starts empty: give it documents
        scenarios.sell(bench.drive)
        st = bench.drive.status()
    if st["last_fd"] == 0:
        pytest.skip("the drive holds no document yet")
    found = bench.drive.find_document(st["last_fd"])
    assert found["document_type"] > 0
    doc = bench.drive.read_document(st["last_fd"])
    assert doc["document_tag"] in (1, 11, 2, 21, 3, 31, 4, 41, 5, 6)  # §2.2
    fields = decode_tlv(doc["tlv"])  # 46h: the document's fields, one TLV per call
    assert {f[0] for f in fields} >= {1040, 1041, 1077}


# ---- debug drives: fiscalisation and documents -------------------------------------------


@pytest.mark.debug_drive
def test_fiscal_cycle_numbers_documents_without_gaps(bench: Bench) -> None:
    fresh(bench)
    reg = scenarios.register(bench.drive)
    assert reg["fd"] == 1 and reg["fp"] > 0
    assert bench.drive.status()["phase"] == 3
    shift = scenarios.open_shift(bench.drive)
    assert shift["fd"] == 2 and shift["shift_number"] == 1
    sale1 = scenarios.sell(bench.drive)
    sale2 = scenarios.sell(bench.drive, scenarios.sale_request(items=20, price=4990))
    assert (sale1["fd"], sale2["fd"]) == (3, 4)
    assert (sale1["receipt_number"], sale2["receipt_number"]) == (1, 2)
    closed = scenarios.close_shift(bench.drive)
    assert closed["fd"] == 5 and closed["shift_number"] == 1
    st = bench.drive.status()
    assert st["last_fd"] == 5 and st["shift_open"] == 0


@pytest.mark.debug_drive
def test_receipt_is_archived_with_the_drive_tags(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    made = scenarios.sell(bench.drive)
    doc = bench.drive.read_document(made["fd"])
    assert doc["document_tag"] == 3  # a receipt (§2.2)
    tags = {f[0]: f[1] for f in decode_tlv(doc["tlv"])}
    assert tags[1040] == made["fd"]  # the drive adds FD number, FN number, time, sign
    assert tags[1041] == bench.drive.fn_number()
    assert tags[1054] == 1 and tags[1020] == 12345
    assert len(tags[1077]) == 6
    found = bench.drive.find_document(made["fd"])
    assert found["record"]["total_kop"] == 12345


@pytest.mark.debug_drive
def test_document_waits_for_the_ofd(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    made = scenarios.sell(bench.drive)
    assert bench.drive.unconfirmed_count() >= 3  # registration, shift, receipt
    status = bench.drive.ofd_exchange_status()
    assert status["message_count"] >= 3
    bench.drive.transport_status(1)
    message = bench.drive.read_ofd_message()
    assert len(message) >= 32 and message[4] == 0xA5  # an FN container (§4.2)
    assert made["fd"] >= int.from_bytes(message[17:20], "big")


@pytest.mark.debug_drive
def test_cancelled_document_leaves_no_trace(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    before = bench.drive.status()["last_fd"]
    bench.drive.receipt_begin()
    bench.drive.send_data([(1030, "Отменённый товар")])
    bench.drive.cancel_document()
    assert bench.drive.status()["last_fd"] == before
    assert scenarios.sell(bench.drive)["fd"] == before + 1


@pytest.mark.debug_drive
def test_oversized_document_is_refused(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    scenarios.close_shift(bench.drive)  # a 1 KB budget applies to shift documents (§1.8)
    bench.drive.open_shift_begin()
    with pytest.raises(DriveError) as err:
        bench.drive.send_data([(1084, [(1085, "x" * 60), (1086, "y" * 250)])] * 4)
    assert err.value.code == 0x10
    bench.drive.cancel_document()


# ---- simulator only: rules that need time to pass ----------------------------------------


@pytest.mark.sim_only
def test_shift_longer_than_24_hours_is_refused(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    bench.control.advance(DAY + 60)
    with pytest.raises(DriveError) as err:
        scenarios.sell(bench.drive)
    assert err.value.code == 0x16
    bench.drive.cancel_document()
    scenarios.close_shift(bench.drive)  # closing is still allowed (§1.8)


@pytest.mark.sim_only
def test_clock_that_jumps_is_refused(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    bench.control.step_wall(10 * 60)  # the register's clock runs 10 min ahead of the drive
    with pytest.raises(DriveError) as err:
        scenarios.sell(bench.drive)
    assert err.value.code == 0x17
    bench.drive.cancel_document()
    bench.control.step_wall(-10 * 60)
    bench.control.step_wall(-60 * 60)  # and now an hour behind the last document
    with pytest.raises(DriveError) as err:
        scenarios.sell(bench.drive)
    assert err.value.code in (0x07, 0x17)


@pytest.mark.sim_only
def test_thirty_days_without_the_ofd_blocks_receipts(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    scenarios.close_shift(bench.drive)
    bench.control.advance(31 * DAY)
    with pytest.raises(DriveError) as err:  # the new shift or its first receipt (§1.4)
        scenarios.open_shift(bench.drive)
        scenarios.sell(bench.drive)
    assert err.value.code == 0x15


# ---- power ----------------------------------------------------------------------------


@pytest.mark.power
@pytest.mark.debug_drive
def test_power_cut_loses_only_the_document_being_formed(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    made = scenarios.sell(bench.drive)
    bench.drive.receipt_begin()
    bench.drive.send_data([(1030, "Незавершённый")])
    bench.note("power cycle")
    bench.control.power_cycle()
    st = bench.drive.status()
    assert st["last_fd"] == made["fd"]
    assert st["current_document"] == 0
    assert scenarios.sell(bench.drive)["fd"] == made["fd"] + 1


@pytest.mark.power
@pytest.mark.debug_drive
def test_power_cut_after_make_keeps_the_document(bench: Bench) -> None:
    fiscalised_with_shift(bench)
    made = scenarios.sell(bench.drive)
    bench.control.power_cycle()
    assert bench.drive.status()["last_fd"] == made["fd"]
    assert bench.drive.find_document(made["fd"])["record"]["total_kop"] == 12345
