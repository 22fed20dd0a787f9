# micropython
from mpsupport import load_vector

from firmware.errors import TlvError


def test_vectors_visible():
    v = load_vector("fn_frames.json")
    assert v["crc16_ccitt_false_check"]["crc_hex"] == "29b1"


def test_tlv_error_message():
    e = TlvError("bad", (3, 1059), 12)
    assert e.path == (3, 1059) and e.offset == 12
