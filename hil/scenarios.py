"""Steps a contract test composes: register the drive, open a shift, sell, read back.

Document data goes through the register's own code paths: the driver streams TLVs with
firmware/tlv.py, receipts are built from the shared request schema (firmware/shared).
"""

from __future__ import annotations

from typing import Any

from firmware.crc16 import crc16
from firmware.drive import FiscalDrive
from firmware.shared import receipt as schema

INN = "7702203276"  # a valid 10-digit INN (reference §3.2 example)
KKT_SERIAL = "000000000002"
OFD_INN = "7704358518"
FIRST10 = "0000000005"
TAX_OSN = 0x01  # §1.9 table 20
FFD_12 = 4


def rnm(first10: str, inn: str, serial: str) -> str:
    """An RNM with its check digits (reference §3.2 [V-calc])."""
    text = first10.zfill(10) + inn.zfill(12) + serial.zfill(20)
    return first10.zfill(10) + f"{crc16(text.encode()):06d}"


RNM = rnm(FIRST10, INN, KKT_SERIAL)  # "0000000005008570", the reference's real example

REGISTRATION_DATA = [
    (1048, "ООО «Облако-тест»".replace("«", '"').replace("»", '"')),
    (1009, "г. Москва, ул. Тестовая, д. 1"),
    (1187, "Облачная касса Oblako"),
    (1013, KKT_SERIAL),
    (1060, "www.nalog.gov.ru"),
    (1117, "noreply@oblako.test"),
    (1021, "Системный администратор"),
    (1188, "1.0"),  # KKT version
    (1189, FFD_12),  # the KKT's FFD version
    (1209, FFD_12),  # the document's FFD version
]
CASHIER = [(1021, "Кассир Иванова"), (1203, "500100732259")]
OPEN_SHIFT_DATA = [*CASHIER, (1188, "1.0"), (1189, FFD_12), (1209, FFD_12)]
CLOSE_SHIFT_DATA = [*CASHIER, (1209, FFD_12)]


def register(drive: FiscalDrive) -> dict[str, Any]:
    """Fiscalise the drive (FFD 1.2: A2h, data, A3h) -> {"fd", "fp"}."""
    drive.registration_begin_ext(0, FFD_12)
    drive.send_data(REGISTRATION_DATA)
    made: dict[str, Any] = drive.registration_make_ext(INN, RNM, TAX_OSN, 0, 0, OFD_INN)
    return made


def open_shift(drive: FiscalDrive) -> dict[str, Any]:
    """Open a shift (11h, cashier and versions, 12h)."""
    drive.open_shift_begin()
    drive.send_data(OPEN_SHIFT_DATA)
    made: dict[str, Any] = drive.open_shift()
    return made


def close_shift(drive: FiscalDrive) -> dict[str, Any]:
    """Close the shift (13h, cashier and 1209, 14h)."""
    drive.close_shift_begin()
    drive.send_data(CLOSE_SHIFT_DATA)
    made: dict[str, Any] = drive.close_shift()
    return made


def sale_request(items: int = 1, price: int = 12345) -> dict[str, Any]:
    """A cash sale request in the shared schema (docs/receipt-schema.md)."""
    rows = [
        {
            "name": f"Товар {i + 1}",
            "price": price,
            "quantity": "1",
            "measure": 0,
            "sum": price,
            "vat": "vat20",
            "type": 1,
            "method": "full_payment",
        }
        for i in range(items)
    ]
    return {
        "id": "hil-sale",
        "operation": "sale",
        "tax_system": "osn",
        "date": "2024-01-15T10:30:00+03:00",
        "items": rows,
        "payments": {"cash": price * items},
        "total": price * items,
        "cashier": {"name": "Кассир Иванова"},
    }


def sell(drive: FiscalDrive, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """Make one receipt from a schema request: 15h, 07h stream, 16h -> {"fd", "fp", ...}.

    The register's identity goes first (1018 user INN, 1037 RNM: the drive adds them to
    registration reports only), then the schema's fields.
    """
    norm, problems = schema.check(request or sale_request())
    if problems or norm is None:
        raise ValueError(f"the scenario's receipt is invalid: {problems}")
    _doc, operation, total = schema.closing(norm)
    drive.receipt_begin()
    drive.send_data([(1018, INN.ljust(12)), (1037, RNM.ljust(20)), *schema.fields(norm)])
    made: dict[str, Any] = drive.receipt_make(operation, total)
    return made
