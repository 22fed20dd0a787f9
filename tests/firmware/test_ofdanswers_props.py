"""firmware.ofdanswers against a model: an answer leaves only when the fleet names it, whatever
the order of answers, acknowledgements, restarts and resend rounds (hypothesis)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware.flashmodel import FlashModel
from firmware.ofdanswers import OfdAnswers
from tests.firmware.mpsupport import FakeClock

FNS = ("9999078900012345", "9999078900054321")
LIMIT = 8


class Answers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.flash = FlashModel()
        self.clock = FakeClock()
        self.a = OfdAnswers(self.flash, self.clock, limit=LIMIT, resend_s=30, window=4)
        self.model: dict[tuple[str, int], tuple[str, int | None]] = {}
        self.order: list[tuple[str, int]] = []
        self.dropped = 0

    @rule(fn=st.sampled_from(FNS), fd=st.integers(1, 20), code=st.sampled_from([None, 14]))
    def answer(self, fn: str, fd: int, code: int | None) -> None:
        status = "accepted" if code is None else "rejected"
        self.a.add(fn, fd, status, code, 1000)
        key = (fn, fd)
        if key in self.model:
            self.order.remove(key)
        elif len(self.model) >= LIMIT:
            victim = next((k for k in self.order if self.model[k][0] == "accepted"), self.order[0])
            self.order.remove(victim)
            del self.model[victim]
            self.dropped += 1
        self.model[key] = (status, code)
        self.order.append(key)

    @rule(fn=st.sampled_from(FNS), fds=st.lists(st.integers(1, 20), max_size=6))
    def fleet_stored(self, fn: str, fds: list[int]) -> None:
        self.a.stored(fn, fds)
        for fd in fds:
            if (fn, fd) in self.model:
                del self.model[(fn, fd)]
                self.order.remove((fn, fd))

    @rule()
    def send_round(self) -> None:
        for p in self.a.due():
            self.a.sent(p["fn"], p["fd"])

    @rule(seconds=st.sampled_from([1, 29, 31]))
    def time_passes(self, seconds: int) -> None:
        self.clock.sleep(seconds)

    @rule()
    def restart(self) -> None:
        self.a = OfdAnswers(self.flash, self.clock, limit=LIMIT, resend_s=30, window=4)

    @invariant()
    def keeps_exactly_the_unacknowledged(self) -> None:
        kept = {(it[0], it[1]): (it[2], it[3]) for it in self.a._items}
        assert kept == self.model
        assert [(it[0], it[1]) for it in self.a._items] == self.order

    @invariant()
    def every_kept_answer_is_due_within_resend_s(self) -> None:
        later = OfdAnswers(self.flash, self.clock, limit=LIMIT, window=LIMIT)
        assert {(p["fn"], p["fd"]) for p in later.due()} == set(self.model)


TestAnswers = Answers.TestCase
TestAnswers.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
