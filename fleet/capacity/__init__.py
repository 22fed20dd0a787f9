"""Capacity per register group: load, queue depth and lag, and when to add registers."""
