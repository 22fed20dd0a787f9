"""The re-registration rules table: properties of the diff and the reason codes (no database)."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.registration.application import FLAGS, TAX_SYSTEMS, Address, ApplicationForm
from fleet.registration.rules import (
    REASON_LABEL,
    RULES,
    RegisteredParams,
    decide,
    diff,
    ffd_of,
)

_ADDRESS = tuple(Address.__dataclass_fields__)
_TEXT = st.text(alphabet="абвгдеёжз0123456789 -", min_size=0, max_size=8)


def _form(**kw: Any) -> ApplicationForm:
    base = ApplicationForm(
        fn_model="ФН-1.2",
        fn_number="9999078900001234",
        ofd_inn="7704211201",
        ofd_name="ООО «Такском»",
        address=Address(region_code="77", municipal="г. Москва", house="1", postal_code="101000"),
        place="Торговый зал",
        flags={name: False for name in FLAGS},
        tax_systems=["usn_income"],
    )
    return replace(base, **kw)


forms = st.builds(
    lambda addr, place, site, ofd, automat, num, flags, taxes, fn_model, fn_number: _form(
        address=Address(**dict(zip(_ADDRESS, addr, strict=True))),
        place=place,
        website=site,
        ofd_inn=ofd,
        automat_number=automat,
        flags=dict(zip(FLAGS, flags, strict=True)),
        tax_systems=taxes,
        fn_model=fn_model,
        fn_number=num if fn_number else "9999078900001234",
    ),
    st.tuples(*([_TEXT] * len(_ADDRESS))),
    _TEXT,
    _TEXT,
    st.sampled_from(["7704211201", "7709364346", ""]),
    _TEXT,
    st.sampled_from(["9999078900001234", "9999078900005678"]),
    st.tuples(*([st.booleans()] * len(FLAGS))),
    st.lists(st.sampled_from(list(TAX_SYSTEMS)), min_size=1, max_size=3, unique=True),
    st.sampled_from(["ФН-1.2", "ФН-1.1М"]),
    st.booleans(),
)
names = st.sampled_from(["ООО «Ромашка»", "ООО «Василёк»"])


@given(forms, names)
def test_no_difference_needs_nothing(form: ApplicationForm, name: str) -> None:
    same = RegisteredParams(form, name)
    decision = decide(same, RegisteredParams(copy.deepcopy(form), name))
    assert decision.changes == () and decision.reasons == () and not decision.needs_application


@settings(max_examples=300)
@given(forms, forms, names, names)
def test_reasons_are_exactly_those_of_the_changed_fields(
    a: ApplicationForm, b: ApplicationForm, name_a: str, name_b: str
) -> None:
    old, new = RegisteredParams(a, name_a), RegisteredParams(b, name_b)
    decision = decide(old, new)
    # The union of the changed fields' codes, sorted, each once.
    expected = sorted({c.rule.reason for c in decision.changes if c.rule.reason is not None})
    assert list(decision.reasons) == expected
    assert decision.needs_application == any(c.rule.needs_application for c in decision.changes)
    # Every changed field is found, and only changed fields.
    keys = {_field(c.key) for c in decision.changes}
    assert ("ofd_inn" in keys) == (a.ofd_inn != b.ofd_inn)
    assert ("fn_number" in keys) == (a.fn_number != b.fn_number)
    assert ("user_name" in keys) == (name_a != name_b)
    for flag in FLAGS:
        assert (f"flags.{flag}" in keys) == (a.flag(flag) != b.flag(flag))
    for field in _ADDRESS:
        changed = getattr(a.address, field) != getattr(b.address, field)
        assert (f"address.{field}" in keys) == changed
    assert ("tax_systems" in keys) == (sorted(a.tax_systems) != sorted(b.tax_systems))
    # The same fields differ the other way round; the autonomous rule flips direction.
    back = decide(new, old)
    assert {_field(c.key) for c in back.changes} == keys
    if a.flag("autonomous") != b.flag("autonomous"):
        assert {5, 6} == {r for d in (decision, back) for r in d.reasons} & {5, 6}


def _field(key: str) -> str:
    for suffix in (".on", ".off", ".ffd11", ".ffd12"):
        key = key.removesuffix(suffix)
    return key


@given(forms, st.sampled_from(sorted(set(FLAGS) - {"automatic", "autonomous"})))
def test_any_other_flag_alone_needs_code_8(form: ApplicationForm, flag: str) -> None:
    changed = copy.deepcopy(form)
    changed.flags = {**form.flags, flag: not form.flag(flag)}
    decision = decide(RegisteredParams(form, "А"), RegisteredParams(changed, "А"))
    assert decision.reasons == (8,)
    assert [c.key for c in decision.changes] == [f"flags.{flag}"]


def test_single_changes_and_their_codes() -> None:
    base = _form()
    cases: list[tuple[ApplicationForm, str, tuple[int, ...]]] = [
        (_form(address=replace(base.address, house="2")), "А", (1,)),
        (_form(place="Склад"), "А", (1,)),
        (_form(website="shop.example.ru"), "А", (1,)),
        (_form(ofd_inn="7709364346", ofd_name="ООО «Эвотор ОФД»"), "А", (2,)),
        (_form(flags={**base.flags, "automatic": True}, automat_number="A-1"), "А", (3,)),
        (_form(fn_number="9999078900005678"), "А", (4,)),
        (_form(flags={**base.flags, "autonomous": True}), "А", (6,)),
        (_form(), "Б", (7,)),
        # FFD 1.2 drive: the tax system is not a registration parameter → no application.
        (_form(tax_systems=["osn"]), "А", ()),
        # A drive for FFD 1.1: the tax systems are (tag 1062) → code 8.
        (_form(fn_model="ФН-1.1М", tax_systems=["osn"]), "А", (4, 8)),
    ]
    for new, name, codes in cases:
        decision = decide(RegisteredParams(base, "А"), RegisteredParams(new, name))
        assert decision.reasons == codes, (new, decision)
    online = decide(
        RegisteredParams(_form(flags={**base.flags, "autonomous": True}), "А"),
        RegisteredParams(base, "А"),
    )
    assert online.reasons == (5,)
    assert online.changes[0].rule.label == "Переход в режим передачи данных"
    tax = diff(RegisteredParams(base, "А"), RegisteredParams(_form(tax_systems=["osn"]), "А"))
    assert tax[0].old == "usn_income" and tax[0].new == "osn"
    assert not tax[0].rule.needs_application


def test_every_rule_cites_its_source_and_every_code_has_a_label() -> None:
    for key, rule in RULES.items():
        assert rule.source, key
        assert rule.needs_application == (rule.reason is not None)
        if rule.reason is not None:
            assert rule.reason in REASON_LABEL
    assert ffd_of("ФН-1.2") == "1.2" and ffd_of("ФН-1.1М") == "1.1"
