"""`python -m harness.cli`: the same command line as `harness`."""

from harness.cli import app

app()
