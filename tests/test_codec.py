"""The cache's data-only format: every stored shape comes back equal, anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import FIXTURES

from bgtask_lint import codec
from bgtask_lint.config import Config
from bgtask_lint.models import Arg, Binding, CallSite, Diagnostic, Fix, Location, Usage
from bgtask_lint.pipeline.run import Result, run


@pytest.mark.slow  # several seconds: left out of the fast run
def test_facts_of_every_fixture_come_back_equal() -> None:
    result = run([FIXTURES], Config(), use_cache=False)
    assert result.index is not None
    modules = list(result.index.modules)
    assert len(modules) > 50
    for facts in modules:
        assert codec.loads(codec.dumps(facts)) == facts


def test_a_result_comes_back_equal_with_its_containers_and_types() -> None:
    fix = Fix("unsafe", "Move", "move", 3)
    diagnostic = Diagnostic("BGT101", "name", "message", "/p/app.py", 3, Location(2, 5), Location(2, 9), fix,
                            chain=("a", "b"), function="app.h")  # fmt: skip
    result = Result([diagnostic], [], ["/p/app.py"], {"/p/app.py": "x = 1\n"}, project_root=Path("/p"))
    back = codec.loads(codec.dumps(result))
    assert back == result and isinstance(back.project_root, Path) and isinstance(back.diagnostics, list)
    value = {b"\x00digest": (1, None, frozenset({"a", "b"})), ("k", 2): {3, 4}, "usage": Usage.DISCARDED, "path": Path("x")}
    assert codec.loads(codec.dumps(value)) == value
    call = CallSite(1, "requests.post", 0, args=(Arg(None, "url"),), usage=Usage.DISCARDED)
    binding = Binding("call", "requests.Session")
    assert codec.loads(codec.dumps((call, binding))) == (call, binding)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'["D:Popen", "ls"]', id="a class that is not stored"),
        pytest.param(b'["D:Location", 1]', id="a stored class with too few fields"),
        pytest.param(b'["E:Location", 1]', id="a dataclass named as an enum"),
        pytest.param(b'{"__reduce__": 1}', id="a JSON object"),
        pytest.param(b'["t", {"a": 1}]', id="a JSON object inside"),
        pytest.param(b'["x", 1]', id="an unknown tag"),
        pytest.param(b'["d", 1]', id="a dict with an odd number of items"),
        pytest.param(b"\x80\x04K\x01.", id="a pickle"),
        pytest.param(b'["t", ' * 100_000 + b"1" + b"]" * 100_000, id="nesting too deep"),
    ],
)
def test_anything_the_format_does_not_write_is_invalid(payload: bytes) -> None:
    with pytest.raises(codec.Invalid):
        codec.loads(payload)


def test_a_value_of_a_type_that_is_not_stored_cannot_be_written() -> None:
    with pytest.raises(TypeError, match="cannot hold a object"):
        codec.dumps([object()])
