"""Tests for the fix codemods and the fix loop: golden fixtures, hand-built fixes, encodings, atomic writes, the CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

import bgtask_lint.fixes.apply as fixes_module
from bgtask_lint.config import Config
from bgtask_lint.facts.summarize import dotted, summarize
from bgtask_lint.fixes.apply import FixOutcome, apply_fixes
from bgtask_lint.fixes.codemods import FixError, apply_to_source, calls_by_ordinal
from bgtask_lint.models import Diagnostic, Fix
from bgtask_lint.pipeline.run import Result, run

FIXES = Path(__file__).parent / "fixtures" / "fixes"
CASES = sorted(p for p in FIXES.glob("*.py") if not p.name.endswith(".fixed.py"))
UPDATE = os.environ.get("BGTASK_UPDATE_FIXTURES") == "1"  # regenerate the .fixed.py goldens
SRC = Path(__file__).resolve().parents[1] / "src"


def lint(path: Path, root: Path, overlay: dict[str, str] | None = None) -> Result:
    return run([path], Config(), use_cache=False, project_root=root, overlay=overlay)


def fix(path: Path, root: Path | None = None, *, write: bool = False, unsafe: bool = True) -> FixOutcome:
    root = root or path  # each case is its own project: the index covers that file alone
    return apply_fixes(lint(path, root), Config(), unsafe=unsafe, write=write, use_cache=False, project_root=root)


def applicable(result: Result) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.fix is not None]


def ordinal(source: str, prefix: str) -> int:
    """The pre-order ordinal of the first call whose code starts with ``prefix``."""
    module = cst.parse_module(source)
    found: list[int] = []
    count = -1

    class Walk(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal count
            count += 1
            if not found and module.code_for_node(node).startswith(prefix):
                found.append(count)

    module.visit(Walk())
    assert found, f"no call starts with {prefix!r}"
    return found[0]


def fixed(source: str, kind: str, prefix: str) -> str:
    source = textwrap.dedent(source)
    return apply_to_source(source, [Fix("unsafe", "", kind, ordinal(source, prefix))])


# --------------------------------------------------------------------------- golden fixtures


def test_there_are_enough_fixture_cases() -> None:
    assert len(CASES) >= 25
    assert sum(1 for c in CASES if c.with_suffix(".fixed.py").exists()) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture(case: Path) -> None:
    original = case.read_text()
    outcome = fix(case)
    path = str(case)
    new = outcome.sources.get(path, original)
    golden = case.with_suffix(".fixed.py")
    if UPDATE:
        if new != original:
            golden.write_text(new)
        elif golden.exists():
            golden.unlink()
    expected = golden.read_text() if golden.exists() else original
    assert new == expected
    assert not [line for line in outcome.problems if "not applied" in line or "not fixed" in line]
    assert (outcome.fixed > 0) == (new != original)
    assert (outcome.diff != "") == (new != original)
    cst.parse_module(new)
    # convergence: the final re-lint (of the fixed text) has nothing left to fix, and no finding that
    # the fixes made is left without a fix
    assert applicable(outcome.result) == []
    before = {(d.code, d.function) for d in lint(case, case).diagnostics}
    assert {(d.code, d.function) for d in outcome.result.diagnostics} <= before
    # applying again changes nothing
    again = apply_fixes(lint(case, case, {path: new}), Config(), unsafe=True, write=False, use_cache=False,
                        overlay={path: new}, project_root=case)  # fmt: skip
    assert again.sources == {} and again.fixed == 0
    assert case.read_text() == original  # write=False never writes


def test_refusals_have_findings_without_fixes() -> None:
    for case in CASES:
        if case.stem.startswith("refuse_"):
            result = lint(case, case.parent)
            assert result.diagnostics, case.name
            assert all(d.fix is None and d.no_fix_reason for d in result.diagnostics), case.name


# --------------------------------------------------------------------------- ordinals


def test_call_ordinals_match_the_summarizer() -> None:
    source = textwrap.dedent(
        """
        import functools
        from fastapi import Depends, FastAPI

        app = FastAPI(title=str(1))

        def dep(x=int("3")):
            return [f(y) for y in g(h())]

        @app.get("/", dependencies=[Depends(dep)])
        async def handler(a: int = Depends(dep), cb=lambda: k(1)):
            class Inner:
                z = make(w())
            await send(compute(a), key=functools.partial(p, q()))
            return {"v": (lambda: m())()}
        """
    )
    facts = summarize(source, "m", "m.py")
    expected = {c.ordinal: c.callee for f in facts.functions for c in f.calls}
    expected |= {c.ordinal: c.callee for c in facts.module_calls}
    ours = {i: dotted(t.call.func) or "" for i, t in enumerate(calls_by_ordinal(cst.parse_module(source)))}
    assert {i: ours[i] for i in expected} == expected
    assert len(ours) == max(expected) + 1


# --------------------------------------------------------------------------- move


MOVE_CASES = {
    "await": (
        """
        from fastapi import FastAPI

        async def h(x: int):
            await send(x, k=1)
        """,
        """
        from fastapi import BackgroundTasks, FastAPI

        async def h(x: int, *, background_tasks: BackgroundTasks):
            background_tasks.add_task(send, x, k=1)
        """,
        "send(",
    ),
    "assign": (
        """
        def h():
            x = f(a)  # note
        """,
        """
        from fastapi import BackgroundTasks


        def h(*, background_tasks: BackgroundTasks):
            background_tasks.add_task(f, a)  # note
        """,
        "f(",
    ),
    "create_task": (
        """
        import asyncio
        from fastapi import BackgroundTasks

        async def h(tasks: "BackgroundTasks", /, *rest, **kw):
            asyncio.create_task(notify(1, urgent=True))
        """,
        """
        from fastapi import BackgroundTasks

        async def h(tasks: "BackgroundTasks", /, *rest, **kw):
            tasks.add_task(notify, 1, urgent=True)
        """,
        "asyncio.create_task(",
    ),
    "no_args_and_semicolon": (
        """
        import fastapi as fa

        def h(a, *, b=1, **kwargs):
            ping(); return 1
        """,
        """
        import fastapi as fa

        def h(a, *, b=1, background_tasks: fa.BackgroundTasks, **kwargs):
            background_tasks.add_task(ping); return 1
        """,
        "ping(",
    ),
    "aliased_import": (
        """
        from starlette.background import BackgroundTasks as BT

        def h(q: Annotated[BT, Depends()]):
            post(q)
        """,
        """
        from starlette.background import BackgroundTasks as BT

        def h(q: Annotated[BT, Depends()]):
            q.add_task(post, q)
        """,
        "post(",
    ),
    "multiline_kwargs": (
        """
        def h(
            a: int,
            **kwargs,
        ):
            post(a)
        """,
        """
        from fastapi import BackgroundTasks


        def h(
            a: int,
            *,
            background_tasks: BackgroundTasks,
            **kwargs,
        ):
            background_tasks.add_task(post, a)
        """,
        "post(",
    ),
    "multiline_no_trailing_comma": (
        """
        def h(
            a: int,
            b: int
        ):
            post(a)
        """,
        """
        from fastapi import BackgroundTasks


        def h(
            a: int,
            b: int,
            *,
            background_tasks: BackgroundTasks
        ):
            background_tasks.add_task(post, a)
        """,
        "post(",
    ),
}


@pytest.mark.parametrize("name", MOVE_CASES)
def test_move(name: str) -> None:
    before, after, prefix = MOVE_CASES[name]
    assert fixed(before, "move", prefix) == textwrap.dedent(after)


def test_two_moves_share_the_parameter_and_keep_their_order() -> None:
    source = textwrap.dedent(
        """
        def h(x):
            # first
            a(x)
            b = c(x)

            await d(x)
        """
    )
    out = apply_to_source(source, [Fix("unsafe", "", "move", ordinal(source, p)) for p in ("d(", "a(", "c(")])
    assert out == textwrap.dedent(
        """
        from fastapi import BackgroundTasks


        def h(x, *, background_tasks: BackgroundTasks):
            # first
            background_tasks.add_task(a, x)
            background_tasks.add_task(c, x)

            background_tasks.add_task(d, x)
        """
    )


@pytest.mark.parametrize(
    "source, prefix",
    [
        ("def h():\n    print(f(1))\n", "f("),  # inside an expression
        ("def h():\n    x, y = f(1)\n", "f("),  # tuple target
        ("f(1)\n", "f("),  # not in a function
        ("def h():\n    g(lambda: f(1))\n", "f("),  # in a lambda
        ("import asyncio\ndef h():\n    asyncio.create_task(coro)\n", "asyncio"),  # no call to move
    ],
)
def test_move_refuses_odd_shapes(source: str, prefix: str) -> None:
    with pytest.raises(FixError):
        apply_to_source(source, [Fix("unsafe", "", "move", ordinal(source, prefix))])


def test_unknown_kind_and_missing_target_raise() -> None:
    with pytest.raises(FixError, match="unknown fix kind"):
        apply_to_source("f()\n", [Fix("safe", "", "teleport", 0)])
    with pytest.raises(FixError, match="no call #5"):
        apply_to_source("f()\n", [Fix("safe", "", "move", 5)])


# --------------------------------------------------------------------------- unwrap-task / drop-await


@pytest.mark.parametrize(
    "before, after",
    [
        ("tasks.add_task(f(x, k=1))", "tasks.add_task(f, x, k=1)"),
        ("tasks.add_task(await f(x))", "tasks.add_task(f, x)"),
        ("tasks.add_task(f(), 2, k=3)", "tasks.add_task(f, 2, k=3)"),
        ("tasks.add_task(f(x,), y)", "tasks.add_task(f, x, y)"),
        ("tasks.add_task(self.mailer.send(a, *rest))", "tasks.add_task(self.mailer.send, a, *rest)"),
        ("BackgroundTask(f(x))", "BackgroundTask(f, x)"),
        ("tasks.add_task(\n        f(x),\n        y,\n    )", "tasks.add_task(\n        f, x,\n        y,\n    )"),
    ],
)
def test_unwrap_task(before: str, after: str) -> None:
    src = f"async def h(tasks):\n    {before}\n"
    target = ordinal(src, before.split("(")[0] + "(")
    assert apply_to_source(src, [Fix("safe", "", "unwrap-task", target)]) == f"async def h(tasks):\n    {after}\n"


def test_unwrap_task_refuses_a_non_call() -> None:
    src = "def h(tasks):\n    tasks.add_task(f, x)\n"
    with pytest.raises(FixError, match="not a call"):
        apply_to_source(src, [Fix("safe", "", "unwrap-task", 0)])


def test_drop_await() -> None:
    src = "async def h(tasks):\n    await tasks.add_task(f, x)  # go\n    y = (await tasks.add_task(g))\n"
    out = apply_to_source(src, [Fix("safe", "", "drop-await", 0), Fix("safe", "", "drop-await", 1)])
    assert out == "async def h(tasks):\n    tasks.add_task(f, x)  # go\n    y = (tasks.add_task(g))\n"
    with pytest.raises(FixError, match="not awaited"):
        apply_to_source(out, [Fix("safe", "", "drop-await", 0)])


def test_outer_fix_first_inner_waits() -> None:
    src = "async def h(tasks):\n    await tasks.add_task(f(x))\n"
    fixes = [Fix("safe", "", "unwrap-task", 0), Fix("safe", "", "drop-await", 0)]
    once = apply_to_source(src, fixes)
    assert once == "async def h(tasks):\n    tasks.add_task(f(x))\n"
    twice = apply_to_source(once, [Fix("safe", "", "unwrap-task", 0)])
    assert twice == "async def h(tasks):\n    tasks.add_task(f, x)\n"


# --------------------------------------------------------------------------- wrap-try


def test_wrap_try_keeps_docstring_and_adds_logger_after_sorted_imports() -> None:
    src = textwrap.dedent(
        '''
        """Mail."""
        from __future__ import annotations

        import smtplib

        CONST = 1


        def send(to):
            """Send it."""

            # connect
            smtp = smtplib.SMTP()
            smtp.sendmail(to)
        '''
    )
    assert fixed(src, "wrap-try", "smtplib.SMTP(") == textwrap.dedent(
        '''
        """Mail."""
        from __future__ import annotations

        import logging
        import smtplib

        logger = logging.getLogger(__name__)

        CONST = 1


        def send(to):
            """Send it."""

            try:
                # connect
                smtp = smtplib.SMTP()
                smtp.sendmail(to)
            except Exception:
                logger.exception("background task send failed")
        '''
    )


def test_wrap_try_reuses_a_module_logger_and_handles_one_line_bodies() -> None:
    src = "import logging\n_log = logging.getLogger('x')\n\nasync def job(): await go()\n"
    assert apply_to_source(src, [Fix("unsafe", "", "wrap-try", ordinal(src, "go("))]) == (
        "import logging\n_log = logging.getLogger('x')\n\nasync def job():\n"
        "    try:\n        await go()\n    except Exception:\n        _log.exception(\"background task job failed\")\n"
    )


def test_wrap_try_in_a_module_without_imports() -> None:
    out = apply_to_source("def job():\n    go()\n", [Fix("unsafe", "", "wrap-try", 0)])
    assert out == (
        "import logging\n\nlogger = logging.getLogger(__name__)\n\n\ndef job():\n"
        '    try:\n        go()\n    except Exception:\n        logger.exception("background task job failed")\n'
    )


def test_wrap_try_contains_a_move_in_the_same_function() -> None:
    src = "def job(x):\n    a(x)\n"
    out = apply_to_source(src, [Fix("unsafe", "", "move", 0), Fix("unsafe", "", "wrap-try", 0)])
    assert "try:\n        a(x)" in out and "add_task" not in out


# --------------------------------------------------------------------------- files: encodings, writes, races


APP = """\
import requests
from fastapi import FastAPI

app = FastAPI()


@app.post("/ping")
def ping(target: str):
    requests.post(target, timeout=5)
    return {"ok": "{MARK}"}
"""
FIXED_LINE = "    background_tasks.add_task(_post_in_background, target, timeout=5)"


def write_app(tmp_path: Path, name: str = "app.py", *, newline: str = "\n", encoding: str = "utf-8",
              prefix: str = "", mark: str = "ok") -> Path:  # fmt: skip
    path = tmp_path / name
    text = prefix + APP.replace("{MARK}", mark)
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def test_write_applies_the_fix_atomically_and_keeps_permissions(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    path.chmod(0o640)
    outcome = fix(path, write=True)
    assert FIXED_LINE in path.read_text()
    assert path.read_text() == outcome.sources[str(path)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]  # no temp files left
    assert outcome.diff.startswith("--- a/") and "\n+++ b/" in outcome.diff and f"+{FIXED_LINE}\n" in outcome.diff


def test_crlf_stays_crlf(tmp_path: Path) -> None:
    case = FIXES / "move_then_wrap.py"  # a moved call, a new parameter, an import, a logger and a try block
    path = tmp_path / case.name
    path.write_bytes(case.read_bytes().replace(b"\n", b"\r\n"))
    outcome = fix(path, write=True)
    data = path.read_bytes()
    assert data == case.with_suffix(".fixed.py").read_bytes().replace(b"\n", b"\r\n")
    assert outcome.fixed == 2  # BGT102 by the move, then BGT201 by wrap-try


def test_max_rounds_limits_the_rounds(tmp_path: Path) -> None:
    case = FIXES / "move_then_wrap.py"
    path = tmp_path / case.name
    path.write_bytes(case.read_bytes())
    outcome = apply_fixes(lint(path, tmp_path), Config(), unsafe=True, write=False, use_cache=False, max_rounds=1,
                          project_root=tmp_path)  # fmt: skip
    assert outcome.fixed == 1 and "add_task(send_welcome_email, email)" in outcome.sources[str(path)]
    assert "try:" not in outcome.sources[str(path)]
    assert [d.code for d in applicable(outcome.result)] == ["BGT201"]  # left for the next run


def test_bom_is_kept(tmp_path: Path) -> None:
    path = write_app(tmp_path, encoding="utf-8-sig", mark="caf\u00e9")
    outcome = fix(path, write=True)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and not data.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert FIXED_LINE in data.decode("utf-8-sig") and "caf\u00e9" in data.decode("utf-8-sig")
    assert not outcome.sources[str(path)].startswith("\ufeff")


def test_latin1_coding_declaration_is_kept(tmp_path: Path) -> None:
    path = write_app(tmp_path, encoding="latin-1", prefix="# -*- coding: latin-1 -*-\n", mark="caf\u00e9")
    fix(path, write=True)
    data = path.read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n")
    assert b'"caf\xe9"' in data  # still latin-1, not utf-8
    assert FIXED_LINE in data.decode("latin-1")


def test_files_without_fixes_are_not_rewritten(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    clean = tmp_path / "clean.py"
    clean.write_text("def f():\n    return 1\n")
    os.utime(clean, (1_000_000_000, 1_000_000_000))
    result = run([tmp_path], Config(), use_cache=False, project_root=tmp_path)
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert list(outcome.sources) == [str(path)]
    assert clean.stat().st_mtime == 1_000_000_000


def test_unsafe_fixes_need_unsafe(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    before = path.read_text()
    outcome = fix(path, write=True, unsafe=False)
    assert outcome.fixed == 0 and outcome.sources == {} and outcome.diff == ""
    assert path.read_text() == before


def test_file_changed_after_the_lint_is_not_fixed(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    result = lint(path, tmp_path)
    path.write_text(path.read_text() + "# edited\n")
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert path.read_text().endswith("# edited\n") and FIXED_LINE not in path.read_text()
    assert outcome.applied == [] and outcome.problems == [f"{path}: changed on disk since it was read; not fixed"]
    assert outcome.fixed == 0 and outcome.sources == {}


def test_file_changed_while_fixing_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_app(tmp_path)
    result = lint(path, tmp_path)

    def relint_and_edit(*args: object, **kwargs: object) -> Result:
        path.write_text("# someone else\n")
        return run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fixes_module, "run", relint_and_edit)
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert path.read_text() == "# someone else\n"
    assert outcome.applied == [] and outcome.problems == [f"{path}: changed on disk since it was read; not fixed"]
    assert outcome.fixed == 0 and outcome.sources == {} and outcome.diff == ""
    assert outcome.result.diagnostics == []  # the final report describes what is on disk


def test_overlay_files_are_never_written(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    on_disk = path.read_text()
    text = on_disk.replace('"ok"}', '"stdin"}')
    overlay = {str(path): text}
    result = lint(path, tmp_path, overlay)
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, overlay=overlay,
                          project_root=tmp_path)  # fmt: skip
    assert path.read_text() == on_disk
    assert FIXED_LINE in outcome.sources[str(path)] and '"stdin"' in outcome.sources[str(path)]


def test_a_bad_fix_is_reported_not_raised(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    text = path.read_text()
    bad = Diagnostic("BGT101", "x", "m", str(path), 0, fix=Fix("unsafe", "", "move", 99))
    result = Result(diagnostics=[bad], errors=[], files=[str(path)], sources={str(path): text})
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert outcome.fixed == 0 and outcome.sources == {} and path.read_text() == text
    assert outcome.problems == [f"{path}: fix not applied: move: no call #99 in the module"]


def test_unparsable_file_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n")
    bad = Diagnostic("BGT101", "x", "m", str(path), 0, fix=Fix("unsafe", "", "move", 0))
    result = Result(diagnostics=[bad], errors=[], files=[str(path)], sources={})
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert outcome.fixed == 0 and len(outcome.problems) == 1 and "fix not applied" in outcome.problems[0]


# --------------------------------------------------------------------------- the CLI


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "bgtask_lint", "check", "--no-cache", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_cli_fix_rewrites_the_file(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    proc = cli("--fix", "--unsafe-fixes", str(path), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert FIXED_LINE in path.read_text()
    assert "from fastapi import BackgroundTasks, FastAPI" in path.read_text()


def test_cli_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    path = write_app(tmp_path)
    before = path.read_bytes()
    proc = cli("--diff", "--unsafe-fixes", str(path), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"+{FIXED_LINE}" in proc.stdout and proc.stdout.startswith("--- a/")
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- imports


@pytest.mark.parametrize(
    "before, after",
    [
        ("from fastapi import FastAPI", "from fastapi import BackgroundTasks, FastAPI"),
        ("from fastapi import APIRouter, Depends", "from fastapi import APIRouter, BackgroundTasks, Depends"),
        ("from fastapi import Depends, status", "from fastapi import BackgroundTasks, Depends, status"),
        ("from fastapi import FastAPI, Depends", "from fastapi import FastAPI, Depends, BackgroundTasks"),
        ("from fastapi import APIRouter", "from fastapi import APIRouter, BackgroundTasks"),
        ("from fastapi import (\n    APIRouter,\n    Depends,\n)",
         "from fastapi import (\n    APIRouter,\n    BackgroundTasks,\n    Depends,\n)"),
        ("from fastapi import (\n    APIRouter,\n    Depends\n)",
         "from fastapi import (\n    APIRouter,\n    BackgroundTasks,\n    Depends\n)"),
        ("from fastapi import (\n    APIRouter,\n    Body,\n)\nfrom fastapi import Depends",
         "from fastapi import (\n    APIRouter,\n    BackgroundTasks,\n    Body,\n)\nfrom fastapi import Depends"),
        ("from fastapi import (\n    Body,\n    Depends,\n)",
         "from fastapi import (\n    BackgroundTasks,\n    Body,\n    Depends,\n)"),
        ("from fastapi import (\n    APIRouter,\n    Aa,\n)",
         "from fastapi import (\n    APIRouter,\n    Aa,\n    BackgroundTasks,\n)"),
    ],
)
def test_background_tasks_import_is_merged_in_order(before: str, after: str) -> None:
    body = "\n\n\ndef h():\n    a()\n    b()\n"
    out = apply_to_source(before + body, [Fix("unsafe", "", "move", 0), Fix("unsafe", "", "move", 1)])
    assert out.startswith(after + "\n\n\ndef h(*, background_tasks: BackgroundTasks):\n")
    assert out.count("BackgroundTasks") == 2


# --------------------------------------------------------------------------- version-dependent refusals


UPLOAD = """\
import requests
from fastapi import FastAPI, UploadFile

app = FastAPI()


def store(upload: UploadFile) -> None:
    requests.post("https://storage.example.com", files={"file": upload.file}, timeout=10)


@app.post("/upload")
def upload(file: UploadFile):
    store(file)
    return {"name": file.filename}
"""


@pytest.mark.parametrize("version, moved", [("0.110.0", False), ("0.120.0", True)])
def test_upload_file_move_depends_on_the_fastapi_version(tmp_path: Path, version: str, moved: bool) -> None:
    path = tmp_path / "app.py"
    path.write_text(UPLOAD)
    config = Config(fastapi_version=version)
    result = run([path], config, use_cache=False, project_root=tmp_path)
    assert [d.code for d in result.diagnostics if d.code == "BGT101"] == ["BGT101"]
    outcome = apply_fixes(result, config, unsafe=True, write=False, use_cache=False, project_root=tmp_path)
    assert ("background_tasks.add_task(_store_in_background, file)" in outcome.sources.get(str(path), "")) is moved


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        pytest.param("refuse_try_that_passes", ["inside a try block"], id="try whose except passes"),
        # the except clause raises: its call shapes the error response and is not reported
        pytest.param("refuse_finally_and_except", ["clean-up in a finally clause"], id="except that raises, and finally"),
        pytest.param("refuse_except_that_recovers", ["error handling in an except clause"], id="except that recovers"),
        pytest.param("refuse_log_after", ["logs its completion"], id="a log line announces the work"),
        pytest.param("refuse_async_helper_that_blocks", ["is `async def` and blocks"], id="async helper that blocks"),
        pytest.param("refuse_task_that_blocks", ["blocks the event loop: as a background task"], id="create_task of a blocking coroutine"),
        pytest.param("refuse_task_that_handles_some_errors", ["handles some of its errors itself"], id="a task that handles part of its errors"),
        pytest.param("refuse_work_that_decides_the_response", ["`fetch_avatar` raises an HTTP error response"], id="deferred work that raises an HTTP error"),
        pytest.param("refuse_move_out_of_lock", ["inside a `with` block"], id="a move out of a lock"),
        pytest.param("refuse_test_endpoint", ["exists to try this work"], id="a test endpoint"),
        pytest.param("refuse_thread_under_lock", ["use an async client", "security linters flag"], id="a with block, and shell=True"),
        pytest.param("refuse_lazy_iterator", ["returns a lazy iterator"], id="a thread would only start the iteration"),
    ],
)  # fmt: skip
def test_refusals_say_why(case: str, reasons: list[str]) -> None:
    path = FIXES / f"{case}.py"
    found = sorted((d.location.row, d.no_fix_reason or "") for d in lint(path, path.parent).diagnostics)
    assert len(found) == len(reasons)
    for (_, said), expected in zip(found, reasons):
        assert expected in said, said


CLASS_VIEW = '''\
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

app = FastAPI()


def get_db():
    db = Session()
    try:
        yield db
    finally:
        db.close()


class RunService:
    def __init__(self, db: Session = Depends(get_db)) -> None:
        self.db = db

    def record(self, run_id: str) -> None:
        with open(f"runs/{run_id}.log", "a") as fh:
            fh.write("done")


@app.post("/runs/{run_id}/finish")
def finish(run_id: str, service: RunService = Depends()):
    service.record(run_id)
    return {"run": run_id}
'''


@pytest.mark.parametrize("version, moved", [("0.115.0", False), ("0.120.0", True)])
def test_a_class_dependency_holding_a_closed_session_is_not_moved(tmp_path: Path, version: str, moved: bool) -> None:
    # on 0.106-0.117 the yield dependency's session is closed before tasks run, and the service holds it
    path = tmp_path / "app.py"
    path.write_text(CLASS_VIEW)
    config = Config(fastapi_version=version)
    result = run([path], config, use_cache=False, project_root=tmp_path)
    (finding,) = [d for d in result.diagnostics if d.code == "BGT101"]
    assert (finding.fix is not None) is moved
    if not moved:
        assert finding.no_fix_reason and "`service` is an instance of `RunService` holding `db`" in finding.no_fix_reason
    outcome = apply_fixes(result, config, unsafe=True, write=False, use_cache=False, project_root=tmp_path)
    assert ("background_tasks.add_task(_logged_task, service.record, run_id)" in outcome.sources.get(str(path), "")) is moved


def _ruff(text: str, root: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F,I", "--output-format", "json",
         "--stdin-filename", "app.py", "-"],
        input=text, capture_output=True, text=True, cwd=root, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return sorted(f["code"] for f in json.loads(proc.stdout))


GOLDENS = [c for c in CASES if c.with_suffix(".fixed.py").exists()]


@pytest.mark.parametrize("case", GOLDENS, ids=[c.stem for c in GOLDENS])
def test_fixed_code_gives_ruff_nothing_new(case: Path, tmp_path: Path) -> None:
    # imports merged or placed in their section, sorted where the block was; imports made unused removed
    before = _ruff(case.read_text(), tmp_path)
    after = _ruff(case.with_suffix(".fixed.py").read_text(), tmp_path)
    assert Counter(after) - Counter(before) == Counter(), (before, after)


def _package(tmp_path: Path, handler: str, mail: str) -> tuple[Path, Path]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "mail.py").write_text(textwrap.dedent(mail))
    (app / "main.py").write_text(textwrap.dedent(handler))
    return app / "main.py", app / "mail.py"


MAIL = """\
    import smtplib


    def send_welcome(to: str) -> None:
        with smtplib.SMTP("localhost") as smtp:
            smtp.sendmail("hi@example.com", [to], "Welcome!")
    """


def test_a_task_defined_in_another_module_is_wrapped_where_it_is_added(tmp_path: Path) -> None:
    main, mail = _package(tmp_path, """\
        from fastapi import FastAPI

        from app.mail import send_welcome

        app = FastAPI()


        @app.post("/signup")
        def signup(email: str):
            send_welcome(email)
            return {"ok": True}


        def resend(email: str) -> None:
            send_welcome(email)  # a caller that expects its errors
        """, MAIL)  # fmt: skip
    outcome = apply_fixes(run([tmp_path], Config(), use_cache=False, project_root=tmp_path), Config(), unsafe=True,
                          write=False, use_cache=False, project_root=tmp_path)  # fmt: skip
    assert str(mail) not in outcome.sources  # its body is left alone: other callers expect its errors
    fixed = outcome.sources[str(main)]
    assert "background_tasks.add_task(_send_welcome_in_background, email)" in fixed
    assert fixed.startswith(
        "import logging\nfrom typing import Any\n\nfrom fastapi import BackgroundTasks, FastAPI\n\nfrom app.mail import send_welcome\n"
    )
    assert "def _send_welcome_in_background(*args: Any, **kwargs: Any) -> None:" in fixed  # strict type checkers pass
    assert outcome.result.diagnostics == []  # the move's BGT201 was fixed too



def test_wrap_try_reuses_an_imported_logging_module() -> None:
    src = textwrap.dedent(
        """
        import logging as log
        import smtplib


        def send(to):
            smtplib.SMTP().sendmail(to)
            log.info("sent")
        """
    )
    out = fixed(src, "wrap-try", "smtplib.SMTP(")
    assert out.count("import logging") == 1 and "logger = log.getLogger(__name__)" in out


def test_a_generic_wrapper_keeps_one_argument_per_line() -> None:
    src = textwrap.dedent(
        """
        import logging

        logger = logging.getLogger(__name__)


        def h(tasks, smtp, to):
            tasks.add_task(
                smtp.sendmail,
                to,
            )
        """
    )
    out = fixed(src, "wrap-call", "tasks.add_task(")
    assert "tasks.add_task(\n        _logged_task,\n        smtp.sendmail,\n        to,\n    )" in out


def test_an_import_the_move_made_unused_is_removed_and_the_blank_lines_stay() -> None:
    src = textwrap.dedent(
        '''\
        """Routes."""

        import asyncio
        import sys

        from fastapi import BackgroundTasks


        async def h(tasks: BackgroundTasks):
            asyncio.create_task(notify(1))
            print(sys.argv)
        '''
    )
    out = fixed(src, "move", "asyncio.create_task(")
    assert out.startswith('"""Routes."""\n\nimport sys\n\nfrom fastapi import BackgroundTasks\n')
    assert "tasks.add_task(notify, 1)" in out


def test_a_multi_line_create_task_is_moved_at_its_own_indentation() -> None:
    src = textwrap.dedent(
        """
        import asyncio

        from fastapi import BackgroundTasks


        async def h(tasks: BackgroundTasks):
            asyncio.create_task(
                notify(
                    1, 2
                )
            )
        """
    )
    out = fixed(src, "move", "asyncio.create_task(")
    assert "    tasks.add_task(\n        notify,\n        1, 2\n    )\n" in out


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("r = requests.get(u)\n", "r = await run_in_threadpool(requests.get, u)\n", id="assigned"),
        pytest.param("return len(requests.get(u).content)\n",
                     "return len((await run_in_threadpool(requests.get, u)).content)\n", id="attribute of the result"),
    ],
)  # fmt: skip
def test_to_thread_keeps_the_expression(source: str, expected: str) -> None:
    src = f"import requests\n\n\nasync def h(u):\n    {source}"
    out = fixed(src, "to-thread", "requests.get(")
    assert out.startswith("import requests\nfrom fastapi.concurrency import run_in_threadpool\n")
    assert out.endswith(f"    {expected}")


def test_to_thread_refuses_a_sync_function() -> None:
    with pytest.raises(FixError, match="not directly in an async function"):
        fixed("import requests\n\n\ndef h(u):\n    requests.get(u)\n", "to-thread", "requests.get(")


def test_a_new_import_joins_its_package_after_code_that_must_run_first() -> None:
    src = textwrap.dedent(
        """\
        import warnings

        warnings.filterwarnings("ignore")

        import requests
        from fastapi import FastAPI


        async def h(u):
            requests.get(u)
        """
    )
    out = fixed(src, "to-thread", "requests.get(")
    assert "from fastapi import FastAPI\nfrom fastapi.concurrency import run_in_threadpool\n" in out
    assert out.startswith('import warnings\n\nwarnings.filterwarnings("ignore")\n')


def test_a_new_import_after_code_that_must_run_first_is_sorted_into_its_group() -> None:
    src = textwrap.dedent(
        """\
        import os

        os.environ.setdefault("MODE", "dev")

        import requests
        from fastapi import FastAPI
        from fastapi.responses import FileResponse

        from . import local


        async def h(u):
            requests.get(u)
        """
    )
    out = fixed(src, "to-thread", "requests.get(")
    assert (
        "import requests\nfrom fastapi import FastAPI\nfrom fastapi.concurrency import run_in_threadpool\n"
        "from fastapi.responses import FileResponse\n\nfrom . import local\n"
    ) in out


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("for row in rows:\n        requests.get(row)\n", id="in a loop"),
        pytest.param("try:\n        pass\n    finally:\n        requests.get(u)\n", id="in a finally clause"),
    ],
)
def test_no_worker_thread_where_a_new_await_lets_other_code_run(tmp_path: Path, body: str) -> None:
    path = tmp_path / "app.py"
    path.write_text(f"import requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\n"
                    f"async def h(u: str, rows: list):\n    {body}    return {{}}\n")  # fmt: skip
    (finding,) = lint(path, tmp_path).diagnostics
    assert finding.code == "BGT102" and finding.fix is None
