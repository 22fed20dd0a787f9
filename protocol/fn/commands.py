"""Request and answer data of every fiscal drive (ФН) command, declared with construct.

This module is the readable spec and the test oracle for the drive's command layer
(reference/fiscal-protocols.md §1.6 v1.1 commands, §1.6a archive formats, §1.7 FN-1.2
additions). It knows nothing about framing: each Struct parses the DATA bytes of a frame,
i.e. ``frame[4:-2]`` once ``protocol/fn/frame.py`` has checked start byte, LEN and CRC::

    04 | LEN u16 LE | CMD or answer byte | DATA ... | CRC16 LE
                                          ^^^^^^^^^^ what these Structs parse

Every Struct ends with ``Terminated``: trailing bytes are an error, as are missing ones.
All errors are :class:`construct.ConstructError` subclasses.

Layout notes use ``+offset name type``; sizes are bytes. Trust markers per command:
``[V]`` read in the v1.1 spec (S1) as quoted in the reference; ``[2nd]`` secondary sources
only (emulator / third-party code); ``[rec]`` our own choice where the reference is silent.

Values are ints, ``str`` (ASCII fields with their padding), naive ``datetime``/``date``
and ``bytes`` for opaque TLV data; money is kopecks in an int. Enumerated bytes (operation
type, registration type…) are *not* range-checked here: refusing a bad value is the
drive's job (answer 09h), the layout only fixes where the byte is.

Public API::

    COMMANDS[code] -> Command(code, name_ru, name_en, request, answer, source)
    build_request(code, **values) -> bytes      parse_request(code, data) -> Container
    build_answer(code, **values) -> bytes       parse_answer(code, data) -> Container
    parse_error_answer(data) -> Container       (data of a non-zero answer code)
    parse_archive(doc_type, data) / build_archive(doc_type, **values)   (40h, §1.6a)
    as_dict(container) -> dict                  (without construct's private keys)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from construct import (
    Const,
    Construct,
    ConstructError,
    Container,
    GreedyBytes,
    Int8ul,
    Int16ul,
    Int32ul,
    Struct,
    Terminated,
    ValidationError,
)

from protocol.fn.codes import CommandCode, DocumentType
from protocol.fn.fields import (
    DATE,
    DATE_TIME,
    FD_NUMBER,
    FN_NUMBER,
    FP,
    INN,
    MAYBE_DATE,
    MAYBE_DATE_TIME,
    OFD_FP,
    RNM,
    UINT40,
    VERSION_ASCII,
    OptionalField,
)

__all__ = [
    "ARCHIVE_FORMATS",
    "ARCHIVE_TYPE_MASK",
    "COMMANDS",
    "ERROR_ANSWER",
    "RESET_MAGIC",
    "Command",
    "UnknownCodeError",
    "as_dict",
    "build_answer",
    "build_archive",
    "build_request",
    "get_command",
    "parse_answer",
    "parse_archive",
    "parse_error_answer",
    "parse_request",
]


class UnknownCodeError(ConstructError):  # type: ignore[misc]
    """A command code or archive document type that this spec does not declare."""


@dataclass(frozen=True)
class Command:
    """One drive command: its code, names and the layouts of its request and answer data.

    ``request``/``answer`` is ``None`` when that direction carries no data (only an empty
    DATA field is valid then). ``source`` is ``"V"`` or ``"2nd"`` (see module docstring).
    """

    code: CommandCode
    name_ru: str
    name_en: str
    request: Construct | None
    answer: Construct | None
    source: str = "V"


def _data(*fields: Any) -> Any:
    """Struct over the whole DATA field: the fields, then end of data."""
    return Struct(*fields, Terminated)


_NO_DATA: Final = _data()

# Answers shared by the «Сформировать …» commands: ФД number and ФП.
#   +0 fd u32 | +4 fp u32                                                           = 8
_FD_FP: Final = _data("fd" / FD_NUMBER, "fp" / FP)

# Request of every «Начать …» that takes only the document time (11h 13h 15h 17h 18h).
#   +0 date_time DATE_TIME                                                          = 5
_AT_TIME: Final = _data("date_time" / DATE_TIME)

# Request "document number" (40h 41h 45h).
#   +0 fd u32                                                                       = 4
_BY_FD: Final = _data("fd" / FD_NUMBER)

# Raw TLV data (07h, 44h, 46h, 47h): whole TLVs, decoded by the TLV layer, not here.
_TLV: Final = _data("tlv" / GreedyBytes)

RESET_MAGIC: Final = 0x16  # §1.6 60h: the parameter must be 16h (=22)

# ---- §1.6 [V] registration ---------------------------------------------------------------

# 02h request: +0 registration_type u8, optional (absent = 0 registration). The seen frame
# 04 01 00 02 EE DB has no data, so both 0 and 1 data bytes are valid.
_REGISTRATION_BEGIN_REQ: Final = _data("registration_type" / OptionalField(Int8ul))

# 03h request [V]:
#   +0 date_time DATE_TIME | +5 inn ASCII(12) | +17 rnm ASCII(20) | +37 tax_systems u8
#   | +38 work_mode u8 | [+39 reason u8, only after 02h type 2]                     = 39 / 40
_REGISTRATION_MAKE_REQ: Final = _data(
    "date_time" / DATE_TIME,
    "inn" / INN,
    "rnm" / RNM,
    "tax_systems" / Int8ul,  # TaxSystem bitmask, §1.9
    "work_mode" / Int8ul,  # WorkMode bitmask, §1.9
    "reason" / OptionalField(Int8ul),  # ReregistrationReason, tag 1101
)

# 05h request [V]: +0 date_time DATE_TIME | +5 rnm ASCII(20)                        = 25
_CLOSE_FISCAL_MODE_REQ: Final = _data("date_time" / DATE_TIME, "rnm" / RNM)

# ---- §1.6 [V] shifts and receipts --------------------------------------------------------

# 10h answer: +0 shift_open u8 (0 closed / 1 open) | +1 shift_number u16
#   | +3 receipt_number u16                                                          = 5
_SHIFT_PARAMETERS_ANS: Final = _data(
    "shift_open" / Int8ul, "shift_number" / Int16ul, "receipt_number" / Int16ul
)

# 12h / 14h answer: +0 shift_number u16 | +2 fd u32 | +6 fp u32                     = 10
_SHIFT_FD_FP: Final = _data("shift_number" / Int16ul, "fd" / FD_NUMBER, "fp" / FP)

# 16h request: +0 date_time DATE_TIME | +5 operation u8 (OperationType, tag 1054)
#   | +6 total_kop u40 LE                                                            = 11
# 16h answer:  +0 receipt_number u16 (in the shift) | +2 fd u32 | +6 fp u32         = 10
_RECEIPT_MAKE_REQ: Final = _data(
    "date_time" / DATE_TIME, "operation" / Int8ul, "total_kop" / UINT40
)
_RECEIPT_MAKE_ANS: Final = _data("receipt_number" / Int16ul, "fd" / FD_NUMBER, "fp" / FP)

# 19h answer: +0 fd u32 | +4 fp u32 | +8 unconfirmed_count u32
#   | +12 first_unconfirmed DATE (00 00 00 = none, [rec])                           = 15
_SETTLEMENT_REPORT_ANS: Final = _data(
    "fd" / FD_NUMBER,
    "fp" / FP,
    "unconfirmed_count" / Int32ul,
    "first_unconfirmed" / MAYBE_DATE,
)

# ---- §1.6 [V] OFD exchange ---------------------------------------------------------------

# 20h answer: +0 status u8 (OfdExchangeStatus bits) | +1 read_started u8
#   | +2 message_count u16 | +4 first_fd u32 | +8 first_date_time DATE_TIME (zero = none) = 13
_OFD_EXCHANGE_STATUS_ANS: Final = _data(
    "status" / Int8ul,
    "read_started" / Int8ul,
    "message_count" / Int16ul,
    "first_fd" / FD_NUMBER,
    "first_date_time" / MAYBE_DATE_TIME,
)

# 21h request: +0 connected u8 (0 down / 1 up)                                      = 1
_TRANSPORT_STATUS_REQ: Final = _data("connected" / Int8ul)

# 22h answer: +0 message_length u16                                                 = 2
_OFD_MESSAGE_READ_BEGIN_ANS: Final = _data("message_length" / Int16ul)

# 23h request: +0 offset u16 | +2 length u16 (max block size)                       = 4
# 23h answer:  the block, 0..length bytes
_OFD_MESSAGE_READ_BLOCK_REQ: Final = _data("offset" / Int16ul, "length" / Int16ul)
_OFD_MESSAGE_READ_BLOCK_ANS: Final = _data("data" / GreedyBytes)

# 26h request: the OFD message (container) as received, without the session header.
# 26h answer:  +0 ofd_answer_code u8 (tag 1022) | +1 operator_message STLV (may be empty)
_OFD_RECEIPT_REQ: Final = _data("message" / GreedyBytes)
_OFD_RECEIPT_ANS: Final = _data("ofd_answer_code" / Int8ul, "operator_message" / GreedyBytes)

# ---- §1.6 [V] drive information ----------------------------------------------------------

# 30h answer (§1.5 table 7):
#   +0 phase u8 (Phase) | +1 current_document u8 (CurrentDocument) | +2 document_data u8
#   | +3 shift_open u8 | +4 warnings u8 (WarningFlag) | +5 last_date_time DATE_TIME
#   (zero = no document yet, [rec]) | +10 fn_number ASCII(16) | +26 last_fd u32     = 30
_FN_STATUS_ANS: Final = _data(
    "phase" / Int8ul,
    "current_document" / Int8ul,
    "document_data" / Int8ul,
    "shift_open" / Int8ul,
    "warnings" / Int8ul,
    "last_date_time" / MAYBE_DATE_TIME,
    "fn_number" / FN_NUMBER,
    "last_fd" / FD_NUMBER,
)

# 31h answer: +0 fn_number ASCII(16)                                                = 16
_FN_NUMBER_ANS: Final = _data("fn_number" / FN_NUMBER)

# 32h answer: +0 valid_until DATE | +3 reregistrations_left u8
#   | +4 reregistrations_done u8                                                     = 5
_FN_VALIDITY_ANS: Final = _data(
    "valid_until" / DATE, "reregistrations_left" / Int8ul, "reregistrations_done" / Int8ul
)

# 33h answer: +0 version ASCII(16) | +16 software_type u8 (SoftwareType)            = 17
_FN_VERSION_ANS: Final = _data("version" / VERSION_ASCII, "software_type" / Int8ul)

# 35h answer: up to 256 bytes of vendor diagnostics, not decoded.
_FN_LAST_ERRORS_ANS: Final = _data("data" / GreedyBytes)

# ---- §1.6 [V] archive --------------------------------------------------------------------

# 40h answer: +0 document_type u8 (DocumentType) | +1 ofd_receipt u8 (1 = received)
#   | +2 data: archive record, see ARCHIVE_FORMATS / parse_archive (§1.6a)
_FIND_DOCUMENT_ANS: Final = _data(
    "document_type" / Int8ul, "ofd_receipt" / Int8ul, "data" / GreedyBytes
)

# 41h answer: +0 date_time DATE_TIME | +5 ofd_fp bytes(18) | +23 fd u32            = 27
_DOCUMENT_OFD_RECEIPT_ANS: Final = _data(
    "date_time" / DATE_TIME, "ofd_fp" / OFD_FP, "fd" / FD_NUMBER
)

# 42h answer: +0 count u16                                                          = 2
_UNCONFIRMED_COUNT_ANS: Final = _data("count" / Int16ul)

# 43h request [V]/[rec]: v1 has no data (the last registration); v2 has a report index
# byte. The two are told apart by length: 1 data byte = v2, none = v1.
_REGISTRATION_TOTALS_REQ: Final = _data("report_index" / OptionalField(Int8ul))

# 43h answer: +0 date_time DATE_TIME | +5 inn ASCII(12) | +17 rnm ASCII(20)
#   | +37 tax_systems u8 | +38 work_mode u8 | [+39 reason u8] | fd u32 | fp u32    = 47 / 48
# The optional reason sits *before* fd/fp, so it is present iff 9 bytes remain there.
_REGISTRATION_TOTALS_ANS: Final = _data(
    "date_time" / DATE_TIME,
    "inn" / INN,
    "rnm" / RNM,
    "tax_systems" / Int8ul,
    "work_mode" / Int8ul,
    "reason" / OptionalField(Int8ul, after=8),
    "fd" / FD_NUMBER,
    "fp" / FP,
)

# 44h request: v1 +0 tag u16 (= 2); v2 +0 report_index u8 | +1 tag u16 (= 3).
# tag FFFFh starts enumerating the parameters (read on with 47h). Answer: one TLV.
_REGISTRATION_PARAMETER_REQ: Final = _data(
    "report_index" / OptionalField(Int8ul, after=2), "tag" / Int16ul
)

# 45h answer: +0 document_tag u16 (STLV type, §2.2) | +2 length u16                = 4
# The document's TLVs are then read with 46h, one per call until answer 08h.
_DOCUMENT_TLV_BEGIN_ANS: Final = _data("document_tag" / Int16ul, "length" / Int16ul)

# 60h request: +0 magic u8 = 16h                                                    = 1
_RESET_FN_REQ: Final = _data("magic" / Const(RESET_MAGIC, Int8ul))

# ---- §1.7 [2nd] FN-1.1M / FN-1.2 ---------------------------------------------------------

# 3Ah answer: +0 ffd_current u8 | +1 ffd_max u8 (FfdVersion, tag 1209 codes)       = 2
_FN_FFD_VERSIONS_ANS: Final = _data("ffd_current" / Int8ul, "ffd_max" / Int8ul)

# 3Bh request: +0 date_time DATE_TIME (now)                                         = 5
# 3Bh answer:  +0 days_left u16                                                     = 2
_FN_DAYS_LEFT_ANS: Final = _data("days_left" / Int16ul)

# 3Dh answer: +0 archive_docs_left u32 (5-year storage, documents)
#   | +4 ofd_storage_kib_left u32 (30-day storage, KiB) | +8 notifications_percent u8 = 9
_FN_FREE_RESOURCE_ANS: Final = _data(
    "archive_docs_left" / Int32ul,
    "ofd_storage_kib_left" / Int32ul,
    "notifications_percent" / Int8ul,
)

# A2h request: +0 registration_type u8 (RegistrationType) | +1 ffd_version u8
#   (FfdVersion: 3 = 1.1, 4 = 1.2)                                                  = 2
_REGISTRATION_BEGIN_EXT_REQ: Final = _data("registration_type" / Int8ul, "ffd_version" / Int8ul)

# A3h request:
#   +0 date_time DATE_TIME | +5 inn ASCII(12) | +17 rnm ASCII(20) | +37 tax_systems u8
#   | +38 work_mode u8 | +39 extended_mode u8 (ExtendedMode) | +40 ofd_inn ASCII(12)
#   | +52 reason_codes u32 (tag 1205 bitmask)                                       = 56
_REGISTRATION_MAKE_EXT_REQ: Final = _data(
    "date_time" / DATE_TIME,
    "inn" / INN,
    "rnm" / RNM,
    "tax_systems" / Int8ul,
    "work_mode" / Int8ul,
    "extended_mode" / Int8ul,
    "ofd_inn" / INN,
    "reason_codes" / Int32ul,
)

# ---- §1.7 [2nd] FN-1.2 marking commands: PROVISIONAL layouts -----------------------------
# The FNS "Протокол ФН" for FFD 1.2 was not found (reference §7). These layouts follow the
# QEMU FN-1.2 slave model (S4 hw/i2c/fn_slave.c: its request/answer printers and handlers)
# and the reference §1.7 table; re-check every one against the FNS document.

# B0h answer (S4 prints 9 bytes):
#   +0 check_state u8 | +1 notification_state u8 | +2 command_flags u8
#   | +3 saved_results u8 | +4 codes_in_notification u8 | +5 notification_storage_percent u8
#   | +6 notification_queue u16 | +8 reserved u8 (sent by S4, meaning unknown)       = 9
_MARKING_STATUS_ANS: Final = _data(
    "check_state" / Int8ul,
    "notification_state" / Int8ul,
    "command_flags" / Int8ul,
    "saved_results" / Int8ul,
    "codes_in_notification" / Int8ul,
    "notification_storage_percent" / Int8ul,
    "notification_queue" / Int16ul,
    "reserved" / Int8ul,
)

# B1h request (§1.7 "first bytes: тип КМ, длина, КМ…"; S4 prints type and length):
#   +0 code_type u8 (tag 2100) | +1 code_length u8 | +2 marking_code: the КМ, then any
#   further parameters (kept raw: their layout is unknown)
# B1h answer (S4): +0 result u8 (tag 2004 bits) | +1 reason u8                     = 2
_MARKING_CODE_CHECK_REQ: Final = _data(
    "code_type" / Int8ul, "code_length" / Int8ul, "marking_code" / GreedyBytes
)
_MARKING_CODE_CHECK_ANS: Final = _data("result" / Int8ul, "reason" / Int8ul)

# B2h request (S4): +0 save u8 (1 save, 0 discard)                                  = 1
# B2h answer (S4): the saved check result byte when saving, nothing when discarding
_MARKING_CHECK_SAVE_REQ: Final = _data("save" / Int8ul)
_MARKING_CHECK_SAVE_ANS: Final = _data("check_result" / OptionalField(Int8ul))

# B5h request (§1.7 "DATE_TIME + TLV"): +0 date_time DATE_TIME | +5 tlv (whole TLVs)
# B5h answer: the request for the marking system (opaque bytes)
_MARKING_REQUEST_MAKE_REQ: Final = _data("date_time" / DATE_TIME, "tlv" / GreedyBytes)
_MARKING_REQUEST_MAKE_ANS: Final = _data("request" / GreedyBytes)

# B6h request: the marking system's answer as received | answer (S4): +0 result u8  = 1
_MARKING_ANSWER_REQ: Final = _data("answer" / GreedyBytes)
_MARKING_ANSWER_ANS: Final = _data("result" / Int8ul)

# B7h request (§1.7, S4): +0 extra_code u8 (1..3) | +1 tlv (whole TLVs, as 07h)
_MARKING_DOCUMENT_DATA_REQ: Final = _data("extra_code" / Int8ul, "tlv" / GreedyBytes)

# BAh answer (S4 prints 13 bytes; offsets 7..11 read as the first notification's time):
#   +0 state u8 | +1 queue_count u16 | +3 first_number u32
#   | +7 first_date_time DATE_TIME (zero = none) | +12 storage_percent u8            = 13
_NOTIFICATION_STATUS_ANS: Final = _data(
    "state" / Int8ul,
    "queue_count" / Int16ul,
    "first_number" / Int32ul,
    "first_date_time" / MAYBE_DATE_TIME,
    "storage_percent" / Int8ul,
)

# BBh answer (S4): +0 notification_length u16                                      = 2
_NOTIFICATION_READ_BEGIN_ANS: Final = _data("notification_length" / Int16ul)

# BCh request (S4, as 23h): +0 offset u16 | +2 length u16 | answer: the block
_NOTIFICATION_READ_BLOCK_REQ: Final = _data("offset" / Int16ul, "length" / Int16ul)
_NOTIFICATION_READ_BLOCK_ANS: Final = _data("data" / GreedyBytes)

# BFh request: the receipt for the notification as received (as 26h)
_NOTIFICATION_RECEIPT_REQ: Final = _data("receipt" / GreedyBytes)


_C = CommandCode
_TABLE: Final = (
    # §1.6 [V]
    Command(_C.REGISTRATION_BEGIN, "Начать отчёт о регистрации ККТ",
            "begin registration report", _REGISTRATION_BEGIN_REQ, None),
    Command(_C.REGISTRATION_MAKE, "Сформировать отчёт о регистрации (перерегистрации) ККТ",
            "make registration report", _REGISTRATION_MAKE_REQ, _FD_FP),
    Command(_C.CLOSE_FISCAL_MODE_BEGIN, "Начать закрытие фискального режима",
            "begin closing the fiscal mode", None, None),
    Command(_C.CLOSE_FISCAL_MODE, "Закрыть фискальный режим",
            "close the fiscal mode", _CLOSE_FISCAL_MODE_REQ, _FD_FP),
    Command(_C.CANCEL_DOCUMENT, "Отменить документ", "cancel document", None, None),
    Command(_C.SEND_DOCUMENT_DATA, "Передать данные документа",
            "send document data (whole TLVs)", _TLV, None),
    Command(_C.SHIFT_PARAMETERS, "Запрос параметров текущей смены",
            "current shift parameters", None, _SHIFT_PARAMETERS_ANS),
    Command(_C.OPEN_SHIFT_BEGIN, "Начать открытие смены",
            "begin opening a shift", _AT_TIME, None),
    Command(_C.OPEN_SHIFT, "Открыть смену", "open shift", None, _SHIFT_FD_FP),
    Command(_C.CLOSE_SHIFT_BEGIN, "Начать закрытие смены",
            "begin closing the shift", _AT_TIME, None),
    Command(_C.CLOSE_SHIFT, "Закрыть смену", "close shift", None, _SHIFT_FD_FP),
    Command(_C.RECEIPT_BEGIN, "Начать формирование чека (БСО)",
            "begin receipt (BSO)", _AT_TIME, None),
    Command(_C.RECEIPT_MAKE, "Сформировать чек", "make receipt",
            _RECEIPT_MAKE_REQ, _RECEIPT_MAKE_ANS),
    Command(_C.CORRECTION_RECEIPT_BEGIN, "Начать формирование чека коррекции (БСО коррекции)",
            "begin correction receipt (finished with 16h)", _AT_TIME, None),
    Command(_C.SETTLEMENT_REPORT_BEGIN, "Начать формирование отчёта о состоянии расчётов",
            "begin settlement state report", _AT_TIME, None),
    Command(_C.SETTLEMENT_REPORT_MAKE, "Сформировать отчёт о состоянии расчётов",
            "make settlement state report", None, _SETTLEMENT_REPORT_ANS),
    Command(_C.OFD_EXCHANGE_STATUS, "Получить статус информационного обмена",
            "OFD exchange status", None, _OFD_EXCHANGE_STATUS_ANS),
    Command(_C.TRANSPORT_STATUS, "Передать статус транспортного соединения с ОФД",
            "set transport connection status", _TRANSPORT_STATUS_REQ, None),
    Command(_C.OFD_MESSAGE_READ_BEGIN, "Начать чтение сообщения для ОФД",
            "begin reading the OFD message", None, _OFD_MESSAGE_READ_BEGIN_ANS),
    Command(_C.OFD_MESSAGE_READ_BLOCK, "Прочитать блок сообщения для ОФД",
            "read an OFD message block", _OFD_MESSAGE_READ_BLOCK_REQ,
            _OFD_MESSAGE_READ_BLOCK_ANS),
    Command(_C.OFD_MESSAGE_READ_CANCEL, "Отменить чтение сообщения для ОФД",
            "cancel reading the OFD message", None, None),
    Command(_C.OFD_MESSAGE_READ_FINISH, "Завершить чтение сообщения для ОФД",
            "finish reading the OFD message", None, None),
    Command(_C.OFD_RECEIPT, "Передать квитанцию от ОФД",
            "pass the OFD receipt to the drive", _OFD_RECEIPT_REQ, _OFD_RECEIPT_ANS),
    Command(_C.FN_STATUS, "Запрос статуса ФН", "drive status", None, _FN_STATUS_ANS),
    Command(_C.FN_NUMBER, "Запрос номера ФН", "drive number", None, _FN_NUMBER_ANS),
    Command(_C.FN_VALIDITY, "Запрос срока действия ФН",
            "drive validity", None, _FN_VALIDITY_ANS),
    Command(_C.FN_VERSION, "Запрос версии ФН", "drive firmware version",
            None, _FN_VERSION_ANS),
    Command(_C.FN_LAST_ERRORS, "Запрос последних ошибок ФН",
            "last drive errors (diagnostics)", None, _FN_LAST_ERRORS_ANS),
    Command(_C.FIND_DOCUMENT, "Найти фискальный документ по номеру",
            "find fiscal document by number", _BY_FD, _FIND_DOCUMENT_ANS),
    Command(_C.DOCUMENT_OFD_RECEIPT, "Запрос квитанции о получении ФД ОФД по номеру документа",
            "OFD receipt for a document", _BY_FD, _DOCUMENT_OFD_RECEIPT_ANS),
    Command(_C.UNCONFIRMED_COUNT, "Запрос количества ФД, на которые нет квитанции",
            "number of documents without an OFD receipt", None, _UNCONFIRMED_COUNT_ANS),
    Command(_C.REGISTRATION_TOTALS, "Запрос итогов фискализации",
            "registration totals", _REGISTRATION_TOTALS_REQ, _REGISTRATION_TOTALS_ANS),
    Command(_C.REGISTRATION_PARAMETER, "Запрос параметра фискализации",
            "registration parameter (TLV)", _REGISTRATION_PARAMETER_REQ, _TLV),
    Command(_C.DOCUMENT_TLV_BEGIN, "Запрос фискального документа в TLV формате",
            "fiscal document in TLV form: header", _BY_FD, _DOCUMENT_TLV_BEGIN_ANS),
    Command(_C.DOCUMENT_TLV_READ, "Чтение TLV фискального документа",
            "read the next document TLV", None, _TLV),
    Command(_C.REGISTRATION_TLV_READ, "Чтение TLV параметров фискализации",
            "read the next registration parameter TLV", None, _TLV),
    Command(_C.RESET_FN, "Сброс состояния ФН (только отладочная версия)",
            "reset the drive (debug firmware only)", _RESET_FN_REQ, None),
    # §1.7 [2nd]
    Command(_C.FN_FFD_VERSIONS, "Запрос формата ФН (версии ФФД)",
            "drive FFD versions", None, _FN_FFD_VERSIONS_ANS, "2nd"),
    Command(_C.FN_DAYS_LEFT, "Запрос оставшегося срока действия ФН",
            "days of validity left", _AT_TIME, _FN_DAYS_LEFT_ANS, "2nd"),
    Command(_C.FN_FREE_RESOURCE, "Запрос ресурса свободной памяти ФН",
            "free storage resource", None, _FN_FREE_RESOURCE_ANS, "2nd"),
    Command(_C.REGISTRATION_BEGIN_EXT, "Начать отчёт о регистрации ККТ (ФФД 1.1+)",
            "begin registration report (FFD 1.1+)", _REGISTRATION_BEGIN_EXT_REQ, None, "2nd"),
    Command(_C.REGISTRATION_MAKE_EXT, "Сформировать отчёт о регистрации ККТ (ФФД 1.1+)",
            "make registration report (FFD 1.1+)", _REGISTRATION_MAKE_EXT_REQ, _FD_FP, "2nd"),
    # §1.7 [2nd] FN-1.2 marking, provisional layouts (see above)
    Command(_C.MARKING_STATUS, "Запрос статуса ФН по работе с кодами маркировки",
            "marking status", None, _MARKING_STATUS_ANS, "2nd"),
    Command(_C.MARKING_CODE_CHECK, "Передать код маркировки для проверки в ФН",
            "check a marking code", _MARKING_CODE_CHECK_REQ, _MARKING_CODE_CHECK_ANS, "2nd"),
    Command(_C.MARKING_CHECK_SAVE, "Сохранить результаты проверки КМ",
            "save or discard the check result", _MARKING_CHECK_SAVE_REQ,
            _MARKING_CHECK_SAVE_ANS, "2nd"),
    Command(_C.MARKING_CHECK_CLEAR, "Очистить все результаты проверки КМ",
            "clear saved check results", None, None, "2nd"),
    Command(_C.MARKING_REQUEST_MAKE, "Сформировать запрос о коде маркировки",
            "make a marking-code request", _MARKING_REQUEST_MAKE_REQ,
            _MARKING_REQUEST_MAKE_ANS, "2nd"),
    Command(_C.MARKING_ANSWER, "Передать ответ на запрос о КМ",
            "pass the marking system's answer", _MARKING_ANSWER_REQ, _MARKING_ANSWER_ANS,
            "2nd"),
    Command(_C.MARKING_DOCUMENT_DATA, "Передать данные ФД с маркированными товарами",
            "send document data with marked goods", _MARKING_DOCUMENT_DATA_REQ, None, "2nd"),
    Command(_C.NOTIFICATION_STATUS, "Получить состояние по передаче уведомлений",
            "notification exchange status", None, _NOTIFICATION_STATUS_ANS, "2nd"),
    Command(_C.NOTIFICATION_READ_BEGIN, "Начать чтение уведомления",
            "begin reading a notification", None, _NOTIFICATION_READ_BEGIN_ANS, "2nd"),
    Command(_C.NOTIFICATION_READ_BLOCK, "Прочитать блок данных уведомления",
            "read a notification block", _NOTIFICATION_READ_BLOCK_REQ,
            _NOTIFICATION_READ_BLOCK_ANS, "2nd"),
    Command(_C.NOTIFICATION_READ_CANCEL, "Отменить чтение уведомления",
            "cancel reading the notification", None, None, "2nd"),
    Command(_C.NOTIFICATION_READ_FINISH, "Завершить чтение уведомления",
            "finish reading the notification", None, None, "2nd"),
    Command(_C.NOTIFICATION_RECEIPT, "Передать квитанцию на уведомление",
            "pass the notification receipt", _NOTIFICATION_RECEIPT_REQ, None, "2nd"),
)  # fmt: skip

COMMANDS: Final[Mapping[int, Command]] = {cmd.code: cmd for cmd in _TABLE}


# ---- archive records of 40h (§1.6a) [V] --------------------------------------------------

# Registration / registration change (1, 11):
#   +0 date_time DATE_TIME | +5 fd u32 | +9 fp u32 | +13 inn ASCII(12) | +25 rnm ASCII(20)
#   | +45 tax_systems u8 | +46 work_mode u8 | [+47 reason u8]                      = 47 / 48
_ARCHIVE_REGISTRATION: Final = _data(
    "date_time" / DATE_TIME,
    "fd" / FD_NUMBER,
    "fp" / FP,
    "inn" / INN,
    "rnm" / RNM,
    "tax_systems" / Int8ul,
    "work_mode" / Int8ul,
    "reason" / OptionalField(Int8ul),
)
# Receipt / BSO and their corrections (3, 4, 31, 41):
#   +0 date_time DATE_TIME | +5 fd u32 | +9 fp u32 | +13 operation u8 | +14 total_kop u40 = 19
_ARCHIVE_RECEIPT: Final = _data(
    "date_time" / DATE_TIME,
    "fd" / FD_NUMBER,
    "fp" / FP,
    "operation" / Int8ul,
    "total_kop" / UINT40,
)
# Shift open / close (2, 5): +0 date_time | +5 fd u32 | +9 fp u32 | +13 shift_number u16 = 15
_ARCHIVE_SHIFT: Final = _data(
    "date_time" / DATE_TIME, "fd" / FD_NUMBER, "fp" / FP, "shift_number" / Int16ul
)
# FN close (6): +0 date_time | +5 fd u32 | +9 fp u32 | +13 inn ASCII(12) | +25 rnm ASCII(20) = 45
_ARCHIVE_CLOSE_FN: Final = _data(
    "date_time" / DATE_TIME, "fd" / FD_NUMBER, "fp" / FP, "inn" / INN, "rnm" / RNM
)
# Settlement state report (21): +0 date_time | +5 fd u32 | +9 fp u32
#   | +13 unconfirmed_count u32 | +17 first_unconfirmed DATE_TIME (zero = none, [rec]) = 22
# NB: the 19h answer gives this date as DATE(3); the reference says DATE_TIME(5) here.
_ARCHIVE_SETTLEMENT: Final = _data(
    "date_time" / DATE_TIME,
    "fd" / FD_NUMBER,
    "fp" / FP,
    "unconfirmed_count" / Int32ul,
    "first_unconfirmed" / MAYBE_DATE_TIME,
)

_D = DocumentType
ARCHIVE_FORMATS: Final[Mapping[int, Construct]] = {
    _D.REGISTRATION: _ARCHIVE_REGISTRATION,
    _D.REGISTRATION_CHANGE: _ARCHIVE_REGISTRATION,
    _D.OPEN_SHIFT: _ARCHIVE_SHIFT,
    _D.CLOSE_SHIFT: _ARCHIVE_SHIFT,
    _D.RECEIPT: _ARCHIVE_RECEIPT,
    _D.BSO: _ARCHIVE_RECEIPT,
    _D.CORRECTION_RECEIPT: _ARCHIVE_RECEIPT,
    _D.CORRECTION_BSO: _ARCHIVE_RECEIPT,
    _D.CLOSE_FN: _ARCHIVE_CLOSE_FN,
    _D.SETTLEMENT_REPORT: _ARCHIVE_SETTLEMENT,
}

# [2nd] S7: archive exports may carry the FFD version in the top two bits of the document
# type (receipt 03h / 83h / C3h); every v1.1 type is below 40h, so the mask is harmless.
ARCHIVE_TYPE_MASK: Final = 0x3F

# Data of an answer with a non-zero code: empty, or (20h to 26h) one OfdRejectReason byte.
ERROR_ANSWER: Final = _data("reason" / OptionalField(Int8ul))


# ---- typed helpers -----------------------------------------------------------------------


def get_command(code: int) -> Command:
    """Return the declaration of command ``code``.

    :raises UnknownCodeError: the code is not declared here.
    """
    try:
        return COMMANDS[code]
    except KeyError:
        raise UnknownCodeError(f"unknown drive command {code:02X}h") from None


def _archive_format(doc_type: int) -> Construct:
    try:
        return ARCHIVE_FORMATS[doc_type & ARCHIVE_TYPE_MASK]
    except KeyError:
        raise UnknownCodeError(f"no archive format for document type {doc_type}") from None


def _field_names(fmt: Construct) -> tuple[set[str], set[str]]:
    """(all named fields, fields that must be given) of a top-level Struct."""
    names = {sc.name for sc in fmt.subcons if sc.name}
    required = {sc.name for sc in fmt.subcons if sc.name and not sc.flagbuildnone}
    return names, required


def _build(fmt: Construct | None, values: Mapping[str, Any], what: str) -> bytes:
    fmt = _NO_DATA if fmt is None else fmt
    names, required = _field_names(fmt)
    given = {k for k in values if not k.startswith("_")}
    if given - names or required - given:
        raise ValidationError(
            f"{what}: unknown fields {sorted(given - names)}, missing {sorted(required - given)}"
        )
    return bytes(fmt.build(dict(values)))


def _parse(fmt: Construct | None, data: bytes) -> Container:
    fmt = _NO_DATA if fmt is None else fmt
    return fmt.parse(bytes(data))


def build_request(code: int, **values: Any) -> bytes:
    r"""Build the request DATA of command ``code`` from field values.

    >>> build_request(0x21, connected=1)
    b'\x01'

    :raises construct.ConstructError: unknown code, unknown/missing fields, bad values.
    """
    return _build(get_command(code).request, values, f"request {code:02X}h")


def parse_request(code: int, data: bytes) -> Container:
    """Parse the request DATA (``frame[4:-2]``) of command ``code``.

    :raises construct.ConstructError: unknown code, wrong length, trailing bytes, bad values.
    """
    return _parse(get_command(code).request, data)


def build_answer(code: int, **values: Any) -> bytes:
    """Build the DATA of a successful answer to command ``code``.

    :raises construct.ConstructError: unknown code, unknown/missing fields, bad values.
    """
    return _build(get_command(code).answer, values, f"answer {code:02X}h")


def parse_answer(code: int, data: bytes) -> Container:
    """Parse the DATA of a successful (code 00h, warning bit allowed) answer to ``code``.

    For a non-zero answer code use :func:`parse_error_answer` instead.

    :raises construct.ConstructError: unknown code, wrong length, trailing bytes, bad values.
    """
    return _parse(get_command(code).answer, data)


def parse_error_answer(data: bytes) -> Container:
    """Parse the DATA of an answer with a non-zero code: ``reason`` is ``None`` or a byte.

    :raises construct.ConstructError: more than one byte.
    """
    return _parse(ERROR_ANSWER, data)


def parse_archive(doc_type: int, data: bytes) -> Container:
    """Parse the archive record that follows the two header bytes of a 40h answer (§1.6a).

    ``doc_type`` is the 40h answer's ``document_type`` (DocumentType; FFD bits above
    :data:`ARCHIVE_TYPE_MASK` are ignored).

    :raises UnknownCodeError: no archive format for this document type (e.g. 7).
    :raises construct.ConstructError: the record does not match the format.
    """
    return _parse(_archive_format(doc_type), data)


def build_archive(doc_type: int, **values: Any) -> bytes:
    """Build the archive record of a 40h answer for document type ``doc_type`` (§1.6a).

    :raises construct.ConstructError: unknown document type, unknown/missing fields, bad values.
    """
    return _build(_archive_format(doc_type), values, f"archive record {doc_type}")


def as_dict(value: Any) -> Any:
    """Return ``value`` with every Container turned into a dict without private keys."""
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [as_dict(v) for v in value]
    return value
