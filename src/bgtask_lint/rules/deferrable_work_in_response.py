"""BGT101: slow side effects whose result the response does not use, run before responding."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.calls import cost_label
from bgtask_lint.analysis.requestpath import (
    call_label,
    deferrable_chain,
    verb,
)
from bgtask_lint.models import Diagnostic
from bgtask_lint.rules import Context, Rule
from bgtask_lint.rules._fix_policy import move_fix


class DeferrableWorkInResponse(Rule):
    """
    ## What it does
    Checks for route handlers (and their dependencies) that send e-mail, call other services,
    write files or run subprocesses before they respond, when the response does not use the result.
    Calls into the project's own helpers are followed across modules, and the finding names the
    chain that makes the call slow. In an `async def` handler a blocking call is reported once, as
    BGT102, which carries the same fix.

    Not reported: file metadata (`mkdir`, `unlink` or `rename` of one path, a `stat`), which is not
    slow work; writes of application state that later requests read (`json.dump` of a state file),
    which are persistence like a database write; a write whose target the response names (it
    returns the new file's name or a path built from it), or that later database work records; and
    the local file work of a `DELETE`, `PUT` or `PATCH` endpoint when it is the endpoint's only
    effect, because that change is what the client asked for.

    ## Why is this bad?
    The client waits for work whose result it never sees: an SMTP round trip or a webhook adds
    hundreds of milliseconds, or seconds when the other side is slow, to every request. FastAPI's
    `BackgroundTasks` runs such work after the response has been sent.

    ## Example
    ```python
    import smtplib

    from fastapi import FastAPI

    app = FastAPI()


    def send_welcome_email(address: str) -> None:
        with smtplib.SMTP("localhost") as smtp:
            smtp.sendmail("hello@example.com", [address], "Welcome!")


    @app.post("/register")
    def register(email: str):
        send_welcome_email(email)
        return {"registered": email}
    ```

    ## Use instead
    ```python
    import smtplib

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    def send_welcome_email(address: str) -> None:
        with smtplib.SMTP("localhost") as smtp:
            smtp.sendmail("hello@example.com", [address], "Welcome!")


    @app.post("/register")
    def register(email: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_welcome_email, email)
        return {"registered": email}
    ```

    ## Fix safety
    Unsafe: the work then runs after the response, so its errors no longer reach the client and
    the client can no longer rely on it having happened; nothing else changes. No fix is offered
    when the call depends on something that dies with the request (a `with` resource, an
    `UploadFile`, the `Request`, a `yield` dependency your FastAPI version closes early, or a class
    dependency or class-based view holding one), sits inside an expression, a `try` body, an
    `except` or a `finally` clause, is followed by a log line that reports it done, or calls an
    `async def` helper that blocks. A fix never leaves a finding it cannot fix: a moved call that
    does not handle its errors is then handed to a small wrapper that logs them (BGT201's fix).

    ## References
    - https://fastapi.tiangolo.com/tutorial/background-tasks/
    - https://www.starlette.io/background/
    """

    code = "BGT101"
    name = "deferrable-work-in-response"
    summary = "Slow side effect whose result the response does not use runs before responding"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for pf in ctx.path_functions():
            s = pf.scoped
            for call in s.function.calls:
                chain = deferrable_chain(index, pf, call)
                if chain is None:
                    continue
                via = f": {chain.render()}" if len(chain.steps) > 1 else ""
                message = (
                    f"`{s.function.name}` {verb(call)} {call_label(call)} ({cost_label(chain)}) before responding{via}; "
                    "the response does not use its result"
                )
                fix, reason = move_fix(index, pf, call, chain, ctx.version_for(s.module.path))
                yield self.report(s.module, call, message, fix=fix, no_fix_reason=reason,
                                  chain=chain, function=s.fqn)  # fmt: skip
