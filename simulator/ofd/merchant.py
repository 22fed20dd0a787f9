"""The merchant's own stationary registers, reporting to the same OFD (DESIGN decision 10).

The cabinet also shows registers that are not Oblako's: a shop's own registers send their
documents to the same OFD, and the fleet learns of them from the OFD's gateway. A
`StationaryRegister` plays one: it makes signed documents (registration, shifts,
receipts) for its own FN number as its drive would, numbered without gaps, in FN
containers with the message sign, using the simulated drive's scheme
(simulator/fn/documents.py ``assemble``, ``build_container``; protocol/fiscalsign.py) so
the OFD verifies them like any other. ``OfdService.inject`` (or ``OfdServer.inject``)
delivers them without a network.

    shop = StationaryRegister("9999078900077001", algorithm="sha256")
    for container in shop.day(dt.datetime(2024, 1, 15, 9, 0), receipts=5):
        server.service.inject(container)

``omit`` / ``extra`` make a receipt break the ФЛК on purpose (tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from protocol import fiscalsign
from protocol.crc import crc16_ccitt_false
from protocol.portable import vat
from protocol.tlv import encode
from protocol.tree import Field
from simulator.fn.config import DEV_FP_SECRET
from simulator.fn.documents import assemble, build_container

__all__ = ["Item", "StationaryRegister", "rnm_for"]


def rnm_for(first10: str, inn: str, kkt_serial: str) -> str:
    """An RNM with its check digits (reference §3.2 [V-calc])."""
    text = first10.zfill(10) + inn.zfill(12) + kkt_serial.zfill(20)
    return first10.zfill(10) + f"{crc16_ccitt_false(text.encode('ascii')):06d}"


@dataclass(frozen=True)
class Item:
    """One receipt line: price in kopecks, quantity as decimal text, FFD codes."""

    name: str
    price: int
    quantity: str = "1"
    vat: int = 1  # 1199
    measure: int = 0  # 2108: шт
    item_type: int = 1  # 1212: товар
    method: int = 4  # 1214: полный расчёт

    @property
    def amount(self) -> int:
        """price × quantity, rounded half up to a kopeck (the schema's rule)."""
        q = Decimal(self.quantity)
        return int((self.price * q).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_DEFAULT_ITEMS = (Item("Хлеб", 4990, "2", vat=2), Item("Сыр", 99900, "0.345", vat=1, measure=11))


class StationaryRegister:
    """A merchant's own register and its drive, as far as the OFD can tell."""

    def __init__(
        self,
        fn_number: str,
        *,
        inn: str = "7702203276",
        kkt_serial: str = "000000000777",
        first10: str = "0000000006",
        user_name: str = 'ООО "Магазин у дома"',
        address: str = "г. Москва, ул. Стационарная, д. 7",
        place: str = "Торговый зал",
        cashier: str = "Кассир Петрова",
        ofd_inn: str = "7704358518",
        tax_system: int = 1,
        fp_secret: bytes = DEV_FP_SECRET,
        algorithm: fiscalsign.Algorithm = "streebog256",
    ) -> None:
        """A register with drive ``fn_number`` (16 digits), registered on first use."""
        if len(fn_number) != 16 or not fn_number.isdigit():
            raise ValueError(f"fn_number must be 16 digits, got {fn_number!r}")
        self.fn_number = fn_number
        self.inn = inn
        self.kkt_serial = kkt_serial
        self.rnm = rnm_for(first10, inn, kkt_serial)
        self.user_name = user_name
        self.address = address
        self.place = place
        self.cashier = cashier
        self.ofd_inn = ofd_inn
        self.tax_system = tax_system
        self.algorithm = algorithm
        self._fp_key = fiscalsign.derive_key(fp_secret, fn_number, "fp", algorithm)
        self._msg_key = fiscalsign.derive_key(fp_secret, fn_number, "msg", algorithm)
        self.next_fd = 1
        self.shift = 0
        self.receipt_number = 0
        self.shift_open = False

    def _make(
        self,
        doc_type: int,
        when: dt.datetime,
        identity: list[Field],
        extra: list[Field],
        register: Iterable[Field],
    ) -> bytes:
        stlv, _ = assemble(
            doc_type,
            identity=[Field(1041, self.fn_number), *identity],
            fd=self.next_fd,
            date_time=when.replace(second=0, microsecond=0),
            extra=extra,
            register_tlvs=encode(list(register)),
            key=self._fp_key,
            algorithm=self.algorithm,
        )
        container = build_container(
            doc_type, self.fn_number, self.next_fd, stlv, msg_key=self._msg_key,
            algorithm=self.algorithm,
        )  # fmt: skip
        self.next_fd += 1
        return container

    def registration(self, when: dt.datetime) -> bytes:
        """The registration report (document 1), FFD 1.2."""
        return self._make(
            1,
            when,
            [Field(1037, self.rnm), Field(1018, self.inn)],
            [
                Field(1062, self.tax_system),
                Field(1290, 0),
                Field(1017, self.ofd_inn),
                Field(1190, 4),
            ],
            [
                Field(1048, self.user_name),
                Field(1009, self.address),
                Field(1187, self.place),
                Field(1013, self.kkt_serial),
                Field(1060, "www.nalog.gov.ru"),
                Field(1021, self.cashier),
                Field(1188, "1.0"),
                Field(1189, 4),
                Field(1209, 4),
            ],
        )

    def open_shift(self, when: dt.datetime) -> bytes:
        """The shift-opening report (document 2)."""
        self.shift += 1
        self.receipt_number = 0
        self.shift_open = True
        return self._make(
            2, when, [], [Field(1038, self.shift)], [Field(1021, self.cashier), Field(1209, 4)]
        )

    def close_shift(self, when: dt.datetime) -> bytes:
        """The shift-closing report (document 5)."""
        self.shift_open = False
        extra = [
            Field(1038, self.shift),
            Field(1111, self.receipt_number + 2),
            Field(1118, self.receipt_number),
            Field(1097, 0),
        ]
        return self._make(5, when, [], extra, [Field(1021, self.cashier), Field(1209, 4)])

    def receipt(
        self,
        when: dt.datetime,
        items: Sequence[Item] = _DEFAULT_ITEMS,
        *,
        operation: int = 1,
        electronic: bool = False,
        omit: Iterable[int] = (),
        extra: Iterable[Field] = (),
        total: int | None = None,
    ) -> bytes:
        """A receipt (document 3) of ``items``, paid in cash (or ``electronic``).

        ``omit``: tags left out (top level and items); ``extra``: more top-level fields;
        ``total``: a 1020 other than the items' sum. Both only to break the ФЛК on purpose.
        """
        self.receipt_number += 1
        skip = set(omit)
        day = int(when.strftime("%Y%m%d"))
        lines: list[Field] = []
        totals: dict[int, int] = {}
        for it in items:
            amount = it.amount
            pct = vat.percent(it.vat, day)
            tax = vat.vat_of(amount, pct) if pct is not None else 0
            kind = vat.TOTAL_TAGS[it.vat][1] if it.vat in vat.TOTAL_TAGS else "vat"
            totals[it.vat] = totals.get(it.vat, 0) + (tax if kind == "vat" else amount)
            row = [
                Field(1030, it.name),
                Field(1079, it.price),
                Field(1023, Decimal(it.quantity)),
                Field(2108, it.measure),
                Field(1043, amount),
                Field(1199, it.vat),
                *([Field(1200, tax)] if kind == "vat" else []),
                Field(1212, it.item_type),
                Field(1214, it.method),
            ]
            lines.append(Field(1059, tuple(f for f in row if f.tag not in skip)))
        summed = sum(it.amount for it in items)
        grand = summed if total is None else total
        vat_fields = [
            Field(vat.TOTAL_TAGS[code][0], value)
            for code, value in sorted(totals.items())
            if code in vat.TOTAL_TAGS
        ]
        register = [
            Field(1018, self.inn),
            Field(1037, self.rnm),
            Field(1048, self.user_name),
            Field(1009, self.address),
            Field(1187, self.place),
            Field(1021, self.cashier),
            Field(1055, self.tax_system),
            *lines,
            Field(1031, 0 if electronic else summed),
            Field(1081, summed if electronic else 0),
            Field(1215, 0),
            Field(1216, 0),
            Field(1217, 0),
            *vat_fields,
            *extra,
            Field(1209, 4),
        ]
        drive = [
            Field(1038, self.shift),
            Field(1042, self.receipt_number),
            Field(1054, operation),
            Field(1020, grand),
        ]
        return self._make(
            3,
            when,
            [],
            [f for f in drive if f.tag not in skip],
            [f for f in register if f.tag not in skip],
        )

    def day(self, start: dt.datetime, receipts: int = 3) -> list[bytes]:
        """A working day: registration (first time), open shift, receipts, close shift;
        one document a minute from ``start`` (the register's local time)."""
        out: list[bytes] = []
        when = start
        step = dt.timedelta(minutes=1)
        if self.next_fd == 1:
            out.append(self.registration(when))
            when += step
        out.append(self.open_shift(when))
        for _ in range(receipts):
            when += step
            out.append(self.receipt(when))
        out.append(self.close_shift(when + step))
        return out
