"""``python -m bgtask_lint``."""

from bgtask_lint.cli import console

console()
