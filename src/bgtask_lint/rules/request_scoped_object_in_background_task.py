"""BGT203: task arguments or closure variables that are closed before the task runs."""

from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.index import ProjectIndex, Scoped
from bgtask_lint.analysis.tasks import TaskSite, closed_values, request_params
from bgtask_lint.models import Arg, Diagnostic, ParamKind
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
        for site in ctx.task_sites():
            owner = site.owner
            version = ctx.version_for(owner.module.path)
            hit = self._closed_use(index, site, version)
            if hit is None:
                continue
            name, why = hit
            message = f"background task `{site.task_label()}` uses `{name}`, {why}"
            yield self.report(owner.module, site.call, message, function=owner.fqn,
                              no_fix_reason="pass identifiers to the task and open the resource inside it")  # fmt: skip

    def _closed_use(self, index: ProjectIndex, site: TaskSite, version: tuple[int, int, int]) -> tuple[str, str] | None:
        owner, task = site.owner, site.task
        closed = closed_values(index, owner, version)
        requests = request_params(index, owner)
        # bound method of a closed value: add_task(db.execute, ...)
        func_ref = site.func.ref if site.func is not None else None
        if func_ref and "." in func_ref:
            head = func_ref.split(".")[0]
            if head in closed:
                return head, closed[head]
        for pname, arg in _bound_arguments(index, site):
            if arg.ref is None:
                continue
            head, _, rest = arg.ref.partition(".")
            if head in closed and (not rest or rest in ("file", "session")):
                return head, closed[head]
            if head in requests and not rest and task is not None and pname is not None:
                body = _body_reads(task, pname)
                if body:
                    return head, f"the request, whose {body} is gone after the response"
        if task is None:
            return None
        # closure variables: of the scheduling function, or of the function that made the closure
        # (a dependency returning a nested def that uses the dependency's own session)
        shadowed: set[str] = set()
        scope: Scoped | None = task
        while scope is not None and scope.function.parent:
            shadowed |= {p.name for p in scope.function.params} | {n for n, _ in scope.function.bindings}
            parent_fn = index.function_of(scope.module, scope.function.parent)
            if parent_fn is None:
                break
            is_owner = scope.module.path == owner.module.path and parent_fn.qualname == owner.function.qualname
            parent = owner if is_owner else Scoped(f"{scope.module.module}.{parent_fn.qualname}", scope.module, parent_fn)
            p_closed = closed if parent is owner else closed_values(index, parent, version)
            p_requests = requests if parent is owner else request_params(index, parent)
            for name in task.function.free_names:
                if name in shadowed:  # bound by a nearer enclosing function
                    continue
                if name in p_closed:
                    return name, p_closed[name]
                if name in p_requests:
                    body = _body_reads(task, name)
                    if body:
                        return name, f"the request, whose {body} is gone after the response"
            scope = parent
        return None


def _body_reads(task: Scoped, name: str) -> str | None:
    reads = {attr for p, attr in task.function.request_reads if p == name} & REQUEST_BODY
    return min(reads) if reads else None


def _bound_arguments(index: ProjectIndex, site: TaskSite) -> list[tuple[str | None, Arg]]:
    """Each argument the task receives, with the task parameter it binds to (None when unknown).

    Arguments bound by ``functools.partial(f, ...)`` come first; ``self`` of a bound method is skipped.
    """
    owner, task = site.owner, site.task
    params = [p.name for p in task.function.params if p.kind in (ParamKind.POSONLY, ParamKind.NORMAL)] if task else []
    if task is not None and _bound_method(index, site):
        params = params[1:]
    args: list[Arg] = []
    func = site.func
    if func is not None and func.partial_of and func.call_ordinal is not None:
        partial_call = next((c for c in owner.function.calls if c.ordinal == func.call_ordinal), None)
        if partial_call is not None:
            args += list(partial_call.args[1:])
    args += list(site.task_args)
    out: list[tuple[str | None, Arg]] = []
    position = 0
    for arg in args:
        if arg.keyword is None:
            out.append((params[position] if position < len(params) else None, arg))
            position += 1
        else:
            out.append((arg.keyword if arg.keyword not in ("*", "**") else None, arg))
    return out


def _bound_method(index: ProjectIndex, site: TaskSite) -> bool:
    fn = site.task.function if site.task is not None else None
    if fn is None or fn.class_name is None or "staticmethod" in fn.decorators:
        return False
    if site.value is not None and not site.value.startswith("fn:"):
        return True  # an instance's ``__call__`` or a class's ``__init__``
    ref = (site.func.partial_of or site.func.ref) if site.func is not None else None
    if not ref or "." not in ref:
        return False
    head = index.resolve(site.owner.module, site.owner.function, ref.rsplit(".", 1)[0])
    # ``Class.method`` passes the instance explicitly, unless it is a classmethod
    return not (head is not None and head.startswith("cls:") and "classmethod" not in fn.decorators)
