"""The codec's fast accept: a verdict "valid" in microseconds for the kinds the fleet handles
per receipt, else no verdict (the JSON Schema validator then decides and says why).

- fleet → register (`cmd`, `stored`, `desired`): the register's own checks
  (protocol/portable/link.py `CHECKS`), ~5 µs a command instead of the schema's ~250 µs. They
  accept exactly what the schemas accept (tests/protocol/test_mqtt_contract.py), and they are
  what the register runs: a command they pass is one the register takes.
- register → fleet (`ack`, `result`, `ofd`, `state` — a register reports its state after
  every receipt —, `presence`): one msgspec conversion into a struct that admits
  only what the schema admits (integers only, no nulls, no unknown fields, ECMA 262 patterns
  written with \\Z), ~3–6 µs instead of ~80–190 µs. tests/protocol/test_mqtt_accept.py proves
  the subset property (fast accept ⇒ the schema accepts) and that valid messages take it.

`doc` has its own one-pass decoder in the ingest (fleet/link/deadletter.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from protocol.portable import link

__all__ = ["FAST", "accepts"]

_U32: Final = 0xFFFFFFFF
_Int = Annotated[int, Meta(ge=0, le=link.MAX_INT)]
_U32Int = Annotated[int, Meta(ge=0, le=_U32)]
_Fd = Annotated[int, Meta(ge=1, le=_U32)]
_Fn = Annotated[str, Meta(pattern=r"^[0-9]{16}\Z")]
_Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[!#-\[\]-~]+\Z")]
_Digits = Annotated[str, Meta(pattern=r"^[0-9]{1,10}\Z")]
_Total = Annotated[int, Meta(ge=0, le=(1 << 48) - 1)]


class _Error(msgspec.Struct, forbid_unknown_fields=True):
    path: Annotated[str, Meta(max_length=200)]
    code: Annotated[str, Meta(max_length=64)]
    message: Annotated[str, Meta(max_length=500)]


_Errors = Annotated[list[_Error], Meta(max_length=50)]


class _Ack(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    id: _Id
    status: Literal["accepted", "duplicate", "expired", "rejected"]
    at: _Int
    errors: _Errors | UnsetType = UNSET


_Action = Literal[
    "receipt",
    "correction",
    "open_shift",
    "close_shift",
    "report",
    "registration",
    "reregistration",
    "close_fiscal_mode",
    "x_report",
    "ofd_exchange",
    "sync_time",
    "reboot",
    "read_archive",
    "firmware_update",
]


class _Result(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    id: _Id
    status: Literal["made", "failed", "unknown", "done"]
    at: _Int
    action: _Action | UnsetType = UNSET
    kind: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    fn: _Fn | UnsetType = UNSET
    fd: _Fd | UnsetType = UNSET
    fp: _Digits | UnsetType = UNSET
    shift: _U32Int | UnsetType = UNSET
    number: _U32Int | UnsetType = UNSET
    date_time: Annotated[str, Meta(max_length=40)] | UnsetType = UNSET
    recovered: bool | UnsetType = UNSET
    retryable: bool | UnsetType = UNSET
    errors: _Errors | UnsetType = UNSET
    qr: Annotated[str, Meta(max_length=256)] | UnsetType = UNSET
    total: _Total | UnsetType = UNSET
    data: dict[str, Any] | UnsetType = UNSET
    shift_documents: Annotated[list[Any], Meta(max_length=8)] | UnsetType = UNSET


class _Ofd(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    fn: _Fn
    fd: _Fd
    status: Literal["accepted", "rejected"]
    at: _Int
    code: Annotated[int, Meta(ge=0, le=255)] | UnsetType = UNSET


_Time = _Int


class _Drive(msgspec.Struct, forbid_unknown_fields=True):
    fn: _Fn
    phase: Annotated[int, Meta(ge=0, le=255)]
    warnings: Annotated[int, Meta(ge=0, le=255)]
    last_fd: _U32Int
    expires: Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")] | UnsetType = UNSET
    memory_used_pct: Annotated[int, Meta(ge=0, le=100)] | UnsetType = UNSET
    unsent: _U32Int | UnsetType = UNSET
    oldest_unsent_at: _Time | UnsetType = UNSET


class _Shift(msgspec.Struct, forbid_unknown_fields=True):
    open: bool
    number: _U32Int | UnsetType = UNSET
    receipts: _U32Int | UnsetType = UNSET
    opened_at: _Time | UnsetType = UNSET


class _OfdLink(msgspec.Struct, forbid_unknown_fields=True):
    connected: bool | UnsetType = UNSET
    last_exchange_at: _Time | UnsetType = UNSET


class _State(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    seq: _Int
    at: _Time
    drive: _Drive
    shift: _Shift
    firmware: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    clock: _Time | UnsetType = UNSET
    clock_trusted: bool | UnsetType = UNSET
    ofd: _OfdLink | UnsetType = UNSET
    outbox: _U32Int | UnsetType = UNSET
    desired_seq: _Int | UnsetType = UNSET


class _Presence(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    status: Literal["online", "offline"]
    at: _Time | UnsetType = UNSET
    firmware: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    reason: Literal["shutdown", "lost", "reboot", "update"] | UnsetType = UNSET


def _struct(kind: type[msgspec.Struct]) -> Callable[[dict[str, Any]], bool]:
    def accepts(payload: dict[str, Any]) -> bool:
        try:
            msgspec.convert(payload, kind)  # strict: no 1.0 for an integer, no "1" for it
        except msgspec.ValidationError:
            return False
        return True

    return accepts


def _checked(kind: str) -> Callable[[dict[str, Any]], bool]:
    check = link.CHECKS[kind]

    def accepts(payload: dict[str, Any]) -> bool:
        return not check(payload)

    return accepts


#: kind → a verdict "surely valid" (True) or "the schema decides" (False)
FAST: Final[dict[str, Callable[[dict[str, Any]], bool]]] = {
    link.ACK: _struct(_Ack),
    link.RESULT: _struct(_Result),
    link.OFD: _struct(_Ofd),
    link.STATE: _struct(_State),
    link.PRESENCE: _struct(_Presence),
    **{kind: _checked(kind) for kind in link.CHECKS},
}


def accepts(kind: str, payload: dict[str, Any]) -> bool:
    """True when `payload` is surely a valid `kind` message; False: ask the schema."""
    fast = FAST.get(kind)
    return fast is not None and fast(payload)
