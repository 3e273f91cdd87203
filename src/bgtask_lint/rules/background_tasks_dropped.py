"""BGT205: tasks added to the injected BackgroundTasks are dropped by ``Response(background=...)``."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.tasks import TaskKind, background_params, task_sites
from bgtask_lint.models import BindingKind, Diagnostic, FunctionFacts
from bgtask_lint.rules import Context, Rule


class BackgroundTasksDropped(Rule):
    """
    ## What it does
    Checks for handlers that add tasks to an injected `BackgroundTasks` (in the handler or in one
    of its dependencies) but return a `Response` with its own `background=`.

    ## Why is this bad?
    FastAPI only attaches the injected `BackgroundTasks` to the response when the returned
    response has no `background` of its own. Otherwise the injected tasks are silently never run.

    ## Example
    ```python
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import JSONResponse
    from starlette.background import BackgroundTask

    app = FastAPI()


    def send_receipt(order: int) -> None: ...


    def cleanup() -> None: ...


    @app.post("/orders")
    async def create_order(order: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, order)
        return JSONResponse({"ok": True}, background=BackgroundTask(cleanup))
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()


    def send_receipt(order: int) -> None: ...


    def cleanup() -> None: ...


    @app.post("/orders")
    async def create_order(order: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, order)
        background_tasks.add_task(cleanup)
        return JSONResponse({"ok": True}, background=background_tasks)
    ```

    ## Fix safety
    No automatic fix: add every task to one `BackgroundTasks` and pass it as `background=`.

    ## References
    - https://fastapi.tiangolo.com/advanced/response-directly/
    - https://github.com/fastapi/fastapi/blob/master/fastapi/routing.py
    """

    code = "BGT205"
    name = "background-tasks-dropped"
    summary = "Returned Response(background=...) drops the tasks added to the injected BackgroundTasks"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        routes = [r for r in index.routes if index.in_focus(index.functions[r.handler].module.path)]
        adders: dict[str, set[str]] = {}
        for site in task_sites(index, {f for r in routes for f in (r.handler, *r.dependencies)}):
            if site.kind is TaskKind.ADD_TASK:
                adders.setdefault(site.owner.fqn, set()).add(site.call.callee.split(".")[0])
        seen: set[str] = set()
        for route in routes:
            if route.handler in seen:
                continue
            seen.add(route.handler)
            handler = index.functions[route.handler]
            injected = _with_aliases(handler.function, background_params(index, handler))
            adds = bool(injected & adders.get(handler.fqn, set()))
            for dep in route.dependencies:
                dep_fn = index.functions[dep]
                dep_injected = _with_aliases(dep_fn.function, background_params(index, dep_fn))
                adds = adds or bool(dep_injected & adders.get(dep, set()))
            if not adds:
                continue
            for ret in handler.function.response_returns:
                bg = ret.background
                if bg is None or bg.is_none or (bg.ref is not None and bg.ref in injected):
                    continue
                if not index.is_response_class(index.resolve(handler.module, handler.function, ret.callee)):
                    continue
                yield self.report(handler.module, ret.ordinal,
                                  f"`{handler.function.name}` adds tasks to the injected BackgroundTasks but returns "
                                  f"`{ret.callee}(background=...)`: FastAPI never runs the injected tasks",
                                  function=handler.fqn,
                                  no_fix_reason="add every task to one BackgroundTasks and pass it as `background=`")  # fmt: skip


def _with_aliases(fn: FunctionFacts, names: set[str]) -> set[str]:
    """The injected parameters plus the local names that only alias them (``tasks = background_tasks``)."""
    out = set(names)
    bindings = dict(fn.bindings)
    changed = True
    while changed:
        changed = False
        for name, binding in bindings.items():
            if name not in out and binding.kind == BindingKind.REF and binding.ref in out:
                out.add(name)
                changed = True
    return out
