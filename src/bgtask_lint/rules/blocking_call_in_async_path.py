"""BGT102: blocking calls in ``async def`` handlers and async dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.calls import DEFERRABLE, cost_label
from bgtask_lint.analysis.requestpath import (
    blocking_chain,
    call_label,
    deferrable_work,
    only_effect,
)
from bgtask_lint.models import Diagnostic, Usage
from bgtask_lint.rules import Context, Rule
from bgtask_lint.rules._fix_policy import move_fix, thread_fix

ADVICE = "use an async client, `await run_in_threadpool(...)` / `asyncio.to_thread(...)`, or make the function a plain `def`"
AWAITED_ADVICE = "make the awaited helper non-blocking: an async client inside it, or `asyncio.to_thread(...)` around its blocking call"


class BlockingCallInAsyncPath(Rule):
    """
    ## What it does
    Checks for blocking calls (synchronous network, e-mail, file, subprocess or database calls,
    `time.sleep`) in an `async def` route handler or async dependency, made directly or through the
    project's own helpers. The most common real case is a synchronous SQLAlchemy `Session` from
    `Depends(get_db)` used inside `async def`.

    Every catalogued call has a cost class (e-mail, network, DNS, subprocess, database, cache,
    sleep, file data, file metadata), and the chain names the costliest call the path reaches.
    File metadata (`exists`, `stat`, `mkdir`, `unlink` of one path, creating a temp file) is
    reported only where it stands directly in the `async def`, as ruff's ASYNC240 does, never
    through helpers. Not reported: an awaited call (whatever its receiver's annotation says) and
    the buffered result of one, work on in-memory files (`io.BytesIO`, an archive or CSV writer
    over one), and work inside `if X is None: X = ...` that fills a global or class attribute once
    per process. `open(...)` and the reads and writes of its file in the same `with` block are
    one finding, at the `open`.

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
    When the result is unused, the work is deferrable and it is not the handler's only effect, the
    unsafe fix moves the call into `BackgroundTasks` (as for BGT101). Otherwise the unsafe fix runs
    the call in a worker thread, `await run_in_threadpool(f, ...)`: the work still happens before the
    response and its errors still reach the client; only the thread changes. No fix for an awaited
    helper that blocks inside, a database object (an `sqlite3` connection refuses other threads),
    `time.sleep` (use `await asyncio.sleep`), a `with` item, or a call whose result is the
    receiver of a further call: use an async client or a plain `def` handler.

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
                kind = pf.role.value
                what = f"awaits {call_label(call)}, which makes a blocking call" if call.awaited else (
                    f"makes blocking call {call_label(call)}")  # fmt: skip
                message = (
                    f"async {kind} `{s.function.name}` {what} ({cost_label(chain)}){via}; "
                    "it blocks the event loop while it runs"
                )
                advice = AWAITED_ADVICE if call.awaited else ADVICE
                fix, reason = None, advice
                if deferrable_work(index, pf, call) is not None and not only_effect(index, pf, call):
                    fix, reason = move_fix(index, pf, call, chain, ctx.version_for(s.module.path))
                elif call.usage is not Usage.USED and chain.category not in DEFERRABLE:
                    reason = f"{chain.category} work is not deferrable; {advice}"
                if fix is None:
                    # the work stays before the response (it is needed, or it is what the endpoint is for)
                    offered = thread_fix(index, pf, call, chain)
                    fix, reason = (None, offered) if isinstance(offered, str) else (offered, reason)
                yield self.report(s.module, call, message, fix=fix, no_fix_reason=reason,
                                  chain=chain, function=s.fqn)  # fmt: skip
