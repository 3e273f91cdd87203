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
from typing import NamedTuple

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
    name_body: str | None = None
    """A regex for the entry's name alone, when the rule can only ever match the last component."""


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
    body = _translate(line)
    try:
        regex = re.compile(anchor + body, re.DOTALL)
    except re.error:  # e.g. a reversed range "[z-a]": git ignores such lines too
        return None
    return _Rule(regex, negate, dir_only, body if anchor and _name_only(line) else None)


def _name_only(glob: str) -> bool:
    """Whether a glob without slashes can only match within one path component.

    Wildcards never match "/", but a class range can ("[+-0]"), and a negated class opening with
    "]" ("[!]a|b]") leaves its members outside the class; such globs are matched on whole paths.
    """
    return ("[" not in glob or "-" not in glob) and "[!]" not in glob and "[^]" not in glob


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


@dataclass(frozen=True)
class _Folded:
    """Rules for one kind of entry folded into two regexes, so few match calls give the verdict.

    Matching rule by rule in Python dominated discovery time on large trees. The rules are
    grouped, last first, into runs that share a verdict, each run a capturing group, so the first
    group that matches holds the last matching rule, as git's last-match-wins needs. Rules that
    can only match a name are tried on the name alone, which spares scanning the path for slashes;
    the rest are tried on the path. The verdict comes from the earlier of the two runs matched.
    """

    by_name: re.Pattern[str] | None
    name_runs: tuple[int, ...]
    """The run of each capturing group of ``by_name``."""
    by_path: re.Pattern[str] | None
    path_runs: tuple[int, ...]
    verdicts: tuple[bool, ...]
    """The verdict of each run."""
    fallback: tuple[_Rule, ...] = ()
    """Rules matched one by one, for the odd rule set whose regexes cannot be folded."""

    def verdict(self, prefix: str, name: str) -> bool | None:
        """True/False if some rule matches ``prefix + name`` (the last match wins), else None."""
        run = None
        if self.by_name and (match := self.by_name.fullmatch(name)) and match.lastindex:
            run = self.name_runs[match.lastindex - 1]
        if self.by_path and (match := self.by_path.fullmatch(prefix + name)) and match.lastindex:
            other = self.path_runs[match.lastindex - 1]
            run = other if run is None else min(run, other)
        if run is not None:
            return self.verdicts[run]
        return _verdict(self.fallback, prefix + name, True) if self.fallback else None


def _groups(runs: Sequence[Sequence[str]]) -> tuple[re.Pattern[str] | None, tuple[int, ...]]:
    """One regex with a capturing group per non-empty run, and the run each group stands for."""
    numbered = [(index, branches) for index, branches in enumerate(runs) if branches]
    if not numbered:
        return None, ()
    source = "|".join("(" + "|".join(branches) + ")" for _, branches in numbered)
    return re.compile(source, re.DOTALL), tuple(index for index, _ in numbered)


def _fold(rules: Sequence[_Rule]) -> _Folded:
    """Fold ``rules`` (all of which apply to the entry kind at hand) into :class:`_Folded`."""
    # Capturing groups inside a rule (only possible through odd character classes) would shift
    # the run groups' numbers, so such sets keep rule-by-rule matching.
    if not rules or any(rule.regex.groups for rule in rules):
        return _Folded(None, (), None, (), (), tuple(rules))
    runs: list[list[_Rule]] = []
    for rule in reversed(rules):
        if runs and runs[-1][0].negate == rule.negate:
            runs[-1].append(rule)
        else:
            runs.append([rule])
    names = [[f"(?:{r.name_body})" for r in run if r.name_body is not None] for run in runs]
    paths = [[f"(?:{r.regex.pattern})" for r in run if r.name_body is None] for run in runs]
    try:
        by_name, name_runs = _groups(names)
        by_path, path_runs = _groups(paths)
    except (re.error, RecursionError, OverflowError):
        return _Folded(None, (), None, (), (), tuple(rules))
    verdicts = tuple(not run[0].negate for run in runs)
    return _Folded(by_name, name_runs, by_path, path_runs, verdicts)


@dataclass(frozen=True)
class _RuleSet:
    """An exclude list or ignore file, folded once per kind of entry (dir-only rules skip files)."""

    dirs: _Folded
    files: _Folded

    def verdict(self, prefix: str, name: str, is_dir: bool) -> bool | None:
        """True/False if some rule matches ``prefix + name`` (the last match wins), else None."""
        return (self.dirs if is_dir else self.files).verdict(prefix, name)


@lru_cache(maxsize=64)
def _compile_rule_set(lines: tuple[str, ...]) -> _RuleSet:
    """The folded rules of an ignore file or exclude list, compiled once per distinct content."""
    rules = _compile_rules(lines)
    for_dirs = _fold(rules)
    for_files = [rule for rule in rules if not rule.dir_only]
    # Regex compiling is a fair share of a short run: fold once when no rule is dir-only.
    return _RuleSet(for_dirs, for_dirs if len(for_files) == len(rules) else _fold(for_files))


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

    rules: _RuleSet
    strip: str = ""
    """This file's directory relative to the walk root ("pkg/"), for files found while walking."""
    lead: str = ""
    """The walk root relative to this file's directory ("src/"), for files above the walk root."""

    def prefix(self, rel_prefix: str) -> str:
        """What this file's rules see before an entry's name, for entries under ``rel_prefix``."""
        return self.lead + rel_prefix[len(self.strip) :]


def _ignored(checks: Sequence[tuple[_RuleSet, str]], name: str, is_dir: bool) -> bool:
    """Whether ignore files, deepest first, each with its prefix for this directory, skip ``name``."""
    # Deeper files override shallower ones, so the deepest file with an opinion decides.
    for rules, prefix in checks:
        verdict = rules.verdict(prefix, name, is_dir)
        if verdict is not None:
            return verdict
    return False


def _read_rules(path: str, errors: list[tuple[str, str]]) -> _RuleSet:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return _compile_rule_set(tuple(handle.read().splitlines()))
    except OSError as exc:
        errors.append((path, _reason(exc)))
        return _compile_rule_set(())


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


def _is_link(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is a symbolic link; True when unsure, which only costs a full resolve."""
    try:
        return entry.is_symlink()
    except OSError:
        return True


def _slash_joiner(path: str) -> str:
    """What goes before a child's name: ``path`` plus a slash, nothing for ".", as pathlib joins."""
    if path == ".":
        return ""
    return path if path.endswith("/") else path + "/"


class _Found(NamedTuple):
    """A file found by walking: plain strings and tuples, cheap to make for every file."""

    depth: int
    path: str
    real: str


class _Pending(NamedTuple):
    """A directory waiting to be walked, with what its entries need from the walk so far."""

    path: str
    """As it will be reported: the walk root as given, then the names below it."""
    rel: str
    """Relative to the walk root, slash-separated, empty for the root."""
    real: str
    """Its resolved path: entries that are not symlinks resolve to it plus their name."""
    depth: int
    layers: tuple[_IgnoreFile, ...]
    ancestors: frozenset[str]
    """Real paths of the directories above it: a symlink back to one would be walked forever."""


def _walk(
    root: str, exclude: _RuleSet, gitignore: bool, errors: list[tuple[str, str]]
) -> list[_Found]:
    found: list[_Found] = []
    layers = tuple(_outer_ignores(os.path.abspath(root), errors)) if gitignore else ()
    real = os.path.realpath(root)
    pending = [_Pending(root, "", real, 1, layers, frozenset({real}))]
    while pending:
        _walk_one(pending.pop(), exclude, gitignore, pending, found, errors)
    return found


def _walk_one(
    directory: _Pending,
    exclude: _RuleSet,
    gitignore: bool,
    pending: list[_Pending],
    found: list[_Found],
    errors: list[tuple[str, str]],
) -> None:
    """List one directory: queue its subdirectories, collect its files, record its errors."""
    try:
        with os.scandir(directory.path) as scan:
            entries = list(scan)
    except OSError as exc:
        errors.append((directory.path, _reason(exc)))
        return
    layers = directory.layers
    rel_prefix = f"{directory.rel}/" if directory.rel else ""
    if gitignore and any(e.name == ".gitignore" and _kind(e) == "file" for e in entries):
        rules = _read_rules(os.path.join(directory.path, ".gitignore"), errors)
        layers = (*layers, _IgnoreFile(rules, strip=rel_prefix))
    checks = [(layer.rules, layer.prefix(rel_prefix)) for layer in reversed(layers)]
    path_prefix, real_prefix = _slash_joiner(directory.path), _slash_joiner(directory.real)
    for entry in entries:
        name, kind = entry.name, _kind(entry)
        # Only directories, Python files and problems depend on the rules' verdict.
        if kind == "special" or (kind == "file" and not name.endswith(".py")):
            continue
        is_dir = kind == "dir"
        if exclude.verdict(rel_prefix, name, is_dir) or _ignored(checks, name, is_dir):
            continue
        path = path_prefix + name
        if kind not in ("dir", "file"):
            errors.append((path, kind))
            continue
        real = os.path.realpath(path) if _is_link(entry) else real_prefix + name
        if kind == "file":
            found.append(_Found(directory.depth, path, real))
        elif real in directory.ancestors:
            errors.append((path, "symbolic link loop"))
        else:
            child = _Pending(
                path,
                rel_prefix + name,
                real,
                directory.depth + 1,
                layers,
                directory.ancestors | {real},
            )
            pending.append(child)


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
    rules = _compile_rule_set((*exclude, *extend_exclude))
    by_real: dict[str, str] = {}
    explicit: set[str] = set()
    errors: list[tuple[str, str]] = []
    missing: list[str] = []

    for raw in paths:
        path = str(Path(raw))
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if os.path.islink(path):
                errors.append((path, "broken symbolic link"))
            else:
                missing.append(os.fspath(raw))
            continue
        except OSError as exc:
            errors.append((path, _reason(exc)))
            continue
        if stat.S_ISDIR(mode):
            # Of two aliases of one file (via symlinks) keep the shallowest, the same on every run.
            walked = _walk(path, rules, respect_gitignore, errors)
            for item in sorted(walked):  # by depth, then path (paths are unique)
                by_real.setdefault(item.real, item.path)
        elif stat.S_ISREG(mode):
            explicit.add(by_real.setdefault(os.path.realpath(path), path))
        else:
            errors.append((path, "not a regular file"))
    # Every string here is in pathlib's normal form, so sorting strings sorts the paths by str.
    as_path = {text: Path(text) for text in by_real.values()}
    return Discovered(
        files=tuple(as_path[text] for text in sorted(as_path)),
        explicit=frozenset(as_path[text] for text in explicit),
        errors=tuple(sorted(set(errors))),
        missing=tuple(dict.fromkeys(missing)),
    )
