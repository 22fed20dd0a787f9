"""Fines control (issue 11): compliance checks over documents, shadows and drives, and findings."""
