# firmware/update.py: firmware updates on the register: A/B slots, a trial boot, rollback.
# MIT license; Oblako register runtime.
#
# The flash holds two slot directories, <root>/a and <root>/b, each a complete runtime
# (the .mpy files of a bundle and its manifest.json). The boot record (one file written
# atomically through the storage contract, firmware/storage.py) says which slot is active,
# which one held the previous bundle, and whether a new bundle is on trial:
#
#   stage(spec, status)   the fleet's update command (docs/firmware.md): refused unless the
#                         shift is closed and nothing is unsent or unstored; the bundle is
#                         downloaded into the inactive slot, each file and the whole bundle
#                         checked against their SHA-256; then the record puts it on trial.
#                         A failed download leaves the active slot and the record as they were.
#   boot()                at every start, before importing the runtime: the slot to run. A
#                         bundle on trial is run at most `max_boots` times; a start after that
#                         means it never passed its health check (it crashed, hung or was
#                         reset by the watchdog), so the register rolls back by itself.
#   health(check)         the new runtime's health check after reboot (its files match the
#                         manifest, then the caller's check: the drive answers 30h, the broker
#                         accepted the connection): passed -> the trial bundle becomes active
#                         and the old one stays as `previous`; failed -> rolled back at once.
#
# The bundle (written by `oblako firmware build`, oblako/firmware_build.py):
#   b"OBLAKOFW1 <manifest length>[ <signature>]\n" <manifest JSON> <each file's bytes, in order>
# signature: 128 hex digits, the Ed25519 signature (firmware/ed25519.py) of the manifest JSON's
# bytes by the build key; the manifest holds every file's SHA-256, so it signs the whole bundle.
# A register given the build's public key (`public_key`, its identity's "fw_key") refuses an
# unsigned bundle ("unsigned") and a forged one ("signature") before it writes any file.
# manifest: {"format": 1, "version", "board", "files": [{"path", "size", "sha256"}], ...}.
#
# Portable: MicroPython 1.27 and CPython (the simulated registers run this same code with
# directories in a temporary folder).
import binascii
import hashlib
import json
import os

from firmware import ed25519
from firmware.compat import const
from firmware.errors import RegisterError

TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"OBLAKOFW1"
RECORD = "fwboot"  # the boot record's storage name
SLOTS = ("a", "b")
CHUNK = 1024
MAX_MANIFEST = 16384
MAX_HEAD = 200  # "OBLAKOFW1 16384 " and 128 hex digits of signature, with room
MAX_FILES = 200
_PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/"
_DIR_BIT = 0x4000


class UpdateError(RegisterError):
    """An update refused or failed; `code` is the reason's id, the message is Russian."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def sha256_hex(data: bytes) -> str:
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def path_ok(path: "Any") -> bool:
    """A bundle file path: relative, no '..' or empty parts, plain characters."""
    if not isinstance(path, str) or not path or len(path) > 96 or path[0] == "/":
        return False
    for ch in path:
        if _PATH_CHARS.find(ch) < 0:
            return False
    for part in path.split("/"):
        if not part or part == "." or part == "..":
            return False
    return True


def _is_dir(path: str) -> bool:
    try:
        return (os.stat(path)[0] & _DIR_BIT) != 0
    except OSError:
        return False


def _makedirs(path: str) -> None:
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        cur = cur + part if (not cur or cur.endswith("/")) else cur + "/" + part
        if not _is_dir(cur):
            os.mkdir(cur)


def _remove_tree(path: str) -> None:
    if not _is_dir(path):
        try:
            os.remove(path)
        except OSError:
            pass
        return
    for name in os.listdir(path):
        _remove_tree(path + "/" + name)
    os.rmdir(path)


class DirSlots:
    """The two slot directories under `root` on the real filesystem (VFS on a board)."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/") or "/"
        _makedirs(self.root)

    def path(self, slot: str) -> str:
        return self.root + "/" + slot

    def clear(self, slot: str) -> None:
        _remove_tree(self.path(slot))
        os.mkdir(self.path(slot))

    def open_write(self, slot: str, path: str) -> "Any":
        full = self.path(slot) + "/" + path
        parent = full.rsplit("/", 1)[0]
        _makedirs(parent)
        return open(full, "wb")

    def read(self, slot: str, path: str) -> "bytes | None":
        try:
            with open(self.path(slot) + "/" + path, "rb") as f:
                return f.read()
        except OSError:
            return None


def _read_exact(src: "Any", n: int) -> bytes:
    out = b""
    while len(out) < n:
        part = src.read(min(CHUNK, n - len(out)))
        if not part:
            raise UpdateError("truncated", "Пакет прошивки оборван")
        out += part
    return out


def _check_manifest(m: "Any") -> dict:
    if not isinstance(m, dict) or m.get("format") != 1:
        raise UpdateError("manifest", "Манифест пакета не формата 1")
    version = m.get("version")
    if not isinstance(version, str) or not 0 < len(version) <= 32:
        raise UpdateError("manifest", "В манифесте нет версии (строка до 32 символов)")
    files = m.get("files")
    if not isinstance(files, list) or not 0 < len(files) <= MAX_FILES:
        raise UpdateError("manifest", "В манифесте нет списка файлов")
    seen = {}
    for f in files:
        if not isinstance(f, dict) or not path_ok(f.get("path")) or f["path"] in seen:
            raise UpdateError("manifest", "Недопустимый или повторный путь файла в манифесте")
        seen[f["path"]] = True
        size = f.get("size")
        digest = f.get("sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UpdateError("manifest", "Размер файла " + f["path"] + " не число")
        if not isinstance(digest, str) or len(digest) != 64:
            raise UpdateError("manifest", "SHA-256 файла " + f["path"] + " не 64 цифры")
    return m


class Updater:
    """See the module comment. `storage`: the storage contract (the boot record); `slots`:
    DirSlots; `fetch(url)`: an object with read(n) (the HTTP body) or raises OSError."""

    def __init__(
        self,
        storage: "Any",
        slots: "Any",
        fetch: "Any" = None,
        max_boots: int = 1,
        public_key: "bytes | None" = None,
    ) -> None:
        self.storage = storage
        self.slots = slots
        self.fetch = fetch
        self.max_boots = max_boots
        self.public_key = public_key  # the build's Ed25519 key: only signed bundles install

    # ---- the boot record -------------------------------------------------------------------

    def record(self) -> dict:
        raw = self.storage.read(RECORD)
        if raw:
            try:
                rec = json.loads(raw)
                if isinstance(rec, dict) and rec.get("active") in SLOTS:
                    return rec
            except ValueError:
                pass
        return {"active": "a", "version": "", "previous": None, "trial": None, "last": None}

    def _save(self, rec: dict) -> None:
        self.storage.write(RECORD, json.dumps(rec).encode())

    def install_initial(self, version: str) -> None:
        """The factory state: slot a holds `version` (flashed by `oblako firmware flash`)."""
        rec = self.record()
        rec["version"] = version
        self._save(rec)

    def version(self) -> str:
        """The version the register runs now: the trial one while on trial."""
        rec = self.record()
        trial = rec.get("trial")
        if trial:
            return trial["version"]
        return rec.get("version") or ""

    # ---- the fleet's command ---------------------------------------------------------------

    def ready(self, status: dict) -> list:
        """Why an update may not start now ([] = it may): the shift and the documents."""
        why = []
        if status.get("shift_open"):
            why.append(("shift_open", "Смена открыта: обновление только при закрытой смене"))
        if status.get("unsent"):
            why.append(("unsent", "Есть документы, не переданные в ОФД: %d" % status["unsent"]))
        if status.get("outbox"):
            why.append(("outbox", "Есть документы, не сохранённые парком: %d" % status["outbox"]))
        if self.record().get("trial"):
            why.append(("trial", "Предыдущее обновление ещё не прошло проверку"))
        return why

    def stage(self, spec: dict, status: dict, request_id: str = "") -> dict:
        """Download and check a bundle into the inactive slot and put it on trial; the
        result for the fleet. Raises UpdateError (nothing changed but the inactive slot)."""
        why = self.ready(status)
        if why:
            raise UpdateError(why[0][0], why[0][1])
        version, url, want = spec.get("version"), spec.get("url"), spec.get("sha256")
        if not isinstance(version, str) or not isinstance(url, str) or not isinstance(want, str):
            raise UpdateError("params", "Нужны версия, адрес и SHA-256 пакета")
        rec = self.record()
        if version == rec.get("version"):
            raise UpdateError("same", "Версия " + version + " уже установлена")
        slot = "b" if rec["active"] == "a" else "a"
        if self.fetch is None:
            raise UpdateError("fetch", "Загрузка пакетов не настроена")
        try:
            src = self.fetch(url)
        except OSError as e:
            raise UpdateError("fetch", "Пакет не загружен: " + str(e)[:200])
        self.slots.clear(slot)
        try:
            manifest, digest = self._unpack(src, slot)
        except OSError as e:
            raise UpdateError("fetch", "Пакет не загружен: " + str(e)[:200])
        finally:
            close = getattr(src, "close", None)
            if close is not None:
                close()
        if digest != want.lower():
            raise UpdateError("sha256", "SHA-256 пакета не совпал: " + digest)
        if manifest["version"] != version:
            raise UpdateError("version", "В пакете версия " + manifest["version"])
        rec["trial"] = {
            "slot": slot,
            "version": version,
            "sha256": digest,
            "boots": 0,
            "request": request_id,
        }
        rec["last"] = {"event": "staged", "version": version, "request": request_id}
        self._save(rec)
        return {"status": "done", "staged": version, "slot": slot}

    def _unpack(self, src: "Any", slot: str) -> tuple:
        whole = hashlib.sha256()
        head = b""
        while not head.endswith(b"\n"):
            b = src.read(1)
            if not b or len(head) > MAX_HEAD:
                raise UpdateError("format", "Не пакет прошивки Облако")
            head += b
        whole.update(head)
        parts = head[:-1].split(b" ")
        if not 2 <= len(parts) <= 3 or parts[0] != MAGIC or not parts[1].isdigit():
            raise UpdateError("format", "Не пакет прошивки Облако")
        n = int(parts[1])
        if not 0 < n <= MAX_MANIFEST:
            raise UpdateError("format", "Манифест пакета слишком велик")
        signature = None
        if len(parts) == 3:
            try:
                signature = binascii.unhexlify(parts[2])
            except ValueError:
                signature = b""
            if len(signature) != 64:
                raise UpdateError("format", "Подпись пакета — 128 шестнадцатеричных цифр")
        raw = _read_exact(src, n)
        whole.update(raw)
        if self.public_key is not None:  # checked before any file is written
            if signature is None:
                raise UpdateError("unsigned", "Пакет не подписан: касса ставит только подписанные")
            if not ed25519.verify(self.public_key, raw, signature):
                raise UpdateError("signature", "Подпись пакета неверна: пакет подделан или чужой")
        try:
            manifest = _check_manifest(json.loads(raw))
        except ValueError:
            raise UpdateError("manifest", "Манифест пакета не JSON")
        for f in manifest["files"]:
            h = hashlib.sha256()
            left = f["size"]
            out = self.slots.open_write(slot, f["path"])
            try:
                while left:
                    part = _read_exact(src, min(CHUNK, left))
                    h.update(part)
                    whole.update(part)
                    out.write(part)
                    left -= len(part)
            finally:
                out.close()
            if binascii.hexlify(h.digest()).decode() != f["sha256"]:
                raise UpdateError("file_sha256", "SHA-256 файла " + f["path"] + " не совпал")
        if src.read(1):
            raise UpdateError("format", "После файлов пакета лишние байты")
        digest = binascii.hexlify(whole.digest()).decode()
        manifest["bundle_sha256"] = digest
        manifest["signed"] = signature is not None
        out = self.slots.open_write(slot, "manifest.json")
        out.write(json.dumps(manifest).encode())
        out.close()
        return manifest, digest

    # ---- start-up and the health check -----------------------------------------------------

    def boot(self) -> str:
        """The slot to run now (see the module comment); counts a trial start."""
        rec = self.record()
        trial = rec.get("trial")
        if not trial:
            return rec["active"]
        if trial["boots"] >= self.max_boots:
            self._rollback(rec, "Новая прошивка не прошла проверку после перезагрузки")
            return rec["active"]
        trial["boots"] += 1
        self._save(rec)
        return trial["slot"]

    def verify_slot(self, slot: str) -> list:
        """Files of the slot that do not match its manifest ([] = all match)."""
        raw = self.slots.read(slot, "manifest.json")
        if raw is None:
            return ["manifest.json"]
        try:
            files = json.loads(raw)["files"]
        except (ValueError, KeyError, TypeError):
            return ["manifest.json"]
        bad = []
        for f in files:
            data = self.slots.read(slot, f["path"])
            if data is None or len(data) != f["size"] or sha256_hex(data) != f["sha256"]:
                bad.append(f["path"])
        return bad

    def health(self, check: "Any" = None) -> bool:
        """Run by the new runtime after its reboot; True when it is now the active bundle
        (or nothing was on trial). A failed check rolls back at once."""
        rec = self.record()
        trial = rec.get("trial")
        if not trial:
            return True
        bad = self.verify_slot(trial["slot"])
        reason = ""
        if bad:
            reason = "Файлы новой прошивки повреждены: " + ", ".join(bad[:5])
        elif check is not None:
            try:
                reason = check() or ""
            except Exception as e:  # any failure of the new runtime fails it
                reason = "Проверка упала: " + str(e)[:200]
        if reason:
            self._rollback(rec, reason)
            return False
        rec["previous"] = {"slot": rec["active"], "version": rec.get("version") or ""}
        rec["active"] = trial["slot"]
        rec["version"] = trial["version"]
        rec["trial"] = None
        rec["last"] = {
            "event": "committed",
            "version": trial["version"],
            "request": trial.get("request", ""),
        }
        self._save(rec)
        return True

    def _rollback(self, rec: dict, reason: str) -> None:
        trial = rec["trial"]
        rec["trial"] = None
        rec["last"] = {
            "event": "rolled_back",
            "version": trial["version"],
            "reason": reason,
            "request": trial.get("request", ""),
        }
        self._save(rec)

    # ---- telling the fleet how it ended ----------------------------------------------------

    def final_result(self) -> "tuple | None":
        """(request id, result) of the last update once it was committed or rolled back and
        the fleet has not been told yet; the agent publishes it after connecting (the result
        replaces the "staged" one under the same request id)."""
        last = self.record().get("last")
        if not last or last.get("reported") or not last.get("request"):
            return None
        r = _final(last)
        if r is None:
            return None
        return last["request"], r

    def result_sent(self) -> None:
        rec = self.record()
        if rec.get("last"):
            rec["last"]["reported"] = True
            self._save(rec)


def _final(last: dict) -> "dict | None":
    if last["event"] == "committed":
        return {"status": "done", "update": "committed", "firmware": last["version"]}
    if last["event"] == "rolled_back":
        return {
            "status": "failed",
            "retryable": False,
            "errors": [{"path": "firmware", "code": "rolled_back", "message": last["reason"]}],
        }
    return None


def command(updater: "Updater", params: dict, status: dict, request_id: str = "") -> dict:
    """The `firmware_update` service action with params {"firmware": {version, url, sha256,
    size}}: stage the bundle; the agent reboots after sending the result (docs/firmware.md)."""
    last = updater.record().get("last")
    if request_id and last and last.get("request") == request_id:
        # the same command delivered again: the same answer, nothing done twice
        if last["event"] == "staged":
            return {"status": "done", "staged": last["version"]}
        r = _final(last)
        if r is not None:
            return r
    spec = params.get("firmware")
    if not isinstance(spec, dict):
        return {
            "status": "failed",
            "errors": [{"path": "params.firmware", "code": "type", "message": "Нужен объект"}],
        }
    try:
        return updater.stage(spec, status, request_id)
    except UpdateError as e:
        return {
            "status": "failed",
            "retryable": e.code in ("shift_open", "unsent", "outbox", "fetch"),
            "errors": [{"path": "params.firmware", "code": e.code, "message": e.message}],
        }
