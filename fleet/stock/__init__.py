"""Drive stock and replacement work orders from the forecast (issue 9; docs/firmware.md)."""
