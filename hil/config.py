"""Bench files: which drive sits in which slot, and how to power-cycle it.

    # bench.toml
    [slots.A3]
    port = "/dev/serial/by-path/pci-0000:00:14.0-usb-0:3:1.0-port0"
    power_cycle = "relayctl --board 1 cycle 3"
    allow_fiscal = false   # a production drive: never fiscalise

`oblako hil run --bench bench.toml --slot A3`; options given on the command line win.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


class BenchConfigError(ValueError):
    """The bench file is missing, not TOML, or lacks the slot or its port."""


@dataclass(frozen=True)
class Slot:
    """One drive position on the bench."""

    name: str
    port: str
    power_cycle: str | None = None
    allow_fiscal: bool = False


def load_slot(path: Path, name: str) -> Slot:
    """Read slot `name` from a bench file.

    :raises BenchConfigError: the file, the slot or its port is missing or malformed.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BenchConfigError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise BenchConfigError(f"{path} is not valid TOML: {e}") from e
    slots = data.get("slots")
    if not isinstance(slots, dict) or name not in slots:
        known = ", ".join(sorted(slots)) if isinstance(slots, dict) else "none"
        raise BenchConfigError(f"{path}: no slot {name!r} (slots: {known})")
    slot = slots[name]
    port = slot.get("port") if isinstance(slot, dict) else None
    if not isinstance(port, str) or not port:
        raise BenchConfigError(f"{path}: slot {name!r} needs a port (a pyserial URL)")
    power = slot.get("power_cycle")
    allow = slot.get("allow_fiscal", False)
    if power is not None and not isinstance(power, str):
        raise BenchConfigError(f"{path}: slot {name!r}: power_cycle must be a command string")
    if not isinstance(allow, bool):
        raise BenchConfigError(f"{path}: slot {name!r}: allow_fiscal must be true or false")
    return Slot(name, port, power, allow)
