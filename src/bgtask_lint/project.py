"""Project loading: project roots, module names, and per-file facts (cached, parsed in parallel)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import signal
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from bgtask_lint import __version__
from bgtask_lint.models import FileError, ModuleFacts, ParseResult

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
CACHE_DIR = ".bgtask_lint_cache"
MAX_FILE_BYTES = 20 * 1024 * 1024


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


def module_names(path: Path, root: Path) -> tuple[str, bool, tuple[str, ...]]:
    """(module name, is package, aliases) from the ``__init__.py`` chain and the project root."""
    path = path.resolve()
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    d = path.parent
    while (d / "__init__.py").exists() and d.parent != d:
        parts.insert(0, d.name)
        d = d.parent
    name = ".".join(parts) or path.parent.name
    aliases: list[str] = []
    for base in (root / "src", root):
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        rel_parts = list(rel.parts[:-1]) + ([] if is_package else [path.stem])
        if rel_parts and all(p.isidentifier() for p in rel_parts):
            alias = ".".join(rel_parts)
            if alias != name and alias not in aliases:
                aliases.append(alias)
        break
    return name, is_package, tuple(aliases)


def read_source(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise OSError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def _parse_one(args: tuple[str, bytes, str, bool]) -> ParseResult:
    from bgtask_lint.summarize import summarize  # imported lazily: warm runs never load libcst

    path, data, module, is_package = args
    try:
        facts = summarize(data, module, path, is_package)
    except RecursionError:
        return ParseResult(None, FileError(path, "too deeply nested to analyse"))
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported against the file
        return ParseResult(None, _syntax_error(path, exc))
    return ParseResult(facts)


def _syntax_error(path: str, exc: Exception) -> FileError:
    line = getattr(exc, "raw_line", None) or getattr(exc, "lineno", None)
    col = getattr(exc, "raw_column", None)
    message = getattr(exc, "message", None) or str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return FileError(path, f"cannot parse: {message}", line, (col + 1) if isinstance(col, int) else None)


class FactsCache:
    """Pickled ``ModuleFacts`` keyed by content hash, module name and tool version."""

    def __init__(self, root: Path | None) -> None:
        self.dir = root / CACHE_DIR / __version__ if root is not None else None

    @staticmethod
    def key(data: bytes, module: str, is_package: bool) -> str:
        h = hashlib.sha256(data)
        h.update(f"\0{module}\0{is_package}\0{__version__}".encode())
        return h.hexdigest()

    def get(self, key: str) -> ModuleFacts | None:
        if self.dir is None:
            return None
        try:
            with open(self.dir / key[:2] / key, "rb") as fh:
                facts = pickle.load(fh)
        except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss
            return None
        return facts if isinstance(facts, ModuleFacts) else None

    def put(self, key: str, facts: ModuleFacts) -> None:
        if self.dir is None:
            return
        target = self.dir / key[:2] / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            (self.dir.parent / ".gitignore").write_text("*\n") if not (self.dir.parent / ".gitignore").exists() else None
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(facts, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError:
            return  # a read-only tree still lints; it is just not cached


@dataclass
class LoadResult:
    facts: list[ModuleFacts]
    errors: list[FileError]
    parsed: int
    cached: int


def load(files: Sequence[SourceFile], cache: FactsCache, jobs: int | None = None,
         overlay: dict[str, str] | None = None) -> LoadResult:  # fmt: skip
    """Summarise every file, from the cache where the content is unchanged."""
    facts: list[ModuleFacts] = []
    errors: list[FileError] = []
    todo: list[tuple[str, bytes, str, bool]] = []
    keys: dict[str, str] = {}
    cached = 0
    for f in files:
        try:
            data = overlay[str(f.path)].encode() if overlay and str(f.path) in overlay else read_source(f.path)
        except OSError as exc:
            errors.append(FileError(str(f.path), f"cannot read: {exc.strerror or exc}"))
            continue
        key = cache.key(data, f.module, f.is_package)
        hit = cache.get(key)
        if hit is not None:
            cached += 1
            facts.append(_with_path(hit, str(f.path)))
            continue
        keys[str(f.path)] = key
        todo.append((str(f.path), data, f.module, f.is_package))
    for result in _parse_all(todo, jobs):
        if result.error is not None:
            errors.append(result.error)
        elif result.facts is not None:
            cache.put(keys[result.facts.path], result.facts)
            facts.append(result.facts)
    return LoadResult(facts, errors, len(todo), cached)


def _with_path(facts: ModuleFacts, path: str) -> ModuleFacts:
    if facts.path == path:
        return facts
    from dataclasses import replace

    return replace(facts, path=path)


def _parse_all(todo: list[tuple[str, bytes, str, bool]], jobs: int | None) -> Iterable[ParseResult]:
    """Parse in worker processes, so that a file that crashes the native parser (deep nesting
    overflows its stack) or runs too long (quadratic operator chains) costs only that file."""
    if not todo:
        return []
    workers = max(1, min(jobs if jobs is not None else (os.cpu_count() or 1), len(todo)))
    timeout = float(os.environ.get("BGTASK_LINT_PARSE_TIMEOUT", PARSE_TIMEOUT))
    try:
        return _WorkerPool(workers, timeout).run(todo)
    except OSError:  # no processes to be had: parse here, without the safety net
        return [_parse_one(t) for t in todo]


PARSE_TIMEOUT = 10.0


def _worker_main(conn: Connection) -> None:
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        conn.send(_parse_one(item))


class _WorkerPool:
    """Long-lived workers fed one file at a time; a worker that dies or overruns is replaced."""

    def __init__(self, size: int, timeout: float) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.timeout = timeout

    def _spawn(self) -> tuple[BaseProcess, Connection]:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, args=(child,), daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def run(self, todo: list[tuple[str, bytes, str, bool]]) -> list[ParseResult]:
        results: list[ParseResult | None] = [None] * len(todo)
        pending = deque(range(len(todo)))
        idle = [self._spawn() for _ in range(self.size)]
        busy: dict[Connection, tuple[BaseProcess, int, float]] = {}
        try:
            while pending or busy:
                while pending and idle:
                    proc, conn = idle.pop()
                    i = pending.popleft()
                    conn.send(todo[i])
                    busy[conn] = (proc, i, time.monotonic())
                ready = wait([*busy, *(p.sentinel for p, _, _ in busy.values())], timeout=0.2)
                now = time.monotonic()
                for conn, (proc, i, started) in list(busy.items()):
                    path = todo[i][0]
                    if conn in ready or conn.poll():
                        try:
                            results[i] = conn.recv()
                        except (EOFError, OSError):
                            results[i] = ParseResult(None, FileError(path, _crash(proc)))
                            self._retire(proc, conn)
                            del busy[conn]
                            idle.append(self._spawn())
                            continue
                        del busy[conn]
                        idle.append((proc, conn))
                    elif not proc.is_alive():
                        results[i] = ParseResult(None, FileError(path, _crash(proc)))
                        self._retire(proc, conn)
                        del busy[conn]
                        idle.append(self._spawn())
                    elif now - started > self.timeout:
                        results[i] = ParseResult(None, FileError(path, f"parsing took longer than {self.timeout:g} s; skipped"))
                        self._retire(proc, conn)
                        del busy[conn]
                        idle.append(self._spawn())
        finally:
            for proc, conn in idle + [(p, c) for c, (p, _, _) in busy.items()]:
                self._retire(proc, conn, gentle=True)
        return [r for r in results if r is not None]

    @staticmethod
    def _retire(proc: BaseProcess, conn: Connection, gentle: bool = False) -> None:
        if gentle and proc.is_alive():
            try:
                conn.send(None)
            except OSError:
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
        return f"the parser crashed ({name}); the file is probably too deeply nested"
    return f"the parser process died (exit code {code})"
