"""The pipeline: discovery -> per-file facts -> project index -> rules -> positions and noqa."""

from __future__ import annotations

import gc
import hashlib
import os
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bgtask_lint.codec import stored
from bgtask_lint.config import Config
from bgtask_lint.fingerprint import code_digest
from bgtask_lint.models import Diagnostic, FileError, Located, ParseResult
from bgtask_lint.pipeline.discover import DEFAULT_EXCLUDE, discover, is_excluded
from bgtask_lint.pipeline.load import load
from bgtask_lint.pipeline.naming import SourceFile, find_project_root, module_names
from bgtask_lint.pipeline.parse import LOCATE, answer
from bgtask_lint.pipeline.pool import (
    lookup_stack_bytes,
    parse_all,
    prestart,
    run_deep,
    workers,
    workers_running,
)
from bgtask_lint.pipeline.prefilter import Module, Scan, relevant, scan
from bgtask_lint.pipeline.runkey import run_key as identity
from bgtask_lint.pipeline.sources import Contents
from bgtask_lint.store import POSITIONS, RUN, Shelf, Store, cache_base

if TYPE_CHECKING:  # the analysis is imported only when a run is not answered from the result cache
    from bgtask_lint.analysis.calls import CallKind
    from bgtask_lint.analysis.index import ProjectIndex
    from bgtask_lint.analysis.matching import Catalogue


#: From this many files on, a run that is not answered from the result cache starts its parser
#: workers before reading the tree (a few files named by pre-commit rarely need one).
PRESTART_FILES = 200


@stored
@dataclass
class Result:
    diagnostics: list[Diagnostic]
    errors: list[FileError]
    files: list[str]  # the files reported on
    sources: dict[str, str] = field(default_factory=dict)  # text of files with findings
    parsed: int = 0
    cached: int = 0
    index: ProjectIndex | None = None
    project_root: Path | None = None  # the root the caller fixed, if any (re-lints reuse it)
    run_key: str | None = None  # the identity of every input of the run, when the run was cached
    outputs: Shelf | None = None  # where renderings of this result are kept
    warnings: list[str] = field(default_factory=list)  # said on stderr: files skipped for their size, a cache not written
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of this run, for --verbose


def run(paths: Sequence[str | Path], config: Config, **options) -> Result:  # type: ignore[no-untyped-def]
    """Lint ``paths`` (see :func:`_run` for the options), with the cyclic garbage collector paused.

    A run builds hundreds of thousands of small acyclic objects (facts, resolved names); with the
    collector on, each batch of allocations triggers a pass over everything alive so far, which
    costs more than the unpickling itself. The run frees its objects by reference counting.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        with workers():
            return _run(paths, config, **options)
    finally:
        if paused:
            gc.enable()


def _run(
    paths: Sequence[str | Path],
    config: Config,
    *,
    use_cache: bool = True,
    project_root: Path | None = None,
    jobs: int | None = None,
    overlay: dict[str, str] | None = None,
    fix_edits: str | None = None,
    add_edits: Callable[[Result, Store, bool], Result] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Result:
    """Lint ``paths``; the index covers the whole project each path belongs to.

    ``overlay`` maps a path to source text that replaces the file's content (``--stdin-filename``).
    ``fix_edits`` (``"safe"`` or ``"unsafe"``) asks for the textual edits of those fixes, which
    ``add_edits(result, cache, unsafe)`` fills in before the result is stored (the pipeline does not
    know how fixes are made). When nothing the run depends on changed since an earlier run,
    its stored result is returned without any analysis. ``progress`` is told of each phase as it
    goes: ``("parse", files done, files to parse)``, then ``("analyse", 0, 0)``.
    """
    clock = _Clock()
    exclude = config.exclude if config.exclude is not None else DEFAULT_EXCLUDE
    targets = discover(paths, exclude, config.extend_exclude)
    if config.force_exclude and targets.explicit:  # pre-commit names files the settings exclude
        patterns = (*exclude, *config.extend_exclude)
        dropped = {p for p in targets.explicit
                   if is_excluded(p, Path(config.root) if config.root else find_project_root(p), patterns)}  # fmt: skip
        targets = replace(targets, files=tuple(p for p in targets.files if p not in dropped),
                          explicit=targets.explicit - dropped)  # fmt: skip
    target_set = {str(p) for p in targets.files} | set(overlay or {})
    roots = sorted({project_root.resolve()} if project_root else {find_project_root(Path(p)) for p in paths if Path(p).exists()})
    # the project around the paths (the index needs it all); walked once when the paths are its roots
    walked = {str(Path(p).resolve()) for p in paths if Path(p).is_dir()}
    whole = bool(roots) and {str(r) for r in roots} <= walked
    context = discover([str(r) for r in roots], exclude, config.extend_exclude) if roots and not whole else targets
    files: dict[str, tuple[Path, Path]] = {}
    real_dirs: dict[str, str] = {}
    for p in targets.files + (context.files if context is not targets else ()):
        real = _real_path(p, real_dirs)
        files.setdefault(str(real), (p, real))
    for p in overlay or {}:
        files.setdefault(str(Path(p).resolve()), (Path(p), Path(p).resolve()))
    sources: list[SourceFile] = []
    aliases: dict[str, str] = {}
    packages: dict[str, tuple[str, ...]] = {}
    skipped: list[str] = []  # files over max-file-size: the same files on every machine, however busy
    for key, (p, real) in sorted(files.items()):
        size = len(overlay[str(p)].encode("utf-8", "surrogateescape")) if overlay and str(p) in overlay else _size(p)
        if size > config.max_file_size:
            if str(p) in target_set:
                skipped.append(f"{p}: skipped, {_megabytes(size)} is over max-file-size "
                               f"({_megabytes(config.max_file_size)}); raise it to lint this file")  # fmt: skip
            continue
        root = next((r for r in roots if key.startswith(str(r) + "/")), None) or find_project_root(p)
        name, is_package, alias = module_names(real, root, packages, resolved=True)
        sources.append(SourceFile(p, name, is_package, alias))
        for a in alias:
            aliases[str(p)] = a
    base = cache_base(roots[0], config.cache_dir) if roots and use_cache else None
    results = Shelf(base, "results") if base is not None and not overlay else None
    run_key = identity(
        ((str(s.path), s.module, s.is_package) for s in sources),
        (config, sorted(target_set), targets.errors, targets.missing, project_root, fix_edits, _installed_fastapi()),
    ) if results else None  # fmt: skip
    outputs = Shelf(base, "outputs") if base is not None and results is not None and run_key else None
    if results is not None and (hit := results.get(run_key)) is not None:
        hit.cached, hit.parsed, hit.run_key, hit.outputs = len(sources), 0, run_key, outputs
        clock.lap("stored result")
        hit.timings = clock.timings
        return hit
    clock.lap("discovery")
    if len(sources) >= PRESTART_FILES and jobs is None:
        prestart()  # a whole project to analyse: the parser workers start while the tree is read
    cache = Store(base)
    contents = Contents([str(s.path) for s in sources], cache, overlay)
    # Only what a route or a task can reach is summarised; the other files linted are checked to parse.
    modules = [Module(str(s.path), s.module, s.is_package, s.aliases) for s in sources]
    keep = _relevant(modules, contents, cache)
    syntax_only = {path for path in target_set if path in contents and path not in keep}
    sources = [s for s in sources if str(s.path) in keep or str(s.path) in syntax_only or str(s.path) not in contents]
    parsing = (lambda done, total: progress("parse", done, total)) if progress is not None else None
    loaded = load(sources, cache, jobs, overlay=overlay, contents=contents, syntax_only=syntax_only, progress=parsing)
    contents.save()
    if progress is not None:
        progress("analyse", 0, 0)
    clock.lap("parse")
    cache.prune(live=len(sources))
    errors = [e for e in loaded.errors if e.path in target_set]
    errors += [FileError(path, reason) for path, reason in targets.errors]
    catalogue = _catalogue(tuple(sorted(config.extra_calls().items())))
    from bgtask_lint.analysis.index import ProjectIndex

    index = ProjectIndex(loaded.facts, catalogue, frozenset(config.error_handling_decorators), aliases)
    clock.lap("index")
    # Rules look at the files reported on (and whatever those reach), not the whole project; when files
    # are named (pre-commit, an editor), also at the modules importing them: a finding there whose chain
    # passes through a named file is caused by the change, and is reported too.
    partial = not all(m.path in target_set for m in loaded.facts)
    affected = index.importers(target_set) if partial else set()
    if partial:
        index = index.narrowed(target_set | affected)
    diagnostics, rule_errors = check(index, config, target_set | affected)
    diagnostics = [d for d in diagnostics if d.path in target_set or _passes_through(index, d, target_set)]
    errors += [e for e in rule_errors if e.path not in affected]
    clock.lap("rules")
    located, shown = _locate(diagnostics, overlay or {}, errors, cache, contents)
    located = [d for d in located if config.enabled(d.code, d.path)]
    clock.lap("locate")
    result = Result(
        diagnostics=sorted(located, key=lambda d: d.sort_key),
        errors=sorted(errors, key=lambda e: (e.path, e.row or 0)),
        files=sorted(target_set),
        sources=shown,
        parsed=loaded.parsed,
        cached=loaded.cached,
        index=index,
        project_root=project_root,
        warnings=skipped,
        timings=clock.timings,
    )
    if fix_edits and add_edits is not None and lacks_edits(result, unsafe=fix_edits == "unsafe"):
        result = add_edits(result, cache, fix_edits == "unsafe")
    if results is not None:
        results.put(run_key, replace(result, index=None))
        result.run_key, result.outputs = run_key, outputs
    problem = cache.problem or (results.problem if results is not None else None)
    if problem is not None and base is not None:
        result.warnings.append(f"cannot write the cache in {base}: {problem}; the run goes on without it")
    return result


def _passes_through(index: ProjectIndex, d: Diagnostic, paths: set[str]) -> bool:
    """The finding's chain runs through a function defined in one of ``paths``."""
    for fqn in d.via:
        scoped = index.functions.get(fqn)
        if scoped is not None and scoped.module.path in paths:
            return True
    return False


def lacks_edits(result: Result, unsafe: bool) -> bool:
    """Some fix of ``result`` that is shown (safe ones, unsafe ones too with ``unsafe``) has no edits yet."""
    return any(d.fix and not d.fix.edits and (unsafe or d.fix.applicability == "safe") for d in result.diagnostics)


SCANS_KEY = "scans-"  # + the code digest: the entry holding the last run's text scans, by content
RELEVANT = "relevant"  # the key, in that entry, of the last run's relevant modules


def _relevant(modules: list[Module], contents: Contents, cache: Store) -> set[str]:
    """The paths of the modules a route or a task can reach by import (see :func:`relevant`), from
    each module's text scan (seed or not, names imported); both from the cache when nothing changed.

    The scans of a whole run are one cache entry: reading it costs less than scanning 20 MB of
    source again, and it holds only the files of the last run, so it never grows. It also holds the
    last answer, with a digest of every module's identity and scan it was computed from.
    """
    entry = SCANS_KEY + code_digest()
    known = cache.get(RUN, entry, dict) or {}
    last = known.pop(RELEVANT, None)
    fresh: dict[object, object] = {}
    scans: dict[str, Scan] = {}
    inputs = hashlib.sha1()
    for m in modules:
        inputs.update(f"{m.path}\0{m.name}\0{m.is_package}\0{m.aliases}\0".encode("utf-8", "surrogateescape"))
        if m.path not in contents:
            scans[m.path] = scan(m, b"")  # unreadable: reported by the loading
            inputs.update(b"-")
            continue
        key = hashlib.sha1(contents.digest(m.path) + f"\0{m.name}\0{m.is_package}".encode("utf-8", "surrogateescape")).digest()
        found = known.get(key)
        if found is None:
            try:
                found = scan(m, contents.data(m.path))
            except (OSError, ValueError):
                found = scan(m, b"")
        inputs.update(repr(found).encode("utf-8", "surrogateescape"))  # an edit rarely changes what a file imports
        fresh[key] = scans[m.path] = found  # type: ignore[assignment]
    digest = inputs.digest()
    if isinstance(last, tuple) and len(last) == 2 and last[0] == digest:
        answer = last[1]
    else:
        answer = relevant(modules, {}, scans=scans)
    fresh[RELEVANT] = (digest, answer)
    if fresh.keys() != known.keys() or last != fresh[RELEVANT]:
        cache.put(RUN, entry, fresh)
    return answer


class _Clock:
    """The seconds each phase of a run took: a lap ends the phase named and starts the next."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self.last
        self.last = now


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # unreadable: reported when it is read


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def _real_path(path: Path, real_dirs: dict[str, str]) -> Path:
    """``path.resolve()``, resolving each directory once: only a symlinked file needs its own lookup."""
    folder, name = os.path.split(str(path))
    real = real_dirs.get(folder)
    if real is None:
        real = real_dirs[folder] = os.path.realpath(folder or os.curdir)
    full = os.path.join(real, name)
    return Path(os.path.realpath(full) if os.path.islink(full) else full)


def _installed_fastapi() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastapi")
    except PackageNotFoundError:
        return ""


@lru_cache(maxsize=8)
def _catalogue(extra: tuple[tuple[str, CallKind], ...]) -> Catalogue:
    """The catalogue for one set of user patterns; built once (thousands of regexes), it is immutable."""
    from bgtask_lint.analysis.matching import build_catalogue

    return build_catalogue(dict(extra))


def check(index: ProjectIndex, config: Config, targets: set[str]) -> tuple[list[Diagnostic], list[FileError]]:
    from bgtask_lint.analysis.versions import detect_fastapi_version
    from bgtask_lint.rules import Context, all_rules

    versions: dict[str, tuple[int, int, int]] = {}

    def version_for(path: str) -> tuple[int, int, int]:
        if path not in versions:
            versions[path] = detect_fastapi_version(Path(path), config.fastapi_version).version
        return versions[path]

    ctx = Context(index, version_for)
    found: dict[tuple[str, str, int], Diagnostic] = {}
    errors: list[FileError] = []
    for rule_cls in all_rules():
        if not any(config.enabled(rule_cls.code, t) for t in targets) and targets:
            continue
        rule = rule_cls()
        try:
            for d in rule.check(ctx):
                if d.path in targets:
                    found.setdefault((d.code, d.path, d.ordinal), d)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the run
            errors += _isolate(rule, ctx, targets, found, exc)
    return list(found.values()), errors


def _isolate(rule, ctx, targets: set[str], found: dict, exc: Exception) -> list[FileError]:
    """A rule crashed: run it again one file at a time, so the crash is reported against the file
    that causes it and every other file still gets its findings."""
    index = ctx.index
    try:  # what the rules share is computed once, for the whole focus, and shared by every narrowed view
        index.deferrable, index.blocking, index.fallible, index.database  # noqa: B018
    except Exception as shared:  # noqa: BLE001
        return [FileError("<project>", _internal(rule.code, shared))]
    errors = []
    for path in sorted(index.focus or targets):
        one_file = replace(ctx, index=index.narrowed({path}), cache={})
        try:
            for d in rule.check(one_file):
                if d.path in targets:
                    found.setdefault((d.code, d.path, d.ordinal), d)
        except Exception as one:  # noqa: BLE001
            errors.append(FileError(path, _internal(rule.code, one)))
    return errors or [FileError("<project>", _internal(rule.code, exc))]


def _internal(code: str, exc: Exception) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"internal error in {code}: {exc!r}{where}; please report it"


def _locate(diagnostics: list[Diagnostic], overlay: dict[str, str], errors: list[FileError],
            cache: Store, contents: Contents) -> tuple[list[Diagnostic], dict[str, str]]:  # fmt: skip
    """Fill in positions and snippets, and drop findings silenced by ``# noqa``."""
    from bgtask_lint.adoption import LINE_BREAK, noqa_codes

    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in diagnostics:
        by_path[d.path].append(d)
    out: list[Diagnostic] = []
    shown: dict[str, str] = {}
    looked_up: dict[str, tuple[dict[int, Located], str] | Exception] = {}
    todo: list[tuple[str, str | bytes, str, set[int], dict[int, Located]]] = []
    for path, items in by_path.items():
        try:
            data = overlay[path] if path in overlay else contents.data(path)
            raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
            key = hashlib.sha256(raw + code_digest().encode()).hexdigest()
            wanted = {d.ordinal for d in items}
            positions = cache.get(POSITIONS, key, dict) or {}
            if wanted <= positions.keys():
                looked_up[path] = (positions, data if isinstance(data, str) else _decode(data))
            else:
                todo.append((path, data, key, wanted, positions))
        except Exception as exc:  # noqa: BLE001 - reported against the file
            looked_up[path] = exc
    requests = [(LOCATE, path, data, tuple(sorted(wanted))) for path, data, _, wanted, _ in todo]
    if len(requests) > 1 or workers_running():  # parsed again in the workers, side by side and with their safety net
        answers = parse_all(requests, None)
    else:  # in a thread with the workers' recursion limit, so a tree the summarizer walked can be walked again
        answers = [run_deep(answer, r, stack_bytes=lookup_stack_bytes()) for r in requests]
    for (path, data, key, _, positions), found in zip(todo, answers):
        if isinstance(found, ParseResult):  # the file's failure, said as "cannot locate findings: ..."
            looked_up[path] = Exception(found.error.message.removeprefix("cannot locate findings: ")
                                        if found.error else "no answer")  # fmt: skip
            continue
        positions = {**positions, **found}
        cache.put(POSITIONS, key, positions)
        try:
            looked_up[path] = (positions, data if isinstance(data, str) else _decode(data))
        except Exception as exc:  # noqa: BLE001 - reported against the file
            looked_up[path] = exc
    for path, items in by_path.items():
        got = looked_up[path]
        if isinstance(got, Exception):
            errors.append(FileError(path, f"cannot locate findings: {got}"))
            continue
        positions, text = got
        shown[path] = text
        lines = LINE_BREAK.split(text)
        for d in items:
            loc = positions.get(d.ordinal)
            if loc is None:
                continue
            line = lines[loc.start.row - 1] if 0 < loc.start.row <= len(lines) else ""
            codes = noqa_codes(line)
            if codes is not None and (not codes or d.code in codes):
                continue
            out.append(replace(d, location=loc.start, end_location=loc.end, snippet=loc.snippet))
    return out, shown


def _decode(data: bytes) -> str:
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding).removeprefix("\ufeff")
