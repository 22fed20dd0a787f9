"""Building blocks for the fiscal drive (ФН) data types, declared with construct.

The drive protocol v1.1 (reference/fiscal-protocols.md §1.5, "Data types in FN commands")
uses a handful of fixed-size types. Each one is a module-level construct here, so the
command declarations in :mod:`protocol.fn.commands` read like the spec tables:

    DATE_TIME        5 bytes  YY MM DD hh mm, binary (not BCD), year = 2000 + YY
                              18 01 0F 0A 1E  ->  datetime(2024, 1, 15, 10, 30)
    DATE             3 bytes  YY MM DD, binary                    ->  date
    MAYBE_DATE_TIME  as DATE_TIME, but 00 00 00 00 00 <-> None   (see below)
    MAYBE_DATE       as DATE, but 00 00 00 <-> None
    FN_NUMBER        16 bytes ASCII, exactly 16 characters (§3.3)
    INN              12 bytes ASCII, right-padded with spaces (§1.6 03h, §2.1)
    RNM              20 bytes ASCII, right-padded with spaces (§1.6 03h, §3.2)
    VERSION_ASCII    16 bytes ASCII, any 7-bit character (33h firmware version)
    UINT40           5 bytes unsigned little-endian (receipt total in kopecks, 16h)
    FD_NUMBER        uint32 LE (fiscal document number)
    FP               uint32 LE (fiscal sign ФП as the drive returns it, §3.1)
    OFD_FP           18 raw bytes (the operator's fiscal sign ФПО, 41h)

Values are what the wire holds: ints (never floats: money is kopecks), naive
``datetime``/``date`` in the drive's local time, and ``str`` for ASCII fields *including*
their padding (``"7702203276  "``), so ``build(parse(x)) == x`` always holds. When
building, a padded field also accepts a shorter string and pads it.

Every malformed value raises a :class:`construct.ConstructError` subclass (mostly
:class:`construct.ValidationError`), never ``ValueError``/``IndexError``/``UnicodeError``:
callers catch one exception family for "the bytes do not match the spec".

MAYBE_* [rec]: a drive with nothing to report (no document yet in 30h, no unsent message
in 20h, no unconfirmed document in 19h) is expected to fill the date with zero bytes,
which is not a calendar date. Those answer fields therefore map all-zero bytes to
``None``; everywhere else (all requests) a zero date is an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from construct import (
    Adapter,
    Bytes,
    BytesInteger,
    Construct,
    Int32ul,
    SizeofError,
    ValidationError,
)
from construct.core import stream_size, stream_tell

__all__ = [
    "DATE",
    "DATE_TIME",
    "FD_NUMBER",
    "FN_NUMBER",
    "FP",
    "INN",
    "MAYBE_DATE",
    "MAYBE_DATE_TIME",
    "OFD_FP",
    "RNM",
    "UINT40",
    "VERSION_ASCII",
    "DateAdapter",
    "DateTimeAdapter",
    "FixedAscii",
    "OptionalField",
    "decode_date",
    "decode_date_time",
    "drive_minute",
    "encode_date",
    "encode_date_time",
]

YEAR_BASE: Final = 2000  # §1.5: YY is years since 2000, one binary byte
YEAR_MAX: Final = YEAR_BASE + 0xFF
DATE_TIME_SIZE: Final = 5  # §1.5 DATE_TIME
DATE_SIZE: Final = 3  # §1.5 DATE

_PRINTABLE: Final = frozenset(range(0x20, 0x7F))  # digits, letters, space
_SEVEN_BIT: Final = frozenset(range(0x80))


# ---- plain typed codecs (usable without construct) --------------------------------------


def decode_date_time(raw: bytes, path: str | None = None) -> dt.datetime:
    """Decode a 5-byte DATE_TIME (§1.5) into a naive ``datetime``.

    :raises construct.ValidationError: wrong size or not a calendar date/time.
    """
    if len(raw) != DATE_TIME_SIZE:
        raise ValidationError(f"DATE_TIME needs {DATE_TIME_SIZE} bytes, got {len(raw)}", path=path)
    yy, month, day, hour, minute = raw
    try:
        return dt.datetime(YEAR_BASE + yy, month, day, hour, minute)
    except ValueError as exc:
        raise ValidationError(f"invalid DATE_TIME {raw.hex(' ')}: {exc}", path=path) from exc


def encode_date_time(value: object, path: str | None = None) -> bytes:
    """Encode a naive ``datetime`` with whole minutes as a 5-byte DATE_TIME (§1.5).

    Seconds are refused rather than dropped so that ``parse(build(v)) == v``; use
    :func:`drive_minute` to truncate a clock reading first.

    :raises construct.ValidationError: not a naive datetime, seconds set, year outside 2000–2255.
    """
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"DATE_TIME needs a datetime, got {value!r}", path=path)
    if value.tzinfo is not None:
        raise ValidationError(
            "DATE_TIME is the drive's local time: pass a naive datetime", path=path
        )
    if value.second or value.microsecond:
        raise ValidationError(
            f"DATE_TIME has minute resolution, got {value.isoformat()}", path=path
        )
    if not YEAR_BASE <= value.year <= YEAR_MAX:
        raise ValidationError(f"DATE_TIME year must be 2000..2255, got {value.year}", path=path)
    return bytes((value.year - YEAR_BASE, value.month, value.day, value.hour, value.minute))


def decode_date(raw: bytes, path: str | None = None) -> dt.date:
    """Decode a 3-byte DATE (§1.5) into a ``date``.

    :raises construct.ValidationError: wrong size or not a calendar date.
    """
    if len(raw) != DATE_SIZE:
        raise ValidationError(f"DATE needs {DATE_SIZE} bytes, got {len(raw)}", path=path)
    yy, month, day = raw
    try:
        return dt.date(YEAR_BASE + yy, month, day)
    except ValueError as exc:
        raise ValidationError(f"invalid DATE {raw.hex(' ')}: {exc}", path=path) from exc


def encode_date(value: object, path: str | None = None) -> bytes:
    """Encode a ``date`` (not a ``datetime``) as a 3-byte DATE (§1.5).

    :raises construct.ValidationError: not a date, a datetime, or year outside 2000–2255.
    """
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(f"DATE needs a date (not a datetime), got {value!r}", path=path)
    if not YEAR_BASE <= value.year <= YEAR_MAX:
        raise ValidationError(f"DATE year must be 2000..2255, got {value.year}", path=path)
    return bytes((value.year - YEAR_BASE, value.month, value.day))


def drive_minute(value: dt.datetime) -> dt.datetime:
    """Return ``value`` truncated to the minute, the resolution of DATE_TIME."""
    return value.replace(second=0, microsecond=0)


# ---- construct adapters ------------------------------------------------------------------
# construct ships no type information, so the adapters subclass an Any-typed base.


class DateTimeAdapter(Adapter):  # type: ignore[misc]
    """DATE_TIME (5 bytes) <-> naive ``datetime``; optionally all-zero bytes <-> ``None``."""

    def __init__(self, *, zero_is_none: bool = False) -> None:
        """Declare a DATE_TIME field; ``zero_is_none`` maps ``00 00 00 00 00`` to ``None``."""
        super().__init__(Bytes(DATE_TIME_SIZE))
        self.zero_is_none = zero_is_none

    def _decode(self, obj: bytes, context: Any, path: str) -> dt.datetime | None:
        if self.zero_is_none and not any(obj):
            return None
        return decode_date_time(obj, path)

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if obj is None and self.zero_is_none:
            return bytes(DATE_TIME_SIZE)
        return encode_date_time(obj, path)


class DateAdapter(Adapter):  # type: ignore[misc]
    """DATE (3 bytes) <-> ``date``; optionally all-zero bytes <-> ``None``."""

    def __init__(self, *, zero_is_none: bool = False) -> None:
        """Declare a DATE field; ``zero_is_none`` maps ``00 00 00`` to ``None``."""
        super().__init__(Bytes(DATE_SIZE))
        self.zero_is_none = zero_is_none

    def _decode(self, obj: bytes, context: Any, path: str) -> dt.date | None:
        if self.zero_is_none and not any(obj):
            return None
        return decode_date(obj, path)

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if obj is None and self.zero_is_none:
            return bytes(DATE_SIZE)
        return encode_date(obj, path)


class FixedAscii(Adapter):  # type: ignore[misc]
    """Fixed-width ASCII field kept as the exact ``str`` the wire holds.

    ``pad=True``: building accepts up to ``width`` characters and right-pads with spaces
    (ИНН, РНМ); otherwise exactly ``width`` characters are required (ФН number).
    ``printable=True`` allows only 0x20..0x7E; otherwise any 7-bit byte (e.g. NUL fill).
    """

    def __init__(self, width: int, *, pad: bool, printable: bool = True) -> None:
        """Declare a ``width``-byte ASCII field."""
        super().__init__(Bytes(width))
        self.width = width
        self.pad = pad
        self.printable = printable

    def _allowed(self) -> frozenset[int]:
        return _PRINTABLE if self.printable else _SEVEN_BIT

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        bad = [b for b in obj if b not in self._allowed()]
        if bad:
            raise ValidationError(f"non-ASCII byte 0x{bad[0]:02X} in {obj!r}", path=path)
        return obj.decode("ascii")

    def _encode(self, obj: object, context: Any, path: str) -> bytes:
        if not isinstance(obj, str):
            raise ValidationError(f"ASCII field needs a str, got {obj!r}", path=path)
        if len(obj) > self.width or (not self.pad and len(obj) != self.width):
            raise ValidationError(f"ASCII field is {self.width} characters, got {obj!r}", path=path)
        if any(ord(ch) not in self._allowed() for ch in obj):
            raise ValidationError(f"ASCII field has a forbidden character: {obj!r}", path=path)
        return obj.ljust(self.width).encode("ascii")


class OptionalField(Construct):  # type: ignore[misc]
    """A field that is either present or absent, decided by the data length.

    Parsing: present when at least ``size + after`` bytes remain (``after`` = the fixed
    size of the fields that follow it), else ``None``. Building: ``None`` writes nothing,
    any other value is built by ``subcon`` (errors propagate; nothing is silently
    dropped, unlike ``construct.Optional``). Used for the v1/v2 forms of 02h, 03h, 43h, 44h.
    """

    def __init__(self, subcon: Any, *, after: int = 0) -> None:
        """Wrap the fixed-size ``subcon``; ``after`` bytes of fixed fields follow it."""
        super().__init__()
        self.subcon = subcon
        self.size: int = subcon.sizeof()
        self.after = after
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        remaining = stream_size(stream) - stream_tell(stream, path)
        if remaining >= self.size + self.after:
            return self.subcon._parsereport(stream, context, path)
        return None

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        if obj is None:
            return None
        return self.subcon._build(obj, stream, context, path)

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("optional field has no fixed size", path=path)


# ---- the field types ---------------------------------------------------------------------

DATE_TIME: Final = DateTimeAdapter()
DATE: Final = DateAdapter()
MAYBE_DATE_TIME: Final = DateTimeAdapter(zero_is_none=True)  # [rec] answers only
MAYBE_DATE: Final = DateAdapter(zero_is_none=True)  # [rec] answers only

FN_NUMBER: Final = FixedAscii(16, pad=False)  # §3.3, 31h, 30h bytes 10..25
INN: Final = FixedAscii(12, pad=True)  # §1.6 03h, tag 1018 padding §2.1
RNM: Final = FixedAscii(20, pad=True)  # §1.6 03h "right-padded with spaces", §3.2
VERSION_ASCII: Final = FixedAscii(16, pad=True, printable=False)  # §1.6 33h

UINT40: Final = BytesInteger(5, signed=False, swapped=True)  # §1.6 16h total, LE
FD_NUMBER: Final = Int32ul  # §1.6 "ФД uint32"
FP: Final = Int32ul  # §3.1 "FN responses carry the ФП as uint32 LE"
OFD_FP: Final = Bytes(18)  # §1.6 41h "ФП ОФД(18)"
