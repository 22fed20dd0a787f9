"""APIs compatible with the peers' (ATOL Online, Ferma), mapped onto Oblako's receipts.

docs/compat.md.
"""
