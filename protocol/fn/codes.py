"""Numbers of the fiscal drive (ФН) protocol: command codes, answer codes, flags, phases.

Sources: reference/fiscal-protocols.md §1.3–§1.9 (FN↔KKT protocol v1.1, S1) and §1.7
(FN-1.1M/1.2 additions, secondary sources). Entries marked ``[2nd]`` come from secondary
sources (emulator / third-party code) only; everything else was read in S1 as quoted there.

The enums carry the numbers; the ``*_RU`` mappings carry the Russian wording for display.
Wire structures use plain ``int`` values; wrap them in these enums when presenting them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final, TypeVar

from construct import BitsInteger, BitStruct, Flag

__all__ = [
    "ANSWER_BYTE",
    "ANSWER_CODE_MASK",
    "ANSWER_INFO",
    "ANSWER_MESSAGES_RU",
    "ANSWER_MESSAGES_RU_FN12",
    "COMMAND_ANSWER_MESSAGES_RU",
    "CURRENT_DOCUMENT_RU",
    "DOCUMENT_TYPE_RU",
    "EXTENDED_MODE_RU",
    "OFD_EXCHANGE_STATUS_RU",
    "OFD_REJECT_REASON_RU",
    "OPERATION_TYPE_RU",
    "PHASE_RU",
    "TAX_SYSTEM_RU",
    "WARNING_BIT",
    "WARNING_FLAG_RU",
    "WORK_MODE_RU",
    "AnswerCode",
    "AnswerInfo",
    "CommandCode",
    "CurrentDocument",
    "DocumentType",
    "ExtendedMode",
    "FfdVersion",
    "OfdExchangeStatus",
    "OfdRejectReason",
    "OperationType",
    "Phase",
    "RegistrationType",
    "ReregistrationReason",
    "SoftwareType",
    "TaxSystem",
    "WarningFlag",
    "WorkMode",
    "answer_message",
    "flag_names",
    "split_answer_byte",
]


# ---- command codes -----------------------------------------------------------------------


class CommandCode(IntEnum):
    """Command byte of a request frame (byte 3). One member per entry in ``COMMANDS``."""

    # §1.6 [V] registration and closing the fiscal mode
    REGISTRATION_BEGIN = 0x02  # Начать отчёт о регистрации ККТ
    REGISTRATION_MAKE = 0x03  # Сформировать отчёт о регистрации (перерегистрации)
    CLOSE_FISCAL_MODE_BEGIN = 0x04  # Начать закрытие фискального режима
    CLOSE_FISCAL_MODE = 0x05  # Закрыть фискальный режим
    # §1.6 [V] common to every document (§1.8)
    CANCEL_DOCUMENT = 0x06  # Отменить документ
    SEND_DOCUMENT_DATA = 0x07  # Передать данные документа
    # §1.6 [V] shifts, receipts, settlement report
    SHIFT_PARAMETERS = 0x10  # Запрос параметров текущей смены
    OPEN_SHIFT_BEGIN = 0x11  # Начать открытие смены
    OPEN_SHIFT = 0x12  # Открыть смену
    CLOSE_SHIFT_BEGIN = 0x13  # Начать закрытие смены
    CLOSE_SHIFT = 0x14  # Закрыть смену
    RECEIPT_BEGIN = 0x15  # Начать формирование чека (БСО)
    RECEIPT_MAKE = 0x16  # Сформировать чек
    CORRECTION_RECEIPT_BEGIN = 0x17  # Начать чек коррекции (БСО коррекции)
    SETTLEMENT_REPORT_BEGIN = 0x18  # Начать отчёт о состоянии расчётов
    SETTLEMENT_REPORT_MAKE = 0x19  # Сформировать отчёт о состоянии расчётов
    # §1.6 [V] information exchange with the OFD (§4.3)
    OFD_EXCHANGE_STATUS = 0x20  # Получить статус информационного обмена
    TRANSPORT_STATUS = 0x21  # Передать статус транспортного соединения
    OFD_MESSAGE_READ_BEGIN = 0x22  # Начать чтение сообщения для ОФД
    OFD_MESSAGE_READ_BLOCK = 0x23  # Прочитать блок сообщения
    OFD_MESSAGE_READ_CANCEL = 0x24  # Отменить чтение сообщения
    OFD_MESSAGE_READ_FINISH = 0x25  # Завершить чтение сообщения
    OFD_RECEIPT = 0x26  # Передать квитанцию от ОФД
    # §1.6 [V] drive information
    FN_STATUS = 0x30  # Запрос статуса ФН
    FN_NUMBER = 0x31  # Запрос номера ФН
    FN_VALIDITY = 0x32  # Запрос срока действия ФН
    FN_VERSION = 0x33  # Запрос версии ФН
    FN_LAST_ERRORS = 0x35  # Запрос последних ошибок ФН
    # §1.7 [2nd] FN-1.1M/1.2 drive information
    FN_FFD_VERSIONS = 0x3A  # Запрос формата ФН (версии ФФД)
    FN_DAYS_LEFT = 0x3B  # Оставшийся срок действия ФН
    FN_FREE_RESOURCE = 0x3D  # Ресурс свободной памяти
    # §1.6 [V] archive
    FIND_DOCUMENT = 0x40  # Найти ФД по номеру
    DOCUMENT_OFD_RECEIPT = 0x41  # Запрос квитанции ОФД по номеру ФД
    UNCONFIRMED_COUNT = 0x42  # Запрос количества ФД без квитанции
    REGISTRATION_TOTALS = 0x43  # Запрос итогов фискализации
    REGISTRATION_PARAMETER = 0x44  # Запрос параметра фискализации
    DOCUMENT_TLV_BEGIN = 0x45  # Запрос ФД в TLV формате
    DOCUMENT_TLV_READ = 0x46  # Чтение TLV фискального документа
    REGISTRATION_TLV_READ = 0x47  # Чтение TLV параметров фискализации
    # §1.6 [V] debug firmware only
    RESET_FN = 0x60  # Сброс состояния ФН
    # §1.7 [2nd] FFD 1.1+/1.2 registration
    REGISTRATION_BEGIN_EXT = 0xA2  # Начать отчёт о регистрации (ФФД 1.1+)
    REGISTRATION_MAKE_EXT = 0xA3  # Сформировать отчёт о регистрации (ФФД 1.1+)
    # §1.7 [2nd] FN-1.2 marked goods (КМ) and sale notifications; the codes are in two
    # independent lists (S4 and a C# FN tool), the byte layouts are provisional.
    MARKING_STATUS = 0xB0  # Запрос статуса ФН по работе с кодами маркировки
    MARKING_CODE_CHECK = 0xB1  # Передать код маркировки для проверки в ФН
    MARKING_CHECK_SAVE = 0xB2  # Сохранить результаты проверки КМ
    MARKING_CHECK_CLEAR = 0xB3  # Очистить все результаты проверки КМ
    MARKING_REQUEST_MAKE = 0xB5  # Сформировать запрос о коде маркировки
    MARKING_ANSWER = 0xB6  # Передать ответ на запрос о КМ
    MARKING_DOCUMENT_DATA = 0xB7  # Передать данные ФД с маркированными товарами
    NOTIFICATION_STATUS = 0xBA  # Получить состояние по передаче уведомлений
    NOTIFICATION_READ_BEGIN = 0xBB  # Начать чтение уведомления
    NOTIFICATION_READ_BLOCK = 0xBC  # Прочитать блок данных уведомления
    NOTIFICATION_READ_CANCEL = 0xBD  # Отменить чтение уведомления
    NOTIFICATION_READ_FINISH = 0xBE  # Завершить чтение уведомления
    NOTIFICATION_RECEIPT = 0xBF  # Передать квитанцию на уведомление


# ---- answer byte and answer codes (§1.3, §1.4) -------------------------------------------

WARNING_BIT: Final = 0x80  # §1.3: high bit = "a warning flag is set, read 30h"
ANSWER_CODE_MASK: Final = 0x7F  # §1.3: the answer code is the low 7 bits

# §1.3 [V]: byte 3 of an answer frame. BitStruct reads bits MSB first.
ANSWER_BYTE: Final = BitStruct(
    "warning" / Flag,  # bit 7
    "code" / BitsInteger(7),  # bits 6..0, an AnswerCode value
)


def split_answer_byte(value: int) -> tuple[int, bool]:
    """Split answer byte 3 into ``(code, warning)`` (§1.3): ``0x80`` -> ``(0, True)``."""
    return value & ANSWER_CODE_MASK, bool(value & WARNING_BIT)


class AnswerCode(IntEnum):
    """Answer code in the low 7 bits of byte 3 of an answer frame (§1.4 tables 4–5)."""

    OK = 0x00
    UNKNOWN_COMMAND = 0x01
    WRONG_STATE = 0x02
    FN_FAILURE = 0x03
    CRYPTO_FAILURE = 0x04
    FN_EXPIRED = 0x05
    ARCHIVE_FULL = 0x06
    BAD_DATE_TIME = 0x07
    NO_DATA = 0x08
    BAD_PARAMETER = 0x09
    MISSING_PARAMETERS = 0x0A  # [2nd] FN-1.1M/1.2
    FORBIDDEN_TAG = 0x0B  # [2nd] FN-1.1M/1.2
    DUPLICATE_TAG = 0x0C  # [2nd] FN-1.1M/1.2
    MISSING_DATA = 0x0D  # [2nd] FN-1.1M/1.2
    TLV_TOO_LARGE = 0x10
    NO_TRANSPORT = 0x11
    CRYPTO_RESOURCE_EXHAUSTED = 0x12
    STORAGE_EXHAUSTED = 0x14
    OFD_WAIT_EXHAUSTED = 0x15
    SHIFT_OVER_24H = 0x16
    BAD_TIME_DELTA = 0x17
    OFD_MESSAGE_REJECTED = 0x20  # the data holds one reason byte, see OfdRejectReason
    MARKING_FORBIDDEN = 0x32  # [2nd] FN-1.2
    MARKING_SEQUENCE = 0x33  # [2nd] FN-1.2
    MARKING_STORAGE_EXHAUSTED = 0x34  # [2nd] FN-1.2
    MARKING_TABLE_FULL = 0x35  # [2nd] FN-1.2


@dataclass(frozen=True)
class AnswerInfo:
    """What an answer code means and what a register should do about it.

    ``retryable``: the *same* command may succeed later without changing its parameters
    or the drive state by another document (e.g. 11h after the link is up and 21h sent).
    """

    text_ru: str
    meaning_en: str
    retryable: bool = False
    source: str = "V"  # "V" read in S1 (§1.4 tables 4–5); "2nd" secondary sources only


ANSWER_INFO: Final[Mapping[AnswerCode, AnswerInfo]] = {
    AnswerCode.OK: AnswerInfo("Успешное выполнение команды", "OK"),
    AnswerCode.UNKNOWN_COMMAND: AnswerInfo(
        "Неизвестная команда, неверный формат посылки или неизвестные параметры",
        "unknown command or bad data layout: a register bug",
    ),
    AnswerCode.WRONG_STATE: AnswerInfo(
        "Неверное состояние ФН", "command not allowed in this phase/document state; read 30h"
    ),
    AnswerCode.FN_FAILURE: AnswerInfo("Ошибка ФН", "drive failure; read 35h for details"),
    AnswerCode.CRYPTO_FAILURE: AnswerInfo("Ошибка КС", "crypto-coprocessor failure"),
    AnswerCode.FN_EXPIRED: AnswerInfo(
        "Закончен срок эксплуатации ФН", "drive validity expired: replace the drive"
    ),
    AnswerCode.ARCHIVE_FULL: AnswerInfo("Архив ФН переполнен", "archive full: replace the drive"),
    AnswerCode.BAD_DATE_TIME: AnswerInfo(
        "Неверные дата и/или время", "date/time violates the drive's time rules; fix the clock"
    ),
    AnswerCode.NO_DATA: AnswerInfo(
        "Нет запрошенных данных", "no such data; for 46h/47h: end of the list"
    ),
    AnswerCode.BAD_PARAMETER: AnswerInfo(
        "Некорректное значение параметров команды",
        "parameter value invalid (03h: RNM checksum; 16h: shift totals overflow)",
    ),
    AnswerCode.MISSING_PARAMETERS: AnswerInfo(
        "Не все необходимые параметры / некорректная команда",
        "required parameters missing",
        source="2nd",
    ),
    AnswerCode.FORBIDDEN_TAG: AnswerInfo(
        "Недопустимый реквизит в блоке данных", "tag not allowed in this document", source="2nd"
    ),
    AnswerCode.DUPLICATE_TAG: AnswerInfo(
        "Дублирование реквизита", "tag repeated in the document", source="2nd"
    ),
    AnswerCode.MISSING_DATA: AnswerInfo(
        "Отсутствуют необходимые данные", "required document data missing", source="2nd"
    ),
    AnswerCode.TLV_TOO_LARGE: AnswerInfo(
        "Превышение размеров TLV данных", "document TLV budget exceeded (§1.8)"
    ),
    AnswerCode.NO_TRANSPORT: AnswerInfo(
        "Нет транспортного соединения",
        "no transport connection: connect to the OFD, send 21h(1), retry",
        retryable=True,
    ),
    AnswerCode.CRYPTO_RESOURCE_EXHAUSTED: AnswerInfo(
        "Исчерпан ресурс КС", "crypto resource exhausted: close the fiscal mode"
    ),
    AnswerCode.STORAGE_EXHAUSTED: AnswerInfo(
        "Исчерпан ресурс хранения",
        "storage for unsent OFD documents exhausted: deliver them to the OFD",
    ),
    AnswerCode.OFD_WAIT_EXHAUSTED: AnswerInfo(
        "Исчерпан ресурс ожидания передачи сообщения",
        "oldest unsent message older than 30 days: deliver it to the OFD",
    ),
    AnswerCode.SHIFT_OVER_24H: AnswerInfo(
        "Продолжительность смены более 24 часов", "shift longer than 24 h: close the shift"
    ),
    AnswerCode.BAD_TIME_DELTA: AnswerInfo(
        "Неверная разница во времени между 2 операциями",
        "time step differs from the drive timer by more than 5 min",
    ),
    AnswerCode.OFD_MESSAGE_REJECTED: AnswerInfo(
        "Сообщение от ОФД не может быть принято",
        "OFD message rejected; the answer data holds a reason byte",
    ),
    AnswerCode.MARKING_FORBIDDEN: AnswerInfo(
        "Запрещена работа с маркированными товарами", "marking not allowed", source="2nd"
    ),
    AnswerCode.MARKING_SEQUENCE: AnswerInfo(
        "Неверная последовательность команд КМ", "wrong marking command order", source="2nd"
    ),
    AnswerCode.MARKING_STORAGE_EXHAUSTED: AnswerInfo(
        "Исчерпан ресурс хранения документов для ОИСМ",
        "storage for marking-system documents exhausted",
        source="2nd",
    ),
    AnswerCode.MARKING_TABLE_FULL: AnswerInfo(
        "Переполнена таблица проверенных КМ", "table of checked marking codes full", source="2nd"
    ),
}

ANSWER_MESSAGES_RU: Final[Mapping[AnswerCode, str]] = {
    code: info.text_ru for code, info in ANSWER_INFO.items()
}

# [2nd] S4/S6: FN-1.2 drives word these codes differently (§1.4).
ANSWER_MESSAGES_RU_FN12: Final[Mapping[AnswerCode, str]] = {
    AnswerCode.FN_EXPIRED: "Параметры команды не соответствуют сроку жизни ФН",
    AnswerCode.CRYPTO_RESOURCE_EXHAUSTED: "Исчерпан ресурс ФН",
    AnswerCode.STORAGE_EXHAUSTED: "Ограничение ресурса ФН",
}

# [V] §1.4: a few commands give a code their own meaning.
COMMAND_ANSWER_MESSAGES_RU: Final[Mapping[tuple[CommandCode, AnswerCode], str]] = {
    (CommandCode.OFD_RECEIPT, AnswerCode.FN_EXPIRED): "Неверное CRC16",  # table 63
    (CommandCode.RECEIPT_MAKE, AnswerCode.BAD_PARAMETER): "Переполнение итогов смены",
}


def answer_message(code: int, command: int | None = None, *, fn12: bool = False) -> str:
    """Return the Russian text of answer ``code`` (warning bit ignored).

    ``command`` selects a command-specific wording where the spec gives one; ``fn12``
    prefers the FN-1.2 wording. Unknown codes get a generic text with the hex value.
    """
    code &= ANSWER_CODE_MASK
    try:
        answer = AnswerCode(code)
    except ValueError:
        return f"Неизвестный код ответа {code:02X}h"
    if command is not None:
        try:
            specific = COMMAND_ANSWER_MESSAGES_RU.get((CommandCode(command), answer))
        except ValueError:
            specific = None
        if specific is not None:
            return specific
    if fn12 and answer in ANSWER_MESSAGES_RU_FN12:
        return ANSWER_MESSAGES_RU_FN12[answer]
    return ANSWER_MESSAGES_RU[answer]


class OfdRejectReason(IntEnum):
    """Reason byte after answer code 20h to 26h (§1.4, §4.3) [V]."""

    BAD_FP = 1
    BAD_FORMAT = 2
    BAD_FD_NUMBER = 3
    BAD_FN_NUMBER = 4
    BAD_CRC = 5


# The reference gives these in English only; Russian wording is ours.
OFD_REJECT_REASON_RU: Final[Mapping[OfdRejectReason, str]] = {
    OfdRejectReason.BAD_FP: "Неверный фискальный признак",
    OfdRejectReason.BAD_FORMAT: "Неверный формат квитанции",
    OfdRejectReason.BAD_FD_NUMBER: "Неверный номер ФД",
    OfdRejectReason.BAD_FN_NUMBER: "Неверный номер ФН",
    OfdRejectReason.BAD_CRC: "Неверное CRC",
}


# ---- lifecycle phase and status (§1.5 tables 6–9) ----------------------------------------


class Phase(IntEnum):
    """Lifecycle phase, status byte 0 of 30h (§1.5) [V]; one-way, bits accumulate.

    bit0 setup done, bit1 fiscal mode open, bit2 post-fiscal mode, bit3 OFD transfer over.
    """

    SETUP = 0x00
    READY = 0x01
    FISCAL = 0x03
    POST_FISCAL = 0x07
    ARCHIVE = 0x0F


PHASE_RU: Final[Mapping[Phase, str]] = {
    Phase.SETUP: "Настройка",
    Phase.READY: "Готовность к фискализации",
    Phase.FISCAL: "Фискальный режим",
    Phase.POST_FISCAL: "Постфискальный режим, идёт передача ФД в ОФД",
    Phase.ARCHIVE: "Чтение данных из архива ФН",
}


class CurrentDocument(IntEnum):
    """Open document, status byte 1 of 30h (§1.5 table 7) [V].

    The reference lists the values without a radix; they are read as hex (00h, 01h, 02h,
    04h, 08h, 10h, 11h…), which the one-bit-per-type run 01/02/04/08/10 suggests.
    """

    NONE = 0x00
    REGISTRATION = 0x01
    OPEN_SHIFT = 0x02
    RECEIPT = 0x04
    CLOSE_SHIFT = 0x08
    CLOSE_FISCAL_MODE = 0x10
    BSO = 0x11
    REREGISTRATION_FN_REPLACEMENT = 0x12
    REREGISTRATION = 0x13
    CORRECTION_RECEIPT = 0x14
    CORRECTION_BSO = 0x15
    SETTLEMENT_REPORT = 0x17


CURRENT_DOCUMENT_RU: Final[Mapping[CurrentDocument, str]] = {
    CurrentDocument.NONE: "Нет открытого документа",
    CurrentDocument.REGISTRATION: "Отчёт о регистрации",
    CurrentDocument.OPEN_SHIFT: "Отчёт об открытии смены",
    CurrentDocument.RECEIPT: "Кассовый чек",
    CurrentDocument.CLOSE_SHIFT: "Отчёт о закрытии смены",
    CurrentDocument.CLOSE_FISCAL_MODE: "Отчёт о закрытии фискального режима",
    CurrentDocument.BSO: "БСО",
    CurrentDocument.REREGISTRATION_FN_REPLACEMENT: "Отчёт о перерегистрации с заменой ФН",
    CurrentDocument.REREGISTRATION: "Отчёт о перерегистрации",
    CurrentDocument.CORRECTION_RECEIPT: "Кассовый чек коррекции",
    CurrentDocument.CORRECTION_BSO: "БСО коррекции",
    CurrentDocument.SETTLEMENT_REPORT: "Отчёт о текущем состоянии расчётов",
}


class WarningFlag(IntFlag):
    """Warning flags, status byte 4 of 30h (§1.5 table 9) [V]; FFD tags in comments."""

    URGENT_REPLACEMENT = 0x01  # 3 days left (tag 1051)
    RESOURCE_EXHAUSTION = 0x02  # 30 days left (tag 1050)
    MEMORY_FULL = 0x04  # archive 90 % full (tag 1052)
    OFD_TIMEOUT = 0x08  # OFD answer overdue (tag 1053)
    CRITICAL_ERROR = 0x80


WARNING_FLAG_RU: Final[Mapping[WarningFlag, str]] = {
    WarningFlag.URGENT_REPLACEMENT: "Срочная замена КС (до окончания срока действия 3 дня)",
    WarningFlag.RESOURCE_EXHAUSTION: "Исчерпание ресурса КС (до окончания срока действия 30 дней)",
    WarningFlag.MEMORY_FULL: "Переполнение памяти ФН (Архив ФН заполнен на 90 %)",
    WarningFlag.OFD_TIMEOUT: "Превышено время ожидания ответа ОФД",
    WarningFlag.CRITICAL_ERROR: "Критическая ошибка ФН",
}


class OfdExchangeStatus(IntFlag):
    """Status byte 0 of the 20h answer (§1.6) [V]."""

    TRANSPORT_UP = 0x01
    MESSAGE_PENDING = 0x02
    AWAITING_RECEIPT = 0x04
    OFD_COMMAND = 0x08
    SETTINGS_CHANGED = 0x10
    AWAITING_COMMAND_ANSWER = 0x20


OFD_EXCHANGE_STATUS_RU: Final[Mapping[OfdExchangeStatus, str]] = {
    OfdExchangeStatus.TRANSPORT_UP: "Транспортное соединение установлено",
    OfdExchangeStatus.MESSAGE_PENDING: "Есть сообщение для ОФД",
    OfdExchangeStatus.AWAITING_RECEIPT: "Ожидание квитанции от ОФД",
    OfdExchangeStatus.OFD_COMMAND: "Есть команда от ОФД",
    OfdExchangeStatus.SETTINGS_CHANGED: "Изменились настройки связи",
    OfdExchangeStatus.AWAITING_COMMAND_ANSWER: "Ожидание ответа на команду",
}


# ---- registration bitfields (§1.9) -------------------------------------------------------


class TaxSystem(IntFlag):
    """Код налогообложения, a bitmask = FFD tag 1055/1062 (§1.9 table 20) [V]."""

    OSN = 0x01
    USN_INCOME = 0x02
    USN_INCOME_EXPENSE = 0x04
    ENVD = 0x08
    ESKHN = 0x10
    PATENT = 0x20


TAX_SYSTEM_RU: Final[Mapping[TaxSystem, str]] = {
    TaxSystem.OSN: "Общая",
    TaxSystem.USN_INCOME: "УСН доход",
    TaxSystem.USN_INCOME_EXPENSE: "УСН доход минус расход",
    TaxSystem.ENVD: "ЕНВД",
    TaxSystem.ESKHN: "ЕСХН",
    TaxSystem.PATENT: "Патент",
}


class WorkMode(IntFlag):
    """Режим работы (§1.9 table 21) [V]; bits 6–7 are FFD 1.2 [2nd]."""

    ENCRYPTION = 0x01
    AUTONOMOUS = 0x02
    AUTOMATIC = 0x04
    SERVICES = 0x08
    BSO = 0x10  # else receipts
    INTERNET = 0x20
    CATERING = 0x40  # [2nd] S4
    WHOLESALE = 0x80  # [2nd] S4


WORK_MODE_RU: Final[Mapping[WorkMode, str]] = {
    WorkMode.ENCRYPTION: "Шифрование",
    WorkMode.AUTONOMOUS: "Автономный",
    WorkMode.AUTOMATIC: "Автоматический",
    WorkMode.SERVICES: "Услуги",
    WorkMode.BSO: "БСО (иначе чеки)",
    WorkMode.INTERNET: "Интернет",
    WorkMode.CATERING: "Общепит",
    WorkMode.WHOLESALE: "Оптовая торговля",
}


class ExtendedMode(IntFlag):
    """Additional work modes byte of A3h, FFD 1.2 (§1.9 "ext flags") [2nd] S4."""

    EXCISE = 0x01
    GAMBLING = 0x02
    LOTTERY = 0x04
    PRINTER_IN_MACHINE = 0x08
    MARKING = 0x10
    PAWNSHOP = 0x20
    INSURANCE = 0x40
    VENDING_MACHINE = 0x80


EXTENDED_MODE_RU: Final[Mapping[ExtendedMode, str]] = {
    ExtendedMode.EXCISE: "Подакцизные товары",
    ExtendedMode.GAMBLING: "Азартные игры",
    ExtendedMode.LOTTERY: "Лотерея",
    ExtendedMode.PRINTER_IN_MACHINE: "Принтер в автомате",
    ExtendedMode.MARKING: "Маркировка",
    ExtendedMode.PAWNSHOP: "Ломбард",
    ExtendedMode.INSURANCE: "Страхование",
    ExtendedMode.VENDING_MACHINE: "ККТ в автомате",
}


_F = TypeVar("_F", bound=IntFlag)


def flag_names(value: int, names: Mapping[_F, str]) -> list[str]:
    """Return the names of the bits of ``value`` found in ``names``, plus unknown bits in hex.

    >>> flag_names(0x09, WARNING_FLAG_RU)[1]
    'Превышено время ожидания ответа ОФД'
    """
    out: list[str] = []
    known = 0
    for flag, name in names.items():
        known |= int(flag)
        if value & int(flag):
            out.append(name)
    if value & ~known:
        out.append(f"неизвестные биты 0x{value & ~known:02X}")
    return out


# ---- small enumerations used by command parameters ---------------------------------------


class RegistrationType(IntEnum):
    """Parameter of 02h / A2h (§1.6) [V]."""

    REGISTRATION = 0
    REREGISTRATION_FN_REPLACEMENT = 1
    REREGISTRATION = 2  # 03h then carries a reason byte


class ReregistrationReason(IntEnum):
    """Код причины перерегистрации, FFD 1.0/1.05 tag 1101 (§1.9) [V]."""

    FN_REPLACEMENT = 1
    OFD_CHANGE = 2
    USER_DETAILS_CHANGE = 3
    KKT_SETTINGS_CHANGE = 4


class OperationType(IntEnum):
    """Тип операции of 16h, = FFD tag 1054 (§1.6, §2.4) [V]."""

    INCOME = 1
    INCOME_RETURN = 2
    EXPENSE = 3
    EXPENSE_RETURN = 4


OPERATION_TYPE_RU: Final[Mapping[OperationType, str]] = {
    OperationType.INCOME: "Приход",
    OperationType.INCOME_RETURN: "Возврат прихода",
    OperationType.EXPENSE: "Расход",
    OperationType.EXPENSE_RETURN: "Возврат расхода",
}


class SoftwareType(IntEnum):
    """Тип ПО in the 33h answer (§1.6) [V]."""

    DEBUG = 0
    SERIAL = 1


class FfdVersion(IntEnum):
    """FFD version codes as in tag 1209, used by 3Ah and A2h (§2.4, §1.7)."""

    FFD_1_0 = 1
    FFD_1_05 = 2
    FFD_1_1 = 3
    FFD_1_2 = 4


class DocumentType(IntEnum):
    """Fiscal document types = top-level STLV tags (§2.2); 40h answer byte 0 (§1.6a)."""

    REGISTRATION = 1
    REGISTRATION_CHANGE = 11
    OPEN_SHIFT = 2
    SETTLEMENT_REPORT = 21
    RECEIPT = 3
    CORRECTION_RECEIPT = 31
    BSO = 4
    CORRECTION_BSO = 41
    CLOSE_SHIFT = 5
    CLOSE_FN = 6
    OPERATOR_ACK = 7


DOCUMENT_TYPE_RU: Final[Mapping[DocumentType, str]] = {
    DocumentType.REGISTRATION: "Отчёт о регистрации",
    DocumentType.REGISTRATION_CHANGE: "Отчёт об изменении параметров регистрации",
    DocumentType.OPEN_SHIFT: "Отчёт об открытии смены",
    DocumentType.SETTLEMENT_REPORT: "Отчёт о текущем состоянии расчётов",
    DocumentType.RECEIPT: "Кассовый чек",
    DocumentType.CORRECTION_RECEIPT: "Кассовый чек коррекции",
    DocumentType.BSO: "БСО",
    DocumentType.CORRECTION_BSO: "БСО коррекции",
    DocumentType.CLOSE_SHIFT: "Отчёт о закрытии смены",
    DocumentType.CLOSE_FN: "Отчёт о закрытии ФН",
    DocumentType.OPERATOR_ACK: "Подтверждение оператора",
}
