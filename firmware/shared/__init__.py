# GENERATED from protocol/portable/__init__.py by `oblako gen portable`; do not edit.
# Edit the source and regenerate: `make test` fails when this copy drifts.
# protocol/portable: the rules the fleet and the register share (DESIGN.md decision 2).
#
# Written once, in the MicroPython subset, and copied verbatim into firmware/shared/ by
# `oblako gen portable` (a test fails when the copy drifts). The fleet (CPython) imports
# `protocol.portable`, the register (MicroPython) imports `firmware.shared`: the same text.
#
# Rules for every module here (tests/tools/test_portable_gen.py checks the imports):
#   - import only siblings, relatively (`from . import vat`), and no library at all;
#   - no typing/dataclasses/enum/re/datetime/decimal at run time (annotations are fine:
#     MicroPython ignores them; `Any` comes from an `if TYPE_CHECKING:` block mypy reads);
#   - no assert on data, no exceptions for bad input: problems are returned as a list;
#   - no int.bit_length, str.ljust, str.isalnum, implicit f-string concatenation; never
#     rely on dict order (MicroPython dicts are unordered) or on bool being an int.
#
#   codes.py    FFD code lists (1054, 1055, 1173, 1212, 1214, 1222, 2100, 2003, 2108, ...)
#   values.py   single values: CP866 text, INN, contacts, decimal quantity, dates, rounding
#   vat.py      VAT rates (1199) with their dated validity, tax-system rules, VAT arithmetic
#   rules.py    the register profile: FFD version and registration/usage flags
#   receipt.py  the receipt request schema: check(), fields() (TLV for 07h), closing()
