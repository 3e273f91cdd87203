"""Render findings as text, ruff JSON, GitHub/GitLab annotations, SARIF and JUnit (the only user of rich)."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bgtask_lint.adoption import LINE_BREAK, fingerprint
from bgtask_lint.adoption import relpath as _relpath
from bgtask_lint.models import Diagnostic, Edit, FileError, Location
from bgtask_lint.report.formats import FORMATS

TOOL = "bgtask-lint"
HOMEPAGE = "https://github.com/bgtask-lint/bgtask-lint"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class RuleMeta:
    """What the renderers need to know about a rule."""

    code: str
    name: str
    summary: str
    docs: str
    url: str


@dataclass(frozen=True)
class Report:
    """One run's output: sorted findings, unreadable files, every known rule and the fix counts."""

    diagnostics: tuple[Diagnostic, ...]
    errors: tuple[FileError, ...]
    rules: tuple[RuleMeta, ...]
    fixed: int = 0
    unsafe_fixable_hidden: int = 0
    fixable: int = 0
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)
    root: str = "."


# --------------------------------------------------------------------------- shared helpers


def _portable(path: str, root: str) -> str:
    """``path`` relative to ``root`` with forward slashes, for CI tools."""
    return _relpath(path, root).replace(os.sep, "/")


def _end(d: Diagnostic) -> Location:
    """The end of the reported span, or its start when the end is missing or before it."""
    return max(d.end_location, d.location)


def _error_code(error: FileError) -> str:
    return error.code


def _error_position(error: FileError) -> str:
    """``row:col``, ``row`` or nothing, as far as the error knows."""
    if error.row is None:
        return ""
    return f"{error.row}:{error.column}" if error.column is not None else str(error.row)


def _error_where(error: FileError, path: str) -> str:
    position = _error_position(error)
    return f"{path}:{position}" if position else path


def _applicable(d: Diagnostic, report: Report) -> bool:
    """Whether ``--fix`` as invoked applies the fix: unsafe fixes count only when none are hidden."""
    return d.fix is not None and (d.fix.applicability == "safe" or report.unsafe_fixable_hidden == 0)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _use_color(stream: TextIO, color: bool | None) -> bool:
    """An explicit choice wins; otherwise NO_COLOR disables, FORCE_COLOR enables, else only on a terminal."""
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or _isatty(stream)


def rendering_key(stream: TextIO, color: bool | None) -> tuple[bool] | None:
    """What decides how a report is rendered to ``stream`` besides the report and the format, or None
    for a terminal (its width and colour support can differ from one run to the next)."""
    return None if _isatty(stream) else (_use_color(stream, color),)


def _console(stream: TextIO, color: bool | None, *, soft_wrap: bool = True) -> Console:
    use, tty = _use_color(stream, color), _isatty(stream)
    system = ("auto" if tty else "standard") if use else None  # "auto" respects a dumb terminal
    return Console(
        file=stream, force_terminal=use, no_color=not use, color_system=system, highlight=False, markup=False,
        emoji=False, soft_wrap=soft_wrap, width=None if tty else 100,
    )  # fmt: skip


# --------------------------------------------------------------------------- full and concise text


def _lines(source: str) -> list[str]:
    """Source lines split the way Python counts rows (not on form feeds or Unicode separators)."""
    lines = LINE_BREAK.split(source)
    return lines[:-1] if len(lines) > 1 and not lines[-1] else lines


def _frame(d: Diagnostic, lines: list[str]) -> list[Text]:
    """A code frame: one line of context either side, the span underlined with carets, then the rule name."""
    start, end = d.location, _end(d)
    if not 1 <= start.row <= len(lines):
        return []
    if end.row > len(lines):
        end = Location(len(lines), len(lines[-1]) + 1)
    elif end.row > start.row and end.column <= 1:  # the span stops at the start of a line
        end = Location(end.row - 1, len(lines[end.row - 2]) + 1)
    first, last = max(1, start.row - 1), min(len(lines), end.row + 1)
    width = len(str(last))
    gutter = Text(f"{'':>{width}} |", style="bold blue")
    out = [gutter]
    for row in range(first, last + 1):
        line = lines[row - 1]
        out.append(Text.assemble((f"{row:>{width}} |" + (" " if line else ""), "bold blue"), line))
        if not start.row <= row <= end.row or (not line.strip() and row not in (start.row, end.row)):
            continue
        lo = start.column if row == start.row else len(line) - len(line.lstrip()) + 1
        lo = min(max(lo, 1), len(line) + 1)
        hi = min(end.column if row == end.row else len(line) + 1, len(line) + 1)
        prefix = "".join(c if c == "\t" else " " for c in line[: lo - 1])  # keep tabs so carets line up
        carets = Text.assemble((f"{'':>{width}} | ", "bold blue"), prefix, ("^" * max(1, hi - lo), "bold red"))
        if row == end.row:
            carets.append(f" {d.name}", style="bold red")
        out.append(carets)
    return [*out, gutter]


def _fix_diff(edits: Sequence[Edit], lines: list[str]) -> list[Text]:
    """The lines a fix changes, as ``- old`` / ``+ new`` (nothing when the edits do not fit the source)."""
    first = min(e.location.row for e in edits)
    last = min(max(e.end_location.row for e in edits), len(lines))
    if not 1 <= first <= last:
        return []
    old = lines[first - 1 : last]
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line) + 1)
    text = "\n".join(old)

    def offset(loc: Location) -> int:
        index = loc.row - first
        return len(text) if index >= len(old) else min(starts[index] + loc.column - 1, len(text))

    for edit in sorted(edits, key=lambda e: (e.location, e.end_location), reverse=True):
        text = text[: offset(edit.location)] + edit.content + text[offset(edit.end_location) :]
    new = text.split("\n")
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            out += [Text(f"    - {line}", style="red") for line in old[i1:i2]]
            out += [Text(f"    + {line}", style="green") for line in new[j1:j2]]
    return out


def _header(path: str, position: str, code: str, message: str) -> Text:
    return Text.assemble((path, "bold"), f":{position}: " if position else ": ", (code, "bold red"), f" {message}")


def _diagnostic_text(d: Diagnostic, report: Report, lines: list[str], full: bool, show_fixes: bool) -> list[Text]:
    out = [_header(_relpath(d.path, report.root), f"{d.location.row}:{d.location.column}", d.code, d.message)]
    if full:
        out += _frame(d, lines)
        if d.fix is not None:
            kind = "safe fix" if d.fix.applicability == "safe" else "unsafe fix"
            hint = "" if _applicable(d, report) else ", use --unsafe-fixes"
            out.append(Text.assemble("  = ", ("help", "bold cyan"), f": {d.fix.message} ({kind}{hint})"))
        elif d.no_fix_reason:
            out.append(Text.assemble("  = ", ("note", "bold"), f": no fix offered: {d.no_fix_reason}"))
        if d.chain:
            out.append(Text.assemble("  = ", ("chain", "bold"), ": " + " -> ".join(d.chain)))
    if show_fixes and d.fix is not None and d.fix.edits and lines:
        out += _fix_diff(d.fix.edits, lines)
    return [*out, Text()] if full else out


def _summary(report: Report) -> list[Text]:
    remaining = len(report.diagnostics) + len(report.errors)
    if remaining == 0 and report.fixed == 0:
        return [Text("All checks passed!", style="bold green")]
    total = remaining + report.fixed
    found = f"Found {total} error{'' if total == 1 else 's'}"
    out = [Text(found + (f" ({report.fixed} fixed, {remaining} remaining)." if report.fixed else "."))]
    hidden = report.unsafe_fixable_hidden
    hidden_text = f"{hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the --unsafe-fixes option"
    if report.fixable:
        tail = f" ({hidden_text})." if hidden else "."
        out.append(Text.assemble(("[*]", "bold cyan"), f" {report.fixable} fixable with the --fix option{tail}"))
    elif hidden:
        out.append(Text(f"No fixes available ({hidden_text})."))
    return out


def _statistics(report: Report) -> list[tuple[str, str, int, int]]:
    """``(code, name, count, fixable count)`` per code, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter((d.code, d.name) for d in report.diagnostics)
    counts.update((_error_code(e), "syntax-error" if _error_code(e) == "E999" else "io-error") for e in report.errors)
    fixable = Counter(d.code for d in report.diagnostics if _applicable(d, report))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(code, name, count, fixable[code]) for (code, name), count in ranked]


def render_statistics(report: Report, stream: TextIO, color: bool | None) -> None:
    """Print ``count  code  [*] name`` per rule, most frequent first, like ``ruff --statistics``."""
    console, stats = _console(stream, color), _statistics(report)
    any_fixable = any(fixable for *_, fixable in stats)
    count_width = max((len(str(count)) for _, _, count, _ in stats), default=1)
    code_width = max((len(code) for code, *_ in stats), default=1)
    for code, name, count, fixable in stats:
        marker = ("[*] " if fixable else "[ ] ") if any_fixable else ""
        count_text, code_text = (f"{count:>{count_width}}", "bold"), (f"{code:<{code_width}}", "bold red")
        console.print(Text.assemble(count_text, "  ", code_text, f"  {marker}{name}"))


def render_rule_docs(meta: RuleMeta, stream: TextIO, color: bool | None) -> None:
    """Print a rule's docs: rendered Markdown with colour, the Markdown source otherwise."""
    document = f"# {meta.name} ({meta.code})\n\n{meta.summary}\n\n{meta.docs.strip()}\n"
    if _use_color(stream, color):
        from rich.markdown import (
            Markdown,  # a fifth of the import time of a lint run: only here
        )

        _console(stream, True, soft_wrap=False).print(Markdown(document))  # wrap paragraphs to the width
    else:
        stream.write(document)


def render_rules_json(metas: Sequence[RuleMeta], stream: TextIO) -> None:
    """Every rule as JSON, in the spirit of ``ruff rule --all --output-format json``."""
    rows = [{"code": m.code, "name": m.name, "summary": m.summary, "explanation": m.docs, "url": m.url} for m in metas]
    stream.write(json.dumps(rows, indent=2) + "\n")


def render_rules_table(rules: Sequence[RuleMeta], stream: TextIO, color: bool | None) -> None:
    """Print a table of every rule: code, name and summary."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("Code", style="bold red", no_wrap=True)
    table.add_column("Name", no_wrap=True)
    table.add_column("Summary")
    for meta in rules:
        table.add_row(meta.code, meta.name, meta.summary)
    console = _console(stream, color)
    with console.capture() as capture:
        console.print(table)
    stream.writelines(line.rstrip() + "\n" for line in capture.get().splitlines())  # no cell padding at line ends


def _render_text(report: Report, stream: TextIO, full: bool, color: bool | None, show_fixes: bool) -> None:
    console = _console(stream, color)
    # Without colour, the text is written as it is: rich's rendering (wrapping, measuring cells) cost
    # about a millisecond per finding and adds nothing to uncoloured, unwrapped text.
    def plain(text: Text) -> None:
        text.expand_tabs()  # what rich does before printing
        stream.write(text.plain + "\n")

    emit = console.print if _use_color(stream, color) else plain
    split: dict[str, list[str]] = {}
    for d in report.diagnostics:
        if d.path not in split:
            split[d.path] = _lines(report.sources[d.path]) if d.path in report.sources else []
        emit(Text("\n").join(_diagnostic_text(d, report, split[d.path], full, show_fixes)))
    for e in report.errors:
        emit(_header(_relpath(e.path, report.root), _error_position(e), _error_code(e), e.message))


# --------------------------------------------------------------------------- machine-readable formats


def _loc(loc: Location) -> dict[str, int]:
    return {"column": loc.column, "row": loc.row}


def _ruff_json(report: Report) -> list[dict[str, Any]]:
    """ruff's JSON objects: one per finding, then one with ``code: null`` per file error."""
    urls = {m.code: m.url or None for m in report.rules}
    out: list[dict[str, Any]] = []
    for d in report.diagnostics:
        fix = None
        if d.fix is not None:
            edits = [
                {"content": e.content, "end_location": _loc(e.end_location), "location": _loc(e.location)}
                for e in d.fix.edits
            ]
            fix = {"applicability": d.fix.applicability, "edits": edits, "message": d.fix.message}
        item = {
            "cell": None, "code": d.code, "end_location": _loc(_end(d)), "filename": d.path, "fix": fix,
            "location": _loc(d.location), "message": d.message, "noqa_row": d.location.row, "url": urls.get(d.code),
        }  # fmt: skip
        out.append({**item, "chain": list(d.chain)} if d.chain else item)
    for e in report.errors:
        where = _loc(Location(e.row or 1, e.column or 1))
        out.append({
            "cell": None, "code": None, "end_location": where, "filename": e.path, "fix": None,
            "location": where, "message": e.message, "noqa_row": None, "url": None,
        })  # fmt: skip
    return out


def _github_escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def _github_line(code: str, path: str, props: Mapping[str, int | None], text: str) -> str:
    pairs = [("title", f"{TOOL} ({code})"), ("file", path)]
    pairs += [(key, str(value)) for key, value in props.items() if value is not None]
    head = ",".join(f"{key}={_github_escape(value, prop=True)}" for key, value in pairs)
    return f"::error {head}::{_github_escape(text)}"


def _github(report: Report) -> list[str]:
    out = []
    for d in report.diagnostics:
        path, (row, col), end = _relpath(d.path, report.root), (d.location.row, d.location.column), _end(d)
        props = {"line": row, "col": col, "endLine": end.row, "endColumn": end.column}
        out.append(_github_line(d.code, path, props, f"{path}:{row}:{col}: {d.code} {d.message}"))
    for e in report.errors:
        path, code = _relpath(e.path, report.root), _error_code(e)
        props = {"line": e.row, "col": e.column if e.row is not None else None}
        out.append(_github_line(code, path, props, f"{_error_where(e, path)}: {code} {e.message}"))
    return out


def _gitlab(report: Report) -> list[dict[str, Any]]:
    """GitLab Code Quality issues; repeated fingerprints get their occurrence number mixed in."""
    seen: Counter[str] = Counter()

    def issue(code: str, message: str, path: str, lines: tuple[int, int], base: str) -> dict[str, Any]:
        occurrence, seen[base] = seen[base], seen[base] + 1
        unique = hashlib.sha256(f"{base}:{occurrence}".encode()).hexdigest()[:16] if occurrence else base
        location = {"path": _portable(path, report.root), "lines": {"begin": lines[0], "end": lines[1]}}
        return {
            "description": f"{code}: {message}", "check_name": code, "fingerprint": unique,
            "severity": "major", "location": location,
        }  # fmt: skip

    out = [
        issue(d.code, d.message, d.path, (d.location.row, _end(d).row), fingerprint(d, report.root))
        for d in report.diagnostics
    ]
    for e in report.errors:
        code, row = _error_code(e), e.row or 1
        base = hashlib.sha256("\0".join((code, _portable(e.path, report.root), e.message)).encode()).hexdigest()
        out.append(issue(code, e.message, e.path, (row, row), base[:16]))
    return out


def _artifact(path: str, root: str) -> dict[str, str]:
    """A SARIF artifact location: a URI relative to ``%SRCROOT%``, or a ``file:`` URI outside ``root``."""
    rel = _relpath(path, root)
    if os.path.isabs(rel):
        return {"uri": Path(rel).as_uri()}
    return {"uri": quote(rel.replace(os.sep, "/")), "uriBaseId": "%SRCROOT%"}


def _region(start: Location, end: Location) -> dict[str, int]:
    return {
        "startLine": max(start.row, 1), "startColumn": max(start.column, 1),
        "endLine": max(end.row, 1), "endColumn": max(end.column, 1),
    }  # fmt: skip


def _sarif_rule(meta: RuleMeta) -> dict[str, Any]:
    docs = meta.docs or meta.summary
    rule: dict[str, Any] = {
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": docs},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": "error"},
    }
    return rule | {"helpUri": meta.url} if meta.url else rule


def _sarif_result(d: Diagnostic, root: str, rule_index: Mapping[str, int]) -> dict[str, Any]:
    artifact = _artifact(d.path, root)
    location = {"artifactLocation": artifact, "region": _region(d.location, _end(d))}
    result: dict[str, Any] = {"ruleId": d.code}
    if d.code in rule_index:
        result["ruleIndex"] = rule_index[d.code]
    result["level"] = "error"
    result["message"] = {"text": d.message}
    result["locations"] = [{"physicalLocation": location}]
    result["partialFingerprints"] = {"bgtaskLint/v1": fingerprint(d, root)}
    if d.fix is not None and d.fix.edits:
        replacements = [
            {"deletedRegion": _region(e.location, e.end_location), "insertedContent": {"text": e.content}}
            for e in d.fix.edits
        ]
        change = {"artifactLocation": artifact, "replacements": replacements}
        result["fixes"] = [{"description": {"text": d.fix.message}, "artifactChanges": [change]}]
    return result


def _sarif_notification(error: FileError, root: str) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(error.path, root)}
    if error.row is not None:
        physical["region"] = {"startLine": max(error.row, 1)}
        if error.column is not None:
            physical["region"]["startColumn"] = max(error.column, 1)
    message = {"text": error.message}
    locations = [{"physicalLocation": physical}]
    return {"level": "error", "message": message, "descriptor": {"id": _error_code(error)}, "locations": locations}


def _sarif(report: Report) -> dict[str, Any]:
    try:
        from bgtask_lint import __version__ as version
    except ImportError:  # pragma: no cover - a broken install
        version = "0"
    rule_index = {m.code: i for i, m in enumerate(report.rules)}
    rules = [_sarif_rule(m) for m in report.rules]
    invocation = {
        "executionSuccessful": True,
        "toolExecutionNotifications": [_sarif_notification(e, report.root) for e in report.errors],
    }
    run = {
        "tool": {"driver": {"name": TOOL, "informationUri": HOMEPAGE, "version": version, "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(d, report.root, rule_index) for d in report.diagnostics],
        "invocations": [invocation],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _junit(report: Report) -> str:
    def clean(value: str) -> str:
        return _XML_INVALID.sub("\ufffd", value)

    def case(name: str, path: str, tag: str, code: str, message: str, text: str) -> None:
        element = ET.SubElement(suite, "testcase", {"name": name, "classname": path})
        ET.SubElement(element, tag, {"message": clean(message), "type": code}).text = clean(text)

    findings, errors = len(report.diagnostics), len(report.errors)
    counts = {"tests": str(max(findings + errors, 1)), "failures": str(findings), "errors": str(errors)}
    suites = ET.Element("testsuites", {"name": TOOL, **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": TOOL, **counts})
    for d in report.diagnostics:
        path = _relpath(d.path, report.root)
        where = f"{path}:{d.location.row}:{d.location.column}"
        case(f"{d.code} {where}", path, "failure", d.code, d.message, f"{where}: {d.message}")
    for e in report.errors:
        path, code = _relpath(e.path, report.root), _error_code(e)
        where = _error_where(e, path)
        case(f"{code} {where}", path, "error", code, e.message, f"{where}: {e.message}")
    if not findings and not errors:
        ET.SubElement(suite, "testcase", {"name": TOOL, "classname": TOOL})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- entry point


def render(report: Report, fmt: str, stream: TextIO, *, color: bool | None = None, statistics: bool = False,
           show_fixes: bool = False, quiet: bool = False) -> None:  # fmt: skip
    """Write ``report`` to ``stream`` in output format ``fmt`` (one of ``FORMATS``).

    ``statistics`` prints per-rule counts instead of the findings (a JSON list for ``json``, like ruff);
    ``show_fixes`` adds the lines each available fix would change (full and concise); ``quiet`` drops
    the summary. Colour (full, concise, statistics) follows ``color``, or the stream and environment.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if statistics and fmt == "json":
        stats = [
            {"code": code, "name": name, "count": count, "fixable": fixable > 0, "fixable_count": fixable}
            for code, name, count, fixable in _statistics(report)
        ]
        stream.write(json.dumps(stats, indent=2) + "\n")
    elif statistics or fmt in ("full", "concise"):
        if statistics:
            render_statistics(report, stream, color)
        else:
            _render_text(report, stream, fmt == "full", color, show_fixes)
        if not quiet:
            console = _console(stream, color)
            for line in _summary(report):
                console.print(line)
    elif fmt in ("json", "json-lines"):
        items = _ruff_json(report)
        if fmt == "json":
            stream.write(json.dumps(items, indent=2, sort_keys=True) + "\n")
        else:
            stream.writelines(json.dumps(item, sort_keys=True, separators=(",", ":")) + "\n" for item in items)
    elif fmt == "github":
        stream.writelines(line + "\n" for line in _github(report))
    elif fmt == "gitlab":
        stream.write(json.dumps(_gitlab(report), indent=2) + "\n")
    elif fmt == "sarif":
        stream.write(json.dumps(_sarif(report), indent=2) + "\n")
    else:
        stream.write(_junit(report))
