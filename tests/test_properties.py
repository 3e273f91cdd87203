"""Property tests: generated modules never crash the linter, and every fix converges to code that parses.

Two generators:

* hypothesmith's grammar-based generators give arbitrary valid Python (weird, but compilable);
  linting such a module must never raise, never report an internal error, and never report a
  parse error for a file libcst parses.
* a small grammar of FastAPI-shaped modules (handlers async and sync, with statements drawn from
  the patterns the rules care about) exercises the rules and the fixes: every fixed text must
  compile, and re-linting it must leave no fixable finding and no new error.

The default profile keeps the whole module well under a minute; ``BGTASK_LINT_FUZZ=long`` runs
many more examples (for a nightly job or before a release).
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bgtask_lint.config import Config
from bgtask_lint.fixes.apply import apply_fixes, with_edits
from bgtask_lint.pipeline.run import Result, run

# Profiles: "bgtask-lint" (the default: the whole module in well under a minute) and
# "bgtask-lint-long" (BGTASK_LINT_FUZZ=long: thousands of examples, for a nightly job). They are
# applied per test through ``fuzz(...)``, so other test modules keep hypothesis' own defaults.
SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("bgtask-lint", deadline=None, suppress_health_check=SLOW_OK, print_blob=True)
settings.register_profile("bgtask-lint-long", deadline=None, suppress_health_check=SLOW_OK, print_blob=True)
LONG = os.environ.get("BGTASK_LINT_FUZZ") == "long"
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles odd code
PROFILE = settings.get_profile("bgtask-lint-long" if LONG else "bgtask-lint")


def fuzz(default: int, long: int) -> settings:
    """Settings for one property: ``default`` examples normally, ``long`` under BGTASK_LINT_FUZZ=long."""
    return settings(PROFILE, max_examples=long if LONG else default)


# --------------------------------------------------------------------------- helpers


class Project:
    """A throwaway one-file project; each example overwrites the file's text through ``overlay``."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="bgtask-props-")
        self.root = Path(self.dir.name).resolve()
        (self.root / "pyproject.toml").write_text('[project]\nname = "fuzz"\nversion = "0"\n')
        self.path = self.root / "app.py"
        self.path.write_text("")

    def lint(self, source: str) -> Result:
        return run([self.path], Config(), use_cache=False, project_root=self.root, overlay={str(self.path): source})


@pytest.fixture(scope="module")
def project() -> Project:
    p = Project()
    yield p  # type: ignore[misc]
    p.dir.cleanup()


def libcst_parses(source: str) -> bool:
    try:
        cst.parse_module(source)
    except Exception:  # noqa: BLE001 - any refusal: not this test's input
        return False
    return True


def compiles(source: str) -> str | None:
    """None if CPython compiles ``source``, else the error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<fixed>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"{exc.msg} at line {exc.lineno}"
    return None


def assert_clean_errors(result: Result, source: str) -> None:
    """No internal error, no parse error (libcst parsed it), no failure to locate a finding: the only
    acceptable file error for valid code is nesting too deep for Python's recursion limit."""
    unexpected = [e for e in result.errors if not e.message.startswith("too deeply nested")]
    assert not unexpected, f"{unexpected}\n--- source\n{source}"


# --------------------------------------------------------------------------- arbitrary valid Python


@fuzz(default=25, long=3000)
@given(source=hypothesmith.from_grammar())
def test_arbitrary_grammar_modules_never_crash(project: Project, source: str) -> None:
    assume(libcst_parses(source))
    result = project.lint(source)  # raising here is the failure
    assert_clean_errors(result, source)


@fuzz(default=10, long=500)
@given(source=hypothesmith.from_node())
def test_arbitrary_node_modules_never_crash(project: Project, source: str) -> None:
    assume(libcst_parses(source))
    result = project.lint(source)
    assert_clean_errors(result, source)


FASTAPI_HEADER = '''\
import asyncio
import logging
import time

import requests
from fastapi import BackgroundTasks, FastAPI

logger = logging.getLogger(__name__)
app = FastAPI()


def helper(x=None):
    requests.post("https://hooks.example.com/h", json={"x": x})
    return x


async def ahelper(x=None):
    return x


def task(x):
    requests.post("https://hooks.example.com/t", json={"x": x})
'''

ROUTES = '''

@app.post("/r")
async def r(x: str, background_tasks: BackgroundTasks):
    requests.post("https://hooks.example.com/a", json={"x": x})
    background_tasks.add_task(task, x)
    return {"ok": True}
'''


@fuzz(default=15, long=1000)
@given(source=hypothesmith.from_grammar())
def test_arbitrary_code_imported_by_fastapi_code_never_crashes(project: Project, source: str) -> None:
    """The generated module sits beside a FastAPI module that star-imports it and calls into it."""
    assume(libcst_parses(source))
    routes = project.root / "routes.py"
    text = FASTAPI_HEADER.replace("import requests\n", "import requests\nfrom app import *\n") + ROUTES
    result = run([project.path, routes], Config(), use_cache=False, project_root=project.root,
                 overlay={str(project.path): source, str(routes): text})  # fmt: skip
    assert_clean_errors(result, source)
    assert {d.code for d in result.diagnostics} >= {"BGT102"}  # the neighbour is still linted


# --------------------------------------------------------------------------- FastAPI-shaped modules


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line if line else line for line in lines]


@st.composite
def statement(draw: st.DrawFn, is_async: bool, has_bt: bool, depth: int = 0) -> list[str]:
    choices = ["helper()", "requests", "sleep", "open", "assign"]
    if is_async:
        choices += ["await", "create_task", "await_assign"]
    if has_bt:
        choices += ["add_task", "add_task_call"] + (["await_add_task"] if is_async else [])
    if depth < 2:
        choices += ["try_log", "try_pass", "if"]
    kind = draw(st.sampled_from(choices))
    if kind == "helper()":
        return ["helper(x)"]
    if kind == "requests":
        return [draw(st.sampled_from(['requests.post("https://hooks.example.com/a", json={"x": x})',
                                      'requests.get("https://example.com/b")',
                                      '_ = requests.post("https://hooks.example.com/c")']))]  # fmt: skip
    if kind == "sleep":
        return ["time.sleep(0.1)"]
    if kind == "open":
        return ['with open("/tmp/report.txt", "a") as fh:', "    fh.write(str(x))"]
    if kind == "assign":
        return [draw(st.sampled_from(["y = helper(x)", "y = 1", "x = helper(x)"]))]
    if kind == "await":
        return [draw(st.sampled_from(["await ahelper(x)", "await asyncio.sleep(0)"]))]
    if kind == "await_assign":
        return ["y = await ahelper(x)"]
    if kind == "create_task":
        return [draw(st.sampled_from(["asyncio.create_task(ahelper(x))", "asyncio.ensure_future(ahelper(x))",
                                      "t = asyncio.create_task(ahelper(x))"]))]  # fmt: skip
    if kind == "add_task":
        fn = draw(st.sampled_from(["helper", "task", "ahelper", "send"]))
        return [f"background_tasks.add_task({fn}, x)"]
    if kind == "add_task_call":
        return [draw(st.sampled_from(["background_tasks.add_task(helper(x))", "background_tasks.add_task(task(x))"]))]
    if kind == "await_add_task":
        return ["await background_tasks.add_task(task, x)"]
    body = draw(st.lists(statement(is_async, has_bt, depth + 1), min_size=1, max_size=3))
    inner = _indent([line for stmt in body for line in stmt])
    if kind == "if":
        return ["if x:", *inner]
    handler = ['    logger.exception("failed")'] if kind == "try_log" else ["    pass"]
    return ["try:", *inner, "except Exception:", *handler]


@st.composite
def handler(draw: st.DrawFn, index: int) -> list[str]:
    is_async = draw(st.booleans())
    has_bt = draw(st.booleans())
    bt_name = draw(st.sampled_from(["background_tasks", "tasks"])) if has_bt else ""
    params = ["x: str"] + ([f"{bt_name}: BackgroundTasks"] if has_bt else [])
    method = draw(st.sampled_from(["get", "post", "put", "delete"]))
    body = draw(st.lists(statement(is_async, has_bt), min_size=1, max_size=6))
    lines = [line.replace("background_tasks", bt_name) if has_bt else line for stmt in body for line in stmt]
    ending = draw(st.sampled_from(["return {\"ok\": True}", "return x", "return y", None]))
    if ending == "return y":
        lines = ["y = helper(x)", *lines]
    if ending:
        lines.append(ending)
    head = f'@app.{method}("/r{index}")'
    sig = f"{'async ' if is_async else ''}def route_{index}({', '.join(params)}):"
    return ["", "", head, sig, *_indent(lines)]


@st.composite
def fastapi_module(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=1, max_value=4))
    lines = FASTAPI_HEADER.splitlines()
    if draw(st.booleans()):
        lines += ["", "", "async def send(x):", "    await ahelper(x)", "    time.sleep(1)"]
    else:
        lines += ["", "", "def send(x):", "    try:", "        helper(x)", "    except Exception:", "        pass"]
    for i in range(count):
        lines += draw(handler(i))
    return "\n".join(lines) + "\n"


def test_the_fastapi_grammar_produces_findings_of_every_fixable_kind(project: Project) -> None:
    """The generator is worth something only if it reaches the rules; check once, on a fixed example."""
    source = FASTAPI_HEADER + '''

@app.post("/a")
async def a(x: str, background_tasks: BackgroundTasks):
    requests.post("https://hooks.example.com/a", json={"x": x})
    background_tasks.add_task(task(x))
    await background_tasks.add_task(task, x)
    background_tasks.add_task(task, x)
    asyncio.create_task(ahelper(x))
    return {"ok": True}


@app.post("/b")
def b(x: str):
    requests.post("https://hooks.example.com/b", json={"x": x})
    return {"ok": True}
'''
    codes = {d.code for d in project.lint(source).diagnostics}
    assert {"BGT101", "BGT102", "BGT201", "BGT204", "BGT206"} <= codes


@pytest.mark.slow  # several seconds: left out of the fast run
@fuzz(default=25, long=2000)
@given(source=fastapi_module())
def test_fixes_compile_and_converge(project: Project, source: str) -> None:
    assert compiles(source) is None, source  # the generator itself must be right
    result = project.lint(source)
    assert_clean_errors(result, source)
    assert not result.errors, result.errors
    outcome = apply_fixes(result, Config(), unsafe=True, write=False, use_cache=False, project_root=project.root,
                          overlay={str(project.path): source})  # fmt: skip
    fixed = outcome.sources.get(str(project.path), source)
    assert not outcome.problems, f"{outcome.problems}\n--- before\n{source}"  # every fix offered applies
    problem = compiles(fixed)
    assert problem is None, f"{problem}\n--- before\n{source}\n--- after\n{fixed}"
    assert libcst_parses(fixed)
    again = with_edits(project.lint(fixed))
    assert not again.errors, again.errors
    left = [(d.code, d.location.row, d.fix.kind) for d in again.diagnostics if d.fix is not None]
    assert not left, f"fixable findings left after --fix: {left}\n--- before\n{source}\n--- after\n{fixed}"
    # a fix moves or wraps code, it never drops any: every string literal is still there
    for literal in set(re.findall(r'"[^"\n]*"', source)):
        assert fixed.count(literal) >= source.count(literal), literal
