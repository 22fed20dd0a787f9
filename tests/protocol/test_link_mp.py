# micropython
# The MQTT link contract on the register (firmware/shared/link.py = protocol/portable/link.py):
# topics, versions and the checks of what the fleet sends. Runs under CPython (pytest) and
# under MicroPython 1.27 (node tools/mprun.mjs tests/protocol): plain asserts only.
from firmware.shared import link

ROOT = "oblako/test"
FN = "9999078900012345"


def cmd(**kw):
    c = {
        "v": 1,
        "id": "r-1",
        "ttl": 60,
        "issued_at": 1764316850,
        "action": "open_shift",
        "request": {"id": "r-1", "kind": "open_shift"},
    }
    for k in kw:
        if kw[k] is None:
            c.pop(k, None)
        else:
            c[k] = kw[k]
    return c


def codes(errors):
    return [(p, c) for p, c, _ in errors]


def test_topics():
    t = link.topic(ROOT, "0001234567", link.CMD)
    assert t == "oblako/test/v1/reg/0001234567/cmd"
    assert link.parse_topic(ROOT, t) == ("0001234567", "cmd", "")
    serial, kind, why = link.parse_topic(ROOT, "oblako/test/v9/reg/0001234567/cmd")
    assert serial == "" and kind == "" and "v9" in why
    assert link.parse_topic(ROOT, "oblako/other/v1/reg/1/cmd")[2] != ""
    assert link.serial_ok("AB-12_x") and not link.serial_ok("") and not link.serial_ok("a/b")
    assert not link.serial_ok("x" * 33)


def test_a_good_command_has_no_problems():
    assert link.check_cmd(cmd()) == []
    assert link.check_cmd(cmd(action="reboot", request=None)) == []
    assert link.check_cmd(cmd(action="sync_time", request=None, params={"time": 1})) == []


def test_versions_are_refused_with_the_reason():
    for v in (2, "1", True, 1.0):
        errors = link.check_cmd(cmd(v=v))
        assert codes(errors) == [("v", "version")], (v, errors)
        assert "касса понимает версию 1" in errors[0][2]
    assert codes(link.check_cmd(cmd(v=None))) == [("v", "required")]
    assert codes(link.check_cmd([1])) == [("", "type")]


def test_command_fields():
    assert codes(link.check_cmd(cmd(id=""))) == [("id", "format")]
    assert codes(link.check_cmd(cmd(id="a b"))) == [("id", "format")]
    assert codes(link.check_cmd(cmd(ttl=0))) == [("ttl", "range")]
    assert codes(link.check_cmd(cmd(ttl=link.MAX_TTL + 1))) == [("ttl", "range")]
    assert codes(link.check_cmd(cmd(ttl=True))) == [("ttl", "type")]
    assert codes(link.check_cmd(cmd(action="dance"))) == [("action", "enum")]
    assert codes(link.check_cmd(cmd(request=None))) == [("request", "required")]
    assert codes(link.check_cmd(cmd(params={}))) == [("params", "unknown")]
    assert codes(link.check_cmd(cmd(extra=1))) == [("extra", "unknown")]


def test_storage_acknowledgement():
    good = {"v": 1, "fn": FN, "through": 118, "missing": [[101, 103]]}
    assert link.check_stored(good) == []
    bad = {"v": 1, "fn": "123", "through": -1, "missing": [[3, 1], [1]]}
    assert codes(link.check_stored(bad)) == [
        ("fn", "format"),
        ("through", "range"),
        ("missing[0]", "range"),
        ("missing[1]", "range"),
    ]
    many = {"v": 1, "fn": FN, "through": 1, "missing": [[1, 1]] * (link.MAX_GAPS + 1)}
    assert codes(link.check_stored(many)) == [("missing", "type")]


def test_an_ofd_answer_acknowledgement_names_fd_numbers():
    assert link.check_stored({"v": 1, "fn": FN, "through": 0, "ofd": [1, 2, 0xFFFFFFFF]}) == []
    bad = {"v": 1, "fn": FN, "through": 0, "ofd": [0, "7", True]}
    assert codes(link.check_stored(bad)) == [("ofd[0]", "range"), ("ofd[1]", "range"),
                                             ("ofd[2]", "range")]  # fmt: skip
    many = {"v": 1, "fn": FN, "through": 0, "ofd": [1] * (link.MAX_OFD_ACKS + 1)}
    assert codes(link.check_stored(many)) == [("ofd", "type")]


def test_a_firmware_update_names_a_bundle_the_register_can_check():
    fw = {"version": "1.1.0", "url": "https://fleet.example/b.bin", "sha256": "ab" * 32}
    good = cmd(action="firmware_update", request=None, params={"firmware": fw})
    assert link.check_cmd(good) == []
    sized = dict(fw)
    sized["size"] = 133947
    assert link.check_cmd(cmd(action="firmware_update", request=None,
                              params={"firmware": sized})) == []  # fmt: skip
    none = cmd(action="firmware_update", request=None)
    assert codes(link.check_cmd(none)) == [("params.firmware", "required")]
    bad = {"version": "", "url": "ftp://x", "sha256": "AB" * 32, "size": 0, "extra": 1}
    assert codes(link.check_cmd(cmd(action="firmware_update", request=None,
                                    params={"firmware": bad}))) == [
        ("params.firmware.extra", "unknown"),
        ("params.firmware.version", "format"),
        ("params.firmware.url", "format"),
        ("params.firmware.sha256", "format"),
        ("params.firmware.size", "range"),
    ]  # fmt: skip


def test_desired_state():
    good = {
        "v": 1,
        "seq": 5,
        "ofd_host": "ofd.example.ru",
        "ofd_port": 7777,
        "firmware": {"version": "1.1.0", "url": "https://fw/1.1.0.tar", "sha256": "a" * 64},
    }
    assert link.check_desired(good) == []
    bad = {
        "v": 1,
        "seq": 1,
        "ofd_port": 70000,
        "auto_close_shift": 1,
        "firmware": {"version": "1", "url": "u", "sha256": "X" * 64},
    }
    assert codes(link.check_desired(bad)) == [
        ("ofd_port", "range"),
        ("auto_close_shift", "type"),
        ("firmware.sha256", "format"),
    ]


def test_limits_cover_every_kind():
    for kind in link.KINDS:
        assert link.MAX_PAYLOAD[kind] >= 1024
    assert link.CHECKS[link.CMD] is link.check_cmd
