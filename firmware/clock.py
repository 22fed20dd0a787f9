# firmware/clock.py: the register's system clock and the drive's DATE_TIME from wall time.
# MIT license; Oblako register runtime.
#
# Clock contract (DESIGN decision 6: one injected clock for every time rule):
#
#   wall() -> float       UTC seconds since 1970-01-01 (Unix time)
#   monotonic() -> float  seconds from an arbitrary origin; never goes back
#   sleep(seconds)        wait (a simulated clock just moves its time forward)
#
# simulator/clock.py implements the same three methods over simulated time; FiscalDrive and
# every other time-dependent part take the clock as an argument and never read `time`.
#
# DATE_TIME (reference fiscal-protocols.md §1.5) is 5 binary bytes YY MM DD hh mm of the
# register's local time, YY = year - 2000 (not BCD): 18 01 0F 0A 1E = 2024-01-15 10:30.
# Wall time is UTC; the local time is wall + utc_offset_min (Moscow = +180) and is applied
# only here, when a time is encoded for the drive (DESIGN decision 8).
#
# MicroPython has no datetime. time.gmtime turns seconds into fields, but its epoch is
# port-specific (bare-metal ports count from 2000-01-01, the unix and webassembly ports
# from 1970), its range is a small int on 32-bit ports, and a port may lack it. So the
# epoch is measured once with gmtime(0), gmtime is used only inside a safe range, and
# civil_from_days() below (Howard Hinnant's algorithm, proleptic Gregorian) covers the rest.
import time

from firmware.compat import const
from firmware.errors import UsageError

_DAY = const(86400)  # seconds
_UNIX_TO_0000_03_01 = const(719468)  # days from 0000-03-01 to 1970-01-01 (Hinnant)
_ERA_DAYS = const(146097)  # days in 400 Gregorian years
_YEAR_BASE = const(2000)  # DATE_TIME year byte = year - 2000, §1.5
_YEAR_MAX = const(2255)  # the year byte is 0..255, §1.5
_GMTIME_MAX = const(0x3FFFFFFF)  # gmtime input stays a small int on 32-bit ports
_DAYS_IN_MONTH = b"\x1f\x1c\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"  # Jan..Dec, non-leap


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the given proleptic Gregorian date (negative before)."""
    if month <= 2:
        year -= 1
    era = year // 400  # floor division: correct for negative years too
    yoe = year - era * 400  # year of era, 0..399
    mp = month - 3 if month > 2 else month + 9  # month counted from March, 0..11
    doy = (153 * mp + 2) // 5 + day - 1  # day of the March-based year, 0..365
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy  # day of era, 0..146096
    return era * _ERA_DAYS + doe - _UNIX_TO_0000_03_01


def civil_from_days(days: int) -> tuple:
    """(year, month, day) of the date `days` after 1970-01-01; inverse of days_from_civil."""
    z = days + _UNIX_TO_0000_03_01
    era = z // _ERA_DAYS
    doe = z - era * _ERA_DAYS  # 0..146096
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365  # 0..399
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # 0..365
    mp = (5 * doy + 2) // 153  # 0..11, March-based
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def _whole(seconds: float) -> int:
    # floor(), without math: int() truncates towards zero.
    s = int(seconds)
    return s - 1 if s > seconds else s


def utc_fields_civil(seconds: float) -> tuple:
    """(year, month, day, hour, minute, second) of Unix time `seconds`, by arithmetic only."""
    s = _whole(seconds)
    days = s // _DAY
    rem = s - days * _DAY
    y, m, d = civil_from_days(days)
    return y, m, d, rem // 3600, (rem // 60) % 60, rem % 60


_gmtime = getattr(time, "gmtime", None)


def _epoch_offset() -> int:
    # Unix time of the port's epoch: 0 on CPython and the unix/webassembly ports,
    # 946684800 (2000-01-01) on bare-metal MicroPython ports.
    probe = _gmtime or getattr(time, "localtime", None)
    if probe is None:
        return 0
    t = probe(0)
    return days_from_civil(t[0], t[1], t[2]) * _DAY + t[3] * 3600 + t[4] * 60 + t[5]


EPOCH_OFFSET = _epoch_offset()  # add to time.time() to get Unix time


def utc_fields(seconds: float) -> tuple:
    """(year, month, day, hour, minute, second) of Unix time `seconds` (UTC).

    time.gmtime where the port has it and the value is in its safe range, else
    utc_fields_civil(); both give the same fields.
    """
    s = _whole(seconds)
    port = s - EPOCH_OFFSET
    if _gmtime is not None and 0 <= port <= _GMTIME_MAX:
        t = _gmtime(port)
        return t[0], t[1], t[2], t[3], t[4], t[5]
    return utc_fields_civil(s)


def local_fields(wall: float, utc_offset_min: int) -> tuple:
    """(year, month, day, hour, minute) of the register's local time, seconds dropped."""
    t = utc_fields(_whole(wall) + utc_offset_min * 60)
    return t[0], t[1], t[2], t[3], t[4]


def days_in_month(year: int, month: int) -> int:
    """Days in a month of the proleptic Gregorian calendar (month 1..12)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def valid_date_time(fields: tuple) -> bool:
    """True when (year, month, day, hour, minute) is a DATE_TIME the drive can hold (§1.5)."""
    if len(fields) != 5:
        return False
    y, mo, d, h, mi = fields
    for v in fields:
        if type(v) is not int:
            return False
    if not _YEAR_BASE <= y <= _YEAR_MAX or not 1 <= mo <= 12:
        return False
    return 1 <= d <= days_in_month(y, mo) and 0 <= h < 24 and 0 <= mi < 60


def pack_date_time(fields: tuple) -> bytes:
    """The 5 DATE_TIME bytes of (year, month, day, hour, minute) in local time (§1.5).

    Raises UsageError for a time the drive cannot hold (before 2000 or after 2255: an
    untrusted clock must never reach the drive) or that is not a calendar time.
    """
    if not isinstance(fields, tuple) or not valid_date_time(fields):
        raise UsageError("not a DATE_TIME (year 2000..2255, calendar date, hh:mm): %r" % (fields,))
    return bytes((fields[0] - _YEAR_BASE, fields[1], fields[2], fields[3], fields[4]))


def date_time_bytes(wall: float, utc_offset_min: int) -> bytes:
    """DATE_TIME bytes of Unix time `wall` in local time UTC+utc_offset_min (§1.5)."""
    return pack_date_time(local_fields(wall, utc_offset_min))


def unix_from_local(fields: tuple, utc_offset_min: int) -> int:
    """Unix time of local (year, month, day, hour, minute[, second]); inverse of local_fields."""
    s = fields[5] if len(fields) > 5 else 0
    days = days_from_civil(fields[0], fields[1], fields[2])
    return days * _DAY + fields[3] * 3600 + fields[4] * 60 + s - utc_offset_min * 60


class SystemClock:
    """The board's clock under the project's clock contract (DESIGN decision 6).

    wall() reads time.time() shifted to the Unix epoch (an int on bare-metal ports, which
    have no sub-second wall time). monotonic() counts time.ticks_ms on MicroPython with
    ticks_diff, so the tick counter's wrap-around (2**30 ms on most ports) is harmless as
    long as monotonic() is called at least once per half period (about 6 days); the driver
    calls it on every exchange. On CPython it is time.monotonic().
    """

    def __init__(self) -> None:
        self._ticks = getattr(time, "ticks_ms", None)
        self._diff = getattr(time, "ticks_diff", None)
        self._last = self._ticks() if self._ticks is not None else 0
        self._elapsed_ms = 0  # an int: exact however long the board runs

    def wall(self) -> float:
        """UTC seconds since 1970-01-01."""
        return time.time() + EPOCH_OFFSET

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going back."""
        if self._ticks is None or self._diff is None:
            return time.monotonic()
        now = self._ticks()
        self._elapsed_ms += self._diff(now, self._last)
        self._last = now
        return self._elapsed_ms / 1000

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` (nothing for zero or less)."""
        if seconds <= 0:
            return
        sleep_ms = getattr(time, "sleep_ms", None)
        if sleep_ms is not None:
            sleep_ms(int(seconds * 1000))
        else:
            time.sleep(seconds)
