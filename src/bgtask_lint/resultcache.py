"""Whole-run results keyed by every input's identity, so a re-run on an unchanged tree is a lookup."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bgtask_lint import __version__, codec
from bgtask_lint.fingerprint import code_digest, racy

#: Files whose content can change a finding without any ``.py`` file changing (the FastAPI version).
DEPENDENCY_FILES = ("pyproject.toml", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "Pipfile", "setup.cfg")
MAGIC = b"bgtask-lint results 2\n"  # then the payload's SHA-256, then the payload: damage is a miss
KEEP = 8  # results kept per project: a few configurations and output formats side by side


class ResultCache:
    def __init__(self, base: Path, kind: str = "results") -> None:
        """``base`` is the cache directory (``project.cache_base``)."""
        self.dir = base / __version__ / kind
        self.problem: str | None = None  # why the entry could not be written

    @staticmethod
    def derive(key: str, extra: Iterable[Any]) -> str:
        """The key of something computed from the entry ``key`` and ``extra`` (a rendering of it)."""
        h = hashlib.sha256(key.encode())
        for item in extra:
            h.update(b"\0" + repr(item).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def key(self, files: Iterable[tuple[str, str, bool]], extra: Iterable[Any]) -> str | None:
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

    def get(self, key: str | None) -> Any | None:
        if key is None:
            return None
        try:
            blob = (self.dir / key).read_bytes()
            payload = blob[len(MAGIC) + 32 :]
            if blob[: len(MAGIC)] != MAGIC or hashlib.sha256(payload).digest() != blob[len(MAGIC) : len(MAGIC) + 32]:
                return None
            return codec.loads(payload)
        except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss
            return None

    def put(self, key: str | None, value: Any) -> None:
        if key is None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
            payload = codec.dumps(value)
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, self.dir / key)
            entries = sorted(self.dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except (OSError, TypeError) as exc:  # a read-only or full disk only costs speed
            self.problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


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
