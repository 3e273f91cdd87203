"""Where a fix's new import goes: its section (as isort and ruff order them), in order where the
section was sorted, so that ``ruff check --select I`` has nothing new to say about fixed code."""

from __future__ import annotations

import sys

import libcst as cst

from bgtask_lint.facts.summarize import dotted

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)
_STDLIB = frozenset(sys.stdlib_module_names)


def add_import(module: cst.Module, code: str, first_party: frozenset[str] = frozenset()) -> cst.Module:
    """``module`` with the import statement ``code`` in the leading import block: in the group of its
    section (sorted in when that group is sorted, else last), or as a new group between the sections
    before and after it, blank lines around."""
    new = cst.parse_statement(code, module.config_for_parsing)
    body = list(module.body)
    # the module already imports from the same package further down (after a ``warnings.filterwarnings``
    # that must run first, say): the new import joins the import block that holds them
    top = _top(new)
    kin = [i for i, stmt in enumerate(body) if is_import(stmt) and _top(stmt) == top]
    if kin and any(not is_import(stmt) and not is_docstring(stmt) for stmt in body[: kin[0]]):
        start = kin[-1]
        while start > 0 and is_import(body[start - 1]):
            start -= 1
    else:
        start = 1 if body and is_docstring(body[0]) else 0
    end = start
    while end < len(body) and is_import(body[end]):
        end += 1
    block = body[start:end]
    want = _section(new, first_party)
    sections = [_section(s, first_party) for s in block]
    same = [i for i, section in enumerate(sections) if section == want]
    if same:
        lo, hi = same[0], same[-1]
        keys = [_sort_key(s) for s in block[lo : hi + 1]]
        at = hi + 1
        if keys == sorted(keys):
            at = lo + next((i for i, key in enumerate(keys) if key > _sort_key(new)), len(keys))
        if at == lo:  # the group's new first line takes over the lines before the group
            new = new.with_changes(leading_lines=block[lo].leading_lines)
            block[lo] = block[lo].with_changes(leading_lines=())
    else:
        at = next((i for i, section in enumerate(sections) if section > want), len(block))
        if at == 0 and block:
            new = new.with_changes(leading_lines=block[0].leading_lines)
            block[0] = block[0].with_changes(leading_lines=[cst.EmptyLine()])
        elif at == 0 and end < len(body):  # a module without imports: its code moves down
            gap = 2 if isinstance(body[end], (cst.FunctionDef, cst.ClassDef)) else 1
            new = new.with_changes(leading_lines=body[end].leading_lines)
            body[end] = body[end].with_changes(leading_lines=[cst.EmptyLine()] * gap)
        elif at > 0:
            new = new.with_changes(leading_lines=[cst.EmptyLine()])
            if at < len(block) and not block[at].leading_lines:
                block[at] = block[at].with_changes(leading_lines=[cst.EmptyLine()])
    block.insert(at, new)
    return module.with_changes(body=[*body[:start], *block, *body[end:]])


def is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )  # fmt: skip


def is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def imported_from(module: cst.Module, sources: tuple[str, ...], name: str) -> tuple[cst.ImportFrom | None, str | None]:
    """(the first module-level ``from <source> import ...``, the local name ``name`` is imported as), each
    None when absent: what a fix reuses or merges into before it adds an import."""
    first: cst.ImportFrom | None = None
    for stmt in module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.ImportFrom) and not small.relative and not isinstance(small.names, cst.ImportStar) \
                    and dotted(small.module) in sources:  # fmt: skip
                first = first or small
                for alias in small.names:
                    if alias.evaluated_name == name:
                        return first, alias.evaluated_alias or name
    return first, None


def _section(stmt: cst.CSTNode, first_party: frozenset[str]) -> int:
    small = stmt.body[0]  # type: ignore[attr-defined]
    if isinstance(small, cst.ImportFrom):
        if small.relative:
            return LOCAL
        name = dotted(small.module) or ""
    else:
        name = dotted(small.names[0].name) or ""
    top = name.split(".")[0]
    if top == "__future__":
        return FUTURE
    if top in _STDLIB:
        return STDLIB
    return FIRST_PARTY if top in first_party else THIRD_PARTY


def _top(stmt: cst.CSTNode) -> str:
    small = stmt.body[0]  # type: ignore[attr-defined]
    if isinstance(small, cst.ImportFrom):
        return "." if small.relative else (dotted(small.module) or "").split(".")[0]
    return (dotted(small.names[0].name) or "").split(".")[0]


def _sort_key(stmt: cst.CSTNode) -> tuple[bool, str]:
    """isort's and ruff's default order in a section: ``import x`` lines first, then ``from x import``,
    each by module name, case folded."""
    small = stmt.body[0]  # type: ignore[attr-defined]
    if isinstance(small, cst.ImportFrom):
        return True, ("." * len(small.relative) + (dotted(small.module) or "")).lower()
    return False, (dotted(small.names[0].name) or "").lower()


def drop_unused(module: cst.Module, names: set[str]) -> cst.Module:
    """``module`` without the top-level imports of ``names`` that nothing reads any more (a fix removed
    their last use); a removed statement's leading lines (a blank line after the docstring) stay."""
    used = _names_read(module)
    body = list(module.body)
    out: list[cst.BaseStatement] = []
    carry: tuple[cst.EmptyLine, ...] | None = None
    for stmt in body:
        if carry is not None:
            stmt = stmt.with_changes(leading_lines=carry)
            carry = None
        if is_import(stmt) and len(stmt.body) == 1:  # type: ignore[attr-defined]
            small = stmt.body[0]  # type: ignore[attr-defined]
            if not isinstance(small.names, cst.ImportStar):
                keep = [a for a in small.names if _bound(a) not in names or _bound(a) in used]
                if not keep:
                    carry = tuple(stmt.leading_lines)
                    continue
                if len(keep) != len(small.names):
                    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    stmt = stmt.with_changes(body=[small.with_changes(names=keep)])
        out.append(stmt)
    return module.with_changes(body=out)


def _bound(alias: cst.ImportAlias) -> str:
    return (alias.evaluated_alias or alias.evaluated_name).split(".")[0]


def _names_read(module: cst.Module) -> set[str]:
    """Every plain name the module reads outside its import statements."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    module.visit(Names())
    return found
