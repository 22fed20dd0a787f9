"""The guides as data: one entry per system, the steps to take in it and the fields it asks for.

A field names a setting of the client's account (`fleet.guides.settings`); the page fills in
the value, so a guide never holds anyone's data. Which API a system speaks decides the fields:
most CMS modules and payment services speak ATOL Online, some Ferma, custom code Oblako's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["FAMILIES", "GUIDES", "Api", "Family", "Field", "Guide", "guide_by_slug"]


class Family(StrEnum):
    """The kind of system a guide is for."""

    ACQUIRING = "acquiring"
    PAYMENTS = "payments"
    CMS = "cms"
    CRM = "crm"
    API = "api"


FAMILIES: Final[dict[Family, str]] = {
    Family.ACQUIRING: "Интернет-эквайринг банков",
    Family.PAYMENTS: "Платёжные сервисы",
    Family.CMS: "Сайты и интернет-магазины (CMS)",
    Family.CRM: "CRM и учётные системы",
    Family.API: "Своя программа",
}


class Api(StrEnum):
    """The protocol the system speaks to the cloud register."""

    ATOL = "atol"
    FERMA = "ferma"
    OBLAKO = "oblako"


API_LABEL: Final[dict[Api, str]] = {
    Api.ATOL: "протокол АТОЛ Онлайн v4/v5",
    Api.FERMA: "протокол Ferma (ОФД.ру)",
    Api.OBLAKO: "API Облака",
}


@dataclass(frozen=True)
class Field:
    """A field of the system's settings form and the account setting that fills it."""

    label: str  # as the system names it
    setting: str  # a key of `fleet.guides.settings.ClientSettings.values`


@dataclass(frozen=True)
class Guide:
    """How to connect one system."""

    slug: str
    family: Family
    title: str
    summary: str
    api: Api
    steps: tuple[str, ...]
    fields: tuple[Field, ...]
    note: str = ""


_ATOL_FIELDS: Final = (
    Field("Адрес сервера (URL API)", "atol_url"),
    Field("Логин", "login"),
    Field("Пароль", "password"),
    Field("Код группы ККТ", "group"),
    Field("ИНН организации", "inn"),
    Field("Адрес места расчётов", "payment_address"),
)
_FERMA_FIELDS: Final = (
    Field("Адрес сервера", "ferma_url"),
    Field("Логин", "login"),
    Field("Пароль", "password"),
    Field("ИНН", "inn"),
)
_OBLAKO_FIELDS: Final = (
    Field("Адрес API чеков", "api_url"),
    Field("Токен (заголовок Authorization: Bearer …)", "password"),
    Field("ИНН", "inn"),
)
_ATOL_URL_NOTE: Final = (
    "Если модуль не даёт сменить адрес сервера АТОЛ Онлайн, обновите модуль: адрес нужен, "
    "чтобы чеки шли в Облако, а не в АТОЛ."
)

GUIDES: Final[tuple[Guide, ...]] = (
    Guide(
        "sber-acquiring",
        Family.ACQUIRING,
        "СберБанк: интернет-эквайринг",
        "Чек при каждой оплате картой на сайте через платёжную страницу Сбера.",
        Api.ATOL,
        (
            "В личном кабинете интернет-эквайринга откройте «Настройки» → «Фискализация».",
            "Выберите облачную кассу «АТОЛ Онлайн» и укажите адрес сервера Облака.",
            "Заполните логин, пароль и код группы из таблицы ниже, сохраните.",
            "Проведите тестовую оплату: чек появится в разделе «Чеки» кабинета Облака.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "tbank-acquiring",
        Family.ACQUIRING,
        "Т-Банк: интернет-эквайринг",
        "Чеки по оплатам через платёжную форму Т-Банка.",
        Api.ATOL,
        (
            "В личном кабинете Т-Бизнеса откройте «Интернет-эквайринг» → «Магазины» → "
            "ваш магазин → «Онлайн-касса».",
            "Выберите «Подключить свою онлайн-кассу», протокол «АТОЛ Онлайн».",
            "Перенесите значения из таблицы и сохраните: банк проверит подключение.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "yookassa",
        Family.PAYMENTS,
        "ЮKassa",
        "Чеки по платежам ЮKassa по 54-ФЗ через стороннюю онлайн-кассу.",
        Api.ATOL,
        (
            "В личном кабинете ЮKassa откройте «Настройки» → «Онлайн-касса».",
            "Выберите «АТОЛ Онлайн» и включите отправку данных для чеков.",
            "Укажите логин, пароль, код группы, ИНН и адрес места расчётов из таблицы.",
            "Передавайте в платежах объект receipt с позициями: ЮKassa отдаст его в Облако.",
        ),
        _ATOL_FIELDS,
        _ATOL_URL_NOTE,
    ),
    Guide(
        "cloudpayments",
        Family.PAYMENTS,
        "CloudPayments",
        "Платёжный сервис передаёт данные для чеков в облачную кассу.",
        Api.ATOL,
        (
            "В личном кабинете CloudPayments откройте «Сайты» → ваш сайт → «Онлайн-касса».",
            "Выберите подключение внешней кассы по протоколу АТОЛ Онлайн.",
            "Заполните поля значениями из таблицы.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "robokassa",
        Family.PAYMENTS,
        "Robokassa",
        "Чеки по оплатам через Robokassa, кассой Облака вместо кассы Robokassa.",
        Api.FERMA,
        (
            "В личном кабинете Robokassa откройте «Мои магазины» → «Фискализация».",
            "Выберите «Своя облачная касса», протокол Ferma (ОФД.ру).",
            "Укажите адрес сервера, логин, пароль и ИНН из таблицы.",
        ),
        _FERMA_FIELDS,
    ),
    Guide(
        "bitrix",
        Family.CMS,
        "1С-Битрикс: Управление сайтом",
        "Встроенная в модуль «Интернет-магазин» касса «АТОЛ Онлайн».",
        Api.ATOL,
        (
            "В административной панели откройте «Магазин» → «Настройки» → «Кассы».",
            "Добавьте кассу с обработчиком «АТОЛ Онлайн (ФФД 1.2)».",
            "На вкладке «Настройки обработчика» укажите адрес сервера, логин, пароль, код "
            "группы, ИНН и адрес сайта из таблицы.",
            "Привяжите кассу к платёжным системам сайта и сохраните.",
        ),
        _ATOL_FIELDS,
        _ATOL_URL_NOTE,
    ),
    Guide(
        "woocommerce",
        Family.CMS,
        "WordPress + WooCommerce",
        "Модуль «АТОЛ Онлайн для WooCommerce» отправляет чек при оплате заказа.",
        Api.ATOL,
        (
            "Установите модуль онлайн-кассы с поддержкой АТОЛ Онлайн v4 или v5.",
            "Откройте «WooCommerce» → «Настройки» → «Онлайн-касса».",
            "Заполните поля из таблицы; в поле «Адрес сервера» — адрес Облака.",
            "Выберите статус заказа, при котором отправлять чек (обычно «Обработка»).",
        ),
        _ATOL_FIELDS,
        _ATOL_URL_NOTE,
    ),
    Guide(
        "insales",
        Family.CMS,
        "InSales",
        "Приложение онлайн-кассы из магазина приложений InSales.",
        Api.ATOL,
        (
            "В бэк-офисе InSales откройте «Приложения» и установите приложение онлайн-кассы "
            "с протоколом АТОЛ Онлайн.",
            "В настройках приложения укажите значения из таблицы.",
            "Отметьте способы оплаты, по которым нужен чек.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "tilda",
        Family.CMS,
        "Tilda",
        "Tilda передаёт чек через платёжную систему: подключите кассу к ней.",
        Api.ATOL,
        (
            "В настройках сайта Tilda откройте «Платёжные системы» и включите передачу "
            "данных для чека (54-ФЗ).",
            "В кабинете платёжной системы (ЮKassa, CloudPayments, Т-Банк…) подключите Облако "
            "по её инструкции из этого раздела — значения те же, что в таблице.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "opencart",
        Family.CMS,
        "OpenCart",
        "Модуль онлайн-кассы для OpenCart 3 и 4.",
        Api.ATOL,
        (
            "Установите модуль онлайн-кассы АТОЛ Онлайн через «Модули/Расширения».",
            "В настройках модуля заполните поля из таблицы.",
            "Отправляйте чек при переходе заказа в оплаченный статус один раз: модуль "
            "должен передавать одинаковый external_id для одного заказа.",
        ),
        _ATOL_FIELDS,
        _ATOL_URL_NOTE,
    ),
    Guide(
        "amocrm",
        Family.CRM,
        "amoCRM",
        "Чек при переводе сделки в этап «Оплачено» через виджет или вебхук.",
        Api.OBLAKO,
        (
            "Установите виджет онлайн-кассы с поддержкой произвольного адреса API или "
            "настройте вебхук этапа «Оплачено» на своё приложение.",
            "Приложение отправляет POST на адрес API чеков с токеном в заголовке "
            "Authorization; id чека — номер сделки (повтор вернёт тот же чек).",
        ),
        _OBLAKO_FIELDS,
    ),
    Guide(
        "retailcrm",
        Family.CRM,
        "RetailCRM",
        "Модуль «Онлайн-кассы» RetailCRM с протоколом АТОЛ Онлайн.",
        Api.ATOL,
        (
            "В RetailCRM откройте «Администрирование» → «Интеграция» → «Онлайн-кассы».",
            "Добавьте кассу АТОЛ Онлайн и укажите значения из таблицы.",
            "Включите фискализацию для нужных способов оплаты.",
        ),
        _ATOL_FIELDS,
    ),
    Guide(
        "moysklad",
        Family.CRM,
        "МойСклад",
        "Фискализация онлайн-продаж МоегоСклада через облачную кассу.",
        Api.FERMA,
        (
            "В МоёмСкладе откройте «Настройки» → «Фискализация» → «Облачная касса».",
            "Выберите подключение по протоколу Ferma (ОФД.ру) и укажите значения из таблицы.",
        ),
        _FERMA_FIELDS,
    ),
    Guide(
        "oblako-api",
        Family.API,
        "API Облака",
        "Своя программа: JSON API с идемпотентностью по id чека и вебхуками.",
        Api.OBLAKO,
        (
            "Выпустите API-токен с ролью «Интегратор» в «Настройки» → «API-токены».",
            "Отправляйте чеки POST-запросом на адрес API чеков; поле id — ваш неизменный "
            "номер операции (заказа), повтор с тем же id вернёт тот же чек.",
            "Статус чека — GET по его номеру или вебхук с подписью.",
        ),
        _OBLAKO_FIELDS,
    ),
)


def guide_by_slug(slug: str) -> Guide | None:
    """The guide with this slug, if any."""
    return next((g for g in GUIDES if g.slug == slug), None)
