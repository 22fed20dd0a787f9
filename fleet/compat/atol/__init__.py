"""ATOL Online v4/v5-compatible API (docs/compat.md)."""
