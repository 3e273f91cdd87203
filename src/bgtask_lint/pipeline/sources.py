"""File contents and identities: each file read at most once, unchanged files not read at all."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bgtask_lint.fingerprint import racy
from bgtask_lint.store import RUN, Store


def read_source(path: Path) -> bytes:
    return path.read_bytes()


def content_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


STATS_KEY = "stats"  # the cache entry holding each file's identity and content digest, from the last run


class Contents:
    """The bytes and content digest of each file of a run, read at most once.

    A file whose size, mtime, ctime and inode are those an earlier run recorded is not read again
    (ruff and git trust a file's identity the same way): its digest comes from the record, and its
    bytes are read only if something asks for them (a file to parse, a finding to show).
    """

    def __init__(self, paths: Sequence[str], cache: Store, overlay: Mapping[str, str] | None = None) -> None:
        self._cache = cache
        self._bytes: dict[str, bytes] = {}
        self._digests: dict[str, bytes] = {}
        self._known: dict[str, tuple[int, int, int, int, bytes]] = (cache.get(RUN, STATS_KEY, dict) or {}) if cache.dir else {}
        self._fresh: dict[str, tuple[int, int, int, int, bytes]] = {}
        now = time.time_ns()
        for path in paths:
            if overlay and path in overlay:  # text from stdin: undecodable bytes come back as they were
                self._keep(path, overlay[path].encode("utf-8", "surrogateescape"))
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue  # reported by whoever needs the file
            ident = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            where = os.path.abspath(path)  # the record holds absolute paths: runs start from any directory
            known = self._known.get(where)
            if known is not None and known[:4] == ident:
                self._digests[path] = known[4]
                self._fresh[where] = known
                continue
            try:
                data = read_source(Path(path))
            except (OSError, ValueError):
                continue
            digest = self._keep(path, data)
            if not racy(st, now):
                self._fresh[where] = (*ident, digest)

    def _keep(self, path: str, data: bytes) -> bytes:
        self._bytes[path] = data
        digest = self._digests[path] = content_digest(data)
        return digest

    def __contains__(self, path: object) -> bool:
        """The file could be read (now or by an earlier run, unchanged since)."""
        return path in self._digests

    def digest(self, path: str) -> bytes:
        """The file's content digest; raises OSError/ValueError if it cannot be read."""
        found = self._digests.get(path)
        if found is None:
            found = self._keep(path, read_source(Path(path)))
        return found

    def data(self, path: str) -> bytes:
        """The file's bytes (read now if they were not yet); raises OSError/ValueError if it cannot be read."""
        found = self._bytes.get(path)
        if found is None:
            found = self._bytes[path] = read_source(Path(path))
        return found

    def save(self) -> None:
        """Record the identity of the files of this run (only theirs: the record never grows)."""
        if self._cache.dir is not None and self._fresh != self._known:
            self._cache.put(RUN, STATS_KEY, self._fresh)
