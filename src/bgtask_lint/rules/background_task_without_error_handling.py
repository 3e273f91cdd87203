"""BGT201: background tasks whose fallible work is outside every try/except."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.tasks import TaskSite
from bgtask_lint.models import Diagnostic, Fix, FixKind
from bgtask_lint.rules import Context, Rule


class BackgroundTaskWithoutErrorHandling(Rule):
    """
    ## What it does
    Checks for background tasks that do fallible work (e-mail, network, files, subprocesses,
    database or cache calls, directly or through the project's helpers) outside any `try` whose
    `except` does something with the error (logs, reports, retries, cleans up).

    ## Why is this bad?
    Starlette runs the tasks one after another after the response has been sent. When one raises,
    the client already has its 200, the tasks after it are skipped, and the error only reaches the
    server log; app exception handlers do not apply (with `BaseHTTPMiddleware` on Starlette before
    0.46 it was swallowed with nothing logged). A failed welcome e-mail disappears without trace.

    ## Example
    ```python
    import smtplib

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    def send_receipt(address: str) -> None:
        with smtplib.SMTP("localhost") as smtp:
            smtp.sendmail("shop@example.com", [address], "Thanks!")


    @app.post("/orders")
    def create_order(address: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, address)
        return {"ok": True}
    ```

    ## Use instead
    ```python
    import logging
    import smtplib

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    logger = logging.getLogger(__name__)


    def send_receipt(address: str) -> None:
        try:
            with smtplib.SMTP("localhost") as smtp:
                smtp.sendmail("shop@example.com", [address], "Thanks!")
        except Exception:
            logger.exception("background task send_receipt failed")


    @app.post("/orders")
    def create_order(address: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, address)
        return {"ok": True}
    ```

    ## Fix safety
    Unsafe: wrapping the task body in `try/except Exception: logger.exception(...)` changes what
    happens on failure (the later tasks now run). A task function defined inside the function that
    schedules it is wrapped itself; a module-level one is left alone, since other code may call it
    and expect its errors, and the task is wrapped where it is added, in a small module-level
    function that logs its errors (`_send_email_in_background`). A library function handed straight to the task
    (`add_task(requests.post, url)`) is wrapped the same way (`_post_in_background`), or, for a
    method of a local object, handed to one `_logged_task` helper that takes the callable first.

    ## References
    - https://www.starlette.io/background/
    - https://fastapi.tiangolo.com/tutorial/background-tasks/
    """

    code = "BGT201"
    name = "background-task-without-error-handling"
    summary = "Background task does fallible work outside any try/except that handles the error"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for site in ctx.task_sites():
            if site.task is not None:
                if index.handles_errors(site.task):
                    continue
                chain = index.fallible.get(site.task.fqn)
                where = f" (defined in {site.task.module.path})" if site.task.module.path != site.owner.module.path else ""
            else:
                kind = index.classify(site.value)
                if kind is None or not kind.fallible:
                    continue
                chain, where = None, ""
                label = site.value[4:].replace("()", "") if site.value else "the task"
                message = (f"background task `{label}` ({kind.category}) runs without error handling; "
                           "if it raises, the error only reaches the server log and later tasks are skipped")  # fmt: skip
                fix = _wrap_call(site, label, not kind.sync)
                reason = None if fix else "the task is not a named function; wrap it in a function that handles its errors"
                yield self.report(site.owner.module, site.call, message, fix=fix, no_fix_reason=reason,
                                  function=site.owner.fqn)  # fmt: skip
                continue
            if chain is None:
                continue
            fix, reason = None, None
            if site.task.function.is_lambda:
                reason = "the task is a lambda; move its body into a function that handles its errors"
            elif not site.task.function.calls:
                reason = "the task function makes no call to wrap"
            elif site.task.function.parent and site.task.module.path == site.owner.module.path:
                # a function defined inside the code that schedules it: nothing else can call it
                first = min(c.ordinal for c in site.task.function.calls)
                fix = Fix("unsafe", f"Wrap `{site.task_label()}` in try/except that logs the error", FixKind.WRAP_TRY, first)
            elif any(c.try_handles for c in site.task.function.calls):
                # the function already decides which of its errors to handle: a wrapper around all of
                # it would second-guess that, and its other callers would not get it
                reason = (f"`{site.task_label()}` handles some of its errors itself; extend that handling "
                          f"to `{chain.steps[1] if len(chain.steps) > 1 else chain.steps[0]}`")  # fmt: skip
            else:
                # other code may call the function and expect its errors (callers in files no route
                # reaches are not even summarised): leave its body alone and wrap the task where it is added
                fix = _wrap_call(site, site.task_label(), site.task.function.is_async)
                if fix is None:
                    reason = "wrap the task in a function of this module that handles its errors"
            message = (
                f"background task `{site.task_label()}`{where} does fallible work outside any try/except: "
                f"{chain.render()} ({chain.category}); if it raises, the error only reaches the server log "
                "and later tasks are skipped"
            )
            yield self.report(site.owner.module, site.call, message, fix=fix, no_fix_reason=reason,
                              chain=chain, function=site.owner.fqn)  # fmt: skip


def _wrap_call(site: TaskSite, label: str, is_async: bool) -> Fix | None:
    """Hand the task to a small function that logs its errors, where the task is added."""
    if site.func is None or not site.func.ref or site.func.keyword is not None or site.call.args[:1] != (site.func,):
        return None
    return Fix("unsafe", f"Wrap `{label}` in a function that logs its errors",
               FixKind.WRAP_CALL_ASYNC if is_async else FixKind.WRAP_CALL, site.call.ordinal)  # fmt: skip
