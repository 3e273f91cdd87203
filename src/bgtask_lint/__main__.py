"""``python -m bgtask_lint``."""

from bgtask_lint.cli import main

raise SystemExit(main())
