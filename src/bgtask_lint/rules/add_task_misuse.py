"""BGT204: ``add_task(f(x))`` runs the work now; ``await add_task(...)`` awaits ``None``."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.tasks import TaskKind
from bgtask_lint.models import RETURNS_VALUE, Diagnostic, Fix, FixKind
from bgtask_lint.rules import Context, Rule


class AddTaskMisuse(Rule):
    """
    ## What it does
    Checks for `add_task(f(x))` and `BackgroundTask(f())`, where `f` is a project or catalogued
    function that does not return a callable, and for `await background_tasks.add_task(...)`.

    ## Why is this bad?
    `add_task(f(x))` calls `f` in the handler, before the response, and then schedules its result
    (usually `None`) as the task. For an `async def f`, the coroutine is never awaited at all, so
    the work silently never happens. `add_task` returns `None`: awaiting it raises `TypeError`.

    ## Example
    ```python
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def notify(user: str) -> None: ...


    @app.post("/users")
    async def create_user(user: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(notify(user))
        return {"user": user}
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def notify(user: str) -> None: ...


    @app.post("/users")
    async def create_user(user: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(notify, user)
        return {"user": user}
    ```

    ## Fix safety
    Safe: `add_task(f(x, k=1))` becomes `add_task(f, x, k=1)` and `await tasks.add_task(...)` loses
    its `await`, which is what the code meant.

    ## References
    - https://fastapi.tiangolo.com/tutorial/background-tasks/#add-the-background-task
    """

    code = "BGT204"
    name = "add-task-misuse"
    summary = "add_task(f(x)) runs the work before responding; await add_task(...) awaits None"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for site in ctx.task_sites():
            owner = site.owner
            if site.kind is TaskKind.ADD_TASK and site.call.awaited:
                yield self.report(owner.module, site.call, "`add_task(...)` returns None; awaiting it raises TypeError",
                                  fix=Fix("safe", "Remove the `await`", FixKind.DROP_AWAIT, site.call.ordinal),
                                  function=owner.fqn)  # fmt: skip
                continue
            arg = site.func
            if arg is None or arg.call is None or arg.partial_of:
                continue
            value = index.resolve(owner.module, owner.function, arg.call)
            if not self._runs_work(index, value):
                continue
            name = arg.call.replace("()", "(...)")
            what = "never runs: its coroutine is scheduled instead" if self._is_async(index, value) and not arg.awaited \
                else "runs now, before the response, and its result is scheduled as the task"  # fmt: skip
            yield self.report(owner.module, site.call, f"`{name}(...)` passed to `{site.kind}` {what}; pass the function and its arguments",
                              fix=Fix("safe", f"Pass `{name}` and its arguments to `{site.kind}`", FixKind.UNWRAP_TASK, site.call.ordinal),
                              function=owner.fqn)  # fmt: skip

    @classmethod
    def _runs_work(cls, index, value: str | None) -> bool:
        scoped = index.scoped(value)
        if scoped is not None:
            return cls._returns_non_callable(index, scoped, 3)
        return index.classify(value) is not None

    @classmethod
    def _returns_non_callable(cls, index, scoped, depth: int) -> bool:
        """True only when every ``return`` is known not to give a callable (precision first)."""
        fn = scoped.function
        ann = fn.return_annotation or ""
        if fn.returns_callable or fn.returns_local_def or "Callable" in ann or fn.is_generator or depth == 0:
            return False
        for ref in fn.returns:  # ``return send_email`` / ``return self.sms``: a function reference
            if ref == RETURNS_VALUE:
                continue  # ``return a, b`` / a literal: not a reference
            found = index.resolve(scoped.module, fn, ref)
            if found is None or found.startswith(("fn:", "cls:", "mod:")):
                return False
        for call in fn.calls:  # ``return make_job(x)``: whatever that returns
            if not call.returned:
                continue
            target = index.call_target(scoped.module, fn, call)
            inner = index.scoped(target)
            if inner is not None:
                if not cls._returns_non_callable(index, inner, depth - 1):
                    return False
            elif target is None or not target.startswith(("ext:", "cls:")):
                return False
        return True

    @staticmethod
    def _is_async(index, value: str | None) -> bool:
        scoped = index.scoped(value)
        if scoped is not None:
            return scoped.function.is_async
        kind = index.classify(value)
        return kind is not None and not kind.sync
