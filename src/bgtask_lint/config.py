"""Read and validate ``[tool.bgtask-lint]`` settings (pyproject.toml or a standalone TOML file) into a Config."""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from bgtask_lint.analysis.calls import CATEGORY_ALIASES, CallKind
from bgtask_lint.analysis.versions import parse_version

SECTION = "tool.bgtask-lint"
#: Files larger than this are skipped, with a warning (``max-file-size``): the same files on every machine,
#: however busy. See docs/performance.md for what a file of this size costs.
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
KEYS = (
    "select", "ignore", "extend-select", "exclude", "extend-exclude", "per-file-ignores", "fastapi-version",
    "slow-calls", "blocking-calls", "error-handling-decorators", "cache-dir", "force-exclude",
    "max-file-size",
)  # fmt: skip


class ConfigError(Exception):
    """A configuration problem; ``str(error)`` is one line naming the file and the key."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("BGT",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None  # None: discovery's defaults
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes)
    fastapi_version: str | None = None
    slow_calls: tuple[tuple[str, str], ...] = ()  # (pattern, canonical category): awaitable slow work
    blocking_calls: tuple[tuple[str, str], ...] = ()  # (pattern, canonical category): blocking sync work
    error_handling_decorators: tuple[str, ...] = ()
    cache_dir: str | None = None  # absolute; None: ``.bgtask_lint_cache`` in the project
    force_exclude: bool = False  # exclusions apply to paths named on the command line too
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger files are skipped with a warning
    source: str | None = None  # the file the settings came from
    root: str | None = None  # its directory (absolute): per-file-ignores globs are relative to it

    def enabled(self, code: str, path: str | os.PathLike[str] | None = None, *, default: bool = False) -> bool:
        """Like ruff, the longest matching select/extend-select must beat the longest matching ignore (a tie
        ignores); then a per-file-ignores glob matching the path relative to root, its basename or one of
        its parent directories turns the code off. A ``default`` code (the file errors) counts as selected
        by ``ALL`` when nothing selects it: it is reported unless ignored."""
        selected = _specificity(code, (*self.select, *self.extend_select))
        if (max(selected, 0) if default else selected) <= _specificity(code, self.ignore):
            return False
        names = _path_names(os.fspath(path), self.root) if path is not None and self.per_file_ignores else ()
        return not any(
            _specificity(code, codes) >= 0 and any(_glob_regex(glob).fullmatch(name) for name in names)
            for glob, codes in self.per_file_ignores
        )

    def extra_calls(self) -> dict[str, CallKind]:
        """User patterns for :func:`bgtask_lint.analysis.calls.build_catalogue`."""
        calls = {pattern: CallKind(category, sync=False) for pattern, category in self.slow_calls}
        return calls | {pattern: CallKind(category, sync=True) for pattern, category in self.blocking_calls}


def _specificity(code: str, selectors: Sequence[str]) -> int:
    """Length of the longest selector matching ``code`` ("ALL" counts 0); -1 when none does."""
    return max((0 if s == "ALL" else len(s) for s in selectors if s == "ALL" or code.startswith(s)), default=-1)


@lru_cache(maxsize=4096)
def _path_names(path: str, root: str | None) -> tuple[str, ...]:
    """The path (relative to root when under it), its basename and each of its parent directories."""
    rel = path
    if root is not None:
        try:
            candidate = os.path.relpath(os.path.abspath(path), root)
        except ValueError:  # another drive
            candidate = ".."
        rel = rel if candidate.split(os.sep, 1)[0] == ".." else candidate
    parts = [part for part in rel.replace(os.sep, "/").split("/") if part not in ("", ".")]
    return ("/".join(parts), parts[-1] if parts else "", *("/".join(parts[:i]) for i in range(1, len(parts))))


@lru_cache(maxsize=1024)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """fnmatch-style glob, but ``*``/``?``/``[...]`` stay within a path component and ``**`` crosses ``/``."""
    out, glob, i = list[str](), glob.removeprefix("./"), 0
    while i < len(glob):
        if glob.startswith("**", i):
            slash = glob.startswith("/", i + 2)
            out.append("(?:.*/)?" if slash else ".*")
            i += 3 if slash else 2
        elif glob[i] == "[":
            j = i + 2 if glob[i + 1 : i + 2] in ("!", "^") else i + 1
            end = glob.find("]", j + 1 if glob[j : j + 1] == "]" else j)
            if end < 0:
                raise ValueError(f"unbalanced '[' at position {i}")
            out.append(("[^/" if j > i + 1 else "[") + glob[j:end].replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end + 1
        else:
            out.append({"*": "[^/]*", "?": "[^/]"}.get(glob[i], re.escape(glob[i])))
            i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:  # e.g. a reversed range "[z-a]"
        raise ValueError(str(exc)) from None


def _kind(value: object) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a float", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _hint(word: str, options: Collection[str]) -> str:
    match = difflib.get_close_matches(word, sorted(options), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


class _Parser:
    def __init__(self, where: str, known_codes: Collection[str]) -> None:
        self.where, self.known = where, frozenset(known_codes)

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where} {key}: {message}")

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)):
            raise self.fail(key, f"expected a list of strings, got {_kind(value)}")
        for item in value:
            if not isinstance(item, str):
                raise self.fail(key, f"expected a list of strings, but {item!r} is {_kind(item)}")
        return tuple(value)

    def codes(self, key: str, value: Any) -> tuple[str, ...]:
        for code in (codes := self.strings(key, value)):
            if code != "ALL" and not (code and any(known.startswith(code) for known in self.known)):
                hint = f" (did you mean {code.upper()!r}?)" if code.upper() in self.known else ""
                raise self.fail(key, f"unknown rule code {code!r}{hint or _hint(code, [*self.known, 'ALL'])}")
        return codes

    def globs(self, key: str, value: Any) -> tuple[str, ...]:
        for glob in (globs := self.strings(key, value)):
            try:
                _glob_regex(glob)
            except ValueError as exc:
                raise self.fail(key, f"bad glob {glob!r}: {exc}") from None
        return globs

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_kind(value)}")
        return value

    def calls(self, key: str, value: Any) -> tuple[tuple[str, str], ...]:
        for pattern, category in self.table(key, value).items():
            if not pattern or any(c.isspace() for c in pattern) or not all(pattern.split(".")):
                raise self.fail(key, f"bad pattern {pattern!r} (expected dotted names, '*' or '**')")
            if not isinstance(category, str) or category not in CATEGORY_ALIASES:
                hint = _hint(category, CATEGORY_ALIASES) if isinstance(category, str) else ""
                shown = f"{category!r}{hint}" if isinstance(category, str) else _kind(category)
                choices = ", ".join(sorted(CATEGORY_ALIASES))
                raise self.fail(f"{key}.{json.dumps(pattern)}", f"unknown category {shown}; expected one of {choices}")
        return tuple((pattern, CATEGORY_ALIASES[category]) for pattern, category in value.items())

    def value(self, key: str, value: Any) -> Any:
        if key in ("select", "ignore", "extend-select"):
            return self.codes(key, value)
        if key in ("exclude", "extend-exclude"):
            return self.globs(key, value)
        if key == "per-file-ignores":
            items = self.table(key, value).items()
            return tuple((self.globs(key, [g])[0], self.codes(f"{key}.{json.dumps(g)}", c)) for g, c in items)
        if key == "fastapi-version":
            if not isinstance(value, str) or parse_version(value) is None:
                raise self.fail(key, f'expected a version string such as "0.110.0", got {value!r}')
            return value.strip()
        if key in ("slow-calls", "blocking-calls"):
            return self.calls(key, value)
        if key == "cache-dir":
            if not isinstance(value, str) or not value.strip():
                raise self.fail(key, f"expected a directory path, got {_kind(value)}")
            return value
        if key == "max-file-size":
            size = parse_size(value)
            if size is None:
                raise self.fail(key, f'expected a size such as "4MB", "800KB" or a number of bytes, got {value!r}')
            return size
        if key == "force-exclude":
            if not isinstance(value, bool):
                raise self.fail(key, f"expected true or false, got {_kind(value)}")
            return value
        for name in (names := self.strings(key, value)):  # error-handling-decorators
            if not all(part.isidentifier() for part in name.split(".")):
                raise self.fail(key, f"{name!r} is not a qualified name such as 'mypkg.errors.reported'")
        return names


def parse_table(table: dict[str, Any], source: str, known_codes: Collection[str], *, section: str = SECTION) -> Config:
    """Validate a ``[tool.bgtask-lint]`` table (``section=""``: a standalone file's top level)."""
    where = f"{source}: [{section}]" if section else f"{source}:"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} expected a table, got {_kind(table)}")
    parser, values = _Parser(where, known_codes), dict[str, Any]()
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{where} unknown key {key!r}{_hint(key, KEYS)}")
        values[key.replace("-", "_")] = parser.value(key, value)
    both = sorted({p for p, _ in values.get("slow_calls", ())} & {p for p, _ in values.get("blocking_calls", ())})
    if both:
        raise parser.fail("blocking-calls", f"pattern {both[0]!r} is also in slow-calls")
    root = os.path.dirname(os.path.abspath(source))
    if "cache_dir" in values:  # relative to the settings file, as ruff's ``cache-dir``
        values["cache_dir"] = os.path.join(root, os.path.expanduser(values["cache_dir"]))
    return Config(**values, source=source, root=root)


def parse_size(value: object) -> int | None:
    """Bytes from ``4000000``, ``"4MB"``, ``"800 KB"`` or ``"4MiB"`` (K and M are 1024: sizes of files); None if
    it is not a positive size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?\s*", value)
    if match is None:
        return None
    size = int(float(match.group(1)) * 1024 ** " KMG".index(match.group(2).upper() or " "))
    return size if size > 0 else None


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.bgtask-lint]`` table, from ``start`` up to the filesystem root."""
    start = Path(os.path.abspath(start))
    first = start if start.is_dir() else start.parent
    for directory in (first, *first.parents):
        try:
            text = (directory / "pyproject.toml").read_text(encoding="utf-8")
            tool = tomllib.loads(text).get("tool") if "bgtask-lint" in text else None
        except (OSError, UnicodeDecodeError):  # missing, a directory, unreadable: not ours
            continue
        except tomllib.TOMLDecodeError:  # it mentions bgtask-lint: let load_config report it
            return directory / "pyproject.toml"
        if isinstance(tool, dict) and "bgtask-lint" in tool:
            return directory / "pyproject.toml"
    return None


def load_config(path: Path | None, known_codes: Collection[str]) -> Config:
    """Settings from a pyproject.toml's ``[tool.bgtask-lint]``, or from a standalone TOML file's top level."""
    if path is None:
        return Config()
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: cannot read: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    tool = data.get("tool")
    if Path(path).name == "pyproject.toml" or tool is not None:
        return parse_table(tool.get("bgtask-lint", {}) if isinstance(tool, dict) else {}, source, known_codes)
    return parse_table(data, source, known_codes, section="")


def from_overrides(
    base: Config,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    known_codes: Collection[str],
) -> Config:
    """Command-line flags: ``select`` replaces the file's select and extend-select (like ruff's ``--select``);
    ``extend_select`` and ``ignore`` add to the file's."""
    parser, changes = _Parser("command line:", known_codes), dict[str, Any]()
    if select is not None:
        changes.update(select=parser.codes("--select", select), extend_select=())
    if extend_select is not None:
        added = parser.codes("--extend-select", extend_select)
        changes["extend_select"] = (*changes.get("extend_select", base.extend_select), *added)
    if ignore is not None:
        changes["ignore"] = (*base.ignore, *parser.codes("--ignore", ignore))
    return replace(base, **changes)
