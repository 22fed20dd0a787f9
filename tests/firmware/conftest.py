"""Make `mpsupport` importable by its bare name, as on MicroPython (tools/mprun.mjs puts
it in /lib), so the portable test modules import it the same way under pytest."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
