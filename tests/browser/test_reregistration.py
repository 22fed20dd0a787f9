"""A registered register's settings are changed in the browser: the page says whether the FNS
needs an application (and with which reason codes) or the change is in force at once."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.registers.models import Register, RegisterState
from fleet.registration.application import validate_form
from fleet.registration.models import ApplicationStatus, RegistrationApplication
from fleet.registration.schemas import FormIn
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.fleet.test_registration import FORM


def _registered_register(stack: Stack, company_name: str) -> int:
    """A register the FNS has registered (the card arrived earlier), straight in the database."""
    form = validate_form(FormIn(**FORM).form())
    with Session(stack.engine) as session:
        company = session.exec(select(Company).where(Company.name == company_name)).one()
        register = Register(
            serial="0001234500077001",
            model="Облако-Ф",
            firmware_version="1.0.0",
            drive_number=form.fn_number,
            rnm="0000000001012345",
            state=RegisterState.ACTIVE.value,
            company_id=company.id,
            created_at=1.7e9,
        )
        session.add(register)
        session.flush()
        assert register.id is not None and company.id is not None
        data = json.dumps(form.to_json(), ensure_ascii=False, sort_keys=True)
        session.add(
            RegistrationApplication(
                company_id=company.id,
                register_id=register.id,
                status=ApplicationStatus.REGISTERED.value,
                form=data,
                rnm=register.rnm,
                registered=json.dumps(
                    {"form": json.loads(data), "user_name": company.name}, ensure_ascii=False
                ),
                card=json.dumps({"Регистрационный номер ККТ": register.rnm}, ensure_ascii=False),
                created_at=1.7e9,
                updated_at=1.7e9,
            )
        )
        session.commit()
        return register.id


def test_settings_change_tells_whether_the_fns_needs_an_application(
    page: Page, stack: Stack
) -> None:
    account = signed_up_and_in(page, stack)
    rid = _registered_register(stack, account.company)
    page.goto(f"/registers/{rid}")
    page.get_by_role("link", name="Регистрация в ФНС").click()
    expect(page.get_by_role("heading", name="Изменить параметры регистрации")).to_be_visible()

    # The tax system on an FFD 1.2 drive: in force at once, no application.
    page.get_by_label("ОСН").check()
    page.get_by_role("button", name="Проверить и применить изменения").click()
    expect(page.locator("#reg-notice")).to_contain_text("Заявление в ФНС не требуется")
    expect(page.get_by_role("heading", name="Статус: Касса зарегистрирована")).to_be_visible()

    # The place of installation: a re-registration with reason code 1, to be signed.
    page.get_by_label("Место установки").fill("Склад на Мясницкой")
    page.get_by_role("button", name="Проверить и применить изменения").click()
    expect(page.locator("#reg-notice")).to_contain_text("коды причин: 1")
    changes = page.get_by_role("table", name="Изменённые параметры")
    expect(changes).to_contain_text("Склад на Мясницкой")
    expect(changes).to_contain_text("нужно, код 1")
    expect(
        page.get_by_role("heading", name="Подпись КЭП: Перерегистрация ККТ (КНД 1110061)")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Скачать файл для подписи")).to_be_visible()
