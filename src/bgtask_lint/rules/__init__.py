"""The rule base class and automatic discovery of every rule module in this package."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

from bgtask_lint.analysis.index import PathFunction, ProjectIndex
from bgtask_lint.analysis.tasks import TaskSite, task_sites
from bgtask_lint.models import CallSite, Chain, Diagnostic, Fix, ModuleFacts

DOC_HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References")
DOCS_URL = "https://github.com/bgtask-lint/bgtask-lint/blob/main/docs/rules.md#{code}"


@dataclass
class Context:
    """What a rule sees: the project index and per-file knowledge such as the FastAPI version."""

    index: ProjectIndex
    version_for: Callable[[str], tuple[int, int, int]] = lambda path: (999, 0, 0)
    cache: dict = field(default_factory=dict)

    def path_functions(self) -> list[PathFunction]:
        if "path" not in self.cache:
            self.cache["path"] = list(self.index.request_path())
        return self.cache["path"]

    def task_sites(self) -> list[TaskSite]:
        """Every task site in the focus, found once for all the rules that look at tasks."""
        if "tasks" not in self.cache:
            self.cache["tasks"] = list(task_sites(self.index))
        return self.cache["tasks"]


class Rule:
    """A rule: a code, a kebab-case name, a one-line message and ruff-shaped docs in the docstring."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        raise NotImplementedError

    @classmethod
    def docs(cls) -> str:
        return textwrap.dedent(cls.__doc__ or "").strip()

    @classmethod
    def url(cls) -> str:
        return DOCS_URL.format(code=cls.code.lower())

    def report(self, mod: ModuleFacts, call: CallSite | int, message: str, *, fix: Fix | None = None,
               no_fix_reason: str | None = None, chain: Chain | None = None, function: str = "") -> Diagnostic:  # fmt: skip
        ordinal = call if isinstance(call, int) else call.ordinal
        return Diagnostic(
            code=self.code, name=self.name, message=message, path=mod.path, ordinal=ordinal, fix=fix,
            no_fix_reason=no_fix_reason if fix is None else None, chain=chain.steps if chain else (),
            function=function, via=chain.through if chain else (),
        )  # fmt: skip


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every ``Rule`` subclass defined in a module of this package, ordered by code."""
    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__:
                found.append(obj)
    return tuple(sorted(found, key=lambda r: r.code))
