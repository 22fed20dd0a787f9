"""What the simulated OFD keeps, and the gateway a partner reads it through.

Documents are keyed by (FN number, FD number), a fiscal document's identity (DESIGN
decision 3), so a redelivered document finds its first record and gets the same receipt.
`OfdGateway` is the OFD gateway interface of DESIGN decision 10: documents by drive and
period, the receipts the OFD issued, rejections with code 14 and their reasons, and the
registers it knows (Oblako's and the merchant's own stationary ones). Plain Python calls
returning frozen records with ``to_dict()`` (JSON-ready); the fleet wraps it with HTTP.

Periods (``since`` inclusive, ``until`` exclusive) are in the document's own time, tag
1012: the register's local wall-clock time as a naive datetime (§2.1), the time the
cabinet shows and the fleet partitions by.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from protocol import fiscalsign
from protocol.ofd import parse_container
from protocol.tlvfast import decode
from protocol.tree import Field, to_json
from simulator.ofd.flk import Problem

__all__ = [
    "KnownRegister",
    "OfdGateway",
    "OfdReceipt",
    "OfdStore",
    "Refusal",
    "Rejection",
    "StoredDocument",
]

Origin = Literal["network", "injected"]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _wall_iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def _problem_dict(p: Problem) -> dict[str, str]:
    return {"path": p.path, "message": p.message, "source": p.source, "severity": p.severity}


@dataclass(frozen=True)
class StoredDocument:
    """One fiscal document the OFD received, with the receipt it answered."""

    fn_number: str
    fd_number: int
    doc_type: int
    date_time: dt.datetime  # 1012: the register's local time (naive)
    fp: int  # ФП as printed (1077 bytes 2..5, §3.1)
    document: bytes  # the document STLV as the drive signed it
    container: bytes  # the FN container as received (with its trailer)
    answer_code: int  # 1022 in the receipt: 0 accepted, 14 ФЛК
    problems: tuple[Problem, ...]  # why it was rejected (code 14)
    warnings: tuple[Problem, ...]  # rules it breaks that do not reject it
    receipt: bytes  # the receipt container (sent again on redelivery)
    receipt_time: dt.datetime  # 1012 of the receipt (OFD local time, naive)
    received_at: float  # the OFD clock's UTC seconds at the first delivery
    origin: Origin = "network"
    peer: str = ""
    deliveries: int = 1

    @property
    def accepted(self) -> bool:
        """True when the OFD accepted it (code 0)."""
        return self.answer_code == 0

    @property
    def fields(self) -> tuple[Field, ...]:
        """The document's fields, decoded (empty when the registry cannot decode it)."""
        try:
            top = decode(self.document)
        except Exception:  # a document rejected for its format still gets stored
            return ()
        return top[0].children if len(top) == 1 else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: hex bytes, ISO times, the document keyed by English tag ids."""
        try:
            document: Any = to_json(list(self.fields))
        except Exception:
            document = None
        return {
            "fn_number": self.fn_number,
            "fd_number": self.fd_number,
            "doc_type": self.doc_type,
            "date_time": _iso(self.date_time),
            "fp": self.fp,
            "answer_code": self.answer_code,
            "accepted": self.accepted,
            "problems": [_problem_dict(p) for p in self.problems],
            "warnings": [_problem_dict(p) for p in self.warnings],
            "receipt_time": _iso(self.receipt_time),
            "received_at": _wall_iso(self.received_at),
            "origin": self.origin,
            "deliveries": self.deliveries,
            "document": document,
            "document_hex": self.document.hex(),
        }


@dataclass(frozen=True)
class OfdReceipt:
    """A receipt (Квитанция, document 7) the OFD issued for a document."""

    fn_number: str
    fd_number: int
    answer_code: int
    date_time: dt.datetime  # the receipt's 1012 (naive local)
    ofd_fp: bytes  # ФПО, tag 1078
    container: bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "fn_number": self.fn_number,
            "fd_number": self.fd_number,
            "answer_code": self.answer_code,
            "date_time": _iso(self.date_time),
            "ofd_fp": self.ofd_fp.hex(),
            "container_hex": self.container.hex(),
        }


@dataclass(frozen=True)
class Rejection:
    """A document the OFD answered with code 14 (ФЛК), and why."""

    fn_number: str
    fd_number: int
    doc_type: int
    date_time: dt.datetime
    code: int
    reasons: tuple[str, ...]
    problems: tuple[Problem, ...]
    received_at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "fn_number": self.fn_number,
            "fd_number": self.fd_number,
            "doc_type": self.doc_type,
            "date_time": _iso(self.date_time),
            "code": self.code,
            "reasons": list(self.reasons),
            "problems": [_problem_dict(p) for p in self.problems],
            "received_at": _wall_iso(self.received_at),
        }


@dataclass(frozen=True)
class Refusal:
    """A message the OFD could not accept at all (no receipt: bad header, CRC, sign)."""

    at: float  # OFD clock, UTC seconds
    peer: str
    reason: str
    fn_number: str | None = None
    fd_number: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "at": _wall_iso(self.at),
            "peer": self.peer,
            "reason": self.reason,
            "fn_number": self.fn_number,
            "fd_number": self.fd_number,
        }


@dataclass(frozen=True)
class KnownRegister:
    """A register the OFD knows from its documents (its last registration report)."""

    fn_number: str
    rnm: str | None  # 1037
    user_inn: str | None  # 1018
    user_name: str | None  # 1048
    address: str | None  # 1009
    place: str | None  # 1187
    kkt_serial: str | None  # 1013
    registered_at: dt.datetime | None  # 1012 of the last registration report
    documents: int
    rejected: int
    last_fd: int
    last_document_at: dt.datetime | None
    missing: tuple[int, ...]  # FD numbers below last_fd never received (decision 3)
    origin: Origin

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = dataclasses.asdict(self)
        out["registered_at"] = _iso(self.registered_at)
        out["last_document_at"] = _iso(self.last_document_at)
        out["missing"] = list(self.missing)
        return out


def _in(value: dt.datetime, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    return (since is None or value >= since) and (until is None or value < until)


def _text(fields: tuple[Field, ...], tag: int) -> str | None:
    for f in fields:
        if f.tag == tag and isinstance(f.value, str):
            return f.value.strip()
    return None


class OfdStore:
    """Documents by (FN, FD) and refusals; thread-safe (the server runs in its own thread)."""

    def __init__(self, *, max_refusals: int = 10_000) -> None:
        """An empty store keeping at most ``max_refusals`` refusals (the oldest go)."""
        self._lock = threading.Lock()
        self._docs: dict[tuple[str, int], StoredDocument] = {}
        self._refusals: list[Refusal] = []
        self._max_refusals = max_refusals

    def get(self, fn_number: str, fd_number: int) -> StoredDocument | None:
        """The document (FN, FD), or None."""
        with self._lock:
            return self._docs.get((fn_number, fd_number))

    def put(self, doc: StoredDocument) -> None:
        """Store (or replace) a document under its (FN, FD)."""
        with self._lock:
            self._docs[(doc.fn_number, doc.fd_number)] = doc

    def redelivered(self, fn_number: str, fd_number: int) -> StoredDocument | None:
        """Count one more delivery of (FN, FD); the updated record, or None."""
        with self._lock:
            doc = self._docs.get((fn_number, fd_number))
            if doc is None:
                return None
            doc = dataclasses.replace(doc, deliveries=doc.deliveries + 1)
            self._docs[(fn_number, fd_number)] = doc
            return doc

    def refuse(self, refusal: Refusal) -> None:
        """Record a refused message."""
        with self._lock:
            self._refusals.append(refusal)
            del self._refusals[: -self._max_refusals]

    def forget(self, fn_number: str) -> int:
        """Drop every document of a drive (a debug drive reset with 60h); the count."""
        with self._lock:
            keys = [k for k in self._docs if k[0] == fn_number]
            for k in keys:
                del self._docs[k]
            return len(keys)

    def snapshot(self) -> list[StoredDocument]:
        """Every document, ordered by FN and FD."""
        with self._lock:
            return [self._docs[k] for k in sorted(self._docs)]

    def refusals(self) -> list[Refusal]:
        """Every recorded refusal, oldest first."""
        with self._lock:
            return list(self._refusals)


def _ofd_fp(container: bytes) -> bytes:
    try:
        ack = parse_container(container)
    except Exception:
        return b""
    top = ack.document[0] if ack.document else None
    found = top.find(fiscalsign.OFD_FP_TAG) if top is not None else None
    return found.value if found is not None and isinstance(found.value, bytes) else b""


class OfdGateway:
    """The OFD gateway interface (DESIGN decision 10): what the OFD tells its partner.

    Every method returns fresh lists of frozen records; filters are keyword arguments.
    """

    def __init__(self, store: OfdStore) -> None:
        """Read ``store``."""
        self._store = store

    def _docs(
        self,
        fn_number: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
    ) -> Iterator[StoredDocument]:
        for doc in self._store.snapshot():
            if fn_number is not None and doc.fn_number != fn_number:
                continue
            if _in(doc.date_time, since, until):
                yield doc

    def documents(
        self,
        fn_number: str | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        doc_type: int | None = None,
        accepted: bool | None = None,
    ) -> list[StoredDocument]:
        """Documents of a drive (or all), in a period of their own time (1012), by type."""
        return [
            d
            for d in self._docs(fn_number, since, until)
            if (doc_type is None or d.doc_type == doc_type)
            and (accepted is None or d.accepted == accepted)
        ]

    def document(self, fn_number: str, fd_number: int) -> StoredDocument | None:
        """One document by its identity (FN, FD), or None."""
        return self._store.get(fn_number, fd_number)

    def receipts(
        self,
        fn_number: str | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[OfdReceipt]:
        """The receipts the OFD issued, in a period of the receipt's own time."""
        out = []
        for doc in self._store.snapshot():
            if fn_number is not None and doc.fn_number != fn_number:
                continue
            if not _in(doc.receipt_time, since, until):
                continue
            out.append(
                OfdReceipt(
                    doc.fn_number,
                    doc.fd_number,
                    doc.answer_code,
                    doc.receipt_time,
                    _ofd_fp(doc.receipt),
                    doc.receipt,
                )
            )
        return out

    def rejections(
        self,
        fn_number: str | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[Rejection]:
        """Documents answered with a code other than 0 (14: ФЛК), with the reasons."""
        return [
            Rejection(
                d.fn_number,
                d.fd_number,
                d.doc_type,
                d.date_time,
                d.answer_code,
                tuple(str(p) for p in d.problems),
                d.problems,
                d.received_at,
            )
            for d in self._docs(fn_number, since, until)
            if not d.accepted
        ]

    def refusals(self, since: float | None = None) -> list[Refusal]:
        """Messages refused without a receipt (OFD clock seconds ``since``)."""
        return [r for r in self._store.refusals() if since is None or r.at >= since]

    def registers(self) -> list[KnownRegister]:
        """Every register the OFD has documents from, by FN number."""
        by_fn: dict[str, list[StoredDocument]] = {}
        for doc in self._store.snapshot():
            by_fn.setdefault(doc.fn_number, []).append(doc)
        return [_register(fn, docs) for fn, docs in sorted(by_fn.items())]

    def register(self, fn_number: str) -> KnownRegister | None:
        """What the OFD knows of one register, or None."""
        docs = [d for d in self._store.snapshot() if d.fn_number == fn_number]
        return _register(fn_number, docs) if docs else None

    def missing(self, fn_number: str) -> tuple[int, ...]:
        """FD numbers of a drive the OFD never received, below its highest (decision 3)."""
        found = self.register(fn_number)
        return found.missing if found is not None else ()


def _register(fn_number: str, docs: list[StoredDocument]) -> KnownRegister:
    registrations = [d for d in docs if d.doc_type in (1, 11)]
    reg = max(registrations, key=lambda d: d.fd_number) if registrations else None
    fields = reg.fields if reg is not None else ()
    seen = {d.fd_number for d in docs}
    last = max(seen)
    latest = max(docs, key=lambda d: d.date_time)
    return KnownRegister(
        fn_number=fn_number,
        rnm=_text(fields, 1037),
        user_inn=_text(fields, 1018),
        user_name=_text(fields, 1048),
        address=_text(fields, 1009),
        place=_text(fields, 1187),
        kkt_serial=_text(fields, 1013),
        registered_at=reg.date_time if reg is not None else None,
        documents=len(docs),
        rejected=sum(1 for d in docs if not d.accepted),
        last_fd=last,
        last_document_at=latest.date_time,
        missing=tuple(fd for fd in range(1, last) if fd not in seen),
        origin="injected" if all(d.origin == "injected" for d in docs) else "network",
    )
