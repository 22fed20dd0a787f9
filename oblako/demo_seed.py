"""The demo's people and registers, made through the fleet's own services.

What a new merchant does in the cabinet, done in code so the demo starts ready: an operator of
Oblako and a client company (ООО «Ромашка») with a confirmed user, the public offer accepted,
hardware in the operator's inventory, a booking of N registers paid from a topped-up balance,
a store, an API token for the integrator, and each register's registration application filled
and signed with a test КЭП (protocol/kep/testca.py), sent to the simulated tax service, which
assigns the RNM. The cabinet then orders the register's registration report (a command over
MQTT), and `finish_registration` sends the report's requisites to the tax service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from fleet.access.models import Role, RoleKind
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_user
from fleet.access.staff import grant_operator
from fleet.access.tokens import create_token
from fleet.accounts import service as accounts
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.accounts.passwords import Passwords
from fleet.accounts.requisites import inn_check_digits, ogrn_check_digit
from fleet.accounts.service import AccountsContext
from fleet.billing import ledger
from fleet.billing.models import ACCOUNT_BANK
from fleet.bookings import service as bookings
from fleet.contract import service as offer
from fleet.core.clock import Clock
from fleet.core.config import Settings
from fleet.registers import service as registers
from fleet.registers.models import Register
from fleet.registration import service as registration
from fleet.registration.application import Address, ApplicationForm
from fleet.registration.gateway import HttpFnsGateway
from fleet.registration.models import ApplicationStatus
from protocol.kep.testca import TestCa

__all__ = ["DemoAccount", "finish_registration", "seed"]

PASSWORD = "oblako-demo-2026"
CLIENT_EMAIL = "demo@romashka.ru"
OPERATOR_EMAIL = "operator@oblako.ru"
CLIENT_NAME = "ООО «Ромашка»"
CLIENT_INN = "770112345" + inn_check_digits("770112345")
CLIENT_OGRN = "102770012345" + ogrn_check_digit("102770012345")
OBLAKO_NAME = "ООО «Облако»"  # the operator's own company
OBLAKO_INN = "770199999" + inn_check_digits("770199999")
OBLAKO_OGRN = "102770099999" + ogrn_check_digit("102770099999")
OFD_INN = "7704211201"
OFD_NAME = "ООО «Такском»"
CASHIER = {"name": "Кассир Иванова", "inn": "500100732259"}
ADDRESS = Address(
    region_code="77",
    municipal="г. Москва",
    street="ул. Мясницкая",
    house="1",
    postal_code="101000",
    oktmo="45375000",
)
ADDRESS_TEXT = "101000, г. Москва, ул. Мясницкая, д. 1"
PLACE = "Интернет-магазин romashka.ru"
TAX_SYSTEMS = ["osn"]


@dataclass
class DemoAccount:
    """Who and what the demo made."""

    email: str
    password: str
    operator_email: str
    company_id: int
    user_id: int
    token: str
    register_ids: list[int] = field(default_factory=list)
    serials: list[str] = field(default_factory=list)
    fn_numbers: list[str] = field(default_factory=list)
    rnms: dict[int, str] = field(default_factory=dict)


def _user(
    session: Session,
    ctx: AccountsContext,
    mail: MemoryMailSender,
    email: str,
    company: tuple[str, str, str],
) -> User:
    """Sign up (name, ИНН, ОГРН) and confirm by the link in the letter, as a person would."""
    name, inn, ogrn = company
    accounts.sign_up(
        session=session,
        ctx=ctx,
        email=email,
        password=PASSWORD,
        company_name=name,
        inn=inn,
        ogrn=ogrn,
    )
    letter = mail.outbox[-1].body
    token = letter.split("token=", 1)[1].split()[0]
    return accounts.confirm_email(session=session, ctx=ctx, token=token)


def seed(
    session: Session,
    settings: Settings,
    clock: Clock,
    *,
    count: int,
    fn_numbers: list[str],
    fns_url: str,
    ca: TestCa,
) -> DemoAccount:
    """Make the demo's operator, client, paid registers and their RNMs (see the module)."""
    mail = MemoryMailSender()
    ctx = AccountsContext(
        settings=settings,
        clock=clock,
        mailer=mail,
        passwords=Passwords(time_cost=2, memory_kib=19456),
    )
    operator = _user(session, ctx, mail, OPERATOR_EMAIL, (OBLAKO_NAME, OBLAKO_INN, OBLAKO_OGRN))
    grant_operator(session, clock, OPERATOR_EMAIL)
    op = principal_for_user(session, operator)
    client = _user(session, ctx, mail, CLIENT_EMAIL, (CLIENT_NAME, CLIENT_INN, CLIENT_OGRN))
    me = principal_for_user(session, client)
    assert me.company_id is not None and client.id is not None

    serials = [f"00010000{n:08d}" for n in range(1, count + 1)]
    for n, (serial, fn) in enumerate(zip(serials, fn_numbers, strict=True), 1):
        registers.add_hardware(
            session=session,
            clock=clock,
            principal=op,
            hardware=registers.Hardware(
                serial=serial,
                model="Облако-Ф",
                rack_slot=f"R1-S{n:02d}",
                firmware_version="1.0.0",
                drive_number=fn,
                drive_expires_at=clock.wall() + 36 * 30 * 86400,
            ),
        )
    offer.accept(session, clock, me, "127.0.0.1")
    booking = bookings.create_booking(
        session=session, clock=clock, company_id=me.company_id, user_id=client.id, quantity=count
    )
    assert booking.id is not None
    price = bookings.booking_price(session, booking)
    ledger.credit(
        session,
        clock,
        company_id=me.company_id,
        amount=price + 500_000,  # and 5 000 ₽ for paid services
        source=ACCOUNT_BANK,
        kind="bank",
        memo="Платёж по выписке: п/п № 1 (демо)",
        idempotency_key="demo:topup",
    )
    session.commit()
    bookings.pay_booking(session=session, clock=clock, principal=me, booking_id=booking.id)
    issued = create_token(
        session,
        clock,
        principal=me,
        name="Интернет-магазин (демо)",
        role_id=_admin_role(session, me),
    )
    account = DemoAccount(
        email=CLIENT_EMAIL,
        password=PASSWORD,
        operator_email=OPERATOR_EMAIL,
        company_id=me.company_id,
        user_id=client.id,
        token=issued.secret,
    )
    rows = session.exec(
        select(Register).where(Register.company_id == me.company_id).order_by(Register.id)  # type: ignore[arg-type]
    ).all()
    issued_cert = ca.issue_org(inn=CLIENT_INN, ogrn=CLIENT_OGRN, name=CLIENT_NAME)
    gateway = HttpFnsGateway(fns_url)
    for row in rows:
        assert row.id is not None and row.serial is not None and row.drive_number is not None
        account.register_ids.append(row.id)
        account.serials.append(row.serial)
        account.fn_numbers.append(row.drive_number)
        registration.save_form(
            session=session,
            clock=clock,
            principal=me,
            register_id=row.id,
            form=ApplicationForm(
                fn_number=row.drive_number,
                ofd_inn=OFD_INN,
                ofd_name=OFD_NAME,
                address=ADDRESS,
                place=PLACE,
                flags={"internet": True},
                website="romashka.ru",
                tax_systems=list(TAX_SYSTEMS),
            ),
        )
        content = registration.document_bytes(session=session, principal=me, register_id=row.id)
        state = registration.accept_signature(
            session=session,
            clock=clock,
            principal=me,
            register_id=row.id,
            signature=issued_cert.sign(content, clock.wall()),
            trusted_roots=[ca.cert],
            gateway=gateway,
        )
        rnm = state.application.rnm if state.application is not None else None
        if not rnm:
            raise RuntimeError(f"ФНС не присвоила РНМ кассе {row.serial}: {state.reasons}")
        account.rnms[row.id] = rnm
    return account


def _admin_role(session: Session, principal: Principal) -> int:
    role = session.exec(
        select(Role).where(
            Role.company_id == principal.company_id, Role.kind == RoleKind.ADMIN.value
        )
    ).first()
    if role is None or role.id is None:
        raise RuntimeError("Нет встроенной роли «Администратор»")
    return role.id


def finish_registration(
    session: Session,
    clock: Clock,
    account: DemoAccount,
    register_id: int,
    fns_url: str,
) -> None:
    """Send the FNS the requisites of the registration report the register made (the cabinet
    ordered it when the RNM came, `fleet.registration.report`); the FNS registers the register.
    Nothing to do when the cabinet's job has sent them already."""
    user = session.get(User, account.user_id)
    assert user is not None
    principal = principal_for_user(session, user)
    state = registration.get_state(session=session, principal=principal, register_id=register_id)
    if state.status is not ApplicationStatus.RNM_ASSIGNED:
        return
    registration.collect_report(
        session=session,
        clock=clock,
        principal=principal,
        register_id=register_id,
        gateway=HttpFnsGateway(fns_url),
    )
