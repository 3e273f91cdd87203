"""Which files can matter to a run, found with a text scan and no parsing.

A file matters when it can hold routes, dependencies or background tasks (it creates an app or a
router, declares a dependency, uses the task API or registers a route), or when such a file
imports it, transitively. Code that nothing on that side imports cannot be on a request path, so
it is never summarised: in a monorepo that is most of the tree (CLIs, workers, scripts, client
SDKs). Such files are still checked to parse when they are linted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Words a module must contain to hold a route, a dependency or a background task. A file that only
#: imports ``HTTPException`` from FastAPI holds none of them: it is analysed when a seed imports it.
SEED_WORDS = (
    b"APIRouter", b"FastAPI", b"Starlette", b"BackgroundTask", b"add_task", b"Depends", b"Security",
    b"create_task", b"ensure_future", b"add_api_route", b"add_api_websocket_route", b"add_route",
    b"add_websocket_route", b"include_router", b"Route(",
)  # fmt: skip
#: A route decorator on a router imported under any name: ``@api.post("/x")``.
ROUTE_DECORATOR = re.compile(
    rb"@[ \t]*[\w.]+\.(?:get|post|put|patch|delete|options|head|trace|api_route|websocket|route)[ \t]*\("
)


def is_seed(text: bytes) -> bool:
    """The text can hold a route, a dependency or a task (substring searches: several times faster
    than one regex with all the words as alternatives)."""
    if any(word in text for word in SEED_WORDS):
        return True
    at = text.find(b"@")
    while at >= 0:
        if ROUTE_DECORATOR.match(text, at):
            return True
        at = text.find(b"@", at + 1)
    return False


IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]*)"
    rb"|import[ \t]+(?P<mods>[^\n#;]+))",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Module:
    path: str
    name: str
    is_package: bool
    aliases: tuple[str, ...] = ()


#: What the scan of one file found: (can hold routes or tasks, names it imports).
Scan = tuple[bool, tuple[str, ...]]


def scan(module: Module, text: bytes) -> Scan:
    return is_seed(text), tuple(imported_names(module, text))


def relevant(modules: Iterable[Module], texts: Mapping[str, bytes], seeds: Iterable[str] = (),
             scans: Mapping[str, Scan] | None = None) -> set[str]:  # fmt: skip
    """Paths of the modules reachable by import from ``seeds`` and from every module that mentions
    FastAPI or background tasks. ``scans`` holds each module's :func:`scan` by path when known."""
    modules = list(modules)
    scans = scans if scans is not None else {m.path: scan(m, texts.get(m.path, b"")) for m in modules}
    by_name: dict[str, list[Module]] = {}
    for m in modules:
        for name in (m.name, *m.aliases):
            by_name.setdefault(name, []).append(m)
    seeds = set(seeds)
    todo = [m for m in modules if m.path in seeds or scans[m.path][0]]
    found: set[str] = set()
    while todo:
        m = todo.pop()
        if m.path in found:
            continue
        found.add(m.path)
        for name in scans[m.path][1]:
            # ``a.b.c`` may be a module, or a name in module ``a.b``; ``a.b`` itself runs ``a/__init__``
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                for hit in by_name.get(".".join(parts[:i]), ()):
                    if hit.path not in found:
                        todo.append(hit)
    return found


def imported_names(module: Module, text: bytes) -> list[str]:
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    out: list[str] = []
    for match in IMPORT.finditer(text):
        if match.group("mods") is not None:
            for chunk in match.group("mods").split(b","):
                words = chunk.split()
                if words:
                    out.append(words[0].decode("ascii", "ignore"))
            continue
        base = match.group("base").decode("ascii", "ignore")
        level = len(base) - len(base.lstrip("."))
        if level:
            anchor = package[: len(package) - (level - 1)] if level - 1 <= len(package) else []
            rest = base.lstrip(".")
            base = ".".join([*anchor, rest] if rest else anchor)
        names = match.group("names").strip(b"() \t\r\n")
        out.append(base)
        for chunk in names.split(b","):
            words = chunk.split()
            if words and words[0] != b"*":
                out.append(f"{base}.{words[0].decode('ascii', 'ignore')}" if base else words[0].decode("ascii", "ignore"))
    return out
