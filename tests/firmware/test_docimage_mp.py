# micropython
# Portable tests of firmware.docimage and the driver's capture of 07h/B7h data: the image
# of a receipt and of a shift opening, byte for byte the simulated drive's document body
# (golden vectors from simulator/fn/documents.py assemble() with an HMAC-SHA-256 key; the
# CPython property test is tests/firmware/test_docimage.py). Run by pytest on CPython and by
# tools/mprun.mjs on MicroPython.
from mpsupport import FakeClock, unhex

from firmware import docimage
from firmware.drive import FiscalDrive
from firmware.framing import encode
from firmware.tlv import encode as tlv_encode

FN = "9999078900001234"
AT = (2024, 1, 15, 10, 30, 59)  # the seconds are not the drive's: DATE_TIME has minutes
DATA = unhex("fd030300414243")  # 1021 cashier "ABC": the register's TLVs, verbatim

RECEIPT = unhex(
    "1104100039393939303738393030303031323334100404002a000000f40304002809a565350406002104cc76"
    "4c110e0404000700000012040400030000001e04010001fc0302003930fd030300414243"
)
OPENING = unhex(
    "11041000393939393037383930303030313233341004040029000000f40304002809a5653504060021047cef"
    "51760e04040007000000fd030300414243"
)


def test_receipt_image_is_the_drive_s_body():
    extra = [(1038, 7), (1042, 3), (1054, 1), (1020, 12345)]
    assert docimage.build(3, FN, 42, 3430304785, AT, extra, DATA) == RECEIPT


def test_shift_opening_image_is_the_drive_s_body():
    assert docimage.build(2, FN, 41, 2096058742, AT, [(1038, 7)], DATA) == OPENING


def test_images_are_kept_until_taken_and_a_mismatch_stops_its_type():
    imgs = docimage.Images(limit=2)
    for fd in (1, 2, 3):
        imgs.add(docimage.Image(3, FN, fd, 0, AT, b""))
    assert imgs.take(1) is None and imgs.take(2).fd == 2  # the oldest went past the limit
    img = imgs.take(3)
    assert not imgs.trusted(img)
    imgs.check(img, True)
    assert imgs.trusted(img)
    imgs.add(docimage.Image(31, FN, 4, 0, AT, b""))
    bad = imgs.take(4)
    imgs.check(bad, False)
    imgs.add(docimage.Image(31, FN, 5, 0, AT, b""))
    assert imgs.take(5) is None and imgs.mismatches == 1 and not imgs.trusted(bad)


class _Accepting:
    # the drive's end of the link: every request answered "done, no data"
    def __init__(self):
        self.rx = b""

    def write(self, buf):
        self.rx += encode(0, b"")
        return len(buf)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n


def test_the_driver_captures_what_the_drive_accepted_up_to_its_limit():
    drive = FiscalDrive(_Accepting(), FakeClock(), poll_s=0.01)
    fields = [(1030, "Товар %d" % i) for i in range(300)]  # several 07h frames
    drive.capture = bytearray()
    sent = drive.send_data(iter(fields[:2]))
    drive.marking_send_data(1, [(1059, [(1030, "Маркированный")])])
    head = bytes(drive.capture)
    assert head[:sent] == tlv_encode(fields[:2])
    marked = tlv_encode([(1059, [(1030, "Маркированный")])])
    assert head[sent:] == marked  # the B7h extra code left out
    drive.capture = bytearray()
    drive.capture_limit = 1500
    drive.send_data(iter(fields))
    assert drive.capture is None  # past the limit: no image rather than half of one
    drive.send_data(iter(fields[:1]))
    assert drive.capture is None
