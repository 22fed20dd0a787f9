"""The rollout state machine (fleet/rollouts/plan.py): properties over random fleets,
outcomes and readiness, and the cases named in the brief."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.rollouts.plan import Device, DeviceStatus, Policy, decide, quota

W, S, G, OK, F = (
    DeviceStatus.WAITING,
    DeviceStatus.SENT,
    DeviceStatus.STAGED,
    DeviceStatus.SUCCEEDED,
    DeviceStatus.FAILED,
)


@dataclass
class Sim:
    """Drives the machine the way the service does; records what it saw."""

    policy: Policy
    statuses: list[DeviceStatus]
    sent_at: list[float | None]
    phase: int = 0
    aborted: bool = False
    completed: bool = False
    started_after_abort: int = 0
    max_over_quota: int = 0

    def tick(self, now: float, ready: list[bool]) -> None:
        d = decide(
            self.policy,
            self.phase,
            [Device(s, t) for s, t in zip(self.statuses, self.sent_at, strict=True)],
            now,
        )
        for i in d.timed_out:
            assert self.statuses[i] in (S, G)
            self.statuses[i] = F
        if d.abort is not None:
            self.aborted = True
            assert d.start == 0
            return
        assert d.phase >= self.phase  # phases never go back
        self.phase = d.phase
        self.completed = d.completed
        left = d.start
        for i, s in enumerate(self.statuses):
            if left == 0:
                break
            if s == W and ready[i % len(ready)]:
                self.statuses[i] = S
                self.sent_at[i] = now
                left -= 1
        started = sum(1 for s in self.statuses if s != W)
        total = len(self.statuses)
        self.max_over_quota = max(
            self.max_over_quota, started - quota(self.policy, total, self.phase)
        )


policies = st.builds(
    Policy,
    canary=st.integers(1, 5),
    phases=st.lists(st.integers(1, 99), max_size=4, unique=True).map(lambda xs: (*sorted(xs), 100)),
    threshold_pct=st.integers(0, 50),
    min_devices=st.integers(1, 30),
    timeout_s=st.sampled_from([5.0, 30.0]),
)
# per tick and device: what happens to an in-flight device
outcomes = st.lists(st.sampled_from(["ok", "fail", "stage", "nothing"]), min_size=1, max_size=8)


@settings(max_examples=120, deadline=None)
@given(
    policy=policies,
    total=st.integers(1, 60),
    script=st.lists(outcomes, min_size=1, max_size=25),
    ready=st.lists(st.booleans(), min_size=1, max_size=5).map(lambda r: [True, *r]),
)
def test_phases_never_exceed_their_share_and_abort_stops_everything(
    policy: Policy, total: int, script: list[list[str]], ready: list[bool]
) -> None:
    sim = Sim(policy, [W] * total, [None] * total)
    now = 0.0
    for step in script:
        was_aborted = sim.aborted
        before = [s for s in sim.statuses]
        if not sim.aborted and not sim.completed:
            sim.tick(now, ready)
        if was_aborted:
            # after an abort nothing starts: no waiting device ever leaves waiting
            assert [s for s in sim.statuses if s == W] == [s for s in before if s == W]
        for i, s in enumerate(sim.statuses):
            if s in (S, G):
                o = step[i % len(step)]
                if o == "ok":
                    sim.statuses[i] = OK
                elif o == "fail":
                    sim.statuses[i] = F
                elif o == "stage" and s == S:
                    sim.statuses[i] = G
        now += 7.0
    assert sim.max_over_quota <= 0
    if sim.aborted:  # the abort happened on a failure: a failed canary or over the threshold
        assert F in sim.statuses
    if sim.completed:
        assert all(s in (OK, F) for s in sim.statuses)


@settings(max_examples=100, deadline=None)
@given(policy=policies, total=st.integers(1, 40), late=st.integers(0, 39))
def test_a_device_that_times_out_counts_as_failed(policy: Policy, total: int, late: int) -> None:
    late %= total
    statuses = [OK] * total
    statuses[late] = S
    devices = [Device(s, 0.0 if s == S else None) for s in statuses]
    d = decide(policy, policy.last_phase, devices, policy.timeout_s)
    assert d.timed_out == (late,)
    # a timed-out device weighs as a failure: with threshold 0 and min 1 the rollout aborts
    strict = Policy(policy.canary, policy.phases, 0, 1, policy.timeout_s)
    assert decide(strict, strict.last_phase, devices, policy.timeout_s).abort is not None
    # just before its time-out it is still in flight
    d = decide(policy, policy.last_phase, devices, policy.timeout_s - 0.5)
    assert d.timed_out == () and not d.completed


def test_the_default_phases_of_a_hundred_registers() -> None:
    p = Policy()
    assert [quota(p, 100, i) for i in range(5)] == [1, 1, 10, 50, 100]
    assert [quota(p, 7, i) for i in range(5)] == [1, 1, 1, 4, 7]


def test_a_failed_canary_aborts_and_a_good_one_opens_the_next_phase() -> None:
    p = Policy(canary=2, min_devices=100)
    d = decide(p, 0, [Device(F), Device(OK)] + [Device(W)] * 8, 10.0)
    assert d.abort is not None and "Канареечное" in d.abort and d.start == 0
    d = decide(p, 0, [Device(OK), Device(OK)] + [Device(W)] * 198, 10.0)
    assert d.abort is None and d.phase == 2 and d.start == 18  # 1 % is still within the canary


def test_the_threshold_waits_for_its_minimum_then_aborts() -> None:
    p = Policy(canary=1, threshold_pct=10, min_devices=10)
    done = [Device(OK)] * 8 + [Device(F)]
    d = decide(p, 2, done + [Device(W)] * 91, 0.0)
    assert d.abort is None  # 9 finished: below the minimum
    d = decide(p, 2, done + [Device(F)] + [Device(W)] * 90, 0.0)
    assert d.abort is not None and "порога 10 %" in d.abort


def test_a_phase_waits_for_its_devices_in_flight() -> None:
    p = Policy(canary=1, phases=(50, 100), min_devices=100)
    d = decide(p, 1, [Device(OK), Device(S, 0.0)] + [Device(W)] * 2, 1.0)
    assert d.phase == 1 and d.start == 0
    d = decide(p, 1, [Device(OK), Device(OK)] + [Device(W)] * 2, 1.0)
    assert d.phase == 2 and d.start == 2
    d = decide(p, 2, [Device(OK)] * 3 + [Device(F)], 1.0)
    assert d.completed
