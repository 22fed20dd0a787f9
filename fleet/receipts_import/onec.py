"""The 1CClientBankExchange statement format, sans-IO: ``parse(bytes) -> Statement`` and back.

The format (1С «Обмен с системами Клиент банка», version 1.03, v8.1c.ru/edi/edi_stnd/100/101.htm):
text lines ``Ключ=Значение``; the first line is ``1CClientBankExchange``; header keys
(``ВерсияФормата``, ``Кодировка`` = ``Windows`` (cp1251) or ``DOS`` (cp866), ``Отправитель``,
``Получатель``, ``ДатаСоздания``, ``ВремяСоздания``, ``ДатаНачала``, ``ДатаКонца``, one
``РасчСчет`` per account, ``Документ`` kinds); per account a ``СекцияРасчСчет`` …
``КонецРасчСчет`` with the balances; each document ``СекцияДокумент=<вид>`` …
``КонецДокумента``; ``КонецФайла`` last. Dates are ``дд.мм.гггг``, sums rubles with a dot
(``1500.00``). Unknown keys are kept (``Document.extra``), as banks add their own.

Only what a receipt needs is typed: the payment's number, date, sum, both sides' accounts,
names and ИНН, the purpose and the credit/debit dates. Every refusal is a `RegistryFormatError`
or `RegistryFieldError` naming the 1-based line and the key; nothing is half-read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Final

from fleet.receipts_import.exceptions import RegistryFieldError, RegistryFormatError

__all__ = [
    "HEADER",
    "PAYMENT_ORDER",
    "AccountSection",
    "Document",
    "Statement",
    "encode",
    "kopecks",
    "parse",
    "rubles",
]

HEADER: Final = "1CClientBankExchange"
PAYMENT_ORDER: Final = "Платежное поручение"
_ENCODINGS: Final = {"windows": "cp1251", "dos": "cp866"}
_SUM = re.compile(r"^([0-9]{1,13})(?:[.,]([0-9]{1,2}))?$")
_ACCOUNT = re.compile(r"^[0-9]{20}$")
_INN = re.compile(r"^([0-9]{10}|[0-9]{12})$")
_DATE = re.compile(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$")
#: document keys read into typed fields (the rest go to ``extra``)
_DOC_KEYS: Final = (
    "Номер",
    "Дата",
    "Сумма",
    "ПлательщикСчет",
    "Плательщик",
    "ПлательщикИНН",
    "ПолучательСчет",
    "Получатель",
    "ПолучательИНН",
    "НазначениеПлатежа",
    "ДатаПоступило",
    "ДатаСписано",
)
_ACCOUNT_KEYS: Final = (
    "ДатаНачала",
    "ДатаКонца",
    "РасчСчет",
    "НачальныйОстаток",
    "ВсегоПоступило",
    "ВсегоСписано",
    "КонечныйОстаток",
)


@dataclass(frozen=True)
class AccountSection:
    """``СекцияРасчСчет``: one account's balances over the period (kopecks)."""

    account: str
    date_from: dt.date
    date_to: dt.date | None = None
    opening: int | None = None
    incoming: int | None = None
    outgoing: int | None = None
    closing: int | None = None


@dataclass(frozen=True)
class Document:
    """One ``СекцияДокумент``; ``line`` is where its section starts (1-based)."""

    kind: str
    number: str
    date: dt.date
    amount: int  # kopecks, > 0
    payer_account: str = ""
    payer: str = ""
    payer_inn: str = ""
    payee_account: str = ""
    payee: str = ""
    payee_inn: str = ""
    purpose: str = ""
    received: dt.date | None = None  # ДатаПоступило: credited to the payee's account
    written_off: dt.date | None = None  # ДатаСписано: debited from the payer's account
    extra: tuple[tuple[str, str], ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Statement:
    """A whole file: header, account sections, documents (in file order)."""

    accounts: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    version: str = "1.03"
    encoding: str = "Windows"
    sender: str = ""
    receiver: str = ""
    sections: tuple[AccountSection, ...] = ()
    documents: tuple[Document, ...] = ()

    def incoming(self) -> list[Document]:
        """Payment orders credited to one of the statement's accounts from someone else's."""
        own = set(self.accounts)
        return [
            d
            for d in self.documents
            if d.kind.lower().replace("ё", "е") == PAYMENT_ORDER.lower()
            and d.payee_account in own
            and d.payer_account not in own
        ]


def kopecks(text: str, line: int, key: str, *, positive: bool = False) -> int:
    """A sum in rubles (``1500.00``, ``1500``, ``1500,5``) as kopecks."""
    m = _SUM.match(text.strip())
    if m is None:
        raise RegistryFieldError(line, key, f"сумма «{text}» — ожидается число вида 1500.00")
    value = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if positive and value <= 0:
        raise RegistryFieldError(line, key, "сумма должна быть больше нуля")
    return value


def rubles(amount: int) -> str:
    """Kopecks as the format writes them: ``1500.00``."""
    return f"{amount // 100}.{amount % 100:02d}"


def _date(text: str, line: int, key: str) -> dt.date:
    value = text.strip()
    if _DATE.match(value):
        try:
            return dt.datetime.strptime(value, "%d.%m.%Y").date()
        except ValueError:
            pass
    raise RegistryFieldError(line, key, f"дата «{text}» — ожидается ДД.ММ.ГГГГ")


def _day(d: dt.date) -> str:
    return d.strftime("%d.%m.%Y")


def decode(data: bytes) -> list[str]:
    """The file's lines: UTF-8 with a BOM, else the ``Кодировка`` the header names."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise RegistryFormatError(
                data[: e.start].count(b"\n") + 1, None, "файл с меткой UTF-8 не в UTF-8"
            ) from None
    # the key itself is Cyrillic: look for it as either code page writes it; its value
    # (ASCII) decides; no key: Windows, as 1С writes by default
    codec = "cp1251"
    for cp in ("cp1251", "cp866"):
        key = "Кодировка=".encode(cp)
        at = data.find(key)
        if at < 0:
            continue
        end = data.find(b"\n", at)
        value = data[at + len(key) : end if end >= 0 else len(data)].decode("latin-1").strip()
        found = _ENCODINGS.get(value.lower())
        if found is None:
            line = data[:at].count(b"\n") + 1
            raise RegistryFieldError(line, "Кодировка", f"«{value}» — ожидается Windows или DOS")
        codec = found
        break
    return data.decode(codec, errors="strict").splitlines()


def parse(data: bytes) -> Statement:
    """Read a statement file, or raise naming the line and key of the first problem."""
    try:
        lines = decode(data)
    except UnicodeDecodeError as e:  # cp866 decodes every byte; cp1251 has five holes
        line = data[: e.start].count(b"\n") + 1
        raise RegistryFormatError(line, None, "байт не из кодировки Windows-1251") from None
    first = next((i for i, raw in enumerate(lines) if raw.strip()), None)
    if first is None:
        raise RegistryFormatError(1, None, "файл пуст")
    if lines[first].strip() != HEADER:
        raise RegistryFormatError(
            first + 1, None, f"ожидается заголовок {HEADER} (формат обмена 1С с банком)"
        )
    header: dict[str, tuple[int, str]] = {}
    accounts: list[str] = []
    sections: list[AccountSection] = []
    documents: list[Document] = []
    section: str | None = None  # "account" or "document"
    start = 0
    kind = ""
    values: dict[str, tuple[int, str]] = {}
    order: list[tuple[str, str]] = []
    ended = False
    for index in range(first + 1, len(lines)):
        number = index + 1
        raw = lines[index].strip()
        if not raw:
            continue
        if ended:
            raise RegistryFormatError(number, None, "текст после КонецФайла")
        key, eq, value = raw.partition("=")
        key = key.strip()
        if key == "СекцияДокумент" or raw == "СекцияРасчСчет":
            if section is not None:
                raise RegistryFormatError(
                    number, key, f"новая секция до конца секции из строки {start}"
                )
            if key == "СекцияДокумент" and not value.strip():
                raise RegistryFieldError(number, key, "не указан вид документа")
            section = "document" if key == "СекцияДокумент" else "account"
            start, kind, values, order = number, value.strip(), {}, []
            continue
        if raw in ("КонецДокумента", "КонецРасчСчет"):
            want = "document" if raw == "КонецДокумента" else "account"
            if section != want:
                raise RegistryFormatError(number, None, f"{raw} без начала секции")
            if want == "document":
                documents.append(_document(start, kind, values, order))
            else:
                sections.append(_account(start, values))
            section = None
            continue
        if raw == "КонецФайла":
            if section is not None:
                raise RegistryFormatError(start, None, "секция не закрыта до КонецФайла")
            ended = True
            continue
        if not eq or not key:
            raise RegistryFormatError(number, None, f"ожидается «Ключ=Значение», а не «{raw[:60]}»")
        value = value.strip()
        if section is None:
            if key == "РасчСчет":
                if not _ACCOUNT.match(value):
                    raise RegistryFieldError(number, key, f"счёт «{value}» — ожидается 20 цифр")
                accounts.append(value)
            else:
                header.setdefault(key, (number, value))
            continue
        if key in values:
            raise RegistryFormatError(
                number, key, f"поле повторяется (уже было в строке {values[key][0]})"
            )
        values[key] = (number, value)
        order.append((key, value))
    if section is not None:
        raise RegistryFormatError(start, None, "секция не закрыта (нет КонецДокумента)")
    if not ended:
        raise RegistryFormatError(len(lines), None, "нет строки КонецФайла: файл обрезан?")
    for key in ("ДатаНачала", "ДатаКонца"):
        if key not in header:
            raise RegistryFieldError(first + 1, key, "в заголовке нет обязательного поля")
    if not accounts:
        raise RegistryFieldError(first + 1, "РасчСчет", "в заголовке нет счёта выписки")
    encoding = header.get("Кодировка", (0, "Windows"))[1]
    return Statement(
        accounts=tuple(accounts),
        date_from=_date(header["ДатаНачала"][1], header["ДатаНачала"][0], "ДатаНачала"),
        date_to=_date(header["ДатаКонца"][1], header["ДатаКонца"][0], "ДатаКонца"),
        version=header.get("ВерсияФормата", (0, "1.03"))[1],
        encoding=encoding,
        sender=header.get("Отправитель", (0, ""))[1],
        receiver=header.get("Получатель", (0, ""))[1],
        sections=tuple(sections),
        documents=tuple(documents),
    )


def _need(start: int, values: dict[str, tuple[int, str]], key: str) -> tuple[int, str]:
    if key not in values or not values[key][1]:
        raise RegistryFieldError(start, key, "в секции нет обязательного поля")
    return values[key]


def _optional_date(values: dict[str, tuple[int, str]], key: str) -> dt.date | None:
    if key not in values or not values[key][1]:
        return None
    return _date(values[key][1], values[key][0], key)


def _optional_sum(values: dict[str, tuple[int, str]], key: str) -> int | None:
    if key not in values or not values[key][1]:
        return None
    return kopecks(values[key][1], values[key][0], key)


def _account(start: int, values: dict[str, tuple[int, str]]) -> AccountSection:
    line, account = _need(start, values, "РасчСчет")
    if not _ACCOUNT.match(account):
        raise RegistryFieldError(line, "РасчСчет", f"счёт «{account}» — ожидается 20 цифр")
    line, first = _need(start, values, "ДатаНачала")
    return AccountSection(
        account=account,
        date_from=_date(first, line, "ДатаНачала"),
        date_to=_optional_date(values, "ДатаКонца"),
        opening=_optional_sum(values, "НачальныйОстаток"),
        incoming=_optional_sum(values, "ВсегоПоступило"),
        outgoing=_optional_sum(values, "ВсегоСписано"),
        closing=_optional_sum(values, "КонечныйОстаток"),
    )


def _document(
    start: int, kind: str, values: dict[str, tuple[int, str]], order: list[tuple[str, str]]
) -> Document:
    number = _need(start, values, "Номер")[1]
    date_line, date = _need(start, values, "Дата")
    sum_line, amount = _need(start, values, "Сумма")
    text = {k: values.get(k, (0, ""))[1] for k in _DOC_KEYS}
    # 1С writes ПолучательСчет; some banks only the older ПолучательРасчСчет (same account)
    for side in ("Плательщик", "Получатель"):
        if not text[f"{side}Счет"] and f"{side}РасчСчет" in values:
            text[f"{side}Счет"] = values[f"{side}РасчСчет"][1]
    for key in ("ПлательщикСчет", "ПолучательСчет"):
        if text[key] and not _ACCOUNT.match(text[key]):
            line = values.get(key, values.get(key.replace("Счет", "РасчСчет"), (start, "")))[0]
            raise RegistryFieldError(line, key, f"счёт «{text[key]}» — ожидается 20 цифр")
    for key in ("ПлательщикИНН", "ПолучательИНН"):
        # "0" is how 1С writes a missing ИНН (a person paying without one)
        if text[key] in ("", "0"):
            text[key] = ""
        elif not _INN.match(text[key]):
            raise RegistryFieldError(
                values[key][0], key, f"ИНН «{text[key]}» — ожидается 10 или 12 цифр"
            )
    return Document(
        kind=kind,
        number=number,
        date=_date(date, date_line, "Дата"),
        amount=kopecks(amount, sum_line, "Сумма", positive=True),
        payer_account=text["ПлательщикСчет"],
        payer=text["Плательщик"] or values.get("Плательщик1", (0, ""))[1],
        payer_inn=text["ПлательщикИНН"],
        payee_account=text["ПолучательСчет"],
        payee=text["Получатель"] or values.get("Получатель1", (0, ""))[1],
        payee_inn=text["ПолучательИНН"],
        purpose=text["НазначениеПлатежа"],
        received=_optional_date(values, "ДатаПоступило"),
        written_off=_optional_date(values, "ДатаСписано"),
        extra=tuple((k, v) for k, v in order if k not in _DOC_KEYS),
        line=start,
    )


def _lines(st: Statement) -> list[str]:
    out = [HEADER, f"ВерсияФормата={st.version}", f"Кодировка={st.encoding}"]
    if st.sender:
        out.append(f"Отправитель={st.sender}")
    if st.receiver:
        out.append(f"Получатель={st.receiver}")
    out += [f"ДатаНачала={_day(st.date_from)}", f"ДатаКонца={_day(st.date_to)}"]
    out += [f"РасчСчет={a}" for a in st.accounts]
    for s in st.sections:
        out += ["СекцияРасчСчет", f"ДатаНачала={_day(s.date_from)}"]
        if s.date_to is not None:
            out.append(f"ДатаКонца={_day(s.date_to)}")
        out.append(f"РасчСчет={s.account}")
        for key, value in (
            ("НачальныйОстаток", s.opening),
            ("ВсегоПоступило", s.incoming),
            ("ВсегоСписано", s.outgoing),
            ("КонечныйОстаток", s.closing),
        ):
            if value is not None:
                out.append(f"{key}={rubles(value)}")
        out.append("КонецРасчСчет")
    for d in st.documents:
        out += [
            f"СекцияДокумент={d.kind}",
            f"Номер={d.number}",
            f"Дата={_day(d.date)}",
            f"Сумма={rubles(d.amount)}",
        ]
        for key, text in (
            ("ПлательщикСчет", d.payer_account),
            ("Плательщик", d.payer),
            ("ПлательщикИНН", d.payer_inn),
            ("ПолучательСчет", d.payee_account),
            ("Получатель", d.payee),
            ("ПолучательИНН", d.payee_inn),
        ):
            if text:
                out.append(f"{key}={text}")
        if d.received is not None:
            out.append(f"ДатаПоступило={_day(d.received)}")
        if d.written_off is not None:
            out.append(f"ДатаСписано={_day(d.written_off)}")
        out += [f"{k}={v}" for k, v in d.extra]
        if d.purpose:
            out.append(f"НазначениеПлатежа={d.purpose}")
        out.append("КонецДокумента")
    out.append("КонецФайла")
    return out


def encode(st: Statement) -> bytes:
    """The statement as a bank writes it: CRLF lines in the code page ``Кодировка`` names."""
    codec = _ENCODINGS.get(st.encoding.lower(), "cp1251")
    return ("\r\n".join(_lines(st)) + "\r\n").encode(codec)
