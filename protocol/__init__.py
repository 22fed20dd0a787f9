"""The spec on CPython: construct declarations, the tag registry and golden vectors."""
