"""Applying fixes to files: the fix loop (apply, re-lint, repeat until nothing changes), atomic
writes that never leave a half-written file, the edits a report shows, and ``--add-noqa``."""

from __future__ import annotations

import contextlib
import difflib
import errno
import hashlib
import io
import os
import re
import stat
import tempfile
import time
import tokenize
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import libcst as cst

from bgtask_lint.config import Config
from bgtask_lint.fingerprint import code_digest
from bgtask_lint.fixes.codemods import FixError, _fix_module, apply_to_source
from bgtask_lint.models import Diagnostic, Location
from bgtask_lint.models import Edit as ModelEdit
from bgtask_lint.pipeline.pool import lookup_stack_bytes, run_deep
from bgtask_lint.pipeline.run import Result, run
from bgtask_lint.store import EDITS


@dataclass
class FixOutcome:
    fixed: int  # number of findings fixed
    applied: list[str]  # "path:row: CODE message" per fixed finding
    diff: str  # unified diff of all changes, "" when none
    sources: dict[str, str]  # path -> new source text, for every changed file
    result: Result  # the engine result after fixing (re-linted against the new texts)
    problems: list[str] = field(default_factory=list)  # "path: ..." for fixes or files that could not be fixed


class _Stale(FixError):
    """The file on disk is not the text that was linted."""


@dataclass
class _File:
    text: str
    data: bytes | None  # what was read from disk; None for overlay (stdin) files, which are never written
    encoding: str = "utf-8"


def _read(path: str, overlay: dict[str, str], linted: str | None) -> _File:
    if path in overlay:
        return _File(overlay[path], None)
    data = Path(path).read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding).removeprefix("\ufeff")
    if linted is not None and text != linted:
        raise _Stale("changed on disk since it was read; not fixed")
    return _File(text, data, encoding)


TEMP_MARK = "bgtask-lint"
#: ``.app.py.bgtask-lint-<pid>-<random>.tmp``: the temporary file ``_write_atomic`` writes beside ``app.py``.
TEMP_NAME = re.compile(r"^\..+\." + TEMP_MARK + r"-(?P<pid>[0-9]+)-[a-z0-9_]+\.tmp$")
STALE_TEMP_AGE = 3600.0


def _temp_prefix(real: str) -> str:
    return f".{os.path.basename(real)}.{TEMP_MARK}-{os.getpid()}-"


def _write_atomic(path: str, data: bytes, expected: bytes | None = None) -> None:
    """Replace ``path``'s target with ``data``: a temporary file in the same directory, fsynced, given
    the file's mode (and owner, when allowed), then renamed over it, so that a crash or a kill at any
    moment leaves either the old or the new content. With ``expected``, the file must still hold
    those bytes just before the rename (else ``_Stale``). A read-only file, or one with other hard
    links (which a rename would split off), is refused with an ``OSError``."""
    real = os.path.realpath(path)
    st = os.stat(real)
    if st.st_nlink > 1:
        raise OSError(f"the file has {st.st_nlink - 1} other hard link(s), which replacing it would split off")
    if not os.access(real, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(real), prefix=_temp_prefix(real), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                with contextlib.suppress(OSError):
                    os.chown(tmp, -1, st.st_gid)  # a group we belong to, at least
        if expected is not None and Path(real).read_bytes() != expected:
            raise _Stale("changed on disk since it was read; not fixed")
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(real))


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(directories: Iterable[str]) -> list[str]:
    """Delete temporary files that a killed ``--fix`` left in ``directories``; returns their paths.

    Only names of exactly the ``_write_atomic`` form are touched, and only when the process that
    made them is gone (or the file is over an hour old): a concurrent ``--fix`` keeps its own."""
    removed = []
    now = time.time()
    for directory in sorted(set(directories)):
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            match = TEMP_NAME.match(entry.name)
            if match is None:
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE
                if not old and _alive(int(match.group("pid"))):
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows, signal 0 is CTRL_C_EVENT: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def _diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{path.lstrip('/')}", f"b/{path.lstrip('/')}", n=3)  # fmt: skip
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def first_party_names(result: Result) -> frozenset[str]:
    """The top-level names of the project's own packages and modules: their imports form the
    first-party section, after third-party ones."""
    if result.index is None:
        return frozenset()
    return frozenset(m.module.rpartition("/")[2].split(".")[0] for m in result.index.modules)


def _applicable(result: Result, unsafe: bool) -> dict[str, list[Diagnostic]]:
    out: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in result.diagnostics:
        if d.fix is not None and (d.fix.applicability == "safe" or unsafe):
            out[d.path].append(d)
    return out


def apply_fixes(result: Result, config: Config, *, unsafe: bool, write: bool, use_cache: bool = True,
                overlay: dict[str, str] | None = None, max_rounds: int = 6,
                project_root: Path | None = None) -> FixOutcome:  # fmt: skip
    """Apply the applicable fixes, re-lint, and repeat until nothing changes (at most ``max_rounds`` rounds).

    Never raises for one bad file: it is left untouched and reported in ``applied``."""
    project_root = project_root or result.project_root
    overlay = dict(overlay or {})
    paths = result.files
    if write:  # temporary files of a --fix that was killed mid-write
        remove_stale_temps(os.path.dirname(os.path.realpath(p)) for p in paths if p not in overlay)

    def relint(texts: dict[str, str]) -> Result:  # positions in the final report match the fixed texts
        return run(paths, config, use_cache=use_cache, overlay={**overlay, **texts}, project_root=project_root)

    first_party = first_party_names(result)
    files: dict[str, _File] = {}
    current: dict[str, str] = {}  # path -> fixed text (every round's text parses)
    done: dict[str, list[str]] = defaultdict(list)  # path -> "path:row: CODE message" of the findings fixed
    broken: dict[str, str] = {}  # path -> why the file is left alone from now on
    failures: dict[tuple[str, str, str], str] = {}  # (path, kind, reason) -> line, for fixes that could not apply
    for _ in range(max_rounds):
        changed = False
        for path, diags in sorted(_applicable(result, unsafe).items()):
            if path in broken:
                continue
            try:
                if path not in files:
                    files[path] = _read(path, overlay, result.sources.get(path))
                text = current.get(path, files[path].text)
                new, applied, failed = run_deep(_fix_module, text, [d.fix for d in diags if d.fix is not None],
                                                first_party, stack_bytes=lookup_stack_bytes())  # deep trees, as the linter  # fmt: skip
            except _Stale as exc:
                broken[path] = f"{path}: {exc}"
                continue
            except (FixError, OSError, UnicodeError, SyntaxError, cst.ParserSyntaxError, RecursionError) as exc:
                broken[path] = f"{path}: fix not applied: {' '.join(str(exc).split())}"  # earlier rounds stay
                continue
            for fix, reason in failed:
                failures.setdefault((path, fix.kind, reason), f"{path}: fix not applied: {fix.kind}: {reason}")
            keys = {(f.kind, f.target) for f in applied}
            done[path] += [f"{path}:{d.location.row}: {d.code} {d.message}" for d in diags
                           if d.fix is not None and (d.fix.kind, d.fix.target) in keys]  # fmt: skip
            if new != text:
                current[path] = new
                changed = True
        if not changed:
            break
        result = relint(current)
    sources = {p: t for p, t in sorted(current.items()) if t != files[p].text}
    unwritten = [p for p in sources if write and files[p].data is not None
                 and not _write(p, sources[p], files[p], broken)]  # fmt: skip
    if unwritten:  # report what is on disk now
        for p in unwritten:
            del sources[p]
            done.pop(p, None)
        result = relint(sources)
    lines = [line for p in sorted(done) if p in sources for line in done[p]]
    diff = "".join(_diff(p, files[p].text, t) for p, t in sources.items())
    return FixOutcome(len(lines), lines, diff, sources, result, [*failures.values(), *sorted(broken.values())])


def _write(path: str, text: str, file: _File, broken: dict[str, str]) -> bool:
    """Write one fixed file unless it changed on disk since it was read; False (and a reason in ``broken``) if not."""
    try:
        _write_atomic(path, text.encode(file.encoding), expected=file.data)
    except _Stale as exc:
        broken[path] = f"{path}: {exc}"
        return False
    except OSError as exc:
        broken[path] = f"{path}: cannot write: {exc.strerror.lower() if exc.strerror else exc}; not fixed"
        return False
    except UnicodeError as exc:
        broken[path] = f"{path}: cannot write: {exc}; not fixed"
        return False
    return True


# --------------------------------------------------------------------------- edits for reports, noqa


def with_edits(result: Result, cache: Any = None, unsafe: bool = True) -> Result:
    """Fill the ``edits`` (whole changed lines) of each safe fix, and of each unsafe one with
    ``unsafe``, for JSON, SARIF and the full output.

    ``cache`` (a ``Store``) keeps each file's computed edits by content hash: a codemod per
    fix is the slowest part of reporting, and unchanged files need it only once."""
    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in result.diagnostics:
        by_path[d.path].append(d)
    out = []
    first_party = first_party_names(result)
    for path, diags in by_path.items():
        text = result.sources.get(path)
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass") + code_digest().encode()).hexdigest() if text else None
        known: dict[tuple[str, int], tuple[ModelEdit, ...] | None] = (cache.get(EDITS, key, dict) if cache and key else None) or {}
        missing = False
        for d in diags:
            if d.fix is None or text is None or d.fix.edits or not (unsafe or d.fix.applicability == "safe"):
                out.append(d)
                continue
            slot = (d.fix.kind, d.fix.target)
            if slot not in known:
                missing = True
                try:
                    known[slot] = _line_edits(text, apply_to_source(text, [d.fix], first_party))
                except (FixError, cst.ParserSyntaxError, RecursionError):
                    known[slot] = None
            edits = known[slot]
            if edits is None:
                out.append(replace(d, fix=None, no_fix_reason="the fix could not be applied to this code"))
            else:
                out.append(replace(d, fix=replace(d.fix, edits=edits)))
        if missing and cache and key:
            cache.put(EDITS, key, known)
    result.diagnostics = sorted(out, key=lambda d: d.sort_key)
    return result


def _line_edits(old: str, new: str) -> tuple[ModelEdit, ...]:
    """One edit per changed block of lines (whole lines replaced), like ruff's multi-edit fixes."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append(ModelEdit("".join(b[j1:j2]), Location(i1 + 1, 1), Location(i2 + 1, 1)))
    return tuple(edits)


def add_noqa_comments(result: Result) -> int:
    """Write ``# noqa: CODE`` on every reported line; returns how many lines changed. Files stay parseable."""
    from bgtask_lint.adoption import add_noqa_to_source

    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in result.diagnostics:
        by_path[d.path].append(d)
    changed = 0
    for path, diags in sorted(by_path.items()):
        try:
            file = _read(path, {}, result.sources.get(path))
            new = add_noqa_to_source(file.text, diags)
            if new == file.text:
                continue
            cst.parse_module(new)
            if not _write(path, new, file, {}):
                continue
        except (FixError, OSError, UnicodeError, cst.ParserSyntaxError):
            continue
        changed += sum(1 for a, b in zip(file.text.splitlines(), new.splitlines()) if a != b)
    return changed
