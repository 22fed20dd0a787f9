# firmware/ofdanswers.py: the OFD's answers the fleet has not yet stored.
# MIT license; Oblako register runtime.
#
# Why: an answer is an event, not a document: the drive's archive keeps the document but not
# the OFD's answer code (a rejected document counts as delivered in the drive), so an `ofd`
# message lost on the way (a broker restart, a full in-flight window) would leave the
# receipt "fiscalised" in the fleet for ever. Each answer is kept on flash from the moment
# the OFD gives it until the fleet names its FD in a `stored` message (`ofd` list), and is
# sent again every `resend_s` until then (the fleet keys answers by (FN, FD), so a repeat is
# harmless; DESIGN decision 4, the same rule as the outbox).
#
# Bounded: at most `limit` answers; when full, the oldest *accepted* answer goes first (a
# refusal is the one a merchant must see) and `dropped` counts what was lost. The file
# (`storage.write`, atomic): JSON {"a": [[fn, fd, status, code, at], ...]}.
import json

from firmware.errors import StorageError

_STATUSES = ("accepted", "rejected")


class OfdAnswers:
    """See the module comment."""

    def __init__(
        self,
        storage: object,
        clock: object,
        name: str = "ofdanswers",
        limit: int = 256,
        resend_s: float = 30.0,
        window: int = 16,
    ) -> None:
        self._storage = storage
        self.clock = clock
        self.name = name
        self.limit = limit
        self.resend_s = resend_s
        self.window = window
        self.dropped = 0
        self._items = []  # type: list  # [fn, fd, status, code, at], oldest first
        self._sent = {}  # type: dict  # (fn, fd) -> monotonic time it was last sent
        data = storage.read(name)  # type: ignore[attr-defined]
        if data:
            try:
                for fn, fd, status, code, at in json.loads(data)["a"]:
                    if status not in _STATUSES:
                        raise ValueError(status)
                    self._items.append([str(fn), int(fd), status, code, int(at)])
            except (ValueError, KeyError, TypeError):
                raise StorageError("%s is not a file of OFD answers" % name)

    def _save(self) -> None:
        data = json.dumps({"a": self._items})
        self._storage.write(self.name, data.encode())  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self._items)

    def add(self, fn: str, fd: int, status: str, code: "int | None", at: int) -> None:
        """Keep an answer (a newer answer for the same document replaces the older one)."""
        for i in range(len(self._items)):
            it = self._items[i]
            if it[0] == fn and it[1] == fd:
                self._items.pop(i)
                break
        if len(self._items) >= self.limit:
            victim = 0
            for i in range(len(self._items)):
                if self._items[i][2] == "accepted":
                    victim = i
                    break
            gone = self._items.pop(victim)
            self._sent.pop((gone[0], gone[1]), None)
            self.dropped += 1
        self._items.append([fn, fd, status, code, at])
        self._sent.pop((fn, fd), None)
        self._save()

    def due(self) -> list:
        """The answers to send now as `ofd` payloads (without "v"), oldest first: never sent
        since the start, or not acknowledged within resend_s; at most `window`."""
        now = self.clock.monotonic()  # type: ignore[attr-defined]
        out = []  # type: list
        for fn, fd, status, code, at in self._items:
            if len(out) >= self.window:
                break
            last = self._sent.get((fn, fd))
            if last is not None and now - last < self.resend_s:
                continue
            p = {"fn": fn, "fd": fd, "status": status, "at": at}
            if status == "rejected" and code is not None:
                p["code"] = code
            out.append(p)
        return out

    def sent(self, fn: str, fd: int) -> None:
        self._sent[(fn, fd)] = self.clock.monotonic()  # type: ignore[attr-defined]

    def resend_now(self) -> None:
        """After a reconnect: everything unacknowledged is due at once."""
        self._sent = {}

    def stored(self, fn: str, fds: list) -> int:
        """The fleet stored the answers of these FDs of drive fn; how many were released."""
        if not fds:
            return 0
        names = {}
        for fd in fds:
            names[fd] = True
        kept = []
        for it in self._items:
            if it[0] == fn and it[1] in names:
                self._sent.pop((fn, it[1]), None)
            else:
                kept.append(it)
        released = len(self._items) - len(kept)
        if released:
            self._items = kept
            self._save()
        return released
