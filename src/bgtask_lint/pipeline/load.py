"""Loading a project's facts: from the store where the content is unchanged, else parsed by the workers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass

from bgtask_lint.models import FileError, ModuleFacts
from bgtask_lint.pipeline.naming import SourceFile
from bgtask_lint.pipeline.parse import BATCH, CHECK, SUMMARISE, _with_path
from bgtask_lint.pipeline.pool import Progress, parse_all, parse_timeout
from bgtask_lint.pipeline.sources import Contents
from bgtask_lint.store import FACTS, PRUNE_SLACK, RUN, Store


@dataclass
class LoadResult:
    facts: list[ModuleFacts]
    errors: list[FileError]
    parsed: int
    cached: int


def load(files: Sequence[SourceFile], cache: Store, jobs: int | None = None,
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
    known_to_parse: set[str] = (cache.get(RUN, PARSES_KEY, set) or set()) if syntax_only else set()
    parse: set[str] = set()
    stored: list[tuple[SourceFile, str]] = []
    if contents is None:
        contents = Contents([str(f.path) for f in files], Store(None), overlay)
    for f in files:
        path = str(f.path)
        try:
            check_only = path in syntax_only
            key = cache.key(contents.digest(path), f.module, f.is_package)
            if check_only and key in known_to_parse:
                cached += 1
                parse.add(key)
                continue
            if not check_only and cache.has(FACTS, key):
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
                cache.stored(FACTS, key)
            else:
                cache.put(FACTS, key, result.facts)
            facts.append(result.facts)
        elif request[0] == CHECK:
            parse.add(key)
    if not parse <= known_to_parse:
        # what other runs (naming other files) found stays, until it is mostly stale
        kept = known_to_parse | parse if len(known_to_parse) < 2 * len(parse) + PRUNE_SLACK else parse
        cache.put(RUN, PARSES_KEY, kept)
    elif parse:
        cache.used.add((RUN, PARSES_KEY))
    facts.sort(key=lambda m: m.path)  # the same order whatever came from the cache
    return LoadResult(facts, errors, len(todo) + len(again), cached)


def _unreadable(path: str, exc: Exception) -> FileError:
    reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
    return FileError(path, f"cannot read: {reason}")


def _summarise_request(f: SourceFile, data: bytes, cache: Store, key: str) -> tuple:  # type: ignore[type-arg]
    return (SUMMARISE, str(f.path), data, f.module, f.is_package, None if cache.dir is None else str(cache.dir / FACTS), key)


def _read_stored(stored: list[tuple[SourceFile, str]], cache: Store, facts: list[ModuleFacts],
                 damaged: list[tuple[SourceFile, str]]) -> Iterator[None]:  # fmt: skip
    """Append the cached facts of ``stored`` files to ``facts``, one entry per step; the files whose
    entry cannot be read go to ``damaged``."""
    for f, key in stored:
        hit = cache.get(FACTS, key)
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



#: The cache entry holding the content keys of files only checked that parse.
PARSES_KEY = "parses"
