"""Fault injection between the driver and the simulated drive.

Whatever the line does (lost or corrupted requests and answers, garbage, delays, split
answers, a power cut at any byte), one sale either completes or ends in a typed firmware
error, and the drive never holds a second document for it (decision 4).
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from firmware.drive import FiscalDrive
from firmware.errors import MakeOutcomeError, NotMade, OutcomeUnknown, RegisterError
from hil import scenarios
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveEndpoint, DriveModel, FaultPlan, inproc_pair

TARGETS = st.sampled_from([0x15, 0x07, 0x16, 0x30, None])  # begin, data, make, status, any


@st.composite
def faults(draw: st.DrawFn) -> FaultPlan:
    plan = FaultPlan(seed=draw(st.integers(0, 2**16)))
    for _ in range(draw(st.integers(1, 3))):
        command = draw(TARGETS)
        skip = draw(st.integers(0, 2))
        kind = draw(st.sampled_from(["drop_req", "bad_req", "drop_ans", "delay", "bad_ans",
                                     "garbage", "split", "cut"]))  # fmt: skip
        if kind == "drop_req":
            plan.drop_request(command, skip=skip)
        elif kind == "bad_req":
            plan.corrupt_request(command, skip=skip)
        elif kind == "drop_ans":
            plan.drop_answer(command, skip=skip)
        elif kind == "delay":
            plan.delay_answer(draw(st.sampled_from([0.5, 3.0, 20.0])), command, skip=skip)
        elif kind == "bad_ans":
            plan.corrupt_answer(command, skip=skip)
        elif kind == "garbage":
            plan.garbage_before(None, command, skip=skip)
        elif kind == "split":
            plan.split_answer(draw(st.integers(1, 3)), command, skip=skip)
        else:
            plan.power_cut(after_bytes=draw(st.integers(0, 40)), command=command)
    return plan


def _receipts(drive: DriveModel) -> int:
    return sum(1 for d in drive.state.archive if d.doc_type == 3)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=faults())
def test_a_sale_is_made_at_most_once_whatever_the_line_does(plan: FaultPlan) -> None:
    clock = SimClock()
    config = DriveConfig(debug_build=True, sign_algorithm="sha256")
    model = DriveModel(config, clock=clock)
    endpoint = DriveEndpoint(model)
    port, _ = inproc_pair(endpoint, timeout=0.01)
    driver = FiscalDrive(port, clock)
    scenarios.register(driver)
    scenarios.open_shift(driver)
    before = _receipts(model)
    endpoint.faults = plan
    outcome: dict[str, object] | RegisterError
    try:
        outcome = scenarios.sell(driver)
    except RegisterError as e:  # typed, never IndexError/struct.error/ValueError
        outcome = e
    # A restart of both ends (a fresh line and driver), then a clean sale: numbering has no
    # gap and nothing the faults left behind is made twice.
    model.power_off()
    model.power_on()
    made = _receipts(model) - before
    event(f"{'made' if isinstance(outcome, dict) else type(outcome).__name__}, {made} receipt")
    assert made in (0, 1)
    if isinstance(outcome, dict):
        assert made == 1 and outcome["fd"] == model.state.last_fd
    elif isinstance(outcome, NotMade):
        assert made == 0
    elif not isinstance(outcome, OutcomeUnknown | MakeOutcomeError):
        assert made == 0, outcome  # only a lost make answer can hide a made document
    port, _ = inproc_pair(DriveEndpoint(model), timeout=0.01)
    after = scenarios.sell(FiscalDrive(port, clock))
    assert after["fd"] == model.state.last_fd
    assert _receipts(model) - before == made + 1


def test_lost_make_answer_is_fetched_again_not_resent() -> None:
    clock = SimClock()
    model = DriveModel(DriveConfig(debug_build=True, sign_algorithm="sha256"), clock=clock)
    endpoint = DriveEndpoint(model, trace=True)
    port, _ = inproc_pair(endpoint, timeout=0.01)
    driver = FiscalDrive(port, clock)
    scenarios.register(driver)
    scenarios.open_shift(driver)
    endpoint.faults = FaultPlan().drop_answer(0x16).corrupt_answer(0x16)
    made = scenarios.sell(driver)
    assert made["fd"] == model.state.last_fd == 3
    assert _receipts(model) == 1
    assert endpoint.trace is not None
    sent = b"".join(chunk for _t, way, chunk in endpoint.trace if way == "rx")
    assert sent.count(bytes.fromhex("040c0016")) == 1  # one 16h request reached the drive
    assert driver.enq_sent >= 1
