"""Registers: the hardware inventory, booking assignment, lifecycle states and the client list."""
