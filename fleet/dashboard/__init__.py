"""The main page's widgets and each user's layout of them (issue 12)."""
