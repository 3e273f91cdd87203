"""Background-task sites: ``add_task``, ``BackgroundTask(...)``, and the task function they run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bgtask_lint.analysis.calls import TASK_CALLEES, TASK_SPAWNERS
from bgtask_lint.analysis.index import BACKGROUND_TASKS, ProjectIndex, Scoped
from bgtask_lint.analysis.versions import closes_upload_file, closes_yield_dependency
from bgtask_lint.models import Arg, CallSite, Usage

ADD_TASK = f"ext:{BACKGROUND_TASKS}().add_task"
BACKGROUND_TASK = "ext:fastapi.BackgroundTask"
UPLOAD_FILE = "fastapi.UploadFile"
REQUEST = "fastapi.Request"


@dataclass(frozen=True)
class TaskSite:
    owner: Scoped  # the function that schedules the task
    call: CallSite  # the add_task / BackgroundTask call
    kind: str  # "add_task" | "BackgroundTask"
    func: Arg | None  # the argument naming the task callable
    value: str | None  # what that argument resolves to (fn:/ext:/...)
    task: Scoped | None  # the project function that runs as the task, if any

    @property
    def task_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.call.args if a is not self.func)

    def task_label(self) -> str:
        if self.task is not None:
            return "lambda" if self.task.function.is_lambda else self.task.function.qualname.replace(".<locals>", "")
        if self.func is not None and self.func.ref:
            return self.func.ref
        return "the task"


def task_sites(index: ProjectIndex, fqns: Iterable[str] | None = None) -> Iterator[TaskSite]:
    """Task sites in ``fqns`` (default: every function of the modules in focus)."""
    if fqns is None:
        scopes = [s for s in index.functions.values() if index.in_focus(s.module.path)]
    else:
        scopes = [index.functions[f] for f in fqns if f in index.functions]
    for scoped in scopes:
        if not any(c.callee.endswith(TASK_CALLEES) for c in scoped.function.calls):
            continue  # cheap: no call here can be a task site
        for call in scoped.function.calls:
            value = index.call_target(scoped.module, scoped.function, call)
            if value == ADD_TASK:
                kind = "add_task"
            elif value == BACKGROUND_TASK:
                kind = "BackgroundTask"
            else:
                continue
            func = _func_arg(call)
            target = task_value(index, scoped, func) if func is not None else None
            yield TaskSite(scoped, call, kind, func, target, task_function(index, target))


def task_function(index: ProjectIndex, value: str | None) -> Scoped | None:
    """The project code that runs as the task: a function or method, an instance's ``__call__``,
    or a class's ``__init__``."""
    if value is not None and value.startswith(("obj:", "cls:")):
        return index.dependency_function(value)
    return index.scoped(value)


def _func_arg(call: CallSite) -> Arg | None:
    for a in call.args:
        if a.keyword in (None, "func"):
            return a
    return None


def task_value(index: ProjectIndex, owner: Scoped, arg: Arg) -> str | None:
    if arg.lambda_id:
        return f"fn:{owner.module.module}.{arg.lambda_id}"
    if arg.partial_of:
        return index.resolve(owner.module, owner.function, arg.partial_of)
    if arg.ref:
        value = index.resolve(owner.module, owner.function, arg.ref)
        if value is None or not value.startswith("fn:"):
            value = _dependency_result(index, owner, arg.ref) or value
        return value
    return None


def _dependency_result(index: ProjectIndex, owner: Scoped, name: str) -> str | None:
    """A parameter filled by ``Depends(f)`` holds what ``f`` returns, whatever its annotation says
    (``notify: Callable[[str], None] = Depends(get_notifier)``): the project function it returns."""
    param = next((p for p in owner.function.params if p.name == name), None)
    if param is None:
        return None
    _, dep, _ = index.param_info(owner.module, owner.function, param)
    dep_fn = index.dependency_function(dep)
    if dep_fn is None or dep_fn.function.is_generator or not dep.startswith("fn:"):
        return None
    result = index.call_result(dep)
    return result if result is not None and result.startswith("fn:") else None


def is_spawner(index: ProjectIndex, owner: Scoped, call: CallSite) -> bool:
    value = index.call_target(owner.module, owner.function, call)
    return value is not None and value.startswith("ext:") and value[4:] in TASK_SPAWNERS


def task_is_kept(call: CallSite) -> bool:
    return call.usage is Usage.USED or call.awaited


def background_params(index: ProjectIndex, scoped: Scoped) -> set[str]:
    """Names of parameters that FastAPI fills with the request's ``BackgroundTasks``."""
    out = set()
    for p in scoped.function.params:
        if index.param_value(scoped.module, scoped.function, p) == f"ext:{BACKGROUND_TASKS}()":
            out.add(p.name)
    return out


def closed_values(index: ProjectIndex, scoped: Scoped, version: tuple[int, int, int]) -> dict[str, str]:
    """Parameters whose value is closed before background tasks run, with the reason."""
    out: dict[str, str] = {}
    for p in scoped.function.params:
        ann, dep, scope = index.param_info(scoped.module, scoped.function, p)
        if ann is not None and index.subclass_of(ann, UPLOAD_FILE) and closes_upload_file(version):
            out[p.name] = "an UploadFile, closed before background tasks run on FastAPI 0.106-0.117"
        dep_fn = index.dependency_function(dep)
        if dep_fn is not None and dep_fn.function.is_generator and closes_yield_dependency(version, scope):
            when = "with scope=\"function\"" if scope == "function" else "on FastAPI 0.106-0.117"
            out[p.name] = f"the value of `yield` dependency `{dep_fn.function.name}`, closed before background tasks run {when}"
    return out


def request_params(index: ProjectIndex, scoped: Scoped) -> set[str]:
    out = set()
    for p in scoped.function.params:
        ann, _, _ = index.param_info(scoped.module, scoped.function, p)
        if ann is not None and index.subclass_of(ann, REQUEST):
            out.add(p.name)
    return out
