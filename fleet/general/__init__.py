"""The General's report: a company's revenue dashboard shared by a secret link (issue 12)."""
