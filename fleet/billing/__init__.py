"""Billing: tariffs, the double-entry ledger, card and bank payments, paid services."""
