"""Find the FastAPI version a linted file's project runs, and what that version closes before background tasks."""

from __future__ import annotations

import configparser
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

Version = tuple[int, int, int]
NEWEST: Version = (999, 0, 0)  # "newest behaviour": no upper bound, or nothing known
ANY = 999  # a slot that may be anything: (0, 117, 999) is "just below 0.118.0"

_NAMES = frozenset({"fastapi", "fastapi-slim"})
_LOCKS = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
_ERRORS = (OSError, ValueError, TypeError, AttributeError, KeyError, configparser.Error)
_RELEASE = re.compile(
    r"v?(\d+(?:\.\d+)*)(\.\*)?(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)[-_.]?\d*)*(?:\+[a-z0-9.]+)?",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"(===|==|!=|~=|<=|>=|<|>|\^|~|=)?\s*([^\s,<>=!~^|]+)")
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)", re.DOTALL)
_INCLUDE = re.compile(r"(?:-r|-c|--requirement|--constraint)[\s=]*(\S+)")


@dataclass(frozen=True)
class VersionInfo:
    version: Version
    source: str  # "config", a file's absolute path, "installed fastapi" or "newest (unknown)"


def _release(text: str) -> tuple[list[int], bool] | None:
    """``"0.110.*"`` -> ``([0, 110], True)``; pre/post/dev/local suffixes are dropped."""
    match = _RELEASE.fullmatch(text.strip())
    return ([int(part) for part in match[1].split(".")], bool(match[2])) if match else None


def _fill(parts: list[int], filler: int) -> Version:
    major, minor, micro = (parts + [filler] * 3)[:3]
    return (major, minor, micro)


def _below(version: Version) -> Version | None:
    major, minor, micro = version
    if micro:
        return (major, minor, micro - 1)
    if minor:
        return (major, minor - 1, ANY)
    return (major - 1, ANY, ANY) if major else None


def parse_version(text: str) -> Version | None:
    """``"0.110.2"`` -> ``(0, 110, 2)``, ``"0.110"`` -> ``(0, 110, 0)``; anything else -> None."""
    release = _release(text) if isinstance(text, str) else None
    return _fill(release[0], 0) if release and not release[1] else None


def newest_admitted(spec: str) -> Version | None:
    """The newest version a PEP 440 or poetry specifier admits; None if it is malformed or admits nothing.

    Lower bounds and ``!=`` are ignored; no upper bound gives NEWEST. A slot that may be anything
    is ANY (999): ``<0.118`` -> (0, 117, 999), ``~=0.110.0``/``^0.110``/``0.110.*`` -> (0, 110, 999),
    ``~=0.110`` (i.e. ``0.*``) -> (0, 999, 999), ``^1.2`` -> (1, 999, 999). Poetry ``||`` takes the newest side.
    """
    alternatives = [_upper_bound(part) for part in spec.split("||")]
    if not alternatives or None in alternatives:
        return None
    return max(version for version in alternatives if version is not None)


def _upper_bound(spec: str) -> Version | None:
    if not re.fullmatch(r"[\s,]*", _CLAUSE.sub("", spec)):
        return None
    upper = NEWEST
    for op, text in _CLAUSE.findall(spec):
        if text == "*" and op in ("", "=", "=="):
            continue
        release = _release(text)
        if release is None:
            return None
        parts, wildcard = release
        bound: Version | None
        if op in ("", "=", "==", "==="):
            bound = _fill(parts, ANY if wildcard else 0)
        elif op == "<=":
            bound = _fill(parts, 0)
        elif op == "<":
            bound = _below(_fill(parts, 0))
        elif op == "~=":  # ~=A.B.C -> A.B.*, ~=A.B -> A.*
            bound = _fill(parts[: max(1, len(parts) - 1)], ANY)
        elif op == "^":  # poetry: the first non-zero slot (or the last one given) is fixed
            fixed = next((i for i, part in enumerate(parts) if part), len(parts) - 1)
            bound = _fill(parts[: fixed + 1], ANY)
        elif op == "~":  # poetry: ~1 -> 1.*, ~1.2 and ~1.2.3 -> 1.2.*
            bound = _fill(parts[:2], ANY)
        else:  # >, >=, != set no upper bound
            continue
        if bound is None:
            return None
        upper = min(upper, bound)
    return upper


def _is_fastapi(name: str) -> bool:
    return re.sub(r"[-_.]+", "-", name).lower() in _NAMES


def _requirement_spec(requirement: str) -> str | None:
    """The specifier of a PEP 508 line naming fastapi (``""`` for a bare name or URL), else None."""
    match = _REQUIREMENT.fullmatch(requirement.split(";", 1)[0])
    if not match or not _is_fastapi(match[1]):
        return None
    rest = match[2].strip()
    return "" if rest.startswith("@") else rest.strip("() ")


def _lock_version(path: Path) -> Version | None:
    text = path.read_text(encoding="utf-8")
    if path.name == "Pipfile.lock":
        data = json.loads(text)
        specs = [str(data.get(group, {}).get("fastapi", {}).get("version", "")) for group in ("default", "develop")]
    else:
        packages = tomllib.loads(text).get("package", [])
        specs = [f"=={package.get('version')}" for package in packages if _is_fastapi(str(package.get("name", "")))]
    versions = [version for spec in specs if spec and (version := newest_admitted(spec)) is not None]
    return max(versions, default=None)


def _toml_specs(path: Path) -> list[str]:
    """pyproject.toml (PEP 621, dependency groups, uv, pdm, poetry) or a Pipfile."""
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    project, tool = data.get("project", {}), data.get("tool", {})
    requirements = list(project.get("dependencies", [])) + list(tool.get("uv", {}).get("dev-dependencies", []))
    for groups in (project.get("optional-dependencies", {}), data.get("dependency-groups", {}),
                   tool.get("pdm", {}).get("dev-dependencies", {})):
        for items in groups.values():
            requirements += items
    specs = [spec for item in requirements if isinstance(item, str) and (spec := _requirement_spec(item)) is not None]
    poetry = tool.get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {}), data.get("packages", {}),
              data.get("dev-packages", {})] + [group.get("dependencies", {}) for group in poetry.get("group", {}).values()]
    for table in tables:
        for name, value in table.items():
            if _is_fastapi(name):
                for item in value if isinstance(value, list) else [value]:
                    specs.append(item if isinstance(item, str) else str(item.get("version", "")))
    return specs


def _setup_cfg_specs(path: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text(encoding="utf-8"))
    lines = parser.get("options", "install_requires", fallback="").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            lines += value.splitlines()
    return [spec for line in lines if (spec := _requirement_spec(line.split("#", 1)[0])) is not None]


def _requirements_specs(path: Path, seen: set[Path]) -> list[tuple[str, Path]]:
    """fastapi lines of a requirements file, following ``-r``/``-c`` includes relative to it, once each."""
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except _ERRORS:
        return []
    found: list[tuple[str, Path]] = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        include = _INCLUDE.fullmatch(line)
        if include:
            found += _requirements_specs(path.parent / include[1], seen)
        elif not line.startswith("-") and (spec := _requirement_spec(line.split(" --", 1)[0])) is not None:
            found.append((spec, path))
    return found


@lru_cache(maxsize=4096)
def _scan_directory(directory: Path) -> VersionInfo | None:
    """A lock file pinning fastapi, else the tightest fastapi specifier among this directory's files."""
    for name in _LOCKS:
        path = directory / name
        try:
            version = _lock_version(path) if path.is_file() else None
        except _ERRORS:
            version = None
        if version is not None:
            return VersionInfo(version, str(path))
    mentions: list[tuple[str, Path]] = []
    for name, reader in (("pyproject.toml", _toml_specs), ("Pipfile", _toml_specs), ("setup.cfg", _setup_cfg_specs)):
        path = directory / name
        try:
            mentions += [(spec, path) for spec in reader(path)] if path.is_file() else []
        except _ERRORS:
            pass
    seen: set[Path] = set()
    for path in sorted(directory.glob("requirements*.txt")) + sorted((directory / "requirements").glob("*.txt")):
        mentions += _requirements_specs(path, seen)
    best: VersionInfo | None = None
    for spec, path in mentions:  # all of them hold at once, so the lowest newest-admitted wins
        version = newest_admitted(spec)
        if version is not None and (best is None or version < best.version):
            best = VersionInfo(version, str(path))
    return best


@lru_cache(maxsize=1)
def _installed() -> VersionInfo:
    from importlib import metadata  # on demand: its import is a tenth of a warm run

    try:
        version = parse_version(metadata.version("fastapi"))
    except metadata.PackageNotFoundError:
        version = None
    return VersionInfo(version, "installed fastapi") if version else VersionInfo(NEWEST, "newest (unknown)")


def clear_cache() -> None:
    """Forget cached directory scans and the installed version (for tests and long-running processes)."""
    _scan_directory.cache_clear()
    _installed.cache_clear()


def detect_fastapi_version(file: Path, configured: str | None = None, stop_at: Path | None = None) -> VersionInfo:
    """Config, else the nearest directory (up to ``stop_at``) whose files mention fastapi, else the installed one."""
    if configured is not None:
        version = parse_version(configured) if isinstance(configured, str) else None
        if version is None:
            raise ValueError(f'fastapi-version must be a plain version such as "0.110.0" (a quoted string), '
                             f"not {configured!r}")
        return VersionInfo(version, "config")
    start = Path(file).resolve()
    directory = start if start.is_dir() else start.parent
    stop = Path(stop_at).resolve() if stop_at is not None else None
    for current in (directory, *directory.parents):
        found = _scan_directory(current)
        if found is not None:
            return found
        if current == stop:
            break
    return _installed()


def closes_yield_dependency(version: Version, scope: str | None) -> bool:
    """True when a ``yield`` dependency's value is closed before background tasks run."""
    return (0, 106, 0) <= version < (0, 118, 0) or (scope == "function" and version >= (0, 121, 0))


def closes_upload_file(version: Version) -> bool:
    """True when an UploadFile is closed before background tasks run."""
    return (0, 106, 0) <= version < (0, 118, 0)
