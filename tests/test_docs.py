"""Documentation that must not go stale."""

from __future__ import annotations

from pathlib import Path

from bgtask_lint.ruledocs import markdown

ROOT = Path(__file__).resolve().parents[1]


def test_rules_md_is_generated_from_the_rules() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == markdown(), (
        "docs/rules.md is stale: run `python -m bgtask_lint.ruledocs > docs/rules.md`"
    )


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    assert "bgtask-lint check examples/" in blocks[0]
    assert "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1] in ci, ".ci/run must run exactly the README's test command"
