"""Helpers shared by the reliability tests: the command line in a subprocess, handlers with a
finding, files that cannot be written."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
FORMATS = ("full", "concise", "json", "json-lines", "github", "gitlab", "sarif", "junit")
PYPROJECT = '[project]\nname = "demo"\nversion = "0"\n'


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bgtask_lint", *args]


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", **extra}


def bgtask_lint(*args: str, cwd: Path, stdin: bytes | None = None, timeout: float = 120,
                **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    proc = subprocess.run(command(*args), cwd=cwd, env=environ(**env), input=stdin, capture_output=True,
                          timeout=timeout, check=False)  # fmt: skip
    out = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
                                      proc.stderr.decode(errors="replace"))  # fmt: skip
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr
    return out


def handler(route: str, extra: str = "") -> str:
    """A module whose line 9, column 5 is a BGT102 finding (a webhook in an async handler; one site, one finding)."""
    return (
        "import requests\n"
        "from fastapi import FastAPI\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        f'@app.post("/{route}")\n'
        "async def signup(email: str):\n"
        f'    requests.post("https://hooks.example.com/{route}", json={{"email": email}})\n'
        f'    return {{"ok": True{extra}}}\n'
    )


def chattr_immutable(path: Path) -> bool:
    """``chattr +i``: the only way to make a path unwritable for root. False when unsupported."""
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` (a file or a directory) unwritable for this user, root included, or skip."""
    if IS_ROOT:
        if not chattr_immutable(path):
            pytest.skip("running as root without chattr +i: nothing is read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        mode = path.stat().st_mode
        path.chmod(stat.S_IMODE(mode) & ~0o222)
        try:
            yield
        finally:
            path.chmod(stat.S_IMODE(mode))
