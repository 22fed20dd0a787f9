"""The firmware's checked-in copy of protocol/portable/ (DESIGN.md decision 2).

The shared rules (receipt schema, validation, VAT by date) are written once, in
protocol/portable/, in the MicroPython subset with relative imports only. The register
cannot import protocol/ (its other modules need construct), so firmware/shared/ holds a
verbatim copy of each module under a two-line header; `oblako gen portable` writes it and
`oblako gen portable --check` (and tests/tools/test_portable_gen.py) fail when it drifts.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "protocol" / "portable"
TARGET = ROOT / "firmware" / "shared"


def header(name: str) -> str:
    """The two comment lines that open the copy of protocol/portable/`name`."""
    return (
        f"# GENERATED from protocol/portable/{name} by `oblako gen portable`; do not edit.\n"
        "# Edit the source and regenerate: `make test` fails when this copy drifts.\n"
    )


def portable_sources() -> dict[str, str]:
    """File name -> text of every module of protocol/portable/."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SOURCE.glob("*.py"))}


def expected_copies() -> dict[str, str]:
    """File name -> the text firmware/shared/ must hold."""
    return {name: header(name) + text for name, text in portable_sources().items()}


def _current() -> dict[str, str]:
    if not TARGET.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(TARGET.glob("*.py"))}


def write_portable() -> bool:
    """Regenerate firmware/shared/ (and drop copies whose source is gone).

    Returns True when anything changed.
    """
    want = expected_copies()
    have = _current()
    if want == have:
        return False
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, text in want.items():
        if have.get(name) != text:
            (TARGET / name).write_text(text, encoding="utf-8")
    for name in have.keys() - want.keys():
        (TARGET / name).unlink()
    return True


def portable_in_sync() -> bool:
    """True when firmware/shared/ is exactly the generated copy of protocol/portable/."""
    return _current() == expected_copies()
