"""Running a benchmark's MicroPython half: a script under MicroPython 1.27 (wasm) on Node.

The script prints one line `RESULT <json>`; `run_script` returns the decoded JSON, or None
where Node is missing (the CPython half still runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class MicroPythonBenchError(RuntimeError):
    """The MicroPython half failed or printed no RESULT line."""


def run_script(script: str) -> Any | None:
    """Run bench/<script> with the bench package importable; its RESULT JSON, or None."""
    node = shutil.which("node")
    if node is None:
        return None
    proc = subprocess.run(
        [node, "tools/mprun.mjs", "--run", f"bench/{script}", "--lib", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise MicroPythonBenchError(f"{script} failed under MicroPython:\n{proc.stdout}\n{proc.stderr}")
