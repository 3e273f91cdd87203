"""A read-only pre-order walk over libcst trees, in exactly the order libcst's own visitors use.

``CSTNode.visit`` rebuilds every node it passes, even for a ``CSTVisitor`` that changes nothing:
each node's ``_visit_and_replace_children`` constructs (and validates) a fresh copy of the node from
its visited children, and ``CSTNode.children`` does the same to collect them. On real code that
costs most of what parsing does. ``Walker`` only reads the existing nodes: it calls the same hooks
(``visit_<Node>``, ``leave_<Node>``, ``visit_<Node>_<field>``, ``leave_<Node>_<field>``) in the
same order, and builds nothing.

The order matters: call sites are numbered by their pre-order position, and every walk of a module
must agree on those numbers. libcst's order is source order, which is not the order of a node's
dataclass fields (a function's decorators come before its body, a conditional expression's body
before its test). So the order is not written down here: it is read, once per node class, from the
installed libcst's own ``_visit_and_replace_children``, the sequence of its calls to libcst's
``visit_*`` helpers. A class whose method has a shape this reading does not understand is walked by
libcst itself, so the walk stays exact (only slower) whatever libcst does next.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Callable
from typing import Any, NamedTuple

import libcst as cst

#: A hook takes the node it is called for; a ``visit_<Node>`` hook that returns False skips the children.
Hook = Callable[[Any], Any]

#: libcst's child-visiting helpers, and whether each calls the attribute hooks for an absent child
#: (``None`` for ``visit_optional``, ``MaybeSentinel.DEFAULT`` for ``visit_sentinel``).
_HELPERS = {
    "visit_required": False,
    "visit_optional": True,
    "visit_sentinel": True,
    "visit_sequence": False,
    "visit_iterable": False,
    "visit_body_sequence": False,
    "visit_body_iterable": False,
}
_SENTINEL = cst.MaybeSentinel.DEFAULT


class Field(NamedTuple):
    """One child field of a node class, in visiting order."""

    name: str
    #: libcst calls the field's attribute hooks even when it holds no child (None / MaybeSentinel).
    hooks_when_absent: bool


class _Unknown(Exception):
    """A ``_visit_and_replace_children`` this module cannot read; its class is walked by libcst."""


def _self_field(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The field an expression reads: ``self.field``, or a local variable set to it."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    return None


def _helper_call(node: ast.expr, aliases: dict[str, str]) -> Field | None:
    """The field a ``visit_*(self, "field", self.field, visitor)`` call visits; None for an expression
    that visits nothing."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _HELPERS):
        if any(isinstance(n, ast.Name) and n.id == "visitor" for n in ast.walk(node)):
            raise _Unknown("the visitor is used outside libcst's helpers")
        return None
    if node.keywords or len(node.args) != 4:
        raise _Unknown("unexpected helper arguments")
    owner, name, value, visitor = node.args
    if not (isinstance(owner, ast.Name) and owner.id == "self" and isinstance(visitor, ast.Name)
            and visitor.id == "visitor" and isinstance(name, ast.Constant) and isinstance(name.value, str)):  # fmt: skip
        raise _Unknown("unexpected helper arguments")
    if _self_field(value, aliases) != name.value:
        raise _Unknown(f"the helper for {name.value!r} visits another value")
    return Field(name.value, _HELPERS[node.func.id])


def _argument(node: ast.expr, aliases: dict[str, str]) -> Field | None:
    """The field one constructor argument visits, if any.

    Two conditional shapes occur: a choice between two helpers for the same field by the value's type
    (libcst calls the hooks and visits the value either way), and ``helper(...) if x is not None else
    None`` on the field itself (for an absent value nothing happens, not even the attribute hooks)."""
    if not isinstance(node, ast.IfExp):
        return _helper_call(node, aliases)
    test, orelse = node.test, node.orelse
    if _helper_call(test, aliases) is not None:
        raise _Unknown("a visit in a condition")
    body, other = _helper_call(node.body, aliases), _helper_call(orelse, aliases)
    if body is None and other is None:
        return None
    if body is not None and body == other:
        return body
    guarded = (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)
               and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
               and isinstance(orelse, ast.Constant) and orelse.value is None)  # fmt: skip
    if body is not None and guarded and _self_field(test.left, aliases) == body.name:  # type: ignore[attr-defined]
        return body._replace(hooks_when_absent=False)
    raise _Unknown("unexpected conditional visit")


def _read_fields(method: Callable[..., Any]) -> tuple[Field, ...]:
    """The fields ``method`` (a ``_visit_and_replace_children``) visits, in the order it visits them."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    func = tree.body[0]
    if not isinstance(func, ast.FunctionDef):
        raise _Unknown("not a function")
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    aliases: dict[str, str] = {}  # ``names = self.names`` before the constructor call
    built: dict[str, ast.expr] = {}  # ``ret = TypeParam(...)`` then ``return ret``
    for stmt in body[:-1]:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise _Unknown("unexpected statement")
        target, value = stmt.targets[0].id, stmt.value
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
            aliases[target] = value.attr
        elif isinstance(value, ast.Call) and not built:
            built[target] = value
        else:
            raise _Unknown("unexpected statement")
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        raise _Unknown("no return")
    result = body[-1].value
    if isinstance(result, ast.Name) and result.id == "self" and not built:
        return ()  # a leaf: nothing to visit
    if isinstance(result, ast.Name) and result.id in built:
        result = built[result.id]
    elif built:
        raise _Unknown("the constructed node is not returned")
    if not isinstance(result, ast.Call):
        raise _Unknown("unexpected return")
    # The helpers run as the constructor's arguments are evaluated: in source order.
    arguments = sorted([*result.args, *(k.value for k in result.keywords)], key=lambda a: (a.lineno, a.col_offset))
    fields = [f for f in (_argument(a, aliases) for a in arguments) if f]
    if len({f.name for f in fields}) != len(fields):
        raise _Unknown("a field is visited twice")
    return tuple(fields)


@functools.cache
def child_fields(cls: type[cst.CSTNode]) -> tuple[Field, ...] | None:
    """The child fields libcst visits for ``cls``, in its order; None if libcst's code could not be read."""
    try:
        return _read_fields(cls._visit_and_replace_children)
    except Exception:  # noqa: BLE001 - any surprise in libcst's code: libcst walks the class itself
        return None


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node.children`` (the same nodes in the same order) without rebuilding ``node``."""
    fields = child_fields(node.__class__)
    if fields is None:
        return list(node.children)
    out: list[cst.CSTNode] = []
    for name, _ in fields:
        value = getattr(node, name)
        if value.__class__ is tuple:
            out.extend(value)
        elif value is None or value is _SENTINEL:
            continue
        elif isinstance(value, cst.CSTNode):
            out.append(value)
        else:  # a list, in a tree built by hand
            out.extend(value)
    return out


# (field name, attribute hooks when absent, visit_<Node>_<field>, leave_<Node>_<field>)
_Step = tuple[str, bool, Hook | None, Hook | None]
# (visit_<Node>, leave_<Node>, steps); steps is None for a class libcst walks itself
_Entry = tuple[Hook | None, Hook | None, tuple[_Step, ...] | None]


class Walker:
    """Base class of read-only walks: define ``visit_<Node>`` / ``leave_<Node>`` and
    ``visit_<Node>_<field>`` / ``leave_<Node>_<field>`` hooks as on a ``libcst.CSTVisitor``, then
    call ``walk(tree)``. Hooks receive the tree's own nodes, so ``id()`` and ``is`` comparisons and
    metadata computed on the same tree all hold.

    The walk recurses once per tree level (libcst's visitors recurse several times per level), so a
    tree deeper than the recursion limit raises ``RecursionError``.
    """

    def node_hooks(self, cls: type[cst.CSTNode]) -> tuple[Hook | None, Hook | None]:
        """(enter, leave) hooks for nodes of ``cls``; looked up once per class in a walk."""
        name = cls.__name__
        return getattr(self, f"visit_{name}", None), getattr(self, f"leave_{name}", None)

    def _entry(self, cls: type[cst.CSTNode]) -> _Entry:
        """The bound hooks and child fields for ``cls``: the walk's dispatch table row."""
        enter, leave = self.node_hooks(cls)
        fields = child_fields(cls)
        if fields is None:
            return enter, leave, None
        name = cls.__name__
        steps = tuple(
            (f.name, f.hooks_when_absent, getattr(self, f"visit_{name}_{f.name}", None),
             getattr(self, f"leave_{name}_{f.name}", None))
            for f in fields
        )  # fmt: skip
        return enter, leave, steps

    def walk(self, root: cst.CSTNode) -> None:
        """Visit ``root`` and everything below it, in libcst's pre-order."""
        table: dict[type[cst.CSTNode], _Entry] = {}
        inert: set[type[cst.CSTNode]] = set()  # no children, no hooks: visiting one does nothing
        sentinel = _SENTINEL
        node_type = cst.CSTNode

        def entry_for(cls: type[cst.CSTNode]) -> _Entry:
            entry = table.get(cls)
            if entry is None:
                entry = table[cls] = self._entry(cls)
                if entry == (None, None, ()):
                    inert.add(cls)
            return entry

        def visit(node: cst.CSTNode) -> None:
            enter, leave, steps = table.get(node.__class__) or entry_for(node.__class__)
            if steps is None:
                node.visit(_Fallback(self, entry_for))
                return
            if enter is None or enter(node) is not False:
                for name, hooks_when_absent, before, after in steps:
                    value = getattr(node, name)
                    kind = value.__class__
                    if kind is tuple:
                        if before is not None:
                            before(node)
                        for child in value:
                            visit(child)
                    elif value is None or value is sentinel:
                        if not hooks_when_absent:
                            continue
                        if before is not None:
                            before(node)
                    else:
                        if before is not None:
                            before(node)
                        if kind in inert:
                            pass
                        elif kind in table or isinstance(value, node_type):
                            visit(value)
                        else:  # a list, in a tree built by hand
                            for child in value:
                                visit(child)
                    if after is not None:
                        after(node)
            if leave is not None:
                leave(node)

        try:
            visit(root)
        finally:
            # ``visit`` refers to itself: unless that loop is cut, the walker, its table and all the
            # hooks kept (the tree) wait for the cyclic garbage collector instead of being freed now.
            visit = None  # type: ignore[assignment]


class _Fallback(cst.CSTVisitor):
    """Walks a subtree with libcst's own visit, calling a ``Walker``'s hooks (for classes whose
    visiting code could not be read)."""

    def __init__(self, walker: Walker, entry_for: Callable[[type[cst.CSTNode]], _Entry]) -> None:
        super().__init__()
        self.walker = walker
        self.entry_for = entry_for

    def on_visit(self, node: cst.CSTNode) -> bool:
        enter = self.entry_for(type(node))[0]
        return enter is None or enter(node) is not False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        leave = self.entry_for(type(original_node))[1]
        if leave is not None:
            leave(original_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        hook = getattr(self.walker, f"visit_{type(node).__name__}_{attribute}", None)
        if hook is not None:
            hook(node)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        hook = getattr(self.walker, f"leave_{type(original_node).__name__}_{attribute}", None)
        if hook is not None:
            hook(original_node)
