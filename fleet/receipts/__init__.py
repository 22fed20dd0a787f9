"""Receipts: the integrator API, routing to registers, statuses and callbacks (issue 8)."""
