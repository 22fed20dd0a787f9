"""Ferma (OFD.ru)-compatible API (docs/compat.md)."""
