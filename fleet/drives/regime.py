"""Which fiscal-drive term a business must use and how long a drive lives in it (pure rules).

Sources (peers-and-regulations §2.1, copied here; the project never reads the reference):

* п. 6 ст. 4.1 54-ФЗ, абз. 1: special tax regimes (УСН, ЕСХН, ПСН) and anyone providing services
  use a drive of **36 months**; a 13/15-month drive there is a violation of ч. 4 ст. 14.5 КоАП
  (warning or 1 500–3 000 ₽ for officials, 5 000–10 000 ₽ for legal entities) [V admsurgut.ru,
  kassa.komtet.ru/blog/fiscaldrive, portkkm.ru].
* абз. 2 п. 6 ст. 4.1: the exceptions allowed a shorter (≥ 13 months) drive: excise goods,
  seasonal work, autonomous mode, combining ОСН with a special regime [V kassa.komtet.ru].
* ОСН alone: a 15-month drive (13-month legacy) [V xn--80abgjlv0bofui.xn--p1ai/fn].
* Nominal lives: 15 months = 470 days, 36 months = 1 100 days [V portkkm.ru]. 13 months is
  taken as 13 × 30.44 = 396 days [I: not in the sources].
* Excise goods (flag 1207): **410 days** whatever the nominal term (ФНС letter 12.02.2018
  № ЕД-4-20/2586) [V klerk.ru/buh/news/658432]; also excise + autonomous, and ОСН + a special
  regime [V xn--80abgjlv0bofui.xn--p1ai/fn].
* Autonomous mode: 15 → 13 months; 36 → **560 days** [V xn--80abgjlv0bofui.xn--p1ai/fn].
* FFD 1.2 needs an FN-1.2 (tags 1189/1190) [V consultant.ru, cons_doc_LAW_448874]; marked goods
  are FFD 1.2 only (§2.8).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "NOMINAL_DAYS",
    "SPECIAL_REGIMES",
    "TERMS",
    "Profile",
    "TermAdvice",
    "TermCheck",
    "advise",
    "allowed_terms",
    "check_drive",
    "effective_days",
    "term_of_life",
]

TERMS: Final = (13, 15, 36)
NOMINAL_DAYS: Final[dict[int, int]] = {13: 396, 15: 470, 36: 1100}
SPECIAL_REGIMES: Final = frozenset({"usn_income", "usn_income_expense", "esxn", "psn"})
EXCISE_DAYS: Final = 410
AUTONOMOUS_36_DAYS: Final = 560
KOAP: Final = "ч. 4 ст. 14.5 КоАП РФ"


@dataclass(frozen=True)
class Profile:
    """What the business does, as the registration application (or the buyer) says."""

    tax_systems: frozenset[str] = frozenset()
    services: bool = False
    excise: bool = False
    autonomous: bool = False
    seasonal: bool = False
    marked: bool = False

    @classmethod
    def of(
        cls, tax_systems: Iterable[str], flags: dict[str, bool], *, seasonal: bool = False
    ) -> Profile:
        """From the application's ``tax_systems`` and ``flags``."""
        return cls(
            tax_systems=frozenset(tax_systems),
            services=bool(flags.get("services")),
            excise=bool(flags.get("excise")),
            autonomous=bool(flags.get("autonomous")),
            seasonal=seasonal,
            marked=bool(flags.get("marked")),
        )

    @property
    def special(self) -> bool:
        """Any of УСН, ЕСХН, ПСН."""
        return bool(self.tax_systems & SPECIAL_REGIMES)

    @property
    def combined(self) -> bool:
        """ОСН together with a special regime."""
        return "osn" in self.tax_systems and self.special

    def exception(self) -> str | None:
        """The abz. 2 п. 6 ст. 4.1 exception that allows a shorter drive, if any."""
        if self.excise:
            return "подакцизные товары"
        if self.seasonal:
            return "сезонная работа"
        if self.autonomous:
            return "автономный режим"
        if self.combined:
            return "ОСН вместе со специальным режимом"
        return None

    def needs_36(self) -> bool:
        """A 36-month drive is required (special regime or services, and no exception)."""
        return (self.special or self.services) and self.exception() is None


def effective_days(term_months: int, profile: Profile) -> int:
    """How many days a drive of ``term_months`` lives in this business (§2.1)."""
    if profile.excise or profile.combined:
        return EXCISE_DAYS
    if profile.autonomous:
        return AUTONOMOUS_36_DAYS if term_months == 36 else NOMINAL_DAYS[13]
    return NOMINAL_DAYS[term_months]


def allowed_terms(profile: Profile) -> tuple[int, ...]:
    """The terms the law allows this business."""
    return (36,) if profile.needs_36() else TERMS


@dataclass(frozen=True)
class TermAdvice:
    """The term to buy, why, and what each allowed term gives."""

    term_months: int
    reason: str
    required: bool
    days: dict[int, int] = field(default_factory=dict)


def advise(profile: Profile, prices_kop: dict[int, int]) -> TermAdvice:
    """The term that fits the business: the required one, else the cheapest day of work.

    Seasonal work takes the shortest allowed term (a season is shorter than a year, and a longer
    drive would mostly stand idle) [I].
    """
    days = {t: effective_days(t, profile) for t in allowed_terms(profile)}
    if profile.needs_36():
        why = "услуги" if profile.services and not profile.special else "УСН, ПСН или ЕСХН"
        return TermAdvice(
            36, f"{why}: нужен ФН на 36 месяцев (п. 6 ст. 4.1 54-ФЗ), иначе {KOAP}", True, days
        )
    if profile.seasonal:
        term = min(days)
        return TermAdvice(
            term, "сезонная работа: допустим короткий ФН (абз. 2 п. 6 ст. 4.1 54-ФЗ)", False, days
        )
    term = min(days, key=lambda t: (prices_kop[t] / days[t], t))
    if profile.excise or profile.combined:
        why = f"{profile.exception()}: ключ действует {EXCISE_DAYS} дней при любом сроке ФН"
    elif profile.autonomous:
        why = f"автономный режим: ФН на 36 месяцев служит {AUTONOMOUS_36_DAYS} дней"
    else:
        why = "самый дешёвый день работы из допустимых сроков"
    return TermAdvice(term, why, False, days)


def term_of_life(days: float) -> int | None:
    """The nominal term a drive had, judged by its key's life in days (None if unclear)."""
    if days >= 900:
        return 36
    if days >= 430:
        return 15
    return None  # 13 months, or any term cut to 410 days by excise


@dataclass(frozen=True)
class TermCheck:
    """Whether the installed drive fits the business; ``problems`` in Russian."""

    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def check_drive(profile: Profile, term_months: int | None, fn_model: str | None) -> TermCheck:
    """Problems of a drive of ``term_months`` (None: unknown) and model in this business."""
    problems = []
    if term_months is not None and term_months < 36 and profile.needs_36():
        problems.append(
            f"ФН на {term_months} мес. при {'услугах' if profile.services else 'УСН/ПСН/ЕСХН'}: "
            f"нужен ФН на 36 месяцев (п. 6 ст. 4.1 54-ФЗ), иначе штраф по {KOAP}"
        )
    if profile.marked and fn_model and "1.2" not in fn_model:
        problems.append(f"Маркированные товары требуют ФФД 1.2 и ФН-1.2, а установлен «{fn_model}»")
    return TermCheck(tuple(problems))
