"""Properties of firmware.framing / firmware.crc16, with protocol.fn.frame (construct) as oracle.

CPython only (hypothesis). What is provable, and asserted exactly:

- a clean stream gives exactly its frames, whatever the chunking;
- garbage without a valid frame *anywhere it could start* (checked with the oracle, or
  excluded by construction) is dropped byte for byte and the frames come out exactly;
- any stream at all gives exactly what a naive reference scan built on `parse_frame` gives,
  counters and pending bytes included (the framer's rules, stated a second time);
- a single-bit flip is never accepted: `parse_frame` rejects it, and the framer skips it and
  still delivers the frames that follow once enough bytes arrived.

What is *not* provable: that frames survive arbitrary garbage. A false start byte in the
garbage may claim a window that ends inside a real frame and pass the 16-bit CRC by chance,
swallowing that frame; the tests exclude that case with `assume` instead of pretending.
"""

from itertools import cycle

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from firmware.crc16 import crc16
from firmware.framing import MAX_DATA, Framer, encode
from protocol.crc import crc16_ccitt_false
from protocol.errors import FrameFormatError
from protocol.fn.frame import build_frame, parse_frame

Frame = tuple[int, bytes]

MAX_FRAME = MAX_DATA + 6
FILL = b"\x00" * MAX_FRAME  # no start byte, and long enough to complete any pending window

# Mostly short frames (speed), sometimes near the 1024-byte limit.
data_st = st.binary(max_size=40) | st.binary(min_size=MAX_DATA - 4, max_size=MAX_DATA)
frame_st = st.tuples(st.integers(0, 255), data_st)
frames_st = st.lists(frame_st, max_size=6)
sizes_st = st.lists(st.integers(1, 2 * MAX_FRAME + 7), min_size=1, max_size=8)
slow = settings(deadline=None)


def chunks(stream: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in cycle(sizes):
        if pos >= len(stream):
            return out
        out.append(stream[pos : pos + size])
        pos += size
    raise AssertionError("unreachable")


def run(
    stream: bytes, sizes: list[int], framer: Framer | None = None
) -> tuple[list[Frame], Framer]:
    framer = framer or Framer()
    got: list[Frame] = []
    for chunk in chunks(stream, sizes):
        got.extend(framer.feed(chunk))
    return got, framer


def valid_window_at(stream: bytes, p: int) -> bool:
    """True when the oracle accepts a frame starting at p (its LEN decides the window)."""
    if stream[p] != 0x04 or len(stream) - p < 3:
        return False
    end = p + int.from_bytes(stream[p + 1 : p + 3], "little") + 5
    if end > len(stream):
        return False
    try:
        parse_frame(stream[p:end])
    except FrameFormatError:
        return False
    return True


def model(stream: bytes) -> tuple[list[Frame], int, int, int]:
    """Naive reference scan: (frames, dropped, crc_errors, pending) with parse_frame as judge."""
    out: list[Frame] = []
    dropped = crc_errors = p = 0
    n = len(stream)
    while p < n:
        if stream[p] != 0x04:
            dropped, p = dropped + 1, p + 1
            continue
        if n - p < 3:
            break
        length = int.from_bytes(stream[p + 1 : p + 3], "little")
        if not 1 <= length <= MAX_DATA + 1:
            dropped, p = dropped + 1, p + 1
            continue
        end = p + length + 5
        if end > n:
            break
        try:
            f = parse_frame(stream[p:end])
        except FrameFormatError:
            crc_errors, dropped, p = crc_errors + 1, dropped + 1, p + 1
            continue
        out.append((f.code, f.data))
        p = end
    return out, dropped, crc_errors, n - p


def flip(raw: bytes, bit: int) -> bytes:
    b = bytearray(raw)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


# ---- implementations agree with the construct spec ----


@given(st.binary(max_size=2 * MAX_FRAME), st.integers(0, 2 * MAX_FRAME))
def test_crc16_matches_crcmod(data: bytes, cut: int) -> None:
    assert crc16(data) == crc16_ccitt_false(data)
    mv = memoryview(data)
    assert crc16(mv[cut:], crc16(mv[:cut])) == crc16_ccitt_false(data)  # incremental


@given(st.integers(0, 255), st.binary(max_size=MAX_DATA))
def test_encode_equals_construct_build(code: int, data: bytes) -> None:
    assert encode(code, data) == build_frame(code, data)


@slow
@given(frames_st, sizes_st)
def test_framer_equals_construct_parse(frames: list[Frame], sizes: list[int]) -> None:
    raws = [build_frame(c, d) for c, d in frames]
    expect = [(f.code, f.data) for f in map(parse_frame, raws)]
    got, _ = run(b"".join(raws), sizes)
    assert got == expect


# ---- clean streams: chunking invariance ----


@slow
@given(frames_st, sizes_st)
def test_clean_stream_any_chunking(frames: list[Frame], sizes: list[int]) -> None:
    got, framer = run(b"".join(encode(c, d) for c, d in frames), sizes)
    assert got == frames
    assert (framer.dropped, framer.crc_errors, framer.pending) == (0, 0, 0)


# ---- garbage ----


@slow
@given(frames_st, st.data(), sizes_st)
def test_garbage_without_start_byte(
    frames: list[Frame], data: st.DataObject, sizes: list[int]
) -> None:
    # No 0x04 in the garbage: no false start, so nothing can be swallowed. Exact.
    junk = st.binary(max_size=30).map(lambda b: b.replace(b"\x04", b"\x05"))
    gaps = [data.draw(junk) for _ in range(len(frames) + 1)]
    stream = gaps[0] + b"".join(
        encode(c, d) + g for (c, d), g in zip(frames, gaps[1:], strict=True)
    )
    got, framer = run(stream, sizes)
    assert got == frames
    assert framer.dropped == sum(map(len, gaps))
    assert (framer.crc_errors, framer.pending) == (0, 0)


@slow
@given(frames_st, st.data(), sizes_st)
def test_arbitrary_garbage(frames: list[Frame], data: st.DataObject, sizes: list[int]) -> None:
    # Garbage may hold 0x04 with any LEN. Provided no window starting in the garbage is a
    # valid frame (the oracle decides; a chance 2**-16 CRC match is the only way), every
    # garbage byte is dropped, every plausible false start costs one CRC error, and the
    # frames come out exactly. FILL completes every window that starts in the garbage.
    junk = st.binary(max_size=30) | st.binary(max_size=8).map(lambda b: b"\x04" + b)
    gaps = [data.draw(junk) for _ in range(len(frames) + 1)]
    stream, garbage_at = bytearray(), []
    for i, gap in enumerate(gaps):
        garbage_at.extend(range(len(stream), len(stream) + len(gap)))
        stream += gap
        if i < len(frames):
            stream += encode(*frames[i])
    garbage_at.extend(range(len(stream), len(stream) + len(FILL)))
    stream += FILL
    raw = bytes(stream)
    assume(not any(valid_window_at(raw, p) for p in garbage_at))
    false_starts = sum(
        1
        for p in garbage_at
        if raw[p] == 0x04 and 1 <= int.from_bytes(raw[p + 1 : p + 3], "little") <= MAX_DATA + 1
    )

    event("false starts with a plausible LEN: %s" % ("yes" if false_starts else "no"))

    got, framer = run(raw, sizes)
    assert got == frames
    assert framer.dropped == len(garbage_at)
    assert framer.crc_errors == false_starts
    assert framer.pending == 0


segment_st = st.one_of(
    st.binary(max_size=24),
    frame_st.map(lambda f: encode(*f)),
    st.tuples(frame_st, st.integers(0, 8 * 1000)).map(
        lambda t: flip(encode(*t[0]), t[1] % (8 * (len(t[0][1]) + 6)))
    ),
    st.binary(min_size=2, max_size=2).map(lambda b: b"\x04" + b),  # bare header, any LEN
    st.just(b"\x05"),  # ENQ
)


@slow
@given(st.lists(segment_st, max_size=12), sizes_st)
def test_any_stream_matches_reference_scan(segments: list[bytes], sizes: list[int]) -> None:
    stream = b"".join(segments)
    expect, dropped, crc_errors, pending = model(stream)
    got, framer = run(stream, sizes)
    assert got == expect
    assert (framer.dropped, framer.crc_errors, framer.pending) == (dropped, crc_errors, pending)
    # Every byte is accounted for: in a frame, dropped, or pending.
    assert sum(len(d) + 6 for _, d in got) + framer.dropped + framer.pending == len(stream)
    assert framer.pending < MAX_FRAME
    # reset() empties the buffer; the next frame then comes out alone.
    framer.reset()
    assert framer.pending == 0
    assert framer.feed(encode(0x30)) == [(0x30, b"")]


# ---- single-bit flips ----


@slow
@given(frame_st, frame_st, st.data(), sizes_st)
def test_single_bit_flip_rejected(
    original: Frame, follower: Frame, data: st.DataObject, sizes: list[int]
) -> None:
    raw = encode(*original)
    # Any bit, or one of LEN's 16 bits; bits 16..18 (LEN + 256/512/1024) make it wait.
    bits = st.integers(0, 8 * len(raw) - 1) | st.integers(8, 23) | st.integers(16, 18)
    bad = flip(raw, data.draw(bits, label="bit"))

    # The spec rejects it: CRC-16 catches every single-bit error, a LEN flip breaks the size.
    try:
        parse_frame(bad)
    except FrameFormatError:
        pass
    else:
        raise AssertionError("flipped frame accepted by parse_frame")

    # The framer: send the flipped frame, then the follower repeatedly, enough to complete
    # any window the flip may open (a flipped LEN can claim up to 1030 bytes).
    good = encode(*follower)
    k = MAX_FRAME // len(good) + 2
    stream = bad + good * k
    assume(not any(valid_window_at(stream, p) for p in range(len(bad))))

    # Right after one follower: either it came out, or the framer waits on the flipped LEN.
    framer = Framer()
    first = framer.feed(bad + good)
    assert first == [follower] or (first == [] and framer.pending > 0)
    event("framer waited on the flipped LEN: %s" % ("yes" if not first else "no"))
    # Eventually: exactly the followers, nothing from the flipped frame.
    got, framer = run(stream, sizes)
    assert got == [follower] * k
    if original != follower:
        assert original not in got
    assert framer.dropped == len(bad) and framer.pending == 0


# ---- robustness ----


@given(st.binary(max_size=64) | st.binary(max_size=8).map(lambda b: b"\x04" + b))
def test_parse_frame_raises_only_frame_format_error(raw: bytes) -> None:
    try:
        frame = parse_frame(raw)
    except FrameFormatError:
        return
    assert build_frame(frame.code, frame.data) == raw


@slow
@given(st.binary(max_size=3 * MAX_FRAME), sizes_st)
def test_random_bytes_never_raise(stream: bytes, sizes: list[int]) -> None:
    got, framer = run(stream, sizes)
    assert sum(len(d) + 6 for _, d in got) + framer.dropped + framer.pending == len(stream)
    assert framer.pending < MAX_FRAME
