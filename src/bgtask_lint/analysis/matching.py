"""Matching calls against the catalogue: canonical spellings of aliased names, and the compiled
patterns (``X()`` an instance of X, ``*`` one segment, ``**`` any) with the user's own entries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bgtask_lint.analysis.calls import CANONICAL, CATALOGUE, NOT_SLOW, CallKind

#: The first segments of the aliases: a name starting with anything else is already canonical.
_ALIAS_HEADS = frozenset(alias.split(".", 1)[0].split("(", 1)[0] for alias in CANONICAL)


@lru_cache(maxsize=1 << 16)
def canonical(name: str) -> str:
    """Rewrite a qualified name to its canonical spelling (longest matching prefix)."""
    if name in CANONICAL:
        return CANONICAL[name]
    if name.split(".", 1)[0].split("(", 1)[0] not in _ALIAS_HEADS:
        return name
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        rest = parts[i:]
        called = head.endswith("()")
        bare = head[:-2] if called else head
        if head in CANONICAL:
            return ".".join([CANONICAL[head], *rest])
        if called and bare in CANONICAL:
            return ".".join([CANONICAL[bare] + "()", *rest])
    return name


@dataclass(frozen=True)
class Catalogue:
    """An immutable, matchable set of patterns (the built-in table plus the user's)."""

    exact: dict[str, CallKind]
    wild: tuple[tuple[LazyPattern, CallKind, int], ...]
    #: NOT_SLOW patterns (minus the ones the user catalogued): a wildcard does not reach them.
    excluded: tuple[LazyPattern, ...] = ()
    #: Exclusions (kind None) then wildcards, bucketed by the literal first segment a name needs.
    _buckets: dict[str, tuple[tuple[LazyPattern, CallKind | None], ...]] = field(
        init=False, repr=False, compare=False
    )
    _generic: tuple[tuple[LazyPattern, CallKind | None], ...] = field(init=False, repr=False, compare=False)
    #: What ``classify`` answered, by name (a project asks about the same few thousand names again and again).
    _known: dict[str, CallKind | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered: list[tuple[LazyPattern, CallKind | None]] = [(p, None) for p in self.excluded]
        ordered += [(p, k) for p, k, _ in self.wild]
        headed = [(entry, _literal_head(entry[0])) for entry in ordered]
        heads = {h for _, h in headed if h is not None}
        # A bucket keeps the global order: its own patterns interleaved with the generic ones.
        buckets = {head: tuple(e for e, h in headed if h in (head, None)) for head in heads}
        object.__setattr__(self, "_buckets", buckets)
        object.__setattr__(self, "_generic", tuple(e for e, h in headed if h is None))

    def classify(self, fqn: str) -> CallKind | None:
        """The kind of work a call to ``fqn`` does, or None when it is not catalogued."""
        try:
            return self._known[fqn]
        except KeyError:
            pass
        name = canonical(fqn)
        found = self.exact.get(name)
        if found is None:
            for pattern, kind in self._buckets.get(name.split(".", 1)[0], self._generic):
                if pattern.fullmatch(name):
                    found = kind
                    break
        self._known[fqn] = found
        return found


def _literal_head(pattern: LazyPattern) -> str | None:
    """The first segment every match of a compiled pattern starts with, or None when it varies."""
    chunk, dot, _ = pattern.pattern.partition(r"\.")
    head = re.sub(r"\\(.)", r"\1", chunk)
    return head if dot and re.escape(head) == chunk else None


class LazyPattern:
    """A catalogue pattern compiled on its first match: the catalogue holds about a thousand, a
    run consults a few dozen, and compiling them all was a fifth of a re-run after an edit."""

    __slots__ = ("pattern", "_regex")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._regex: re.Pattern[str] | None = None

    def fullmatch(self, name: str) -> re.Match[str] | None:
        if self._regex is None:
            self._regex = re.compile(self.pattern)
        return self._regex.fullmatch(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


def _compile(pattern: str) -> LazyPattern:
    out = []
    for i, seg in enumerate(pattern.split(".")):
        sep = r"\." if i else ""
        if seg == "**":
            out.append(r"(?:\.[^.]+)*" if i else r"(?:[^.]+)(?:\.[^.]+)*")
        elif seg == "*":
            out.append(sep + r"[^.]+")
        else:
            out.append(sep + re.escape(seg).replace(r"\*", "[^.]*"))
    return LazyPattern("".join(out))


def build_catalogue(extra: dict[str, CallKind] | None = None) -> Catalogue:
    """The built-in catalogue extended (and overridden) by user patterns."""
    extra = dict(extra or {})
    table = dict(CATALOGUE)
    table.update(extra)
    # Patterns are spelled canonically too, so "sqlmodel.Session().**.first" and
    # "slack_sdk.web.WebClient().*" match what classify() looks up.
    exact = {canonical(k): v for k, v in table.items() if "*" not in k}
    wild_table = {canonical(k): v for k, v in table.items() if "*" in k}
    wild = sorted(
        ((_compile(k), v, len(k)) for k, v in wild_table.items()),
        key=lambda t: -t[2],
    )
    claimed = {canonical(k) for k in extra}
    excluded = tuple(_compile(p) for p in sorted({canonical(p) for p in NOT_SLOW} - claimed))
    return Catalogue(exact, tuple(wild), excluded)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return build_catalogue()
