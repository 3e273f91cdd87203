"""Adopting the linter on legacy code: stable fingerprints, baselines, and ``--add-noqa``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bgtask_lint.models import Diagnostic

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
BASELINE_VERSION = 1
#: The line ends Python's tokenizer knows (not a form feed or U+2028, which str.splitlines splits on).
LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def relpath(path: str, root: str) -> str:
    """``path`` relative to ``root`` when it lies inside it, else unchanged."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return path
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def fingerprint(d: Diagnostic, root: str | None = None) -> str:
    """A finding's identity that survives line shifts: code, path, enclosing function and call text.

    Whitespace is dropped from the call text, so reformatting a call does not change it. With ``root``
    the path is taken relative to it, so that checkouts in different places agree.
    """
    path = (relpath(d.path, root) if root is not None else d.path).replace("\\", "/")
    payload = "\0".join((d.code, path, d.function, "".join(d.snippet.split())))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class BaselineError(Exception):
    pass


@dataclass(frozen=True)
class Baseline:
    counts: Counter[str]

    def filter(self, diagnostics: Iterable[Diagnostic], root: str) -> list[Diagnostic]:
        """The findings that are new: each baseline entry absorbs one matching finding."""
        left = Counter(self.counts)
        out = []
        for d in diagnostics:
            key = fingerprint(d, root)
            if left[key] > 0:
                left[key] -= 1
            else:
                out.append(d)
        return out


def write_baseline(path: Path, diagnostics: Iterable[Diagnostic], root: str) -> int:
    entries = [
        {"code": d.code, "path": relpath(d.path, root).replace(os.sep, "/"), "function": d.function,
         "message": d.message, "fingerprint": fingerprint(d, root)}
        for d in diagnostics
    ]  # fmt: skip
    data = {"version": BASELINE_VERSION, "tool": "bgtask-lint", "findings": entries}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return len(entries)


def load_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != BASELINE_VERSION:
            raise BaselineError(f"{path}: unsupported baseline version {data.get('version')!r}")
        return Baseline(Counter(entry["fingerprint"] for entry in data["findings"]))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"{path}: not a bgtask-lint baseline ({exc})") from None


def add_noqa_to_source(text: str, diagnostics: Iterable[Diagnostic]) -> str:
    """Append ``# noqa: CODE`` to each reported line (merging with an existing noqa comment)."""
    codes: dict[int, set[str]] = {}
    for d in diagnostics:
        codes.setdefault(d.location.row, set()).add(d.code)
    # Python's own line ends only: a form feed or U+2028 inside a line does not start a new one
    lines = LINES.findall(text)
    for row, wanted in codes.items():
        if not 0 < row <= len(lines):
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = NOQA.search(body)
        if match is not None and not match.group("codes"):
            continue  # a bare noqa already silences everything
        if match is not None:
            merged = sorted({c.strip().upper() for c in match.group("codes").split(",")} | wanted)
            body = body[: match.start()] + "# noqa: " + ", ".join(merged) + body[match.end():]
        elif body.rstrip().endswith("\\"):
            continue  # a comment cannot follow a line continuation
        else:
            body = f"{body}  # noqa: {', '.join(sorted(wanted))}"
        lines[row - 1] = body + ending
    return "".join(lines)


def noqa_codes(line: str) -> frozenset[str] | None:
    """None: no noqa comment; empty set: bare ``# noqa``; else the codes it names."""
    match = NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return frozenset(c.strip().upper() for c in codes.split(",")) if codes else frozenset()
