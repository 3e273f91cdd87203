"""The on-disk store: entries framed and checked, written atomically, in the data-only format of
:mod:`bgtask_lint.codec`, pruned so that it never grows without bound."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bgtask_lint import __version__, codec
from bgtask_lint.fingerprint import code_digest
from bgtask_lint.models import ModuleFacts

CACHE_DIR = ".bgtask_lint_cache"
MAGIC = b"bgtask-lint store 2\n"  # every entry: this, the SHA-256 of the payload, the payload
KEEP = 8  # entries kept in a shelf: a few configurations and output formats side by side
TEMP_PREFIX = ".tmp-"
#: After a run that wrote entries, entries the run did not use are deleted once there are more than
#: ``PRUNE_FACTOR * files + PRUNE_SLACK`` of them (old contents of edited files, deleted files).
PRUNE_FACTOR = 2
PRUNE_SLACK = 64
#: The cache directory of another version of the tool is deleted once unused for this long.
OTHER_VERSION_MAX_AGE = 7 * 24 * 3600
#: A temporary file in the cache older than this was left by a killed run.
STALE_TEMP_AGE = 3600
LAST_USED = ".last-used"
#: The store's namespaces: one per kind of entry, so that no key needs a prefix or suffix to say its kind.
FACTS = "facts"  # a module's facts, by content, module name and the code that computes facts
RUN = "run"  # one entry each: the files' identities, parse verdicts, import scans of the last run
POSITIONS = "positions"  # where each finding of a file is, by the file's content
EDITS = "edits"  # the textual edits of a file's fixes, by the file's content
NAMESPACES = (FACTS, RUN, POSITIONS, EDITS)


class Store:
    """``ModuleFacts`` (and other run data) keyed by content hash, module name and tool version, stored
    in the data-only format of :mod:`bgtask_lint.codec`: loading an entry never runs code.

    Each entry is :data:`MAGIC`, the SHA-256 of the payload, then the payload, written to a
    temporary file and renamed into place: a torn, truncated or corrupted entry fails the check
    and is a miss, never a wrong answer. Every failure to read or write is a miss, so a read-only
    or broken cache directory only makes the run slower.
    """

    def __init__(self, base: Path | None) -> None:
        """``base`` is the cache directory (see :func:`cache_base`); None: no cache."""
        self.dir = base / __version__ if base is not None else None
        self.used: set[tuple[str, str]] = set()  # (namespace, key) of the entries this run read or wrote
        self.wrote = 0
        self.problem: str | None = None  # why an entry could not be written, the first time

    @staticmethod
    def key(digest: bytes, module: str, is_package: bool) -> str:
        """The entry of a module whose content has :func:`content_digest` ``digest``."""
        h = hashlib.sha256(digest)
        h.update(f"\0{module}\0{is_package}\0{code_digest(facts_only=True)}".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def get(self, ns: str, key: str, expected: type = ModuleFacts) -> Any:
        """The entry ``key`` of namespace ``ns`` if it is intact and an ``expected`` instance, else None."""
        if self.dir is None:
            return None
        try:
            with open(self.dir / ns / key[:2] / key, "rb") as fh:
                blob = fh.read()
            payload = unframe(blob)
            if payload is None:
                return None
            facts = codec.loads(payload)
        except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss
            return None
        if not isinstance(facts, expected):
            return None
        self.used.add((ns, key))
        return facts

    def has(self, ns: str, key: str) -> bool:
        return self.dir is not None and os.path.exists(self.dir / ns / key[:2] / key)

    def put(self, ns: str, key: str, facts: Any) -> None:
        if self.dir is None:
            return
        self.used.add((ns, key))
        problem = store_entry(self.dir / ns, key, facts)
        if problem is None:
            self.wrote += 1
        else:
            self.problem = self.problem or problem

    def stored(self, ns: str, key: str) -> None:
        """Record an entry a parser worker wrote (see :func:`store_entry`)."""
        self.used.add((ns, key))
        self.wrote += 1

    def prune(self, live: int) -> int:
        """Keep the cache bounded; returns how many entries were deleted. Never raises.

        Marks this version's directory as used (once an hour at most), deletes other versions'
        directories unused for ``OTHER_VERSION_MAX_AGE``, and, when this run wrote entries and the
        directory holds more than ``PRUNE_FACTOR * live + PRUNE_SLACK`` of them, deletes the entries
        this run did not use, and temporary files left by killed runs.
        """
        if self.dir is None:
            return 0
        removed = 0
        now = time.time()
        try:
            self._mark_used(now)
            for entry in os.scandir(self.dir.parent):
                if entry.name == self.dir.name or not entry.is_dir(follow_symlinks=False):
                    continue
                try:
                    stamp = os.stat(os.path.join(entry.path, LAST_USED)).st_mtime
                except OSError:
                    stamp = entry.stat(follow_symlinks=False).st_mtime
                if now - stamp > OTHER_VERSION_MAX_AGE:
                    shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass
        if not self.wrote:
            return 0  # nothing was added: the cache did not grow
        try:
            shards = [(ns, e) for ns in NAMESPACES if os.path.isdir(self.dir / ns)
                      for e in os.scandir(self.dir / ns) if e.is_dir(follow_symlinks=False) and len(e.name) == 2]  # fmt: skip
            entries = [(ns, f) for ns, shard in shards for f in os.scandir(shard.path)]
        except OSError:
            return 0
        stale_temps = []
        for _, f in entries:
            if f.name.startswith(TEMP_PREFIX):
                try:
                    if now - f.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE:
                        stale_temps.append(f)
                except OSError:
                    pass
        keys = [(ns, f) for ns, f in entries if not f.name.startswith(TEMP_PREFIX)]
        doomed = stale_temps
        if len(keys) > PRUNE_FACTOR * live + PRUNE_SLACK:
            doomed = doomed + [f for ns, f in keys if (ns, f.name) not in self.used]
        for f in doomed:
            try:
                os.unlink(f.path)
                removed += 1
            except OSError:
                pass
        return removed

    def _mark_used(self, now: float) -> None:
        assert self.dir is not None
        marker = self.dir / LAST_USED
        try:
            if now - marker.stat().st_mtime < 3600:
                return
        except OSError:
            pass
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            marker.touch()
            os.utime(marker)
        except OSError:
            pass


def cache_base(root: Path, configured: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory of the project at ``root``: ``configured`` (``--cache-dir``,
    ``BGTASK_LINT_CACHE_DIR`` or the ``cache-dir`` setting) or ``.bgtask_lint_cache`` in the project."""
    return Path(os.path.abspath(configured)) if configured else root / CACHE_DIR


def store_entry(directory: Path, key: str, value: Any) -> str | None:
    """Write one cache entry atomically; None when written, else why it could not be (and nothing is
    left behind). Parser workers call it for the facts they make, so the writes run side by side."""
    target = directory / key[:2] / key
    tmp = None
    try:
        payload = codec.dumps(value)
        target.parent.mkdir(parents=True, exist_ok=True)
        ignore = directory.parent.parent / ".gitignore"  # ``directory`` is <base>/<version>/<namespace>
        if not ignore.exists():
            ignore.write_text("*\n")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        with os.fdopen(fd, "wb") as fh:
            fh.write(frame(payload))
        os.replace(tmp, target)
        return None
    except Exception as exc:  # noqa: BLE001 - a read-only tree still lints; it is just not cached
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__


def frame(payload: bytes) -> bytes:
    """An entry's bytes: a torn, truncated or corrupted entry fails :func:`unframe`, never gives a wrong answer."""
    return MAGIC + hashlib.sha256(payload).digest() + payload


def unframe(blob: bytes) -> bytes | None:
    """The payload of an entry :func:`frame` made, or None when it is damaged or of another format."""
    head = len(MAGIC)
    payload = blob[head + 32 :]
    if blob[:head] != MAGIC or hashlib.sha256(payload).digest() != blob[head : head + 32]:
        return None
    return payload


class Shelf:
    """A namespace of the store holding the last few whole-run entries (results, their renderings)."""

    def __init__(self, base: Path, kind: str = "results") -> None:
        """``base`` is the cache directory (:func:`cache_base`)."""
        self.dir = base / __version__ / kind
        self.problem: str | None = None  # why the entry could not be written

    @staticmethod
    def derive(key: str, extra: Iterable[Any]) -> str:
        """The key of something computed from the entry ``key`` and ``extra`` (a rendering of it)."""
        h = hashlib.sha256(key.encode())
        for item in extra:
            h.update(b"\0" + repr(item).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def get(self, key: str | None) -> Any | None:
        if key is None:
            return None
        try:
            payload = unframe((self.dir / key).read_bytes())
            return None if payload is None else codec.loads(payload)
        except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss
            return None

    def put(self, key: str | None, value: Any) -> None:
        if key is None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=TEMP_PREFIX)
            payload = codec.dumps(value)
            with os.fdopen(fd, "wb") as fh:
                fh.write(frame(payload))
            os.replace(tmp, self.dir / key)
            entries = sorted(self.dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except (OSError, TypeError) as exc:  # a read-only or full disk only costs speed
            self.problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
