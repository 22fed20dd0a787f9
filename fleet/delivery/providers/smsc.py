"""SMS, Viber, ВКонтакте and Одноклассники by the buyer's phone through an SMSC.ru gateway.

The API shape is SMSC.ru's «HTTP/HTTPS протокол» (https://smsc.ru/api/http/, the same service
as smscentre.com; its official client libraries show the channel flags), read from the docs:

* **send** — ``POST <url>/sys/send.php``: ``login`` + ``psw`` (or ``apikey`` alone), ``phones``,
  ``mes``, ``id`` (the client's message id), ``sender``, ``charset=utf-8``, ``fmt=3`` (JSON),
  ``cost=3`` (answer with the price and the balance left); a messenger by a flag: ``viber=1``,
  ``soc=1`` (social networks: Одноклассники and ВКонтакте by the phone number). Answer
  ``{"id", "cnt", "cost", "balance"}`` or ``{"error", "error_code"}``: 1 parameters,
  2 login/password (or IP) refused, 3 no money, 4 IP blocked for errors, 5 date format,
  6 message forbidden, 7 bad number format, 8 cannot be delivered to the number, 9 too many
  identical or concurrent requests.
* **status** — ``POST <url>/sys/status.php``: ``phone``, ``id``, ``fmt=3`` → ``{"status", "err",
  …}``: -3 not found, -1 waiting, 0 handed to the operator, 1 delivered, 2 read, 3 expired,
  4 link followed, 20 undeliverable, 22 bad number, 23 prohibited, 24 no money, 25 number
  unavailable.
* **delivery report** — the gateway POSTs ``id``, ``phone``, ``status``, ``err`` to the handler
  URL set in the account (`callback.py` → the reports table, read by `report`).

Credentials travel in the POST body, never in the URL (proxies and httpx's own log print URLs)
and never in an error or a log line. Idempotency: the message id is derived from the attempt's
key, so a re-send names the same message; before any send of a key (the worker re-sends an
attempt a crash left unconfirmed, or one an outage refused), after a timeout and after a
duplicate refusal (9), the adapter asks the status of that id and sends nothing when the
gateway has it. Rate limits and network failures are retried here a few times with backoff;
what still fails is a typed refusal (`errors.py`) with ``retry_later``, and the worker keeps
the attempt queued and tries again later within the channel's wait; a permanent refusal makes
the cascade take the next channel at once. A failure by report keeps the gateway's status and
error codes with their meaning (`describe`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Protocol

import httpx

from fleet.core.phone import BadPhoneError, normalise_phone
from fleet.delivery.message import Outgoing
from fleet.delivery.providers.errors import (
    InvalidNumberError,
    MessageRejectedError,
    ProviderAuthError,
    ProviderBalanceError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderUnavailableError,
)

__all__ = ["DEFAULT_FLAGS", "ReportSource", "SmscProvider", "client_id", "describe", "verdict"]

log = logging.getLogger(__name__)

#: the send.php flag that picks the channel (none: an SMS)
DEFAULT_FLAGS: Final[Mapping[str, Mapping[str, str]]] = {
    "sms": {},
    "viber": {"viber": "1"},
    "vk": {"soc": "1"},
    "ok": {"soc": "1"},
}

_DELIVERED: Final = frozenset({1, 2, 4})
_FAILED: Final = frozenset({3, 20, 22, 23, 24, 25})
_NOT_FOUND: Final = -3
_DUPLICATE: Final = 9

_SEND_ERRORS: Final[dict[int, tuple[type[ProviderError], str]]] = {
    1: (MessageRejectedError, "ошибка в параметрах запроса"),
    2: (ProviderAuthError, "неверный логин или пароль (ключ API), или IP-адрес не разрешён"),
    3: (ProviderBalanceError, "недостаточно средств на счёте у провайдера"),
    4: (ProviderRateLimitedError, "IP-адрес временно заблокирован из-за частых ошибок"),
    5: (MessageRejectedError, "неверный формат даты"),
    6: (MessageRejectedError, "сообщение запрещено (текст или имя отправителя)"),
    7: (InvalidNumberError, "неверный формат номера телефона"),
    8: (InvalidNumberError, "сообщение на этот номер не может быть доставлено"),
    9: (ProviderRateLimitedError, "слишком много одинаковых или одновременных запросов"),
}

_ID_SAFE = re.compile(r"[A-Za-z0-9-]{1,40}")


def client_id(key: str) -> str:
    """The gateway's message id for the attempt ``key`` (``12:1:sms`` → ``12-1-sms``): the same
    key always names the same message; a key that does not fit becomes a digest."""
    text = key.replace(":", "-")
    if _ID_SAFE.fullmatch(text):
        return text
    return "h" + hashlib.sha256(key.encode()).hexdigest()[:32]


#: the final statuses' meaning (status.php and the delivery report)
_STATUS_TEXT: Final[dict[int, str]] = {
    1: "доставлено",
    2: "прочитано",
    3: "просрочено",
    4: "переход по ссылке",
    20: "невозможно доставить",
    22: "неверный номер",
    23: "запрещено",
    24: "недостаточно средств",
    25: "недоступный номер",
}
#: the operator's reasons (``err`` of a status, SMSC's «коды ошибок статусов»); others by number
_ERR_TEXT: Final[dict[int, str]] = {
    1: "абонент не существует",
    6: "абонент не в сети",
    11: "нет услуги SMS",
    12: "ошибка в телефоне абонента",
    13: "абонент заблокирован",
    21: "нет поддержки сервиса",
    219: "замена SIM-карты",
    220: "переполнена очередь у оператора",
}


def describe(status: int, err: int | None) -> str:
    """The gateway's word on a message for the attempt's record: ``SMSC: статус 20
    (невозможно доставить), ошибка 1 (абонент не существует)`` — codes kept, meaning added."""
    text = f"SMSC: статус {status}"
    if status in _STATUS_TEXT:
        text += f" ({_STATUS_TEXT[status]})"
    if err:  # 0: no error
        text += f", ошибка {err}" + (f" ({_ERR_TEXT[err]})" if err in _ERR_TEXT else "")
    return text


def verdict(status: int | None) -> str:
    """'delivered', 'failed' or 'accepted' (no final word yet) for an SMSC message status."""
    if status in _DELIVERED:
        return "delivered"
    if status in _FAILED:
        return "failed"
    return "accepted"


class ReportSource(Protocol):
    """Where delivery reports posted back by the gateway are kept (reports.StoredReports)."""

    def get(self, provider_id: str) -> tuple[str, str | None] | None:
        """(``delivered`` | ``failed``, detail) or None."""
        ...


@dataclass
class SmscProvider:
    """The phone channels' `cascade.Provider` over one SMSC account."""

    idempotent: ClassVar[bool] = True  # a re-send with the attempt's key sends nothing twice

    url: str  # https://smsc.ru (the simulator: http://127.0.0.1:port)
    login: str | None
    secret: str = field(repr=False)  # the password, or the API key when ``login`` is empty
    sender: str | None = None
    flags: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_FLAGS))
    reports: ReportSource | None = None
    poll_status: bool = True  # ask status.php while no delivery report has come
    check_first: bool = True  # ask status.php before sending a key (it may be there)
    timeout_s: float = 5.0
    tries: int = 3
    backoff_s: float = 0.5
    max_wait_s: float = 5.0  # the longest pause a rate limit may ask of a sending thread
    prefix: str = "smsc"
    _client: httpx.Client | None = field(default=None, repr=False)
    _phones: OrderedDict[str, str] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- the Provider contract ------------------------------------------------------------

    def send(self, channel: str, address: str, message: Outgoing | str, key: str) -> str:
        """Hand the message over; the provider id is ``<prefix>:<client id>``."""
        if channel not in self.flags:
            raise MessageRejectedError(f"SMSC: канал «{channel}» у провайдера не подключён")
        try:
            phone = normalise_phone(address)
        except BadPhoneError:
            raise InvalidNumberError("SMSC: номер покупателя записан неверно") from None
        cid = client_id(key)
        pid = f"{self.prefix}:{cid}"
        self._remember(cid, phone)
        # a key comes again only when it may have gone before: a crash left the attempt
        # queued, or an earlier send of it ended in an outage (a timeout may hide a success)
        # and the worker tries again later; the gateway refuses only identical requests within
        # a minute, so it is asked first (a first send of a key is asked too: after a crash this
        # process cannot tell)
        if self.check_first and self._known(phone, cid):
            return pid
        text = message.text if isinstance(message, Outgoing) else message
        form = {
            **self._auth(),
            "phones": phone,
            "mes": text,
            "id": cid,
            "charset": "utf-8",
            "fmt": "3",
            "cost": "3",
            **self.flags[channel],
        }
        if self.sender:
            form["sender"] = self.sender
        last: ProviderError | None = None
        for attempt in range(max(1, self.tries)):
            if last is not None:
                self._pause(last, attempt)
                if self._known(phone, cid):  # an earlier try got through after all
                    return pid
            try:
                answer = self._post("send.php", form)
            except ProviderError as exc:
                if not exc.retry_later:
                    raise
                last = exc
                continue
            code = _int(answer.get("error_code"))
            if code is None and "id" in answer:
                return pid
            error = self._send_error(code)
            if code == _DUPLICATE and self._known(phone, cid):
                return pid
            if not error.retry_later:
                if isinstance(error, (ProviderAuthError, ProviderBalanceError)):
                    log.error("%s: канал %s не работает", error, channel)
                raise error
            last = error
        raise last if last is not None else ProviderUnavailableError("SMSC: нет ответа")

    def report(self, provider_id: str) -> str:
        """'delivered' / 'failed' by the kept report, else by status.php, else 'accepted'."""
        if self.reports is not None:
            kept = self.reports.get(provider_id)
            if kept is not None:
                word, detail = kept
                return f"{word}:{detail}" if word == "failed" and detail else word
        cid = provider_id.partition(":")[2]
        with self._lock:
            phone = self._phones.get(cid)
        if not self.poll_status or phone is None:  # after a restart: the reports decide
            return "accepted"
        try:
            status, err = self._status(phone, cid)
        except ProviderError as exc:
            log.warning("%s: статус %s не получен", exc, provider_id)
            return "accepted"
        outcome = verdict(status)
        if outcome == "failed" and status is not None:
            return f"failed:{describe(status, err)}"
        return outcome

    def close(self) -> None:
        """Close the HTTP connections."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # --- the wire -------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if self.login:
            return {"login": self.login, "psw": self.secret}
        return {"apikey": self.secret}

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout_s)
            return self._client

    def _post(self, method: str, form: Mapping[str, str]) -> dict[str, Any]:
        """One call; every failure is a typed error that quotes neither the URL nor the form."""
        try:
            response = self._http().post(f"{self.url.rstrip('/')}/sys/{method}", data=form)
        except httpx.TimeoutException:
            raise ProviderUnavailableError(f"SMSC: нет ответа за {self.timeout_s:g} с") from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"SMSC: сеть: {type(exc).__name__}") from None
        if response.status_code == 429:
            wait = _float(response.headers.get("Retry-After"))
            raise ProviderRateLimitedError(
                "SMSC: слишком много запросов (HTTP 429)", self.backoff_s if wait is None else wait
            )
        if response.status_code >= 500:
            raise ProviderUnavailableError(f"SMSC: сервер ответил HTTP {response.status_code}")
        if response.status_code != 200:
            raise MessageRejectedError(f"SMSC: запрос отклонён (HTTP {response.status_code})")
        try:
            answer = response.json()
        except ValueError:
            raise ProviderUnavailableError("SMSC: ответ не в формате JSON") from None
        if not isinstance(answer, dict):
            raise ProviderUnavailableError("SMSC: ответ не в формате API")
        return answer

    def _send_error(self, code: int | None) -> ProviderError:
        if code is None:
            return ProviderUnavailableError("SMSC: ответ без идентификатора сообщения")
        kind, text = _SEND_ERRORS.get(code, (MessageRejectedError, "отказ"))
        message = f"SMSC: {text} (код {code})"
        if kind is ProviderRateLimitedError:
            return ProviderRateLimitedError(message, 60.0 if code == 4 else self.backoff_s)
        return kind(message)

    def _status(self, phone: str, cid: str) -> tuple[int | None, int | None]:
        """(status, err) of message ``cid``; (None, None) when the gateway answered an error."""
        answer = self._post("status.php", {**self._auth(), "phone": phone, "id": cid, "fmt": "3"})
        code = _int(answer.get("error_code"))
        if code == 2:
            raise ProviderAuthError("SMSC: неверный логин или пароль (ключ API) (код 2)")
        if code is not None:
            return None, None
        return _int(answer.get("status")), _int(answer.get("err"))

    def _known(self, phone: str, cid: str) -> bool:
        """Does the gateway have message ``cid`` already (so a re-send must not happen)?"""
        try:
            status, _ = self._status(phone, cid)
        except ProviderError:
            return False
        return status is not None and status != _NOT_FOUND

    def _pause(self, error: ProviderError, attempt: int) -> None:
        wait = (
            (error.retry_after_s or 0.0)
            if isinstance(error, ProviderRateLimitedError)
            else self.backoff_s * 2 ** (attempt - 1)
        )
        time.sleep(min(wait, self.max_wait_s))

    def _remember(self, cid: str, phone: str) -> None:
        """The phone of a message, for status queries (bounded: reports cover the rest)."""
        with self._lock:
            self._phones[cid] = phone
            self._phones.move_to_end(cid)
            while len(self._phones) > 50_000:
                self._phones.popitem(last=False)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
