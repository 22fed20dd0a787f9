# protocol/portable/values.py: checks of single request values, in the MicroPython subset.
#
# Every check appends (path, code, message) to a caller's list and returns the normalised
# value, or None when the value is bad or absent; none of them raises on any input.

TYPE_CHECKING = False
if TYPE_CHECKING:  # mypy only: MicroPython has no typing module
    from typing import Any

    Errors = list[tuple[str, str, str]]  # (path, code, message)

# Money is integer kopecks (DESIGN.md decision 8). An FFD money field is a VLN of at most
# 6 bytes (reference fiscal-protocols.md §2.1); the receipt total also travels in the
# 16h command as a 40-bit integer (§1.6), so it has the tighter limit.
MAX_MONEY = (1 << 48) - 1
MAX_TOTAL = (1 << 40) - 1
# Quantity (1023) is an FVLN of at most 8 bytes: a scale byte and a 7-byte mantissa.
MAX_MANTISSA = (1 << 56) - 1
MAX_SCALE = 6  # the schema's limit on decimal places (FFD allows more; 6 is what peers use)

# ---- text --------------------------------------------------------------------------------
# FFD strings are CP866 (reference §2.1): one byte per character. The characters of bytes
# 0x80..0xFF that are not Cyrillic letters А..я (U+0410..U+044F). Control characters are
# refused (they are CP866 too, but have no place in a receipt); tests compare this with
# CPython's cp866 codec for every code point.
_CP866_OTHER = "░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀ЁёЄєЇїЎў°∙·√№¤■\u00a0"


def text_ok(s: str) -> bool:
    """True when every character of `s` is printable and has a CP866 byte."""
    for ch in s:
        o = ord(ch)
        if 0x20 <= o < 0x7F or 0x0410 <= o <= 0x044F:
            continue
        if o < 0x80 or _CP866_OTHER.find(ch) < 0:
            return False
    return True


def ascii_ok(s: str, allow_gs: bool = False) -> bool:
    """True for printable ASCII (and GS, 0x1D, the GS1 separator, when allowed)."""
    for ch in s:
        o = ord(ch)
        if not (0x20 <= o < 0x7F or (allow_gs and o == 0x1D)):
            return False
    return True


def digits(s: str) -> bool:
    """True for a non-empty string of ASCII digits (str.isdigit also takes other scripts)."""
    if not s:
        return False
    return all("0" <= ch <= "9" for ch in s)


def err(errs: "Errors", path: str, code: str, message: str) -> None:
    """Record one problem."""
    errs.append((path, code, message))


def text(errs: "Errors", path: str, v: "Any", max_len: int, required: bool = False) -> "str | None":
    """A CP866 string of 1..max_len characters (not all spaces)."""
    if v is None:
        if required:
            err(errs, path, "required", "Обязательное поле")
        return None
    if not isinstance(v, str):
        err(errs, path, "type", "Ожидается строка")
        return None
    if not v.strip():
        err(errs, path, "empty", "Строка не может быть пустой")
        return None
    if len(v) > max_len:
        err(errs, path, "too_long", f"Не длиннее {max_len} символов")
        return None
    if not text_ok(v):
        err(errs, path, "charset", "Недопустимые символы: только печатные символы CP866")
        return None
    return v


def flag(errs: "Errors", path: str, v: "Any") -> bool:
    """An optional JSON boolean (absent = false)."""
    if v is None:
        return False
    if v is True or v is False:
        return v
    err(errs, path, "type", "Ожидается true или false")
    return False


def integer(v: "Any") -> bool:
    """True for a JSON integer (bool is not one, on CPython or MicroPython)."""
    return isinstance(v, int) and not isinstance(v, bool)


def kopecks(
    errs: "Errors",
    path: str,
    v: "Any",
    required: bool = True,
    limit: int = MAX_MONEY,
    what: str = "Сумма",
) -> "int | None":
    """A non-negative integer number of kopecks, at most `limit`; `what` names it in
    messages (a feminine noun: "Цена", "Сумма НДС")."""
    if v is None:
        if required:
            err(errs, path, "required", "Обязательное поле")
        return None
    if not integer(v):
        err(errs, path, "type", what + " указывается целым числом копеек")
        return None
    if v < 0:
        err(errs, path, "negative", what + " не может быть отрицательной")
        return None
    if v > limit:
        err(errs, path, "too_large", f"{what} больше допустимой ({limit} коп.)")
        return None
    return int(v)


def quantity(errs: "Errors", path: str, v: "Any") -> "tuple[str, int, int] | None":
    """A quantity as (text, mantissa, scale): a decimal string such as "1.500" (or an int).

    At most MAX_SCALE decimal places, greater than zero; the text is canonical (no leading
    zeros) and keeps the scale as written, which becomes the FVLN's scale on the wire.
    """
    if v is None:
        err(errs, path, "required", "Обязательное поле")
        return None
    if integer(v):
        v = str(v)
    if not isinstance(v, str):
        err(errs, path, "type", 'Количество указывается строкой, например "1.500"')
        return None
    dot = v.find(".")
    whole = v if dot < 0 else v[:dot]
    frac = "" if dot < 0 else v[dot + 1 :]
    if not digits(whole) or (dot >= 0 and not digits(frac)):
        err(errs, path, "format", 'Количество — десятичное число, например "1.500"')
        return None
    if len(frac) > MAX_SCALE:
        err(errs, path, "scale", f"Не больше {MAX_SCALE} знаков после запятой")
        return None
    mantissa = int(whole + frac)
    if mantissa == 0:
        err(errs, path, "zero", "Количество должно быть больше нуля")
        return None
    if mantissa > MAX_MANTISSA:
        err(errs, path, "too_large", "Количество слишком велико")
        return None
    canon = str(int(whole))
    if frac:
        canon = canon + "." + frac
    return canon, mantissa, len(frac)


def round_half_up(num: int, den: int) -> int:
    """num / den rounded to the nearest integer, halves up (num >= 0, den > 0)."""
    return (2 * num + den) // (2 * den)


def item_sum(price: int, mantissa: int, scale: int) -> int:
    """The sum of an item: price × quantity rounded half up to a kopeck (the schema's rule)."""
    return round_half_up(price * mantissa, 10**scale)


# ---- INN (ИНН) ---------------------------------------------------------------------------
# Check digits: 10 digits (organisation) — one check digit with weights 2 4 10 3 5 9 4 6 8;
# 12 digits (person) — two, with weights 7 2 4 10 3 5 9 4 6 8 and 3 7 2 4 10 3 5 9 4 6 8;
# each = (Σ weight × digit) mod 11 mod 10. (FNS order ММВ-7-6/435@ describes the number;
# the algorithm is the one every public validator implements.)
_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(s: str, weights: tuple[int, ...]) -> int:
    total = 0
    for i in range(len(weights)):
        total += weights[i] * (ord(s[i]) - 48)
    return total % 11 % 10


def inn_ok(s: str) -> bool:
    """True for a 10- or 12-digit INN whose check digits are right."""
    if not digits(s):
        return False
    if len(s) == 10:
        return _check_digit(s, _W10) == ord(s[9]) - 48
    if len(s) == 12:
        return _check_digit(s, _W11) == ord(s[10]) - 48 and _check_digit(s, _W12) == ord(s[11]) - 48
    return False


def inn(errs: "Errors", path: str, v: "Any", person: bool = False) -> "str | None":
    """An INN string (12 digits only when `person`)."""
    if v is None:
        return None
    if not isinstance(v, str):
        err(errs, path, "type", "ИНН указывается строкой цифр")
        return None
    if person and len(v) != 12:
        err(errs, path, "inn_person", "ИНН физического лица — 12 цифр")
        return None
    if not inn_ok(v):
        err(errs, path, "inn", "Неверный ИНН: нужно 10 или 12 цифр с верными контрольными")
        return None
    return v


def pad12(s: str) -> str:
    """An INN padded with spaces to the 12 characters of its FFD field (1203, 1226, 1016)."""
    return s + " " * (12 - len(s))


# ---- contacts ----------------------------------------------------------------------------


def email_ok(s: str) -> bool:
    """A plain check of an e-mail address: local@domain.tld, printable ASCII, no spaces."""
    at = s.find("@")
    if at < 1 or s.find("@", at + 1) >= 0 or not ascii_ok(s) or s.find(" ") >= 0:
        return False
    domain = s[at + 1 :]
    dot = domain.rfind(".")
    return 0 < dot < len(domain) - 1


def ru_phone_ok(s: str) -> bool:
    """A Russian phone number in the form +7XXXXXXXXXX (the 1008 buyer contact)."""
    return len(s) == 12 and s.startswith("+7") and digits(s[1:])


def phone(errs: "Errors", path: str, v: "Any") -> "str | None":
    """A phone number of an agent or supplier (1073-1075, 1171): "+" and up to 18 digits."""
    if not isinstance(v, str):
        err(errs, path, "type", "Телефон указывается строкой")
        return None
    if len(v) < 2 or len(v) > 19 or not v.startswith("+") or not digits(v[1:]):
        err(errs, path, "phone", "Телефон в формате +<код страны><номер>, до 19 символов")
        return None
    return v


def phones(errs: "Errors", path: str, v: "Any") -> list[str]:
    """An optional list of phone numbers."""
    if v is None:
        return []
    if not isinstance(v, list):
        err(errs, path, "type", "Ожидается список телефонов")
        return []
    out = []
    for i in range(len(v)):
        p = phone(errs, f"{path}[{i}]", v[i])
        if p is not None:
            out.append(p)
    return out


# ---- dates -------------------------------------------------------------------------------
# Dates travel as ISO 8601: "2026-01-15" or "2026-01-15T10:30:00+03:00" (a time must carry
# its offset: DESIGN.md decision 8). Rules compare days as YYYYMMDD integers, in the local
# calendar of the settlement (the date as written). FFD times (1178) are the local
# wall-clock time stored as if it were UTC (reference §2.1).


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _num(s: str, a: int, b: int) -> int:
    part = s[a:b]
    return int(part) if len(part) == b - a and digits(part) else -1


def parse_date(s: str) -> "tuple[int, int] | None":
    """(YYYYMMDD, local wall-clock seconds since 1970 as if UTC) of an ISO date, or None.

    Accepts YYYY-MM-DD, or that followed by T (or a space) HH:MM[:SS[.fraction]] and a
    required offset Z or ±HH:MM. Years 2000-2099.
    """
    if len(s) < 10 or s[4] != "-" or s[7] != "-":
        return None
    y, m, d = _num(s, 0, 4), _num(s, 5, 7), _num(s, 8, 10)
    if not 2000 <= y <= 2099 or not 1 <= m <= 12 or not 1 <= d <= _month_days(y, m):
        return None
    secs = 0
    if len(s) > 10:
        if s[10] != "T" and s[10] != " ":
            return None
        rest = s[11:]
        if len(rest) < 5 or rest[2] != ":":
            return None
        hh, mm = _num(rest, 0, 2), _num(rest, 3, 5)
        ss = 0
        pos = 5
        if len(rest) > 5 and rest[5] == ":":
            ss = _num(rest, 6, 8)
            pos = 8
            if len(rest) > 8 and rest[8] == ".":
                pos = 9
                while pos < len(rest) and "0" <= rest[pos] <= "9":
                    pos += 1
                if pos == 9:
                    return None
        if not 0 <= hh <= 23 or not 0 <= mm <= 59 or not 0 <= ss <= 59:
            return None
        zone = rest[pos:]
        if zone != "Z":
            if len(zone) != 6 or zone[0] not in "+-" or zone[3] != ":":
                return None
            zh, zm = _num(zone, 1, 3), _num(zone, 4, 6)
            if not 0 <= zh <= 23 or not 0 <= zm <= 59:
                return None
        secs = hh * 3600 + mm * 60 + ss
    return y * 10000 + m * 100 + d, days_from_civil(y, m, d) * 86400 + secs


def date(errs: "Errors", path: str, v: "Any", required: bool = False) -> "tuple[int, int] | None":
    """A date or date-time field: (YYYYMMDD, seconds) or None."""
    if v is None:
        if required:
            err(errs, path, "required", "Обязательное поле")
        return None
    if not isinstance(v, str):
        err(errs, path, "type", "Дата указывается строкой ISO 8601")
        return None
    got = parse_date(v)
    if got is None:
        if len(v) > 10 and parse_date(v + "Z") is not None:
            err(errs, path, "tz", "Время указывается со смещением, например +03:00")
        else:
            err(errs, path, "date", "Дата в формате ГГГГ-ММ-ДД или ГГГГ-ММ-ДДTЧЧ:ММ:СС+03:00")
        return None
    return got


def day_text(day: int) -> str:
    """A YYYYMMDD day as DD.MM.YYYY, for messages."""
    s = str(day)
    return s[6:8] + "." + s[4:6] + "." + s[0:4]
