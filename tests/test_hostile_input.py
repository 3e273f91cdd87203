"""Hostile input never stops a run: files that do not parse, odd encodings and paths, files that
crash or hang the parser, huge files, bad configuration; each is reported in every output format."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from reliability_support import (
    FORMATS,
    IS_ROOT,
    PYPROJECT,
    bgtask_lint,
    command,
    environ,
    handler,
)

from bgtask_lint import store
from bgtask_lint.models import FileError
from bgtask_lint.pipeline import load, naming, parse

# =========================================================================== 1. hostile input

#: file name -> (row or None when no line applies, part of the reason) for every file that must be reported
BAD_FILES: dict[str, tuple[int | None, str]] = {
    "syntax.py": (1, "cannot parse: invalid syntax"),
    "nul.py": (2, "NUL byte"),
    "not_utf8.py": (3, "is not valid UTF-8 and there is no coding declaration"),
    "bad_coding.py": (1, "unknown encoding 'klingon'"),
    "py2.py": (1, "Missing parentheses in call to 'print'"),
    "py2_backticks.py": (1, "cannot parse"),
    "broken.py": (None, "broken symbolic link"),
    "loop": (None, "symbolic link loop"),
    "loop_a.py": (None, "symbolic link loop"),
    "loop_b.py": (None, "symbolic link loop"),
}
#: files that must lint like any other: each holds the finding of ``handler`` at (row, column)
FINE_FILES: dict[str, tuple[int, int]] = {
    "app.py": (9, 5),
    "latin1.py": (10, 5),
    "bom.py": (9, 5),
    "crlf.py": (9, 5),
    "mixed_endings.py": (9, 5),
    "formfeed_tabs.py": (9, 2),
    "modern.py": (24, 5),
    "cr_only.py": (9, 5),
    "unicode_breaks.py": (10, 5),
}
#: a noqa comment for BGT102 on the finding's line, after a form feed line: nothing may be reported
NOQA_AFTER_FORMFEED = ("noqa_after_formfeed.py", 9)
MODERN = '''\
import requests
from fastapi import FastAPI

app = FastAPI()


def first[T](items: list[T]) -> T:  # PEP 695 (3.12)
    return items[0]


class Box[T]:
    type Alias = list[T]


type Pair[K, V] = tuple[K, V]  # PEP 695 type statement


@app.post("/modern")
async def modern(email: str):
    try:
        label = f"{f"{email!r:>{10}}"}"  # PEP 701 nested f-strings (3.12)
    except ValueError, TypeError:  # PEP 758 (3.14)
        label = ""
    requests.post("https://hooks.example.com/modern", json={"email": email, "label": label})
    return {"ok": True}
'''


def write_hostile_tree(root: Path) -> None:
    """Small hostile files: cheap enough to lint once per output format."""
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "app.py").write_text(handler("app"))
    (root / "syntax.py").write_text("def broken(:\n    pass\n")
    (root / "nul.py").write_bytes(b"x = 1\ny = 2\x00\n")
    (root / "not_utf8.py").write_bytes(b"x = 1\ny = 2\nname = 'caf\xe9'\n")
    (root / "bad_coding.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    (root / "py2.py").write_text('print "hello"\n')
    (root / "py2_backticks.py").write_text("x = `y`\n")
    (root / "latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\n" + handler("latin1", ', "who": "caf\xe9"').encode("latin-1"))
    (root / "bom.py").write_bytes(b"\xef\xbb\xbf" + handler("bom").encode())
    (root / "crlf.py").write_bytes(handler("crlf").replace("\n", "\r\n").encode())
    lines = handler("mixed").splitlines(keepends=True)
    (root / "mixed_endings.py").write_text("".join(l if i % 2 else l.replace("\n", "\r\n") for i, l in enumerate(lines)), newline="")
    tabbed = handler("tabs").replace("\n    ", "\n\t").replace("\n\n\n@app", "\n\n\x0c\n@app")
    (root / "formfeed_tabs.py").write_text(tabbed)
    (root / "cr_only.py").write_bytes(handler("cr").replace("\n", "\r").encode())
    breaks = handler("breaks").replace("import requests\n", 'import requests\nSEPARATORS = "\u2028\u2029\x1c\x85"\n')
    (root / "unicode_breaks.py").write_text(breaks)
    noqa = handler("noqa").replace("\n\n\n@app", "\n\n\x0c\n@app").replace("email})\n", "email})  # noqa: BGT102\n")
    (root / NOQA_AFTER_FORMFEED[0]).write_text(noqa)
    (root / "empty.py").write_text("")
    (root / "modern.py").write_text(MODERN)
    (root / "x.py").mkdir()  # a directory named like a module
    (root / "x.py" / "inner.py").write_text("VALUE = 1\n")
    (root / "broken.py").symlink_to(root / "nowhere.py")
    (root / "loop").symlink_to(root)
    (root / "loop_a.py").symlink_to(root / "loop_b.py")
    (root / "loop_b.py").symlink_to(root / "loop_a.py")


def test_the_hostile_tree_is_what_it_claims(tmp_path: Path) -> None:
    write_hostile_tree(tmp_path)
    assert (tmp_path / "formfeed_tabs.py").read_text().split("\n")[7] == "async def signup(email: str):"
    assert "\x0c" in (tmp_path / "formfeed_tabs.py").read_text()
    data = (tmp_path / "mixed_endings.py").read_bytes()
    assert data.count(b"\r\n") and data.count(b"\n") > data.count(b"\r\n")
    assert MODERN.splitlines()[23].strip().startswith("requests.post(")
    assert (tmp_path / "unicode_breaks.py").read_text().split("\n")[9].strip().startswith("requests.post(")
    noqa = (tmp_path / NOQA_AFTER_FORMFEED[0]).read_text().split("\n")
    assert "\x0c" in noqa and noqa[8].endswith("# noqa: BGT102")


Reported = tuple[dict[str, tuple[int | None, str]], set[tuple[str, int, str]]]
LINE = re.compile(r"^(?P<path>[^\s:]+):(?:(?P<row>\d+):(?:(?P<col>\d+):)?)? (?P<code>[A-Z]+[0-9]+) (?P<msg>.*)$")


def parse_output(fmt: str, out: str) -> Reported:
    """(errors: path -> (row, message), findings: {(path, row, code)}) from one output format."""
    errors: dict[str, tuple[int | None, str]] = {}
    findings: set[tuple[str, int, str]] = set()

    def add(path: str, row: int | None, code: str | None, message: str) -> None:
        path = path.removeprefix("./")
        if code and code.startswith("BGT"):
            findings.add((path, row or 0, code))
        else:
            errors[path] = (row, message)

    if fmt in ("full", "concise"):
        for line in out.splitlines():
            m = LINE.match(line)
            if m:
                add(m["path"], int(m["row"]) if m["row"] else None, m["code"], m["msg"])
    elif fmt in ("json", "json-lines"):
        items = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines() if line]
        for d in items:
            add(d["filename"], d["location"]["row"], d["code"], d["message"])
    elif fmt == "github":
        for line in out.splitlines():
            m = re.match(r"::error title=bgtask-lint \((?P<code>\w+)\),file=(?P<path>[^,:]+)(?:,line=(?P<row>\d+))?.*?::(?P<msg>.*)$", line)
            if m:
                add(m["path"], int(m["row"]) if m["row"] else None, m["code"], m["msg"])
    elif fmt == "gitlab":
        for d in json.loads(out):
            add(d["location"]["path"], d["location"]["lines"]["begin"], d["check_name"], d["description"])
    elif fmt == "sarif":
        run_ = json.loads(out)["runs"][0]
        for r in run_["results"]:
            loc = r["locations"][0]["physicalLocation"]
            add(loc["artifactLocation"]["uri"], loc["region"]["startLine"], r["ruleId"], r["message"]["text"])
        for n in run_["invocations"][0]["toolExecutionNotifications"]:
            loc = n["locations"][0]["physicalLocation"]
            add(loc["artifactLocation"]["uri"], loc.get("region", {}).get("startLine"), n["descriptor"]["id"], n["message"]["text"])
    elif fmt == "junit":
        for case in ET.fromstring(out).iter("testcase"):
            for child in case:
                m = re.search(r":(\d+):\d+$", case.get("name", ""))
                add(case.get("classname", ""), int(m.group(1)) if m else None, child.get("type"), child.get("message", ""))
    else:  # pragma: no cover
        raise AssertionError(fmt)
    return errors, findings


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """The hostile tree linted once per output format, all formats at once."""
    root = tmp_path_factory.mktemp("hostile")
    write_hostile_tree(root)
    if not IS_ROOT:
        (root / "unreadable.py").write_text("x = 1\n")
        (root / "unreadable.py").chmod(0)
    procs = {
        fmt: subprocess.Popen(command("check", "--no-cache", "--output-format", fmt, "."), cwd=root, env=environ(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for fmt in FORMATS
    }  # fmt: skip
    done = {}
    for fmt, p in procs.items():
        out, err = p.communicate(timeout=120)
        done[fmt] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    return done


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_files_are_reported_in_every_format(hostile_runs: dict[str, subprocess.CompletedProcess[str]], fmt: str) -> None:
    proc = hostile_runs[fmt]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip() == "", proc.stderr
    errors, findings = parse_output(fmt, proc.stdout)
    expected = dict(BAD_FILES)
    if not IS_ROOT:
        expected["unreadable.py"] = (None, "cannot read: permission denied")
    for name, (row, reason) in expected.items():
        assert name in errors, f"{name} not reported in {fmt}: {sorted(errors)}"
        got_row, message = errors[name]
        assert reason in message, (name, message)
        if row is not None:
            assert got_row == row, (name, got_row, message)
    assert set(errors) == set(expected), f"unexpected errors: {set(errors) - set(expected)}"
    for name, (row, _col) in FINE_FILES.items():
        assert (name, row, "BGT102") in findings, (name, sorted(findings))
    name, row = NOQA_AFTER_FORMFEED
    assert {f for f in findings if f[0] == name} == set()


def test_full_output_gives_exact_positions_for_odd_but_valid_files(hostile_runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = hostile_runs["concise"].stdout
    for name, (row, col) in FINE_FILES.items():
        assert f"{name}:{row}:{col}: BGT102" in out, name


def test_hostile_files_survive_fix_byte_for_byte(tmp_path: Path) -> None:
    """``--fix`` over the hostile tree: bad files untouched, odd encodings and line endings kept."""
    write_hostile_tree(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_symlink()}
    proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the bad files are still findings
    for name in BAD_FILES:
        if name in before:
            assert (tmp_path / name).read_bytes() == before[name], name
    latin = (tmp_path / "latin1.py").read_bytes()
    assert latin.startswith(b"# -*- coding: latin-1 -*-\n") and b"caf\xe9" in latin and b"run_in_threadpool(" in latin
    bom = (tmp_path / "bom.py").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and not bom.startswith(b"\xef\xbb\xbf" * 2) and b"run_in_threadpool(" in bom
    crlf = (tmp_path / "crlf.py").read_bytes()
    assert b"run_in_threadpool(" in crlf and crlf.count(b"\n") == crlf.count(b"\r\n")
    mixed = (tmp_path / "mixed_endings.py").read_bytes()
    assert b"run_in_threadpool(" in mixed and mixed.count(b"\r\n") >= before["mixed_endings.py"].count(b"\r\n") - 1
    assert b"\x0c" in (tmp_path / "formfeed_tabs.py").read_bytes()
    assert (tmp_path / "empty.py").read_bytes() == b""
    for name in ("latin1.py", "bom.py", "crlf.py", "mixed_endings.py", "formfeed_tabs.py", "modern.py", "app.py"):
        assert b"run_in_threadpool(" in (tmp_path / name).read_bytes(), name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


DEEP_PARENS = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"  # overflows the native parser's stack: SIGSEGV
DEEP_LISTS = "x = " + "[" * 1000 + "]" * 1000 + "\n"  # at the edge of the native parser's stack
DEEP_BLOCKS = "".join(" " * i + "if x:\n" for i in range(1500)) + " " * 1500 + "pass\n"  # 1500 nested blocks
PLUS_CHAIN = "x = " + " + ".join(["1"] * 20_000) + "\n"  # quadratic for the parser: minutes
# deep, but real code: beyond Python's default recursion limit, within the linter's
LONG_ELIF = "def classify(x):\n    if x == 0:\n        return 0\n" + "".join(
    f"    elif x == {i}:\n        return {i}\n" for i in range(1, 1500)
)
LONG_CONCAT = "SQL = " + " + ".join(f"'part {i} '" for i in range(1500)) + "\n"


def test_deep_nesting_costs_only_its_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "app.py").write_text(handler("app"))
    (tmp_path / "deep_parens.py").write_text(DEEP_PARENS)
    (tmp_path / "deep_lists.py").write_text(DEEP_LISTS)
    (tmp_path / "deep_blocks.py").write_text(DEEP_BLOCKS)
    (tmp_path / "long_elif.py").write_text(LONG_ELIF + "\n\n" + handler("elif"))
    (tmp_path / "long_concat.py").write_text(LONG_CONCAT + handler("concat"))
    proc = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    errors, findings = parse_output("json", proc.stdout)
    assert ("app.py", 9, "BGT102") in findings  # the rest of the tree is linted
    elif_row = LONG_ELIF.count("\n") + 2 + 9
    assert {("long_elif.py", elif_row, "BGT102"), ("long_concat.py", 10, "BGT102")} <= findings
    assert set(errors) == {"deep_parens.py", "deep_lists.py", "deep_blocks.py"}
    assert "parser crashed (SIGSEGV)" in errors["deep_parens.py"][1] or "took longer" in errors["deep_parens.py"][1]
    assert any(word in errors["deep_lists.py"][1] for word in ("parser crashed", "too deeply nested", "took longer"))
    assert errors["deep_blocks.py"] == (101, "cannot parse: too many levels of indentation")


def test_a_parser_crash_does_not_kill_the_calling_process(tmp_path: Path) -> None:
    """In-process: the crash happens in a worker; this test's own process lives on."""
    path = tmp_path / "deep.py"
    path.write_text(DEEP_PARENS)
    files = [naming.SourceFile(path, "deep", False)]
    loaded = load.load(files, store.Store(None), jobs=1)
    assert loaded.facts == [] and len(loaded.errors) == 1
    assert loaded.errors[0].path == str(path) and "SIGSEGV" in loaded.errors[0].message


def test_cached_facts_are_read_while_the_workers_parse_and_a_crash_still_costs_only_its_file(tmp_path: Path) -> None:
    # after an edit a run parses a few files and reads many cached ones: the reading happens while the
    # workers parse (one entry whenever no answer is waiting), crash handling included
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    names = [f"m{i}" for i in range(40)]
    for name in names:
        (tmp_path / f"{name}.py").write_text(handler(name))
    files = [naming.SourceFile(tmp_path / f"{n}.py", n, False) for n in names]
    cache = store.Store(store.cache_base(tmp_path))
    first = load.load(files, cache, jobs=2)
    assert first.parsed == 40 and not first.errors
    (tmp_path / "m3.py").write_text(handler("m3") + "\n\ndef later():\n    return 1\n")
    (tmp_path / "deep.py").write_text(DEEP_PARENS)
    files.append(naming.SourceFile(tmp_path / "deep.py", "deep", False))
    again = load.load(files, store.Store(store.cache_base(tmp_path)), jobs=2)
    assert (again.parsed, again.cached) == (2, 39)
    assert [e.path for e in again.errors] == [str(tmp_path / "deep.py")] and "SIGSEGV" in again.errors[0].message
    assert [m.path for m in again.facts] == sorted(str(f.path) for f in files if f.path.name != "deep.py")
    assert [m for m in again.facts if m.module != "m3"] == [m for m in first.facts if m.module != "m3"]
    assert any(fn.qualname == "later" for m in again.facts if m.module == "m3" for fn in m.functions)


def test_a_worker_killed_from_outside_costs_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As when the kernel's OOM killer picks a parser (which its oom_score_adj asks for)."""
    import multiprocessing
    import threading

    monkeypatch.setenv("BGTASK_LINT_PARSE_TIMEOUT", "60")
    slow, fine = tmp_path / "slow.py", tmp_path / "fine.py"
    slow.write_text(PLUS_CHAIN)
    fine.write_text("x = 1\n")
    files = [naming.SourceFile(slow, "slow", False), naming.SourceFile(fine, "fine", False)]
    box: list[load.LoadResult] = []
    thread = threading.Thread(target=lambda: box.append(load.load(files, store.Store(None), jobs=1)))
    thread.start()
    deadline = time.monotonic() + 20
    while not multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # the worker is busy with slow.py (the first file)
    (worker,) = multiprocessing.active_children()
    if Path(f"/proc/{worker.pid}/oom_score_adj").exists():
        assert Path(f"/proc/{worker.pid}/oom_score_adj").read_text().strip() == "1000"
    os.kill(worker.pid, signal.SIGKILL)
    thread.join(30)
    (loaded,) = box
    assert [e.path for e in loaded.errors] == [str(slow)]
    assert loaded.errors[0].message == "the parser process was killed (SIGKILL); out of memory?"
    assert [f.path for f in loaded.facts] == [str(fine)]  # a new worker took the next file


@pytest.mark.slow  # several seconds: left out of the fast run
def test_huge_files_are_skipped_by_size_and_a_hung_parse_is_stopped(tmp_path: Path) -> None:
    """A file over max-file-size is skipped with a warning on every machine, however busy; the
    parse time guard only stops a parse that does not finish (the same every time for a small file
    that libcst's parser is quadratic on)."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "app.py").write_text(handler("app") + "\nimport generated\nimport plus_chain\n")  # both on the request side
    (tmp_path / "plus_chain.py").write_text(PLUS_CHAIN)
    chunk = "".join(f"def generated_{i}(a, b):\n    return helper_{i % 97}(a, b) + {i}\n\n\n" for i in range(2000))
    with open(tmp_path / "generated.py", "w") as fh:  # 10 MB of generated code
        while fh.tell() < 10 * 1024 * 1024:
            fh.write(chunk)
    started = time.monotonic()
    proc = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path, BGTASK_LINT_PARSE_TIMEOUT="2")
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    errors, findings = parse_output("json", proc.stdout)
    assert ("app.py", 9, "BGT102") in findings
    assert set(errors) == {"plus_chain.py"}
    assert errors["plus_chain.py"][1].startswith("parsing did not finish in 2 s and was stopped")
    warning = "warning: generated.py: skipped, 10.1 MB is over max-file-size (2.0 MB); raise it to lint this file"
    assert warning in proc.stderr.splitlines()
    assert elapsed < 30, elapsed


def test_a_file_over_the_size_limit_alone_is_a_warning_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT + '\n[tool.bgtask-lint]\nmax-file-size = "1KB"\n')
    (tmp_path / "app.py").write_text(handler("app") * 20)
    (tmp_path / "small.py").write_text("x = 1\n")
    proc = bgtask_lint("check", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning: app.py: skipped" in proc.stderr and "over max-file-size (1 KB)" in proc.stderr


def test_files_no_route_reaches_are_only_checked_to_parse(tmp_path: Path) -> None:
    """A file nothing on the request side imports is checked with CPython's parser: a valid one
    that libcst would take too long on costs nothing, a broken one is still reported."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "app.py").write_text(handler("app"))
    (tmp_path / "plus_chain.py").write_text(PLUS_CHAIN)
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    proc = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path, BGTASK_LINT_PARSE_TIMEOUT="2")
    assert proc.returncode == 1, proc.stderr
    errors, findings = parse_output("json", proc.stdout)
    assert ("app.py", 9, "BGT102") in findings
    assert set(errors) == {"broken.py"}
    assert errors["broken.py"][1].startswith("cannot parse")


def test_a_bad_timeout_setting_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(handler("app"))
    proc = bgtask_lint("check", "--no-cache", "app.py", cwd=tmp_path, BGTASK_LINT_PARSE_TIMEOUT="soon")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: BGTASK_LINT_PARSE_TIMEOUT must be a positive number of seconds, got 'soon'"


def test_a_missing_path_is_reported_and_the_rest_is_linted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(handler("app"))
    proc = bgtask_lint("check", "--no-cache", "--output-format", "concise", "app.py", "nope.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[:2] == [
        "app.py:9:5: BGT102 async handler `signup` makes blocking call `requests.post(...)` (network); it blocks the "
        "event loop while it runs",
        "nope.py: E902 no such file or directory",
    ]


@pytest.mark.parametrize(
    ("files", "code"),
    [
        pytest.param({"bad.py": "def f(:\n"}, 1, id="only-bad-files"),
        pytest.param({"bad.py": "def f(:\n", "ok.py": "x = 1\n"}, 1, id="bad-and-clean"),
        pytest.param({"ok.py": "x = 1\n", "broken.py": None}, 1, id="clean-and-broken-symlink"),
        pytest.param({"broken.py": None}, 1, id="only-a-broken-symlink"),
    ],
)
def test_file_errors_are_findings_exit_1(tmp_path: Path, files: dict[str, str | None], code: int) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    for name, text in files.items():
        if text is None:
            (tmp_path / name).symlink_to(tmp_path / "missing.py")
        else:
            (tmp_path / name).write_text(text)
    proc = bgtask_lint("check", "--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == code, proc.stdout + proc.stderr


def test_explicit_odd_paths(tmp_path: Path) -> None:
    """Named on the command line: a directory called x.py is walked, a FIFO and a loop are reported."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "x.py").mkdir()
    (tmp_path / "x.py" / "app.py").write_text(handler("x"))
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    os.mkfifo(tmp_path / "fifo.py")
    proc = bgtask_lint("check", "--no-cache", "--output-format", "concise", "x.py", "loop.py", "fifo.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "x.py/app.py:9:5: BGT102" in proc.stdout
    assert "loop.py: E902 symbolic link loop" in proc.stdout
    assert "fifo.py: E902 not a regular file" in proc.stdout


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_file_and_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "app.py").write_text(handler("app"))
    (tmp_path / "secret.py").write_text("x = 1\n")
    (tmp_path / "secret.py").chmod(0)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "m.py").write_text("x = 1\n")
    (tmp_path / "locked").chmod(0)
    try:
        proc = bgtask_lint("check", "--no-cache", "--output-format", "concise", ".", cwd=tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    assert "secret.py: E902 cannot read: permission denied" in proc.stdout
    assert "locked: E902 permission denied" in proc.stdout
    assert "app.py:9:5: BGT102" in proc.stdout


@pytest.mark.parametrize(
    "fmt",
    [
        "json",
        pytest.param("concise", marks=pytest.mark.xfail(strict=True, reason=(
            "the text renderers write the surrogate-escaped name to a strict UTF-8 stdout; "
            "cli/report must write with errors='surrogateescape' (see docs/reliability.md)"))),
    ],
)  # fmt: skip
@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.py"), "w") as fh:
        fh.write(handler("cafe"))
    proc = bgtask_lint("check", "--no-cache", "--output-format", fmt, ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "BGT102" in proc.stdout


def test_undecodable_stdin_is_reported(tmp_path: Path) -> None:
    proc = bgtask_lint("check", "--no-cache", "--stdin-filename", "app.py", cwd=tmp_path, stdin=b"x = '\xff'\n")
    assert proc.returncode == 1  # a file error is a finding, as in ruff
    assert "app.py:1:6: E999 cannot parse: byte 0xff is not valid UTF-8" in proc.stdout


def test_parse_errors_name_the_first_bad_byte() -> None:
    cases = {
        b"ok = 1\nbad = 1\x00\n": (2, 8, "NUL byte"),
        b"ok = 1\nname = 'caf\xe9'\n": (2, 12, "byte 0xe9 is not valid UTF-8 and there is no coding declaration"),
        b"# coding: utf-8\nname = 'caf\xe9'\n": (2, 12, "byte 0xe9 is not valid in the declared encoding 'utf-8'"),
        b"# coding: klingon\n": (1, None, "unknown encoding 'klingon'"),
        b"print 'x'\n": (1, 1, "Missing parentheses in call to 'print'"),
        b"x = 0777\n": (1, None, "leading zeros"),
    }
    for data, (row, col, reason) in cases.items():
        result = parse.answer((parse.SUMMARISE, "m.py", data, "m", False, None, None))
        assert result.facts is None and isinstance(result.error, FileError), data
        assert reason in result.error.message and result.error.row == row, (data, result.error)
        if col is not None:
            assert result.error.column == col, (data, result.error)


# =========================================================================== 5. config errors


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        pytest.param('[tool.bgtask-lint]\nselect = ["BGT1", "BGT999"]\n', "select", id="unknown-code"),
        pytest.param('[tool.bgtask-lint]\nexclude = ["gen/[z-a]/*.py"]\n', "exclude", id="bad-glob"),
        pytest.param('[tool.bgtask-lint]\nper-file-ignores = { "tests/[" = ["BGT101"] }\n', "per-file-ignores", id="bad-glob-key"),
        pytest.param('[tool.bgtask-lint]\nfastapi-version = "latest"\n', "fastapi-version", id="bad-version"),
        pytest.param('[tool.bgtask-lint]\nselect = ["BGT101"]\nignore = = []\n', "line 3", id="malformed-toml"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / "app.py").write_text(handler("app"))
    proc = bgtask_lint("check", "--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(tmp_path / "pyproject.toml") in lines[0]
    assert key in lines[0], lines[0]
