"""A duplicate of a made receipt's request is answered from the result kept in memory
(firmware/register.py `_keep`), not from a 40h read: the same result as the journal and the
drive give (`_entry_result`, what a restarted register answers), and no drive command."""

from __future__ import annotations

from pathlib import Path

from tests.firmware.test_register import Rig, sale


def test_a_duplicate_is_answered_from_memory_as_the_drive_would(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start()
    requests = [sale(f"k-{i}", 10000 + i, items=1 + i % 3) for i in range(4)]
    refund = sale("k-r", 10000, operation="sale_return", original={"fd": 3})
    made = [rig.reg.handle(r) for r in [*requests, refund]]
    assert all(m["status"] == "made" for m in made), made
    calls = rig.drive.calls
    from_memory = [rig.reg.handle(r) for r in [*requests, refund]]
    assert rig.drive.calls == calls  # no 40h, no 30h
    rig.reg._kept.clear()
    from_drive = [rig.reg.handle(r) for r in [*requests, refund]]
    assert rig.drive.calls > calls
    assert from_memory == from_drive
    for m, d in zip(made, from_memory, strict=True):
        assert d["duplicate"] is True
        assert {k: m[k] for k in d if k != "duplicate"} == {k: d[k] for k in d if k != "duplicate"}


def test_the_kept_results_are_bounded_and_a_restart_reads_the_drive(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start()
    for i in range(40):
        assert rig.reg.handle(sale(f"b-{i}", 1000 + i))["status"] == "made"
    assert len(rig.reg._kept) == 32 and "b-7" not in rig.reg._kept and "b-8" in rig.reg._kept
    calls = rig.drive.calls
    old = rig.reg.handle(sale("b-0", 1000))  # forgotten: from the journal and 40h
    assert old["duplicate"] is True and old["fd"] == 3 and rig.drive.calls > calls
    kept = rig.reg.handle(sale("b-39", 1039))
    rig.boot()
    rig.reg.recover()
    rig.reg.trust_time("test")
    after = rig.reg.handle(sale("b-39", 1039))
    assert after == kept
