# bench/mp_codec.py: the codec benchmark's MicroPython half, run by
# `node tools/mprun.mjs --run bench/mp_codec.py --lib bench` (see bench/codec.py).
# Prints one JSON line: documents/s for the firmware codec and the bare struct loop, and
# the heap one receipt costs when streamed into a preallocated 07h frame buffer.
import gc
import json
import time

from bench import baseline
from bench.receipt import receipt
from firmware import cp866, tlv

SECONDS = 2000  # milliseconds per measurement


def rate(fn):
    n = 0
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < SECONDS:
        fn()
        n += 1
    return n * 1000 / time.ticks_diff(time.ticks_ms(), t0)


doc = receipt(20)
raw = tlv.encode(doc)
assert_equal = tlv.decode(raw) == doc
frame = bytearray(1024)  # the drive's 07h data limit (reference §1.8)


def firmware_roundtrip():
    tlv.decode(tlv.encode(doc))


def baseline_text(raw):
    return cp866.decode(raw)


def baseline_bytes(text):
    buf = bytearray(len(text))
    cp866.write(text, buf, 0)
    return buf


def baseline_roundtrip():
    baseline.decode(baseline.encode(doc, baseline_bytes), baseline_text)


def stream(fields):
    # What the driver does: each top-level field of the receipt body goes into the frame
    # buffer as whole TLVs; a full buffer would be sent as one 07h command.
    pos = 0
    for f in fields[0][1]:
        if pos + tlv.field_size(f) > len(frame):
            pos = 0  # sent
        pos = tlv.field_into(frame, pos, f)
    return pos


def heap(fn, arg):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn(arg)
    used = gc.mem_alloc() - before
    gc.enable()
    return used


stream(doc)  # warm up
result = {
    "roundtrip_ok": assert_equal,
    "bytes": len(raw),
    "firmware_docs_per_s": rate(firmware_roundtrip),
    "baseline_docs_per_s": rate(baseline_roundtrip),
    "stream_heap_bytes": heap(stream, doc),
    "whole_encode_heap_bytes": heap(tlv.encode, doc),
    "decode_heap_bytes": heap(tlv.decode, raw),
}
print("RESULT " + json.dumps(result))
