"""The command line as a user runs it: a real subprocess, exit codes, every output format parsed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bgtask_lint.fingerprint import RACY_NS
from bgtask_lint.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

APP = '''\
import requests
from fastapi import FastAPI

app = FastAPI()


@app.post("/signup")
async def signup(email: str):
    requests.post("https://hooks.example.com/signup", json={"email": email})
    return {"ok": True}


@app.post("/invite")
def invite(email: str):
    requests.post("https://hooks.example.com/invite", json={"email": email})
    return {"ok": True}
'''

CLEAN = '''\
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return {"ok": True}
'''


def bgtask_lint(*args: str, cwd: Path | None = None, stdin: str | None = None, env: dict | None = None):
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bgtask_lint", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env=full_env, timeout=120,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_console_script_is_installed() -> None:
    exe = shutil.which("bgtask-lint", path=str(Path(sys.executable).parent))
    assert exe, "the bgtask-lint console script is not installed next to this interpreter"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "bgtask-lint" in out.stdout


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_every_line_is_written_before_the_process_ends(tmp_path: Path, encoding: str) -> None:
    # the command ends with os._exit after flushing: a long report through a pipe (and through the
    # re-encoding wrapper click puts on a non-UTF-8 stdout) must arrive whole
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    handlers = "".join(f'\n@app.post("/s{i}")\nasync def s{i}(email: str):\n    requests.post("https://h.example.com", json={{"e": email}})\n'
                       for i in range(400))  # fmt: skip
    (tmp_path / "app.py").write_text(APP + handlers)
    out = bgtask_lint("check", ".", "--output-format", "concise", cwd=tmp_path, env={"PYTHONIOENCODING": encoding})
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert sum(": BGT10" in line for line in lines) == 402  # one finding per handler
    assert lines[-2:] == ["Found 402 errors.", "No fixes available (402 hidden fixes can be enabled with the --unsafe-fixes option)."]


def test_findings_exit_1_and_full_output(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "app.py:15:5: BGT101" in result.stdout  # the sync handler
    assert "app.py:9:5: BGT102" in result.stdout  # the async one: one site, one finding
    assert "^^^" in result.stdout  # the span is marked under the source line
    assert "Found 2 errors." in result.stdout
    assert "\x1b[" not in result.stdout


def test_clean_file_exits_0(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "clean.py", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed!" in result.stdout


def test_exit_zero(project: Path) -> None:
    assert bgtask_lint("check", "--no-cache", "--exit-zero", ".", cwd=project).returncode == 0


def test_json_has_ruffs_shape(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=project)
    data = json.loads(result.stdout)
    assert {d["code"] for d in data} == {"BGT101", "BGT102"}
    for d in data:
        assert set(d) == {"cell", "chain", "code", "end_location", "filename", "fix", "location", "message", "noqa_row", "url"}
        assert d["location"] == {"row": 15 if d["code"] == "BGT101" else 9, "column": 5}
        assert d["noqa_row"] == d["location"]["row"]
        assert d["filename"].endswith("app.py")
    bgt101 = next(d for d in data if d["code"] == "BGT101")
    assert bgt101["fix"]["applicability"] == "unsafe"


def test_json_lines(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "json-lines", ".", cwd=project)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 2 and all(r["code"].startswith("BGT") for r in rows)


def test_concise(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "concise", ".", cwd=project)
    lines = [line for line in result.stdout.splitlines() if "BGT" in line]
    assert len(lines) == 2 and ":9:5: BGT102" in lines[0] and ":15:5: BGT101" in lines[1]


def test_github(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "github", ".", cwd=project)
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("::error ") for line in lines)
    assert "line=9" in lines[0] and "col=5" in lines[0]


def test_junit_parses(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "junit", ".", cwd=project)
    root = ET.fromstring(result.stdout)
    assert len(root.findall(".//failure")) == 2


def test_sarif_and_gitlab_parse(project: Path) -> None:
    sarif = json.loads(bgtask_lint("check", "--no-cache", "--output-format", "sarif", ".", cwd=project).stdout)
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 2
    gitlab = json.loads(bgtask_lint("check", "--no-cache", "--output-format", "gitlab", ".", cwd=project).stdout)
    assert len(gitlab) == 2 and gitlab[0]["location"]["lines"]["begin"] == 9


def test_statistics(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--statistics", ".", cwd=project)
    assert result.returncode == 1
    assert result.stdout == (
        "1  BGT101  deferrable-work-in-response\n"
        "1  BGT102  blocking-call-in-async-path\n"
        "Found 2 errors.\n"
        "No fixes available (2 hidden fixes can be enabled with the --unsafe-fixes option).\n"
    )
    as_json = bgtask_lint("check", "--no-cache", "--statistics", "--output-format", "json", ".", cwd=project)
    assert json.loads(as_json.stdout) == [
        {"code": "BGT101", "name": "deferrable-work-in-response", "count": 1, "fixable": False, "fixable_count": 0},
        {"code": "BGT102", "name": "blocking-call-in-async-path", "count": 1, "fixable": False, "fixable_count": 0},
    ]


def test_select_and_ignore(project: Path) -> None:
    only = bgtask_lint("check", "--no-cache", "--select", "BGT102", "--output-format", "json", ".", cwd=project)
    assert {d["code"] for d in json.loads(only.stdout)} == {"BGT102"}
    none = bgtask_lint("check", "--no-cache", "--ignore", "BGT1", ".", cwd=project)
    assert none.returncode == 0


def test_noqa(project: Path) -> None:
    app = project / "app.py"
    app.write_text(APP.replace('json={"email": email})', 'json={"email": email})  # noqa: BGT101'))
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=project)
    assert {d["code"] for d in json.loads(result.stdout)} == {"BGT102"}
    app.write_text(APP.replace('json={"email": email})', 'json={"email": email})  # noqa'))
    assert bgtask_lint("check", "--no-cache", ".", cwd=project).returncode == 0


def test_config_in_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\n\n[tool.bgtask-lint]\nignore = ["BGT102"]\n')
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=project)
    assert {d["code"] for d in json.loads(result.stdout)} == {"BGT101"}


@pytest.mark.parametrize(
    ("table", "key"),
    [
        pytest.param('selct = ["BGT"]', "selct", id="unknown key"),
        pytest.param('select = "BGT101"', "select", id="wrong type"),
        pytest.param('select = ["XYZ999"]', "select", id="unknown code"),
        pytest.param('fastapi-version = "new"', "fastapi-version", id="bad version"),
        pytest.param('slow-calls = { "a.b" = "teleport" }', "slow-calls", id="unknown category"),
    ],
)
def test_config_errors_exit_2_naming_file_and_key(project: Path, table: str, key: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.bgtask-lint]\n{table}\n")
    result = bgtask_lint("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "pyproject.toml" in message and key in message
    assert "Traceback" not in result.stderr


def test_malformed_pyproject_exit_2(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.bgtask-lint]\nselect = [\n")
    result = bgtask_lint("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 2 and "pyproject.toml" in result.stderr


def test_explicit_config_file(project: Path) -> None:
    cfg = project / "lint.toml"
    cfg.write_text('select = ["BGT101"]\n')
    result = bgtask_lint("check", "--no-cache", "--config", str(cfg), "--output-format", "json", ".", cwd=project)
    assert {d["code"] for d in json.loads(result.stdout)} == {"BGT101"}


def test_missing_path_is_an_e902_finding(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "concise", "nope.py", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == "nope.py: E902 no such file or directory"


def test_file_errors_can_be_ignored_like_rules(project: Path) -> None:
    (project / "broken.py").write_text("def broken(:\n")
    for flag in ("--ignore", "--extend-select"):
        result = bgtask_lint("check", "--no-cache", "--output-format", "json", flag, "E999", "broken.py", cwd=project)
        assert result.returncode == (0 if flag == "--ignore" else 1), result.stderr
        assert [row["code"] for row in json.loads(result.stdout)] == ([] if flag == "--ignore" else [None])


def test_no_python_files_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no code here\n")
    result = bgtask_lint("check", "--no-cache", "docs", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.strip() == "warning: No Python files found under the given path(s)"


def test_unparsable_file_is_reported_and_the_run_goes_on(project: Path) -> None:
    (project / "broken.py").write_text("def broken(:\n    pass\n")
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", ".", cwd=project)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert any(d["code"] == "BGT101" for d in data)
    assert any(d["filename"].endswith("broken.py") and d["code"] is None for d in data)
    assert "Traceback" not in result.stderr


def test_stdin_filename(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--stdin-filename", "app.py", "--output-format", "json",
                         cwd=project, stdin=APP.replace("requests.post", "requests.put"))  # fmt: skip
    data = json.loads(result.stdout)
    assert {d["code"] for d in data} == {"BGT101", "BGT102"}
    assert "requests.put" in data[0]["message"]


def test_cache_gives_the_same_answer(project: Path) -> None:
    cold = bgtask_lint("check", "--output-format", "json", ".", cwd=project)
    warm = bgtask_lint("check", "--output-format", "json", "-v", ".", cwd=project)
    assert json.loads(cold.stdout) == json.loads(warm.stdout)
    assert (project / ".bgtask_lint_cache").is_dir()
    assert "0 parsed" in warm.stderr


OUTPUT_OPTIONS = [("--output-format", "full"), ("--output-format", "sarif"), ("--statistics",), ("--quiet", "--unsafe-fixes")]


@pytest.mark.slow  # several seconds: left out of the fast run
def test_a_rerun_prints_what_an_uncached_run_prints(project: Path) -> None:
    # an unchanged tree is answered from the cache, output included: byte for byte what a run prints
    # without the cache, for every format and option that shapes the output
    time.sleep(RACY_NS / 1e9 + 0.2)  # files this fresh are never answered from the cache: they could change unseen
    before = {}
    for args in OUTPUT_OPTIONS:
        before[args] = uncached = bgtask_lint("check", ".", "--no-cache", *args, cwd=project)
        runs = [bgtask_lint("check", ".", *args, cwd=project) for _ in range(3)]
        assert {(r.returncode, r.stdout, r.stderr) for r in runs} == {(uncached.returncode, uncached.stdout, uncached.stderr)}
        colored = bgtask_lint("check", ".", *args, cwd=project, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
        assert ("\x1b[" in colored.stdout) == (args[-1] != "sarif")  # the colour choice is part of what is kept
    assert len(list((project / ".bgtask_lint_cache").rglob("outputs/*"))) == 2 * len(OUTPUT_OPTIONS)
    (project / "app.py").write_text("# the finding moves one line down\n" + APP)
    time.sleep(RACY_NS / 1e9 + 0.2)
    for args in OUTPUT_OPTIONS:
        changed = bgtask_lint("check", ".", *args, cwd=project)
        assert changed.stdout == bgtask_lint("check", ".", "--no-cache", *args, cwd=project).stdout
        assert changed.stdout != before[args].stdout or "--statistics" in args


def test_rule_and_rules_commands() -> None:
    docs = bgtask_lint("rule", "BGT101")
    assert docs.returncode == 0 and "What it does" in docs.stdout and "Use instead" in docs.stdout
    table = bgtask_lint("rules")
    assert table.returncode == 0 and all(f"BGT{n}" in table.stdout for n in (101, 102, 201, 202, 203, 204, 205, 206))
    assert bgtask_lint("rule", "BGT999").returncode == 2


def test_examples_show_every_rule() -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", str(EXAMPLES))
    codes = {d["code"] for d in json.loads(result.stdout)}
    assert codes == {"BGT101", "BGT102", "BGT201", "BGT202", "BGT203", "BGT204", "BGT205", "BGT206"}


def test_baseline_survives_line_shifts_and_reports_new_findings(project: Path) -> None:
    assert bgtask_lint("check", "--no-cache", "--write-baseline", "baseline.json", ".", cwd=project).returncode == 0
    data = json.loads((project / "baseline.json").read_text())
    assert len(data["findings"]) == 2
    app = project / "app.py"
    app.write_text("# an unrelated edit that shifts every line\n\n" + app.read_text())
    assert bgtask_lint("check", "--no-cache", "--baseline", "baseline.json", ".", cwd=project).returncode == 0
    app.write_text(app.read_text() + '\n\n@app.get("/other")\nasync def other():\n    requests.get("https://example.com")\n')
    result = bgtask_lint("check", "--no-cache", "--baseline", "baseline.json", "--output-format", "json", ".", cwd=project)
    assert result.returncode == 1
    assert {d["location"]["row"] for d in json.loads(result.stdout)} == {23}


def test_baseline_from_another_directory(project: Path) -> None:
    bgtask_lint("check", "--no-cache", "--write-baseline", "baseline.json", ".", cwd=project)
    sub = project / "sub"
    sub.mkdir()
    result = bgtask_lint("check", "--no-cache", "--baseline", "../baseline.json", "..", cwd=sub)
    assert result.returncode == 0, result.stdout


def test_bad_baseline_exit_2(project: Path) -> None:
    (project / "baseline.json").write_text("{not json")
    result = bgtask_lint("check", "--no-cache", "--baseline", "baseline.json", ".", cwd=project)
    assert result.returncode == 2 and "baseline.json" in result.stderr


def test_add_noqa_silences_every_finding(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--add-noqa", ".", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = (project / "app.py").read_text().splitlines()
    assert lines[8].endswith("# noqa: BGT102") and lines[14].endswith("# noqa: BGT101")
    assert bgtask_lint("check", "--no-cache", ".", cwd=project).returncode == 0


def test_json_fix_edits_rewrite_the_source(project: Path) -> None:
    result = bgtask_lint("check", "--no-cache", "--output-format", "json", "app.py", cwd=project)
    fix = next(d for d in json.loads(result.stdout) if d["code"] == "BGT101")["fix"]
    lines = (project / "app.py").read_text().splitlines(keepends=True)
    for edit in sorted(fix["edits"], key=lambda e: e["location"]["row"], reverse=True):
        start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
        lines[start:end] = [edit["content"]]
    fixed = "".join(lines)
    compile(fixed, "app.py", "exec")
    assert "background_tasks.add_task(requests.post" in fixed


def test_warm_run_is_answered_from_the_result_cache_and_invalidated_by_edits(project: Path) -> None:
    cold = bgtask_lint("check", "--output-format", "json", ".", cwd=project)
    warm = bgtask_lint("check", "--output-format", "json", "-v", ".", cwd=project)
    assert json.loads(cold.stdout) == json.loads(warm.stdout)
    (project / "clean.py").write_text(CLEAN + '\n\n@app.get("/x")\nasync def x():\n    open("log.txt", "a").write("x")\n')
    edited = bgtask_lint("check", "--output-format", "json", ".", cwd=project)
    assert {d["filename"].rsplit("/", 1)[-1] for d in json.loads(edited.stdout)} == {"app.py", "clean.py"}


VERSIONED = '''\
from collections.abc import Iterator

from fastapi import BackgroundTasks, Depends, FastAPI

app = FastAPI()


class Session:
    def close(self) -> None: ...


def get_db() -> Iterator[Session]:
    db = Session()
    yield db
    db.close()


def audit(db: Session) -> None: ...


@app.post("/login")
def login(background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
    background_tasks.add_task(audit, db)
    return {}
'''


def test_result_cache_notices_a_changed_fastapi_pin(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(VERSIONED)
    (tmp_path / "requirements.txt").write_text("fastapi==0.110.0\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    first = bgtask_lint("check", "--select", "BGT203", "--output-format", "json", ".", cwd=tmp_path)
    assert [d["code"] for d in json.loads(first.stdout)] == ["BGT203"]
    (tmp_path / "requirements.txt").write_text("fastapi==0.120.0\n")
    second = bgtask_lint("check", "--select", "BGT203", "--output-format", "json", ".", cwd=tmp_path)
    assert json.loads(second.stdout) == []


def test_rules_as_json_for_tools() -> None:
    result = bgtask_lint("rules", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    assert [r["code"] for r in rows] == [r.code for r in all_rules()]
    for row in rows:
        assert set(row) == {"code", "name", "summary", "explanation", "url"}
        assert row["explanation"].startswith("## What it does") and row["url"].endswith(row["code"].lower())


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--diff", "--output-format", "json"], ["--diff", "--output-format"], id="diff with json"),
        pytest.param(["--add-noqa", "--fix"], ["--add-noqa", "--fix"], id="add-noqa with fix"),
        pytest.param(["--add-noqa", "--diff"], ["--add-noqa", "--diff"], id="add-noqa with diff"),
        pytest.param(["--quiet", "--verbose"], ["--quiet", "--verbose"], id="quiet with verbose"),
        pytest.param(["--stdin-filename", "app.py", "app.py"], ["--stdin-filename", "paths"], id="stdin with paths"),
        pytest.param(["--baseline", "b.json", "--write-baseline", "./b.json"], ["--write-baseline", "--baseline"],
                     id="one file for both baselines"),
    ],
)  # fmt: skip
def test_conflicting_options_are_refused(project: Path, args: list[str], named: list[str]) -> None:
    before = (project / "app.py").read_text()
    result = bgtask_lint("check", "--no-cache", *args, cwd=project, stdin="x = 1\n")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and all(n in line for n in named), line
    assert result.stdout == "" and (project / "app.py").read_text() == before


def _cache_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("how", ["option", "environment", "setting"])
def test_the_cache_goes_where_it_is_told(project: Path, tmp_path: Path, how: str) -> None:
    cache = tmp_path / "ci-cache"
    args, env = [], {}
    if how == "option":
        args = ["--cache-dir", str(cache)]
    elif how == "environment":
        env = {"BGTASK_LINT_CACHE_DIR": str(cache)}
    else:
        (project / "pyproject.toml").write_text('[tool.bgtask-lint]\ncache-dir = "ci-cache"\n')
    first = bgtask_lint("check", *args, ".", cwd=project, env=env)
    assert first.returncode == 1 and "BGT102" in first.stdout
    assert not (project / ".bgtask_lint_cache").exists()
    assert _cache_files(cache) and (cache / ".gitignore").read_text() == "*\n"
    again = bgtask_lint("check", *args, ".", cwd=project, env=env)
    assert again.stdout == first.stdout


def test_a_cache_that_cannot_be_written_is_said_once_and_the_run_goes_on(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    proc = bgtask_lint("check", "--cache-dir", str(blocker / "cache"), ".", cwd=project)
    assert proc.returncode == 1 and "BGT102" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "cannot write the cache in" in warnings[0] and "not-a-directory" in warnings[0]


@pytest.mark.slow  # several seconds: left out of the fast run
def test_a_cache_restored_into_a_fresh_checkout_elsewhere_is_reused(project: Path, tmp_path: Path) -> None:
    (project / "helpers.py").write_text("import smtplib\n\n\ndef mail(to):\n    smtplib.SMTP('x').sendmail('a', [to], 'b')\n")
    first = bgtask_lint("check", "-v", ".", cwd=project)
    assert "0 from cache" in first.stderr
    time.sleep(RACY_NS / 1e9)  # files written within the racy window are never recorded
    bgtask_lint("check", ".", cwd=project)
    # what CI does: a new clone at another path (new inodes and mtimes) and the cache directory restored
    clone = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(project, clone)  # copies contents; the copies get new inodes
    now = time.time()
    for path in clone.rglob("*.py"):
        os.utime(path, (now, now))
    moved = bgtask_lint("check", "-v", ".", cwd=clone)
    assert moved.stdout.replace(str(clone), "") == first.stdout.replace(str(project), "")
    assert "0 parsed" in moved.stderr, moved.stderr


def test_force_exclude_skips_named_files_the_settings_exclude(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.bgtask-lint]\nextend-exclude = ["generated"]\n')
    (project / "generated").mkdir()
    shutil.copy(project / "app.py", project / "generated" / "client.py")
    named = bgtask_lint("check", "generated/client.py", cwd=project)
    assert named.returncode == 1 and "generated/client.py" in named.stdout  # named files are linted, as ruff does
    forced = bgtask_lint("check", "--force-exclude", "generated/client.py", cwd=project)
    assert forced.returncode == 0 and "BGT" not in forced.stdout
    (project / "pyproject.toml").write_text('[tool.bgtask-lint]\nextend-exclude = ["generated"]\nforce-exclude = true\n')
    both = bgtask_lint("check", "generated/client.py", "app.py", cwd=project)
    assert both.returncode == 1 and "app.py" in both.stdout and "generated" not in both.stdout


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal, as a user at a shell does; (exit code, what stderr showed)."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bgtask_lint", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=slave, env={**os.environ, **env})  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=120), shown.decode("utf-8", "replace")


def test_a_long_run_shows_progress_on_a_terminal_and_never_in_piped_output(project: Path) -> None:
    for i in range(40):
        (project / f"mod_{i}.py").write_text(APP.replace("signup", f"signup_{i}"))
    code, shown = _on_a_terminal(["check", "--no-cache", "."], project, {"BGTASK_LINT_PROGRESS_AFTER": "0"})
    assert code == 1 and "Parsing files" in shown and "/42" in shown
    code, shown = _on_a_terminal(["check", "--no-cache", "app.py"], project, {})  # under a second: no bar
    assert code == 1 and "Parsing" not in shown and "Analysing" not in shown
    piped = bgtask_lint("check", "--no-cache", ".", cwd=project, env={"BGTASK_LINT_PROGRESS_AFTER": "0"})
    assert "Parsing" not in piped.stderr and "\x1b" not in piped.stderr


def test_verbose_prints_phase_timings_and_cache_hits(project: Path) -> None:
    proc = bgtask_lint("check", "-v", ".", cwd=project)
    timings = next(line for line in proc.stderr.splitlines() if line.startswith("timings: "))
    phases = [part.split()[0] for part in timings.removeprefix("timings: ").split(", ")]
    assert phases == ["discovery", "parse", "index", "rules", "locate", "report"]
    assert "2 files checked, 2 parsed, 0 from cache" in proc.stderr
