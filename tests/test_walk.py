"""The read-only walker visits exactly what libcst's own visitor visits, in the same order.

Call sites are numbered by their pre-order position in the summarizer, the position lookup and the
fixes; all three walk with ``Walker``. These tests hold its order (node visits, node leaves and the
attribute hooks around each child field) against a ``libcst.CSTVisitor`` over snippets of every
statement and expression kind, every fixture module and generated modules, and check that the
summarizer, the position lookup and the fixes number the same calls alike.
"""

from __future__ import annotations

import gc
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, PositionProvider

import bgtask_lint.facts.walk as walk_module
from bgtask_lint.facts.summarize import Summarizer
from bgtask_lint.facts.walk import Walker, child_fields, children
from bgtask_lint.fixes.codemods import calls_by_ordinal
from bgtask_lint.pipeline.locate import locate

FIXTURES = sorted((Path(__file__).parent / "fixtures").rglob("*.py"))

SNIPPETS = {
    "module": '''\
        #!/usr/bin/env python
        """Docstring."""
        from __future__ import annotations  # comment

        import os, sys as system
        import a.b.c
        from . import sibling
        from ..pkg.mod import (x as y,
            z,)
        from m import *
        x = 1; y = 2;
        del x, y[0], z.a
        assert x, "message"
        global g
        print(x, *args, sep="", **kwargs)

        # trailing comment
        ''',
    "functions": '''\
        @decorator
        @app.get("/path", dependencies=[Depends(dep)])
        async def handler(a, /, b: int = 1, *args: str, c, d=Depends(get), **kw) -> dict[str, int]:
            """Doc."""
            nonlocal_value = 1

            def inner(x=lambda: y()):
                nonlocal nonlocal_value
                return x

            async def agen():
                yield 1
                yield from other()
                await asyncio.sleep(0)

            return await inner()

        def star_only(*, key): pass
        def bare(): ...
        ''',
    "classes": '''\
        @dataclass(frozen=True)
        class C(Base, metaclass=Meta):
            attr: int = 0
            other: "Forward"

            class Nested:
                pass

            def method(self) -> None:
                self.x = Thing()
                self.y: list[int] = []
        class Empty: pass
        ''',
    "control_flow": '''\
        if a:
            pass
        elif b:
            pass
        else:
            pass
        if TYPE_CHECKING: import typing
        for i, (j, *k) in enumerate(x):
            continue
        else:
            break
        async def f():
            async for x in y:
                pass
            async with a() as b, c:
                pass
        while x:
            x -= 1
        else:
            pass
        with open(p) as f, (yield) as g:
            pass
        with (
            a as b,
            c as d,
        ):
            pass
        ''',
    "try": '''\
        try:
            work()
        except (ValueError, TypeError) as exc:
            log(exc)
            raise Other() from exc
        except Exception:
            raise
        else:
            pass
        finally:
            cleanup()
        try:
            work()
        except* ValueError as group:
            handle(group)
        except* (TypeError, KeyError):
            pass
        else:
            pass
        finally:
            done()
        ''',
    "expressions": '''\
        a = b if c else d
        e = (f if g else h)(i)
        j = lambda k, *l, m=1, **n: k + l
        o = [p for q in r if s for t in u]
        v = {w: x async for y in z}
        aa = {bb for cc in dd}
        ee = (ff for gg in hh if ii)
        jj = not kk and ll or mm
        nn = -oo + ~pp * qq ** rr // ss % tt @ uu
        vv = ww < xx <= yy != zz is not aaa not in bbb
        ccc = ddd[1:2:3, ::, eee[...]]
        fff = {**ggg, "h": iii, **jjj}
        kkk = [*lll, mmm]
        (nnn := ooo)
        ppp, *qqq = rrr
        sss: int
        ttt += 1; uuu |= 2; vvv >>= 3
        www = 1_000 + 0x1F + 1.5e3 + 2j + 0o7 + 0b1
        xxx = "a" "b" r"c" """e""" + b"d" rb"f"
        yyy = await zzz if False else None
        print(*a, **b)
        ''',
    "strings": '''\
        name = f"{user!r:>{width}} {value=} {nested:{fmt}} {{literal}}"
        path = f"{a}" f"{b}" "c"
        multi = f"""
            {x}
        """
        template = t"hi {x!r:>{w}}"
        ''',
    "match": '''\
        match command:
            case ["go", direction] | ["move", direction]:
                go(direction)
            case {"key": value, **rest}:
                pass
            case Point(x=0, y=_) as p:
                pass
            case [1, 2, *others]:
                pass
            case str() | bytes():
                pass
            case None | True | -1 | 1 + 2j:
                pass
            case (a, b) if a > b:
                pass
            case _:
                pass
        ''',
    "type_params": '''\
        type Alias = list[int]
        type Generic[T] = dict[str, T]
        def f[T: int, *Ts, **P](x: T) -> T: ...
        class Box[T = int]:
            pass
        ''',
    "annotated": '''\
        from typing import Annotated
        from fastapi import Depends, FastAPI, File, UploadFile

        app = FastAPI()
        Session = Annotated[AsyncSession, Depends(get_session)]

        @app.post("/upload")
        async def upload(file: Annotated[bytes, File()], s: Session, up: UploadFile | None = None):
            data = await up.read()
            background_tasks.add_task(process, data, key=functools.partial(f, x))
            return JSONResponse({"ok": True}, background=tasks)
        ''',
    "nested": '''\
        def outer():
            class Local:
                def method(self):
                    def deepest():
                        return [lambda: (yield) for _ in ()]
                    return deepest
            return Local
        ''',
    "lazy_import": '''\
        lazy import json
        lazy from os import path
        ''',
    "whitespace": "x = (  # comment\n    1 +\n    2\n)\n\\\ny = 3\n\n\n\n",
    "empty": "",
}


def node_classes() -> Iterable[type[cst.CSTNode]]:
    """Every concrete libcst node class."""
    seen: set[type[cst.CSTNode]] = set()
    todo = [cst.CSTNode]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    # ``add_slots`` replaces each class with a slotted copy: keep the one its module exports
    public = (c for c in seen if getattr(sys.modules.get(c.__module__), c.__name__, None) is c)
    return sorted((c for c in public if not inspect.isabstract(c)), key=lambda c: (c.__module__, c.__qualname__))


class LibcstRecorder(cst.CSTVisitor):
    """Every hook libcst calls, as (hook name, node)."""

    def __init__(self, skip: type[cst.CSTNode] | None = None) -> None:
        super().__init__()
        self.skip = skip
        self.events: list[tuple[str, cst.CSTNode]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append((f"visit_{type(node).__name__}", node))
        return self.skip is None or not isinstance(node, self.skip)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append((f"leave_{type(original_node).__name__}", original_node))

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.events.append((f"visit_{type(node).__name__}_{attribute}", node))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.events.append((f"leave_{type(original_node).__name__}_{attribute}", original_node))


class WalkRecorder(Walker):
    """Defines every hook: each records (hook name, node)."""

    def __init__(self, skip: type[cst.CSTNode] | None = None) -> None:
        super().__init__()
        self.skip = skip
        self.events: list[tuple[str, cst.CSTNode]] = []

    def __getattr__(self, name: str) -> Callable[[cst.CSTNode], bool]:
        if not name.startswith(("visit_", "leave_")):
            raise AttributeError(name)
        events, skip = self.events, self.skip
        entering = name.startswith("visit_") and name.count("_") == 1

        def hook(node: cst.CSTNode) -> bool:
            events.append((name, node))
            return not (entering and skip is not None and isinstance(node, skip))

        return hook


def assert_same_events(tree: cst.CSTNode, skip: type[cst.CSTNode] | None = None) -> None:
    theirs, ours = LibcstRecorder(skip), WalkRecorder(skip)
    tree.visit(theirs)
    ours.walk(tree)
    for i, ((their_hook, their_node), (our_hook, our_node)) in enumerate(zip(theirs.events, ours.events)):
        assert (our_hook, our_node is their_node) == (their_hook, True), f"event {i}"
    assert len(ours.events) == len(theirs.events)


def parse_snippet(name: str) -> cst.Module:
    return cst.parse_module(textwrap.dedent(SNIPPETS[name]))


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippets_walk_in_libcst_order(name: str) -> None:
    assert_same_events(parse_snippet(name))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_fixtures_walk_in_libcst_order(path: Path) -> None:
    assert_same_events(cst.parse_module(path.read_bytes()))


@pytest.mark.slow  # several seconds: left out of the fast run
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                   HealthCheck.data_too_large])  # fmt: skip
@given(source=hypothesmith.from_node())
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
def test_generated_modules_walk_in_libcst_order(source: str) -> None:
    try:
        tree = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return
    assert_same_events(tree)


@pytest.mark.parametrize("skip", [cst.FunctionDef, cst.Call, cst.Lambda, cst.Name])
def test_a_visit_hook_returning_false_skips_the_children(skip: type[cst.CSTNode]) -> None:
    for name in ("functions", "expressions", "classes"):
        assert_same_events(parse_snippet(name), skip)


def test_every_node_class_has_a_read_order() -> None:
    """A new libcst whose code this reading does not understand still walks exactly (libcst walks
    those classes itself), but slowly: this is the signal to look."""
    unread = [c.__name__ for c in node_classes() if child_fields(c) is None]
    assert not unread
    assert [f.name for f in child_fields(cst.IfExp) or ()][1:5:3] == ["body", "test"]  # source order
    fields = [f.name for f in child_fields(cst.FunctionDef) or ()]
    assert fields.index("decorators") < fields.index("name") < fields.index("params") < fields.index("body")


def test_unread_classes_are_walked_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    read = walk_module.child_fields
    unread = (cst.FunctionDef, cst.Call, cst.If, cst.FormattedStringExpression)
    monkeypatch.setattr(walk_module, "child_fields", lambda cls: None if cls in unread else read(cls))
    for name in ("functions", "control_flow", "strings", "annotated"):
        assert_same_events(parse_snippet(name))


def test_children_are_libcst_children() -> None:
    for tree in [parse_snippet(name) for name in SNIPPETS] + [cst.parse_module(p.read_bytes()) for p in FIXTURES[:50]]:
        stack: list[cst.CSTNode] = [tree]
        while stack:
            node = stack.pop()
            ours, theirs = children(node), node.children
            assert len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs)), type(node).__name__
            stack.extend(ours)


def test_trees_built_by_hand_walk_in_libcst_order() -> None:
    call = cst.Call(cst.Name("f"), args=[cst.Arg(cst.Name("x")), cst.Arg(cst.Integer("1"))])
    body = [cst.SimpleStatementLine([cst.Expr(call)]), cst.SimpleStatementLine([cst.Pass()])]
    assert_same_events(cst.Module(body=body))


class _CallCounter(Walker):
    def __init__(self) -> None:
        self.calls = 0

    def visit_Call(self, node: cst.Call) -> None:
        self.calls += 1


def test_a_walk_leaves_no_reference_cycles() -> None:
    """A walk's garbage (its dispatch table of bound hooks) is freed at once, not by the cyclic collector."""
    tree = parse_snippet("functions")
    gc.collect()
    gc.disable()
    try:
        counter = _CallCounter()
        counter.walk(tree)
        assert counter.calls == 7
        del counter
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_absurdly_deep_trees_raise_recursion_error() -> None:
    node: cst.BaseExpression = cst.Name("x")
    for _ in range(5000):
        node = cst.UnaryOperation(cst.Minus(), node)
    with pytest.raises(RecursionError):
        Walker().walk(cst.Module([cst.SimpleStatementLine([cst.Expr(node)])]))


# --------------------------------------------------------------------------- one numbering of calls


class _LibcstCalls(cst.CSTVisitor):
    """Every call and its position (its ``await``'s when awaited), numbered by libcst's own visit."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.awaits: dict[int, cst.Await] = {}
        self.calls: list[cst.Call] = []
        self.positions: list[tuple[int, int, int, int]] = []

    def visit_Await(self, node: cst.Await) -> None:
        self.awaits[id(node.expression)] = node

    def visit_Call(self, node: cst.Call) -> None:
        pos = self.get_metadata(PositionProvider, self.awaits.get(id(node), node))
        self.calls.append(node)
        self.positions.append((pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1))


@pytest.mark.parametrize("path", FIXTURES[::5], ids=lambda p: str(p.relative_to(p.parents[1])))
def test_summarizer_positions_and_fixes_number_calls_alike(path: Path) -> None:
    source = path.read_bytes()
    module = cst.parse_module(source)
    expected = _LibcstCalls()
    MetadataWrapper(module, unsafe_skip_copy=True).visit(expected)

    summarizer = Summarizer("m", str(path), False)
    summarizer.walk(module)
    assert summarizer.ordinals == {id(call): i for i, call in enumerate(expected.calls)}
    targets = calls_by_ordinal(module)
    assert len(targets) == len(expected.calls)
    assert all(target.call is call for target, call in zip(targets, expected.calls))
    located = locate(source, set(range(len(expected.calls))))
    assert sorted(located) == list(range(len(expected.calls)))
    assert [(v.start.row, v.start.column, v.end.row, v.end.column) for _, v in sorted(located.items())] == expected.positions
