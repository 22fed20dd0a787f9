# micropython
# Portable tests of firmware.crc16 and firmware.framing (reference fiscal-protocols.md
# §1.1-1.3): run by pytest on CPython and by tools/mprun.mjs on MicroPython 1.27.
from mpsupport import load_vector, raises, unhex

from firmware.crc16 import crc16
from firmware.errors import UsageError
from firmware.framing import ENQ, MAX_DATA, Framer, encode

STATUS = unhex("04010030ffcd")  # 30h status request, seen in public code (§1.2)
OK = unhex("04010000acfb")  # empty successful answer (§1.2)
SHIFT = unhex("0406001118010f0a1e17ae")  # 11h begin shift open, with data


def _vectors():
    out = []
    for v in load_vector("fn_frames.json")["frames"]:
        raw = unhex(v["hex"])
        out.append((raw, int(v["code"], 16), raw[4:-2]))
    return out


def _feed_all(framer, chunks):
    got = []
    for c in chunks:
        got.extend(framer.feed(c))
    return got


def _consumed(frames):
    return sum([len(d) + 6 for _, d in frames])


def test_crc_check_value():
    check = load_vector("fn_frames.json")["crc16_ccitt_false_check"]
    assert crc16(check["input_ascii"].encode()) == int(check["crc_hex"], 16) == 0x29B1
    assert crc16(b"") == 0xFFFF  # init value, nothing shifted in


def test_crc_incremental_on_memoryview():
    mv = memoryview(b"123456789")
    assert crc16(mv[4:], crc16(mv[:4])) == 0x29B1
    assert crc16(bytearray(b"123456789")) == 0x29B1


def test_vectors_decode_and_encode():
    vectors = _vectors()
    assert len(vectors) >= 15
    for raw, code, data in vectors:
        framer = Framer()
        assert framer.feed(raw) == [(code, data)]
        assert framer.dropped == 0 and framer.crc_errors == 0 and framer.pending == 0
        assert encode(code, data) == raw


def test_vector_lengths_match_len_field():
    for raw, _, data in _vectors():
        assert raw[1] | (raw[2] << 8) == len(data) + 1  # LEN = N + 1 (§1.2)


def test_answer_warning_bit_vector():
    # 0x80 = success with the warning bit set (§1.3): the framer passes the byte through.
    framer = Framer()
    ((code, data),) = framer.feed(unhex("04010080246a"))
    assert code == 0x80 and code & 0x7F == 0 and data == b""


def test_all_vectors_in_one_stream():
    vectors = _vectors()
    stream = b"".join([raw for raw, _, _ in vectors])
    assert Framer().feed(stream) == [(c, d) for _, c, d in vectors]


def test_byte_by_byte():
    vectors = _vectors()
    stream = b"".join([raw for raw, _, _ in vectors])
    framer = Framer()
    got = []
    for i in range(len(stream)):
        got.extend(framer.feed(stream[i : i + 1]))
    assert got == [(c, d) for _, c, d in vectors]
    assert framer.dropped == 0 and framer.pending == 0


def test_feed_empty_and_buffer_types():
    framer = Framer()
    assert framer.feed(b"") == []
    assert framer.feed(bytearray(STATUS[:3])) == []
    assert framer.pending == 3
    assert framer.feed(memoryview(STATUS)[3:]) == [(0x30, b"")]


def test_garbage_before_between_after():
    stream = b"\xff\x00\x13" + STATUS + b"\x30\xcd" + SHIFT + b"\xaa\x55\x00"
    framer = Framer()
    got = framer.feed(stream)
    assert got == [(0x30, b""), (0x11, unhex("18010f0a1e"))]
    assert framer.dropped == 3 + 2 + 3
    assert framer.crc_errors == 0 and framer.pending == 0


def test_garbage_inside_frame():
    # Bytes inserted after the header: the CRC fails, the rest resynchronises on OK.
    broken = SHIFT[:5] + b"\x99" + SHIFT[5:]
    framer = Framer()
    got = framer.feed(broken + OK)
    assert got == [(0x00, b"")]
    assert framer.crc_errors == 1
    assert framer.dropped == len(broken)


def test_bad_crc_then_good():
    bad = STATUS[:-1] + bytes([STATUS[-1] ^ 0x01])
    framer = Framer()
    assert framer.feed(bad + SHIFT) == [(0x11, unhex("18010f0a1e"))]
    assert framer.crc_errors == 1 and framer.dropped == len(bad)


def test_bad_crc_in_data_then_good():
    bad = bytearray(SHIFT)
    bad[6] ^= 0x40
    framer = Framer()
    assert framer.feed(bytes(bad) + STATUS) == [(0x30, b"")]
    assert framer.crc_errors == 1


def test_enq_and_noise_bytes():
    # ENQ (0x05) is a bare request byte (§1.1), never a frame: on the receive side it is noise.
    framer = Framer()
    got = framer.feed(ENQ + b"\x00" + ENQ + STATUS + ENQ + ENQ + OK + ENQ)
    assert got == [(0x30, b""), (0x00, b"")]
    assert framer.dropped == 6 and framer.crc_errors == 0 and framer.pending == 0


def test_impossible_length_start_bytes():
    # LEN = 0 and LEN > 1025 cannot be frames (§1.2): the start byte is dropped at once.
    framer = Framer()
    got = framer.feed(b"\x04\x00\x00" + b"\x04\x02\x04" + b"\x04\xff\xff" + STATUS)
    assert got == [(0x30, b"")]
    assert framer.dropped == 9 and framer.crc_errors == 0


def test_frame_hidden_after_fake_start_impossible_len():
    # A stray 0x04 whose "LEN" (04 01 -> 0x0104 = 260) is plausible waits; one with an
    # impossible LEN is dropped and the hidden frame is found immediately.
    framer = Framer()
    assert framer.feed(b"\x04\xff" + STATUS) == [(0x30, b"")]
    assert framer.dropped == 2


def test_frame_hidden_after_fake_start_plausible_len():
    # Fake 04 02 00 claims a 7-byte frame that overlaps the real one: its CRC fails, only
    # the fake start byte is dropped, and the rescan finds the real frame inside.
    framer = Framer()
    assert framer.feed(b"\x04\x02\x00" + STATUS) == [(0x30, b"")]
    assert framer.crc_errors == 1 and framer.dropped == 3 and framer.pending == 0


def test_false_start_waits_then_more_bytes_resolve_it():
    # A stray 0x04 before a frame makes LEN = 0x0104: the framer waits for 265 bytes.
    framer = Framer()
    assert framer.feed(b"\x04" + STATUS) == []
    assert framer.pending == 7
    # Once 265 bytes are in, the false candidate fails its CRC and every frame is found.
    got = framer.feed(OK * 50)
    assert got == [(0x30, b"")] + [(0x00, b"")] * 50
    assert framer.crc_errors == 1 and framer.dropped == 1 and framer.pending == 0


def test_false_start_then_reset_and_resend():
    # The driver's way out (§1.1): idle timeout -> reset() -> ENQ -> the drive resends.
    framer = Framer()
    assert framer.feed(b"\x04" + OK) == []
    framer.reset()
    assert framer.pending == 0 and framer.dropped == 7
    assert framer.feed(OK) == [(0x00, b"")]


def test_reset_mid_frame():
    framer = Framer()
    assert framer.feed(SHIFT[:6]) == []
    framer.reset()
    assert framer.feed(SHIFT[6:] + STATUS) == [(0x30, b"")]
    assert framer.dropped == 6 + len(SHIFT) - 6


def test_max_size_frames_any_chunking():
    data = bytes([i & 0xFF for i in range(MAX_DATA)])
    frame = encode(0x23, data)
    assert len(frame) == 1030 and frame[1:3] == b"\x01\x04"  # LEN 1025 = 0x0401, LE
    stream = b"\x00" + frame + frame + ENQ + frame
    expect = [(0x23, data)] * 3
    for size in (1, 7, 1029, 1030, 1031, 2059, 2060, 4000):
        framer = Framer()
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert _feed_all(framer, chunks) == expect
        assert framer.dropped == 2 and framer.pending == 0


def test_buffer_is_bounded():
    # Feeding megabytes of noise or of frames never holds more than one maximal frame
    # minus one byte between calls (the fixed buffer is one frame plus one chunk).
    framer = Framer()
    noise = bytes([(i * 37 + 4) & 0xFF for i in range(5000)])
    framer.feed(noise)
    assert framer.pending < 1030
    framer.feed(b"\x04\x01\x04" + bytes(600))
    assert 0 < framer.pending < 1030


def test_counters_account_for_every_byte():
    # Every byte fed ends up in a frame, in `dropped`, or still pending.
    seed = 12345
    stream = bytearray()
    for _ in range(3000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        if seed % 97 == 0:
            stream.extend(encode(seed & 0xFF, bytes([seed & 0xFF]) * (seed % 40)))
        elif seed % 5 == 0:
            stream.append(0x04)
        else:
            stream.append((seed >> 8) & 0xFF)
    framer = Framer()
    got = []
    pos = 0
    step = 1
    while pos < len(stream):
        got.extend(framer.feed(stream[pos : pos + step]))
        pos += step
        step = step % 61 + 1
    assert _consumed(got) + framer.dropped + framer.pending == len(stream)
    assert len(got) > 0 and framer.crc_errors > 0


def test_encode_rejects_misuse():
    raises(UsageError, encode, 0x30, bytes(MAX_DATA + 1))
    raises(UsageError, encode, 0x100)
    raises(UsageError, encode, -1)
    assert len(encode(0xFF, bytes(MAX_DATA))) == 1030


def test_encode_accepts_buffers():
    assert encode(0x21, bytearray(b"\x01")) == unhex("04020021015e4c")
    assert encode(0x21, memoryview(b"\x00\x01")[1:]) == unhex("04020021015e4c")
