"""One light read-only walk per module: source -> ``ModuleFacts`` (no metadata providers, no positions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from bgtask_lint.analysis.vocabulary import ROUTE_DECORATORS
from bgtask_lint.facts.walk import Walker, children
from bgtask_lint.models import (
    RETURNS_VALUE,
    UPLOAD_READ,
    YIELDED,
    Arg,
    Binding,
    BindingKind,
    CallSite,
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    Param,
    ParamKind,
    ResponseReturn,
    RouteReg,
    Usage,
)

_ITERATOR_TYPES = tuple(
    f"{m}.{t}" for m in ("typing", "collections.abc")
    for t in ("Iterator", "Generator", "Iterable", "AsyncIterator", "AsyncGenerator", "AsyncIterable")
)  # fmt: skip
_FILE_PARAMS = ("fastapi.File", "fastapi.params.File", "fastapi.param_functions.File")
_UPLOAD_TYPES = ("fastapi.UploadFile", "starlette.datastructures.UploadFile", "fastapi.datastructures.UploadFile")
REQUEST_READS = frozenset({"body", "json", "form", "stream", "state"})
_ROUTE_ADDERS = {"add_api_route": False, "add_api_websocket_route": True, "add_route": False, "add_websocket_route": True}


def dotted(node: cst.BaseExpression | None) -> str | None:
    """``a.b().c[0]`` -> ``"a.b().c[]"``; None for anything that is not a reference chain."""
    parts: list[str] = []
    while True:
        if isinstance(node, cst.Name):
            parts.append(node.value)
            break
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call):
            inner = dotted(node.func)
            if inner is None:
                return None
            parts.append(inner + "()")
            break
        elif isinstance(node, cst.Subscript):
            inner = dotted(node.value)
            if inner is None:
                return None
            parts.append(inner + "[]")
            break
        else:
            return None
    return ".".join(reversed(parts))


def _unwrap_await(node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    if isinstance(node, cst.Await):
        return node.expression, True
    return node, False


def _strip_optional(node: cst.BaseExpression) -> cst.BaseExpression:
    """``X | None`` / ``Optional[X]`` / ``Union[X, None]`` -> ``X``."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, cst.Name) and side.value == "None"):
                return _strip_optional(side)
    if isinstance(node, cst.Subscript):
        head = dotted(node.value) or ""
        if head.split(".")[-1] in {"Optional", "Union"}:
            for el in node.slice:
                if isinstance(el.slice, cst.Index) and not (
                    isinstance(el.slice.value, cst.Name) and el.slice.value.value == "None"
                ):
                    return _strip_optional(el.slice.value)
    return node


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - malformed escapes: not a literal we can read
            return None
        return value if isinstance(value, str) else None
    return None


def _names_in(node: cst.CSTNode) -> tuple[str, ...]:
    """Plain names an expression reads (attribute names and keywords excluded)."""
    out: list[str] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            out.append(cur.value)
            continue
        if isinstance(cur, cst.Attribute):
            stack.append(cur.value)
            continue
        if isinstance(cur, cst.Arg):
            stack.append(cur.value)
            continue
        if isinstance(cur, cst.Lambda):
            continue
        stack.extend(children(cur))
    return tuple(dict.fromkeys(out))


def _handler_behaviour(handlers: tuple[cst.CSTNode, ...]) -> tuple[bool, bool]:
    """(handles, shapes_response) for a try's except clauses.

    An except clause handles the error when it makes a call outside ``raise`` and ``return``
    (logging, reporting, retrying, cleaning up). It shapes the response when it returns or raises,
    or records the failure in a variable (``status = SEND_FAILED``) that the response may report.
    """
    handles = shapes = False
    for handler in handlers:
        stack: list[cst.CSTNode] = [handler.body]
        while stack:
            cur = stack.pop()
            if isinstance(cur, (cst.Return, cst.Raise)):
                shapes = True
                continue
            if isinstance(cur, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                shapes = True
            if isinstance(cur, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(cur, cst.Call):
                handles = True
            stack.extend(children(cur))
    return handles, shapes


def _ends_in_raise(body: cst.BaseSuite) -> bool:
    """The block's last statement is a ``raise`` (an except clause that turns into an error response)."""
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    last = body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in last.body)


#: Keywords that name the file object a call reads or writes (``tarfile.open(fileobj=buf)``).
_FILE_KEYWORDS = frozenset({"file", "fileobj", "fp", "buffer", "raw", "csvfile", "f", "filename"})


def _file_source(call: cst.Call) -> str | None:
    """The reference of the file object a call works on: its first positional argument, or a file
    keyword; a call there reads as ``io.BytesIO()``."""
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None or arg.keyword.value in _FILE_KEYWORDS:
            return dotted(arg.value)
    return None


def _assigns(body: cst.BaseSuite, ref: str) -> bool:
    """Some statement in ``body`` (nested blocks included, not nested functions) assigns ``ref``."""
    todo: list[cst.CSTNode] = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in node.body:
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                    [small.target] if isinstance(small, (cst.AnnAssign, cst.AugAssign)) else [])  # fmt: skip
                if any(dotted(t) == ref for t in targets):
                    return True
        elif isinstance(node, (cst.If, cst.With, cst.For, cst.While, cst.Try)):
            inner = node.body
            todo.extend(inner.body if isinstance(inner, cst.IndentedBlock) else [inner])
            if isinstance(node, cst.If) and node.orelse is not None:
                todo.append(node.orelse)
        elif isinstance(node, cst.Else):
            todo.extend(node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body])
    return False


@dataclass
class _Scope:
    qualname: str
    name: str
    kind: str  # module | class | function | lambda
    node: cst.CSTNode | None = None
    is_async: bool = False
    params: list[Param] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    bindings: dict[str, Binding] = field(default_factory=dict)
    reads: list[tuple[str, int]] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    returns_callable: bool = False
    returns_local_def: str | None = None
    response_returns: list[ResponseReturn] = field(default_factory=list)
    is_generator: bool = False
    decorators: list[str] = field(default_factory=list)
    stmt: int = 0
    nested: list[str] = field(default_factory=list)
    handled_param_calls: set[str] = field(default_factory=set)
    request_reads: set[tuple[str, str]] = field(default_factory=set)
    return_annotation: str | None = None
    yield_annotation: str | None = None
    class_name: str | None = None
    parent: str | None = None
    # class scopes
    bases: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    attributes: dict[str, Binding] = field(default_factory=dict)
    lambdas: int = 0
    global_names: set[str] = field(default_factory=set)
    class_deps: list[Param] = field(default_factory=list)
    return_names: set[str] = field(default_factory=set)
    raises: set[str] = field(default_factory=set)


class Summarizer(Walker):
    """Collects ``ModuleFacts``. Every ``Call`` gets its pre-order ordinal; no subtree is skipped,
    so the ordinals match any other pre-order walk of the same source (positions, fixes)."""

    def __init__(self, module: str, path: str, is_package: bool) -> None:
        super().__init__()
        self.module = module
        self.path = path
        self.is_package = is_package
        self.ordinal = -1
        self.ordinals: dict[int, int] = {}
        self.scopes: list[_Scope] = [_Scope("", "", "module")]
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self.imports: dict[str, str] = {}
        self.routes: list[RouteReg] = []
        self.includes: list[tuple[str, str, tuple[str, ...]]] = []
        self.router_deps: list[tuple[str, tuple[str, ...]]] = []
        self.type_aliases: dict[str, Param] = {}
        self.skip_names: set[int] = set()
        self.pending: dict[int, _Scope] = {}
        self.done: dict[int, _Scope] = {}
        self.awaited: set[int] = set()
        self.call_context: dict[int, dict] = {}
        self.try_stack: list[tuple[bool, bool]] = []
        #: For each enclosing except clause: does it end the request with an error (raise)?
        self.except_stack: list[bool] = []
        self.type_checking = 0
        self.loops = 0
        self.sync_withs = 0  # synchronous ``with`` statements around the current node
        #: Enclosing ``if X is None:`` bodies that fill a module global or class attribute ``X`` once.
        self.lazy_init = 0
        self.lazy_ifs: set[int] = set()
        #: Error handling around the current node, innermost last: "try", "except", "finally".
        self.guards: list[str] = []

    # ----------------------------------------------------------------- helpers

    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]

    def _func_scope(self) -> _Scope | None:
        for s in reversed(self.scopes):
            if s.kind in ("function", "lambda"):
                return s
        return None

    def _owner(self) -> _Scope:
        """The innermost scope that owns calls and bindings (class bodies belong to the module)."""
        for s in reversed(self.scopes):
            if s.kind != "class":
                return s
        return self.scopes[0]

    def _qual(self, name: str) -> str:
        parent = self.scope
        if parent.kind == "module":
            return name
        if parent.kind == "class":
            return f"{parent.qualname}.{name}"
        return f"{parent.qualname}.<locals>.{name}"

    def _is_name(self, node: cst.BaseExpression, *names: str) -> bool:
        ref = dotted(node)
        if ref is None:
            return False
        resolved = self.imports.get(ref.split(".")[0], ref.split(".")[0])
        full = ".".join([resolved, *ref.split(".")[1:]])
        return any(full == n or full.endswith("." + n) or ref == n.split(".")[-1] for n in names)

    def _depends_of(self, node: cst.BaseExpression) -> tuple[str, str | None] | None:
        """``Depends(f)`` / ``Security(f, scopes=...)`` -> (reference of f or "", scope)."""
        if not isinstance(node, cst.Call) or not self._is_name(node.func, "fastapi.Depends", "fastapi.Security"):
            return None
        target = ""
        scope = None
        for i, a in enumerate(node.args):
            if a.keyword is None and i == 0 or (a.keyword is not None and a.keyword.value == "dependency"):
                target = dotted(a.value) or ""
            elif a.keyword is not None and a.keyword.value == "scope":
                scope = _string_value(a.value)
        return target, scope

    def _deps_list(self, call: cst.Call) -> tuple[str, ...]:
        out: list[str] = []
        for a in call.args:
            if a.keyword is not None and a.keyword.value == "dependencies" and isinstance(a.value, (cst.List, cst.Tuple)):
                for el in a.value.elements:
                    dep = self._depends_of(el.value)
                    if dep is not None and dep[0]:
                        out.append(dep[0])
        return tuple(out)

    def _annotation(self, ann: cst.BaseExpression) -> tuple[str | None, tuple[str, str | None] | None, str | None]:
        """(type reference, Depends inside Annotated, bare alias name)."""
        ann = _strip_optional(ann)
        if isinstance(ann, cst.Subscript) and self._is_name(ann.value, "typing.Annotated"):
            elems = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if not elems:
                return None, None, None
            dep = None
            for extra in elems[1:]:
                dep = self._depends_of(extra) or dep
            return dotted(_strip_optional(elems[0])), dep, None
        if isinstance(ann, cst.SimpleString):
            text = _string_value(ann)
            if text and text.replace(".", "").replace("_", "").isalnum():
                return text, None, text
            return None, None, None
        ref = dotted(ann)
        return ref, None, ref if ref and "." not in ref else None

    # ----------------------------------------------------------------- statements

    def _bump(self) -> None:
        self._owner().stmt += 1

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._bump()

    def visit_If(self, node: cst.If) -> None:
        self._bump()

    def visit_If_body(self, node: cst.If) -> None:
        if self._is_name(node.test, "typing.TYPE_CHECKING"):
            self.type_checking += 1
        if self._fills_once(node):
            self.lazy_init += 1
            self.lazy_ifs.add(id(node))

    def leave_If_body(self, node: cst.If) -> None:
        if self._is_name(node.test, "typing.TYPE_CHECKING"):
            self.type_checking -= 1
        if id(node) in self.lazy_ifs:
            self.lazy_init -= 1

    def _fills_once(self, node: cst.If) -> bool:
        """``if X is None: X = ...`` (or ``if not X:``) where ``X`` is a ``global`` of the function or a
        class attribute (``cls.x``, ``Client._pool``): the body runs once per process, not per call.
        An instance attribute (``self._x``) is left out: the instance may be made per request."""
        test = node.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.left
            comp = test.comparisons[0]
            if not (isinstance(comp.operator, cst.Is) and isinstance(comp.comparator, cst.Name)
                    and comp.comparator.value == "None"):  # fmt: skip
                return False
        elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            target = test.expression
        else:
            return False
        ref = dotted(target)
        func = self._func_scope()
        if ref is None or func is None or "(" in ref or "[" in ref:
            return False
        head, dot, rest = ref.partition(".")
        if not dot:
            if ref not in func.global_names:
                return False
        elif "." in rest or not (head == "cls" or head[:1].isupper()):
            return False
        return _assigns(node.body, ref)

    def visit_For(self, node: cst.For) -> None:
        self._bump()
        self.loops += 1
        self._bind_target(node.target, Binding(BindingKind.UNKNOWN, ""))

    def leave_For(self, original_node: cst.For) -> None:
        self.loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._bump()
        self.loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self.loops -= 1

    def visit_With(self, node: cst.With) -> None:
        self._bump()
        if node.asynchronous is None:
            self.sync_withs += 1
        for item in node.items:
            value, _ = _unwrap_await(item.item)
            if isinstance(value, cst.Call):
                self.call_context.setdefault(id(value), {})["in_with_item"] = True
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                ref = dotted(value.func) if isinstance(value, cst.Call) else None
                binding = Binding(BindingKind.WITH, ref, False, _file_source(value)) if ref else Binding(BindingKind.UNKNOWN, "")
                self._bind(item.asname.name.value, binding)
                self.skip_names.add(id(item.asname.name))

    def leave_With(self, original_node: cst.With) -> None:
        if original_node.asynchronous is None:
            self.sync_withs -= 1

    def visit_Try(self, node: cst.Try) -> None:
        self._bump()

    def visit_Try_body(self, node: cst.Try) -> None:
        self.try_stack.append(_handler_behaviour(tuple(node.handlers)))
        self.guards.append("try" if node.handlers else "")

    def leave_Try_body(self, node: cst.Try) -> None:
        self.try_stack.pop()
        self.guards.pop()

    def visit_Finally(self, node: cst.Finally) -> None:
        self.guards.append("finally")

    def leave_Finally(self, original_node: cst.Finally) -> None:
        self.guards.pop()

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._bump()

    def visit_TryStar_body(self, node: cst.TryStar) -> None:
        self.try_stack.append(_handler_behaviour(tuple(node.handlers)))
        self.guards.append("try")

    def leave_TryStar_body(self, node: cst.TryStar) -> None:
        self.try_stack.pop()
        self.guards.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind(node.name.name.value, Binding(BindingKind.UNKNOWN, ""))
            self.skip_names.add(id(node.name.name))
        self.except_stack.append(_ends_in_raise(node.body))
        self.guards.append("except")

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self.except_stack.pop()
        self.guards.pop()

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self.except_stack.append(_ends_in_raise(node.body))
        self.guards.append("except")

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        self.except_stack.pop()
        self.guards.pop()

    def visit_Match(self, node: cst.Match) -> None:
        self._bump()

    # ----------------------------------------------------------------- imports

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._import(alias.asname.name.value, full)
            else:
                self._import(full.split(".")[0], full.split(".")[0])
                if "." in full:
                    # ``import a.b`` binds ``a``, and ``a.b`` resolves through it
                    self._import(full, full)
        self._skip_all(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        base = dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level:
            pkg = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            if level > 1:
                pkg = pkg[: len(pkg) - (level - 1)] if level - 1 <= len(pkg) else []
            base = ".".join([*pkg, base] if base else pkg)
        if isinstance(node.names, cst.ImportStar):
            self._import(f"*{base}", base)
        else:
            for alias in node.names:
                name = dotted(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                self._import(local, f"{base}.{name}" if base else name)
        self._skip_all(node)

    def _import(self, local: str, full: str) -> None:
        owner = self._owner()
        if owner.kind == "module":
            if self.type_checking and local in self.imports:
                return
            self.imports[local] = full
        else:
            owner.bindings[local] = Binding(BindingKind.IMPORT, full)

    def _skip_all(self, node: cst.CSTNode) -> None:
        stack = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, cst.Name):
                self.skip_names.add(id(cur))
            stack.extend(children(cur))

    # ----------------------------------------------------------------- definitions

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bump()
        self.skip_names.add(id(node.name))
        qual = self._qual(node.name.value)
        self._bind(node.name.value, Binding(BindingKind.CLASS, qual))
        scope = _Scope(qual, node.name.value, "class", node)
        scope.bases = [b for b in (dotted(a.value) for a in node.bases if a.keyword is None) if b]
        self.scopes.append(scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        scope = self.scopes.pop()
        self.classes.append(
            ClassFacts(scope.qualname, tuple(scope.bases), tuple(scope.methods), tuple(scope.attributes.items()),
                       tuple(scope.class_deps))
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bump()
        self.skip_names.add(id(node.name))
        parent = self.scope
        qual = self._qual(node.name.value)
        if parent.kind == "class":
            parent.methods.append(node.name.value)
        else:
            self._bind(node.name.value, Binding(BindingKind.DEF, qual))
            if parent.kind in ("function", "lambda"):
                parent.nested.append(qual)
        scope = _Scope(qual, node.name.value, "function", node, is_async=node.asynchronous is not None)
        scope.class_name = parent.qualname if parent.kind == "class" else None
        scope.parent = parent.qualname if parent.kind in ("function", "lambda") else None
        scope.decorators = [d for d in (dotted(dec.decorator) for dec in node.decorators) if d]
        if node.returns is not None:
            scope.return_annotation = self._annotation(node.returns.annotation)[0]
            scope.yield_annotation = self._yielded_type(node.returns.annotation)
        for p, kind in self._params(node.params):
            scope.params.append(self._param(p, kind))
            if self._is_upload(p):
                scope.request_reads.add((p.name.value, UPLOAD_READ))
        self._routes_from_decorators(node, qual)
        self.pending[id(node)] = scope

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        # decorators, defaults and annotations run in the enclosing scope; only the body is the function's
        self.scopes.append(self.pending.pop(id(node)))

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.done[id(node)] = self.scopes.pop()

    def _is_upload(self, p: cst.Param) -> bool:
        """The parameter receives uploaded file content: ``= File()``, ``Annotated[bytes, File()]``,
        ``list[UploadFile]``."""
        if p.default is not None and isinstance(p.default, cst.Call) and self._is_name(p.default.func, *_FILE_PARAMS):
            return True
        if p.annotation is None:
            return False
        ann = _strip_optional(p.annotation.annotation)
        if isinstance(ann, cst.Subscript) and self._is_name(ann.value, "typing.Annotated"):
            elems = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if any(isinstance(x, cst.Call) and self._is_name(x.func, *_FILE_PARAMS) for x in elems[1:]):
                return True
            ann = _strip_optional(elems[0]) if elems else ann
        if isinstance(ann, cst.Subscript) and self._is_name(ann.value, "typing.List", "typing.Sequence",
                                                             "collections.abc.Sequence", "builtins.list"):  # fmt: skip
            ann = _strip_optional(ann.slice[0].slice.value) if isinstance(ann.slice[0].slice, cst.Index) else ann
        return self._is_name(ann, *_UPLOAD_TYPES)

    def _yielded_type(self, ann: cst.BaseExpression) -> str | None:
        """``Iterator[X]`` / ``Generator[X, ...]`` / ``AsyncIterator[X]`` ... -> the reference of X."""
        if isinstance(ann, cst.Subscript) and self._is_name(ann.value, *_ITERATOR_TYPES) and ann.slice:
            first = ann.slice[0].slice
            if isinstance(first, cst.Index):
                return self._annotation(first.value)[0]
        return None

    def _params(self, params: cst.Parameters) -> list[tuple[cst.Param, str]]:
        out = [(p, ParamKind.POSONLY) for p in params.posonly_params] + [(p, ParamKind.NORMAL) for p in params.params]
        if isinstance(params.star_arg, cst.Param):
            out.append((params.star_arg, ParamKind.STAR))
        out += [(p, ParamKind.KWONLY) for p in params.kwonly_params]
        if params.star_kwarg is not None:
            out.append((params.star_kwarg, ParamKind.STARSTAR))
        return out

    def _param(self, p: cst.Param, kind: str) -> Param:
        self.skip_names.add(id(p.name))
        ann, dep, alias = (None, None, None)
        if p.annotation is not None:
            ann, dep, alias = self._annotation(p.annotation.annotation)
        if p.default is not None:
            dep = self._depends_of(p.default) or dep
        return Param(
            name=p.name.value,
            annotation=ann,
            depends=dep[0] if dep else None,
            depends_scope=dep[1] if dep else None,
            kind=kind,
            has_default=p.default is not None,
            annotation_alias=alias,
        )

    def _routes_from_decorators(self, node: cst.FunctionDef, qual: str) -> None:
        for dec in node.decorators:
            call = dec.decorator
            if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
                continue
            method = call.func.attr.value
            if method not in ROUTE_DECORATORS:
                continue
            owner = dotted(call.func.value)
            if owner is None:
                continue
            self.routes.append(
                RouteReg(
                    owner=owner,
                    method=method,
                    handler=qual,
                    dependencies=self._deps_list(call),
                    websocket=method in ("websocket", "websocket_route"),
                    scope=self._owner().qualname,
                    local=True,
                )
            )

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._finish_function(self.done.pop(id(original_node)))

    def visit_Lambda(self, node: cst.Lambda) -> None:
        owner = self._owner()
        owner.lambdas += 1
        qual = f"{owner.qualname or '<module>'}.<lambda{owner.lambdas}>"
        self.call_context.setdefault(id(node), {})["lambda_id"] = qual
        scope = _Scope(qual, "<lambda>", "lambda", node)
        scope.parent = owner.qualname or None
        scope.params = [self._param(p, k) for p, k in self._params(node.params)]
        self.pending[id(node)] = scope

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self.scopes.append(self.pending.pop(id(node)))
        body, _ = _unwrap_await(node.body)
        if isinstance(body, cst.Call):
            self.call_context.setdefault(id(body), {})["returned"] = True  # a lambda returns its body

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self._finish_function(self.scopes.pop(), is_lambda=True)

    def _finish_function(self, scope: _Scope, is_lambda: bool = False) -> None:
        reads: dict[str, list[int]] = {}
        for name, idx in scope.reads:
            reads.setdefault(name, []).append(idx)
        calls = []
        for c in scope.calls:
            usage = c.pop("usage")
            name = c.get("bound_name")
            if name is not None and usage is Usage.UNUSED and name != "_":
                later = reads.get(name, [])
                if any(i > c["line_hint"] for i in later) or (c.get("in_loop") and later):
                    usage = Usage.USED
            calls.append(CallSite(usage=usage, **c))
        bound = set(scope.bindings) | {p.name for p in scope.params}
        free = tuple(n for n in reads if n not in bound)
        self.functions.append(
            FunctionFacts(
                qualname=scope.qualname,
                name=scope.name,
                is_async=scope.is_async,
                is_generator=scope.is_generator,
                params=tuple(scope.params),
                calls=tuple(calls),
                decorators=tuple(scope.decorators),
                bindings=tuple(scope.bindings.items()),
                reads=tuple(scope.reads),
                returns=tuple(scope.returns),
                returns_callable=scope.returns_callable,
                returns_local_def=scope.returns_local_def,
                # for a generator function: the yielded type (``-> Iterator[Session]`` gives ``Session``)
                return_annotation=scope.yield_annotation if scope.is_generator else scope.return_annotation,
                response_returns=tuple(scope.response_returns),
                class_name=scope.class_name,
                parent=scope.parent,
                free_names=free,
                handled_param_calls=tuple(sorted(scope.handled_param_calls)),
                is_lambda=is_lambda,
                nested=tuple(scope.nested),
                request_reads=tuple(sorted(scope.request_reads)),
                return_names=tuple(sorted(scope.return_names)),
                raises=tuple(sorted(scope.raises)),
            )
        )

    # ----------------------------------------------------------------- bindings

    def _bind(self, name: str, binding: Binding) -> None:
        if self.scope.kind == "class":
            self.scope.attributes.setdefault(name, binding)
            return
        owner = self._owner()
        old = owner.bindings.get(name)
        if old is not None and old != binding and owner.kind != "module" and binding.kind != BindingKind.ANNOT:
            if old.kind == BindingKind.ANNOT:
                return
            if (old.kind, old.ref) == (binding.kind, binding.ref):
                # the same call twice with other arguments: the same kind of value, its source unknown
                binding = Binding(old.kind, old.ref, old.awaited and binding.awaited, None)
            else:
                binding = Binding(BindingKind.UNKNOWN, "")
        owner.bindings[name] = binding

    def _bind_target(self, target: cst.BaseExpression, binding: Binding) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, binding)
            self.skip_names.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._bind_target(el.value, Binding(BindingKind.UNKNOWN, ""))
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, Binding(BindingKind.UNKNOWN, ""))

    def _value_binding(self, value: cst.BaseExpression) -> Binding:
        value, awaited = _unwrap_await(value)
        if isinstance(value, cst.Call):
            ref = dotted(value.func)
            if ref is None:
                return Binding(BindingKind.UNKNOWN, "")
            if self._is_name(value.func, "functools.partial") and value.args:
                inner = dotted(value.args[0].value)
                return Binding(BindingKind.PARTIAL, inner) if inner else Binding(BindingKind.UNKNOWN, "")
            return Binding(BindingKind.CALL, ref, awaited, _file_source(value))
        if isinstance(value, cst.Lambda):
            # Bindings are made before the value is visited: the lambda is the owner's next one.
            owner = self._owner()
            return Binding(BindingKind.LAMBDA, f"{owner.qualname or '<module>'}.<lambda{owner.lambdas + 1}>")
        ref = dotted(value)
        if ref is not None:
            return Binding(BindingKind.REF, ref)
        return Binding(BindingKind.UNKNOWN, "")

    def visit_Assign(self, node: cst.Assign) -> None:
        value, awaited = _unwrap_await(node.value)
        single = len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name)
        for t in node.targets:
            self._bind_target(t.target, self._value_binding(node.value) if single else Binding(BindingKind.UNKNOWN, ""))
            self._self_attribute(t.target, node.value)
        if single:
            name = node.targets[0].target.value  # type: ignore[union-attr]
            if isinstance(value, cst.Call):
                ctx = self.call_context.setdefault(id(value), {})
                ctx["bound_name"] = name
                ctx["usage"] = Usage.UNUSED
                ctx["statement"] = True
            if self._owner().kind == "module":
                self._module_assign(name, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        ann, dep, _ = self._annotation(node.annotation.annotation)
        if isinstance(node.target, cst.Name):
            self.skip_names.add(id(node.target))
            if self.scope.kind == "class":
                if ann:
                    self.scope.attributes[node.target.value] = Binding(BindingKind.ANNOT, ann)
                injected = dep or (self._depends_of(node.value) if node.value is not None else None)
                if injected is not None:
                    self.scope.class_deps.append(Param(node.target.value, ann, injected[0], injected[1]))
                return
            if ann:
                self._bind(node.target.value, Binding(BindingKind.ANNOT, ann))
            elif node.value is not None:
                self._bind(node.target.value, self._value_binding(node.value))
            if node.value is not None and self._owner().kind == "module":
                self._module_assign(node.target.value, node.value)
        else:
            if ann:
                self._self_attribute(node.target, None, Binding(BindingKind.ANNOT, ann))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            self._read(node.target.value)

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        self.skip_names.add(id(node.name))
        self._module_assign(node.name.value, node.value)

    def _module_assign(self, name: str, value: cst.BaseExpression) -> None:
        ann, dep, _ = self._annotation(value) if isinstance(value, cst.Subscript) else (None, None, None)
        if dep is not None:
            self.type_aliases[name] = Param(name, ann, dep[0], dep[1])
        if isinstance(value, cst.Call):
            deps = self._deps_list(value)
            if deps:
                self.router_deps.append((name, deps))

    def _self_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression | None, binding: Binding | None = None) -> None:
        """``self.x = Y()`` / ``self.x = param`` inside a method -> an attribute of the class."""
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
            return
        func = self._func_scope()
        cls = next((s for s in reversed(self.scopes) if s.kind == "class"), None)
        if func is None or cls is None:
            return
        if binding is None and value is not None:
            value, _ = _unwrap_await(value)
            if isinstance(value, cst.Name):
                param = next((p for p in func.params if p.name == value.value), None)
                if param is not None and param.annotation:
                    binding = Binding(BindingKind.ANNOT, param.annotation)
                elif value.value in func.bindings:
                    binding = func.bindings[value.value]
            else:
                binding = self._value_binding(value)
        if binding is not None and binding.kind != BindingKind.UNKNOWN:
            cls.attributes.setdefault(target.attr.value, binding)

    # ----------------------------------------------------------------- expressions

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.skip_names.add(id(node.attr))
        if node.attr.value in REQUEST_READS and isinstance(node.value, cst.Name):
            func = self._func_scope()
            if func is not None:
                func.request_reads.add((node.value.value, node.attr.value))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.skip_names.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self.skip_names:
            return
        self._read(node.value)

    def _read(self, name: str) -> None:
        for s in self.scopes:
            if s.kind in ("function", "lambda"):
                s.reads.append((name, s.stmt))

    def visit_Global(self, node: cst.Global) -> None:
        func = self._func_scope()
        if func is not None:
            func.global_names.update(n.name.value for n in node.names)
        self._skip_all(node)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._skip_all(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        func = self._func_scope()
        if func is not None and func.kind == "function":
            func.is_generator = True
            # What a ``yield`` dependency injects: the first yielded value (a pseudo-binding).
            if isinstance(node.value, cst.BaseExpression) and YIELDED not in func.bindings:
                binding = self._value_binding(node.value)
                if binding.kind in (BindingKind.REF, BindingKind.CALL):
                    func.bindings[YIELDED] = binding

    def visit_Raise(self, node: cst.Raise) -> None:
        func = self._func_scope()
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        ref = dotted(exc) if exc is not None else None
        if func is not None and ref is not None:
            func.raises.add(ref)

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaited.add(id(node.expression))

    def visit_Expr(self, node: cst.Expr) -> None:
        value, _ = _unwrap_await(node.value)
        if isinstance(value, cst.Call):
            ctx = self.call_context.setdefault(id(value), {})
            ctx["usage"] = Usage.DISCARDED
            ctx["statement"] = True

    def visit_Return(self, node: cst.Return) -> None:
        func = self._func_scope()
        if func is None or node.value is None:
            return
        value, _ = _unwrap_await(node.value)
        func.return_names.update(_names_in(value))
        if isinstance(value, cst.Call):
            self.call_context.setdefault(id(value), {})["returned"] = True
            if self._is_name(value.func, "functools.partial"):
                func.returns_callable = True
            bg = next((a for a in value.args if a.keyword is not None and a.keyword.value == "background"), None)
            callee = dotted(value.func)
            if callee and (bg is not None or callee.split(".")[-1].endswith("Response")):
                self.call_context.setdefault(id(value), {})["response"] = (func, callee, bg)
        elif isinstance(value, cst.Lambda):
            func.returns_callable = True
        else:
            ref = dotted(value)
            if ref is None and not (isinstance(value, cst.Name) and value.value == "None"):
                func.returns.append(RETURNS_VALUE)  # a tuple, literal or expression: a value, not a reference
            if ref is not None:
                func.returns.append(ref)
                binding = func.bindings.get(ref)
                if binding is not None and binding.kind == BindingKind.DEF:
                    func.returns_callable = True
                    func.returns_local_def = binding.ref

    def visit_Call(self, node: cst.Call) -> None:
        self.ordinal += 1
        self.ordinals[id(node)] = self.ordinal
        if self.type_checking:
            return
        owner = self._owner()
        ctx = self.call_context.pop(id(node), {})
        callee = dotted(node.func) or ""
        if isinstance(node.func, cst.Call) and self._is_name(node.func.func, "functools.partial") and node.func.args:
            # ``partial(f, x)(y)`` calls ``f``
            callee = dotted(node.func.args[0].value) or callee
        try_handles = any(h for h, _ in self.try_stack)
        try_shapes = bool(self.try_stack) and self.try_stack[-1][1]
        # An except clause that ends by raising is the error path: the handler does not return, so
        # background tasks never run; its calls (clean-up before the error response) shape that response.
        try_shapes = try_shapes or (bool(self.except_stack) and self.except_stack[-1])
        if isinstance(node.func, cst.Name) and try_handles:
            owner.handled_param_calls.add(node.func.value)
        response = ctx.pop("response", None)
        if response is not None:
            func, resp_callee, bg = response
            func.response_returns.append(ResponseReturn(self.ordinal, resp_callee, self._arg(bg) if bg else None))
        owner.calls.append(
            dict(
                ordinal=self.ordinal,
                callee=callee,
                line_hint=owner.stmt,
                awaited=id(node) in self.awaited,
                usage=ctx.get("usage", Usage.USED),
                bound_name=ctx.get("bound_name"),
                args=self._args(node),
                try_handles=try_handles,
                try_shapes_response=try_shapes,
                in_with_item=ctx.get("in_with_item", False),
                statement=ctx.get("statement", False),
                in_loop=self.loops > 0,
                in_with_block=self.sync_withs > 0,
                returned=ctx.get("returned", False),
                lazy_init=self.lazy_init > 0,
                guard=next((g for g in reversed(self.guards) if g), ""),
            )
        )
        self._registration(node, callee, owner)

    def _args(self, node: cst.Call) -> tuple[Arg, ...]:
        out = []
        lambdas = 0
        for a in node.args:
            out.append(self._arg(a, lambdas))
            lambdas += isinstance(a.value, cst.Lambda)
        return tuple(out)

    def _arg(self, a: cst.Arg, lambdas_before: int = 0) -> Arg:
        value, awaited = _unwrap_await(a.value)
        keyword = a.keyword.value if a.keyword is not None else (a.star or None)
        call = dotted(value.func) if isinstance(value, cst.Call) else None
        partial_of = None
        if isinstance(value, cst.Call) and self._is_name(value.func, "functools.partial") and value.args:
            partial_of = dotted(value.args[0].value)
        lambda_id = None
        if isinstance(value, cst.Lambda):
            owner = self._owner()
            lambda_id = f"{owner.qualname or '<module>'}.<lambda{owner.lambdas + 1 + lambdas_before}>"
        return Arg(
            keyword=keyword,
            ref=dotted(value) if not isinstance(value, cst.Call) else None,
            call=call,
            call_ordinal=self.ordinal + 1 if isinstance(value, cst.Call) else None,
            awaited=awaited,
            names=_names_in(value),
            lambda_id=lambda_id,
            is_none=isinstance(value, cst.Name) and value.value == "None",
            literal=_string_value(value),
            partial_of=partial_of,
        )

    def _registration(self, node: cst.Call, callee: str, owner: _Scope) -> None:
        if not isinstance(node.func, cst.Attribute):
            if self._is_name(node.func, "fastapi.routing.Route", "fastapi.routing.WebSocketRoute",
                             "starlette.routing.Route", "starlette.routing.WebSocketRoute"):  # fmt: skip
                endpoint = node.args[1].value if len(node.args) > 1 and node.args[1].keyword is None else None
                endpoint = next((a.value for a in node.args if a.keyword and a.keyword.value == "endpoint"), endpoint)
                if endpoint is not None and dotted(endpoint):
                    self.routes.append(
                        RouteReg("", "route", dotted(endpoint) or "", websocket=callee.endswith("WebSocketRoute"),
                                 scope=owner.qualname, starlette=True)
                    )  # fmt: skip
            return
        method = node.func.attr.value
        target = dotted(node.func.value)
        if target is None:
            return
        if method in _ROUTE_ADDERS:
            endpoint = node.args[1].value if len(node.args) > 1 and node.args[1].keyword is None else None
            endpoint = next((a.value for a in node.args if a.keyword and a.keyword.value == "endpoint"), endpoint)
            if endpoint is None:
                return
            wrapped = isinstance(endpoint, cst.Call)
            ref = dotted(endpoint.args[0].value) if wrapped and endpoint.args else dotted(endpoint)
            if ref:
                self.routes.append(
                    RouteReg(target, method, ref, self._deps_list(node), websocket=_ROUTE_ADDERS[method],
                             wrapped=wrapped, ordinal=self.ordinal, scope=owner.qualname)
                )  # fmt: skip
        elif method == "include_router" and node.args:
            child = dotted(node.args[0].value)
            if child:
                self.includes.append((f"{owner.qualname}:{target}", child, self._deps_list(node)))


def summarize(source: str | bytes, module: str, path: str, is_package: bool = False) -> ModuleFacts:
    """Parse ``source`` and summarise it. Raises ``libcst.ParserSyntaxError`` on invalid code."""
    tree = cst.parse_module(source)
    visitor = Summarizer(module, path, is_package)
    visitor.walk(tree)
    mod = visitor.scopes[0]
    calls = []
    for c in mod.calls:
        usage = c.pop("usage")
        calls.append(CallSite(usage=usage, **c))
    return ModuleFacts(
        path=path,
        module=module,
        imports=tuple(visitor.imports.items()),
        bindings=tuple(mod.bindings.items()),
        functions=tuple(visitor.functions),
        classes=tuple(visitor.classes),
        routes=tuple(visitor.routes),
        router_deps=tuple(visitor.router_deps),
        includes=tuple(visitor.includes),
        is_package=is_package,
        module_calls=tuple(calls),
        type_aliases=tuple(visitor.type_aliases.items()),
    )
