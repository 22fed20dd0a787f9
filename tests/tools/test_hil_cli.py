"""`oblako hil run` and `oblako hil trace show` as a bench operator uses them."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.fn import DriveConfig, DriveModel, serve_pty

ROOT = Path(__file__).resolve().parents[2]


def oblako(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oblako", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def junit_cases(path: Path) -> dict[str, str]:
    """test name -> "passed" | "skipped" | "failed"."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        state = "passed"
        if case.find("skipped") is not None:
            state = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            state = "failed"
        out[case.get("name", "")] = state
    return out


def test_sim_bench_run_writes_junit_and_a_trace_that_decodes(tmp_path: Path) -> None:
    junit, trace = tmp_path / "report.xml", tmp_path / "trace.jsonl"
    done = oblako(
        "hil", "run", "--port", "sim", "--junit", str(junit), "--trace", str(trace),
        "-k", "enq or fiscal_cycle or 24_hours",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    cases = junit_cases(junit)
    assert cases == {
        "test_enq_repeats_the_last_answer": "passed",
        "test_fiscal_cycle_numbers_documents_without_gaps": "passed",
        "test_shift_longer_than_24_hours_is_refused": "passed",
    }
    shown = oblako("hil", "trace", "show", str(trace))
    assert shown.returncode == 0
    assert "→ ENQ (повторить последний ответ)" in shown.stdout
    assert "→ 16h Сформировать чек" in shown.stdout
    assert "← 16h Продолжительность смены более 24 часов" in shown.stdout
    assert '1030 Наименование предмета расчёта: "Товар 1"' in shown.stdout


@pytest.fixture(name="real_like_drive")
def fixture_real_like_drive(tmp_path: Path) -> Iterator[str]:
    """A simulated drive on a pty, reached as the bench reaches a real one (real time)."""
    drive = DriveModel(DriveConfig(debug_build=True, sign_algorithm="sha256"),
                       state_file=tmp_path / "fn.json")  # fmt: skip
    with serve_pty(drive) as server:
        yield server.path


def test_real_port_refuses_fiscalisation_unless_allowed(
    real_like_drive: str, tmp_path: Path
) -> None:
    junit = tmp_path / "r.xml"
    done = oblako("hil", "run", "--port", real_like_drive, "--junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    cases = junit_cases(junit)
    assert cases["test_status_is_well_formed"] == "passed"
    assert cases["test_fiscal_cycle_numbers_documents_without_gaps"] == "skipped"
    assert cases["test_shift_longer_than_24_hours_is_refused"] == "skipped"
    assert cases["test_power_cut_after_make_keeps_the_document"] == "skipped"
    assert "refused on a real drive without --allow-fiscal" in done.stdout

    allowed = oblako(
        "hil", "run", "--port", real_like_drive, "--junit", str(junit), "--allow-fiscal",
        "-k", "fiscal_cycle or archived",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert set(junit_cases(junit).values()) == {"passed"}


def test_bad_port_fails_with_one_clear_message() -> None:
    done = oblako("hil", "run", "--port", "/dev/oblako-no-such-port")
    assert done.returncode == 1
    assert "cannot open /dev/oblako-no-such-port" in done.stderr


def test_trace_show_refuses_a_broken_trace(tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"t": 0.1, "dir": "tx", "hex": "0401"}\n{"t": oops}\n')
    done = oblako("hil", "trace", "show", str(bad))
    assert done.returncode == 1 and "line 2" in done.stderr


def test_bench_file_slots(tmp_path: Path, real_like_drive: str) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text(
        f'[slots.A1]\nport = "{real_like_drive}"\nallow_fiscal = true\n'
        '[slots.B2]\npower_cycle = "true"\n'
    )
    junit = tmp_path / "r.xml"
    done = oblako(
        "hil", "run", "--bench", str(bench), "--slot", "A1", "--junit", str(junit),
        "-k", "fiscal_cycle",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert junit_cases(junit) == {"test_fiscal_cycle_numbers_documents_without_gaps": "passed"}
    missing = oblako("hil", "run", "--bench", str(bench), "--slot", "B2")
    assert missing.returncode == 1 and "slot 'B2' needs a port" in missing.stderr
    unknown = oblako("hil", "run", "--bench", str(bench), "--slot", "Z9")
    assert unknown.returncode == 1 and "no slot 'Z9' (slots: A1, B2)" in unknown.stderr
