"""firmware/shared/ is the generated copy of protocol/portable/, and both stay portable.

DESIGN.md decision 2: the shared rules are written once; the register's copy is generated
and this test fails when it drifts, or when a portable module reaches for anything but its
siblings (MicroPython has no construct, typing or datetime).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from oblako import portable_gen
from oblako.portable_gen import SOURCE, TARGET, expected_copies, portable_in_sync, write_portable

#: What a portable module may import inside `if TYPE_CHECKING:` (mypy reads it, the
#: board never runs it).
TYPE_CHECKING_ONLY = {"typing", "collections.abc"}
#: Names MicroPython lacks (or where it differs) that must not appear as attributes.
BANNED_ATTRIBUTES = {"bit_length", "ljust", "rjust", "isalnum", "isascii", "casefold"}

MODULES = sorted(SOURCE.glob("*.py"))


def test_firmware_copy_is_in_sync() -> None:
    assert portable_in_sync(), "firmware/shared is stale: run `oblako gen portable`"
    assert sorted(p.name for p in TARGET.glob("*.py")) == [p.name for p in MODULES]


def test_copies_are_verbatim_under_a_two_line_header() -> None:
    for src in MODULES:
        copy = (TARGET / src.name).read_text(encoding="utf-8").split("\n")
        assert copy[0] == (
            f"# GENERATED from protocol/portable/{src.name} by `oblako gen portable`; do not edit."
        )
        assert copy[1].startswith("# ")
        assert "\n".join(copy[2:]) == src.read_text(encoding="utf-8")


def test_write_portable_creates_updates_and_prunes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "portable"
    dst = tmp_path / "shared"
    src.mkdir()
    (src / "__init__.py").write_text("")
    (src / "a.py").write_text("A = 1\n")
    monkeypatch.setattr(portable_gen, "SOURCE", src)
    monkeypatch.setattr(portable_gen, "TARGET", dst)
    assert not portable_gen.portable_in_sync()
    assert portable_gen.write_portable() is True
    assert portable_gen.portable_in_sync()
    assert portable_gen.write_portable() is False
    assert (dst / "a.py").read_text() == portable_gen.header("a.py") + "A = 1\n"
    (dst / "a.py").write_text("A = 2\n")  # a hand edit is drift
    (dst / "stale.py").write_text("")  # so is a copy without a source
    assert not portable_gen.portable_in_sync()
    assert portable_gen.write_portable() is True
    assert sorted(p.name for p in dst.iterdir()) == ["__init__.py", "a.py"]
    assert portable_gen.portable_in_sync()


def test_expected_copies_cover_every_module() -> None:
    assert set(expected_copies()) == {p.name for p in MODULES}
    assert "receipt.py" in expected_copies()
    assert write_portable.__doc__ and portable_in_sync.__doc__


def _type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_portable_module_imports_only_its_siblings(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    siblings = {p.stem for p in MODULES}
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if _type_checking_block(node):
            assert isinstance(node, ast.If)
            for sub in node.body:
                for inner in ast.walk(sub):
                    guarded.add(id(inner))
                    if isinstance(inner, ast.Import):
                        names = {a.name for a in inner.names}
                        assert names <= TYPE_CHECKING_ONLY, (path.name, names)
                    if isinstance(inner, ast.ImportFrom):
                        assert inner.module in TYPE_CHECKING_ONLY, (path.name, inner.module)
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            pytest.fail(f"{path.name}:{node.lineno}: absolute import {node.names[0].name}")
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1 and node.module is None, (
                f"{path.name}:{node.lineno}: only `from . import sibling` is allowed"
            )
            for alias in node.names:
                assert alias.name in siblings, f"{path.name}: {alias.name} is not a sibling"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_portable_module_stays_in_the_micropython_subset(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, str(path))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Assert), f"{path.name}:{node.lineno}: assert on data"
        if isinstance(node, ast.Attribute):
            assert node.attr not in BANNED_ATTRIBUTES, f"{path.name}:{node.lineno}: {node.attr}"
        if isinstance(node, ast.Raise):
            pytest.fail(f"{path.name}:{node.lineno}: the shared rules never raise")
    if any(_type_checking_block(n) for n in ast.walk(tree)):
        defined = [
            n
            for n in tree.body
            if isinstance(n, ast.Assign)
            and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["TYPE_CHECKING"]
            and isinstance(n.value, ast.Constant)
            and n.value.value is False
        ]
        assert defined, f"{path.name}: define TYPE_CHECKING = False; never import typing"
    # MicroPython cannot concatenate an f-string with an adjacent literal.
    previous: tokenize.TokenInfo | None = None
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in skip:
            continue
        if previous is not None and tok.type == previous.type == tokenize.STRING:
            prefixes = (previous.string[:2].lower(), tok.string[:2].lower())
            assert not any("f" in p.split('"')[0].split("'")[0] for p in prefixes), (
                f"{path.name}:{tok.start[0]}: implicit concatenation with an f-string"
            )
        previous = tok
