"""The fix policy the request-path rules share (BGT101, BGT102, BGT206): when work may move into
``BackgroundTasks`` or onto a worker thread, and the sentence that says why not. A fix may change when
the work runs, or which thread runs it, and nothing else."""

from __future__ import annotations

from bgtask_lint.analysis.calls import DB, SLEEP
from bgtask_lint.analysis.index import (
    PathFunction,
    ProjectIndex,
    Role,
    Scoped,
)
from bgtask_lint.analysis.requestpath import (
    HANDLE_ATTRIBUTES,
    REQUEST_LIKE,
    call_label,
    is_logging,
    receiver_call,
)
from bgtask_lint.analysis.tasks import closed_values
from bgtask_lint.models import (
    BindingKind,
    CallSite,
    Chain,
    Fix,
    FixKind,
    Usage,
)

#: Why no move is offered for a call inside error handling (``CallSite.guard``).
GUARDED = {
    "try": "the call sits inside a try block: its except clauses would no longer catch its errors",
    "except": "the call is error handling in an except clause; moved, it would run after a response it no longer shapes",
    "finally": "the call is clean-up in a finally clause, which also runs when the handler fails (background tasks do not)",
}


def move_fix(index: ProjectIndex, pf: PathFunction, call: CallSite, chain: Chain,
             version: tuple[int, int, int]) -> tuple[Fix | None, str | None]:  # fmt: skip
    """The unsafe move-to-BackgroundTasks fix, or the reason none is offered. A move may change when
    the work runs and nothing else: never out of error handling or a resource's ``with`` block, never
    with a value that dies with the request, never leaving a finding the fix loop cannot fix."""
    route = pf.route
    s = pf.scoped
    if chain.category == DB:
        return None, "it is database persistence the response relies on"
    if call.usage is Usage.USED:
        return None, "the result is used; use an async API, `run_in_threadpool` or `asyncio.to_thread`, or a plain `def` handler"
    if pf.role is not Role.HANDLER:
        return None, "the call is in a dependency, not in the handler"
    if route.websocket:
        return None, "background tasks do not run for WebSocket routes"
    if route.wrapped:
        return None, "the handler is registered through a wrapper FastAPI cannot inject into"
    if not call.statement:
        return None, "the call sits inside an expression"
    if call.guard:
        return None, GUARDED[call.guard]
    if call.in_with_item:
        return None, "the call opens a resource the handler uses"
    if call.in_with_block:
        return None, ("the call is inside a `with` block: moved, it would run without what the block holds "
                      "(a lock, a transaction, an open resource)")
    dead = dying_values(index, pf, version)
    # Arguments are evaluated when the task is added: ``file.filename`` is a plain value, while
    # ``file``, ``file.file``, ``db`` or ``self.service`` hand the task an object that may be closed by then.
    names = {call.callee.split(".")[0].removesuffix("()").removesuffix("[]")}
    for arg in call.args:
        if arg.ref is not None:
            head, _, rest = arg.ref.partition(".")
            if not rest or rest in HANDLE_ATTRIBUTES:
                names.add(head)
        elif arg.call is not None or arg.lambda_id is not None:
            names.update(arg.names)  # ``f(load(db))``: whatever the argument is built from
    found = sorted(names & set(dead))
    if found:
        return None, f"`{found[0]}` is {dead[found[0]]}"
    if "test" in s.function.name.lower().split("_"):
        return None, (f"`{s.function.name}` exists to try this work (a test endpoint): deferred, its outcome would "
                      "never reach the caller")
    if _announced(index, pf, call):
        return None, "the next statement logs its completion; moved alone, the log line would report work not yet done"
    value = index.call_target(s.module, s.function, call)
    task = index.runs_body(value, call)
    decides = _raising(index, task) if task is not None else None
    if decides is not None:
        return None, (f"`{decides}` raises an HTTP error response, which can no longer reach the client once "
                      "the work runs after the response")
    if task is not None and task.function.is_async and index.blocking.get(task.fqn) is not None:
        return None, (f"`{task.function.name}` is `async def` and blocks: as a background task it would still stall "
                      "the event loop (make it a plain `def` first)")
    return Fix("unsafe", f"Move {call_label(call)} into `BackgroundTasks.add_task`", FixKind.MOVE, call.ordinal), None


HTTP_ERRORS = ("fastapi.HTTPException", "starlette.exceptions.HTTPException", "fastapi.exceptions.HTTPException")


def _raising(index: ProjectIndex, start: Scoped, depth: int = 4) -> str | None:
    """The name of a project function on the way from ``start`` to its deferrable work that raises an
    ``HTTPException``: the work decides the response (``except NotAnImageError: raise HTTPException(400)``)."""
    todo, seen = [(start.fqn, 0)], {start.fqn}
    while todo:
        fqn, level = todo.pop()
        scoped = index.functions[fqn]
        for ref in scoped.function.raises:
            value = index.resolve(scoped.module, scoped.function, ref)
            if value is not None and any(index.subclass_of(value, e) for e in HTTP_ERRORS):
                return scoped.function.name
        if level + 1 >= depth:
            continue
        for call, callee in index.callees(fqn):
            if callee not in seen and not call.try_handles and index.deferrable.get(callee):
                seen.add(callee)
                todo.append((callee, level + 1))
    return None


SHELL_REASON = ("`shell=True` passed through another function is what security linters flag (S604); start the "
                "command with `asyncio.create_subprocess_shell` instead")
LAZY_REASON = ("it returns a lazy iterator, whose work runs as the handler iterates it; put the loop in a "
               "function and run that in a worker thread")


def thread_fix(index: ProjectIndex, pf: PathFunction, call: CallSite, chain: Chain) -> Fix | str | None:
    """The unsafe fix that runs a blocking call in a worker thread (``await run_in_threadpool(f, x)``):
    the work still runs before the response and its errors still reach the client; only the thread
    changes. Not for database objects (an ``sqlite3`` connection refuses another thread), a pause, a
    ``with`` item, a loop body or ``finally`` clause (the new ``await`` lets other code run there), a
    call whose result is the receiver of a further call (``db.execute(q).fetchall()``), or one that
    returns a lazy iterator (``os.scandir``, a generator function): the thread would only start it, and
    the work would still run on the event loop as the handler iterates: :data:`LAZY_REASON`, said
    instead of a fix (and :data:`SHELL_REASON` for a command run with ``shell=True``)."""
    if call.awaited or call.in_with_item or chain.category in (DB, SLEEP):
        return None  # a pause is not work for a thread: `await asyncio.sleep(...)` is its fix
    s = pf.scoped
    value = index.call_target(s.module, s.function, call)
    kind = index.call_kind(s.module, s.function, call, value)
    target = index.scoped(value)
    if kind is not None and kind.lazy or target is not None and target.function.is_generator:
        return LAZY_REASON
    if call.in_loop or call.guard == "finally" or call.in_with_block:
        # a new ``await`` lets other requests run: mid-loop (over a cursor on a shared connection, say),
        # in clean-up that a cancellation would then cut short, or while a ``with`` holds a resource (a
        # blocking lock that the next request then waits for on the event loop)
        return None
    if any(arg.keyword == "shell" for arg in call.args):
        return SHELL_REASON
    if any(receiver_call(pf, other) is call for other in pf.scoped.function.calls if other.ordinal < call.ordinal):
        return None
    return Fix("unsafe", f"Run {call_label(call)} in a worker thread with `run_in_threadpool`", FixKind.TO_THREAD, call.ordinal)


def _announced(index: ProjectIndex, pf: PathFunction, call: CallSite) -> bool:
    """The statement right after the call is a log line (``logger.info("sent")``): it reports the
    work as done, so the two move together or not at all."""
    s = pf.scoped
    for nxt in s.function.calls:
        if nxt.line_hint == call.line_hint + 1 and nxt.statement:
            value = index.call_target(s.module, s.function, nxt)
            return value is not None and value.startswith("ext:") and is_logging(value)
    return False


def dying_values(index: ProjectIndex, pf: PathFunction, version: tuple[int, int, int]) -> dict[str, str]:
    """Names in the handler whose value dies with the request, with the reason: the values BGT203
    knows (``closed_values``), ``with`` resources, and the request itself."""
    s = pf.scoped
    out: dict[str, str] = {}
    for name, binding in s.function.bindings:
        if binding.kind == BindingKind.WITH:
            out[name] = "a `with` resource, closed when the handler returns"
    for p in s.function.params:
        ann, _, _ = index.param_info(s.module, s.function, p)
        if ann is not None and any(index.subclass_of(ann, r) for r in REQUEST_LIKE):
            out[p.name] = "the request, whose body and state may be gone after the response"
    out.update(closed_values(index, s, version))
    return out
