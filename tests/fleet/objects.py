"""Factories of path-parameter objects for the route walker (tests/fleet/test_walker.py).

Contract: ``FACTORIES`` maps a path parameter name (``{register_id}`` → ``"register_id"``) to a
function ``(session, clock, company_id) -> id`` that creates such an object belonging to that
company (committing is up to the walker; flush so the id exists) and returns its id. The walker
calls every route with objects of the caller's own company (must not be 401/403 when the caller
holds the permission) and with another company's objects (must be 404). Every helper adds entries
for the path parameters it introduces; never remove another helper's entries.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

from sqlmodel import Session

from fleet.access.models import ApiToken, RegisterFolder, Role, RoleKind
from fleet.accounts.models import Company, User
from fleet.billing.models import BankPayment, BankPaymentStatus, CardPayment, Invoice
from fleet.bookings.models import Booking
from fleet.console.models import Alarm, ConsoleCommand
from fleet.core.clock import Clock
from fleet.documents.models import FiscalDocument
from fleet.edo.models import EdoDocument
from fleet.notify.models import Notification
from fleet.registers.models import Register, RegisterState
from fleet.reports.models import ReportRun, ReportSchedule, ReportTemplate
from fleet.stores.models import Store

__all__ = ["FACTORIES", "Factory"]

Factory = Callable[[Session, Clock, int], int]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _added(session: Session, row: object) -> int:
    session.add(row)
    session.flush()
    row_id = getattr(row, "id", None)
    assert isinstance(row_id, int)
    return row_id


def company(session: Session, clock: Clock, company_id: int) -> int:
    """The company itself (the caller's own company)."""
    return company_id


def role(session: Session, clock: Clock, company_id: int) -> int:
    """A custom role with one permission that every role managing users also holds."""
    return _added(
        session,
        Role(
            company_id=company_id,
            name=f"Роль {_unique()}",
            permissions="registers.view",
            kind=RoleKind.CUSTOM.value,
            created_at=clock.wall(),
        ),
    )


def folder(session: Session, clock: Clock, company_id: int) -> int:
    """An empty folder of registers."""
    return _added(
        session,
        RegisterFolder(company_id=company_id, name=f"Папка {_unique()}", created_at=clock.wall()),
    )


def user(session: Session, clock: Clock, company_id: int) -> int:
    """A confirmed, non-owner user with a custom role."""
    return _added(
        session,
        User(
            email=f"walker-{_unique()}@example.ru",
            password_hash="",
            company_id=company_id,
            email_confirmed=True,
            created_at=clock.wall(),
            role_id=role(session, clock, company_id),
        ),
    )


def token(session: Session, clock: Clock, company_id: int) -> int:
    """A live API token with a custom role."""
    return _added(
        session,
        ApiToken(
            company_id=company_id,
            role_id=role(session, clock, company_id),
            name=f"Токен {_unique()}",
            token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            prefix="obl_walker",
            created_at=clock.wall(),
        ),
    )


def booking(session: Session, clock: Clock, company_id: int) -> int:
    """An active booking of one register."""
    return _added(session, Booking(company_id=company_id, quantity=1, created_at=clock.wall()))


def register(session: Session, clock: Clock, company_id: int) -> int:
    """A paid register with hardware."""
    now = clock.wall()
    return _added(
        session,
        Register(
            serial=_unique(),
            model="Облако-Ф",
            rack_slot="R1-S01",
            firmware_version="1.0.0",
            state=RegisterState.PAID.value,
            company_id=company_id,
            created_at=now,
            booked_at=now,
            paid_at=now,
        ),
    )


def store(session: Session, clock: Clock, company_id: int) -> int:
    """A shop with an address."""
    return _added(
        session,
        Store(
            company_id=company_id,
            name=f"Магазин {_unique()}",
            postal_code="101000",
            region_code="77",
            city="Москва",
            street="ул. Мясницкая",
            house="1",
            created_at=clock.wall(),
        ),
    )


def card_payment(session: Session, clock: Clock, company_id: int) -> int:
    """A pending card top-up of 1 000 ₽."""
    return _added(
        session, CardPayment(company_id=company_id, amount=100_000, created_at=clock.wall())
    )


def invoice(session: Session, clock: Clock, company_id: int) -> int:
    """An issued invoice of 5 000 ₽."""
    row = Invoice(company_id=company_id, amount=500_000, created_at=clock.wall())
    row_id = _added(session, row)
    row.number = f"СЧ-2024-{row_id:06d}"
    session.add(row)
    session.flush()
    return row_id


def bank_payment(session: Session, clock: Clock, company_id: int) -> int:
    """An unmatched statement line paid by the company (operators' queue: not tenant-owned)."""
    company_row = session.get(Company, company_id)
    return _added(
        session,
        BankPayment(
            line_key=f"{_unique()}|15.01.2024|{company_row.inn if company_row else ''}|100",
            doc_number=_unique()[:8],
            doc_date="15.01.2024",
            amount=100,
            payer_inn=company_row.inn if company_row else "7700000000",
            status=BankPaymentStatus.UNMATCHED,
            reason="В назначении платежа нет номера счёта",
            created_at=clock.wall(),
        ),
    )


def document(session: Session, clock: Clock, company_id: int) -> int:
    """A sale receipt (fiscal document with its TLV) of a new register of the company."""
    register_id = register(session, clock, company_id)
    number = uuid.uuid4().int % 10**16
    tlv = bytes.fromhex("1f04 0100 01")  # 1055 (0x041f) = 1, ОСН
    return _added(
        session,
        FiscalDocument(
            register_id=register_id,
            company_id=company_id,
            fn_number=f"{number:016d}",
            fd_number=1,
            doc_type=3,
            operation=1,
            total=10_000,
            tax_system=1,
            fiscal_sign="1234567890",
            issued_at=clock.wall(),
            received_at=clock.wall(),
            tlv=tlv,
        ),
    )


def notification(session: Session, clock: Clock, company_id: int) -> int:
    """An unread notification to a user of the company."""
    return _added(
        session,
        Notification(
            company_id=company_id,
            user_id=user(session, clock, company_id),
            kind="drive.replace",
            key=f"walker:{_unique()}",
            title="Замените ФН",
            body="Проверка маршрутов",
            created_at=clock.wall(),
        ),
    )


def receipt(session: Session, clock: Clock, company_id: int) -> int:
    """An accepted receipt of one part (fleet/receipts), not yet routed."""
    from fleet.receipts.models import Receipt, ReceiptPart

    body = {
        "id": f"walker-{_unique()}",
        "operation": "sale",
        "tax_system": "osn",
        "items": [
            {"name": "Товар", "price": 100, "quantity": "1", "measure": 0, "sum": 100,
             "vat": "none", "type": 1, "method": "full_payment"}
        ],
        "payments": {"cash": 100},
    }  # fmt: skip
    rid = _added(
        session,
        Receipt(
            company_id=company_id,
            external_id=body["id"],
            body_hash=_unique(),
            body=body,
            kind="sale",
            total=100,
            created_at=clock.wall(),
            updated_at=clock.wall(),
        ),
    )
    _added(
        session,
        ReceiptPart(
            receipt_id=rid,
            company_id=company_id,
            part_no=1,
            request_id=f"{_unique()}-1",
            action="receipt",
            request={**body, "id": "x"},
            total=100,
            created_at=clock.wall(),
            updated_at=clock.wall(),
        ),
    )
    return rid


def console_command(session: Session, clock: Clock, company_id: int) -> int:
    """An operator's X-report command to a new register of the company (operator-only)."""
    return _added(
        session,
        ConsoleCommand(
            register_id=register(session, clock, company_id),
            request_id=f"op-{_unique()}",
            action="x_report",
            params={},
            ttl_s=3600,
            requested_at=clock.wall(),
        ),
    )


def alarm(session: Session, clock: Clock, company_id: int) -> int:
    """An open "offline" alarm on a new register of the company (operator-only)."""
    return _added(
        session,
        Alarm(
            register_id=register(session, clock, company_id),
            rule="offline",
            severity="critical",
            message="Касса не в сети",
            raised_at=clock.wall(),
            last_at=clock.wall(),
        ),
    )


def ad_template(session: Session, clock: Clock, company_id: int) -> int:
    """An advertising-receipt template with no pictures (fleet/adreceipts)."""
    from fleet.adreceipts.models import AdTemplate

    return _added(
        session,
        AdTemplate(
            company_id=company_id,
            name=f"Шаблон {_unique()}",
            background="#ffffff",
            company_name="",
            greeting="",
            text="",
            created_at=clock.wall(),
            updated_at=clock.wall(),
        ),
    )


def ad_assignment(session: Session, clock: Clock, company_id: int) -> int:
    """A template applied to a store (fleet/adreceipts)."""
    from fleet.adreceipts.models import AdAssignment

    return _added(
        session,
        AdAssignment(
            company_id=company_id,
            template_id=ad_template(session, clock, company_id),
            kind="store",
            store_id=store(session, clock, company_id),
            created_at=clock.wall(),
        ),
    )


def report_template(session: Session, clock: Clock, company_id: int) -> int:
    return _added(
        session,
        ReportTemplate(
            company_id=company_id,
            name="Выручка по кассам",
            base="revenue_register",
            columns="register,net",
            created_at=clock.wall(),
            updated_at=clock.wall(),
        ),
    )


def report_schedule(session: Session, clock: Clock, company_id: int) -> int:
    return _added(
        session,
        ReportSchedule(
            company_id=company_id,
            report="revenue_day",
            frequency="daily",
            period="day",
            fmt="csv",
            email="boss@example.ru",
            next_run_at=clock.wall() + 86400,
            created_at=clock.wall(),
        ),
    )


def report_run(session: Session, clock: Clock, company_id: int) -> int:
    return _added(
        session,
        ReportRun(
            company_id=company_id,
            title="Выручка по дням",
            fmt="csv",
            filename="revenue_day.csv",
            content=b"\xef\xbb\xbf",
            created_at=clock.wall(),
        ),
    )


_edo_months = itertools.count()


def edo_document(session: Session, clock: Clock, company_id: int) -> int:
    """A closing document (УПД) of the company (fleet/edo)."""
    return _added(
        session,
        EdoDocument(
            company_id=company_id,
            period=f"{1000 + next(_edo_months):04d}-01",  # unique per company and kind
            kind="tariffs",
            number=_unique(),
            amount=12_200,
            vat=2_200,
            lines=[{"name": "Абонентская плата", "amount": 12_200}],
            file_id=_unique(),
            xml="<Файл/>",
            recipient_id="2BE-1",
            created_at=clock.wall(),
        ),
    )


def firmware_bundle(session: Session, clock: Clock, company_id: int) -> int:
    """An uncertified firmware bundle (fleet-wide, operator-only; fleet/rollouts)."""
    from fleet.rollouts.models import FirmwareBundle

    tag = _unique()
    return _added(
        session,
        FirmwareBundle(
            version=f"0.0.{tag[:8]}",
            sha256=(tag * 8)[:64],
            size=1,
            manifest={},
            data=b"x",
            created_at=clock.wall(),
        ),
    )


def rollout(session: Session, clock: Clock, company_id: int) -> int:
    """A running rollout of a new bundle to the whole fleet (operator-only)."""
    from fleet.rollouts.models import Rollout

    return _added(
        session,
        Rollout(
            bundle_id=firmware_bundle(session, clock, company_id),
            phases=[100],
            base_url="http://127.0.0.1",
            created_at=clock.wall(),
        ),
    )


def work_order(session: Session, clock: Clock, company_id: int) -> int:
    """A drive replacement order for a new register of the company (operator-only)."""
    from fleet.drives.models import Drive
    from fleet.stock.models import WorkOrder
    from fleet.stock.service import STEPS

    register_id = register(session, clock, company_id)
    fn = f"{uuid.uuid4().int % 10**16:016d}"
    drive_id = _added(
        session,
        Drive(fn_number=fn, register_id=register_id, company_id=company_id,
              first_seen_at=clock.wall()),
    )  # fmt: skip
    return _added(
        session,
        WorkOrder(
            register_id=register_id,
            drive_id=drive_id,
            fn_number=fn,
            model_code="FN-1.2-15",
            due_day=int(clock.wall() // 86400) + 10,
            steps=[{"code": st.code, "done_at": None, "command_id": None} for st in STEPS],
            created_at=clock.wall(),
        ),
    )


def work_order_step(session: Session, clock: Clock, company_id: int) -> int:
    """Step codes are the procedure's names (fleet/stock/service.py STEPS): 0 is none (404)."""
    return 0


def guide_slug(session: Session, clock: Clock, company_id: int) -> int:
    """Guides are the same for every company (fleet/guides/catalog.py): no such guide, 404."""
    return 0


FACTORIES: dict[str, Factory] = {
    "company_id": company,
    "role_id": role,
    "folder_id": folder,
    "user_id": user,
    "token_id": token,
    "booking_id": booking,
    "register_id": register,
    "store_id": store,
    "payment_id": card_payment,
    "invoice_id": invoice,
    "bank_payment_id": bank_payment,
    "document_id": document,
    "notification_id": notification,
    "receipt_id": receipt,
    "command_id": console_command,
    "alarm_id": alarm,
    "edo_document_id": edo_document,
    "guide_slug": guide_slug,
    "report_template_id": report_template,
    "report_schedule_id": report_schedule,
    "report_run_id": report_run,
    "ad_template_id": ad_template,
    "ad_assignment_id": ad_assignment,
    "bundle_id": firmware_bundle,
    "rollout_id": rollout,
    "order_id": work_order,
    "code": work_order_step,
}
