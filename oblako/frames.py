"""Building and explaining fiscal-drive frames for people (`oblako fn frame|parse`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from construct import ConstructError

from protocol.errors import FrameFormatError
from protocol.fn.codes import CommandCode, answer_message
from protocol.fn.commands import (
    COMMANDS,
    as_dict,
    build_request,
    get_command,
    parse_answer,
    parse_archive,
    parse_error_answer,
    parse_request,
)
from protocol.fn.frame import ParsedFrame, build_frame, parse_frame


class FrameInputError(ValueError):
    """A command, field or value given on the command line is not usable."""


def command_code(text: str) -> int:
    """A command given as hex ("30", "0x30", "30h") or by name ("STATUS", case-insensitive)."""
    t = text.strip()
    name = t.upper()
    if name in CommandCode.__members__:
        return int(CommandCode[name])
    digits = t.lower().removeprefix("0x").removesuffix("h")
    try:
        code = int(digits, 16)
    except ValueError:
        names = ", ".join(sorted(CommandCode.__members__))
        raise FrameInputError(f"unknown command {text!r}; use hex or one of: {names}") from None
    if code not in COMMANDS:
        raise FrameInputError(f"command {code:02X}h is not declared in the spec")
    return code


def _value(text: str) -> Any:
    for parse in (lambda s: int(s, 0), dt.datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            pass
    if len(text) == 10 and text.count("-") == 2:
        return dt.date.fromisoformat(text)
    return text


def request_frame(cmd: str, data_hex: str | None, sets: list[str]) -> bytes:
    """A request frame from raw data hex or from field=value pairs (not both)."""
    code = command_code(cmd)
    if data_hex and sets:
        raise FrameInputError("give either DATA_HEX or --set fields, not both")
    if sets:
        values: dict[str, Any] = {}
        for item in sets:
            key, eq, raw = item.partition("=")
            if not eq:
                raise FrameInputError(f"--set wants field=value, got {item!r}")
            values[key.strip()] = _value(raw.strip())
        try:
            data = build_request(code, **values)
        except (ConstructError, ValueError, TypeError) as e:
            raise FrameInputError(f"{code:02X}h: {e}") from e
    else:
        try:
            data = bytes.fromhex(data_hex or "")
        except ValueError as e:
            raise FrameInputError(f"DATA_HEX is not hex: {e}") from e
    try:
        return build_frame(code, data)
    except FrameFormatError as e:
        raise FrameInputError(str(e)) from e


def _fields(container: Any) -> list[str]:
    out = []
    for key, value in as_dict(container).items():
        if isinstance(value, bytes):
            value = value.hex(" ")
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        out.append(f"  {key}: {value}")
    return out


def explain(raw: bytes, answer_to: str | None = None) -> list[str]:
    """Lines explaining a frame; a request unless `answer_to` names the command answered.

    Raises FrameFormatError for a malformed frame (bad start, length, CRC).
    """
    f: ParsedFrame = parse_frame(raw)
    lines = [f"кадр: {len(raw)} байт, LEN {len(f.data) + 1}, CRC {f.crc:04X}h (верна)"]
    if answer_to is None:
        return lines + _explain_request(f)
    return lines + _explain_answer(f, command_code(answer_to))


def _explain_request(f: ParsedFrame) -> list[str]:
    if f.code not in COMMANDS:
        return [
            f"код {f.code:02X}h: не команда ФН; если это ответ, укажите --answer-to КОМАНДА",
            f"  данные: {f.data.hex(' ') or '—'}",
        ]
    cmd = get_command(f.code)
    lines = [f"запрос {f.code:02X}h: {cmd.name_ru} ({cmd.name_en})"]
    try:
        lines += _fields(parse_request(f.code, f.data)) or ["  без данных"]
    except ConstructError as e:
        lines.append(f"  данные не соответствуют команде: {e}")
    return lines


def _explain_answer(f: ParsedFrame, code: int) -> list[str]:
    cmd = get_command(code)
    warn = ", бит предупреждения: прочитайте флаги командой 30h" if f.warning else ""
    lines = [
        f"ответ на {code:02X}h ({cmd.name_ru}): код {f.answer_code:02X}h "
        f"«{answer_message(f.answer_code, code)}»{warn}"
    ]
    try:
        if f.answer_code:
            reason = parse_error_answer(f.data).reason
            if reason is not None:
                lines.append(f"  уточнение: {reason}")
            return lines
        answer = parse_answer(code, f.data)
        lines += _fields(answer) or ["  без данных"]
        if code == CommandCode.FIND_DOCUMENT:
            lines.append("  запись архива:")
            lines += ["  " + s for s in _fields(parse_archive(answer.document_type, answer.data))]
    except ConstructError as e:
        lines.append(f"  данные не соответствуют ответу: {e}")
    return lines
