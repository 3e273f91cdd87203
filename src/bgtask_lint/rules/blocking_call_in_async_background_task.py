"""BGT202: ``async def`` background tasks that reach a blocking call."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.calls import cost_label
from bgtask_lint.models import Diagnostic
from bgtask_lint.rules import Context, Rule


class BlockingCallInAsyncBackgroundTask(Rule):
    """
    ## What it does
    Checks for `async def` background tasks that make a blocking call (synchronous network,
    e-mail, file, subprocess or database work, `time.sleep`), directly or through helpers.

    ## Why is this bad?
    Starlette awaits `async def` tasks on the event loop and runs `def` tasks in the threadpool.
    An async task that blocks stalls every other request on the worker after the response is
    sent: an async task calling `time.sleep(1.5)` held another client's request up for 1.45 s,
    while the same task written as `def` did not.

    ## Example
    ```python
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def rebuild_index() -> None:
        time.sleep(2)


    @app.post("/reindex")
    async def reindex(background_tasks: BackgroundTasks):
        background_tasks.add_task(rebuild_index)
        return {"queued": True}
    ```

    ## Use instead
    ```python
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    def rebuild_index() -> None:
        time.sleep(2)


    @app.post("/reindex")
    async def reindex(background_tasks: BackgroundTasks):
        background_tasks.add_task(rebuild_index)
        return {"queued": True}
    ```

    ## Fix safety
    No automatic fix: make the task a plain `def` (Starlette then runs it in the threadpool), or
    use async APIs inside it.

    ## References
    - https://www.starlette.io/background/
    - https://fastapi.tiangolo.com/async/
    """

    code = "BGT202"
    name = "blocking-call-in-async-background-task"
    summary = "Async background task makes a blocking call and stalls the event loop after the response"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for site in ctx.task_sites():
            task = site.task
            if task is None or not task.function.is_async:
                continue
            chain = index.blocking.get(task.fqn)
            if chain is None:
                continue
            message = (
                f"async background task `{site.task_label()}` makes a blocking call: {chain.render()} "
                f"({cost_label(chain)}); it runs on the event loop after the response and stalls every other request"
            )
            yield self.report(site.owner.module, site.call, message, chain=chain, function=site.owner.fqn,
                              no_fix_reason="make the task a plain `def`, or use async APIs inside it")  # fmt: skip
