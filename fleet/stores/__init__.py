"""Stores: a company's points of sale with their addresses (or websites) and time zones."""
