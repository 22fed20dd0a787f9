"""The `oblako` command as people use it: decode, build and explain fiscal bytes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from oblako.cli import app
from protocol.fn.frame import build_frame
from protocol.ofd import SessionHeader

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
V1_HEX = VECTORS / "v1_container_registration.hex"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_tlv_decode_container_text() -> None:
    code, out = run("tlv", "decode", str(V1_HEX))
    assert code == 0
    assert "Контейнер ФН: тип документа 1, ФН 999907891234567, ФД 1" in out
    assert '1048 Наименование пользователя: "ООО "МММ""' in out
    assert "1012 Дата, время: 2016-04-13 14:14:00" in out


def test_tlv_decode_container_json() -> None:
    code, out = run("tlv", "decode", str(V1_HEX), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["kind"] == "container" and data["fdNumber"] == 1
    report = data["document"]["registrationReport"]
    assert report["userInn"] == "112233445566"
    assert report["fiscalSign"] == "21041c6b81a4"


def test_tlv_decode_whole_message_from_binary_file(tmp_path: Path) -> None:
    raw = bytes.fromhex(V1_HEX.read_text())
    msg = SessionHeader("999907891234567 ", len(raw)).build() + raw
    f = tmp_path / "message.bin"
    f.write_bytes(msg)
    code, out = run("tlv", "decode", str(f))
    assert code == 0
    assert out.startswith("Сообщение ОФД: ФН 999907891234567, P-версия 0105, тело 305 байт")


def test_tlv_decode_plain_fields_with_spaces() -> None:
    code, out = run("tlv", "decode", "1e04 0100 01 fc03 0200 3930")
    assert code == 0
    assert "1054 Признак расчёта: 1" in out and "1020" in out and "12345" in out


def test_tlv_decode_bad_input_says_where_and_why() -> None:
    code, out = run("tlv", "decode", "fc0302003930" + "1e04040095aba5a1")
    assert code == 1
    assert "length must be 1, got 4 (tag path 1054, offset 6)" in out
    assert "^^" in out  # the caret under the bad byte


def test_tlv_decode_refuses_non_hex() -> None:
    code, out = run("tlv", "decode", "not-a-file-nor-hex")
    assert code == 1 and "not hex and not a file" in out
    code, out = run("tlv", "decode", "abc")
    assert code == 1 and "odd number of hex digits" in out


def test_tlv_decode_bad_container_crc() -> None:
    raw = bytearray(bytes.fromhex(V1_HEX.read_text()))
    raw[100] ^= 1
    code, out = run("tlv", "decode", raw.hex())
    assert code == 1
    assert "container CRC EC03h does not match computed" in out


def test_fn_frame_from_fields_matches_the_vector() -> None:
    code, out = run(
        "fn",
        "frame",
        "16",
        "--set",
        "date_time=2024-01-15T10:31",
        "--set",
        "operation=1",
        "--set",
        "total_kop=12345",
    )
    assert code == 0
    assert out.splitlines()[0] == "040c001618010f0a1f0139300000005d62"
    assert "Сформировать чек" in out and "total_kop: 12345" in out


def test_fn_frame_from_hex_and_by_name() -> None:
    assert run("fn", "frame", "21", "01")[1].splitlines()[0] == "04020021015e4c"
    assert run("fn", "frame", "fn_status")[1].splitlines()[0] == "04010030ffcd"


def test_fn_frame_errors() -> None:
    code, out = run("fn", "frame", "21", "01", "--set", "connected=1")
    assert code == 1 and "not both" in out
    code, out = run("fn", "frame", "nonsense")
    assert code == 1 and "unknown command" in out
    code, out = run("fn", "frame", "16", "--set", "total=1")
    assert code == 1 and "unknown fields ['total']" in out


def test_fn_parse_request_and_answers() -> None:
    code, out = run("fn", "parse", "0406001118010f0a1e17ae")
    assert code == 0 and "Начать открытие смены" in out and "2024-01-15 10:30" in out
    wrong_state = build_frame(0x02).hex()
    code, out = run("fn", "parse", wrong_state, "--answer-to", "16")
    assert code == 0 and "код 02h «Неверное состояние ФН»" in out
    code, out = run("fn", "parse", "04010080246a", "--answer-to", "30")
    assert "бит предупреждения" in out


def test_fn_parse_bad_crc() -> None:
    code, out = run("fn", "parse", "04010030ffce")
    assert code == 1 and "bad CRC" in out


def test_demo_runs_one_register_end_to_end() -> None:
    code, out = run("demo", "--one-register")
    assert code == 0, out
    flat = out.replace("\n", " ").replace("│", "")
    assert "парк касс, MQTT и кабинет показывает" in " ".join(flat.split())
    assert "Кассовый чек, возврат прихода" in out
    assert "в накопителе не передано: 0" in out
    assert "отклонил 0" in out
    assert "demo-bad-cash" in out and "наличная оплата невозможна" in " ".join(out.split())
    assert "согласны до байта" in out
