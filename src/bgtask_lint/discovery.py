"""Find the Python files to lint under the given paths, honouring excludes and .gitignore files."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "__pycache__", "node_modules", "build", "dist", "site-packages", ".eggs",
    "*.egg-info", ".bgtask_lint_cache", "__pypackages__", "_build", "buck-out", ".direnv",
    ".ipynb_checkpoints",
)  # fmt: skip


@dataclass(frozen=True)
class Discovered:
    """What :func:`discover` found; every field is sorted or in command-line order."""

    files: tuple[Path, ...]
    """Files to lint, sorted by their string form, one entry per real file."""
    explicit: frozenset[Path]
    """The members of ``files`` that were named on the command line rather than found by walking."""
    errors: tuple[tuple[str, str], ...]
    """``(path, reason)`` for entries that could not be walked or classified."""
    missing: tuple[str, ...]
    """Command-line paths that do not exist."""


# --------------------------------------------------------------------------- gitignore globs


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _class_end(glob: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1 if it is a literal ``[``."""
    i = start + 1
    if glob[i : i + 1] in ("!", "^"):
        i += 1
    if glob[i : i + 1] == "]":  # a leading "]" is a member, not the end
        i += 1
    return glob.find("]", i)


def _translate(glob: str) -> str:
    """Regex for a glob where ``*`` and ``?`` stay inside one path component and ``**`` does not."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        if glob.startswith("**/", i) and (i == 0 or glob[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif char == "*":
            out.append("[^/]*")
            while i < n and glob[i] == "*":
                i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := _class_end(glob, i)) > 0:
            body = glob[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = (body[1:] if negate else body).replace("\\", "\\\\").replace("[", "\\[")
            out.append(("[^/" if negate else "[") + body + "]")
            i = end + 1
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _compile_rule(line: str) -> _Rule | None:
    """One gitignore line as a rule matched against slash-separated paths, or None if inert."""
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    line = line[1:] if negate else line
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    # As in git, a slash anywhere but the end anchors the pattern; otherwise it matches any name.
    anchor = "" if "/" in line else "(?:.*/)?"
    line = line.lstrip("/")
    if not line:
        return None
    try:
        regex = re.compile(anchor + _translate(line), re.DOTALL)
    except re.error:  # e.g. a reversed range "[z-a]": git ignores such lines too
        return None
    return _Rule(regex, negate, dir_only)


@lru_cache(maxsize=64)
def _compile_rules(lines: tuple[str, ...]) -> tuple[_Rule, ...]:
    return tuple(rule for rule in map(_compile_rule, lines) if rule is not None)


def _verdict(rules: Iterable[_Rule], rel: str, is_dir: bool) -> bool | None:
    """True/False if some rule matches ``rel`` (the last match wins), None if none does."""
    verdict = None
    for rule in rules:
        if (is_dir or not rule.dir_only) and rule.regex.fullmatch(rel):
            verdict = not rule.negate
    return verdict


def is_excluded(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """Whether ``path``, or a directory between ``root`` and it, matches an exclude pattern.

    Patterns without a slash match any component name (``build``, ``*.egg-info``); patterns with
    one match the path relative to ``root`` (``tests/fixtures/**``, ``src/gen/``).
    """
    rules = _compile_rules(tuple(patterns))
    try:
        parts = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).parts
    except ValueError:  # outside the root only name patterns can apply
        parts = (Path(path).name,)
    for depth in range(1, len(parts) + 1):
        is_dir = depth < len(parts) or os.path.isdir(path)
        if _verdict(rules, "/".join(parts[:depth]), is_dir):
            return True
    return False


@dataclass(frozen=True)
class _IgnoreFile:
    """The rules of one ignore file, which match paths relative to the file's own directory."""

    rules: tuple[_Rule, ...]
    strip: str = ""
    """This file's directory relative to the walk root ("pkg/"), for files found while walking."""
    lead: str = ""
    """The walk root relative to this file's directory ("src/"), for files above the walk root."""

    def verdict(self, rel: str, is_dir: bool) -> bool | None:
        return _verdict(self.rules, self.lead + rel[len(self.strip) :], is_dir)


def _ignored(layers: Sequence[_IgnoreFile], rel: str, is_dir: bool) -> bool:
    # Deeper files override shallower ones, so the deepest file with an opinion decides.
    for layer in reversed(layers):
        verdict = layer.verdict(rel, is_dir)
        if verdict is not None:
            return verdict
    return False


def _read_rules(path: str, errors: list[tuple[str, str]]) -> tuple[_Rule, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return _compile_rules(tuple(handle.read().splitlines()))
    except OSError as exc:
        errors.append((path, _reason(exc)))
        return ()


def _outer_ignores(root: str, errors: list[tuple[str, str]]) -> list[_IgnoreFile]:
    """Ignore files above ``root`` that git would apply: up to and including the repository top.

    Outside a repository nothing above the walk root counts, so a stray ~/.gitignore cannot hide
    files.
    """
    top, above = root, []
    while not os.path.exists(os.path.join(top, ".git")):
        parent = os.path.dirname(top)
        if parent == top:
            return []
        top = parent
        above.append(top)
    sources = [(os.path.join(top, ".git", "info", "exclude"), top)]
    sources += [(os.path.join(folder, ".gitignore"), folder) for folder in reversed(above)]
    layers = []
    for source, folder in sources:
        if os.path.isfile(source):
            rel = os.path.relpath(root, folder).replace(os.sep, "/")
            lead = "" if rel == "." else rel + "/"
            layers.append(_IgnoreFile(_read_rules(source, errors), lead=lead))
    return layers


# --------------------------------------------------------------------------- walking


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or type(exc).__name__).lower()


def _kind(entry: os.DirEntry[str]) -> str:
    """The entry's kind: dir, file, special (fifo, socket...) or why it cannot be used."""
    try:
        if entry.is_dir():
            return "dir"
        if entry.is_file():
            return "file"
    except OSError as exc:
        return _reason(exc)
    if entry.is_symlink() and not os.path.exists(entry.path):
        return "broken symbolic link"
    return "special"


def _walk(
    root: Path, exclude: tuple[_Rule, ...], gitignore: bool, errors: list[tuple[str, str]]
) -> list[Path]:
    found: list[Path] = []
    layers = tuple(_outer_ignores(os.path.abspath(root), errors)) if gitignore else ()
    # Each pending directory carries the real paths of its ancestors: a symlink back to one of them
    # would otherwise be walked forever.
    pending = [(root, "", layers, frozenset({os.path.realpath(root)}))]
    while pending:
        directory, rel, layers, ancestors = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError as exc:
            errors.append((str(directory), _reason(exc)))
            continue
        if gitignore and any(e.name == ".gitignore" and _kind(e) == "file" for e in entries):
            rules = _read_rules(os.path.join(directory, ".gitignore"), errors)
            layers = (*layers, _IgnoreFile(rules, strip=f"{rel}/" if rel else ""))
        for entry in entries:
            path, kind = directory / entry.name, _kind(entry)
            child = f"{rel}/{entry.name}" if rel else entry.name
            if _verdict(exclude, child, kind == "dir") or _ignored(layers, child, kind == "dir"):
                continue
            if kind == "dir":
                real = os.path.realpath(path)
                if real in ancestors:
                    errors.append((str(path), "symbolic link loop"))
                else:
                    pending.append((path, child, layers, ancestors | {real}))
            elif kind == "file":
                if entry.name.endswith(".py"):
                    found.append(path)
            elif kind != "special":
                errors.append((str(path), kind))
    return found


def discover(
    paths: Sequence[str | Path],
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    extend_exclude: Sequence[str] = (),
    respect_gitignore: bool = True,
) -> Discovered:
    """Expand command-line ``paths`` into the ``.py`` files to lint, as ruff does.

    Directories are walked, skipping excluded and gitignored entries; files named explicitly are
    always kept, whatever their name, because tools such as pre-commit pass file names directly.
    """
    rules = _compile_rules((*exclude, *extend_exclude))
    by_real: dict[str, Path] = {}
    explicit: set[Path] = set()
    errors: list[tuple[str, str]] = []
    missing: list[str] = []

    def add(path: Path, named: bool) -> None:
        kept = by_real.setdefault(os.path.realpath(path), path)
        if named:
            explicit.add(kept)

    for raw in paths:
        path = Path(raw)
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if os.path.islink(path):
                errors.append((str(path), "broken symbolic link"))
            else:
                missing.append(os.fspath(raw))
            continue
        except OSError as exc:
            errors.append((str(path), _reason(exc)))
            continue
        if stat.S_ISDIR(mode):
            # Of two aliases of one file (via symlinks) keep the shallowest, the same on every run.
            walked = _walk(path, rules, respect_gitignore, errors)
            for found in sorted(walked, key=lambda p: (len(p.parts), str(p))):
                add(found, named=False)
        elif stat.S_ISREG(mode):
            add(path, named=True)
        else:
            errors.append((str(path), "not a regular file"))
    return Discovered(
        files=tuple(sorted(by_real.values(), key=str)),
        explicit=frozenset(explicit),
        errors=tuple(sorted(set(errors))),
        missing=tuple(dict.fromkeys(missing)),
    )
