"""BGT206: ``asyncio.create_task(...)`` in a handler without keeping the task."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.index import Role
from bgtask_lint.analysis.tasks import is_spawner, task_is_kept
from bgtask_lint.models import Diagnostic, Fix, FixKind
from bgtask_lint.rules import Context, Rule
from bgtask_lint.rules._fix_policy import GUARDED, dying_values


class FireAndForgetTaskInHandler(Rule):
    """
    ## What it does
    Checks for `asyncio.create_task(...)`, `asyncio.ensure_future(...)` and `loop.create_task(...)`
    in a route handler whose task is not kept (awaited, gathered, stored, returned, or bound to a
    name that is read later).

    ## Why is this bad?
    The event loop keeps only a weak reference to tasks: Python's documentation warns that a task
    nobody references can disappear mid-execution. Its exception is never retrieved, so failures
    vanish. `BackgroundTasks` runs the work after the response and keeps it alive.

    ## Example
    ```python
    import asyncio

    from fastapi import FastAPI

    app = FastAPI()


    async def refresh_cache(key: str) -> None: ...


    @app.post("/items")
    async def create_item(key: str):
        asyncio.create_task(refresh_cache(key))
        return {"key": key}
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def refresh_cache(key: str) -> None: ...


    @app.post("/items")
    async def create_item(key: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(refresh_cache, key)
        return {"key": key}
    ```

    ## Fix safety
    Unsafe: the work then starts after the response instead of concurrently with it. Offered only
    when the argument is a call of a coroutine function, never in a WebSocket handler (background
    tasks do not run there) nor in a handler that returns a Response with its own `background=`;
    not inside a `try` body, an `except` or a `finally` clause, not when an argument dies with the
    request, and not when the coroutine blocks the event loop (as a background task it would be a
    BGT202 finding the fix cannot resolve).

    ## References
    - https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task
    - https://fastapi.tiangolo.com/tutorial/background-tasks/
    """

    code = "BGT206"
    name = "fire-and-forget-task-in-handler"
    summary = "asyncio task created in a handler is not kept and can vanish mid-run"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for pf in ctx.path_functions():
            if pf.role is not Role.HANDLER:
                continue
            s = pf.scoped
            for call in s.function.calls:
                if not is_spawner(index, s, call) or task_is_kept(call):
                    continue
                fix, reason = self._fix(index, pf, call, ctx.version_for(s.module.path))
                message = (f"task from `{call.callee.replace('()', '(...)')}(...)` in `{s.function.name}` is not kept: "
                           "it can be garbage-collected mid-run and its exception is never retrieved")  # fmt: skip
                yield self.report(s.module, call, message, fix=fix, no_fix_reason=reason, function=s.fqn)

    @staticmethod
    def _fix(index, pf, call, version) -> tuple[Fix | None, str | None]:  # type: ignore[no-untyped-def]
        s = pf.scoped
        if pf.route.websocket:
            return None, "background tasks do not run for WebSocket routes"
        if call.guard:
            return None, GUARDED[call.guard]
        if any(r.background is not None and not r.background.is_none for r in s.function.response_returns):
            return None, "the handler returns a Response with its own `background=`"
        arg = call.args[0] if call.args else None
        if arg is None or arg.call is None or not call.statement:
            return None, "the argument is not a call of a coroutine function"
        target = index.scoped(index.resolve(s.module, s.function, arg.call))
        kind = index.classify(index.resolve(s.module, s.function, arg.call))
        if (target is None or not target.function.is_async) and (kind is None or kind.sync):
            return None, "the argument is not a call of a coroutine function"
        if target is not None and index.blocking.get(target.fqn) is not None:
            return None, (f"`{target.function.name}` blocks the event loop: as a background task it would be "
                          "reported as such (make it a plain `def`, or use async APIs in it, first)")
        dead = dying_values(index, pf, version)
        found = sorted(set(call.args[0].names) & set(dead))
        if found:
            return None, f"`{found[0]}` is {dead[found[0]]}"
        return Fix("unsafe", "Move the coroutine into `BackgroundTasks.add_task`", FixKind.MOVE, call.ordinal), None
