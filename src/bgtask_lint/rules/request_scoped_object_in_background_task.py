"""BGT203: task arguments or closure variables that are closed before the task runs."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.tasks import closed_values, request_params, task_sites
from bgtask_lint.models import Diagnostic
from bgtask_lint.rules import Context, Rule

REQUEST_BODY = {"body", "stream", "form", "json", "state"}


class RequestScopedObjectInBackgroundTask(Rule):
    """
    ## What it does
    Checks for background tasks that receive (as an argument, a bound method, or a closure
    variable) an object that is already closed when the task runs: the value of a `yield`
    dependency (a DB session) on FastAPI 0.106.0–0.117.x or with `Depends(..., scope="function")`
    on 0.121+, an `UploadFile` on 0.106.0–0.117.x, or a `Request` whose body, stream, form or
    `state` the task reads. The FastAPI version comes from config `fastapi-version`, else the
    project's lock or requirement files, else the installed FastAPI.

    ## Why is this bad?
    FastAPI 0.106.0 to 0.117.x close `yield` dependencies and uploaded files before background tasks
    run; 0.118.0 restored the old order, and from 0.121.0 `scope="function"` closes the value before
    the response again. A task that uses a closed session or file fails after the client got its
    200, where nobody sees it.

    ## Example
    ```python
    from collections.abc import Iterator

    from fastapi import BackgroundTasks, Depends, FastAPI

    app = FastAPI()


    class Session:
        def close(self) -> None: ...


    def get_db() -> Iterator[Session]:
        db = Session()
        yield db
        db.close()


    def audit(db: Session, user: str) -> None: ...


    @app.post("/login")
    def login(user: str, background_tasks: BackgroundTasks, db: Session = Depends(get_db, scope="function")):
        background_tasks.add_task(audit, db, user)
        return {"user": user}
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    def audit(user: str) -> None: ...


    @app.post("/login")
    def login(user: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(audit, user)
        return {"user": user}
    ```

    ## Fix safety
    No automatic fix: pass identifiers (or the file's bytes) to the task and open the resource
    inside the task.

    ## References
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/
    - https://fastapi.tiangolo.com/release-notes/#01060
    """

    code = "BGT203"
    name = "request-scoped-object-in-background-task"
    summary = "Background task uses an object that is closed before the task runs"

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        index = ctx.index
        for site in task_sites(index):
            owner = site.owner
            closed = closed_values(index, owner, ctx.version_for(owner.module.path))
            requests = request_params(index, owner)
            hit = self._closed_use(site, closed, requests)
            if hit is None:
                continue
            name, why = hit
            message = f"background task `{site.task_label()}` uses `{name}`, {why}"
            yield self.report(owner.module, site.call, message, function=owner.fqn,
                              no_fix_reason="pass identifiers to the task and open the resource inside it")  # fmt: skip

    def _closed_use(self, site, closed: dict[str, str], requests: set[str]) -> tuple[str, str] | None:
        task = site.task
        params = [p.name for p in task.function.params] if task is not None else []
        # bound method of a closed value: add_task(db.execute, ...)
        if site.func is not None and site.func.ref and "." in site.func.ref:
            head = site.func.ref.split(".")[0]
            if head in closed:
                return head, closed[head]
        positional = [a for a in site.task_args if a.keyword is None]
        for i, arg in enumerate(site.task_args):
            if arg.ref is None:
                continue
            head, _, rest = arg.ref.partition(".")
            if head in closed and (not rest or rest in ("file", "session")):
                return head, closed[head]
            if head in requests and not rest and task is not None:
                pname = arg.keyword if arg.keyword not in (None, "*", "**") else (
                    params[positional.index(arg)] if arg in positional and positional.index(arg) < len(params) else None)  # fmt: skip
                reads = {attr for p, attr in task.function.request_reads if p == pname}
                if reads & REQUEST_BODY:
                    return head, f"the request, whose {sorted(reads & REQUEST_BODY)[0]} is gone after the response"
        if task is not None and task.function.parent == site.owner.function.qualname:
            for name in task.function.free_names:
                if name in closed:
                    return name, closed[name]
                if name in requests:
                    reads = {attr for p, attr in task.function.request_reads if p == name}
                    if reads & REQUEST_BODY:
                        return name, f"the request, whose {sorted(reads & REQUEST_BODY)[0]} is gone after the response"
        return None
