#!/usr/bin/env bash
# Sets up a fresh Debian machine for Oblako: Python venv with the project, npm packages.
# Installs Debian packages only when they are missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: $*"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "setup: please install Debian packages: $*" >&2
        exit 1
    fi
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3-venv
fi
command -v node >/dev/null || apt_install nodejs npm
# the reports' PDF export needs a TrueType font with Cyrillic (fleet/reports/export.py)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing the project and its development tools into .venv"
.venv/bin/python -m pip install -q -e '.[dev]'

# The browser tests (tests/browser) drive Debian's Chromium through Playwright: Playwright's
# own browser download is not used. Without it those tests are skipped.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian's chromium for the browser tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup: /usr/bin/chromium is missing and we are not root: the browser tests" \
            "will be skipped (install it with: sudo apt-get install chromium)" >&2
    fi
fi

echo "setup: installing npm packages (MicroPython 1.27 WebAssembly)"
npm ci --no-audit --no-fund --silent
echo "setup: done"
