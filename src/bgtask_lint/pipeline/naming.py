"""Project roots and module names: which project a file belongs to and the names it is imported under."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


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
