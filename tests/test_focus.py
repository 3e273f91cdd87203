"""Naming a few files (as pre-commit does) gives exactly the findings a whole-project run gives for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgtask_lint.config import Config
from bgtask_lint.engine import run

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
FILES = sorted(str(p) for p in SHOP.rglob("*.py"))


def _key(d):
    return (d.path, d.code, d.location, d.message)


@pytest.fixture(scope="module")
def whole() -> dict[str, list]:
    result = run([str(SHOP)], Config(), use_cache=False)
    out: dict[str, list] = {}
    for d in result.diagnostics:
        out.setdefault(d.path, []).append(_key(d))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(SHOP)))
def test_one_file_matches_the_whole_project_run(path: str, whole: dict[str, list]) -> None:
    result = run([path], Config(), use_cache=False)
    assert result.index is not None and result.index.focus == frozenset({path})
    assert [_key(d) for d in result.diagnostics] == whole.get(path, [])


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
    assert {d.code for d in result.diagnostics} >= {"BGT102", "BGT201"}
