"""Advertising receipts (issue 10): templates that frame the buyer's e-receipt, their
assignment to campaigns, stores and registers, buyers' consent and the marking of banners."""
