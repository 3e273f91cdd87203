"""Positions and source text for the few calls a finding reports (metadata only where needed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from bgtask_lint.models import Location
from bgtask_lint.walk import Walker



@dataclass(frozen=True)
class Located:
    start: Location
    end: Location
    snippet: str


class _Collector(Walker):
    """Walks calls in the same pre-order as the summarizer (the same walk), so ordinals agree."""

    def __init__(self, wanted: set[int], module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        super().__init__()
        self.wanted = wanted
        self.module = module
        self.positions = positions
        self.ordinal = -1
        self.awaits: dict[int, cst.Await] = {}
        self.found: dict[int, Located] = {}

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaits[id(node.expression)] = node

    def visit_Call(self, node: cst.Call) -> None:
        self.ordinal += 1
        if self.ordinal not in self.wanted:
            return
        target: cst.CSTNode = self.awaits.get(id(node), node)
        pos = self.positions[target]
        text = " ".join(self.module.code_for_node(node).split())
        self.found[self.ordinal] = Located(
            Location(pos.start.line, pos.start.column + 1), Location(pos.end.line, pos.end.column + 1), text[:200]
        )


def locate(source: str | bytes, ordinals: set[int]) -> dict[int, Located]:
    module = cst.parse_module(source)
    # positions of this very module's nodes (no copy), so the walk can look its nodes up
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    collector = _Collector(ordinals, module, positions)
    collector.walk(module)
    return collector.found
