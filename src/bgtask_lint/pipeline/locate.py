"""Positions and source text for the few calls a finding reports (metadata only where needed).

libcst's ``PositionProvider`` generates the code of the whole module while tracking every node's
position: about twice the cost of parsing it. A finding needs the positions of a few calls, so
only the top-level statements holding them are run through it, each as a module of its own; the
lines before such a statement are counted from its plain generated code, which is exact and
several times cheaper.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bgtask_lint.adoption import LINE_BREAK
from bgtask_lint.facts.walk import Walker
from bgtask_lint.models import Located, Location


class _Collector(Walker):
    """Walks calls in the same pre-order as the summarizer (the same walk), so ordinals agree, and
    records each wanted call (or the ``await`` around it) with the top-level statement holding it."""

    def __init__(self, wanted: set[int]) -> None:
        super().__init__()
        self.wanted = wanted
        self.ordinal = -1
        self.awaits: dict[int, cst.Await] = {}
        self.statement = -1  # index in the module's body of the top-level statement being walked
        self.depth = 0
        self.found: dict[int, tuple[int, cst.Call, cst.CSTNode]] = {}

    def node_hooks(self, cls):  # type: ignore[no-untyped-def]
        enter, leave = super().node_hooks(cls)
        if not issubclass(cls, cst.BaseStatement) or cls is cst.Module:
            return enter, leave

        def enter_statement(node: cst.CSTNode) -> bool | None:
            if self.depth == 0:
                self.statement += 1
            self.depth += 1
            return enter(node) if enter is not None else None

        def leave_statement(node: cst.CSTNode) -> None:
            self.depth -= 1
            if leave is not None:
                leave(node)

        return enter_statement, leave_statement

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaits[id(node.expression)] = node

    def visit_Call(self, node: cst.Call) -> None:
        self.ordinal += 1
        if self.ordinal in self.wanted:
            self.found[self.ordinal] = (self.statement, node, self.awaits.get(id(node), node))


def locate(source: str | bytes, ordinals: set[int]) -> dict[int, Located]:
    module = cst.parse_module(source)
    collector = _Collector(ordinals)
    collector.walk(module)
    if not collector.found:
        return {}
    # the row each top-level statement's code starts on (its leading blank lines and comments included)
    starts: list[int] = []
    row = 1 + sum(len(LINE_BREAK.findall(module.code_for_node(line))) for line in module.header)
    last = max(statement for statement, _, _ in collector.found.values())
    for statement in module.body[: last + 1]:
        starts.append(row)
        row += len(LINE_BREAK.findall(module.code_for_node(statement)))
    positions = {}
    for index in sorted({statement for statement, _, _ in collector.found.values()}):
        alone = module.with_changes(header=(), body=(module.body[index],), footer=())
        positions[index] = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
    found: dict[int, Located] = {}
    for ordinal, (statement, call, target) in collector.found.items():
        pos = positions[statement][target]
        shift = starts[statement] - 1
        text = " ".join(module.code_for_node(call).split())
        found[ordinal] = Located(
            Location(pos.start.line + shift, pos.start.column + 1), Location(pos.end.line + shift, pos.end.column + 1),
            text[:200],
        )  # fmt: skip
    return found
