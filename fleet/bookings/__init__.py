"""Bookings of registers: a booking unpaid for 7 days lapses (the first scheduled job)."""
