"""Firmware bundles and staged rollouts to registers (issue 9; docs/firmware.md)."""
