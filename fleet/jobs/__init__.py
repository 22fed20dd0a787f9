"""Scheduled jobs run through one runner that takes a database lock per job."""
