"""Does a change of a registered register's parameters need an FNS application? (sans-IO)

The rules table is peers-and-regulations §2.4 (the re-registration decision table), itself from
54-ФЗ ст. 4.2 п. 4 (re-registration on a change of the data given at registration, no later than
the next business day) and the reason codes of form КНД 1110061 (Приказ ФНС ММВ-7-20/484@).
Codes 1–5 are confirmed there [V]; 6, 7 and 8 are not yet checked against the current form [M]
(open item 1 of that page), so they are named here as constants and cited as such.

`diff` compares the registered parameters with the wanted ones field by field; `decide` maps the
changed fields through `RULES` to the application's reason codes (sorted, unique) or to "applied
without an application".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

from fleet.registration.application import FLAGS, ApplicationForm

__all__ = [
    "REASON_LABEL",
    "RULES",
    "Change",
    "Decision",
    "RegisteredParams",
    "Rule",
    "decide",
    "diff",
    "ffd_of",
]

REASON_ADDRESS: Final = 1
REASON_OFD: Final = 2
REASON_AUTOMAT: Final = 3
REASON_DRIVE: Final = 4
REASON_TO_ONLINE: Final = 5
REASON_TO_AUTONOMOUS: Final = 6  # [M]
REASON_USER_NAME: Final = 7  # [M]
REASON_OTHER: Final = 8  # [M]

#: The reason codes of КНД 1110061 as the application and the card show them.
REASON_LABEL: Final[dict[int, str]] = {
    REASON_ADDRESS: "1 — изменение адреса и (или) места установки (применения) ККТ",
    REASON_OFD: "2 — смена оператора фискальных данных",
    REASON_AUTOMAT: "3 — изменение сведений об автоматическом устройстве для расчётов",
    REASON_DRIVE: "4 — замена фискального накопителя",
    REASON_TO_ONLINE: "5 — переход из автономного режима в режим передачи данных",
    REASON_TO_AUTONOMOUS: "6 — переход из режима передачи данных в автономный режим",
    REASON_USER_NAME: "7 — изменение наименования пользователя",
    REASON_OTHER: "8 — изменение иных сведений, указанных при регистрации",
}

_LAW: Final = "54-ФЗ ст. 4.2 п. 4; КНД 1110061 (Приказ ФНС ММВ-7-20/484@)"


@dataclass(frozen=True)
class Rule:
    """What changing one registered parameter requires, and why (the source)."""

    field: str
    label: str
    needs_application: bool
    reason: int | None
    source: str


def _rule(field: str, label: str, reason: int | None, source: str = _LAW) -> Rule:
    return Rule(field, label, reason is not None, reason, source)


_ADDRESS_FIELDS: Final = (
    "region_code",
    "municipal",
    "settlement",
    "street",
    "house",
    "building",
    "flat",
    "postal_code",
    "oktmo",
    "fias_id",
)
_OTHER_FLAGS: Final = tuple(f for f in FLAGS if f not in ("automatic", "autonomous"))

#: field → rule. Flag fields are ``flags.<name>``, address fields ``address.<name>``; the
#: autonomous flag has two rules, by direction (``flags.autonomous`` on / off).
RULES: Final[dict[str, Rule]] = {
    **{
        f"address.{name}": _rule(f"address.{name}", "Адрес установки", REASON_ADDRESS)
        for name in _ADDRESS_FIELDS
    },
    "place": _rule("place", "Место установки", REASON_ADDRESS),
    # For a register used only on the internet the website is its place (§2.4 row 1).
    "website": _rule("website", "Адрес сайта", REASON_ADDRESS),
    "ofd_inn": _rule("ofd_inn", "ОФД (ИНН)", REASON_OFD),
    "ofd_name": _rule("ofd_name", "ОФД (наименование)", REASON_OFD),
    "flags.automatic": _rule("flags.automatic", "Автоматическое устройство", REASON_AUTOMAT),
    "automat_number": _rule("automat_number", "Номер автомата", REASON_AUTOMAT),
    "fn_number": _rule("fn_number", "Заводской номер ФН", REASON_DRIVE),
    "fn_model": _rule("fn_model", "Модель ФН", REASON_DRIVE),
    "flags.autonomous.off": _rule(
        "flags.autonomous", "Переход в режим передачи данных", REASON_TO_ONLINE
    ),
    "flags.autonomous.on": _rule(
        "flags.autonomous", "Переход в автономный режим", REASON_TO_AUTONOMOUS, f"{_LAW} [M]"
    ),
    "user_name": _rule("user_name", "Наименование пользователя", REASON_USER_NAME, f"{_LAW} [M]"),
    **{
        f"flags.{name}": _rule(
            f"flags.{name}",
            FLAGS[name],
            REASON_OTHER,
            f"{_LAW}: изменение сведений, указанных при регистрации [M]",
        )
        for name in _OTHER_FLAGS
    },
    # FFD ≤ 1.1: the register stores its allowed tax systems (tag 1062), so changing them is a
    # change of the registration data (knowledge-base.aqsi.ru 11895866, via §2.4 [V]).
    "tax_systems.ffd11": _rule(
        "tax_systems",
        "Системы налогообложения (ФФД 1.05/1.1, тег 1062)",
        REASON_OTHER,
        "§2.4: при ФФД ≤ 1.1 СНО — параметр регистрации (тег 1062) [V]",
    ),
    # FFD 1.2: the tax system is said to be no longer a registration parameter [M, open item 2].
    "tax_systems.ffd12": _rule(
        "tax_systems",
        "Системы налогообложения (ФФД 1.2)",
        None,
        "§2.4: при ФФД 1.2 СНО не входит в параметры регистрации [M]",
    ),
}


@dataclass(frozen=True)
class RegisteredParams:
    """What the FNS knows about the register: the form and the user's name."""

    form: ApplicationForm
    user_name: str


@dataclass(frozen=True)
class Change:
    """One changed parameter: its rule, the old and the new value (as shown)."""

    rule: Rule
    key: str
    old: str
    new: str


@dataclass(frozen=True)
class Decision:
    """The outcome: the reason codes (empty: no application needed) and every change."""

    changes: tuple[Change, ...]
    reasons: tuple[int, ...]

    @property
    def needs_application(self) -> bool:
        return bool(self.reasons)

    @property
    def automatic(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.rule.needs_application)


def ffd_of(fn_model: str) -> str:
    """The FFD version a drive model supports: "1.2" for an ФН-1.2, else "1.1" (§2.1)."""
    return "1.2" if "1.2" in fn_model else "1.1"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def diff(old: RegisteredParams, new: RegisteredParams) -> tuple[Change, ...]:
    """Every registered parameter that differs, with its rule (in the table's order)."""
    changes: list[Change] = []
    a, b = old.form, new.form

    def add(key: str, x: object, y: object) -> None:
        if x != y:
            changes.append(Change(RULES[key], key, _shown(x), _shown(y)))

    old_address, new_address = asdict(a.address), asdict(b.address)
    for name in _ADDRESS_FIELDS:
        add(f"address.{name}", old_address[name], new_address[name])
    for key in ("place", "website", "ofd_inn", "ofd_name", "automat_number", "fn_number"):
        add(key, getattr(a, key), getattr(b, key))
    add("fn_model", a.fn_model, b.fn_model)
    add("flags.automatic", a.flag("automatic"), b.flag("automatic"))
    if a.flag("autonomous") != b.flag("autonomous"):
        key = "flags.autonomous.on" if b.flag("autonomous") else "flags.autonomous.off"
        add(key, a.flag("autonomous"), b.flag("autonomous"))
    add("user_name", old.user_name, new.user_name)
    for name in _OTHER_FLAGS:
        add(f"flags.{name}", a.flag(name), b.flag(name))
    if sorted(a.tax_systems) != sorted(b.tax_systems):
        # The FFD the register works in after the change decides (the new drive's, if any).
        key = "tax_systems.ffd12" if ffd_of(b.fn_model) == "1.2" else "tax_systems.ffd11"
        add(key, a.tax_systems, b.tax_systems)
    return tuple(changes)


def decide(old: RegisteredParams, new: RegisteredParams) -> Decision:
    """The changes and the КНД 1110061 reason codes they need (sorted, each once)."""
    changes = diff(old, new)
    reasons = sorted({c.rule.reason for c in changes if c.rule.reason is not None})
    return Decision(changes=changes, reasons=tuple(reasons))
