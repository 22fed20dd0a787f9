# GENERATED from protocol/portable/rules.py by `oblako gen portable`; do not edit.
# Edit the source and regenerate: `make test` fails when this copy drifts.
# protocol/portable/rules.py: the register profile (FFD version, tax systems, registration
# and usage flags) and the rules it puts on a receipt, in the MicroPython subset.
#
# A register may only make the receipts its registration allows (reference
# peers-and-regulations.md §2.3 flags, §2.9 checks 6-10 and 14): cash needs a register
# not registered "for the Internet only" (1108), excise goods the excise flag (1207), agent
# items the agent flag (1057), gambling and lottery items 1193 / 1126, marked goods the
# marking condition (FFD 1.2 tag 1290). The fleet checks a request against the profile of
# the register it routes to (DESIGN.md decision 5); the register checks it again itself.
#
# Profile (a JSON object; every key optional):
#   ffd            "1.05" | "1.1" | "1.2" (or 2 | 3 | 4, tag 1209); default "1.2"
#   tax_systems    list of tax-system names the register may use (tag 1062 at registration)
#   internet_only, excise, agent, gambling, lottery, marking   booleans (default false)
#   user_name (1048), address (1009), place (1187), sender_email (1117),
#   automat_number (1036)     the register's own requisites it adds to every receipt

from . import codes, values

TYPE_CHECKING = False
if TYPE_CHECKING:  # mypy only: MicroPython has no typing module
    from typing import Any

FLAGS = ("internet_only", "excise", "agent", "gambling", "lottery", "marking")
_TEXTS = (
    ("user_name", 256),
    ("address", 256),
    ("place", 256),
    ("sender_email", 64),
    ("automat_number", 20),
)
_KEYS = ("ffd", "tax_systems") + FLAGS + tuple([k for k, _ in _TEXTS])

# FFD 1.2 tag 1290 «признаки условий применения ККТ»: bit -> profile flag. Bits as the FN
# derives them from the registration flags [2nd] reference fiscal-protocols.md §1.9 (S4
# fn_reg_pack_1290): интернет bit 5, подакцизные 6, маркировка 8, азартные игры 10,
# лотерея 11. The agent flag is not a 1290 bit (it is 1057 in the registration report).
USAGE_BITS = (
    (5, "internet_only"),
    (6, "excise"),
    (8, "marking"),
    (10, "gambling"),
    (11, "lottery"),
)


def flags_from_1290(bits: int) -> "dict[str, bool]":
    """Profile flags from a 1290 bit mask (the agent flag is not among them)."""
    out: dict[str, bool] = {}
    for bit, name in USAGE_BITS:
        out[name] = bool(bits >> bit & 1)
    return out


def profile(errs: "values.Errors", v: "Any") -> "dict[str, Any] | None":
    """Normalise a register profile; None when there is none (no register constraints)."""
    if v is None:
        return None
    if not isinstance(v, dict):
        values.err(errs, "register", "type", "Профиль ККТ — объект")
        return None
    for k in v:
        if k not in _KEYS:
            values.err(errs, f"register.{k}", "unknown", "Неизвестное поле профиля ККТ")
    p: dict[str, Any] = {}
    ffd = v.get("ffd")
    p["ffd"] = codes.FFD_12
    if ffd is not None:
        code = codes.lookup(codes.FFD_VERSIONS, (2, 3, 4), ffd)
        if code < 0:
            values.err(errs, "register.ffd", "enum", "Версия ФФД: 1.05, 1.1 или 1.2")
        else:
            p["ffd"] = code
    mask = 0
    tax = v.get("tax_systems")
    if tax is None:
        mask = 0xFF
    elif not isinstance(tax, list):
        values.err(errs, "register.tax_systems", "type", "Ожидается список систем налогообложения")
    else:
        for i in range(len(tax)):
            bit = codes.lookup(codes.TAX_SYSTEMS, None, tax[i])
            if bit < 0 or not isinstance(tax[i], str):
                values.err(errs, f"register.tax_systems[{i}]", "enum", "Неизвестная СНО")
            else:
                mask |= bit
    p["tax_systems"] = mask
    for name in FLAGS:
        p[name] = values.flag(errs, "register." + name, v.get(name))
    for name, limit in _TEXTS:
        p[name] = values.text(errs, "register." + name, v.get(name), limit)
    if p["sender_email"] is not None and not values.email_ok(p["sender_email"]):
        values.err(errs, "register.sender_email", "contact", "Неверный адрес электронной почты")
    return p


def check_tax(errs: "values.Errors", tax: int, reg: "dict[str, Any] | None") -> None:
    """The tax system must be one the register may use."""
    if reg is not None and not reg["tax_systems"] & tax:
        values.err(
            errs,
            "tax_system",
            "tax_not_registered",
            f"ККТ не зарегистрирована для СНО «{codes.TAX_NAMES_RU.get(tax, tax)}»",
        )


def check_item(
    errs: "values.Errors", path: str, it: "dict[str, Any]", reg: "dict[str, Any] | None"
) -> None:
    """Registration flags and FFD version against one normalised item."""
    ffd = codes.FFD_12 if reg is None else reg["ffd"]
    t = it["type"]
    if ffd < codes.FFD_12:
        if t in codes.ITEM_TYPES_FFD12_ONLY:
            values.err(
                errs, path + ".type", "ffd", "Признак предмета расчёта 30–33 — только ФФД 1.2"
            )
        if it["marking"] is not None:
            values.err(errs, path + ".marking", "ffd", "Маркированные товары — только ФФД 1.2")
        if it["product_code"] is not None:
            values.err(errs, path + ".product_code", "ffd", "Код товара (1163) — только ФФД 1.2")
    elif it["measure"] is None:
        values.err(
            errs, path + ".measure", "required", "Мера количества (2108) обязательна в ФФД 1.2"
        )
    if reg is None:
        return
    if t in codes.EXCISE_TYPES and not reg["excise"]:
        values.err(
            errs, path + ".type", "flag_excise", "ККТ не зарегистрирована для подакцизных товаров"
        )
    if t in codes.GAMBLING_TYPES and not reg["gambling"]:
        values.err(
            errs, path + ".type", "flag_gambling", "ККТ не зарегистрирована для азартных игр"
        )
    if t in codes.LOTTERY_TYPES and not reg["lottery"]:
        values.err(errs, path + ".type", "flag_lottery", "ККТ не зарегистрирована для лотерей")
    if it["agent"] is not None and not reg["agent"]:
        values.err(
            errs, path + ".agent_info", "flag_agent", "ККТ не зарегистрирована как ККТ агента"
        )
    if (it["marking"] is not None or t in codes.MARKED_TYPES) and not reg["marking"]:
        values.err(
            errs,
            path + (".marking" if it["marking"] is not None else ".type"),
            "flag_marking",
            "ККТ не зарегистрирована для маркированных товаров",
        )


def check_payments(
    errs: "values.Errors", pay: "dict[str, int]", reg: "dict[str, Any] | None"
) -> None:
    """No cash on a register registered for the Internet only (reference §2.9 check 10)."""
    if reg is not None and reg["internet_only"] and pay["cash"] > 0:
        values.err(
            errs,
            "payments.cash",
            "cash_internet_only",
            "ККТ только для расчётов в Интернете: наличная оплата невозможна",
        )
