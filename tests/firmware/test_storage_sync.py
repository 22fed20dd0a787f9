"""FileStorage's barriers on CPython (firmware/storage.py): the directory is synced only when a
name was made or removed since the last barrier; every file with unsynced appends is synced."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware import storage as storage_mod
from firmware.storage import FileStorage


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        seen.append(kind)
        os.fsync(fd)

    monkeypatch.setattr(storage_mod, "_fsync", record)
    yield seen


def test_new_name_then_appends(tmp_path: Path, fsyncs: list[str]) -> None:
    st = FileStorage(str(tmp_path / "flash"))
    st.append("j", b"a")
    st.sync()
    assert fsyncs == ["file", "dir"]  # a new name: its directory entry too
    fsyncs.clear()
    for _ in range(3):
        st.append("j", b"b")
        st.sync()
    assert fsyncs == ["file"] * 3  # appends to a durable name: the file alone
    fsyncs.clear()
    st.sync()
    assert fsyncs == ["file"]  # the open handle (cheap: nothing pending in it)
    st.close()
    assert (tmp_path / "flash" / "j").read_bytes() == b"abbb"


def test_closed_file_still_synced(tmp_path: Path, fsyncs: list[str]) -> None:
    st = FileStorage(str(tmp_path / "flash"))
    st.append("a", b"1")
    st.append("b", b"2")  # closes a's handle with a's append unsynced
    st.sync()
    assert sorted(fsyncs) == ["dir", "file", "file"]  # b (open), a (by path), the directory
    fsyncs.clear()
    st.append("a", b"3")  # reopened: an existing name
    st.append("b", b"4")
    st.sync()
    assert sorted(fsyncs) == ["file", "file"]


def test_remove_and_reopened_storage(tmp_path: Path, fsyncs: list[str]) -> None:
    st = FileStorage(str(tmp_path / "flash"))
    st.append("j", b"x")
    st.sync()
    st.remove("j")
    fsyncs.clear()
    st.sync()
    assert fsyncs == ["dir"]  # the removal lives in the directory
    st.close()
    again = FileStorage(str(tmp_path / "flash"))
    fsyncs.clear()
    again.append("k", b"y")  # a name new to this storage's directory
    again.sync()
    assert fsyncs == ["file", "dir"]
    fsyncs.clear()
    again.close()
    third = FileStorage(str(tmp_path / "flash"))
    third.append("k", b"z")  # existing from before: no directory sync
    third.sync()
    assert fsyncs == ["file"]
