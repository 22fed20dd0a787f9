# firmware/agent.py: the register on the MQTT link: commands in, documents and state out.
# MIT license; Oblako register runtime.
#
# Agent(register, client, outbox, root, serial) joins the runtime (firmware/register.py), an
# MQTT client (firmware/mqtt.py, or the paho one on CPython) and the outbox
# (firmware/outbox.py) under the contract of firmware/shared/link.py (docs/mqtt.md):
#
#   cmd      checked (link.check_cmd); expired (issued_at + ttl in the past, by a trusted
#            clock) -> ack "expired"; seen before (the journal has its id) -> ack "duplicate"
#            and the journalled result again; else ack "accepted", then the work and its
#            result. The handler returns before the client sends PUBACK, so the journal
#            holds the request before the broker forgets it: a command delivered twice is
#            harmless (DESIGN decision 4).
#   stored   the fleet's watermark moves the outbox and releases the journal (ack_upto);
#            gaps are sent again from the drive's archive.
#   desired  a newer seq is applied (the OFD endpoint) and kept; the state reports its
#            desired_seq, so the fleet knows it took effect.
#   out      presence (retained; the last will says offline), state on change and every
#            state_every_s, one `doc` per document from the outbox, `ofd` per OFD answer,
#            kept on flash and sent again until the fleet's `stored` names it
#            (firmware/ofdanswers.py).
#
# step(timeout_s) does one round; run() loops, waiting in the client until a message arrives
# or the next duty is due (next_wait: the service period, the periodic state), not on a fixed
# short poll: an idle register wakes once a service period. The drive's status is read again
# only when something may have changed it (a command, a document the service made, an OFD
# answer while a warning is set, an error) and before the periodic state. The `doc` event of a
# document the register has just made comes from its image (firmware/docimage.py), not from
# 45h/46h archive reads; gap refills and documents from before a start are read back.
# Everything is on the injected clock.
import binascii
import json

from firmware import docimage, update
from firmware.clock import unix_from_local
from firmware.compat import const
from firmware.errors import MqttError, RegisterError
from firmware.ofdanswers import OfdAnswers
from firmware.shared import link

TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from typing import Any

_RESULT_KEYS = (
    "kind", "fn", "fd", "fp", "shift", "number", "date_time", "recovered", "retryable",
    "errors", "qr", "total",
)  # fmt: skip
_DOC_TYPE_MASK = 0x7F
_FISCAL_MODE = const(3)  # the drive's life phase "fiscal mode" (30h byte 0)
# drive.memory_used_pct: 3Dh is asked again after this many documents (or a shift's close),
# never per receipt — the forecast fits a daily figure, and each exchange costs the drive's time
MEMORY_EVERY = const(50)


def will(root: str, serial: str) -> tuple:
    """The last will for MqttClient(will=...): retained "offline" presence."""
    return (
        link.topic(root, serial, link.PRESENCE),
        b'{"v":1,"status":"offline","reason":"lost"}',
        1,
        True,
    )


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Agent:
    """See the module comment."""

    def __init__(
        self,
        register: "Any",
        client: "Any",
        outbox: "Any",
        root: str,
        serial: str,
        firmware_version: str = "",
        state_every_s: float = 60.0,
        service_every_s: float = 1.0,
        answers: "Any" = None,
        updater: "Any" = None,
    ) -> None:
        self.reg = register
        self.client = client
        self.outbox = outbox
        if answers is None:
            answers = OfdAnswers(outbox.storage, register.clock)
        self.answers = answers
        self.root = root
        self.serial = serial
        self.firmware_version = firmware_version
        self.state_every_s = state_every_s
        self.service_every_s = service_every_s
        self.clock = register.clock
        self.desired = None  # type: dict | None
        self.reboot_requested = False
        self.updater = updater  # firmware/update.py Updater: the `reboot` into a new bundle
        self.bad_messages = 0
        self._connects = -1
        self._state_at = -1e9
        self._service_at = -1e9
        self._state_dirty = True
        self._st = None  # type: dict | None
        self._valid = None  # type: tuple | None  # (fn, "YYYY-MM-DD" | None) of 32h
        self._memory = None  # type: tuple | None  # (fn, last_fd, pct) of 3Dh
        self._recovered = False
        if getattr(register, "images", 0) is None:
            # the `doc` event from the document just made, not 45h + a 46h per TLV
            register.images = docimage.Images()
        client.on_message = self._on_message
        for kind in link.DOWN:
            client.subscribe(link.topic(root, serial, kind), 1)

    # ---- publishing ------------------------------------------------------------------------

    def _publish(self, kind: str, payload: dict, retain: bool = False) -> None:
        payload["v"] = link.VERSION
        try:
            self.client.publish(
                link.topic(self.root, self.serial, kind), _dumps(payload), 1, retain
            )
        except MqttError:
            pass  # the in-flight window is full: the outbox and the next state try again

    def _now(self) -> int:
        return int(self.clock.wall())

    def _drive_status(self) -> dict:
        if self._st is None:
            self._st = self.reg.drive.status()
        return self._st

    def _expires(self, fn: str, phase: int) -> str | None:
        # The state schema's drive.expires: 32h's key validity end, asked once per drive in
        # fiscal mode (phase 3; the date is set at fiscalisation) — the fleet's drive forecast,
        # alarms and fines control (K05: the drive's term) read it.
        if phase != _FISCAL_MODE:
            return None
        if self._valid is None or self._valid[0] != fn:
            try:
                t = self.reg.drive.validity()["valid_until"]
                self._valid = (fn, "%04d-%02d-%02d" % (t[0], t[1], t[2]))
            except RegisterError:
                return None  # asked again with the next state
        return self._valid[1]

    def _memory_used(self, fn: str, phase: int, last_fd: int, shift_open: bool) -> int | None:
        # The state schema's drive.memory_used_pct: the archive's fill from 3Dh (documents
        # left) and the last FD (the archive holds FD 1..last_fd), read once per drive, then
        # again after MEMORY_EVERY documents, or with the shift closed once the drive has new
        # documents (the shift's close report; outside a shift documents are few).
        if phase != _FISCAL_MODE:
            return None
        m = self._memory
        if m is not None and m[0] == fn:
            if last_fd - m[1] < MEMORY_EVERY and (shift_open or last_fd == m[1]):
                return m[2]
        try:
            left = self.reg.drive.free_resource()["archive_docs_left"]
        except RegisterError:
            return m[2] if m is not None and m[0] == fn else None  # asked again next state
        total = last_fd + left
        pct = min(100, (200 * last_fd + total) // (2 * total)) if total else 0
        self._memory = (fn, last_fd, pct)
        return pct

    def publish_state(self) -> None:
        """The reported shadow (link.STATE)."""
        st = self._drive_status()
        rs = self.reg.status()
        shift = rs["shift"]
        fn = st["fn_number"]
        self.outbox.use_drive(fn)
        drive = {
            "fn": fn,
            "phase": st["phase"],
            "warnings": st["warnings"],
            "last_fd": st["last_fd"],
        }
        expires = self._expires(fn, st["phase"])
        if expires is not None:
            drive["expires"] = expires
        used = self._memory_used(fn, st["phase"], st["last_fd"], bool(shift["open"]))
        if used is not None:
            drive["memory_used_pct"] = used
        ofd = rs.get("ofd")
        if isinstance(ofd, dict) and "unsent" in ofd:
            drive["unsent"] = ofd["unsent"] or 0
        counters = rs.get("counters") or {}
        state = {
            "seq": self.outbox.next_seq(),
            "at": self._now(),
            "clock": self._now(),
            "clock_trusted": bool(rs["time_trusted"]),
            "drive": drive,
            "shift": {"open": bool(shift["open"]), "number": shift["number"] or 0},
            "outbox": self.outbox.pending(st["last_fd"]),
        }
        if isinstance(counters, dict) and isinstance(counters.get("receipts"), int):
            state["shift"]["receipts"] = counters["receipts"]
        if self.firmware_version:
            state["firmware"] = self.firmware_version
        if self.desired is not None:
            state["desired_seq"] = self.desired["seq"]
        self._publish(link.STATE, state)
        self._state_at = self.clock.monotonic()
        self._state_dirty = False

    def _document(self, fd: int) -> dict | None:
        # From the image the register kept of a document it has just made (docimage.py),
        # once the archive agreed with the first image of its type; else, and for gap
        # refills and documents from before a start, from the drive's archive (40h, 45h/46h).
        images = self.reg.images
        img = images.take(fd) if images is not None else None
        if img is not None and img.fn != self.outbox.fn:
            img = None
        if img is not None and images.trusted(img):
            images.used += 1
            return self._event(fd, img.fp, img.doc_type, img.at, img.tlv, img)
        out = self._archived(fd)
        if img is not None and images.verdict.get(img.doc_type) is None:
            mine = self._event(fd, img.fp, img.doc_type, img.at, img.tlv, img)
            images.check(img, mine == out)
        return out

    def _archived(self, fd: int) -> dict | None:
        drive = self.reg.drive
        found = drive.find_document(fd)
        rec = found["record"]
        if rec is None:
            return None
        doc = drive.read_document(fd)
        return self._event(fd, rec["fp"], found["document_type"], rec["date_time"], doc["tlv"], rec)

    def _event(self, fd: int, fp: int, doc_type: int, at: tuple, tlv: bytes, rec: "Any") -> dict:
        out = {
            "fn": self.outbox.fn,
            "fd": fd,
            "fs": str(fp),
            "type": doc_type & _DOC_TYPE_MASK,
            "at": unix_from_local(at, self.reg.drive.utc_offset_min),
            "tlv": binascii.b2a_base64(tlv).decode().strip(),
        }
        if isinstance(rec, dict):
            if "shift_number" in rec:
                out["shift"] = rec["shift_number"]
            if "operation" in rec:
                out["operation"] = rec["operation"]
                out["total"] = rec["total_kop"]
        elif rec.doc_type == 2 or rec.doc_type == 5:
            out["shift"] = rec.shift
        elif rec.operation is not None:
            out["operation"] = rec.operation
            out["total"] = rec.total
        return out

    def publish_documents(self, last: int | None = None) -> int:
        """Send what the outbox says is due, up to FD `last` (default: the drive's last FD,
        30h); the number sent."""
        if last is None:
            last = self._drive_status()["last_fd"]
        n = 0
        for fd in self.outbox.due(last):
            try:
                doc = self._document(fd)
            except RegisterError:
                self._st = None
                break  # the drive is busy or away: the next round tries again
            if doc is not None:
                self._publish(link.DOC, doc)
            self.outbox.sent(fd)
            n += 1
        return n

    def _result(self, cmd_id: str, action: str, r: dict) -> None:
        out = {"id": cmd_id, "status": r.get("status", "done"), "at": self._now()}
        if action in link.ACTIONS:
            out["action"] = action
        data = {}
        for k in r:
            if k == "fp":
                out[k] = str(r[k])  # the contract's fiscal sign is a string of digits
            elif k in _RESULT_KEYS:
                out[k] = r[k]
            elif k not in ("id", "status"):
                data[k] = r[k]
        if data:
            out["data"] = data
        self._publish(link.RESULT, out)

    # ---- receiving -------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        serial, kind, why = link.parse_topic(self.root, topic)
        if why or serial != self.serial:
            self.bad_messages += 1
            return
        try:
            obj = json.loads(payload)
        except ValueError:
            self.bad_messages += 1
            return
        errors = link.CHECKS[kind](obj)
        if kind == link.CMD:
            self._command(obj, errors)
        elif errors:
            self.bad_messages += 1
        elif kind == link.STORED:
            self.answers.stored(obj["fn"], obj.get("ofd", []))
            if obj.get("missing"):
                # also the fleet's nudge after it subscribed again (fleet/link/ingest.py
                # pending_drives): what we published while it was away may be lost, so the
                # state and the unacknowledged OFD answers go again now, not in 30-60 s
                self.answers.resend_now()
                self._state_dirty = True
            if self.outbox.stored(obj["fn"], obj["through"], obj.get("missing", [])):
                self.reg.ack_upto(obj["through"])
                self._state_dirty = True
        elif kind == link.DESIRED:
            if self.desired is None or obj["seq"] > self.desired["seq"]:
                self._apply_desired(obj)
                self.desired = obj
                self._state_dirty = True

    def _apply_desired(self, obj: dict) -> None:
        # What the runtime changes live (docs/mqtt.md `desired`): the OFD endpoint, used from
        # the next connection (OfdClient.set_endpoint). The clock drift limit,
        # automatic shift close and the firmware are kept in self.desired for what reads them;
        # the firmware itself comes by the rollout's `firmware_update` command.
        ofd = self.reg.ofd
        if ofd is not None:
            ofd.set_endpoint(obj.get("ofd_host", ofd.host), obj.get("ofd_port", ofd.port))

    def _ack(self, cmd_id: str, status: str, errors: list | None = None) -> None:
        out = {"id": cmd_id, "status": status, "at": self._now()}
        if errors:
            out["errors"] = [{"path": p, "code": c, "message": m} for p, c, m in errors[:50]]
        self._publish(link.ACK, out)

    def _command(self, cmd: "Any", errors: list) -> None:
        rid = cmd.get("id") if isinstance(cmd, dict) else None
        if errors:
            if isinstance(rid, str) and 0 < len(rid) <= link.MAX_ID:
                self._ack(rid, "rejected", errors)
            else:
                self.bad_messages += 1
            return
        rid = cmd["id"]  # a checked command: a dict with a good id
        action = cmd["action"]
        if self.reg.time_source is not None and cmd["issued_at"] + cmd["ttl"] < self._now():
            self._ack(rid, "expired")
            return
        if action in link.DOCUMENT_ACTIONS:
            request = dict(cmd["request"])
            request["id"] = rid
            request.setdefault("kind", action)
            seen = self.reg.journal.get(rid) is not None
            self._ack(rid, "duplicate" if seen else "accepted")
            r = self.reg.handle(request)
            self._st = None
            self._state_dirty = True
            self._result(rid, action, r)
            if (
                r.get("status") == "made"
                and not r.get("duplicate")
                and r.get("fn") == self.outbox.fn
                and self.client.connected
            ):
                # its `doc` event now, while its image is kept: a burst of commands handled
                # in one poll made more documents than Images keeps, and the rest were read
                # back from the archive (45h + a 46h per TLV). Its FD is the drive's last.
                try:
                    self.publish_documents(r["fd"])
                except RegisterError:
                    pass  # the next round sends it (from the archive)
            return
        self._ack(rid, "accepted")
        params = cmd.get("params") or {}
        if action == "firmware_update":
            self._result(rid, action, self._update(rid, params))
            return
        self._result(rid, action, self._service_action(action, params))

    def _update(self, rid: str, params: dict) -> dict:
        # stage a bundle (firmware/update.py), then reboot into it once the result is out
        if self.updater is None:
            return {"status": "failed", "errors": [
                {"path": "params.firmware", "code": "unsupported", "message": "Нет обновлений"}
            ]}  # fmt: skip
        try:
            st = self._drive_status()
            rs = self.reg.status()
        except RegisterError as x:
            self._st = None
            return {"status": "failed", "retryable": True,
                    "errors": [{"path": "", "code": "drive", "message": str(x)[:500]}]}  # fmt: skip
        ofd = rs.get("ofd")
        status = {
            "shift_open": bool(rs["shift"]["open"]),
            "unsent": (ofd.get("unsent") or 0) if isinstance(ofd, dict) else 0,
            "outbox": self.outbox.pending(st["last_fd"]),
        }
        r = update.command(self.updater, params, status, rid)
        if r.get("status") == "done" and "staged" in r:
            self.reboot_requested = True
        return r

    def _updated(self) -> None:
        # after a start: the new bundle's health check (the drive answers; the broker took
        # the connection), then the update's end reported under its request id
        if self.updater.record().get("trial"):
            if not self.updater.health(self._healthy):
                self.reboot_requested = True  # back into the previous bundle
            self.firmware_version = self.updater.version()
        final = self.updater.final_result()
        if final is not None:
            self._result(final[0], "firmware_update", final[1])
            self.updater.result_sent()

    def _healthy(self) -> str:
        try:
            self.reg.drive.status()
        except RegisterError as x:
            return "ФН не отвечает: " + str(x)[:200]
        return ""

    def _service_action(self, action: str, params: dict) -> dict:
        try:
            if action == "x_report":
                return {"status": "done", "counters": self.reg.status()["counters"]}
            if action == "ofd_exchange":
                out = self.reg.service()
                self._st = None
                return {"status": "done", "ofd": out.get("ofd")}
            if action == "sync_time":
                self.reg.trust_time("fleet")
                return {"status": "done"}
            if action == "reboot":
                self.reboot_requested = True
                return {"status": "done"}
            if action == "read_archive":
                first = params.get("from", 1)
                last = params.get("to", first)
                if not isinstance(first, int) or not isinstance(last, int) or first > last:
                    return {
                        "status": "failed",
                        "errors": [
                            {"path": "params", "code": "range", "message": "Нужны from <= to"}
                        ],
                    }
                self.outbox.stored(self.outbox.fn, 0, [[first, last]])
                return {"status": "done"}
        except RegisterError as x:
            self._st = None
            return {
                "status": "failed",
                "retryable": True,
                "errors": [{"path": "", "code": "drive", "message": str(x)[:500]}],
            }
        return {
            "status": "failed",
            "errors": [{"path": "action", "code": "enum", "message": action}],
        }

    # ---- the loop --------------------------------------------------------------------------

    def next_wait(self, cap_s: float) -> float:
        """Seconds until the next periodic duty (service, state), at most cap_s; 0 when due."""
        now = self.clock.monotonic()
        due = min(
            self._service_at + self.service_every_s,
            self._state_at + self.state_every_s,
        )
        # a state left dirty (disconnected, the drive busy) waits for the next service too:
        # the round after a message publishes it at once, and a retry must not spin
        return max(0.0, min(cap_s, due - now))

    def step(self, timeout_s: float = 0.1) -> None:
        """One round: messages, then periodic duties, then what is due to send."""
        self.client.poll(timeout_s)
        connects = self.client.connects
        if connects != self._connects and self.client.connected:
            self._connects = connects
            if self.updater is not None:
                self._updated()
            online = {"status": "online", "at": self._now()}
            if self.firmware_version:
                online["firmware"] = self.firmware_version
            self._publish(link.PRESENCE, online, retain=True)
            self._state_dirty = True
            if not self._recovered:
                self._recovered = True
                self._report_unacknowledged()
            else:
                self.outbox.resend_now()
                self.answers.resend_now()
        now = self.clock.monotonic()
        if now - self._service_at >= self.service_every_s:
            self._service_at = now
            try:
                out = self.reg.service()
            except RegisterError:
                out = {"errors": ["service"]}
            wait = out.get("ofd")
            if isinstance(wait, (int, float)) and not isinstance(wait, bool):
                if wait < self.service_every_s:
                    # the OFD exchange is mid-way (or has more documents): its next piece is
                    # due after `wait`, not after a whole service period (one piece a period
                    # made each document take seconds)
                    self._service_at = now - self.service_every_s + max(wait, 0.0)
            events = out.get("ofd_events") or []
            for ev in events:
                self._ofd_event(ev)
            if out.get("shift_documents") or out.get("settled"):
                self._state_dirty = True
            if out.get("shift_documents") or out.get("settled") or out.get("errors"):
                self._st = None  # the drive may have changed (its last FD, its warnings)
            elif events and (self._st is None or self._st["warnings"]):
                # an OFD delivery changes no 30h field but the warnings, and only clears one
                # (the OFD's answer overdue): with none set, the cached status still holds
                self._st = None
        if not self.client.connected:
            return
        try:
            if now - self._state_at >= self.state_every_s:
                self._st = None  # the periodic state reads the drive afresh
                self.publish_state()
            elif self._state_dirty:
                self.publish_state()
            self.publish_documents()
            self.publish_answers()
        except RegisterError:
            self._st = None

    def _report_unacknowledged(self) -> None:
        # after a start: recover() decides unfinished requests with the drive; then every
        # result the fleet has not stored is reported again (the fleet keys them by id)
        try:
            self.reg.recover()
            pending = self.reg.outbox()
        except RegisterError:
            self._st = None
            self._recovered = False
            return
        for r in pending:
            rid = r.get("id")
            if isinstance(rid, str):
                self._result(rid, r.get("kind", ""), r)

    def _ofd_event(self, ev: dict) -> None:
        fd = ev.get("fd")
        if not isinstance(fd, int) or fd < 1 or not self.outbox.fn:
            return
        kind = ev.get("event")
        if kind == "delivered":
            self.answers.add(self.outbox.fn, fd, "accepted", None, self._now())
        elif kind == "rejected":
            code = ev.get("code")
            if not isinstance(code, int) or not 0 <= code <= 255:
                code = None
            self.answers.add(self.outbox.fn, fd, "rejected", code, self._now())
        self._state_dirty = True

    def publish_answers(self) -> int:
        """Send the OFD answers the fleet has not stored yet (first time or again); how many."""
        n = 0
        for p in self.answers.due():
            self._publish(link.OFD, p)
            self.answers.sent(p["fn"], p["fd"])
            n += 1
        return n

    def run(self, stop: "Any" = None, idle_s: float = 0.5) -> None:
        """step() until stop() is true (or a reboot is asked for), each waiting for a message
        until the next duty is due, at most idle_s (how soon stop() is noticed)."""
        while not self.reboot_requested and (stop is None or not stop()):
            self.step(self.next_wait(idle_s))
        self.client.close()
