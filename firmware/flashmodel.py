# firmware/flashmodel.py: an in-memory flash with power cuts, for tests (never on a board).
# MIT license; Oblako register runtime.
#
# Meets the storage contract of firmware/storage.py with its worst case made explicit, so
# tests can cut the power anywhere, including in the middle of a write:
#
#   durable   what the flash holds: survives any power cut
#   live      what reads see now (the page cache): durable + the pending operations
#   pending   appends and removals since the last barrier, in order
#
# cut_power(rng) keeps a random prefix of the pending operations (possibly none, possibly
# all) and may TEAR the last append it keeps: a random prefix of its bytes, then optionally
# junk where the rest should be (0xFF as erased flash reads, 0x00 as a preallocated FAT
# cluster, or random bits). Synced bytes never change. Killing a process does none of this
# (the page cache survives), which is why tests use this model and not a killed CPython.
#
# crash_at(n) arms a cut inside the n-th write from now (append() or write(), 1-based): an
# append first lands a random prefix of its data (0..all of it) as a pending operation, then
# the power goes; a write() (atomic replace) is cut before its barrier, after the barrier
# but before the rename, or just after the rename. The call raises PowerCut and the model
# stays off (every call raises PowerCut) until power_on(): the "restart" of the register.
#
# Portable (runs under MicroPython too): the random source is injected, anything with
# randrange(n) (random.Random on CPython, or Lcg below).
from firmware.storage import check_name

_JUNK_NONE = 0
_JUNK_ERASED = 1  # 0xFF
_JUNK_ZERO = 2  # 0x00
_JUNK_RANDOM = 3


class PowerCut(Exception):  # noqa: N818 (an event, read as one)
    """The power went out; nothing after it ran. Not a RegisterError: nothing catches it."""


class Lcg:
    """A tiny deterministic random source (randrange only) for portable tests."""

    def __init__(self, seed: int = 1) -> None:
        self.state = (seed * 2654435761 + 12345) & 0x7FFFFFFF

    def randrange(self, n: int) -> int:
        """Return an int in 0..n-1 (n >= 1)."""
        # Numerical Recipes LCG constants, 31-bit state, upper bits used.
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.state >> 8) % n


class FlashModel:
    """In-memory storage (the contract of firmware/storage.py) with power cuts."""

    def __init__(self, rng: object = None, tear: bool = True, junk: bool = True) -> None:
        self.rng = rng if rng is not None else Lcg(1)
        self.tear = tear  # may a cut tear the last surviving append?
        self.junk = junk  # may a torn append leave junk after its prefix?
        self.durable: dict = {}
        self.live: dict = {}
        self.pending: list = []  # [("a", name, data) | ("r", name, None)]
        self.powered = True
        self.writes = 0
        self.bytes_written = 0
        self.syncs = 0
        self.cuts = 0
        self.torn = 0  # cuts that tore an append
        self._crash_in = 0  # writes until an armed crash; 0 = none armed

    # -- the storage contract -------------------------------------------------------------

    def read(self, name: str) -> bytes | None:
        """Return the live content of name, or None if absent."""
        self._on(name)
        data = self.live.get(name)
        return None if data is None else bytes(data)

    def append(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """Add data at the end of name; durable after sync()."""
        self._on(name)
        data = bytes(data)
        self.writes += 1
        self.bytes_written += len(data)
        if self._hit():
            keep = self._r(len(data) + 1)
            self.pending.append(("a", name, data[:keep]))
            self._cut(True)
            raise PowerCut("power cut in append(%s) after %d of %d bytes" % (name, keep, len(data)))
        self.pending.append(("a", name, data))
        self.live[name] = self.live.get(name, b"") + data

    def write(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """Replace name atomically and durably; a barrier for earlier appends."""
        self._on(name)
        data = bytes(data)
        self.writes += 1
        self.bytes_written += len(data)
        self.syncs += 1
        if self._hit():
            phase = self._r(3)
            if phase == 0:
                self._cut(True)  # before the barrier: pending appends as in any cut
            else:
                self._commit()
                if phase == 2:
                    self.durable[name] = data  # renamed, then the lights went out
                self._cut(False)
            raise PowerCut("power cut in write(%s), phase %d" % (name, phase))
        self._commit()
        self.durable[name] = data
        self.live[name] = data

    def remove(self, name: str) -> None:
        """Delete name if present; durable after sync()."""
        self._on(name)
        if name in self.live:
            del self.live[name]
            self.pending.append(("r", name, None))

    def sync(self) -> None:
        """Barrier: every pending operation becomes durable."""
        self._on("")
        self.syncs += 1
        self._commit()

    # -- power ----------------------------------------------------------------------------

    def crash_at(self, n: int) -> None:
        """Arm a power cut inside the n-th write (append/write) from now; 0 disarms."""
        self._crash_in = n

    def cut_power(self, rng: object = None) -> None:
        """Cut the power now (between calls): pending operations may be lost or torn."""
        if rng is not None:
            self.rng = rng
        if self.powered:
            self._cut(True)

    def power_on(self) -> None:
        """Restart: reads see exactly what the flash holds."""
        self.powered = True
        self._crash_in = 0

    # -- internals ------------------------------------------------------------------------

    def _on(self, name: str) -> None:
        if not self.powered:
            raise PowerCut("the power is off")
        if name:
            check_name(name)

    def _r(self, n: int) -> int:
        return self.rng.randrange(n)  # type: ignore[attr-defined]

    def _hit(self) -> bool:
        if self._crash_in <= 0:
            return False
        self._crash_in -= 1
        return self._crash_in == 0

    def _commit(self) -> None:
        for op in self.pending:
            self._apply(op)
        self.pending = []

    def _apply(self, op: tuple) -> None:
        kind, name, data = op
        if kind == "a":
            self.durable[name] = self.durable.get(name, b"") + data
        elif name in self.durable:
            del self.durable[name]

    def _cut(self, lose: bool) -> None:
        # lose: the pending operations were not synced, so a prefix of them survives and the
        # last surviving append may be torn; otherwise they were committed already.
        pending = self.pending
        if lose and pending:
            keep = self._r(len(pending) + 1)
            for i in range(keep):
                op = pending[i]
                if i == keep - 1 and op[0] == "a" and self.tear and self._r(2):
                    op = ("a", op[1], self._torn(op[2]))
                self._apply(op)
        self.pending = []
        self.live = dict(self.durable)
        self.powered = False
        self._crash_in = 0
        self.cuts += 1

    def _torn(self, data: bytes) -> bytes:
        n = len(data)
        keep = self._r(n + 1)
        if keep < n:
            self.torn += 1
        kind = self._r(4) if self.junk else _JUNK_NONE
        rest = n - keep
        if kind == _JUNK_ERASED:
            return data[:keep] + b"\xff" * rest
        if kind == _JUNK_ZERO:
            return data[:keep] + bytes(rest)
        if kind == _JUNK_RANDOM:
            return data[:keep] + bytes([self._r(256) for _ in range(rest)])
        return data[:keep]
