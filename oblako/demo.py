"""`make demo` until the register runtime and fleet exist: the codecs on real bytes.

It says so honestly: what it shows is the foundation (issue 2), decoded from the public
vectors shipped in protocol/vectors with both codecs, which must agree to the byte.
"""

from __future__ import annotations

import json
from importlib import resources

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bench.codec import to_firmware
from firmware import tlv as fw
from firmware.framing import Framer
from protocol.fn.commands import as_dict, get_command, parse_request
from protocol.ofd import parse_container
from protocol.tree import render


def _vector(name: str) -> str:
    return resources.files("protocol").joinpath("vectors", name).read_text()


def run_demo() -> None:
    """Print the drive frames and the real OFD container, decoded by both codecs."""
    console = Console()
    console.print(
        Panel(
            "Oblako, облачная касса по 54-ФЗ. Пока готов фундамент: форматы обмена с ФН, "
            "TLV ФФД и контейнеры ОФД в двух кодеках (спецификация на construct и кодек "
            "прошивки для MicroPython).\nДемо расшифровывает настоящие байты из открытых "
            "тестовых векторов; регистраторов, парка и кабинета ещё нет.",
            title="make demo",
        )
    )
    frames = json.loads(_vector("fn_frames.json"))["frames"]
    stream = b"".join(bytes.fromhex(f["hex"]) for f in frames)
    framer = Framer()
    found = []
    for i in range(0, len(stream), 7):  # as a UART delivers them: in arbitrary pieces
        found += framer.feed(stream[i : i + 7])
    table = Table(title=f"Кадры обмена с ФН: {len(found)} из потока в {len(stream)} байт")
    for col in ("кадр", "код", "команда / ответ", "данные"):
        table.add_column(col)
    for f, (code, data) in zip(frames, found, strict=True):
        if f["dir"] == "request":
            cmd = get_command(code)
            fields = as_dict(parse_request(code, data)) if cmd.request else {}
            detail = ", ".join(f"{k}={v}" for k, v in fields.items()) or "—"
            table.add_row(f["hex"], f"{code:02X}h", cmd.name_ru, detail)
        else:
            warn = " + предупреждение" if code & 0x80 else ""
            table.add_row(f["hex"], f"{code:02X}h", f"ответ: успешно{warn}", data.hex() or "—")
    console.print(table)

    raw = bytes.fromhex(_vector("v1_container_registration.hex").strip())
    c = parse_container(raw)
    body = raw[32 : len(raw) - len(c.trailer)]
    agree = to_firmware(c.document) == fw.decode(body) and fw.encode(fw.decode(body)) == body
    console.print(
        Panel(
            render(c.document),
            title=f"Контейнер ОФД: ФН {c.fn_number}, ФД {c.fd_number}, CRC верна",
            subtitle=f"кодеки {'согласны до байта' if agree else 'РАСХОДЯТСЯ'}",
        )
    )
    console.print(
        "Дальше: `oblako tlv decode`, `oblako fn frame`, `oblako fn parse`, "
        "`oblako bench codec` (см. README)."
    )
