"""docs/mqtt/: the published JSON Schemas and examples of the MQTT link (generated).

`oblako gen mqtt-schemas` writes one `<kind>.schema.json` and one `<kind>.example.json` per
message kind from protocol/mqtt; `--check` (run by `make test`) fails when they drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from protocol.mqtt.examples import EXAMPLES
from protocol.mqtt.schemas import schema_for
from protocol.portable import link

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "mqtt"


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def expected() -> dict[str, str]:
    """File name -> text of every generated file."""
    out: dict[str, str] = {}
    for kind in link.KINDS:
        out[f"{kind}.schema.json"] = _dump(schema_for(kind))
        out[f"{kind}.example.json"] = _dump(EXAMPLES[kind])
    return out


def in_sync() -> bool:
    """Whether docs/mqtt/ holds exactly the generated files."""
    have = {p.name: p.read_text(encoding="utf-8") for p in TARGET.glob("*.json")}
    return have == expected()


def write() -> bool:
    """Regenerate docs/mqtt/*.json; True when anything changed."""
    if in_sync():
        return False
    TARGET.mkdir(parents=True, exist_ok=True)
    for stale in TARGET.glob("*.json"):
        stale.unlink()
    for name, text in expected().items():
        (TARGET / name).write_text(text, encoding="utf-8")
    return True
