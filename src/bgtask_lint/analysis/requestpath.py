"""Request-path helpers shared by BGT101/BGT102: what a call reaches, and whether it can be moved."""

from __future__ import annotations

from bgtask_lint.analysis.calls import DB, FILE, HTTP, SUBPROCESS, WRITE_TARGET, Cost
from bgtask_lint.analysis.index import (
    PathFunction,
    ProjectIndex,
    Role,
    argument_at,
    blocks,
    is_side_effect,
)
from bgtask_lint.analysis.tasks import UPLOAD_FILE
from bgtask_lint.models import (
    RETURNS_VALUE,
    UPLOAD_READ,
    BindingKind,
    CallSite,
    Chain,
    Usage,
)

LOCAL_WORK = frozenset({FILE, SUBPROCESS})  # work on this machine, often a step the response builds on
#: HTTP methods that change the state of the resource they name: their only effect is their purpose.
STATE_CHANGES = frozenset({"delete", "put", "patch"})
RAW_BODY = ("body", "stream", "form")
HANDLE_ATTRIBUTES = frozenset({"file", "state", "stream", "body", "form", "json", "read", "session", "connection"})
REQUEST_LIKE = ("fastapi.Request", "fastapi.WebSocket")
FILE_RESPONSES = ("fastapi.responses.FileResponse", "fastapi.responses.StreamingResponse",
                  "starlette.responses.FileResponse", "starlette.responses.StreamingResponse")  # fmt: skip


def call_label(call: CallSite) -> str:
    return f"`{call.callee.replace('()', '(...)')}(...)`" if call.callee else "the call"


def verb(call: CallSite) -> str:
    return "awaits" if call.awaited else "calls"


def handles_files_for_response(index: ProjectIndex, pf: PathFunction) -> bool:
    """File work here serves the response: saving an upload, or building a file it returns."""
    s = pf.scoped
    reads = set(s.function.request_reads)
    if any(attr == UPLOAD_READ for _, attr in reads):
        return True  # ``data: bytes = File()``, ``files: list[UploadFile]``
    for p in s.function.params:
        ann, _, _ = index.param_info(s.module, s.function, p)
        if ann is not None and index.subclass_of(ann, UPLOAD_FILE):
            return True
        if p.annotation and p.annotation.split(".")[-1] in ("UploadFile", "File"):
            return True
        if ann is not None and index.subclass_of(ann, "fastapi.Request") and reads & {(p.name, a) for a in RAW_BODY}:
            return True  # the raw request body (``await request.body()`` / ``.stream()`` / ``.form()``)
    for ret in s.function.response_returns:
        value = index.resolve(s.module, s.function, ret.callee)
        if value is not None and value.startswith("ext:") and value[4:] in FILE_RESPONSES:
            return True
    return False


def deferrable_chain(index: ProjectIndex, pf: PathFunction, call: CallSite) -> Chain | None:
    """The chain that makes an unused call deferrable work (BGT101), or None. One site gives one
    finding: in ``async def`` code a blocking call is BGT102's, which carries the move fix."""
    s = pf.scoped
    if s.function.is_async and index.chain_for(index.blocking, s.module, s.function, call, blocks) is not None:
        return None  # BGT102's, even where it reports the site once (at the ``with`` that opened it)
    return deferrable_work(index, pf, call)


def deferrable_work(index: ProjectIndex, pf: PathFunction, call: CallSite) -> Chain | None:
    """The chain that makes an unused call work the response can do without, or None."""
    s = pf.scoped
    if call.usage is Usage.USED or call.try_shapes_response or call.lazy_init:
        return None
    value = index.call_target(s.module, s.function, call)
    kind = index.call_kind(s.module, s.function, call, value)
    if kind is not None and not kind.sync and not call.awaited:
        return None  # a coroutine that is never awaited does no work here
    if _receiver_used_later(pf, call):
        return None  # ``conn.request(...)`` then ``conn.getresponse()``: a step of what follows
    chain = index.chain_for(index.deferrable, s.module, s.function, call, _deferrable_leaf)
    if chain is None:
        return None
    callee = index.runs_body(value, call)
    if callee is not None and index.database.get(callee.fqn) is not None:
        return None  # the helper also persists data the response relies on
    if chain.category in LOCAL_WORK:
        if handles_files_for_response(index, pf):
            return None
        if _response_names_target(index, pf, call, value):
            return None  # the response reports where it wrote: the client relies on it
        if pf.role is Role.HANDLER and pf.route.method in STATE_CHANGES and only_effect(index, pf, call):
            return None  # the endpoint exists to make this change (delete the model, apply the edit)
        if _later_io(index, pf, call):
            return None  # a build step: what follows may read the file or rely on the process
        if callee is not None and returns_unseen_outcome(index, callee):
            return None  # file bookkeeping around work we cannot see (a repository's ``update``)
    elif chain.category == HTTP and _later_io(index, pf, call, local=False):
        # A remote call before the handler's own persistence is a step of it (a signature check, a
        # remote update the stored state records): if it fails, nothing is stored.
        return None
    return chain


def _response_names_target(index: ProjectIndex, pf: PathFunction, call: CallSite, value: str | None) -> bool:
    """A ``return`` reads a name the handler built for the write's target (``new_name`` in
    ``shutil.move(src, os.path.join(folder, new_name))`` ... ``return {"saved_as": new_name}``)."""
    fn = pf.scoped.function
    local = set(dict(fn.bindings)) - {p.name for p in fn.params}
    targets: set[str] = set()
    where = WRITE_TARGET.get(value[4:]) if value and value.startswith("ext:") else None
    if where is not None:
        arg = argument_at(call, *where)
        targets.update(arg.names if arg is not None else ())
    elif "." in call.callee:
        targets.add(call.callee.split(".")[0].removesuffix("()").removesuffix("[]"))  # ``path.write_text(...)``
    return bool(targets & local & set(fn.return_names))


def _receiver_used_later(pf: PathFunction, call: CallSite) -> bool:
    """The call is a method of a local object that a later statement reads again."""
    head, dot, _ = call.callee.partition(".")
    fn = pf.scoped.function
    if not dot or head.endswith(("()", "[]")) or head not in dict(fn.bindings):
        return False
    return any(name == head and at > call.line_hint for name, at in fn.reads)


def _deferrable_leaf(kind, call: CallSite) -> bool:
    return kind.cost > Cost.FILE_METADATA and is_side_effect(kind, call)


def only_effect(index: ProjectIndex, pf: PathFunction, call: CallSite) -> bool:
    """The local work is the handler's only effect: nothing else it calls sends, persists or changes
    state we cannot see (logging aside). In a DELETE, PUT or PATCH endpoint the client asked for that
    change on this server and expects it done when the response says so: it is the endpoint's
    purpose, not work to defer. (A POST may be an action whose local work is a side job: a report,
    a notification script; a GET's effects are never its purpose.)"""
    s = pf.scoped
    for other in s.function.calls:
        if other.ordinal == call.ordinal or other.lazy_init:
            continue
        value = index.call_target(s.module, s.function, other)
        if value is None:
            if "." in other.callee:
                return False  # a method we cannot resolve: a repository, an ORM, a service
            continue
        kind = index.call_kind(s.module, s.function, other, value)
        if kind is not None:
            if kind.category not in LOCAL_WORK:
                return False
            continue
        callee = index.runs_body(value, other)
        if callee is not None:
            for reach in (index.database, index.deferrable, index.blocking):
                found = reach.get(callee.fqn)
                if found is not None and found.category not in LOCAL_WORK:
                    return False
            continue
        if value.startswith("ext:") and other.usage is not Usage.USED and not is_logging(value):
            return False  # a library call made for its effect
    return True


def is_logging(value: str) -> bool:
    name = value[4:]
    return name.startswith(("logging.", "loguru.", "structlog.")) or name in ("print", "warnings.warn")


def returns_unseen_outcome(index: ProjectIndex, callee) -> bool:
    """The helper returns a value built from its work: the result of a call the index cannot resolve
    (``new = self.repo.update(...); ...; return new``, often persistence through a repository layer) or
    a computed value (``return release, build_dir``). Its purpose is that outcome, and its local file
    work is a step of producing it, not a side effect to defer."""
    fn = callee.function
    bindings = dict(fn.bindings)
    if RETURNS_VALUE in fn.returns:
        return True
    for ref in fn.returns:
        binding = bindings.get(ref)
        if binding is not None and binding.kind == BindingKind.CALL and index.resolve(callee.module, fn, binding.ref) is None:
            return True
    for c in fn.calls:
        if c.returned and index.call_target(callee.module, fn, c) is None:
            return True
    return False


def _later_io(index: ProjectIndex, pf: PathFunction, call: CallSite, local: bool = True) -> bool:
    """A later statement depends on the call: local work after local work (it may read the file or
    rely on the process), or database work that records what the call made (a later call reads a
    local name the call's arguments read, such as the path, and the handler persists). The call is
    then a step, not deferrable work. With ``local=False`` any later database work counts (a remote
    call before the handler's own persistence)."""
    s = pf.scoped
    params = {p.name for p in s.function.params}
    shared = set(_names_of_call(pf, call)) - params
    after = [c for c in s.function.calls if c.line_hint > call.line_hint]
    records = not local or any(shared & {n for a in c.args for n in a.names} for c in after)
    for later in after:
        value = index.call_target(s.module, s.function, later)
        kind = index.classify(value)
        if kind is not None:
            if (local and kind.category in LOCAL_WORK) or (kind.category == DB and records):
                return True
            continue
        callee = index.runs_body(value, later)
        if callee is None:
            continue
        if records and index.database.get(callee.fqn) is not None:
            return True
        if not local:
            continue
        chain = index.blocking.get(callee.fqn) or index.deferrable.get(callee.fqn)
        if chain is not None and chain.category in LOCAL_WORK:
            return True
    return False


def _names_of_call(pf: PathFunction, call: CallSite) -> list[str]:
    """The names a call reads: its arguments, its receiver (``target.write_text``) and the arguments of
    the calls its receiver is made of (``Path(path).write_text``)."""
    names = [n for a in call.args for n in a.names]
    head = call.callee.split(".")[0]
    if "." in call.callee and not head.endswith(("()", "[]")):
        names.append(head)
    receiver = receiver_call(pf, call)
    while receiver is not None:
        names += [n for a in receiver.args for n in a.names]
        receiver = receiver_call(pf, receiver)
    return names


def blocking_chain(index: ProjectIndex, pf: PathFunction, call: CallSite) -> Chain | None:
    """The chain that makes a call in an ``async def`` block the event loop (BGT102), or None."""
    s = pf.scoped
    if not s.function.is_async or call.lazy_init:
        return None
    chain = index.chain_for(index.blocking, s.module, s.function, call, blocks)
    if chain is None:
        return None
    # ``conn.execute(q).fetchone()`` / ``db.execute(q).scalars().all()``: one finding per chained
    # expression, at the call that blocks first (both start at the same position).
    receiver = receiver_call(pf, call)
    while receiver is not None:
        if index.chain_for(index.blocking, s.module, s.function, receiver, blocks) is not None:
            return None
        receiver = receiver_call(pf, receiver)
    # ``with open(p) as f: f.read()``: one finding, at the ``open``, naming the read (work of another
    # kind on the opened object, ``requests.post(url, data=f)``, stays a finding of its own).
    if _opened_by_with(index, pf, call, chain.category) is not None:
        return None
    if call.in_with_item:
        chain = _with_chain(index, pf, call, chain)
    return chain


def _opened_by_with(index: ProjectIndex, pf: PathFunction, call: CallSite, category: str) -> str | None:
    """The name a blocking ``with`` item of ``category`` bound, when ``call`` works on it (its receiver
    or an argument)."""
    s = pf.scoped
    bindings = dict(s.function.bindings)
    names = [call.callee.split(".")[0]] if "." in call.callee else []
    names += [a.ref for a in call.args if a.ref and "." not in a.ref]
    for name in names:
        binding = bindings.get(name)
        if binding is None or binding.kind != BindingKind.WITH:
            continue
        kind = index.classify(index.resolve(s.module, s.function, binding.ref))
        if kind is not None and blocks(kind, call) and kind.category == category:
            return name
    return None


def _with_chain(index: ProjectIndex, pf: PathFunction, opener: CallSite, chain: Chain) -> Chain:
    """The ``with`` item's chain extended by the costliest blocking call made on what it opened."""
    s = pf.scoped
    bindings = dict(s.function.bindings)
    opened = index.call_target(s.module, s.function, opener)
    best: Chain | None = None
    for later in s.function.calls:
        name = _opened_by_with(index, pf, later, chain.category) if later.ordinal != opener.ordinal else None
        if name is None or index.resolve(s.module, s.function, bindings[name].ref) != opened:
            continue
        found = index.chain_for(index.blocking, s.module, s.function, later, blocks)
        if found is not None and found.category == chain.category and (best is None or found.cost > best.cost):
            best = found
    if best is None:
        return chain
    category = best.category if best.cost > chain.cost else chain.category
    return Chain((*chain.steps, *best.steps), category, chain.sync, max(chain.cost, best.cost),
                 (*chain.through, *best.through))


def receiver_call(pf: PathFunction, call: CallSite) -> CallSite | None:
    """The call whose result ``call`` is a method of: ``a.b(x)`` in ``a.b(x).c()``.

    Ordinals are pre-order, so that call is the very next one in the module.
    """
    head, dot, _ = call.callee.rpartition(".")
    if not dot or not head.endswith("()"):
        return None
    want = head[:-2]
    return next((c for c in pf.scoped.function.calls if c.ordinal == call.ordinal + 1 and c.callee == want), None)
