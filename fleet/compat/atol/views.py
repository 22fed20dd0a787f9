"""ATOL Online's answers: token, accepted, report (= callback), and its errors.

Statuses: "wait" (accepted or queued on a register), "done" (fiscalised; confirmed by the OFD
too), "fail" (not fiscalised). Errors are `{"error_id", "code", "text", "type"}`; codes, HTTP
statuses and texts as ATOL's service error table (API_atol_online_v4.pdf, document 5.15, §8.1,
reproduced in open-source SDKs: a PHP SDK's StatusErrorConstants, AtolOnlineNet's
AtolServiceErrorCodes; reference peers-and-regulations.md §1.2). docs/compat.md lists which
ones Oblako answers and the few numbers that are its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from fleet.compat.money import rubles
from fleet.compat.receipts import Made
from fleet.receipts.models import ReceiptStatus

__all__ = [
    "ERROR_STATUS",
    "ERR_BAD_REQUEST",
    "ERR_BAD_UUID",
    "ERR_DUPLICATE",
    "ERR_EXPIRED_TOKEN",
    "ERR_GROUP",
    "ERR_MEDIA_TYPE",
    "ERR_MISSING_TOKEN",
    "ERR_OPERATION",
    "ERR_SERVER",
    "ERR_VALIDATION",
    "ERR_WRONG_LOGIN",
    "FNS_SITE",
    "MSK",
    "TEXTS",
    "accepted",
    "error",
    "report",
    "status_of",
    "timestamp",
    "token_answer",
]

MSK: Final = dt.timezone(dt.timedelta(hours=3))
FNS_SITE: Final = "www.nalog.gov.ru"
DAEMON: Final = "oblako"

# (HTTP status, ATOL code)
ERR_MISSING_TOKEN: Final = (401, 10)
ERR_EXPIRED_TOKEN: Final = (401, 11)
ERR_WRONG_LOGIN: Final = (401, 12)
ERR_GROUP: Final = (401, 20)
ERR_BAD_UUID: Final = (400, 30)
ERR_OPERATION: Final = (400, 31)
ERR_VALIDATION: Final = (400, 32)
ERR_DUPLICATE: Final = (400, 33)
ERR_BAD_REQUEST: Final = (400, 40)
ERR_MEDIA_TYPE: Final = (415, 41)
ERR_SERVER: Final = (500, 50)

#: the `status` ATOL's table gives each error's answer (the others: null)
ERROR_STATUS: Final[dict[int, str]] = {30: "fail", 32: "fail", 33: "wait", 34: "wait"}

#: ATOL's texts ({0}, {1}: the values ATOL puts there)
TEXTS: Final[dict[int, str]] = {
    10: "Не распознан токен запроса",
    11: "Переданный токен не активен",
    12: "Неверный логин или пароль",
    20: "Код группы, указанный в запросе, не соответствует токену.",
    30: 'Передан некорректный UUID : "{0}". Необходимо повторить запрос с корректными данными',
    31: 'Операция "{0}" не поддерживается.',
    32: "Ошибка валидации входного чека. Ошибочные поля : {0}",
    33: "В системе существует чек с external_id : {0} и group_code: {1}",
    40: "Некорректный запрос.",
    41: "Некорректный Content-Type: {0}.",
    50: "Ошибка сервера. Обратитесь к Администратору.",
}


def timestamp(now: float) -> str:
    """ATOL's "dd.mm.yyyy HH:MM:SS" (Moscow time)."""
    return dt.datetime.fromtimestamp(now, MSK).strftime("%d.%m.%Y %H:%M:%S")


def error(code: int, text: str, kind: str = "system") -> dict[str, Any]:
    """An ATOL error object."""
    return {"error_id": str(uuid.uuid4()), "code": code, "text": text, "type": kind}


def token_answer(token: str | None, err: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """getToken's answer."""
    return {"error": err, "token": token, "timestamp": timestamp(now)}


def status_of(made: Made) -> str:
    """wait | done | fail."""
    status = made.receipt.status
    if status in (ReceiptStatus.FISCALISED, ReceiptStatus.CONFIRMED):
        return "done"
    if status == ReceiptStatus.FAILED:
        return "fail"
    return "wait"


def accepted(made: Made, now: float, err: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer to an operation: the UUID and "wait" (also for a repeat, error 33: ATOL
    documents status "wait" with the first UUID; the report tells the receipt's state)."""
    return {
        "uuid": made.compat.uuid,
        "status": "wait",
        "error": err,
        "timestamp": timestamp(now),
    }


def _receipt_datetime(document_time: str | None) -> str | None:
    if not document_time:
        return None
    try:
        at = dt.datetime.fromisoformat(document_time)
    except ValueError:
        return document_time
    return at.strftime("%d.%m.%Y %H:%M:%S")


def report(made: Made, now: float) -> dict[str, Any]:
    """The report (GET …/report/{uuid}) and the callback body: status, payload when done."""
    status = status_of(made)
    payload: dict[str, Any] | None = None
    err: dict[str, Any] | None = None
    part = made.parts[0] if made.parts else None
    if status == "done" and part is not None:
        payload = {
            "total": rubles(made.receipt.total),
            "fns_site": FNS_SITE,
            "fn_number": part.fn_number,
            "shift_number": part.shift_number,
            "receipt_datetime": _receipt_datetime(part.document_time),
            "fiscal_receipt_number": part.receipt_number,
            "fiscal_document_number": part.fd_number,
            "ecr_registration_number": made.rnm or "",
            "fiscal_document_attribute": int(part.fiscal_sign or 0),
            "ofd_inn": "",
            "ofd_receipt_url": "",
        }
    elif status == "fail":
        # retryable (nothing was made: no register answered in time) is ATOL's queue timeout,
        # code 1, type "timeout"; a refusal is type "driver" with Oblako's code 2 (ATOL's
        # driver codes are the register driver's own numbers, which Oblako's registers lack)
        err = error(
            1 if made.receipt.retryable else 2,
            made.receipt.failure or "Чек не пробит",
            "timeout" if made.receipt.retryable else "driver",
        )
    return {
        "uuid": made.compat.uuid,
        "error": err,
        "status": status,
        "payload": payload,
        "timestamp": timestamp(now),
        "group_code": made.compat.group_code or "",
        "daemon_code": DAEMON,
        "device_code": "" if part is None or part.register_id is None else str(part.register_id),
        "external_id": made.receipt.external_id,
        "callback_url": made.compat.callback_url or "",
        "warnings": None,
    }
