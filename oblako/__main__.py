"""`python -m oblako` is the `oblako` command."""

from oblako.cli import app

app()
