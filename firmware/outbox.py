# firmware/outbox.py: which fiscal documents the fleet has stored, and which to send next.
# MIT license; Oblako register runtime.
#
# Decision (DESIGN decisions 3 and 4): the documents themselves already sit on flash, in the
# drive's archive, numbered without gaps per drive; the register keeps on its own flash only
# the fleet's storage acknowledgement, a per-drive watermark ("every FD <= through is stored
# in the fleet's database"). Everything after it, up to the drive's last FD, is the outbox;
# a document event is rebuilt from the archive (40h record, 45h/46h TLV) when it is sent, so
# a power cut can lose no event and a second copy of each document never wears the flash.
# The watermark moves only on the fleet's `stored` message, never on the broker's PUBACK.
#
# Bounded: at most `window` documents are in flight at once; one not acknowledged within
# `resend_s` is sent again (the fleet stores by (FN, FD) and ignores a repeat). A gap the
# fleet reports (`stored.missing`) is sent again at once.
#
# The file (`storage.write`, atomic and durable): JSON {"fn", "through", "seq"}; `seq` is the
# base of the shadow's sequence numbers, raised by SEQ_STEP before use so that numbers keep
# growing across restarts without a write per report.
import json

from firmware.compat import const
from firmware.errors import StorageError

SEQ_STEP = const(1000)


class Outbox:
    """The storage watermark of one drive and the documents to send (module comment)."""

    def __init__(
        self,
        storage: object,
        clock: object,
        name: str = "outbox",
        window: int = 16,
        resend_s: float = 30.0,
    ) -> None:
        self._storage = storage
        self.storage = storage  # the OFD answers (firmware/ofdanswers.py) share the flash
        self.clock = clock
        self.name = name
        self.window = window
        self.resend_s = resend_s
        self.fn = ""
        self.through = 0
        self._seq_base = 0
        self._seq = 0
        self._sent = {}  # type: dict  # fd -> monotonic time it was last sent
        self._urgent = []  # type: list  # fds the fleet reported missing
        data = storage.read(name)  # type: ignore[attr-defined]
        if data:
            try:
                saved = json.loads(data)
                self.fn = str(saved["fn"])
                self.through = int(saved["through"])
                self._seq_base = int(saved["seq"])
            except (ValueError, KeyError, TypeError):
                raise StorageError("%s is not an outbox file" % name)
        self._seq = self._seq_base + SEQ_STEP
        self._seq_base = self._seq + SEQ_STEP
        self._save()

    def _save(self) -> None:
        data = json.dumps({"fn": self.fn, "through": self.through, "seq": self._seq_base})
        self._storage.write(self.name, data.encode())  # type: ignore[attr-defined]

    def next_seq(self) -> int:
        """The next shadow sequence number: grows across restarts."""
        self._seq += 1
        if self._seq >= self._seq_base:
            self._seq_base = self._seq + SEQ_STEP
            self._save()
        return self._seq

    def use_drive(self, fn: str) -> None:
        """The drive in the register (a new drive starts from FD 0)."""
        if fn != self.fn:
            self.fn = fn
            self.through = 0
            self._sent = {}
            self._urgent = []
            self._save()

    def stored(self, fn: str, through: int, missing: list) -> bool:
        """The fleet's acknowledgement; True when the watermark moved (it never goes back)."""
        if fn != self.fn:
            return False
        # the gaps lie above the watermark (the fleet has FDs after them); a long gap is
        # taken a window at a time: the rest is sent by due() in order anyway
        for first, last in missing:
            for fd in range(max(first, through + 1, 1), min(last, first + self.window) + 1):
                if fd not in self._urgent:
                    self._urgent.append(fd)
        if through <= self.through:
            return False
        self.through = through
        for fd in list(self._sent):
            if fd <= through:
                del self._sent[fd]
        self._urgent = [fd for fd in self._urgent if fd > through]
        self._save()
        return True

    def due(self, last_fd: int) -> list:
        """FD numbers to send now (oldest first), at most the window's free places."""
        now = self.clock.monotonic()  # type: ignore[attr-defined]
        out = []  # type: list
        for fd in self._urgent:
            if fd <= last_fd and len(out) < self.window:
                out.append(fd)
        self._urgent = [fd for fd in self._urgent if fd not in out]
        busy = 0
        for fd in self._sent:
            if now - self._sent[fd] < self.resend_s:
                busy += 1
        fd = self.through + 1
        while fd <= last_fd and len(out) + busy < self.window:
            at = self._sent.get(fd)
            if fd not in out and (at is None or now - at >= self.resend_s):
                out.append(fd)
                if at is not None:
                    busy -= 1
            fd += 1
        return out

    def resend_now(self) -> None:
        """After a reconnect: what was sent and not stored may have been lost with the old
        connection (a broker that lost a shared subscription drops it), so send it at once."""
        self._sent = {}

    def sent(self, fd: int) -> None:
        """fd was handed to the MQTT client."""
        self._sent[fd] = self.clock.monotonic()  # type: ignore[attr-defined]

    def pending(self, last_fd: int) -> int:
        """Documents the fleet has not acknowledged."""
        return max(0, last_fd - self.through)
