"""Reading a bench trace back: frames, commands, answers and the TLV they carry.

`oblako hil trace show FILE` prints one line per event: ENQ, a request with its command and
fields, the answer with its code (and parsed data when the request is known), notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from construct import ConstructError

from firmware.framing import Framer
from protocol.errors import TlvDecodeError
from protocol.fn.codes import CommandCode, answer_message
from protocol.fn.commands import COMMANDS, as_dict, parse_answer, parse_request
from protocol.tlv import decode
from protocol.tree import render

ENQ = 0x05
#: Commands whose data (request or answer) is TLV worth decoding.
TLV_REQUESTS = {CommandCode.SEND_DOCUMENT_DATA}
TLV_ANSWERS = {CommandCode.DOCUMENT_TLV_READ, CommandCode.REGISTRATION_TLV_READ}


class TraceFormatError(ValueError):
    """A trace line is not the JSON the bench writes."""


@dataclass(frozen=True)
class Event:
    """One thing on the wire: a request, an answer, an ENQ, or a note."""

    t: float
    kind: str  # "request" | "answer" | "enq" | "note" | "garbage"
    code: int = -1
    data: bytes = b""
    text: str = ""


def read_events(path: Path) -> list[Event]:
    """Reassemble frames from a trace file (chunks as the link carried them)."""
    framers = {"tx": Framer(), "rx": Framer()}
    events: list[Event] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec: dict[str, Any] = json.loads(line)
            t = float(rec["t"])
            if "note" in rec:
                events.append(Event(t, "note", text=str(rec["note"])))
                continue
            direction = rec["dir"]
            data = bytes.fromhex(rec["hex"])
        except (ValueError, KeyError, TypeError) as e:
            raise TraceFormatError(f"line {n}: {e}") from e
        if direction not in framers:
            raise TraceFormatError(f"line {n}: dir must be tx or rx, got {direction!r}")
        if direction == "tx" and data == bytes([ENQ]):
            events.append(Event(t, "enq"))
            continue
        framer = framers[direction]
        dropped = framer.dropped
        for code, payload in framer.feed(data):
            kind = "request" if direction == "tx" else "answer"
            events.append(Event(t, kind, code, bytes(payload)))
        if framer.dropped > dropped:
            events.append(
                Event(t, "garbage", text=f"{framer.dropped - dropped} байт ({direction})")
            )
    return events


def _fields(container: Any) -> str:
    parts = []
    for k, v in as_dict(container).items():
        parts.append(f"{k}={v.hex() if isinstance(v, bytes) else v}")
    return ", ".join(parts)


def _tlv(data: bytes) -> list[str]:
    try:
        return ["    " + line for line in render(decode(data)).splitlines()]
    except TlvDecodeError as e:
        return [f"    TLV не разбирается: {e}"]


def explain(events: list[Event]) -> list[str]:
    """Readable lines for a list of events, pairing answers with the last request."""
    lines: list[str] = []
    last_request = -1
    for e in events:
        stamp = f"{e.t:10.4f}"
        if e.kind == "note":
            lines.append(f"{stamp}  # {e.text}")
        elif e.kind == "enq":
            lines.append(f"{stamp}  → ENQ (повторить последний ответ)")
        elif e.kind == "garbage":
            lines.append(f"{stamp}  ! мусор на линии: {e.text}")
        elif e.kind == "request":
            last_request = e.code
            cmd = COMMANDS.get(e.code)
            name = cmd.name_ru if cmd else "неизвестная команда"
            detail = ""
            if cmd is not None and e.code not in TLV_REQUESTS:
                try:
                    detail = _fields(parse_request(e.code, e.data))
                except ConstructError as err:
                    detail = f"данные не разбираются: {err}"
            lines.append(f"{stamp}  → {e.code:02X}h {name} {detail}".rstrip())
            if e.code in TLV_REQUESTS:
                lines += _tlv(e.data)
        else:
            code = e.code & 0x7F
            warn = " +предупреждение" if e.code & 0x80 else ""
            head = f"{stamp}  ← {code:02X}h {answer_message(code, last_request)}{warn}"
            if code == 0 and last_request in COMMANDS and last_request not in TLV_ANSWERS:
                try:
                    head += " " + _fields(parse_answer(last_request, e.data))
                except ConstructError as err:
                    head += f" данные не разбираются: {err}"
            lines.append(head.rstrip())
            if code == 0 and last_request in TLV_ANSWERS and e.data:
                lines += _tlv(e.data)
    return lines
