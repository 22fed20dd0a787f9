# bench/mp_register.py: the register benchmark's MicroPython half, run by
# `node tools/mprun.mjs --run bench/mp_register.py --lib bench` (see bench/register.py).
#
# The whole runtime as the board runs it (firmware/register.py, the real FiscalDrive with its
# framing and CRC, the journal and the counters snapshot in files: FileStorage on the port's
# filesystem, in memory in the WebAssembly port) sells receipts
# to an instant drive that answers on the transport contract itself. The time spent inside
# that drive is measured and subtracted, so what remains is the runtime's own time per
# receipt. Prints one line, "RESULT " + JSON: per receipt size, microseconds per receipt,
# wire bytes per receipt, and the heap one receipt allocates (gc disabled around it).
import gc
import json
import time

from firmware.drive import FiscalDrive
from firmware.framing import Framer, encode
from firmware.journal import Journal
from firmware.register import Register
from firmware.storage import FileStorage

SECONDS_MS = 1500  # per receipt size
T0 = 1705303800  # 2024-01-15 07:30 UTC
FN = b"9999078900000001"
_ticks_us = getattr(time, "ticks_us", None)
_ticks_diff = getattr(time, "ticks_diff", None)
_mem_alloc = getattr(gc, "mem_alloc", None)


def _now_us() -> int:
    if _ticks_us is not None:
        return int(_ticks_us())
    return int(time.perf_counter() * 1000000)


def _diff_us(a: int, b: int) -> int:
    if _ticks_diff is not None:
        return int(_ticks_diff(a, b))
    return a - b


class Clock:
    """Fixed wall time that moves only when slept on (the drive answers at once)."""

    def __init__(self) -> None:
        self.t = 0.0

    def wall(self) -> float:
        return T0 + self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class InstantDrive:
    """A registered drive that answers the commands of a receipt and a shift at once."""

    def __init__(self) -> None:
        self.framer = Framer()
        self.out = bytearray()
        self.fd = 1
        self.shift = 0
        self.shift_open = 0
        self.receipt = 0
        self.spent_us = 0  # time inside write/readinto: the drive's, not the runtime's
        self.wire = 0  # bytes both ways

    def _answer(self, code: int, data: bytes) -> bytes:
        if code == 0x30:
            st = bytearray(30)
            st[0] = 3
            st[3] = self.shift_open
            st[5:10] = b"\x18\x01\x0f\x0a\x1e"
            st[10:26] = FN
            st[26] = self.fd & 0xFF
            st[27] = (self.fd >> 8) & 0xFF
            st[28] = (self.fd >> 16) & 0xFF
            return encode(0, st)
        if code == 0x10:
            return encode(0, bytes((self.shift_open, self.shift & 0xFF, self.shift >> 8, 0, 0)))
        if code == 0x12:
            self.shift += 1
            self.shift_open = 1
            self.receipt = 0
            return encode(0, self._made(self.shift))
        if code == 0x16:
            self.receipt += 1
            return encode(0, self._made(self.receipt))
        return encode(0, b"")  # 11h 15h 07h 06h: accepted

    def _made(self, number: int) -> bytes:
        self.fd += 1
        fd = self.fd
        return bytes((number & 0xFF, number >> 8, fd & 0xFF, fd >> 8, fd >> 16, 0, 1, 2, 3, 4))

    def write(self, buf: bytes | memoryview) -> int:
        t = _now_us()
        n = len(buf)
        self.wire += n
        for code, data in self.framer.feed(buf):
            self.out += self._answer(code, data)
        self.spent_us += _diff_us(_now_us(), t)
        return n

    def readinto(self, buf: bytearray) -> int:
        t = _now_us()
        n = min(len(buf), len(self.out))
        buf[:n] = self.out[:n]
        self.out = self.out[n:]
        self.wire += n
        self.spent_us += _diff_us(_now_us(), t)
        return n


def request(rid: str, items: int) -> "dict[str, object]":
    rows = []
    for i in range(items):
        rows.append(
            {
                "name": f"Товар {i + 1}",
                "price": 4990,
                "quantity": "1",
                "measure": 0,
                "sum": 4990,
                "vat": "vat10",
                "type": 1,
                "method": "full_payment",
            }
        )
    return {
        "id": rid,
        "operation": "sale",
        "tax_system": "osn",
        "items": rows,
        "payments": {"cash": 4990 * items},
        "cashier": {"name": "Кассир Иванова"},
    }


def measure(items: int) -> "dict[str, object]":
    drive = InstantDrive()
    clock = Clock()
    storage = FileStorage(f"/tmp/oblako-bench-register-{items}")
    driver = FiscalDrive(drive, clock)
    profile = {"tax_systems": ["osn"], "user_name": "ООО Облако-тест"}
    reg = Register(driver, Journal(storage), clock, profile, storage, None, None)
    reg.recover()
    reg.trust_time("bench")
    reg.handle(request("warm-up", items))  # opens the shift
    reg.ack("warm-up")
    n = 0
    drive.spent_us = 0
    drive.wire = 0
    start = _now_us()
    while _diff_us(_now_us(), start) < SECONDS_MS * 1000:
        rid = f"mp-{n}"
        r = reg.handle(request(rid, items))
        if r["status"] != "made":
            raise RuntimeError(f"not made: {r!r}")
        reg.ack(rid)
        n += 1
    total = _diff_us(_now_us(), start)
    heap = -1
    if _mem_alloc is not None:
        gc.collect()
        gc.disable()
        before = int(_mem_alloc())
        reg.handle(request("heap", items))
        heap = int(_mem_alloc()) - before
        gc.enable()
    storage.wipe()
    return {
        "items": items,
        "receipts": n,
        "us_per_receipt": (total - drive.spent_us) / n,
        "drive_us_per_receipt": drive.spent_us / n,
        "wire_bytes_per_receipt": drive.wire / n,
        "heap_bytes_per_receipt": heap,
    }


print("RESULT " + json.dumps([measure(1), measure(20)]))
