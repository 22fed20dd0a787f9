"""Faults a link can inject between the register and the drive.

A `FaultPlan` is a list of one-shot (or counted) faults, each aimed at the exchange of
one command code or of any command, plus optional random noise from a seeded generator.
The link asks the plan at each exchange; the drive model itself stays fault-free except
for a forced answer code (e.g. 03h "Ошибка ФН", 04h "Ошибка КС", which the protocol
leaves to the hardware).

Kinds:

    drop_request       the request never reaches the drive (noise ate it)
    corrupt_request    one bit of the request flips: the drive sees a bad CRC
    force_answer       the drive answers ``code`` (+ ``data``) without executing
    drop_answer        the drive executes, the answer is lost (ENQ gets it back, §1.1)
    delay_answer       the answer leaves ``delay`` seconds late
    corrupt_answer     one bit of the answer's CRC flips
    garbage_before     ``data`` (noise) arrives before the answer
    split_answer       the answer arrives in pieces of ``chunk`` bytes (one per read)
    power_cut          after ``after_bytes`` received bytes (``command`` None), or after
                       ``after_bytes`` bytes of that command's answer were sent: the
                       drive loses power; it stays off until `power_on`
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from enum import Enum

from simulator.fn.errors import ConfigError

__all__ = ["Fault", "FaultKind", "FaultPlan", "Noise"]


class FaultKind(Enum):
    """What a fault does to one exchange."""

    DROP_REQUEST = "drop_request"
    CORRUPT_REQUEST = "corrupt_request"
    FORCE_ANSWER = "force_answer"
    DROP_ANSWER = "drop_answer"
    DELAY_ANSWER = "delay_answer"
    CORRUPT_ANSWER = "corrupt_answer"
    GARBAGE_BEFORE = "garbage_before"
    SPLIT_ANSWER = "split_answer"
    POWER_CUT = "power_cut"


@dataclass
class Fault:
    """One planned fault.

    ``command``: the command code whose exchange it hits (None: any command; for
    POWER_CUT, None means "count received bytes"). ``skip``: matching exchanges to let
    pass first. ``times``: how many exchanges it hits (then it is spent).
    """

    kind: FaultKind
    command: int | None = None
    skip: int = 0
    times: int = 1
    delay: float = 0.0
    data: bytes = b""
    code: int = 0
    chunk: int = 1
    after_bytes: int = 0

    def __post_init__(self) -> None:
        """Reject settings that cannot work."""
        if self.skip < 0 or self.times < 1 or self.delay < 0 or self.after_bytes < 0:
            raise ConfigError("skip, delay, after_bytes must be >= 0 and times >= 1")
        if self.chunk < 1:
            raise ConfigError("chunk must be at least 1")
        if not 0 <= self.code <= 0xFF:
            raise ConfigError("code must be a byte")


@dataclass(frozen=True)
class Noise:
    """Random faults per exchange, each with its probability (seeded, reproducible)."""

    drop_request: float = 0.0
    corrupt_request: float = 0.0
    drop_answer: float = 0.0
    corrupt_answer: float = 0.0
    garbage_before: float = 0.0
    split_answer: float = 0.0
    delay_answer: float = 0.0
    max_delay: float = 0.5


# Noise bytes avoid 04h and 05h by default: a random MSG_START or ENQ makes the drive wait
# for a frame or repeat an answer, which tests something else than noise.
_NOISE_BYTES = bytes(b for b in range(256) if b not in (0x04, 0x05))


class FaultPlan:
    """Faults for one link; thread-safe (servers consult it from their threads)."""

    def __init__(self, faults: list[Fault] | None = None, *, seed: int = 0) -> None:
        """Start with ``faults``; ``seed`` drives the random parts."""
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])
        self.rng = random.Random(seed)
        self.noise: Noise | None = None
        self.fired: list[tuple[FaultKind, int | None]] = []

    # ---- building ------------------------------------------------------------------------

    def add(self, fault: Fault) -> FaultPlan:
        """Plan ``fault``; returns the plan for chaining."""
        with self._lock:
            self._faults.append(fault)
        return self

    def drop_request(
        self, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Lose the request (the drive never sees it)."""
        return self.add(Fault(FaultKind.DROP_REQUEST, command, skip, times))

    def corrupt_request(
        self, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Flip a bit of the request: the drive receives a bad CRC."""
        return self.add(Fault(FaultKind.CORRUPT_REQUEST, command, skip, times))

    def force_answer(
        self, code: int, command: int | None = None, *, data: bytes = b"", skip: int = 0
    ) -> FaultPlan:
        """Answer ``code`` without executing (03h FN failure, 04h crypto failure …)."""
        return self.add(Fault(FaultKind.FORCE_ANSWER, command, skip, 1, code=code, data=data))

    def drop_answer(
        self, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Execute, then lose the answer."""
        return self.add(Fault(FaultKind.DROP_ANSWER, command, skip, times))

    def delay_answer(
        self, seconds: float, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Send the answer ``seconds`` late."""
        return self.add(Fault(FaultKind.DELAY_ANSWER, command, skip, times, delay=seconds))

    def corrupt_answer(
        self, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Flip a bit of the answer's CRC."""
        return self.add(Fault(FaultKind.CORRUPT_ANSWER, command, skip, times))

    def garbage_before(
        self, data: bytes | None = None, command: int | None = None, *, skip: int = 0
    ) -> FaultPlan:
        """Noise before the answer (default: 7 random bytes other than 04h/05h)."""
        noise = data if data is not None else self.random_noise(7)
        return self.add(Fault(FaultKind.GARBAGE_BEFORE, command, skip, 1, data=noise))

    def split_answer(
        self, chunk: int = 1, command: int | None = None, *, skip: int = 0, times: int = 1
    ) -> FaultPlan:
        """Deliver the answer ``chunk`` bytes per read."""
        return self.add(Fault(FaultKind.SPLIT_ANSWER, command, skip, times, chunk=chunk))

    def power_cut(self, *, after_bytes: int, command: int | None = None) -> FaultPlan:
        """Cut the power after ``after_bytes`` received bytes (``command`` None) or after
        ``after_bytes`` bytes of ``command``'s answer went out."""
        return self.add(Fault(FaultKind.POWER_CUT, command, after_bytes=after_bytes))

    def set_noise(self, noise: Noise | None) -> FaultPlan:
        """Random faults on every exchange (None: off)."""
        self.noise = noise
        return self

    def random_noise(self, size: int) -> bytes:
        """``size`` random noise bytes (never 04h or 05h)."""
        return bytes(self.rng.choice(_NOISE_BYTES) for _ in range(size))

    # ---- consulting ----------------------------------------------------------------------

    def take(self, kind: FaultKind, command: int | None) -> Fault | None:
        """The planned fault of ``kind`` for this exchange (consumed), or a random one."""
        if not self._faults and self.noise is None:
            # nothing planned, no noise: the common case, asked ~9 times a command; a fault
            # planned meanwhile from another thread counts from the next exchange, as if
            # planned a moment later
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind is not kind:
                    continue
                if fault.command is not None and fault.command != command:
                    continue
                if kind is FaultKind.POWER_CUT and (fault.command is None) != (command is None):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                self.fired.append((kind, command))
                return fault
            return self._random(kind, command)

    def _random(self, kind: FaultKind, command: int | None) -> Fault | None:
        noise = self.noise
        if noise is None or kind in (FaultKind.POWER_CUT, FaultKind.FORCE_ANSWER):
            return None
        chance = getattr(noise, kind.value, 0.0)
        if not chance or self.rng.random() >= chance:
            return None
        self.fired.append((kind, command))
        if kind is FaultKind.GARBAGE_BEFORE:
            return Fault(kind, command, data=self.random_noise(self.rng.randint(1, 8)))
        if kind is FaultKind.DELAY_ANSWER:
            return Fault(kind, command, delay=self.rng.uniform(0, noise.max_delay))
        if kind is FaultKind.SPLIT_ANSWER:
            return Fault(kind, command, chunk=self.rng.randint(1, 4))
        return Fault(kind, command)

    def pending(self) -> list[Fault]:
        """Faults planned and not yet spent."""
        with self._lock:
            return list(self._faults)
