"""Apply the fixes findings carry: libcst codemods that find their target call by ordinal, re-linted until stable."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext, ContextAwareTransformer

from bgtask_lint.analysis.calls import SPAWNER_NAMES
from bgtask_lint.facts.summarize import dotted
from bgtask_lint.facts.walk import Hook, Walker
from bgtask_lint.fixes.imports import (
    add_import,
    drop_unused,
    imported_from,
    is_docstring,
    is_import,
)
from bgtask_lint.models import Fix, FixKind

KINDS = tuple(FixKind)
LOGGER_NAMES = ("logger", "log", "_log", "LOGGER", "_logger")
BT = "BackgroundTasks"

Edit = Callable[[cst.CSTNode], cst.CSTNode]


class FixError(Exception):
    """A fix that cannot be applied: its target is missing or has an unexpected shape, or the result does not parse."""


# --------------------------------------------------------------------------- finding targets


@dataclass(frozen=True)
class Target:
    call: cst.Call
    ancestors: tuple[cst.CSTNode, ...]  # outermost (the module) first, the call's parent last


class _CallWalker(Walker):
    """Tracks every node's ancestors, so each ``Call`` is recorded with its chain."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[cst.CSTNode] = []
        self.calls: list[Target] = []

    def node_hooks(self, cls: type[cst.CSTNode]) -> tuple[Hook, Hook]:
        return (self._enter_call if issubclass(cls, cst.Call) else self.stack.append), self._leave

    def _enter_call(self, node: cst.CSTNode) -> None:
        self.calls.append(Target(node, tuple(self.stack)))  # type: ignore[arg-type]
        self.stack.append(node)

    def _leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def calls_by_ordinal(module: cst.Module) -> list[Target]:
    """Every ``Call`` with its ancestors; the list index is the call's ordinal (the same walk as the
    summarizer's, so the same pre-order)."""
    walker = _CallWalker()
    walker.walk(module)
    return walker.calls


def _innermost(target: Target, kind: type[cst.CSTNode], what: str) -> int:
    """Index (in ``target.ancestors``) of the nearest ancestor of type ``kind``."""
    for i in range(len(target.ancestors) - 1, -1, -1):
        if isinstance(target.ancestors[i], kind):
            return i
    raise FixError(f"the call is not inside a {what}")


def _region(fix: Fix, target: Target) -> tuple[int, ...]:
    """Ids of the nodes from the module down to the node the fix rewrites (the region's own id last)."""
    if fix.kind == FixKind.MOVE:
        i = _innermost(target, cst.BaseSmallStatement, "statement")
    elif fix.kind == FixKind.WRAP_TRY:
        i = _innermost(target, cst.FunctionDef, "function")
    elif fix.kind == FixKind.DROP_AWAIT and isinstance(target.ancestors[-1], cst.Await):
        i = len(target.ancestors) - 1
    elif fix.kind in KINDS:
        return (*map(id, target.ancestors), id(target.call))
    else:
        raise FixError(f"unknown fix kind {fix.kind!r}")
    return tuple(map(id, target.ancestors[: i + 1]))


# --------------------------------------------------------------------------- planning edits


def _every_name(node: cst.CSTNode) -> set[str]:
    """Every ``Name`` under ``node``, attribute names and keywords included (names a new one must avoid)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            out.add(cur.value)
        stack.extend(cur.children)
    return out


def _relaid(inner: cst.Call, outer: cst.Call) -> cst.Call:
    """``inner`` laid out as ``outer`` was, when ``outer`` spans lines (``create_task(`` on one line,
    ``f(...)`` on the next): the arguments of ``add_task(f, ...)`` stand at the outer call's indentation."""
    ws = outer.whitespace_before_args
    if not isinstance(ws, cst.ParenthesizedWhitespace) or not inner.args or not outer.args:
        return inner
    wrapped = outer.args[0]
    closing = wrapped.comma.whitespace_after if isinstance(wrapped.comma, cst.Comma) else wrapped.whitespace_after_arg
    args = [a.with_changes(comma=a.comma.with_changes(whitespace_after=ws))
            if isinstance(a.comma, cst.Comma) and isinstance(a.comma.whitespace_after, cst.ParenthesizedWhitespace) else a
            for a in inner.args]  # fmt: skip
    last = args[-1]
    args[-1] = (last.with_changes(comma=last.comma.with_changes(whitespace_after=closing)) if isinstance(last.comma, cst.Comma)
                else last.with_changes(whitespace_after_arg=closing))  # fmt: skip
    return inner.with_changes(args=args, whitespace_before_args=ws)


def _callable_first(call: cst.Call) -> list[cst.Arg]:
    """``f(a, k=1)`` -> the arguments ``f, a, k=1``; a multi-line call stays multi-line."""
    ws = call.whitespace_before_args
    multi = call.args and isinstance(ws, cst.ParenthesizedWhitespace)
    comma = cst.Comma(whitespace_after=ws) if multi else cst.MaybeSentinel.DEFAULT
    return [cst.Arg(call.func, comma=comma), *call.args]


def _add_kwonly(params: cst.Parameters, new: cst.Param, ws: cst.BaseParenthesizableWhitespace) -> cst.Parameters:
    """Append a keyword-only parameter (before ``**kwargs``), adding a bare ``*`` when there is no ``*``/``*args``."""
    multi = isinstance(ws, cst.ParenthesizedWhitespace)
    sep: cst.Comma | cst.MaybeSentinel = cst.Comma(whitespace_after=ws) if multi else cst.MaybeSentinel.DEFAULT
    order: list[cst.CSTNode] = [*params.posonly_params]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        order.append(params.posonly_ind)
    order += params.params
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        order.append(params.star_arg)
    order += params.kwonly_params
    if params.star_kwarg is None and order:
        # the new parameter becomes the last one: it takes over the trailing comma and the space before ``)``
        prev = order[-1]
        new = new.with_changes(comma=prev.comma)  # type: ignore[attr-defined]
        changes: dict[str, object] = {"comma": sep}
        if isinstance(prev, cst.Param):
            new = new.with_changes(whitespace_after_param=prev.whitespace_after_param)
            changes["whitespace_after_param"] = cst.SimpleWhitespace("")
        params = params.deep_replace(prev, prev.with_changes(**changes))  # type: ignore[assignment]
    else:
        new = new.with_changes(comma=sep)
    star = params.star_arg
    if not isinstance(star, (cst.Param, cst.ParamStar)):
        star = cst.ParamStar(comma=sep if multi else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return params.with_changes(star_arg=star, kwonly_params=[*params.kwonly_params, new])


class _Planner:
    """Turns fixes into edits keyed by the original node they rewrite; remembers per-module decisions."""

    def __init__(self, module: cst.Module, context: CodemodContext, first_party: frozenset[str] = frozenset()) -> None:
        self.module = module
        self.context = context
        self.first_party = first_party
        #: local names of calls a fix removed (``asyncio`` of ``asyncio.create_task``): their imports may be unused now
        self.dropped: set[str] = set()
        #: library callables already wrapped in this module -> the wrapper's name
        self.wrappers: dict[str, str] = {}
        self.any_name: str | None = None
        self.threadpool: str | None = None
        self.edits: dict[int, list[Edit]] = defaultdict(list)
        self.bt_names: dict[int, str] = {}
        self.logger: str | None = None
        self.annotation: cst.BaseExpression | None = None
        self.bt_aliases, self.fastapi_module, self.from_fastapi = self._imports()

    def edit(self, node: cst.CSTNode, change: Edit) -> None:
        self.edits[id(node)].append(change)

    def plan(self, fix: Fix, target: Target) -> None:
        {"move": self.move, "unwrap-task": self.unwrap_task, "drop-await": self.drop_await,
         "wrap-try": self.wrap_try, "wrap-call": self.wrap_call,
         "wrap-call-async": lambda t: self.wrap_call(t, is_async=True), "to-thread": self.to_thread}[fix.kind](target)  # fmt: skip

    def _imports(self) -> tuple[set[str], str | None, cst.ImportFrom | None]:
        """(local names bound to BackgroundTasks, alias of ``import fastapi``, the first ``from fastapi import``)."""
        aliases: set[str] = set()
        fastapi_module, from_fastapi = None, None
        for stmt in self.module.body:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    if from_fastapi is None and not small.relative and dotted(small.module) == "fastapi":
                        from_fastapi = small
                    for alias in small.names:
                        if dotted(alias.name) == BT:
                            aliases.add(alias.evaluated_alias or BT)
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        if dotted(alias.name) == "fastapi":
                            fastapi_module = alias.evaluated_alias or "fastapi"
        return aliases, fastapi_module, from_fastapi

    # ---- move: ``f(a)`` / ``await f(a)`` / ``_ = f(a)`` -> ``<bt>.add_task(f, a)``

    def move(self, target: Target) -> None:
        i = _innermost(target, cst.BaseSmallStatement, "statement")
        stmt = target.ancestors[i]
        whole = isinstance(stmt, cst.Expr) or (
            isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name)
        )
        value = stmt.value if whole else None  # type: ignore[attr-defined]
        if (value.expression if isinstance(value, cst.Await) else value) is not target.call:
            raise FixError("the call is not a whole statement")
        moved = target.call
        if (dotted(moved.func) or "").split(".")[-1] in SPAWNER_NAMES:  # ``create_task(f(x))``: move the spawner
            first = moved.args[0] if moved.args else None
            if first is None or first.keyword is not None or first.star or not isinstance(first.value, cst.Call):
                raise FixError("the task does not wrap a call")
            moved = first.value
            self.dropped.add((dotted(target.call.func) or "").split(".")[0])
        func_i = _innermost(target, cst.FunctionDef, "function")
        if any(isinstance(a, (cst.Lambda, cst.ClassDef)) for a in target.ancestors[func_i:]):
            raise FixError("the call is not directly in the handler")
        bt = self._background_tasks(target.ancestors[func_i])  # type: ignore[arg-type]
        layout = moved if moved is target.call else _relaid(moved, target.call)
        add = cst.Call(cst.Attribute(cst.Name(bt), cst.Name("add_task")), _callable_first(layout),
                       whitespace_before_args=layout.whitespace_before_args)  # fmt: skip
        self.edit(stmt, lambda old: cst.Expr(add, semicolon=old.semicolon))  # type: ignore[attr-defined]

    def _is_bt(self, ann: cst.BaseExpression) -> bool:
        if isinstance(ann, cst.Subscript) and (dotted(ann.value) or "").split(".")[-1] == "Annotated":
            first = ann.slice[0].slice if ann.slice else None
            return isinstance(first, cst.Index) and self._is_bt(first.value)
        if isinstance(ann, cst.SimpleString):
            text = ann.evaluated_value
            return isinstance(text, str) and text.split(".")[-1] in {BT, *self.bt_aliases}
        return (dotted(ann) or "").split(".")[-1] in {BT, *self.bt_aliases}

    def _background_tasks(self, func: cst.FunctionDef) -> str:
        """The name of the function's BackgroundTasks parameter, added (keyword-only) when there is none."""
        if id(func) in self.bt_names:
            return self.bt_names[id(func)]
        p = func.params
        for param in (*p.posonly_params, *p.params, *p.kwonly_params):
            if param.annotation is not None and self._is_bt(param.annotation.annotation):
                self.bt_names[id(func)] = param.name.value
                return param.name.value
        taken = _every_name(func)
        name = "background_tasks"
        while name in taken:
            name += "_"
        new = cst.Param(cst.Name(name), cst.Annotation(self._bt_annotation()))
        self.edit(func, lambda f: f.with_changes(  # type: ignore[attr-defined]
            params=_add_kwonly(f.params, new, f.whitespace_before_params)))  # type: ignore[attr-defined]
        self.bt_names[id(func)] = name
        return name

    def _bt_annotation(self) -> cst.BaseExpression:
        """``BackgroundTasks`` (imported when needed, once per module), or ``fastapi.BackgroundTasks``."""
        if self.annotation is None:
            if self.bt_aliases:
                self.annotation = cst.Name(min(self.bt_aliases))
            elif self.fastapi_module and self.from_fastapi is None:
                self.annotation = cst.parse_expression(f"{self.fastapi_module}.{BT}")
            else:
                if self.from_fastapi is not None:
                    self.edit(self.from_fastapi, lambda node: _with_name(node, BT))  # type: ignore[arg-type]
                else:
                    self.import_(f"from fastapi import {BT}\n")
                self.annotation = cst.Name(BT)
        return self.annotation

    def import_(self, code: str) -> None:
        """Add an import statement in its section of the module's import block."""
        self.edit(self.module, lambda m: add_import(m, code, self.first_party))  # type: ignore[arg-type]

    # ---- unwrap-task: ``add_task(f(x))`` -> ``add_task(f, x)``
    # ---- drop-await: ``await t.add_task(...)`` -> ``t.add_task(...)``

    def unwrap_task(self, target: Target) -> None:
        call = target.call
        first = call.args[0] if call.args else None
        if first is None or first.keyword is not None or first.star:
            raise FixError("the task has no positional first argument")
        inner = first.value.expression if isinstance(first.value, cst.Await) else first.value
        if not isinstance(inner, cst.Call):
            raise FixError("the first argument is not a call")
        args = _callable_first(inner)
        args[-1] = args[-1].with_changes(comma=first.comma)  # the outer layout decides what follows
        args += call.args[1:]
        self.edit(call, lambda old: old.with_changes(args=args))

    def drop_await(self, target: Target) -> None:
        parent = target.ancestors[-1]
        if not isinstance(parent, cst.Await):
            raise FixError("the call is not awaited")

        def drop(old: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(old, cst.Await)
            return old.expression.with_changes(lpar=old.lpar, rpar=old.rpar) if old.lpar else old.expression

        self.edit(parent, drop)

    # ---- wrap-try: the task function's body -> ``try: ... except Exception: logger.exception(...)``

    def wrap_try(self, target: Target) -> None:
        func = target.ancestors[_innermost(target, cst.FunctionDef, "function")]
        assert isinstance(func, cst.FunctionDef)
        line = f'{self._logger()}.exception("background task {func.name.value} failed")'
        self.edit(func, lambda f: f.with_changes(body=_wrapped(f.body, line)))  # type: ignore[attr-defined]

    # ---- to-thread: ``f(x)`` -> ``await run_in_threadpool(f, x)`` in an ``async def``

    def to_thread(self, target: Target) -> None:
        func = target.ancestors[_innermost(target, cst.FunctionDef, "function")]
        assert isinstance(func, cst.FunctionDef)
        if func.asynchronous is None or any(isinstance(a, cst.Lambda) for a in target.ancestors):
            raise FixError("the call is not directly in an async function")
        call, parent = target.call, target.ancestors[-1]
        name = self._run_in_threadpool()
        new = cst.Await(cst.Call(cst.Name(name), _callable_first(call), whitespace_before_args=call.whitespace_before_args))
        # ``f(x).y`` / ``f(x)[0]`` / ``f(x)(y)``: ``await`` binds looser than what follows, so parenthesise
        tight = (isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is call) or (
            isinstance(parent, cst.Call) and parent.func is call)  # fmt: skip
        self.edit(call, lambda old: new.with_changes(  # type: ignore[attr-defined]
            lpar=[*old.lpar, *([cst.LeftParen()] if tight else [])], rpar=[*([cst.RightParen()] if tight else []), *old.rpar]))

    def _run_in_threadpool(self) -> str:
        """The module's name for ``run_in_threadpool`` (imported from ``fastapi.concurrency`` when needed)."""
        if self.threadpool is None:
            _, self.threadpool = imported_from(self.module, ("fastapi.concurrency", "starlette.concurrency"),
                                               "run_in_threadpool")  # fmt: skip
            if self.threadpool is None:
                self.import_("from fastapi.concurrency import run_in_threadpool\n")
                self.threadpool = "run_in_threadpool"
        return self.threadpool

    # ---- wrap-call: ``add_task(requests.post, ...)`` -> ``add_task(_post_in_background, ...)`` and a
    # module-level wrapper that logs the library call's errors

    def wrap_call(self, target: Target, is_async: bool = False) -> None:
        first = target.call.args[0] if target.call.args else None
        ref = dotted(first.value) if first is not None and first.keyword is None and not first.star else None
        if ref is None or "(" in ref or "[" in ref:
            raise FixError("the task is not a named function")
        top = next((a for a in target.ancestors if any(a is b for b in self.module.body)), None)
        if not isinstance(top, (cst.FunctionDef, cst.ClassDef)):
            raise FixError("the task is not scheduled inside a function or class")
        # a module-level callable gets a wrapper named after it; a local one (``smtp.sendmail`` of a
        # connection made in the handler) is handed to a wrapper that takes the callable first
        named = ref.split(".")[0] in _module_names(self.module)
        key = ref if named else ("<async>" if is_async else "<sync>")
        name = self.wrappers.get(key)
        if name is None:
            taken = _every_name(self.module) | set(self.wrappers.values())
            name = f"_{ref.split('.')[-1]}_in_background" if named else "_logged_task"
            while name in taken:
                name += "_"
            self.wrappers[key] = name
            logger, any_ = self._logger(), self._typing_any()
            params = f"*args: {any_}, **kwargs: {any_}"
            params, callee, label = (params, ref, f'"background task {ref} failed"') if named else (
                f"task: {any_}, {params}", "task", '"background task %s failed", getattr(task, "__qualname__", task)')
            head, call = ("async def", f"await {callee}") if is_async else ("def", callee)
            code = (f"{head} {name}({params}) -> None:\n    try:\n        {call}(*args, **kwargs)\n"
                    f"    except Exception:\n        {logger}.exception({label})\n")
            wrapper = cst.parse_statement(code, self.module.config_for_parsing)
            self.edit(self.module, lambda m: _insert_before(m, top, wrapper))  # type: ignore[arg-type]
        if named:
            self.edit(first.value, lambda old: cst.Name(name))  # type: ignore[union-attr]
        else:
            self.edit(target.call, lambda old: old.with_changes(  # type: ignore[attr-defined]
                args=[cst.Arg(cst.Name(name), comma=cst.Comma(whitespace_after=_arg_gap(old))), *old.args]))

    def _logger(self) -> str:
        if self.logger is not None:
            return self.logger
        for stmt in self.module.body:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                names: list[str] = []
                if isinstance(small, cst.Assign):
                    names = [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value:
                    names = [small.target.value]
                elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    names = [a.evaluated_alias or a.evaluated_name for a in small.names]
                found = next((n for n in names if n in LOGGER_NAMES), None)
                if found is not None:
                    self.logger = found
                    return found
        logging = self._imported_module("logging")
        if logging is None:
            self.import_("import logging\n")
        self.edit(self.module, lambda m: _insert_logger(m, logging or "logging"))
        self.logger = "logger"
        return "logger"

    def _typing_any(self) -> str:
        """How the module spells ``typing.Any`` (imported when needed, merged into ``from typing import``),
        so that the generated wrappers pass strict type checkers."""
        if self.any_name is None:
            from_typing, name = imported_from(self.module, ("typing",), "Any")
            typing = self._imported_module("typing")
            self.any_name = name or (f"{typing}.Any" if typing is not None and from_typing is None else "Any")
            if name is None and from_typing is not None:
                self.edit(from_typing, lambda node: _with_name(node, "Any"))  # type: ignore[arg-type]
            elif name is None and typing is None:
                self.import_("from typing import Any\n")
        return self.any_name

    def _imported_module(self, name: str) -> str | None:
        """The local name of ``import name`` (or ``import name as x``) at module level, if any."""
        for stmt in self.module.body:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if dotted(alias.name) == name:
                            return alias.evaluated_alias or name
        return None


def _import_key(name: str) -> tuple[int, str]:
    """isort/ruff order-by-type: CONSTANTS, Classes, functions; case-insensitive within each."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name.lower())


def _with_name(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """Add ``name`` to a ``from m import ...``: in order when the names are sorted, else at the end."""
    assert not isinstance(node.names, cst.ImportStar)
    names = list(node.names)
    keys = [_import_key(a.evaluated_name) for a in names]
    at = bisect.bisect(keys, _import_key(name)) if keys == sorted(keys) else len(names)
    sep = names[0].comma if len(names) > 1 else cst.MaybeSentinel.DEFAULT
    new = cst.ImportAlias(cst.Name(name), comma=sep)
    if at == len(names):  # the new last name takes over a trailing comma in parentheses
        new, names[-1] = new.with_changes(comma=names[-1].comma), names[-1].with_changes(comma=sep)
    names.insert(at, new)
    return node.with_changes(names=names)


def _wrapped(body: cst.BaseSuite, handler_line: str) -> cst.BaseSuite:
    if isinstance(body, cst.SimpleStatementSuite):
        body = cst.IndentedBlock([cst.SimpleStatementLine(body.body)], header=body.trailing_whitespace)
    assert isinstance(body, cst.IndentedBlock)
    stmts = list(body.body)
    doc = [stmts.pop(0)] if stmts and is_docstring(stmts[0]) else []
    if not stmts:
        raise FixError("the function has no body to wrap")
    lines = list(stmts[0].leading_lines)
    blank = 0
    while blank < len(lines) and lines[blank].comment is None:
        blank += 1
    stmts[0] = stmts[0].with_changes(leading_lines=lines[blank:])
    handler = cst.ExceptHandler(
        cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(cst.parse_expression(handler_line))])]),
        type=cst.Name("Exception"),
    )
    wrapped = cst.Try(cst.IndentedBlock(stmts), handlers=[handler], leading_lines=lines[:blank])
    return body.with_changes(body=[*doc, wrapped])


def _arg_gap(call: cst.Call) -> cst.BaseParenthesizableWhitespace:
    """The whitespace between a call's arguments: a line break where they stand one per line."""
    first = call.args[0] if call.args else None
    if first is not None and isinstance(first.comma, cst.Comma) and isinstance(first.comma.whitespace_after,
                                                                              cst.ParenthesizedWhitespace):  # fmt: skip
        return first.comma.whitespace_after
    return cst.SimpleWhitespace(" ")


def _module_names(module: cst.Module) -> set[str]:
    """Names bound at module level: imports, assignments, functions and classes."""
    out: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            out.add(stmt.name.value)
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                out.update((a.evaluated_alias or a.evaluated_name).split(".")[0] for a in small.names)
            elif isinstance(small, cst.Assign):
                out.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                out.add(small.target.value)
    return out


def _insert_before(module: cst.Module, top: cst.FunctionDef | cst.ClassDef, new: cst.BaseStatement) -> cst.Module:
    """``new`` right before the module-level definition ``top`` (found by kind and name), two blank lines apart."""
    body = list(module.body)
    at = next(i for i, stmt in enumerate(body) if type(stmt) is type(top) and stmt.name.value == top.name.value)  # type: ignore[attr-defined]
    body.insert(at, new.with_changes(leading_lines=body[at].leading_lines))
    body[at + 1] = body[at + 1].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    return module.with_changes(body=body)


def _insert_logger(module: cst.CSTNode, logging: str = "logging") -> cst.CSTNode:
    """``logger = logging.getLogger(__name__)`` after the last top-level import (or the docstring)."""
    assert isinstance(module, cst.Module)
    body = list(module.body)
    imports = [i for i, s in enumerate(body) if is_import(s)]
    at = imports[-1] + 1 if imports else int(bool(body) and is_docstring(body[0]))
    line = cst.parse_statement(f"logger = {logging}.getLogger(__name__)\n", module.config_for_parsing)
    if at < len(body) and not body[at].leading_lines:
        gap = 2 if isinstance(body[at], (cst.FunctionDef, cst.ClassDef)) else 1
        body[at] = body[at].with_changes(leading_lines=[cst.EmptyLine()] * gap)
    body.insert(at, line.with_changes(leading_lines=[cst.EmptyLine()] if at else []))
    return module.with_changes(body=body)


class _Rewriter(ContextAwareTransformer):
    def __init__(self, context: CodemodContext, edits: dict[int, list[Edit]]) -> None:
        super().__init__(context)
        self.edits = edits

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        updated_node = super().on_leave(original_node, updated_node)  # type: ignore[assignment]
        for change in self.edits.get(id(original_node), ()):
            updated_node = change(updated_node)
        return updated_node


# --------------------------------------------------------------------------- one module


def _fix_module(source: str, fixes: Sequence[Fix],
                first_party: frozenset[str] = frozenset()) -> tuple[str, list[Fix], list[tuple[Fix, str]]]:  # fmt: skip
    """(new source, fixes applied, (fix, reason) for fixes that could not be applied). Overlapping fixes:
    the outermost one is applied, the others wait for the next round. Raises FixError if the result does not parse."""
    module = cst.parse_module(source)
    calls = calls_by_ordinal(module)
    failed: list[tuple[Fix, str]] = []
    regions: list[tuple[tuple[int, ...], Fix, Target]] = []
    for fix in {(f.kind, f.target): f for f in fixes}.values():
        if not 0 <= fix.target < len(calls):
            failed.append((fix, f"no call #{fix.target} in the module"))
            continue
        try:
            path = _region(fix, calls[fix.target])
        except FixError as exc:
            failed.append((fix, str(exc)))
            continue
        regions.append((path, fix, calls[fix.target]))
    context = CodemodContext()
    planner = _Planner(module, context, first_party)
    taken: set[int] = set()
    applied: list[Fix] = []
    for path, fix, target in sorted(regions, key=lambda r: (len(r[0]), r[1].target)):
        if taken.intersection(path):
            continue  # inside a region another fix rewrites: next round
        try:
            planner.plan(fix, target)
        except FixError as exc:
            failed.append((fix, str(exc)))
            continue
        taken.add(path[-1])
        applied.append(fix)
    if not applied:
        return source, [], failed
    new = module.visit(_Rewriter(context, planner.edits))
    if planner.dropped:
        new = drop_unused(new, planner.dropped)
    code = new.code
    try:
        cst.parse_module(code)
    except cst.ParserSyntaxError as exc:
        raise FixError(f"the fixed code does not parse: {' '.join(str(exc).split())}") from None
    return code, applied, failed


def apply_to_source(source: str, fixes: Sequence[Fix], first_party: frozenset[str] = frozenset()) -> str:
    """Apply ``fixes`` (by call ordinal) to one module's text; fixes nested in another fix's target wait (see
    :func:`apply_fixes`). Raises FixError when a fix cannot be applied or the result does not parse."""
    code, _, failed = _fix_module(source, fixes, first_party)
    if failed:
        fix, reason = failed[0]
        raise FixError(f"{fix.kind} fix for call #{fix.target}: {reason}")
    return code


# --------------------------------------------------------------------------- files and rounds
