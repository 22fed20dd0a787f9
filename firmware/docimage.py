# firmware/docimage.py: the archive image of a document the register has just made.
# MIT license; Oblako register runtime.
#
# Why: the agent's `doc` event carries the document's TLVs as the drive's archive holds them
# (45h, then one 46h per top-level TLV: ~20 drive commands a receipt, 55 % of the register
# hop's commands in the receipts bench). The register knows every byte of a receipt or a
# shift opening it has just made: its own TLVs (the driver captures the 07h/B7h frames the
# drive accepted, FiscalDrive.capture), the FN number (30h), and the make answer (FD, ФП,
# number); the drive adds its tags in a fixed layout (reference §2.7 vector V1 [rec]):
#
#   1041 FN | 1040 FD | 1012 time | 1077 ФП | kind's tags | the register's TLVs as sent
#   receipt, correction (16h): 1038 shift, 1042 number in the shift, 1054 operation, 1020 total
#   shift opening (12h):       1038 shift
#
# Other kinds (shift close, settlement and registration reports, closing the fiscal mode)
# carry counts only the drive knows (1097/1098 unsent, 1111/1118, the registration flags):
# they, and every gap refill and document made before a restart, are read from the archive.
#
# The layout is the drive's, not ours: the first image of each document type is checked
# against the archive read (Images.check) and used from then on only if byte-identical; a
# mismatch turns images of that type off for good (an alarm in `mismatches`). A BSO register
# makes 4/41 where the image says 3/31: the check fails, nothing wrong is ever sent.
from struct import pack

from firmware import tlv
from firmware.clock import unix_from_local

_FP_PREFIX = b"\x21\x04"  # §3.1: tag 1077 is 21 04 + ФП big-endian
KINDS = (2, 3, 31)  # shift opening, receipt, correction: what an image is built for


def build(doc_type: int, fn: str, fd: int, fp: int, at: tuple, extra: list, data: bytes) -> bytes:
    """The TLVs 46h would return for the document (see the module comment)."""
    head = [
        (1041, fn),
        (1040, fd),
        (1012, unix_from_local(at[:5], 0)),  # DATE_TIME has minutes; 1012 is local as UTC
        (1077, _FP_PREFIX + pack(">I", fp)),
    ]
    return tlv.encode(head + extra) + data


class Image:
    """One made document: what the `doc` event says of it."""

    def __init__(
        self,
        doc_type: int,
        fn: str,
        fd: int,
        fp: int,
        at: tuple,
        tlv_bytes: bytes,
        shift: int | None = None,
        operation: int | None = None,
        total: int | None = None,
    ) -> None:
        self.doc_type = doc_type
        self.fn = fn
        self.fd = fd
        self.fp = fp
        self.at = at[:5]
        self.tlv = tlv_bytes
        self.shift = shift
        self.operation = operation
        self.total = total


class Images:
    """The images of the last `limit` documents made, by FD, until taken; the verdict per
    document type (None: not checked yet; True: the archive agreed; False: it did not)."""

    def __init__(self, limit: int = 16) -> None:
        self.limit = limit
        self._by_fd = {}  # type: dict
        self.verdict = {}  # type: dict
        self.built = 0
        self.used = 0
        self.mismatches = 0

    def add(self, image: Image) -> None:
        if self.verdict.get(image.doc_type) is False:
            return
        by_fd = self._by_fd
        by_fd[image.fd] = image
        self.built += 1
        if len(by_fd) > self.limit:
            del by_fd[min(by_fd)]

    def take(self, fd: int) -> Image | None:
        """The image of FD `fd` (forgotten here), None when there is none."""
        return self._by_fd.pop(fd, None)

    def trusted(self, image: Image) -> bool:
        return self.verdict.get(image.doc_type) is True

    def check(self, image: Image, same: bool) -> None:
        """The first image of its type against the archive: keep using the type, or not."""
        if same:
            self.verdict[image.doc_type] = True
        else:
            self.verdict[image.doc_type] = False
            self.mismatches += 1
            for fd in [fd for fd, i in self._by_fd.items() if i.doc_type == image.doc_type]:
                del self._by_fd[fd]

    def clear(self) -> None:
        """A new drive or a restart of the agent: nothing kept is known to be right."""
        self._by_fd = {}
