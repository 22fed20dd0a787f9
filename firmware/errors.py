# firmware/errors.py: the register runtime's exception hierarchy.
# MIT license; Oblako register runtime.
#
# One root so callers can catch everything the runtime raises on purpose. Wire errors say
# where the bytes went wrong; they never surface as IndexError, struct.error or
# UnicodeDecodeError.


class RegisterError(Exception):
    """Root of every error the register runtime raises on purpose."""


class FrameError(RegisterError):
    """A drive-link frame is malformed: bad start byte, length or CRC."""


class TlvError(RegisterError):
    """A TLV document cannot be decoded or encoded.

    `path` is the chain of tags from the document root to the bad field (a tuple of
    ints), `offset` the byte offset of the bad field's header in the buffer given to the
    decoder (-1 when encoding).
    """

    def __init__(self, reason: str, path: tuple = (), offset: int = -1) -> None:
        self.reason = reason
        self.path = tuple(path)
        self.offset = offset
        where = "/".join([str(t) for t in self.path]) or "-"
        super().__init__("%s (tag path %s, offset %d)" % (reason, where, offset))


class UsageError(RegisterError):
    """The caller misused an API (a local bug, not bad bytes from outside)."""


class BufferFullError(TlvError):
    """The output buffer has no room for the next field (streamed encoding)."""


# ---- the fiscal-drive link (firmware/drive.py) -------------------------------------------
#
#   RegisterError
#   ├── FrameError
#   │   └── AnswerError          a valid frame whose data does not fit the command's layout
#   ├── DriveError               the drive answered a non-zero answer code (§1.4)
#   └── LinkError                the transport failed or no valid answer came
#       ├── LinkTimeout          no answer within the timeout, after ENQ and allowed resends
#       └── MakeOutcomeError     a "make" command's answer was lost (never resent blindly)
#           ├── NotMade          ... and the drive's status proves no document was made
#           └── OutcomeUnknown   ... and the drive could not say: reconcile later (30h/40h)


def answer_info(code: int, command: int = -1, fn12: bool = False) -> tuple:
    """(Russian text, English meaning, retryable) of a drive answer code (§1.4).

    The warning bit is ignored. `command` selects a command-specific wording where the spec
    gives one (26h/05h "Неверное CRC16"), `fn12` the FN-1.2 wording. The texts come from
    firmware/answertable.py, generated from protocol/fn/codes.py and imported on first use.
    """
    from firmware import answertable

    code &= 0x7F
    info = answertable.ANSWERS.get(code)
    if info is None:
        return ("Неизвестный код ответа %02Xh" % code, "unknown answer code %02Xh" % code, False)
    ru = None
    if command >= 0:
        ru = answertable.COMMAND_ANSWERS.get((command << 8) | code)
    if ru is None and fn12:
        ru = answertable.ANSWERS_FN12.get(code)
    return (ru or info[0], info[1], info[2])


class AnswerError(FrameError):
    """A frame arrived intact but its data does not fit the command's answer layout (§1.6).

    `command` is the command code, `data` the answer data as received.
    """

    def __init__(self, reason: str, command: int = -1, data: bytes = b"") -> None:
        self.reason = reason
        self.command = command
        self.data = bytes(data)
        super().__init__(
            "answer to %02Xh: %s (%d data bytes)" % (command & 0xFF, reason, len(data))
        )


class DriveError(RegisterError):
    """The drive refused a command with a non-zero answer code (§1.4).

    code: the answer code (low 7 bits); warning: bit 7, a warning flag is set (§1.3, read
    30h); command: the command code; reason: the extra byte some codes carry (20h: why the
    OFD message was rejected), else -1; data: the answer data; ru / en: what the code means;
    retryable: the same command may succeed later unchanged (11h: connect to the OFD first).
    """

    def __init__(
        self,
        code: int,
        warning: bool = False,
        command: int = -1,
        data: bytes = b"",
        fn12: bool = False,
    ) -> None:
        self.code = code & 0x7F
        self.warning = bool(warning)
        self.command = command
        self.data = bytes(data)
        self.reason = self.data[0] if len(self.data) == 1 else -1
        self.ru, self.en, self.retryable = answer_info(self.code, command, fn12)
        msg = "%02Xh -> %02Xh %s (%s)" % (command & 0xFF, self.code, self.ru, self.en)
        if self.reason >= 0:
            msg += ", reason %d" % self.reason
        super().__init__(msg)


class LinkError(RegisterError):
    """The drive link failed: the transport raised, or no valid answer arrived.

    `command` is the command code being exchanged (-1 when none).
    """

    def __init__(self, message: str, command: int = -1) -> None:
        self.command = command
        super().__init__(message)


class LinkTimeout(LinkError):  # noqa: N818 (the name the design uses)
    """No valid answer to `command` in time, after `enq` ENQ requests and `resends` resends.

    A "make" command never ends here (see MakeOutcomeError); for the others the command may
    or may not have run: 07h/46h/47h are never repeated (the document or the read must be
    restarted), the rest were already resent as often as configured.
    """

    def __init__(self, command: int, enq: int = 0, resends: int = 0) -> None:
        self.enq = enq
        self.resends = resends
        super().__init__(
            "no answer to %02Xh (after %d ENQ, %d resends)" % (command & 0xFF, enq, resends),
            command,
        )


class MakeOutcomeError(LinkError):
    """The answer to a "make" command (03h 05h 12h 14h 16h 19h A3h) was lost.

    The driver never sends a make command twice on its own (DESIGN decision 4); it asked the
    drive (30h, 40h) what happened. fd_before is the last FD number before the command, cause
    the error that lost the answer.
    """

    def __init__(self, message: str, command: int, fd_before: int, cause: object = None) -> None:
        self.fd_before = fd_before
        self.cause = cause
        super().__init__(message, command)


class NotMade(MakeOutcomeError):  # noqa: N818 (an outcome, read as one)
    """Known outcome: the drive made no document (its last FD number did not move).

    still_open: the document is still open in the drive, so the same make command may be
    sent again; otherwise the drive dropped it (reset, power loss) and it must be rebuilt
    from its «Начать …» command. status is the drive status (30h) that proved it.
    """

    def __init__(
        self,
        command: int,
        fd_before: int,
        still_open: bool,
        status: object = None,
        cause: object = None,
    ) -> None:
        self.still_open = still_open
        self.status = status
        super().__init__(
            "%02Xh: answer lost, no document made (FD still %d, document %s)"
            % (command & 0xFF, fd_before, "open" if still_open else "dropped"),
            command,
            fd_before,
            cause,
        )


class OutcomeUnknown(MakeOutcomeError):  # noqa: N818 (an outcome, read as one)
    """Unknown outcome: the answer was lost and the drive could not say whether the document
    was made. Do NOT repeat the command: reconcile with 30h/40h once the link is back."""

    def __init__(self, command: int, fd_before: int, detail: str, cause: object = None) -> None:
        self.detail = detail
        super().__init__(
            "%02Xh: answer lost, outcome unknown (last FD before %d): %s"
            % (command & 0xFF, fd_before, detail),
            command,
            fd_before,
            cause,
        )


class StorageError(RegisterError):
    """Flash storage failed (I/O error, full, short write); the OSError text is in the message."""


class JournalError(RegisterError):
    """The request journal cannot be used as asked: an unknown format, or a request id reused
    for a different request."""


class JournalFullError(JournalError):
    """The journal already holds its maximum of unfinished requests (back-pressure)."""


# ---- the OFD exchange (firmware/ofd.py) --------------------------------------------------
#
#   RegisterError
#   └── OfdError                 the exchange with the OFD failed (network or OFD side)
#       ├── OfdTimeout           no receipt within the receipt wait (§4.5: 300 s)
#       ├── OfdProtocolError     the OFD's answer breaks the session protocol (§4.1)
#       └── OfdReceiptRefused    the drive refused the OFD's receipt (26h answered 20h)


class OfdError(RegisterError):
    """The exchange with the OFD failed: no connection, a closed or broken one (§4)."""


class OfdTimeout(OfdError):  # noqa: N818 (the name the design uses)
    """No answer from the OFD within the receipt wait (§4.5: 300 s, configurable)."""


class OfdProtocolError(OfdError):
    """The OFD's answer breaks the session protocol: signature, sizes, CRC (§4.1)."""


class OfdReceiptRefused(OfdError):  # noqa: N818 (an outcome, read as one)
    """The drive refused the OFD's receipt for document `fd`: 26h answered 20h (§1.6).

    reason: 1 ФП, 2 format, 3 FD number, 4 FN number, 5 CRC (§1.4); cause: the DriveError.
    The document stays unconfirmed and will be sent again.
    """

    def __init__(self, fd: int, reason: int, cause: object = None) -> None:
        self.fd = fd
        self.reason = reason
        self.cause = cause
        super().__init__("the drive refused the OFD receipt for FD %d (reason %d)" % (fd, reason))


# ---- the register runtime (firmware/register.py) -------------------------------------------
#
#   RegisterError
#   └── RequestRefused       the runtime refuses a request before its document reaches the
#       │                    drive: .errors [(path, code, message)], .retryable
#       ├── TimeUntrusted    the clock is not trusted yet (trust_time), or the drive refused
#       │                    its time (07h, 17h, §1.8): nothing dated goes to the drive
#       ├── DocumentTooLarge the receipt's TLV is over the drive's 30 KB (§1.8): split it
#       └── WrongState       the drive or the shift is not in a state for this request


class RequestRefused(RegisterError):  # noqa: N818 (an outcome, read as one)
    """A request the runtime will not make a document for; nothing was fiscalised.

    errors: [(path, code, message)], every problem found; retryable: the same request may
    succeed later unchanged (the fleet may re-send it with the same id).
    """

    def __init__(self, errors: list, retryable: bool = False) -> None:
        self.errors = list(errors)
        self.retryable = retryable
        first = self.errors[0] if self.errors else ("", "refused", "refused")
        super().__init__("%s: %s (%s)" % (first[0] or "-", first[2], first[1]))


class TimeUntrusted(RequestRefused):
    """The register's clock is not trusted (NTP or the fleet has not confirmed it, or the
    drive refused it): documents carry the time, so none is made (DESIGN decision 6)."""


class DocumentTooLarge(RequestRefused):
    """The document's TLV exceeds what the drive takes (30 KB for a receipt, §1.8)."""


class WrongState(RequestRefused):
    """The drive or the shift is not in a state for the request (not registered, the
    fiscal mode closed, a shift already open...)."""


class MqttError(RegisterError):
    """The MQTT link failed: a malformed packet, a refused connection, a lost broker."""


class MqttProtocolError(MqttError):
    """The broker sent bytes that are not MQTT 3.1.1 (OASIS mqtt-v3.1.1 §2, §3)."""


class MqttRefusedError(MqttError):
    """CONNACK refused the connection; `code` is its return code (§3.2.2.3)."""

    def __init__(self, code: int) -> None:
        self.code = code
        why = {
            1: "unacceptable protocol version",
            2: "client identifier rejected",
            3: "server unavailable",
            4: "bad user name or password",
            5: "not authorised",
        }.get(code, "unknown reason")
        super().__init__("broker refused the connection: %d (%s)" % (code, why))
