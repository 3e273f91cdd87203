"""Fixture discovery and annotation parsing shared by the fixture tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
ANNOTATION = re.compile(r"#\s*error:\s*(?P<names>[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")
CONFIG = re.compile(r"^#\s*config:\s*(?P<toml>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Fixture:
    rule: str  # the folder: the rule's name in snake_case (or "fixes")
    path: Path  # a file, or a package directory
    root: Path  # what the index covers

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.path.name}"

    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*.py") if not p.name.endswith(".fixed.py"))
        return [self.path]

    def expected(self) -> list[tuple[str, int, str]]:
        out = []
        for f in self.files():
            for row, line in enumerate(f.read_text().splitlines(), 1):
                m = ANNOTATION.search(line)
                if m:
                    out.extend((str(f), row, n.strip()) for n in m.group("names").split(","))
        return sorted(out)

    def config_toml(self) -> str:
        lines = []
        for f in self.files():
            lines += [m.group("toml") for m in CONFIG.finditer(f.read_text())]
        return "\n".join(lines)


def collect(rule_dirs: list[str] | None = None) -> list[Fixture]:
    out = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        if folder.name == "fixes" or (rule_dirs and folder.name not in rule_dirs):
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(("_", ".")) or entry.name.endswith(".fixed.py"):
                continue
            if entry.is_dir() or entry.suffix == ".py":
                out.append(Fixture(folder.name, entry, entry))
    return out
