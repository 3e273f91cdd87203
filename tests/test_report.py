"""Tests for the output formats: text frames and summaries, ruff JSON, GitHub, GitLab, SARIF and JUnit."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bgtask_lint.models import Diagnostic, Edit, FileError, Fix, Location
from bgtask_lint.report.render import (
    FORMATS,
    Report,
    RuleMeta,
    fingerprint,
    render,
    render_rule_docs,
    render_rules_table,
)

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[")

SOURCE = """\
import time

async def handler():
    time.sleep(1)
    return {"ok": True}
"""

RULES = (
    RuleMeta(
        "BGT101",
        "deferrable-work-in-response",
        "Slow side effect runs before responding",
        "## What it does\nChecks for slow work.",
        "https://example.org/rules#bgt101",
    ),
    RuleMeta(
        "BGT102",
        "blocking-call-in-async-path",
        "Blocking call in an async handler",
        "## What it does\nChecks for blocking calls.",
        "https://example.org/rules#bgt102",
    ),
)

SAFE_FIX = Fix(
    "safe", "Use `asyncio.sleep`", "swap", 3, (Edit("await asyncio.sleep(1)", Location(4, 5), Location(4, 18)),)
)
UNSAFE_FIX = Fix(
    "unsafe",
    "Move the call into a background task",
    "defer",
    1,
    (Edit("tasks.add_task(send)", Location(7, 5), Location(7, 11)),),
)

BLOCKING = Diagnostic(
    code="BGT102",
    name="blocking-call-in-async-path",
    message="Blocking call `time.sleep` in async handler",
    path="app/main.py",
    ordinal=3,
    location=Location(4, 5),
    end_location=Location(4, 18),
    fix=SAFE_FIX,
    chain=("handler", "time.sleep"),
    function="handler",
    snippet="time.sleep(1)",
)
RETURNED = Diagnostic(
    code="BGT101",
    name="deferrable-work-in-response",
    message="Slow work before the response",
    path="app/main.py",
    ordinal=4,
    location=Location(5, 12),
    end_location=Location(5, 24),
    no_fix_reason="the result is used",
    function="handler",
    snippet='{"ok": True}',
)
OTHER = Diagnostic(
    code="BGT101",
    name="deferrable-work-in-response",
    message="Slow work before the response",
    path="app/other.py",
    ordinal=1,
    location=Location(7, 5),
    end_location=Location(7, 11),
    fix=UNSAFE_FIX,
    function="send_mail",
    snippet="send()",
)
BROKEN = FileError("app/broken.py", "cannot parse: invalid syntax", 3, 7)
UNREADABLE = FileError("app/gone.py", "permission denied")


def make_report(*diagnostics: Diagnostic, errors: tuple[FileError, ...] = (), **kwargs: Any) -> Report:
    kwargs.setdefault("sources", {"app/main.py": SOURCE})
    return Report(diagnostics=diagnostics, errors=errors, rules=RULES, **kwargs)


FULL = make_report(BLOCKING, RETURNED, OTHER, errors=(BROKEN, UNREADABLE), fixable=1, unsafe_fixable_hidden=1)


def output(report: Report, fmt: str, **kwargs: Any) -> str:
    stream = io.StringIO()
    render(report, fmt, stream, **{"color": False, **kwargs})
    return stream.getvalue()


# --------------------------------------------------------------------------- full and concise


def test_full_shows_frame_help_chain_and_summary() -> None:
    text = output(make_report(BLOCKING, fixable=1), "full")
    assert text == (
        "app/main.py:4:5: BGT102 Blocking call `time.sleep` in async handler\n"
        "  |\n"
        "3 | async def handler():\n"
        "4 |     time.sleep(1)\n"
        "  |     ^^^^^^^^^^^^^ blocking-call-in-async-path\n"
        '5 |     return {"ok": True}\n'
        "  |\n"
        "  = help: Use `asyncio.sleep` (safe fix)\n"
        "  = chain: handler -> time.sleep\n"
        "\n"
        "Found 1 error.\n"
        "[*] 1 fixable with the --fix option.\n"
    )


def test_full_notes_missing_fix_unsafe_fix_and_file_errors() -> None:
    text = output(FULL, "full")
    assert "  = note: no fix offered: the result is used\n" in text
    assert "  = help: Move the call into a background task (unsafe fix, use --unsafe-fixes)\n" in text
    assert "app/other.py:7:5: BGT101 Slow work before the response\n  = help:" in text  # no source: no frame
    assert "app/broken.py:3:7: E999 cannot parse: invalid syntax\n" in text
    assert "app/gone.py: E902 permission denied\n" in text
    assert text.endswith(
        "Found 5 errors.\n"
        "[*] 1 fixable with the --fix option (1 hidden fix can be enabled with the --unsafe-fixes option).\n"
    )


def test_full_unsafe_fix_without_hint_when_unsafe_fixes_are_enabled() -> None:
    text = output(make_report(OTHER, fixable=1), "full")
    assert "(unsafe fix)\n" in text


def test_full_underlines_every_line_of_a_multiline_span() -> None:
    source = "def f():\n    x = call(\n        1,\n    )\n    return x\n"
    d = replace(RETURNED, path="m.py", location=Location(2, 9), end_location=Location(4, 6))
    text = output(make_report(d, sources={"m.py": source}), "full", quiet=True)
    assert text.splitlines()[1:10] == [
        "  |",
        "1 | def f():",
        "2 |     x = call(",
        "  |         ^^^^^",
        "3 |         1,",
        "  |         ^^",
        "4 |     )",
        "  |     ^ deferrable-work-in-response",
        "5 |     return x",
    ]


@pytest.mark.parametrize(
    ("source", "start", "end", "frame"),
    [
        pytest.param(
            "x = f()\ny = 2\n",
            (1, 5),
            (1, 8),
            ["  |", "1 | x = f()", "  |     ^^^ NAME", "2 | y = 2", "  |"],
            id="first-line",
        ),
        pytest.param(
            "a = 1\n\nx = f()\n",
            (3, 5),
            (3, 8),
            ["  |", "2 |", "3 | x = f()", "  |     ^^^ NAME", "  |"],
            id="blank-context-and-last-line",
        ),
        pytest.param(
            "x = (\n    f()\n)\ny\n",
            (1, 5),
            (4, 1),
            ["  |", "1 | x = (", "  |     ^", "2 |     f()", "  |     ^^^", "3 | )", "  | ^ NAME", "4 | y", "  |"],
            id="span-ends-at-line-start",
        ),
        pytest.param(
            "\tx = f()\n",
            (1, 6),
            (1, 9),
            ["  |", "1 | \tx = f()".expandtabs(), "  | \t    ^^^ NAME".expandtabs(), "  |"],
            id="tabs",
        ),
        pytest.param(
            "x = f()\n", (1, 5), (1, 99), ["  |", "1 | x = f()", "  |     ^^^ NAME", "  |"], id="end-past-eol"
        ),
        pytest.param("x = f()\n", (5, 1), (5, 3), [], id="row-out-of-range"),
    ],
)
def test_full_frame_edges(source: str, start: tuple[int, int], end: tuple[int, int], frame: list[str]) -> None:
    d = replace(RETURNED, path="m.py", location=Location(*start), end_location=Location(*end))
    lines = output(make_report(d, sources={"m.py": source}), "full", quiet=True).splitlines()
    assert lines[1 : 1 + len(frame)] == [line.replace("NAME", d.name) for line in frame]
    assert lines[1 + len(frame)] == "  = note: no fix offered: the result is used"


@pytest.mark.parametrize(
    ("edits", "diff"),
    [
        pytest.param(SAFE_FIX.edits, ["    -     time.sleep(1)", "    +     await asyncio.sleep(1)"], id="replace"),
        pytest.param((Edit("", Location(4, 1), Location(5, 1)),), ["    -     time.sleep(1)"], id="delete-line"),
        pytest.param(
            (Edit("import asyncio\n", Location(1, 1), Location(1, 1)), *SAFE_FIX.edits),
            [
                "    + import asyncio",
                "    -     time.sleep(1)",
                "    +     await asyncio.sleep(1)",
            ],
            id="two-edits",
        ),
        pytest.param((Edit("x", Location(40, 1), Location(41, 1)),), [], id="out-of-range"),
    ],
)
def test_full_show_fixes_prints_the_changed_lines(edits: tuple[Edit, ...], diff: list[str]) -> None:
    d = replace(BLOCKING, fix=replace(SAFE_FIX, edits=edits))
    lines = output(make_report(d), "full", show_fixes=True, quiet=True).splitlines()
    assert lines[8] == "  = chain: handler -> time.sleep"
    assert lines[9:-1] == diff
    assert "    -" not in output(make_report(d), "full", quiet=True)


def test_concise_is_one_line_per_finding() -> None:
    assert output(FULL, "concise").splitlines() == [
        "app/main.py:4:5: BGT102 Blocking call `time.sleep` in async handler",
        "app/main.py:5:12: BGT101 Slow work before the response",
        "app/other.py:7:5: BGT101 Slow work before the response",
        "app/broken.py:3:7: E999 cannot parse: invalid syntax",
        "app/gone.py: E902 permission denied",
        "Found 5 errors.",
        "[*] 1 fixable with the --fix option (1 hidden fix can be enabled with the --unsafe-fixes option).",
    ]


def test_paths_are_printed_relative_to_the_root(tmp_path: Path) -> None:
    d = replace(RETURNED, path=str(tmp_path / "pkg" / "m.py"))
    assert (
        output(make_report(d, root=str(tmp_path)), "concise", quiet=True)
        == f"{Path('pkg/m.py')}:5:12: BGT101 Slow work before the response\n"
    )


@pytest.mark.parametrize(
    ("diagnostics", "kwargs", "expected"),
    [
        pytest.param((), {}, ["All checks passed!"], id="clean"),
        pytest.param((RETURNED,), {}, ["Found 1 error."], id="one"),
        pytest.param((RETURNED, OTHER), {}, ["Found 2 errors."], id="two"),
        pytest.param((RETURNED,), {"fixed": 2}, ["Found 3 errors (2 fixed, 1 remaining)."], id="fixed"),
        pytest.param((), {"fixed": 1}, ["Found 1 error (1 fixed, 0 remaining)."], id="all-fixed"),
        pytest.param(
            (BLOCKING, OTHER), {"fixable": 2}, ["Found 2 errors.", "[*] 2 fixable with the --fix option."], id="fixable"
        ),
        pytest.param(
            (OTHER, OTHER),
            {"unsafe_fixable_hidden": 2},
            ["Found 2 errors.", "No fixes available (2 hidden fixes can be enabled with the --unsafe-fixes option)."],
            id="hidden",
        ),
    ],
)
def test_summary_wording(diagnostics: tuple[Diagnostic, ...], kwargs: dict[str, Any], expected: list[str]) -> None:
    text = output(make_report(*diagnostics, **kwargs), "concise")
    assert text.splitlines()[len(diagnostics) :] == expected


@pytest.mark.parametrize("fmt", [pytest.param("full", id="full"), pytest.param("concise", id="concise")])
def test_quiet_drops_the_summary(fmt: str) -> None:
    assert "Found" not in output(make_report(RETURNED), fmt, quiet=True)
    assert output(make_report(), fmt, quiet=True) == ""


def test_statistics_text_and_json() -> None:
    report = make_report(BLOCKING, RETURNED, OTHER, errors=(BROKEN,), fixable=1, unsafe_fixable_hidden=1)
    lines = output(report, "full", statistics=True).splitlines()
    assert lines[:3] == [
        "2  BGT101  [ ] deferrable-work-in-response",
        "1  BGT102  [*] blocking-call-in-async-path",
        "1  E999    [ ] syntax-error",
    ]
    assert lines[3] == "Found 4 errors."
    stats = json.loads(output(report, "json", statistics=True))
    assert stats[0] == {
        "code": "BGT101",
        "name": "deferrable-work-in-response",
        "count": 2,
        "fixable": False,
        "fixable_count": 0,
    }


# --------------------------------------------------------------------------- colour


def test_color_true_emits_ansi_and_false_does_not() -> None:
    assert ANSI.search(output(FULL, "full", color=True))
    assert not ANSI.search(output(FULL, "full", color=False))


@pytest.mark.parametrize(
    ("env", "colored"),
    [
        pytest.param({}, False, id="not-a-terminal"),
        pytest.param({"FORCE_COLOR": "1"}, True, id="force-color"),
        pytest.param({"NO_COLOR": "1"}, False, id="no-color"),
        pytest.param({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, id="no-color-wins"),
    ],
)
def test_auto_color_follows_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], colored: bool) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = io.StringIO()
    render(FULL, "full", stream, color=None)
    assert bool(ANSI.search(stream.getvalue())) is colored


def test_no_ansi_on_a_terminal_when_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = Terminal()
    render(FULL, "full", stream)
    assert ANSI.search(stream.getvalue())
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    render(FULL, "full", stream)
    assert not ANSI.search(stream.getvalue())


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS if f not in ("full", "concise")])
def test_machine_formats_never_contain_colour(fmt: str) -> None:
    assert not ANSI.search(output(FULL, fmt, color=True))


# --------------------------------------------------------------------------- JSON


def test_json_has_ruffs_shape() -> None:
    items = json.loads(output(FULL, "json"))
    assert [i["code"] for i in items] == ["BGT102", "BGT101", "BGT101", None, None]
    first = items[0]
    assert set(first) == {
        "cell",
        "code",
        "end_location",
        "filename",
        "fix",
        "location",
        "message",
        "noqa_row",
        "url",
        "chain",
    }
    assert first["location"] == {"column": 5, "row": 4}
    assert first["end_location"] == {"column": 18, "row": 4}
    assert first["noqa_row"] == 4
    assert first["cell"] is None
    assert first["filename"] == "app/main.py"
    assert first["url"] == "https://example.org/rules#bgt102"
    assert first["chain"] == ["handler", "time.sleep"]
    assert first["fix"] == {
        "applicability": "safe",
        "message": "Use `asyncio.sleep`",
        "edits": [
            {
                "content": "await asyncio.sleep(1)",
                "location": {"column": 5, "row": 4},
                "end_location": {"column": 18, "row": 4},
            }
        ],
    }
    assert "chain" not in items[1]
    assert items[1]["fix"] is None
    assert items[2]["fix"]["applicability"] == "unsafe"
    assert items[3] == {
        "cell": None,
        "code": None,
        "end_location": {"column": 7, "row": 3},
        "filename": "app/broken.py",
        "fix": None,
        "location": {"column": 7, "row": 3},
        "message": "cannot parse: invalid syntax",
        "noqa_row": None,
        "url": None,
    }
    assert items[4]["location"] == {"column": 1, "row": 1}


def test_json_lines_match_json() -> None:
    lines = output(FULL, "json-lines").splitlines()
    assert [json.loads(line) for line in lines] == json.loads(output(FULL, "json"))
    assert output(make_report(), "json-lines") == ""
    assert json.loads(output(make_report(), "json")) == []


# --------------------------------------------------------------------------- GitHub

GITHUB_LINE = re.compile(r"^::error (?P<props>[^:]*)::(?P<message>.*)$")


def github_annotations(text: str) -> list[tuple[dict[str, str], str]]:
    out = []
    for line in text.splitlines():
        match = GITHUB_LINE.match(line)
        assert match, line
        props = dict(pair.split("=", 1) for pair in match["props"].split(","))
        out.append((props, match["message"]))
    return out


def test_github_annotations() -> None:
    annotations = github_annotations(output(FULL, "github"))
    props, message = annotations[0]
    assert props == {
        "title": "bgtask-lint (BGT102)",
        "file": "app/main.py",
        "line": "4",
        "col": "5",
        "endLine": "4",
        "endColumn": "18",
    }
    assert message == "app/main.py:4:5: BGT102 Blocking call `time.sleep` in async handler"
    assert annotations[3] == (
        {"title": "bgtask-lint (E999)", "file": "app/broken.py", "line": "3", "col": "7"},
        "app/broken.py:3:7: E999 cannot parse: invalid syntax",
    )
    assert annotations[4] == (
        {"title": "bgtask-lint (E902)", "file": "app/gone.py"},
        "app/gone.py: E902 permission denied",
    )


def test_github_escapes_data_and_properties() -> None:
    d = replace(RETURNED, path="a,b:c%.py", message="100% done,\nreally: yes\r")
    (line,) = output(make_report(d), "github").splitlines()
    assert "file=a%2Cb%3Ac%25.py," in line
    assert line.endswith("::a,b:c%25.py:5:12: BGT101 100%25 done,%0Areally: yes%0D")
    props, _ = github_annotations(line)[0]
    assert props["file"] == "a%2Cb%3Ac%25.py"


# --------------------------------------------------------------------------- GitLab


def test_gitlab_code_quality() -> None:
    issues = json.loads(output(FULL, "gitlab"))
    assert issues[0] == {
        "description": "BGT102: Blocking call `time.sleep` in async handler",
        "check_name": "BGT102",
        "fingerprint": fingerprint(BLOCKING),
        "severity": "major",
        "location": {"path": "app/main.py", "lines": {"begin": 4, "end": 4}},
    }
    assert issues[3]["check_name"] == "E999"
    assert issues[3]["location"]["lines"] == {"begin": 3, "end": 3}
    assert issues[4]["check_name"] == "E902"
    assert issues[4]["location"]["lines"] == {"begin": 1, "end": 1}
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_gitlab_fingerprints_are_unique_for_identical_findings() -> None:
    twin = replace(BLOCKING, location=Location(9, 5), end_location=Location(9, 18))
    issues = json.loads(output(make_report(BLOCKING, twin), "gitlab"))
    assert issues[0]["fingerprint"] == fingerprint(BLOCKING)
    assert issues[1]["fingerprint"] != issues[0]["fingerprint"]
    assert all(re.fullmatch(r"[0-9a-f]{16}", i["fingerprint"]) for i in issues)


# --------------------------------------------------------------------------- SARIF


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(FULL, id="findings-and-errors"),
        pytest.param(make_report(), id="clean"),
        pytest.param(make_report(replace(BLOCKING, path="/elsewhere/x.py"), root="/project"), id="outside-root"),
    ],
)
def test_sarif_is_valid(sarif_validator: jsonschema.Draft4Validator, report: Report) -> None:
    log = json.loads(output(report, "sarif"))
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, errors[0]


def test_sarif_content() -> None:
    log = json.loads(output(FULL, "sarif"))
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "bgtask-lint"
    assert driver["version"]
    assert [r["id"] for r in driver["rules"]] == ["BGT101", "BGT102"]
    assert driver["rules"][1]["helpUri"] == "https://example.org/rules#bgt102"
    assert driver["rules"][1]["help"]["markdown"].startswith("## What it does")
    first = run["results"][0]
    assert first["ruleId"] == "BGT102"
    assert first["ruleIndex"] == 1
    assert first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/main.py"
    assert location["region"] == {"startLine": 4, "startColumn": 5, "endLine": 4, "endColumn": 18}
    assert first["partialFingerprints"] == {"bgtaskLint/v1": fingerprint(BLOCKING)}
    (fix,) = first["fixes"]
    assert fix["description"]["text"] == "Use `asyncio.sleep`"
    (replacement,) = fix["artifactChanges"][0]["replacements"]
    assert replacement["insertedContent"] == {"text": "await asyncio.sleep(1)"}
    assert replacement["deletedRegion"] == {"startLine": 4, "startColumn": 5, "endLine": 4, "endColumn": 18}
    assert "fixes" not in run["results"][1]
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notifications] == ["cannot parse: invalid syntax", "permission denied"]
    assert notifications[0]["level"] == "error"
    assert notifications[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 7}


def test_sarif_uri_outside_root_is_absolute() -> None:
    report = make_report(
        replace(BLOCKING, path=str(Path("/elsewhere/x.py").absolute())), root=str(Path("/project").absolute())
    )
    result = json.loads(output(report, "sarif"))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")


# --------------------------------------------------------------------------- JUnit


def test_junit() -> None:
    root = ET.fromstring(output(FULL, "junit"))
    assert root.tag == "testsuites"
    assert root.get("name") == "bgtask-lint"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "3", "2")
    (suite,) = root
    cases = suite.findall("testcase")
    assert cases[0].get("name") == "BGT102 app/main.py:4:5"
    assert cases[0].get("classname") == "app/main.py"
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("type") == "BGT102"
    assert failure.get("message") == "Blocking call `time.sleep` in async handler"
    assert failure.text == "app/main.py:4:5: Blocking call `time.sleep` in async handler"
    error = cases[3].find("error")
    assert error is not None
    assert error.get("type") == "E999"
    assert error.get("message") == "cannot parse: invalid syntax"


def test_junit_passing_run_and_escaping() -> None:
    root = ET.fromstring(output(make_report(), "junit"))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.attrib == {"name": "bgtask-lint", "classname": "bgtask-lint"}
    assert len(case) == 0
    tricky = replace(RETURNED, message='<a href="x">&\x01</a>\nnext')
    failure = ET.fromstring(output(make_report(tricky), "junit")).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == '<a href="x">&\ufffd</a>\nnext'


# --------------------------------------------------------------------------- fingerprints, docs, errors


def test_fingerprint_ignores_lines_and_layout_but_not_the_snippet() -> None:
    moved = replace(BLOCKING, location=Location(40, 5), end_location=Location(40, 18))
    assert fingerprint(moved) == fingerprint(BLOCKING)
    assert fingerprint(replace(BLOCKING, snippet="time.sleep(\n    1\n)")) == fingerprint(BLOCKING)
    assert fingerprint(replace(BLOCKING, snippet="  time.sleep(1)  ")) == fingerprint(BLOCKING)
    assert fingerprint(replace(BLOCKING, snippet="time.sleep(2)")) != fingerprint(BLOCKING)
    assert fingerprint(replace(BLOCKING, function="other")) != fingerprint(BLOCKING)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(BLOCKING))


def test_fingerprint_relative_to_root(tmp_path: Path) -> None:
    absolute = replace(BLOCKING, path=str(tmp_path / "app" / "main.py"))
    assert fingerprint(absolute, str(tmp_path)) == fingerprint(BLOCKING)


def test_rule_docs_plain_and_rendered() -> None:
    stream = io.StringIO()
    render_rule_docs(RULES[1], stream, color=False)
    assert stream.getvalue().startswith("# blocking-call-in-async-path (BGT102)\n\nBlocking call in an async handler\n")
    assert "## What it does\n" in stream.getvalue()
    stream = io.StringIO()
    render_rule_docs(RULES[1], stream, color=True)
    assert ANSI.search(stream.getvalue())
    assert "##" not in stream.getvalue()


def test_rules_table() -> None:
    stream = io.StringIO()
    render_rules_table(RULES, stream, color=False)
    lines = stream.getvalue().splitlines()
    assert lines[0].split() == ["Code", "Name", "Summary"]
    assert lines[2].split()[:2] == ["BGT102", "blocking-call-in-async-path"]
    assert all(line == line.rstrip() for line in lines)
    assert not ANSI.search(stream.getvalue())


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown output format"):
        render(FULL, "xml", io.StringIO())
