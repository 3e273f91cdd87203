"""Background-task sites: ``add_task``, ``BackgroundTask(...)``, and the task function they run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bgtask_lint.analysis.calls import TASK_CALLEES, TASK_SPAWNERS
from bgtask_lint.analysis.index import BACKGROUND_TASKS, ProjectIndex, Scoped
from bgtask_lint.analysis.versions import closes_upload_file, closes_yield_dependency
from bgtask_lint.models import Arg, CallSite, TextEnum, Usage

ADD_TASK = f"ext:{BACKGROUND_TASKS}().add_task"
BACKGROUND_TASK = "ext:fastapi.BackgroundTask"
UPLOAD_FILE = "fastapi.UploadFile"
REQUEST = "fastapi.Request"


class TaskKind(TextEnum):
    """How a task is scheduled."""

    ADD_TASK = "add_task"  # background_tasks.add_task(f, ...)
    BACKGROUND_TASK = "BackgroundTask"  # BackgroundTask(f, ...) given to a response


@dataclass(frozen=True)
class TaskSite:
    owner: Scoped  # the function that schedules the task
    call: CallSite  # the add_task / BackgroundTask call
    kind: TaskKind
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
                kind = TaskKind.ADD_TASK
            elif value == BACKGROUND_TASK:
                kind = TaskKind.BACKGROUND_TASK
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


def closed_values(index: ProjectIndex, scoped: Scoped, version: tuple[int, int, int],
                  _seen: frozenset[str] = frozenset()) -> dict[str, str]:  # fmt: skip
    """Parameters whose value is closed before background tasks run, with the reason: an ``UploadFile``
    or a ``yield`` dependency's value on the versions that close them, an instance of a class
    dependency that holds one, and ``self`` of a class-based view whose injected attributes hold one.
    The move fix and BGT203 both ask this one function."""
    out: dict[str, str] = {}
    if scoped.fqn in _seen:
        return out
    seen = _seen | {scoped.fqn}
    fn = scoped.function
    for p in fn.params:
        why = _closed_param(index, scoped.module, fn, p, version, seen)
        if why is not None:
            out[p.name] = why
    if fn.class_name and fn.params and fn.params[0].name == "self":
        held = _held_by_class(index, f"{scoped.module.module}.{fn.class_name}", version, seen)
        if held is not None:
            out["self"] = f"an instance of `{fn.class_name}` holding `{held[0]}`, {held[1]}"
    return out


def _closed_param(index: ProjectIndex, mod, fn, p, version: tuple[int, int, int],  # type: ignore[no-untyped-def]
                  seen: frozenset[str]) -> str | None:  # fmt: skip
    ann, dep, scope = index.param_info(mod, fn, p)
    if ann is not None and index.subclass_of(ann, UPLOAD_FILE) and closes_upload_file(version):
        return "an UploadFile, closed before background tasks run on FastAPI 0.106-0.117"
    dep_fn = index.dependency_function(dep)
    if dep_fn is None:
        return None
    if dep_fn.function.is_generator and closes_yield_dependency(version, scope):
        when = "with scope=\"function\"" if scope == "function" else "on FastAPI 0.106-0.117"
        return f"the value of `yield` dependency `{dep_fn.function.name}`, closed before background tasks run {when}"
    if dep_fn.function.name == "__init__" and dep_fn.function.class_name:
        cls_fqn = dep_fn.fqn.rsplit(".", 1)[0]  # a class dependency holds what it was given
        held = _held_by_class(index, cls_fqn, version, seen)
        if held is not None:
            return f"an instance of `{dep_fn.function.class_name}` holding `{held[0]}`, {held[1]}"
    return None


def _held_by_class(index: ProjectIndex, cls_fqn: str, version: tuple[int, int, int],
                   seen: frozenset[str]) -> tuple[str, str] | None:  # fmt: skip
    """(name, reason) of what an instance holds that dies with the request: an injected class
    attribute (``db: Session = Depends(get_db)`` in a class-based view) or an ``__init__`` dependency."""
    for owner in index.mro(cls_fqn):
        if owner.startswith("ext:"):
            continue
        cmod, cls = index.classes[owner]
        for p in cls.dependencies:  # type: ignore[attr-defined]
            why = _closed_param(index, cmod, None, p, version, seen)
            if why is not None:
                return p.name, why
        init = index.functions.get(f"{owner}.__init__")
        if init is not None:
            held = {k: v for k, v in closed_values(index, init, version, seen).items() if k != "self"}
            if held:
                return next(iter(held.items()))
    return None


def request_params(index: ProjectIndex, scoped: Scoped) -> set[str]:
    out = set()
    for p in scoped.function.params:
        ann, _, _ = index.param_info(scoped.module, scoped.function, p)
        if ann is not None and index.subclass_of(ann, REQUEST):
            out.add(p.name)
    return out
