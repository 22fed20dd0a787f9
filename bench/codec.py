"""`oblako bench codec`: encode+decode of a 20-item receipt in every codec.

Measured in one run, each against the bare typed struct loop (bench/baseline.py) on the
same interpreter:
  - the firmware codec on CPython (target: at least 50% of the baseline's rate),
  - the construct spec (protocol/tlv.py), the readable oracle, expected far slower,
  - the firmware codec under MicroPython 1.27 (WebAssembly, via Node), with the heap one
    receipt costs when streamed into the 07h frame buffer (target: under 8 KB).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench import baseline
from bench.micropython import run_script
from bench.receipt import receipt
from firmware import tlv as fw
from protocol import tlv as spec
from protocol.tags import Kind, lookup
from protocol.tree import Field, fvln_text

HEAP_TARGET = 8 * 1024
RATIO_TARGET = 0.5


def to_spec(fields: list[Any]) -> list[Field]:
    """Fields in the firmware codec's form ((tag, value[, size]) tuples) as protocol Fields."""
    out = []
    for f in fields:
        tag, value = f[0], f[1]
        size = f[2] if len(f) > 2 else None
        d = lookup(tag)
        if isinstance(value, list):
            out.append(Field(tag, tuple(to_spec(value)), size))
        elif d is not None and d.kind is Kind.FVLN:
            out.append(Field(tag, Decimal(value), size))
        else:
            out.append(Field(tag, value, size))
    return out


def to_firmware(fields: list[Field] | tuple[Field, ...]) -> list[Any]:
    """Inverse of `to_spec`."""
    out: list[Any] = []
    for f in fields:
        if isinstance(f.value, tuple):
            value: Any = to_firmware(f.value)
        elif isinstance(f.value, Decimal):
            value = fvln_text(f.value)
        else:
            value = f.value
        out.append((f.tag, value) if f.size is None else (f.tag, value, f.size))
    return out


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` over about `seconds`."""
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        fn()
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


@dataclass
class CodecFigures:
    """What one run measured."""

    receipt_bytes: int
    baseline: float
    firmware: float
    construct: float
    mp: dict[str, Any] | None

    @property
    def firmware_ratio(self) -> float:
        """Firmware codec rate over the bare struct loop's (CPython)."""
        return self.firmware / self.baseline

    @property
    def construct_ratio(self) -> float:
        """Construct spec rate over the bare struct loop's (CPython)."""
        return self.construct / self.baseline


def measure(seconds: float = 2.0, micropython: bool = True) -> CodecFigures:
    """Run every measurement; MicroPython is skipped when Node is missing or asked."""
    doc = receipt(20)
    raw = fw.encode(doc)
    sdoc = to_spec(doc)
    if spec.encode(sdoc) != raw or baseline.encode(doc, lambda s: s.encode("cp866")) != raw:
        raise RuntimeError("the codecs disagree on the benchmark receipt")

    def text(b: memoryview) -> str:
        return bytes(b).decode("cp866")

    def cp866(s: str) -> bytes:
        return s.encode("cp866")

    base = rate(lambda: baseline.decode(baseline.encode(doc, cp866), text), seconds)
    firm = rate(lambda: fw.decode(fw.encode(doc)), seconds)
    cons = rate(lambda: spec.decode(spec.encode(sdoc)), seconds)
    mp = run_micropython() if micropython else None
    return CodecFigures(len(raw), base, firm, cons, mp)


def run_micropython() -> dict[str, Any] | None:
    """The MicroPython half (bench/mp_codec.py) under Node; None if Node is missing."""
    result: dict[str, Any] | None = run_script("mp_codec.py")
    return result


def report(f: CodecFigures) -> list[tuple[str, str, str]]:
    """Rows (measurement, figure, ratio/verdict) for printing."""
    rows = [
        ("receipt size (20 items)", f"{f.receipt_bytes} bytes", ""),
        ("CPython: bare struct loop (baseline)", f"{f.baseline:,.0f} docs/s", "1.00"),
        (
            "CPython: firmware codec",
            f"{f.firmware:,.0f} docs/s",
            f"{f.firmware_ratio:.2f} (target ≥ {RATIO_TARGET:.2f}: "
            f"{'met' if f.firmware_ratio >= RATIO_TARGET else 'MISSED'})",
        ),
        ("CPython: construct spec", f"{f.construct:,.0f} docs/s", f"{f.construct_ratio:.3f}"),
    ]
    if f.mp is None:
        rows.append(("MicroPython 1.27 (wasm)", "skipped: node not found", ""))
        return rows
    mp = f.mp
    mratio = mp["firmware_docs_per_s"] / mp["baseline_docs_per_s"]
    heap = mp["stream_heap_bytes"]
    rows += [
        ("MicroPython: bare struct loop", f"{mp['baseline_docs_per_s']:,.0f} docs/s", "1.00"),
        (
            "MicroPython: firmware codec",
            f"{mp['firmware_docs_per_s']:,.0f} docs/s",
            f"{mratio:.2f}",
        ),
        (
            "MicroPython: heap per receipt, streamed to 07h buffer",
            f"{heap:,} bytes",
            f"target < {HEAP_TARGET:,}: {'met' if heap < HEAP_TARGET else 'MISSED'}",
        ),
        ("MicroPython: heap, whole encode", f"{mp['whole_encode_heap_bytes']:,} bytes", ""),
        ("MicroPython: heap, decode", f"{mp['decode_heap_bytes']:,} bytes", ""),
    ]
    return rows
