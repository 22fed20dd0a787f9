"""The «Рекламные чеки» pages: design with uploads, live preview, refusals that save nothing,
assignments, the free test send as an HTML letter, public pictures, tenant isolation."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.mail import MemoryMailSender
from fleet.adreceipts import markup
from fleet.adreceipts.models import AdAssignment, AdConsent, AdImage, AdTemplate
from fleet.billing import ledger
from fleet.core import csrf
from fleet.core.clock import SettableClock
from fleet.deps import SESSION_COOKIE
from tests.adreceipts.builders import png
from tests.fleet import objects
from tests.fleet.test_registers import _signed_in

FORM: dict[str, str] = {
    "name": "Весенняя акция",
    "background": "#FFEEDD",
    "company_name": "Кофейня «Зерно»",
    "greeting": "Спасибо, что зашли! <script>alert(1)</script>",
    "text": "Скидка 10% на второй кофе.\nДо 31 мая.",
    "banner1_link": "https://zerno.example.ru/spring",
    "banner1_erid": "LjN8Kaaxi",
    "link1_label": "Меню",
    "link1_url": "https://zerno.example.ru/menu",
}


def cabinet(client: TestClient, mailer: MemoryMailSender, n: int) -> str:
    """Sign company n in with the cookie; returns the CSRF token."""
    headers = _signed_in(client, mailer, n)
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    assert client.get("/adreceipts").status_code == 200
    token = client.cookies.get(csrf.COOKIE)
    assert isinstance(token, str) and token
    return token


def post(client: TestClient, url: str, token: str, data: dict[str, str], **files: bytes) -> Any:
    uploads = {k: (f"{k}.png", v, "image/png") for k, v in files.items()}
    return client.post(
        url, data={**data, csrf.FIELD: token}, files=uploads or None, follow_redirects=False
    )


def count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_design_save_edit_and_test_send(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    token = cabinet(client, mailer, 1)
    page = client.get("/adreceipts")
    assert "Рекламные чеки" in page.text and 'href="/adreceipts"' in page.text  # in the menu
    made = post(client, "/adreceipts/new", token, FORM, logo=png(), banner1_image=png(4, 2))
    assert made.status_code == 303, made.text
    where = made.headers["location"]
    template_id = int(re.findall(r"/adreceipts/(\d+)", where)[0])
    edit = client.get(where)
    assert "Шаблон сохранён." in edit.text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in edit.text and "<script>alert(1)" not in edit.text
    )
    with Session(engine) as session:
        row = session.get(AdTemplate, template_id)
        assert row is not None and row.background == "#ffeedd" and row.logo_id is not None
        company_id = row.company_id
        before = ledger.balance(session, company_id)
    assert count(engine, AdImage) == 2

    # the test send: to the user's own address, HTML, free
    sent = post(client, f"/adreceipts/{template_id}/test", token, {})
    assert sent.status_code == 303
    assert (
        "Тестовое письмо отправлено на reg1@example.ru" in client.get(sent.headers["location"]).text
    )
    letter = mailer.outbox[-1]
    assert letter.to == "reg1@example.ru" and "Весенняя акция" in letter.subject
    assert letter.html is not None
    assert "Спасибо, что зашли! &lt;script&gt;" in letter.html
    assert "Реклама. ООО «Кассы 1», ИНН" in letter.html and "erid: LjN8Kaaxi" in letter.html
    assert 'href="https://zerno.example.ru/spring?erid=LjN8Kaaxi"' in letter.html
    assert "ОБРАЗЕЦ: тестовая отправка" in (markup.fiscal_of(letter.html) or "")
    assert "Скидка 10% на второй кофе." in letter.body and "erid: LjN8Kaaxi" in letter.body
    with Session(engine) as session:
        assert ledger.balance(session, company_id) == before  # free of charge

    # the pictures the letter links to are served publicly, by digest
    srcs = re.findall(r'src="http://testserver(/ad/images/\d+/[0-9a-f]+)"', letter.html)
    assert len(srcs) == 2
    jar = dict(client.cookies)
    client.cookies.clear()  # no session: a mail client fetches it
    picture = client.get(srcs[0])
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    assert client.get(srcs[0][:-4] + "0000").status_code == 404
    for name, value in jar.items():
        client.cookies.set(name, value)

    # editing: keep the logo, replace the banner picture (the old one is deleted), drop the link
    edited = dict(FORM, name="Лето", link1_label="", link1_url="")
    with Session(engine) as session:
        row = session.get(AdTemplate, template_id)
        assert row is not None
        edited["logo_id"] = str(row.logo_id)
        edited["banner1_image_id"] = str(row.banners[0]["image_id"])
        old_banner = int(row.banners[0]["image_id"])
    saved = post(client, f"/adreceipts/{template_id}", token, edited, banner1_image=png(5, 5))
    assert saved.status_code == 303, saved.text
    with Session(engine) as session:
        row = session.get(AdTemplate, template_id)
        assert row is not None and row.name == "Лето" and row.links == []
        assert row.banners[0]["image_id"] != old_banner
        assert session.get(AdImage, old_banner) is None
    assert count(engine, AdImage) == 2

    # delete: the template, its assignments and pictures go
    with Session(engine) as session:
        store_id = objects.store(session, clock, company_id)
        session.commit()
    assigned = post(
        client,
        f"/adreceipts/{template_id}/assignments",
        token,
        {"kind": "store", "store_id": str(store_id)},
    )
    assert assigned.status_code == 303
    assert "Магазин магазин «Магазин" in client.get("/adreceipts").text
    gone = post(client, f"/adreceipts/{template_id}/delete", token, {})
    assert gone.status_code == 303
    assert (count(engine, AdTemplate), count(engine, AdImage), count(engine, AdAssignment)) == (
        0,
        0,
        0,
    )


def test_refusals_save_nothing_and_say_why(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    token = cabinet(client, mailer, 2)
    no_erid = post(
        client, "/adreceipts/new", token, dict(FORM, banner1_erid=""), banner1_image=png()
    )
    assert no_erid.status_code == 422
    assert "Баннер 1: укажите идентификатор рекламы erid, полученный в ОРД" in no_erid.text
    assert 'value="https://zerno.example.ru/spring"' in no_erid.text  # what was typed stays
    bad_link = post(
        client,
        "/adreceipts/new",
        token,
        dict(FORM, link1_url="javascript:alert(1)"),
        banner1_image=png(),
    )
    assert (
        bad_link.status_code == 422
        and "Ссылка 1: адрес должен начинаться с http://" in bad_link.text
    )
    svg = post(
        client,
        "/adreceipts/new",
        token,
        FORM,
        logo=b"<svg onload=alert(1)></svg>",
        banner1_image=png(),
    )
    assert svg.status_code == 422 and "Загрузите картинку PNG, JPEG, GIF или WebP" in svg.text
    colour = post(
        client, "/adreceipts/new", token, dict(FORM, background="red;x:y"), banner1_image=png()
    )
    assert colour.status_code == 422 and "Цвет в виде #rrggbb" in colour.text
    not_ad = post(
        client,
        "/adreceipts/new",
        token,
        dict(FORM, banner1_erid="", banner1_not_ad="1"),
        banner1_image=png(),
    )
    assert not_ad.status_code == 303
    assert (count(engine, AdTemplate), count(engine, AdImage)) == (1, 1)
    assert post(client, "/adreceipts/new", "wrong", FORM).status_code == 403  # CSRF


def test_live_preview_renders_without_saving(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    token = cabinet(client, mailer, 3)
    answer = post(client, "/adreceipts/preview", token, FORM, banner1_image=png())
    assert answer.status_code == 200
    assert 'data-testid="preview"' in answer.text and "<html" not in answer.text  # a partial
    assert "Кофейня «Зерно»" in answer.text and "data:image/png;base64," in answer.text
    assert "ОБРАЗЕЦ: тестовая отправка" in answer.text
    wrong = post(
        client, "/adreceipts/preview", token, dict(FORM, banner1_erid="!"), banner1_image=png()
    )
    assert wrong.status_code == 200 and "латинские буквы и цифры" in wrong.text
    assert (count(engine, AdTemplate), count(engine, AdImage)) == (0, 0)


def test_other_companies_templates_and_pictures_are_out_of_reach(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    token = cabinet(client, mailer, 4)
    made = post(client, "/adreceipts/new", token, FORM, logo=png(), banner1_image=png())
    template_id = int(re.findall(r"/adreceipts/(\d+)", made.headers["location"])[0])
    with Session(engine) as session:
        row = session.get(AdTemplate, template_id)
        assert row is not None
        logo_id = row.logo_id
    client.cookies.clear()
    token = cabinet(client, mailer, 5)
    assert client.get(f"/adreceipts/{template_id}").status_code == 404
    assert post(client, f"/adreceipts/{template_id}/test", token, {}).status_code == 404
    # another company's stored picture cannot be borrowed by id
    stolen = post(
        client, "/adreceipts/new", token, dict(FORM, logo_id=str(logo_id)), banner1_image=png()
    )
    assert stolen.status_code == 422 and "Картинка не найдена" in stolen.text
    peek = post(
        client, "/adreceipts/preview", token, dict(FORM, logo_id=str(logo_id)), banner1_image=png()
    )
    assert 'data-ad="logo"' not in peek.text


def test_consent_entered_in_the_cabinet_is_masked_and_counted(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    token = cabinet(client, mailer, 6)
    bad = post(client, "/adreceipts/consents", token, {"contact": "кто-то", "answer": "granted"})
    assert bad.status_code == 422 and "Укажите e-mail или телефон покупателя" in bad.text
    ok = post(client, "/adreceipts/consents", token, {"contact": "8 (916) 123-45-67"})
    assert ok.status_code == 200 and "+7********67: согласие записано." in ok.text
    assert "9161234567" not in ok.text
    no = post(client, "/adreceipts/consents", token, {"contact": "a@b.ru", "answer": "refused"})
    assert "Согласны: <b>1</b> · отказались: <b>1</b>" in no.text
    with Session(engine) as session:
        rows = session.exec(select(AdConsent)).all()
        assert sorted(r.source for r in rows) == ["cabinet", "cabinet"]
