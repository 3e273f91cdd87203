"""Every fixture: the annotated lines are exactly the findings; ``# noqa`` silences each one."""

from __future__ import annotations

import re
import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from fixtures import ANNOTATION, Fixture, collect

from bgtask_lint.config import Config, parse_table
from bgtask_lint.pipeline.run import run
from bgtask_lint.rules import all_rules

CASES = collect()
CODES = {r.name: r.code for r in all_rules()}


def _config(case: Fixture) -> Config:
    toml = case.config_toml()
    if not toml:
        return Config()
    return parse_table(tomllib.loads(toml), str(case.path), set(CODES.values()))


def lint(case: Fixture, overlay: dict[str, str] | None = None) -> list[tuple[str, int, str]]:
    result = run([str(f) for f in case.files()], _config(case), use_cache=False, project_root=case.root, overlay=overlay)
    assert not result.errors, result.errors
    return sorted((d.path, d.location.row, d.name) for d in result.diagnostics)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fixture(case: Fixture) -> None:
    assert lint(case) == case.expected()


@pytest.mark.parametrize("case", [c for c in CASES if c.expected()], ids=lambda c: c.id)
def test_noqa_silences(case: Fixture) -> None:
    overlay = {}
    for f in case.files():
        text = f.read_text()
        overlay[str(f)] = ANNOTATION.sub(
            lambda m: "# noqa: " + ", ".join(CODES[n.strip()] for n in m.group("names").split(",")), text
        )
    assert lint(case, overlay) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fixture_compiles(case: Fixture) -> None:
    for f in case.files():
        compile(f.read_text(), str(f), "exec", dont_inherit=True)


def test_every_rule_has_fixtures() -> None:
    folders = {c.rule for c in CASES}
    missing = [r.name for r in all_rules() if r.name.replace("-", "_") not in folders]
    assert not missing, missing


def test_annotations_name_real_rules() -> None:
    for case in CASES:
        for _, _, name in case.expected():
            assert name in CODES, f"{case.id}: unknown rule name {name!r}"
            assert re.fullmatch(r"[a-z0-9-]+", name)
