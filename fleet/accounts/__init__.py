"""Accounts: companies, users, sign-up with e-mail confirmation, sign-in, sessions."""
