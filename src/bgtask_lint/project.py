"""Project loading: project roots, module names, and per-file facts (cached, parsed in parallel)."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import tokenize
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from bgtask_lint import __version__, codec
from bgtask_lint.fingerprint import code_digest, racy
from bgtask_lint.models import FileError, ModuleFacts, ParseResult

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
CACHE_DIR = ".bgtask_lint_cache"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    module: str
    is_package: bool
    aliases: tuple[str, ...] = ()  # other names the module is importable under


def find_project_root(path: Path) -> Path:
    """The nearest ancestor holding a project marker; else the top of the package chain."""
    start = path if path.is_dir() else path.parent
    start = start.resolve()
    for d in (start, *start.parents):
        if any((d / m).exists() for m in ROOT_MARKERS):
            return d
    top = start
    while (top / "__init__.py").exists() and top.parent != top:
        top = top.parent
    return top


def module_names(path: Path, root: Path, packages: dict[str, tuple[str, ...]] | None = None,
                 resolved: bool = False) -> tuple[str, bool, tuple[str, ...]]:  # fmt: skip
    """(module name, is package, aliases) from the ``__init__.py`` chain and the project root.

    ``packages`` memoises each directory's package chain across the files of one run.
    """
    full = str(path if resolved else path.resolve())
    folder, filename = os.path.split(full)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename  # what Path.stem gives
    is_package = filename == "__init__.py"
    parts = [*_package_chain(folder, {} if packages is None else packages)]
    if not is_package:
        parts.append(stem)
    name = ".".join(parts) or os.path.basename(folder)
    aliases: list[str] = []
    top = str(root)
    for base in (os.path.join(top, "src"), top):  # string prefixes: this runs for every file of a run
        prefix = base if base.endswith(os.sep) else base + os.sep
        if not full.startswith(prefix):
            continue
        rel_parts = full[len(prefix):].split(os.sep)[:-1] + ([] if is_package else [stem])
        if rel_parts and all(p.isidentifier() for p in rel_parts):
            alias = ".".join(rel_parts)
            if alias != name and alias not in aliases:
                aliases.append(alias)
        break
    return name, is_package, tuple(aliases)


def _package_chain(directory: str, memo: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The names of the packages a directory is nested in, outermost first, itself last."""
    chain = memo.get(directory)
    if chain is None:
        parent = os.path.dirname(directory)
        if parent != directory and os.path.exists(os.path.join(directory, "__init__.py")):
            chain = (*_package_chain(parent, memo), os.path.basename(directory))
        else:
            chain = ()
        memo[directory] = chain
    return chain


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

    def __init__(self, paths: Sequence[str], cache: FactsCache, overlay: Mapping[str, str] | None = None) -> None:
        self._cache = cache
        self._bytes: dict[str, bytes] = {}
        self._digests: dict[str, bytes] = {}
        self._known: dict[str, tuple[int, int, int, int, bytes]] = (cache.get(STATS_KEY, dict) or {}) if cache.dir else {}
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
            self._cache.put(STATS_KEY, self._fresh)


class UsageError(ValueError):
    """A bad setting outside the config file (an environment variable); the CLI exits 2 with the message."""


# A request to a parser worker is a tuple whose first item says what is asked:
#   (SUMMARISE, path, data, module, is_package, cache directory or None, cache key)
#   (CHECK, path, data, module, is_package): does it parse (no facts)
#   (BATCH, ((path, data), ...)): does CPython's parser accept each of these
#   (LOCATE, path, data, ordinals): positions of the reported calls
SUMMARISE = "<summarise>"
CHECK = "<check>"
BATCH = "<batch>"
LOCATE = "<locate>"


def answer(request: tuple) -> ParseResult | tuple[bool, ...] | dict:  # type: ignore[type-arg]
    """What a worker answers to ``request`` (see above); never raises for a bad file."""
    kind = request[0]
    if kind == BATCH:
        return tuple(_parses(path, data) for path, data in request[1])
    if kind == LOCATE:
        from bgtask_lint.locate import locate

        try:
            return locate(request[2], set(request[3]))
        except Exception as exc:  # noqa: BLE001 - reported against the file
            return ParseResult(None, FileError(request[1], f"cannot locate findings: {exc}"))
    if kind == CHECK:
        return _check_syntax(*request[1:5])
    _, path, data, module, is_package, directory, key = request
    result = _summarise(path, data, module, is_package)
    if result.facts is not None and directory and store_entry(Path(directory), key, result.facts) is None:
        return ParseResult(result.facts, stored=True)  # written here, side by side with the other workers
    return result


def _request_path(request: tuple) -> str:  # type: ignore[type-arg]
    return BATCH if request[0] == BATCH else request[1]


def _summarise(path: str, data: bytes, module: str, is_package: bool) -> ParseResult:
    from bgtask_lint.summarize import summarize  # imported lazily: warm runs never load libcst

    try:
        facts = summarize(data, module, path, is_package)
    except RecursionError:
        return ParseResult(None, FileError(path, "too deeply nested to analyse"))
    except MemoryError:
        return ParseResult(None, FileError(path, "too large to analyse (out of memory)"))
    except Exception as exc:  # noqa: BLE001 - any failure is reported against the file, never raised
        from libcst import ParserSyntaxError

        if isinstance(exc, (ParserSyntaxError, SyntaxError, UnicodeError)):
            return ParseResult(None, _parse_failure(path, data, exc))
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
        return ParseResult(None, FileError(path, f"internal error while analysing the file: {exc!r} at {where}"))
    return ParseResult(facts)


def _check_syntax(path: str, data: bytes, module: str, is_package: bool) -> ParseResult:
    """Whether a file that no route can reach parses: CPython's parser says yes ten times faster
    than libcst; when it says no (or is older than the code), libcst's verdict is the answer, so a
    file is reported exactly when it would be if it were summarised."""
    if _parses(path, data):
        return ParseResult(None)
    return ParseResult(None, _summarise(path, data, module, is_package).error)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (row, column) of a byte offset; the column counts bytes."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _parse_failure(path: str, data: bytes, exc: Exception) -> FileError:
    """Why ``data`` does not parse, said as precisely as the bytes allow (NUL bytes, encodings, syntax)."""
    nul = data.find(b"\0")
    if nul >= 0:
        return FileError(path, "cannot parse: the file contains a NUL byte (is it a binary file?)", *_position(data, nul))
    declared = None
    for row, line in enumerate(data.splitlines()[:2], 1):
        match = CODING.match(line)
        if match:
            declared = (match.group(1).decode("ascii", "replace"), row)
            break
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        if declared is not None and "unknown encoding" in str(err):
            return FileError(path, f"cannot parse: unknown encoding {declared[0]!r} in the coding declaration", declared[1], 1)
        encoding = "utf-8"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        row, col = _position(data, err.start)
        what = f"in the declared encoding {declared[0]!r}" if declared else "UTF-8 and there is no coding declaration"
        return FileError(path, f"cannot parse: byte 0x{data[err.start]:02x} is not valid {what}", row, col)
    except LookupError:
        pass
    # CPython's own parser usually says it better ("Missing parentheses in call to 'print'") and
    # more precisely; libcst's message stands when CPython (perhaps older than the code) is no help.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
    except SyntaxError as err:
        if err.msg and err.lineno:
            column = err.offset if isinstance(err.offset, int) and err.offset > 0 else None
            return FileError(path, f"cannot parse: {err.msg}", err.lineno, column)
    except Exception:  # noqa: BLE001 - RecursionError, MemoryError, ValueError: keep libcst's word
        pass
    return _syntax_error(path, exc)


def _syntax_error(path: str, exc: Exception) -> FileError:
    line = getattr(exc, "raw_line", None) or getattr(exc, "lineno", None)
    col = getattr(exc, "raw_column", None)
    text = str(exc)
    message = getattr(exc, "message", None) or (text.splitlines()[0] if text else type(exc).__name__)
    return FileError(path, f"cannot parse: {message}", line, (col + 1) if isinstance(col, int) else None)


CACHE_MAGIC = b"bgtask-lint facts 2\n"
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


class FactsCache:
    """``ModuleFacts`` (and other run data) keyed by content hash, module name and tool version, stored
    in the data-only format of :mod:`bgtask_lint.codec`: loading an entry never runs code.

    Each entry is ``CACHE_MAGIC``, the SHA-256 of the payload, then the payload, written to a
    temporary file and renamed into place: a torn, truncated or corrupted entry fails the check
    and is a miss, never a wrong answer. Every failure to read or write is a miss, so a read-only
    or broken cache directory only makes the run slower.
    """

    def __init__(self, base: Path | None) -> None:
        """``base`` is the cache directory (see :func:`cache_base`); None: no cache."""
        self.dir = base / __version__ if base is not None else None
        self.used: set[str] = set()  # keys this run read or wrote
        self.wrote = 0
        self.problem: str | None = None  # why an entry could not be written, the first time

    @staticmethod
    def key(digest: bytes, module: str, is_package: bool) -> str:
        """The entry of a module whose content has :func:`content_digest` ``digest``."""
        h = hashlib.sha256(digest)
        h.update(f"\0{module}\0{is_package}\0{code_digest(facts_only=True)}".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def get(self, key: str, expected: type = ModuleFacts) -> Any:
        """The entry for ``key`` if it is intact and an ``expected`` instance, else None."""
        if self.dir is None:
            return None
        try:
            with open(self.dir / key[:2] / key, "rb") as fh:
                blob = fh.read()
            head = len(CACHE_MAGIC)
            payload = blob[head + 32 :]
            if blob[:head] != CACHE_MAGIC or hashlib.sha256(payload).digest() != blob[head : head + 32]:
                return None
            facts = codec.loads(payload)
        except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss
            return None
        if not isinstance(facts, expected):
            return None
        self.used.add(key)
        return facts

    def has(self, key: str) -> bool:
        return self.dir is not None and os.path.exists(self.dir / key[:2] / key)

    def put(self, key: str, facts: Any) -> None:
        if self.dir is None:
            return
        self.used.add(key)
        problem = store_entry(self.dir, key, facts)
        if problem is None:
            self.wrote += 1
        else:
            self.problem = self.problem or problem

    def stored(self, key: str) -> None:
        """Record an entry a parser worker wrote (see :func:`store_entry`)."""
        self.used.add(key)
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
            shards = [e for e in os.scandir(self.dir) if e.is_dir(follow_symlinks=False) and len(e.name) == 2]
            entries = [f for shard in shards for f in os.scandir(shard.path)]
        except OSError:
            return 0
        stale_temps = []
        for f in entries:
            if f.name.startswith(TEMP_PREFIX):
                try:
                    if now - f.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE:
                        stale_temps.append(f)
                except OSError:
                    pass
        keys = [f for f in entries if not f.name.startswith(TEMP_PREFIX)]
        doomed = stale_temps
        if len(keys) > PRUNE_FACTOR * live + PRUNE_SLACK:
            doomed = doomed + [f for f in keys if f.name not in self.used]
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
        ignore = directory.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        with os.fdopen(fd, "wb") as fh:
            fh.write(CACHE_MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, target)
        return None
    except Exception as exc:  # noqa: BLE001 - a read-only tree still lints; it is just not cached
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__


@dataclass
class LoadResult:
    facts: list[ModuleFacts]
    errors: list[FileError]
    parsed: int
    cached: int


def load(files: Sequence[SourceFile], cache: FactsCache, jobs: int | None = None,
         overlay: dict[str, str] | None = None, contents: Contents | None = None,
         syntax_only: Set[str] = frozenset(), progress: Progress | None = None) -> LoadResult:  # fmt: skip
    """Summarise every file, from the cache where the content is unchanged (``contents``: the files' digests
    and bytes when the caller has them).

    Files in ``syntax_only`` are only checked to parse (their errors are reported, no facts are made).
    """
    parse_timeout()  # a bad setting is an error on every run, not only on runs that parse
    facts: list[ModuleFacts] = []
    errors: list[FileError] = []
    todo: list[tuple[str, tuple]] = []  # type: ignore[type-arg]  # (cache key, SUMMARISE or CHECK request)
    cached = 0
    # content keys of the files only checked that parse: one entry for all (one read, one write)
    known_to_parse: set[str] = (cache.get(PARSES_KEY, set) or set()) if syntax_only else set()
    parse: set[str] = set()
    stored: list[tuple[SourceFile, str]] = []
    if contents is None:
        contents = Contents([str(f.path) for f in files], FactsCache(None), overlay)
    for f in files:
        path = str(f.path)
        try:
            check_only = path in syntax_only
            key = cache.key(contents.digest(path), f.module, f.is_package)
            if check_only and key in known_to_parse:
                cached += 1
                parse.add(key)
                continue
            if not check_only and cache.has(key):
                stored.append((f, key))  # read after the parsing has been sent off (see below)
                continue
            data = contents.data(path)
        except (OSError, UnicodeError, ValueError) as exc:
            errors.append(_unreadable(path, exc))
            continue
        if check_only:
            todo.append((key, (CHECK, str(f.path), data, f.module, f.is_package)))
        else:  # the worker that makes the facts stores them too
            todo.append((key, _summarise_request(f, data, cache, key)))
    # The largest files first, so that no worker is left with a big one at the end; the files that
    # are only checked go to CPython's parser in batches (one round trip per batch, not per file).
    work = sorted((kr for kr in todo if kr[1][0] == SUMMARISE), key=lambda kr: -len(kr[1][2]))
    batches = _batches([kr for kr in todo if kr[1][0] == CHECK])
    requests = [r for _, r in work] + [(BATCH, tuple((r[1], r[2]) for _, r in b)) for b in batches]
    # The workers parse while this process reads the cached facts (after an edit: a few files to
    # parse, a thousand entries to read), one entry whenever no answer is waiting.
    damaged: list[tuple[SourceFile, str]] = []
    reading = _read_stored(stored, cache, facts, damaged)
    if progress is not None:
        progress(0, len(todo))
    results = parse_all(requests, jobs, meanwhile=reading, progress=progress)
    for _ in reading:  # what is left once every file is parsed
        pass
    cached += len(stored) - len(damaged)
    again = []
    for f, key in damaged:  # entries that could not be read after all: those files are summarised too
        try:
            again.append((key, _summarise_request(f, contents.data(str(f.path)), cache, key)))
        except (OSError, ValueError) as exc:
            errors.append(_unreadable(str(f.path), exc))
    if again:
        results = results[: len(work)] + parse_all([r for _, r in again], jobs) + results[len(work) :]
        work += again
    unsure: list[tuple[str, tuple]] = []  # type: ignore[type-arg]
    for batch, verdicts in zip(batches, results[len(work):]):
        if not isinstance(verdicts, tuple):  # the batch itself failed: each file is checked alone
            unsure.extend(batch)
            continue
        for (key, job), parses in zip(batch, verdicts):
            if parses:
                parse.add(key)
            else:
                unsure.append((key, job))
    # what CPython's parser refuses (or is too old for) libcst decides, one file at a time
    results = results[: len(work)] + parse_all([r for _, r in unsure], jobs)
    for (key, request), result in zip(work + unsure, results):
        if result.error is not None:
            errors.append(result.error)  # never cached: the next run says it again, in its own words
        elif result.facts is not None:
            if result.stored:
                cache.stored(key)
            else:
                cache.put(key, result.facts)
            facts.append(result.facts)
        elif request[0] == CHECK:
            parse.add(key)
    if not parse <= known_to_parse:
        # what other runs (naming other files) found stays, until it is mostly stale
        kept = known_to_parse | parse if len(known_to_parse) < 2 * len(parse) + PRUNE_SLACK else parse
        cache.put(PARSES_KEY, kept)
    elif parse:
        cache.used.add(PARSES_KEY)
    facts.sort(key=lambda m: m.path)  # the same order whatever came from the cache
    return LoadResult(facts, errors, len(todo) + len(again), cached)


def _unreadable(path: str, exc: Exception) -> FileError:
    reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
    return FileError(path, f"cannot read: {reason}")


def _summarise_request(f: SourceFile, data: bytes, cache: FactsCache, key: str) -> tuple:  # type: ignore[type-arg]
    return (SUMMARISE, str(f.path), data, f.module, f.is_package, None if cache.dir is None else str(cache.dir), key)


def _read_stored(stored: list[tuple[SourceFile, str]], cache: FactsCache, facts: list[ModuleFacts],
                 damaged: list[tuple[SourceFile, str]]) -> Iterator[None]:  # fmt: skip
    """Append the cached facts of ``stored`` files to ``facts``, one entry per step; the files whose
    entry cannot be read go to ``damaged``."""
    for f, key in stored:
        hit = cache.get(key)
        if hit is None:
            damaged.append((f, key))
        else:
            facts.append(_with_path(hit, str(f.path)))
        yield


#: Source bytes per batch: a few milliseconds of parsing, small enough to be sent ahead.
BATCH_BYTES = 40 * 1024


def _batches(items: list[tuple[str, tuple]]) -> list[list[tuple[str, tuple]]]:  # type: ignore[type-arg]
    """(key, CHECK request) pairs in groups of at most ``BATCH_BYTES`` of source (at least one each)."""
    out: list[list[tuple[str, tuple]]] = []  # type: ignore[type-arg]
    size = 0
    for item in items:
        if not out or size + len(item[1][2]) > BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += len(item[1][2])
    return out


def _request_size(request: tuple) -> int:  # type: ignore[type-arg]
    """Roughly how many bytes sending ``request`` to a worker writes."""
    if request[0] == BATCH:
        return sum(len(data) for _, data in request[1])
    return len(request[2])


def _parses(path: str, data: bytes) -> bool:
    """CPython's parser accepts ``data`` (it is about ten times faster than libcst's)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


#: The cache entry holding the content keys of files only checked that parse.
PARSES_KEY = "parses"


def _with_path(facts: ModuleFacts, path: str) -> ModuleFacts:
    if facts.path == path:
        return facts
    from dataclasses import replace

    return replace(facts, path=path)


_DONE = object()

#: The workers of the current run (see :func:`workers`), kept between the requests of one run.
_SESSION: list[tuple[BaseProcess, Connection]] | None = None


@contextlib.contextmanager
def workers() -> Iterator[None]:
    """Keep the parser processes of one run alive from the first request to the last (summaries,
    checks, positions), instead of starting new ones for each: a worker's start-up (importing
    libcst) costs as much as parsing a few thousand lines."""
    global _SESSION
    outer = _SESSION
    _SESSION = [] if outer is None else outer
    try:
        yield
    finally:
        if outer is None:
            for proc, conn in _SESSION:
                _WorkerPool._retire(proc, conn, gentle=True)
            _SESSION = None


def workers_running() -> bool:
    """This run has parser processes alive (one request to them costs no start-up)."""
    return bool(_SESSION)


def prestart() -> None:
    """Start the run's workers now (one per core), so that their start-up overlaps with reading
    and scanning the tree; only in a :func:`workers` session, and only once."""
    if _SESSION is None or _SESSION:
        return
    try:
        _SESSION.extend(_WorkerPool(os.cpu_count() or 1, parse_timeout()).start())
    except OSError:
        pass  # the first request tries again, or parses without workers


#: Told of parsing as it goes: ``(files parsed so far, files to parse)``.
Progress = Callable[[int, int], None]


def parse_all(todo: list[tuple], jobs: int | None, meanwhile: Iterator[object] | None = None,  # type: ignore[type-arg]
              progress: Progress | None = None) -> list:  # type: ignore[type-arg]  # fmt: skip
    """Parse in worker processes, so that a file that crashes the native parser (deep nesting
    overflows its stack) or runs too long (quadratic operator chains) costs only that file.

    ``meanwhile`` is advanced one step at a time while no answer is waiting (it may be left unfinished);
    ``progress`` is told how many files are done after each answer."""
    if not todo:
        return []
    size = max(1, min(jobs if jobs is not None else (os.cpu_count() or 1), len(todo)))
    pool = _WorkerPool(size, parse_timeout())
    try:
        idle = _SESSION if _SESSION else pool.start()
    except OSError:  # no processes to be had at all: parse here, without the safety net
        return [answer(t) for t in todo]
    if _SESSION is not None and not _SESSION:
        _SESSION.extend(idle)
    return pool.run(todo, idle, keep=_SESSION, meanwhile=meanwhile, progress=progress)


#: Not a limit on what is linted (``max-file-size`` is, and it is the same on every machine): a guard
#: against a parser that never returns. A file at the default size limit parses in a few seconds, so
#: only a hung parse meets it, however busy the machine.
PARSE_TIMEOUT = 300.0
TIMEOUT_ENV = "BGTASK_LINT_PARSE_TIMEOUT"


def parse_timeout() -> float:
    """Seconds one file may take to parse: ``BGTASK_LINT_PARSE_TIMEOUT``, else ``PARSE_TIMEOUT``."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return PARSE_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


def _detach_from_parent(parent: int) -> None:
    """Die with the parent (a killed lint must not leave parsers running for minutes), and be the
    first process the kernel's OOM killer picks: a parse that eats memory costs only its file."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - best effort
            pass
        try:
            with open("/proc/self/oom_score_adj", "w") as fh:
                fh.write("1000")
        except OSError:
            pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(0)


# --------------------------------------------------------------------------- deep syntax trees
#
# libcst's visitors recurse once per tree level, so Python's default recursion limit (1000) stops
# at a few hundred `elif`s or `+` terms, code that real projects contain. Parsing workers and the
# main process's position lookup raise the limit to DEEP_RECURSION_LIMIT, in a thread with a stack
# sized for it. The worker's stack is smaller than the main thread's (3/4 of it): libcst's native
# parser then overflows in a worker (a reported crash) before it could in the main process, where
# fixes parse files again. The main process's lookup gets a much larger stack than the worker had,
# so a tree the worker walked cannot overflow it either.

DEEP_RECURSION_LIMIT = 10_000
DEEP_SUPPORTED = sys.platform != "win32"


def main_stack_bytes() -> int:
    """The main thread's stack size: RLIMIT_STACK's soft limit, 8 MB when unlimited or unknown."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
        if soft != resource.RLIM_INFINITY and soft > 0:
            return int(soft)
    except (ImportError, ValueError, OSError):
        pass
    return 8 * 1024 * 1024


def worker_stack_bytes() -> int:
    return max(256 * 1024, main_stack_bytes() * 3 // 4)


def lookup_stack_bytes() -> int:
    """For walking, in the main process, trees a worker has walked: far more stack than it had."""
    return max(64 * 1024 * 1024, main_stack_bytes() * 4)


def run_deep(fn, *args, stack_bytes: int):  # type: ignore[no-untyped-def]
    """``fn(*args)`` in a new thread with ``stack_bytes`` of stack and the recursion limit raised to
    ``DEEP_RECURSION_LIMIT`` for the call (the limit is per interpreter: the caller just waits)."""
    import threading

    if not DEEP_SUPPORTED:
        return fn(*args)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    try:
        previous = threading.stack_size(stack_bytes)
    except (ValueError, RuntimeError):  # the platform refuses this size: run as before
        return fn(*args)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEEP_RECURSION_LIMIT))
    try:
        try:
            thread = threading.Thread(target=target, name="bgtask-lint-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def _worker_main(conn: Connection, parent: int) -> None:
    _detach_from_parent(parent)
    stack = worker_stack_bytes()
    try:  # libcst's import is the bulk of a worker's start-up: done while the first request is prepared
        import bgtask_lint.summarize  # noqa: F401
    except Exception:  # noqa: BLE001 - the first request reports whatever is wrong
        pass
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            conn.send(run_deep(answer, item, stack_bytes=stack))
        except (EOFError, OSError):
            return


#: Requests a worker may hold at once (the one it parses and the next), and the largest request
#: sent ahead: one that fits in the pipe's buffer, so that sending it never blocks.
PIPELINE_DEPTH = 2
PIPELINE_BYTES = 48 * 1024


@dataclass
class _Flight:
    proc: BaseProcess
    jobs: deque[int]  # requests sent, the one being parsed first
    since: float  # when the first of ``jobs`` started


class _WorkerPool:
    """Long-lived workers fed one file at a time; a worker that dies or overruns is replaced."""

    SEND_ATTEMPTS = 3

    def __init__(self, size: int, timeout: float) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.timeout = timeout

    def _spawn(self) -> tuple[BaseProcess, Connection]:
        parent, child = self.ctx.Pipe()
        try:
            proc = self.ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
            proc.start()
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        return proc, parent

    def start(self) -> list[tuple[BaseProcess, Connection]]:
        """The first workers; raises OSError only when not even one process can be started."""
        workers = [self._spawn()]
        for _ in range(self.size - 1):
            try:
                workers.append(self._spawn())
            except OSError:
                break  # fewer workers, same safety
        return workers

    def run(self, todo: list[tuple], idle: list[tuple[BaseProcess, Connection]] | None = None,  # type: ignore[type-arg]
            keep: list[tuple[BaseProcess, Connection]] | None = None,
            meanwhile: Iterator[object] | None = None, progress: Progress | None = None) -> list:  # type: ignore[type-arg]
        """Each request's answer, in order. A worker gets a second request while it works on one when
        that request fits in the pipe's buffer, so it never waits for the next file; a larger one
        waits until the worker is free (sending it could block, and a hung parse would block us)."""
        results: list = [None] * len(todo)
        sizes = [_request_size(t) for t in todo]
        pending = deque(range(len(todo)))
        flights: dict[Connection, _Flight] = {}
        for proc, conn in idle if idle is not None else self.start():
            flights[conn] = _Flight(proc, deque(), 0.0)
        attempts = [0] * len(todo)
        files = [len(t[1]) if t[0] == BATCH else 1 for t in todo]
        total, done = sum(files), 0
        try:
            while pending or any(f.jobs for f in flights.values()):
                for conn, flight in list(flights.items()):
                    while pending and (not flight.jobs or (len(flight.jobs) < PIPELINE_DEPTH
                                                           and sizes[pending[0]] <= PIPELINE_BYTES)):  # fmt: skip
                        i = pending.popleft()
                        try:
                            conn.send(todo[i])
                        except (OSError, ValueError):  # the worker is gone: try the request elsewhere
                            attempts[i] += 1
                            if attempts[i] < self.SEND_ATTEMPTS:
                                pending.appendleft(i)
                            else:
                                results[i] = ParseResult(None, FileError(_request_path(todo[i]), "could not hand the file to a parser process"))
                            self._lose(conn, flights, pending)
                            break
                        if not flight.jobs:
                            flight.since = time.monotonic()
                        flight.jobs.append(i)
                active = {conn: f for conn, f in flights.items() if f.jobs}
                if not active:
                    if pending and not flights:
                        for i in pending:  # not one worker could be (re)started
                            results[i] = ParseResult(None, FileError(_request_path(todo[i]), "no parser process could be started"))
                        break
                    continue
                waiting = [*active, *(f.proc.sentinel for f in active.values())]
                ready = wait(waiting, timeout=0) if meanwhile is not None else wait(waiting, timeout=0.2)
                if not ready and meanwhile is not None and next(meanwhile, _DONE) is _DONE:
                    meanwhile = None
                now = time.monotonic()
                for conn, flight in active.items():
                    head = flight.jobs[0]
                    path = _request_path(todo[head])
                    if conn in ready or conn.poll():
                        try:
                            results[head] = conn.recv()
                        except (EOFError, OSError):
                            results[head] = ParseResult(None, FileError(path, _crash(flight.proc)))
                            flight.jobs.popleft()
                            self._lose(conn, flights, pending)
                            continue
                        flight.jobs.popleft()
                        flight.since = now
                        if progress is not None:
                            done += files[head]
                            progress(done, total)
                    elif not flight.proc.is_alive():
                        results[head] = ParseResult(None, FileError(path, _crash(flight.proc)))
                        flight.jobs.popleft()
                        self._lose(conn, flights, pending)
                    elif now - flight.since > self.timeout:
                        results[head] = ParseResult(None, FileError(path, (
                            f"parsing did not finish in {self.timeout:g} s and was stopped; please report it "
                            f"(exclude the file with `extend-exclude` meanwhile)")))  # fmt: skip
                        flight.jobs.popleft()
                        self._lose(conn, flights, pending)
        finally:
            if keep is not None:  # the live, idle workers stay for the run's next request
                keep[:] = [(f.proc, conn) for conn, f in flights.items() if not f.jobs and f.proc.is_alive()]
            for conn, flight in flights.items():
                if keep is None or (flight.proc, conn) not in keep:
                    self._retire(flight.proc, conn, gentle=not flight.jobs)
        return [r if r is not None else ParseResult(None, FileError(_request_path(todo[i]), "the file was not parsed"))
                for i, r in enumerate(results)]

    def _lose(self, conn: Connection, flights: dict[Connection, _Flight], pending: deque[int]) -> None:
        """Retire a dead, hung or unreachable worker; the requests it had not started go back to the
        front of the queue, and a new worker takes its place."""
        flight = flights.pop(conn)
        pending.extendleft(reversed(flight.jobs))
        self._retire(flight.proc, conn)
        try:
            proc, new = self._spawn()
        except OSError:
            return  # fewer workers; run() reports the files left when no worker is left
        flights[new] = _Flight(proc, deque(), 0.0)

    @staticmethod
    def _retire(proc: BaseProcess, conn: Connection, gentle: bool = False) -> None:
        if gentle and proc.is_alive():
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            proc.join(timeout=1)
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()


def _crash(proc: BaseProcess) -> str:
    proc.join(timeout=1)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"the parser process was killed ({name}); out of memory?"
        return f"the parser crashed ({name}); the file is probably too deeply nested"
    return f"the parser process died (exit code {code})"
