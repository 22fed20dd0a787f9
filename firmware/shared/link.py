# GENERATED from protocol/portable/link.py by `oblako gen portable`; do not edit.
# Edit the source and regenerate: `make test` fails when this copy drifts.
# protocol/portable/link.py: the MQTT link between a register and the fleet, in the
# MicroPython subset: the topic tree, payload limits, and the checks a register runs on what
# the fleet sends it (commands, storage acknowledgements, desired state).
#
# The fleet checks what registers send with the JSON Schemas of protocol/mqtt/schemas.py
# (published as docs/mqtt/*.schema.json); tests/protocol/test_link.py proves that these
# checks accept exactly what those schemas accept for the fleet-to-register kinds.
#
# Topics: <root>/v<VERSION>/reg/<serial>/<kind>. The root may have several levels (tests use
# a unique root per run); the version is in the topic so a v2 fleet can run beside v1
# registers, and in every payload ("v") so a message never changes meaning when relayed.

TYPE_CHECKING = False
if TYPE_CHECKING:  # mypy only: MicroPython has no typing module
    from typing import Any

    Errors = list[tuple[str, str, str]]  # (path, code, message)

VERSION = 1
ROOT = "oblako"

# register -> fleet
PRESENCE = "presence"  # retained; the last will says "offline"
STATE = "state"  # the reported half of the device shadow
DOC = "doc"  # a fiscal document the drive made
OFD = "ofd"  # the OFD's answer to one document
ACK = "ack"  # a command was taken (or refused) before any work
RESULT = "result"  # what a command did
# fleet -> register
CMD = "cmd"
STORED = "stored"  # the fleet committed documents up to a watermark: the outbox may forget
DESIRED = "desired"  # retained; the desired half of the shadow

UP = (PRESENCE, STATE, DOC, OFD, ACK, RESULT)
DOWN = (CMD, STORED, DESIRED)
KINDS = UP + DOWN

# Limits on payload size, bytes of UTF-8 JSON. A fiscal document's TLV is at most 32 KB
# (FN buffer, fiscal-protocols.md §1.6); base64 makes it 4/3 of that plus the envelope.
MAX_PAYLOAD = {
    PRESENCE: 1024,
    STATE: 4096,
    DOC: 48 * 1024,
    OFD: 1024,
    ACK: 4096,
    RESULT: 16 * 1024,
    CMD: 48 * 1024,
    STORED: 2048,
    DESIRED: 4096,
}

# A command's time to live is at most 7 days: the register's journal keeps a request id at
# least that long, so a command delivered twice within its life is recognised.
MAX_TTL = 7 * 24 * 3600
MAX_GAPS = 32  # ranges of missing FD numbers in one storage acknowledgement
# FD numbers whose OFD answer the fleet stored, in one storage acknowledgement: the register
# keeps each answer on flash and sends it again until it is named here (firmware/ofdanswers.py)
MAX_OFD_ACKS = 64

# Actions a command may ask. Document actions carry the runtime's request (register.py
# KINDS); the others are service actions with small parameters.
DOCUMENT_ACTIONS = (
    "receipt",
    "correction",
    "open_shift",
    "close_shift",
    "report",
    "registration",
    "reregistration",
    "close_fiscal_mode",
)
SERVICE_ACTIONS = (
    "x_report",
    "ofd_exchange",
    "sync_time",
    "reboot",
    "read_archive",
    "firmware_update",  # params {"firmware": {version, url, sha256, size}}: docs/firmware.md
)
MAX_BUNDLE = 16 * 1024 * 1024  # a firmware bundle's size limit (the board's flash)
ACTIONS = DOCUMENT_ACTIONS + SERVICE_ACTIONS

_SERIAL_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
MAX_SERIAL = 32
MAX_ID = 64
MAX_INT = (1 << 53) - 1  # JSON numbers both sides agree on


def serial_ok(serial: "Any") -> bool:
    """A register serial usable as one topic level: 1..32 of [0-9A-Za-z_-]."""
    if not isinstance(serial, str) or not 0 < len(serial) <= MAX_SERIAL:
        return False
    return all(_SERIAL_CHARS.find(ch) >= 0 for ch in serial)


def root_ok(root: "Any") -> bool:
    """A topic root: non-empty levels without wildcards, not starting with '$'."""
    if not isinstance(root, str) or not root or root[0] == "$" or len(root) > 128:
        return False
    return all(level and "+" not in level and "#" not in level for level in root.split("/"))


def topic(root: str, serial: str, kind: str) -> str:
    """The topic of `kind` for register `serial` (the caller checked root and serial)."""
    return root + "/v" + str(VERSION) + "/reg/" + serial + "/" + kind


def subscription(root: str, kind: str, serial: str = "+") -> str:
    """A topic filter: one register's `kind`, or every register's with serial '+'."""
    return topic(root, serial, kind)


def parse_topic(root: str, name: str) -> "tuple[str, str, str]":
    """(serial, kind, "") for a topic of this contract, else ("", "", reason in Russian)."""
    prefix = root + "/"
    if not name.startswith(prefix):
        return "", "", "Топик не из дерева " + root
    parts = name[len(prefix) :].split("/")
    if len(parts) != 4 or parts[1] != "reg":
        return "", "", "Топик не по схеме <корень>/v<версия>/reg/<серийный номер>/<вид>"
    version, _, serial, kind = parts
    if version != "v" + str(VERSION):
        why = "Версия протокола " + version[:20] + " не поддерживается"
        return "", "", why + " (поддерживается v" + str(VERSION) + ")"
    if not serial_ok(serial):
        return "", "", "Недопустимый серийный номер в топике: " + serial[:40]
    if kind not in KINDS:
        return "", "", "Неизвестный вид сообщения: " + kind[:40]
    return serial, kind, ""


# ---- checks of fleet -> register payloads -------------------------------------------------


def _e(errors: "Errors", path: str, code: str, message: str) -> None:
    errors.append((path, code, message))


def _int(value: "Any") -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(
    errors: "Errors", obj: "dict[str, Any]", key: str, lo: int, hi: int, required: bool
) -> None:
    if key not in obj:
        if required:
            _e(errors, key, "required", "Обязательное поле")
        return
    value = obj[key]
    if not _int(value):
        _e(errors, key, "type", "Нужно целое число")
    elif value < lo or value > hi:
        _e(errors, key, "range", "Допустимо от " + str(lo) + " до " + str(hi))


def _fn_ok(value: "Any") -> bool:
    return isinstance(value, str) and len(value) == 16 and value.isdigit()


def _version(errors: "Errors", obj: "Any") -> bool:
    """Checks the envelope: a JSON object with v == VERSION. False stops further checks."""
    if not isinstance(obj, dict):
        _e(errors, "", "type", "Сообщение — JSON-объект")
        return False
    if "v" not in obj:
        _e(errors, "v", "required", "Нет версии сообщения (поле v)")
        return False
    if not _int(obj["v"]) or obj["v"] != VERSION:
        _e(
            errors,
            "v",
            "version",
            "Версия сообщения "
            + str(obj["v"])[:20]
            + " не поддерживается: касса понимает версию "
            + str(VERSION),
        )
        return False
    return True


def _unknown(errors: "Errors", obj: "dict[str, Any]", allowed: "tuple[str, ...]") -> None:
    for key in obj:
        if key not in allowed:
            _e(errors, str(key)[:40], "unknown", "Неизвестное поле")


def _unknown_at(
    errors: "Errors", path: str, obj: "dict[str, Any]", allowed: "tuple[str, ...]"
) -> None:
    for key in obj:
        if key not in allowed:
            _e(errors, path + "." + str(key)[:40], "unknown", "Неизвестное поле")


def check_cmd(obj: "Any") -> "Errors":
    """Problems of a command (empty when it is good); never raises."""
    errors: Errors = []
    if not _version(errors, obj):
        return errors
    _unknown(errors, obj, ("v", "id", "ttl", "issued_at", "action", "request", "params"))
    rid = obj.get("id")
    if "id" not in obj:
        _e(errors, "id", "required", "Обязательное поле")
    elif not isinstance(rid, str) or not 0 < len(rid) <= MAX_ID or not _printable(rid):
        _e(errors, "id", "format", "Идентификатор — 1..64 печатных символа ASCII")
    _int_in(errors, obj, "ttl", 1, MAX_TTL, True)
    _int_in(errors, obj, "issued_at", 0, MAX_INT, True)
    action = obj.get("action")
    if "action" not in obj:
        _e(errors, "action", "required", "Обязательное поле")
    elif action not in ACTIONS:
        _e(errors, "action", "enum", "Действие: " + ", ".join(ACTIONS))
    elif action in DOCUMENT_ACTIONS:
        if not isinstance(obj.get("request"), dict):
            _e(errors, "request", "required", "Документу нужен запрос (объект request)")
        if "params" in obj:
            _e(errors, "params", "unknown", "Параметры — только у служебных действий")
    else:
        if "request" in obj:
            _e(errors, "request", "unknown", "Запрос — только у действий-документов")
        if "params" in obj and not isinstance(obj["params"], dict):
            _e(errors, "params", "type", "Параметры — JSON-объект")
        elif action == "firmware_update":
            _check_firmware(errors, (obj.get("params") or {}).get("firmware"))
    return errors


def _check_firmware(errors: "Errors", fw: "Any") -> None:
    # what a register needs to fetch and check a bundle before it reboots into it
    if not isinstance(fw, dict):
        _e(errors, "params.firmware", "required", "Обновлению нужен объект firmware")
        return
    _unknown_at(errors, "params.firmware", fw, ("version", "url", "sha256", "size"))
    version = fw.get("version")
    if not isinstance(version, str) or not 0 < len(version) <= 32 or not _printable(version):
        _e(errors, "params.firmware.version", "format", "Версия — 1..32 печатных символа")
    url = fw.get("url")
    if (
        not isinstance(url, str)
        or len(url) > 512
        or not (url[:7] == "http://" or url[:8] == "https://")
        or not _printable(url)
    ):
        _e(errors, "params.firmware.url", "format", "Адрес сборки — http(s)://, до 512 символов")
    digest = fw.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64 or not _hex(digest):
        _e(errors, "params.firmware.sha256", "format", "SHA-256 — 64 шестнадцатеричные цифры")
    if "size" in fw and (not _int(fw["size"]) or not 0 < fw["size"] <= MAX_BUNDLE):
        _e(errors, "params.firmware.size", "range", "Размер сборки — от 1 байта до 16 МиБ")


def _printable(s: str) -> bool:
    for ch in s:
        o = ord(ch)
        if o < 0x21 or o > 0x7E or ch == '"' or ch == "\\":
            return False
    return True


def check_stored(obj: "Any") -> "Errors":
    """Problems of a storage acknowledgement; never raises."""
    errors: Errors = []
    if not _version(errors, obj):
        return errors
    _unknown(errors, obj, ("v", "fn", "through", "missing", "ofd"))
    if "fn" not in obj:
        _e(errors, "fn", "required", "Обязательное поле")
    elif not _fn_ok(obj["fn"]):
        _e(errors, "fn", "format", "Номер ФН — 16 цифр")
    _int_in(errors, obj, "through", 0, 0xFFFFFFFF, True)
    if "missing" in obj:
        gaps = obj["missing"]
        if not isinstance(gaps, list) or len(gaps) > MAX_GAPS:
            _e(errors, "missing", "type", "Пропуски — список до " + str(MAX_GAPS) + " диапазонов")
        else:
            for i, gap in enumerate(gaps):
                path = "missing[" + str(i) + "]"
                if (
                    not isinstance(gap, list)
                    or len(gap) != 2
                    or not _int(gap[0])
                    or not _int(gap[1])
                    or not 1 <= gap[0] <= gap[1] <= 0xFFFFFFFF
                ):
                    _e(errors, path, "range", "Диапазон — [первый, последний] номера ФД")
    if "ofd" in obj:
        fds = obj["ofd"]
        if not isinstance(fds, list) or len(fds) > MAX_OFD_ACKS:
            _e(errors, "ofd", "type", "Ответы ОФД — список до " + str(MAX_OFD_ACKS) + " номеров ФД")
        else:
            for i, fd in enumerate(fds):
                if not _int(fd) or not 1 <= fd <= 0xFFFFFFFF:
                    _e(errors, "ofd[" + str(i) + "]", "range", "Номер ФД — от 1 до 4294967295")
    return errors


def check_desired(obj: "Any") -> "Errors":
    """Problems of the desired state; never raises."""
    errors: Errors = []
    if not _version(errors, obj):
        return errors
    _unknown(
        errors,
        obj,
        ("v", "seq", "ofd_host", "ofd_port", "max_clock_drift_s", "auto_close_shift", "firmware"),
    )
    _int_in(errors, obj, "seq", 0, MAX_INT, True)
    if "ofd_host" in obj:
        host = obj["ofd_host"]
        if not isinstance(host, str) or not 0 < len(host) <= 253 or not _printable(host):
            _e(errors, "ofd_host", "format", "Адрес ОФД — имя или IP-адрес")
    _int_in(errors, obj, "ofd_port", 1, 65535, False)
    _int_in(errors, obj, "max_clock_drift_s", 1, 3600, False)
    if "auto_close_shift" in obj and not isinstance(obj["auto_close_shift"], bool):
        _e(errors, "auto_close_shift", "type", "Нужно true или false")
    if "firmware" in obj:
        fw = obj["firmware"]
        if not isinstance(fw, dict):
            _e(errors, "firmware", "type", "Прошивка — JSON-объект")
        else:
            _unknown(errors, fw, ("version", "url", "sha256"))
            for key in ("version", "url", "sha256"):
                value = fw.get(key)
                if key not in fw:
                    _e(errors, "firmware." + key, "required", "Обязательное поле")
                elif not isinstance(value, str) or not 0 < len(value) <= 512:
                    _e(errors, "firmware." + key, "format", "Нужна строка до 512 символов")
            sha = fw.get("sha256")
            if isinstance(sha, str) and (len(sha) != 64 or not _hex(sha)):
                _e(errors, "firmware.sha256", "format", "SHA-256 — 64 шестнадцатеричные цифры")
    return errors


def _hex(s: str) -> bool:
    return all("0123456789abcdef".find(ch) >= 0 for ch in s)


CHECKS = {CMD: check_cmd, STORED: check_stored, DESIRED: check_desired}
