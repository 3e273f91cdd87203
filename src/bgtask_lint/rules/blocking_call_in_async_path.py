"""BGT102: blocking calls in ``async def`` handlers and async dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.calls import DEFERRABLE
from bgtask_lint.analysis.requestpath import blocking_chain, call_label, move_fix
from bgtask_lint.models import Diagnostic, Usage
from bgtask_lint.rules import Context, Rule

ADVICE = "use an async client, `await run_in_threadpool(...)` / `asyncio.to_thread(...)`, or make the function a plain `def`"


class BlockingCallInAsyncPath(Rule):
    """
    ## What it does
    Checks for blocking calls (synchronous network, e-mail, file, subprocess or database calls,
    `time.sleep`) in an `async def` route handler or async dependency, made directly or through the
    project's own helpers. The most common real case is a synchronous SQLAlchemy `Session` from
    `Depends(get_db)` used inside `async def`.

    ## Why is this bad?
    An `async def` handler runs on the event loop. While a synchronous call waits, the loop can do
    nothing else: every other request on that worker waits too. FastAPI runs plain `def` handlers
    in a threadpool, which is why the same call is harmless there.

    ## Example
    ```python
    import requests

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/weather")
    async def weather(city: str):
        response = requests.get("https://weather.example.com", params={"q": city})
        return response.json()
    ```

    ## Use instead
    ```python
    import httpx

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/weather")
    async def weather(city: str):
        async with httpx.AsyncClient() as client:
            response = await client.get("https://weather.example.com", params={"q": city})
        return response.json()
    ```

    ## Fix safety
    When the result is unused and the work is deferrable, the unsafe fix moves the call into
    `BackgroundTasks` (as for BGT101). Otherwise no fix is offered: use an async client,
    `run_in_threadpool`/`asyncio.to_thread`, or a plain `def` handler.

    ## References
    - https://fastapi.tiangolo.com/async/#in-a-hurry
    - https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code
    """

    code = "BGT102"
    name = "blocking-call-in-async-path"
    summary = "Blocking call in an async handler or async dependency stalls the event loop"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for pf in ctx.path_functions():
            s = pf.scoped
            for call in s.function.calls:
                chain = blocking_chain(index, pf, call)
                if chain is None:
                    continue
                via = f": {chain.render()}" if len(chain.steps) > 1 else ""
                kind = "handler" if pf.role == "handler" else "dependency"
                message = (
                    f"async {kind} `{s.function.name}` makes blocking call {call_label(call)} "
                    f"({chain.category}){via}; it stalls the event loop for every request"
                )
                fix, reason = None, ADVICE
                if call.usage is not Usage.USED and chain.category in DEFERRABLE:
                    fix, reason = move_fix(index, pf, call, chain, ctx.version_for(s.module.path))
                elif call.usage is not Usage.USED and chain.category not in DEFERRABLE:
                    reason = f"{chain.category} work is not deferrable; {ADVICE}"
                yield self.report(s.module, call, message, fix=fix, no_fix_reason=reason,
                                  chain=chain.steps, function=s.fqn)  # fmt: skip
