# micropython
# Portable tests of firmware.update (A/B slots, a trial boot, rollback): run by pytest on
# CPython and by tools/mprun.mjs on MicroPython 1.27, with real directories.
import binascii
import hashlib
import json
import os

from mpsupport import raises

from firmware import ed25519
from firmware.flashmodel import FlashModel
from firmware.update import (
    DirSlots,
    UpdateError,
    Updater,
    _remove_tree,
    command,
    path_ok,
    sha256_hex,
)

_n = [0]
READY = {"shift_open": False, "unsent": 0, "outbox": 0}


def _hex(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def bundle(version, files, manifest_patch=None, key=None):
    """The bundle format of oblako firmware build, written here independently; signed with
    the Ed25519 secret `key` when given."""
    m = {
        "format": 1,
        "version": version,
        "board": "test",
        "files": [{"path": p, "size": len(b), "sha256": _hex(b)} for p, b in files],
    }
    if manifest_patch:
        m.update(manifest_patch)
    raw = json.dumps(m).encode()
    head = b"OBLAKOFW1 " + str(len(raw)).encode()
    if key is not None:
        head += b" " + binascii.hexlify(ed25519.sign(key, raw))
    return head + b"\n" + raw + b"".join(b for _, b in files)


class Body:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def read(self, n):
        out = self.data[self.at : self.at + n]
        self.at += len(out)
        return out


class Server:
    """The fleet's HTTP download, by URL."""

    def __init__(self):
        self.files = {}
        self.gets = 0

    def put(self, url, data):
        self.files[url] = data

    def __call__(self, url):
        self.gets += 1
        if url not in self.files:
            raise OSError("404 " + url)
        return Body(self.files[url])


def board():
    _n[0] += 1
    root = "/tmp/oblako-upd-%d-%d" % (os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    _remove_tree(root)
    slots = DirSlots(root)
    server = Server()
    up = Updater(FlashModel(), slots, server)
    up.install_initial("1.0.0")
    return root, up, server


V2 = [("firmware/agent.mpy", b"M\x06agent" * 40), ("firmware/shared/link.mpy", b"M\x06link")]


def spec(server, version, data, url=None):
    url = url or "http://fleet/firmware/bundles/" + version + ".bin"
    server.put(url, data)
    return {"version": version, "url": url, "sha256": sha256_hex(data)}


def test_a_bundle_is_staged_booted_checked_and_committed():
    root, up, server = board()
    data = bundle("1.1.0", V2)
    r = command(up, {"firmware": spec(server, "1.1.0", data)}, READY, "fw-1-1")
    assert r == {"status": "done", "staged": "1.1.0", "slot": "b"}
    assert up.version() == "1.1.0" and up.record()["active"] == "a"
    with open(root + "/b/firmware/shared/link.mpy", "rb") as f:
        assert f.read() == b"M\x06link"
    assert up.boot() == "b"  # the reboot runs the new bundle on trial
    assert up.verify_slot("b") == []
    assert up.health(lambda: "")
    rec = up.record()
    assert rec["active"] == "b" and rec["version"] == "1.1.0" and rec["trial"] is None
    assert rec["previous"] == {"slot": "a", "version": "1.0.0"}
    assert up.final_result() == (
        "fw-1-1",
        {"status": "done", "update": "committed", "firmware": "1.1.0"},
    )
    up.result_sent()
    assert up.final_result() is None
    assert up.boot() == "b"
    _remove_tree(root)


def test_a_trial_that_never_passes_its_check_rolls_back_on_the_next_start():
    root, up, server = board()
    command(up, {"firmware": spec(server, "1.1.0", bundle("1.1.0", V2))}, READY, "fw-1-2")
    assert up.boot() == "b"
    # the new runtime crashed before its health check: the next start rolls back
    assert up.boot() == "a"
    rec = up.record()
    assert rec["active"] == "a" and rec["version"] == "1.0.0" and rec["trial"] is None
    rid, r = up.final_result()
    assert rid == "fw-1-2" and r["status"] == "failed"
    assert r["errors"][0]["code"] == "rolled_back"
    assert up.version() == "1.0.0"
    _remove_tree(root)


def test_a_failed_health_check_rolls_back_at_once():
    root, up, server = board()
    command(up, {"firmware": spec(server, "1.1.0", bundle("1.1.0", V2))}, READY, "fw-1-3")
    up.boot()
    assert not up.health(lambda: "ФН не отвечает")
    assert up.record()["active"] == "a" and up.version() == "1.0.0"
    assert "ФН не отвечает" in up.final_result()[1]["errors"][0]["message"]
    _remove_tree(root)


def test_a_damaged_slot_fails_the_health_check():
    root, up, server = board()
    command(up, {"firmware": spec(server, "1.1.0", bundle("1.1.0", V2))}, READY, "fw-1-4")
    with open(root + "/b/firmware/agent.mpy", "wb") as f:
        f.write(b"flipped")
    up.boot()
    assert up.verify_slot("b") == ["firmware/agent.mpy"]
    assert not up.health(lambda: "")
    assert up.version() == "1.0.0"
    _remove_tree(root)


def test_a_bundle_whose_hash_differs_is_refused_and_nothing_changes():
    root, up, server = board()
    s = spec(server, "1.1.0", bundle("1.1.0", V2))
    s["sha256"] = "0" * 64
    r = command(up, {"firmware": s}, READY, "fw-1-5")
    assert r["status"] == "failed" and r["errors"][0]["code"] == "sha256"
    assert up.record()["trial"] is None and up.boot() == "a"
    _remove_tree(root)


def test_a_file_that_does_not_match_its_manifest_is_refused():
    root, up, server = board()
    data = bundle("1.1.0", V2)
    bad = data[:-1] + b"X"  # the last file's last byte
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", bad), READY)
    assert e.code == "file_sha256"
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", data[:-3]), READY)
    assert e.code == "truncated"
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", data + b"!"), READY)
    assert e.code == "format"
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", b"PK\x03\x04" + data), READY)
    assert e.code == "format"
    assert up.record()["trial"] is None
    _remove_tree(root)


BUILD_KEY = bytes(range(32))  # the build host's secret key (a test's, not a real one)
OTHER_KEY = bytes(range(1, 33))


def test_a_register_with_the_build_key_installs_only_bundles_it_signed():
    root, up, server = board()
    up.public_key = ed25519.public_key(BUILD_KEY)
    unsigned = bundle("1.1.0", V2)
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", unsigned), READY)
    assert e.code == "unsigned" and "не подписан" in e.message
    forged = bundle("1.1.0", V2, key=OTHER_KEY)  # signed, but not by the build key
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", forged), READY)
    assert e.code == "signature"
    good = bundle("1.1.0", V2, key=BUILD_KEY)
    n = int(good.split(b" ")[1])
    start = good.index(b"\n") + 1
    raw = good[start : start + n]
    swapped = good.replace(b'"board": "test"', b'"board": "evil"')  # the manifest edited
    assert swapped != good and raw in good
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", swapped), READY)
    assert e.code == "signature"
    bad_hex = good.replace(good[start - 129 : start - 1], b"z" * 128)
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", bad_hex), READY)
    assert e.code == "format"
    assert up.record()["trial"] is None and up.boot() == "a"
    for path in ("firmware/agent.mpy", "firmware/shared/link.mpy"):  # refused before writing
        assert up.slots.read("b", path) is None
    r = command(up, {"firmware": spec(server, "1.1.0", good)}, READY, "fw-signed")
    assert r == {"status": "done", "staged": "1.1.0", "slot": "b"}
    assert json.loads(up.slots.read("b", "manifest.json"))["signed"] is True
    _remove_tree(root)


def test_a_register_without_a_key_installs_signed_and_unsigned_bundles():
    root, up, server = board()
    assert up.stage(spec(server, "1.1.0", bundle("1.1.0", V2, key=OTHER_KEY)), READY)
    assert json.loads(up.slots.read("b", "manifest.json"))["signed"] is True
    _remove_tree(root)


def test_paths_outside_the_slot_are_refused():
    assert path_ok("firmware/agent.mpy")
    for p in ("../boot.py", "/main.py", "firmware//x.mpy", "a/./b", "", "a b", 5):
        assert not path_ok(p)
    root, up, server = board()
    data = bundle("1.1.0", [("../../main.py", b"x")])
    e = raises(UpdateError, up.stage, spec(server, "1.1.0", data), READY)
    assert e.code == "manifest"
    _remove_tree(root)


def test_no_update_with_a_shift_open_or_documents_unsent():
    root, up, server = board()
    s = spec(server, "1.1.0", bundle("1.1.0", V2))
    for status, code in (
        ({"shift_open": True, "unsent": 0, "outbox": 0}, "shift_open"),
        ({"shift_open": False, "unsent": 2, "outbox": 0}, "unsent"),
        ({"shift_open": False, "unsent": 0, "outbox": 1}, "outbox"),
    ):
        r = command(up, {"firmware": s}, status, "fw-x")
        assert r["status"] == "failed" and r["retryable"] is True
        assert r["errors"][0]["code"] == code
    assert server.gets == 0 and up.record()["trial"] is None
    _remove_tree(root)


def test_a_command_delivered_twice_is_answered_the_same_and_done_once():
    root, up, server = board()
    s = spec(server, "1.1.0", bundle("1.1.0", V2))
    first = command(up, {"firmware": s}, READY, "fw-1-9")
    again = command(up, {"firmware": s}, READY, "fw-1-9")
    assert first["staged"] == again["staged"] == "1.1.0" and server.gets == 1
    other = command(up, {"firmware": s}, READY, "fw-1-10")
    assert other["errors"][0]["code"] == "trial"  # one update at a time
    _remove_tree(root)


def test_the_next_update_goes_to_the_other_slot_and_keeps_the_previous():
    root, up, server = board()
    command(up, {"firmware": spec(server, "1.1.0", bundle("1.1.0", V2))}, READY, "r1")
    up.boot()
    up.health(lambda: "")
    up.result_sent()
    command(up, {"firmware": spec(server, "1.2.0", bundle("1.2.0", V2))}, READY, "r2")
    assert up.record()["trial"]["slot"] == "a"
    assert up.boot() == "a"
    up.health(lambda: "")
    assert up.record()["previous"] == {"slot": "b", "version": "1.1.0"}
    r = command(up, {"firmware": spec(server, "1.2.0", bundle("1.2.0", V2))}, READY, "r3")
    assert r["errors"][0]["code"] == "same"
    _remove_tree(root)
