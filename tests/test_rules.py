"""Meta-checks over every rule: identity, complete docs, and examples that behave as labelled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bgtask_lint.config import Config
from bgtask_lint.pipeline.run import run
from bgtask_lint.rules import DOC_HEADINGS, all_rules

RULES = all_rules()
FIXTURES = Path(__file__).parent / "fixtures"


def _block(docs: str, heading: str) -> str:
    section = docs.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no code block under {heading}"
    return match.group(1)


def _lint(tmp_path: Path, code: str, source: str) -> list[str]:
    path = tmp_path / "example_app.py"
    path.write_text(source)
    result = run([str(path)], Config(), use_cache=False, project_root=path)
    assert not result.errors, result.errors
    return [d.code for d in result.diagnostics if d.code == code]


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_identity(rule) -> None:
    assert re.fullmatch(r"BGT[12]\d\d", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.name)
    assert not rule.__name__.endswith("Rule")
    assert "\n" not in rule.summary
    module = rule.__module__.rsplit(".", 1)[1]
    assert module == rule.name.replace("-", "_"), "the module is named after the rule"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_docs_have_every_heading_in_order(rule) -> None:
    docs = rule.docs()
    positions = [docs.find(f"## {h}") for h in DOC_HEADINGS]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_example_triggers_and_use_instead_does_not(rule, tmp_path: Path) -> None:
    docs = rule.docs()
    assert _lint(tmp_path, rule.code, _block(docs, "Example")), "the Example must trigger the rule"
    assert not _lint(tmp_path, rule.code, _block(docs, "Use instead")), "Use instead must not trigger it"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_has_a_fixture_folder(rule) -> None:
    folder = FIXTURES / rule.name.replace("-", "_")
    assert folder.is_dir() and any(folder.iterdir())
