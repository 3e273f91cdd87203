"""The identity of a whole run: the tool, every input file's stat identity, the files that pin the
FastAPI version, and the options. Equal keys mean an equal result, so a re-run is a lookup."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from bgtask_lint.fingerprint import code_digest, racy

#: Files whose content can change a finding without any ``.py`` file changing (the FastAPI version).
DEPENDENCY_FILES = ("pyproject.toml", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "Pipfile", "setup.cfg")


def run_key(files: Iterable[tuple[str, str, bool]], extra: Iterable[Any]) -> str | None:
    """A digest of the tool, the inputs' stat identity and ``extra``; None if a file cannot be stat'ed
    or was modified too recently to be told apart from a later change (see :func:`racy`)."""
    h = hashlib.sha256()
    now = time.time_ns()
    h.update(f"{code_digest()}\0{sys.version_info[:2]}\0".encode())
    for item in extra:
        h.update(repr(item).encode("utf-8", "surrogatepass") + b"\0")
    dirs: set[str] = set()
    for path, module, is_package in files:
        try:
            st = os.stat(path)
        except OSError:
            return None
        if racy(st, now):
            return None
        h.update(f"{path}\0{module}\0{is_package}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_size}\0{st.st_ino}\n"
                 .encode("utf-8", "surrogatepass"))  # fmt: skip
        dirs.add(os.path.dirname(path))
    for d in sorted(_with_ancestors({os.path.abspath(d) for d in dirs})):  # abspath("") is the cwd
        for name in DEPENDENCY_FILES:
            try:
                st = os.stat(os.path.join(d, name))
            except OSError:
                continue
            h.update(f"{d}/{name}\0{st.st_mtime_ns}\0{st.st_size}\n".encode("utf-8", "surrogatepass"))
        for entry in _requirements(d):
            h.update(entry.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _with_ancestors(dirs: set[str]) -> set[str]:
    out: set[str] = set()
    for d in dirs:
        while d not in out:
            out.add(d)
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    return out


def _requirements(directory: str) -> list[str]:
    try:
        names = [n for n in os.listdir(directory) if n.startswith("requirements") and n.endswith(".txt")]
    except OSError:
        return []
    out = []
    for name in sorted(names):
        try:
            st = os.stat(os.path.join(directory, name))
        except OSError:
            continue
        out.append(f"{directory}/{name}\0{st.st_mtime_ns}\0{st.st_size}\n")
    return out
