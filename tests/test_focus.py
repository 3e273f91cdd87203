"""Naming a few files (as pre-commit does) gives exactly the findings a whole-project run gives for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgtask_lint.config import Config
from bgtask_lint.pipeline.run import Result, run

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
FILES = sorted(str(p) for p in SHOP.rglob("*.py"))


def _key(d):
    return (d.path, d.code, d.location, d.message)


@pytest.fixture(scope="module")
def whole() -> Result:
    return run([str(SHOP)], Config(), use_cache=False)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(SHOP)))
def test_one_file_gives_the_whole_project_findings_it_causes(path: str, whole: Result) -> None:
    """Its own findings, and those elsewhere whose chain passes through one of its functions."""
    assert whole.index is not None
    result = run([path], Config(), use_cache=False)
    assert result.index is not None and path in (result.index.focus or ())
    caused = [d for d in whole.diagnostics
              if d.path == path or any(whole.index.functions[f].module.path == path for f in d.via)]  # fmt: skip
    assert [_key(d) for d in result.diagnostics] == [_key(d) for d in caused]


def test_a_helper_changed_alone_reports_the_handler_it_makes_slow(whole: Result) -> None:
    helper = str(SHOP / "app" / "services" / "email.py")
    result = run([helper], Config(), use_cache=False)
    elsewhere = {(Path(d.path).name, d.code) for d in result.diagnostics if d.path != helper}
    assert elsewhere and all(d.path != helper for d in result.diagnostics if d.code == "BGT101")
    assert ("users.py", "BGT101") in elsewhere


def test_a_rule_that_crashes_on_one_file_is_reported_against_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from bgtask_lint.rules.deferrable_work_in_response import DeferrableWorkInResponse

    original = DeferrableWorkInResponse.check

    def fragile(self, ctx):
        for d in original(self, ctx):
            if d.path.endswith("orders.py"):
                raise RuntimeError("boom")
            yield d

    monkeypatch.setattr(DeferrableWorkInResponse, "check", fragile)
    result = run([str(SHOP)], Config(), use_cache=False)
    crashed = [e for e in result.errors if "internal error in BGT101" in e.message]
    assert [e.path for e in crashed] == [str(SHOP / "app" / "api" / "orders.py")]
    assert "boom" in crashed[0].message
    bgt101 = {d.path for d in result.diagnostics if d.code == "BGT101"}
    assert str(SHOP / "app" / "api" / "users.py") in bgt101  # the other files still get their findings
    without_orders = [d for d in run([str(SHOP)], Config(), use_cache=False).diagnostics
                      if not (d.code == "BGT101" and d.path.endswith("orders.py"))]  # fmt: skip
    assert result.diagnostics == without_orders  # every other finding, exactly
