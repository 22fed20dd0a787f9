"""Electronic receipts to buyers (issue 10): channels, the cascade, masking of contacts."""
