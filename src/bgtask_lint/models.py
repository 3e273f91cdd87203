"""Shared data types: per-module facts, findings and fixes (all frozen, all picklable)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bgtask_lint.codec import stored

# --------------------------------------------------------------------------- findings


class TextEnum(str, Enum):
    """An enum whose members are their names as written (``f"{FixKind.MOVE}"`` is ``move``)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


@stored
@dataclass(frozen=True, order=True)
class Location:
    """A 1-based row and column, as ruff reports them."""

    row: int
    column: int


@stored
@dataclass(frozen=True)
class Located:
    """Where a reported call is, and its text (see ``locate.py``)."""

    start: Location
    end: Location
    snippet: str


@stored
@dataclass(frozen=True)
class Edit:
    content: str
    location: Location
    end_location: Location


@stored
class FixKind(TextEnum):
    """The codemod that applies a fix."""

    MOVE = "move"  # into BackgroundTasks.add_task
    UNWRAP_TASK = "unwrap-task"  # add_task(f(x)) -> add_task(f, x)
    DROP_AWAIT = "drop-await"  # await background_tasks.add_task(...) -> background_tasks.add_task(...)
    WRAP_TRY = "wrap-try"  # a nested task function's body in try/except that logs
    WRAP_CALL = "wrap-call"  # the task handed to a typed wrapper that logs, where it is added
    WRAP_CALL_ASYNC = "wrap-call-async"  # the same for a coroutine function
    TO_THREAD = "to-thread"  # await run_in_threadpool(f, ...)


@stored
@dataclass(frozen=True)
class Fix:
    """A change that resolves a finding.

    ``applicability`` is ``"safe"`` or ``"unsafe"``; ``kind`` names the codemod that applies it and
    ``target`` is the call's ordinal in its module (see ``CallSite.ordinal``). ``edits`` are the
    textual edits for JSON/SARIF output, computed when the finding is reported.
    """

    applicability: str
    message: str
    kind: FixKind
    target: int
    edits: tuple[Edit, ...] = ()


@stored
@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    path: str
    ordinal: int
    """The reported call's ordinal in the module; positions are filled in by the engine."""
    location: Location = Location(0, 0)
    end_location: Location = Location(0, 0)
    fix: Fix | None = None
    no_fix_reason: str | None = None
    chain: tuple[str, ...] = ()
    function: str = ""
    """Qualified name of the function the finding sits in (used for stable fingerprints)."""
    snippet: str = ""
    """Source text of the reported call, for fingerprints."""
    via: tuple[str, ...] = ()
    """The project functions (FQNs) the chain passes through: a finding is caused by a change to any."""

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.location.row, self.location.column, self.code)


#: Codes of the file errors: reported as findings (exit 1), selectable and ignorable like rule codes.
SYNTAX_ERROR, IO_ERROR = "E999", "E902"
FILE_ERROR_CODES = (SYNTAX_ERROR, IO_ERROR)


@stored
@dataclass(frozen=True)
class FileError:
    """A file that could not be read, parsed or checked."""

    path: str
    message: str
    row: int | None = None
    column: int | None = None

    @property
    def code(self) -> str:
        """``E999`` for a file that does not parse, ``E902`` for one that cannot be read or is missing."""
        return SYNTAX_ERROR if self.message.startswith("cannot parse") else IO_ERROR


# --------------------------------------------------------------------------- per-module facts

#: Pseudo-binding of a generator function: what its first ``yield`` yields (set by summarize).
YIELDED = "<yield>"
#: ``FunctionFacts.returns`` entry for a returned value that is no reference (``return a, b``); resolves to nothing.
RETURNS_VALUE = "<value>"
#: ``request_reads`` entry for a parameter that receives an uploaded file (``File()``, ``list[UploadFile]``).
UPLOAD_READ = "upload"


@stored
class Usage(str, Enum):
    """What happens to a call's result."""

    DISCARDED = "discarded"  # expression statement
    UNUSED = "unused"  # bound to a name that is never read (``_``, or dead)
    USED = "used"  # returned, read later, passed on, tested...


@stored
@dataclass(frozen=True)
class Arg:
    """One argument of a call, reduced to what the rules need."""

    keyword: str | None  # None for positional, "*" / "**" for star args
    ref: str | None  # dotted reference when the value is a name/attribute chain
    call: str | None = None  # callee reference when the value is itself a call
    call_ordinal: int | None = None
    awaited: bool = False  # the value is ``await f(...)``
    names: tuple[str, ...] = ()  # every plain name the value reads
    lambda_id: str | None = None  # qualified name of the synthetic function for a lambda
    is_none: bool = False
    literal: str | None = None  # string value of a simple string literal
    partial_of: str | None = None  # ``functools.partial(f, ...)``: reference of f


@stored
@dataclass(frozen=True)
class CallSite:
    ordinal: int
    """Pre-order index of the ``Call`` node in the module: a position-free node identity."""
    callee: str
    """Dotted reference of what is called: ``smtplib.SMTP``, ``self.mailer.send``,
    ``db.query().first`` (``()`` marks a call result, ``[]`` a subscript)."""
    line_hint: int  # statement index inside the function, for "read later" checks
    awaited: bool = False
    usage: Usage = Usage.USED
    bound_name: str | None = None  # ``x = f()``: the name
    args: tuple[Arg, ...] = ()
    try_handles: bool = False  # inside a try whose except handles the error
    try_shapes_response: bool = False  # inside a try whose except returns / raises
    in_with_item: bool = False  # the call is the context expression of a with statement
    statement: bool = False  # the call (or ``await call``, or ``_ = ...``) is a whole statement
    in_loop: bool = False
    in_with_block: bool = False  # inside a synchronous ``with`` statement (its items or its body)
    returned: bool = False  # ``return f(...)``
    lazy_init: bool = False  # inside ``if X is None: X = ...`` that fills a module or class attribute once
    guard: str = ""  # innermost error handling around the call: "try" (a body with except clauses), "except", "finally"


@stored
class ParamKind(TextEnum):
    """How a parameter is passed."""

    NORMAL = "normal"
    POSONLY = "posonly"
    KWONLY = "kwonly"
    STAR = "star"  # *args
    STARSTAR = "starstar"  # **kwargs


@stored
class BindingKind(TextEnum):
    """What a name is bound to."""

    CALL = "call"  # an instance of (or what is returned by) the callee
    REF = "ref"  # an alias of a reference
    ANNOT = "annot"  # only an annotation says what it is
    WITH = "with"  # a ``with ... as name`` resource
    LAMBDA = "lambda"
    DEF = "def"  # a function defined here
    CLASS = "class"  # a class defined here
    IMPORT = "import"
    PARTIAL = "partial"  # ``functools.partial(f, ...)``
    UNKNOWN = "unknown"  # rebound to something not followed


@stored
@dataclass(frozen=True)
class Param:
    name: str
    annotation: str | None  # dotted reference of the annotation (``Annotated`` unwrapped)
    depends: str | None = None  # reference passed to Depends()/Security(); "" for Depends()
    depends_scope: str | None = None  # Depends(..., scope="function")
    kind: ParamKind = ParamKind.NORMAL
    has_default: bool = False
    annotation_alias: str | None = None  # the bare annotation name, for module-level aliases


@stored
@dataclass(frozen=True)
class Binding:
    """What a local or module-level name is bound to."""

    kind: BindingKind
    ref: str
    awaited: bool = False  # ``x = await f()``: the value is what the awaited call gave
    source: str | None = None  # "call"/"with": reference of the call's file argument (``ZipFile(buf)``: ``buf``)


@stored
@dataclass(frozen=True)
class ResponseReturn:
    """A returned ``SomeResponse(..., background=...)`` call."""

    ordinal: int
    callee: str
    background: Arg | None


@stored
@dataclass(frozen=True)
class FunctionFacts:
    qualname: str  # module-relative: ``Class.method`` or ``handler.<locals>.inner``
    name: str
    is_async: bool
    is_generator: bool
    params: tuple[Param, ...]
    calls: tuple[CallSite, ...]
    decorators: tuple[str, ...] = ()
    bindings: tuple[tuple[str, Binding], ...] = ()
    reads: tuple[tuple[str, int], ...] = ()  # (name, statement index) of every read
    returns: tuple[str, ...] = ()  # references returned (names/attributes)
    returns_callable: bool = False  # returns a nested def / lambda / partial
    returns_local_def: str | None = None  # qualname of a returned nested function
    return_annotation: str | None = None
    response_returns: tuple[ResponseReturn, ...] = ()
    class_name: str | None = None
    parent: str | None = None  # enclosing function qualname for nested defs / lambdas
    free_names: tuple[str, ...] = ()  # names read but not bound locally (closures)
    handled_param_calls: tuple[str, ...] = ()  # params called inside a handling try (decorators)
    is_lambda: bool = False
    nested: tuple[str, ...] = ()  # qualnames of directly nested defs
    request_reads: tuple[tuple[str, str], ...] = ()  # (param, attr) like ("request", "body")
    return_names: tuple[str, ...] = ()  # every plain name a ``return`` statement's value reads
    raises: tuple[str, ...] = ()  # references of the exceptions its ``raise`` statements raise


@stored
@dataclass(frozen=True)
class ClassFacts:
    name: str
    bases: tuple[str, ...]
    methods: tuple[str, ...]
    attributes: tuple[tuple[str, Binding], ...] = ()  # self.x = Y() / x: Y annotations
    dependencies: tuple[Param, ...] = ()  # class attributes FastAPI injects: ``db: Session = Depends(get_db)``


@stored
@dataclass(frozen=True)
class RouteReg:
    """A handler registered on an app/router object."""

    owner: str  # reference of the object the route is registered on
    method: str  # get/post/.../api_route/websocket/add_api_route/route
    handler: str  # reference of the handler function
    dependencies: tuple[str, ...] = ()  # dependencies=[Depends(x)] references
    websocket: bool = False
    wrapped: bool = False  # registered through something FastAPI cannot inject into
    ordinal: int = 0
    scope: str = ""  # qualname of the function the registration sits in ("" at module level)
    local: bool = False  # handler is a def in this module (decorator registration)
    starlette: bool = False  # a Starlette ``Route(path, endpoint)``


@stored
@dataclass(frozen=True)
class ModuleFacts:
    path: str
    module: str
    imports: tuple[tuple[str, str], ...]  # local alias -> qualified name
    bindings: tuple[tuple[str, Binding], ...]  # module-level name -> binding
    functions: tuple[FunctionFacts, ...]
    classes: tuple[ClassFacts, ...]
    routes: tuple[RouteReg, ...]
    router_deps: tuple[tuple[str, tuple[str, ...]], ...] = ()  # object ref -> dependencies
    includes: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (parent, child, deps)
    is_package: bool = False
    module_calls: tuple[CallSite, ...] = ()  # calls at module level (include_router etc.)
    type_aliases: tuple[tuple[str, Param], ...] = ()  # ``SessionDep = Annotated[Session, Depends(get_db)]``


@stored
@dataclass(frozen=True)
class ParseResult:
    facts: ModuleFacts | None
    error: FileError | None = None
    stored: bool = False  # the worker wrote ``facts`` to the cache itself


@stored
@dataclass(frozen=True)
class Chain:
    """A witness: the shortest call chain from a function to a catalogued call."""

    steps: tuple[str, ...]
    category: str
    sync: bool
    cost: int = 0  # the witness's cost class (``calls.Cost``): the costliest call the path reaches
    through: tuple[str, ...] = ()  # the project functions (FQNs) of the steps, in order

    def render(self) -> str:
        return " -> ".join(self.steps)
