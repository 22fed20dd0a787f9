"""`oblako bench ofd`: the OFD simulator's CPU per document, and the TLV decoders alone.

The service part runs `OfdService.handle` (session header, container, message sign, ФП,
ФЛК with its full decode, the receipt with its ФПО) over the same documents of a merchant
register (simulator/ofd/merchant.py, HMAC-SHA-256 signs as `oblako bench receipts` uses) in
one process, variants alternated round by round, a fresh service each time; process CPU
per document. The variants put back what the code did before the struct codec, piece by
piece (module attributes swapped for the run, as the older code called them):

  construct   ФЛК decodes with protocol/tlv.py, the receipt built by simulator/fn/receipts.py
              through the construct encoder, every drive key derived per document
  decode      only the ФЛК decode on the struct codec (protocol/tlvfast.py)
  receipt     only the receipt on simulator/ofd/ack.py (struct encoder, keys kept per drive)
  struct      the code now

The codec part decodes a 20-item receipt (bench/receipt.py) with the construct spec, the
struct codec and the bare typed struct loop (bench/baseline.py, the floor: no checks, tuples
instead of `Field`s); and encodes it with each.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench import baseline
from bench.codec import to_spec
from bench.receipt import receipt
from protocol import fiscalsign, tlvfast
from protocol import tlv as spec
from protocol.ofd import SessionHeader
from simulator.clock import SimClock
from simulator.fn.receipts import build_receipt
from simulator.ofd import flk, service
from simulator.ofd.merchant import Item, StationaryRegister
from simulator.ofd.service import OfdConfig, OfdService

VARIANTS = ("construct", "decode", "receipt", "struct")
FN = "9999078900077001"
_ITEMS = (
    Item("Хлеб", 4990, "2", vat=2),
    Item("Сыр", 99900, "0.345", vat=1, measure=11),
    Item("Молоко 3,2%", 8900, "1", vat=2),
)


def messages(receipts: int, items: int = 2) -> list[tuple[bytes, bytes]]:
    """(session header, container) of a registration, a shift opening and `receipts`."""
    shop = StationaryRegister(FN, algorithm="sha256")
    day = dt.datetime(2026, 11, 2, 9, 0)
    lines = [_ITEMS[i % len(_ITEMS)] for i in range(items)]
    docs = [shop.registration(day), shop.open_shift(day)]
    docs += [shop.receipt(day + dt.timedelta(minutes=1 + i // 30), lines) for i in range(receipts)]
    return [(SessionHeader(FN, len(c), 0x0014).build(c), c) for c in docs]


@contextmanager
def variant(name: str, config: OfdConfig) -> Iterator[None]:
    """The service as it was before the struct codec, in part (`name`) or whole."""
    # Module attributes as the service's code looks them up at call time.
    flk_names, service_names = vars(flk), vars(service)
    saved = (flk_names["decode"], service_names["operator_ack"], service_names["_drive_key"])

    def construct_receipt(
        fn: str, fd: int, when: dt.datetime, *, key: bytes, answer_code: int, ofd_inn: str,
        algorithm: fiscalsign.Algorithm,
    ) -> bytes:  # fmt: skip
        # The old call: build_receipt derives the "ofd" key itself and encodes with construct.
        return build_receipt(
            fn, fd, when, ofd_secret=config.ofd_secret, answer_code=answer_code,
            ofd_inn=ofd_inn, algorithm=algorithm,
        )  # fmt: skip

    try:
        if name in ("construct", "receipt"):
            flk_names["decode"] = spec.decode
        if name in ("construct", "decode"):
            service_names["operator_ack"] = construct_receipt
            service_names["_drive_key"] = fiscalsign.derive_key
        yield
    finally:
        flk_names["decode"], service_names["operator_ack"], service_names["_drive_key"] = saved


def _service_ms(msgs: list[tuple[bytes, bytes]], name: str) -> float:
    config = OfdConfig(sign_algorithm="sha256")
    svc = OfdService(config, clock=SimClock())
    with variant(name, config):
        t0 = time.process_time()
        for header, body in msgs:
            outcome = svc.handle(header, body)
            if outcome.kind != "receipt" or outcome.document is None:
                raise RuntimeError(f"the OFD did not accept a bench document: {outcome}")
        cpu = time.process_time() - t0
    return cpu / len(msgs) * 1e3


@dataclass
class Figures:
    """Per variant the CPU ms a document of every round; the codec figures in µs."""

    documents: int
    document_bytes: int
    service_ms: dict[str, list[float]]
    codec_us: dict[str, float]
    codec_bytes: int


def _us(fn: Callable[[], object], seconds: float) -> float:
    n = 0
    t0 = time.process_time()
    while True:
        fn()
        n += 1
        spent = time.process_time() - t0
        if spent >= seconds:
            return spent / n * 1e6


def measure(
    receipts: int = 300, items: int = 2, rounds: int = 5, codec_seconds: float = 1.0
) -> Figures:
    """Run the service variants `rounds` times alternated, then the codecs."""
    msgs = messages(receipts, items)
    ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in range(rounds):
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for name in order:
            ms[name].append(_service_ms(msgs, name))
    doc = receipt(20)
    sdoc = to_spec(doc)
    raw = spec.encode(sdoc)
    if tlvfast.encode(sdoc) != raw or repr(tlvfast.decode(raw)) != repr(spec.decode(raw)):
        raise RuntimeError("the codecs disagree on the benchmark receipt")

    def text(b: memoryview) -> str:
        return bytes(b).decode("cp866")

    def cp866(s: str) -> bytes:
        return s.encode("cp866")

    us: dict[str, float] = {}
    for _ in range(2):  # alternated twice, the lower kept (the load moves)
        for key, fn in (
            ("decode baseline", lambda: baseline.decode(raw, text)),
            ("decode struct", lambda: tlvfast.decode(raw)),
            ("decode construct", lambda: spec.decode(raw)),
            ("encode baseline", lambda: baseline.encode(doc, cp866)),
            ("encode struct", lambda: tlvfast.encode(sdoc)),
            ("encode construct", lambda: spec.encode(sdoc)),
        ):
            t = _us(fn, codec_seconds)
            us[key] = min(us.get(key, t), t)
    size = sum(len(b) for _, b in msgs) // len(msgs)
    return Figures(len(msgs), size, ms, us, len(raw))


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def report(f: Figures) -> list[tuple[str, ...]]:
    """Rows: variant, median ms a document, the rounds, ratio to the construct variant."""
    base = _median(f.service_ms["construct"])
    rows: list[tuple[str, ...]] = []
    for name in VARIANTS:
        m = _median(f.service_ms[name])
        rounds = " ".join(f"{x:.3f}" for x in f.service_ms[name])
        rows.append((f"OFD service, {name}", f"{m:.3f} ms", rounds, f"{m / base:.2f}"))
    for what in ("decode", "encode"):
        floor = f.codec_us[f"{what} baseline"]
        for codec in ("baseline", "struct", "construct"):
            us = f.codec_us[f"{what} {codec}"]
            rows.append(
                (f"{what} 20-item receipt, {codec}", f"{us:.1f} µs", "", f"{us / floor:.1f}×")
            )
    return rows


def summary(f: Figures) -> dict[str, Any]:
    """The figures as JSON-ready values."""
    return {
        "documents": f.documents,
        "document_bytes": f.document_bytes,
        "service_ms": f.service_ms,
        "codec_us": f.codec_us,
        "codec_bytes": f.codec_bytes,
    }
