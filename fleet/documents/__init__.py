"""Fiscal documents as the fleet sees them: what the registers issued and what the OFD answered."""
