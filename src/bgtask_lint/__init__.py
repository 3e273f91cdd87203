"""bgtask-lint: find slow work in FastAPI request paths and background-task traps."""

from __future__ import annotations

__version__ = "0.1.0"
