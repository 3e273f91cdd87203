"""Tests for reading, validating and applying [tool.bgtask-lint] settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bgtask_lint.analysis.calls import CallKind
from bgtask_lint.analysis.matching import build_catalogue
from bgtask_lint.config import (
    Config,
    ConfigError,
    find_config,
    from_overrides,
    load_config,
    parse_table,
)

KNOWN = {"BGT101", "BGT102", "BGT201", "BGT202", "BGT203", "BGT204", "BGT205", "BGT206"}


def parse(table: dict[str, Any], source: str = "pyproject.toml") -> Config:
    return parse_table(table, source, KNOWN)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line(error: pytest.ExceptionInfo[ConfigError], *parts: str) -> None:
    message = str(error.value)
    assert "\n" not in message and "\r" not in message, message
    for part in parts:
        assert part in message, (part, message)


# --------------------------------------------------------------------------- defaults and parsing


def test_defaults() -> None:
    config = Config()
    assert config.select == ("BGT",)
    assert (config.ignore, config.extend_select, config.extend_exclude, config.per_file_ignores) == ((), (), (), ())
    assert config.exclude is None and config.fastapi_version is None
    assert config.extra_calls() == {}
    assert all(config.enabled(code) for code in KNOWN)
    assert load_config(None, KNOWN) == Config()


def test_empty_table_is_the_defaults(tmp_path: Path) -> None:
    config = parse({}, str(tmp_path / "pyproject.toml"))
    assert config == Config(source=str(tmp_path / "pyproject.toml"), root=str(tmp_path))


@pytest.mark.parametrize(
    ("table", "field", "expected"),
    [
        pytest.param({"select": ["BGT1", "BGT201"]}, "select", ("BGT1", "BGT201"), id="select"),
        pytest.param({"select": ["ALL"]}, "select", ("ALL",), id="select-all"),
        pytest.param({"ignore": ["BGT2"]}, "ignore", ("BGT2",), id="ignore"),
        pytest.param({"extend-select": ["BGT101"]}, "extend_select", ("BGT101",), id="extend-select"),
        pytest.param({"exclude": ["migrations", "*.pyi"]}, "exclude", ("migrations", "*.pyi"), id="exclude"),
        pytest.param({"exclude": []}, "exclude", (), id="exclude-empty"),
        pytest.param({"extend-exclude": ["gen/**"]}, "extend_exclude", ("gen/**",), id="extend-exclude"),
        pytest.param(
            {"per-file-ignores": {"tests/**": ["BGT1"], "*_test.py": ["BGT201", "BGT202"]}},
            "per_file_ignores",
            (("tests/**", ("BGT1",)), ("*_test.py", ("BGT201", "BGT202"))),
            id="per-file-ignores",
        ),
        pytest.param({"fastapi-version": "0.110.0"}, "fastapi_version", "0.110.0", id="fastapi-version"),
        pytest.param({"fastapi-version": "0.115"}, "fastapi_version", "0.115", id="fastapi-version-short"),
        pytest.param(
            {"slow-calls": {"app.mail.send": "email", "mycorp.*.notify": "http"}},
            "slow_calls",
            (("app.mail.send", "e-mail"), ("mycorp.*.notify", "network")),
            id="slow-calls-canonical-category",
        ),
        pytest.param(
            {"blocking-calls": {"legacy.db.Client().query": "db", "vendor.**.wait": "sleep"}},
            "blocking_calls",
            (("legacy.db.Client().query", "database"), ("vendor.**.wait", "sleep")),
            id="blocking-calls",
        ),
        pytest.param(
            {"error-handling-decorators": ["app.errors.reported", "retry"]},
            "error_handling_decorators",
            ("app.errors.reported", "retry"),
            id="error-handling-decorators",
        ),
    ],
)
def test_each_key(table: dict[str, Any], field: str, expected: object) -> None:
    config = parse(table)
    assert getattr(config, field) == expected
    assert config.source == "pyproject.toml"


def test_extra_calls_feed_the_catalogue() -> None:
    config = parse({"slow-calls": {"app.mail.send": "email"}, "blocking-calls": {"legacy.Client().get": "http"}})
    extra = config.extra_calls()
    assert extra == {"app.mail.send": CallKind("e-mail", sync=False), "legacy.Client().get": CallKind("network", True)}
    catalogue = build_catalogue(extra)
    assert catalogue.classify("app.mail.send") == CallKind("e-mail", sync=False)
    assert catalogue.classify("legacy.Client().get") == CallKind("network", sync=True)


# --------------------------------------------------------------------------- files


def test_load_pyproject(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "demo"\n\n[tool.bgtask-lint]\nselect = ["BGT1"]\nfastapi-version = "0.110.0"\n'
        '[tool.bgtask-lint.per-file-ignores]\n"tests/**" = ["ALL"]\n',
    )
    config = load_config(path, KNOWN)
    assert config.select == ("BGT1",) and config.fastapi_version == "0.110.0"
    assert config.per_file_ignores == (("tests/**", ("ALL",)),)
    assert config.source == str(path) and config.root == str(tmp_path)


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "demo"\n')
    assert load_config(path, KNOWN) == Config(source=str(path), root=str(tmp_path))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("bgtask-lint.toml", 'select = ["BGT2"]\n', id="standalone-top-level"),
        pytest.param("lint.toml", 'select = ["BGT2"]\n', id="any-toml-top-level"),
        pytest.param("shared.toml", '[tool.bgtask-lint]\nselect = ["BGT2"]\n', id="any-toml-tool-table"),
    ],
)
def test_load_other_toml(tmp_path: Path, name: str, text: str) -> None:
    assert load_config(write(tmp_path / name, text), KNOWN).select == ("BGT2",)


def test_find_config_walks_up_and_skips_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.bgtask-lint]\nignore = ["BGT2"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "bgtask-lint-plugin"\n')
    source = write(tmp_path / "pkg" / "src" / "app" / "main.py", "")
    assert find_config(source) == tmp_path / "pyproject.toml"
    assert find_config(source.parent) == tmp_path / "pyproject.toml"
    write(tmp_path / "pkg" / "pyproject.toml", "[tool.bgtask-lint]\n")
    assert find_config(source) == tmp_path / "pkg" / "pyproject.toml"


def test_find_config_none(tmp_path: Path) -> None:
    source = write(tmp_path / "app" / "main.py", "")
    write(tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 120\n")
    # a pyproject.toml without our table is passed over: the search goes on exactly as from above it
    assert find_config(source) == find_config(tmp_path.parent)
    write(tmp_path / "app" / "pyproject.toml", "[tool.bgtask-lint]\n")
    assert find_config(source) == tmp_path / "app" / "pyproject.toml"


def test_find_config_reports_broken_pyproject_that_mentions_us(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.bgtask-lint\nselect = [\n")
    assert find_config(tmp_path) == path
    with pytest.raises(ConfigError) as error:
        load_config(path, KNOWN)
    assert_one_line(error, str(path), "invalid TOML")


# --------------------------------------------------------------------------- selection


@pytest.mark.parametrize(
    ("table", "on", "off"),
    [
        pytest.param({}, KNOWN, set(), id="default-all"),
        pytest.param(
            {"select": ["BGT"], "ignore": ["BGT2"]}, {"BGT101", "BGT102"}, {"BGT201", "BGT206"}, id="ignore-prefix"
        ),
        pytest.param(
            {"select": ["BGT201"], "ignore": ["BGT2"]}, {"BGT201"}, {"BGT101", "BGT202"}, id="specific-select-wins"
        ),
        pytest.param(
            {"select": ["BGT2"], "ignore": ["BGT201"]}, {"BGT202"}, {"BGT201", "BGT101"}, id="specific-ignore-wins"
        ),
        pytest.param({"select": ["BGT2"], "ignore": ["BGT2"]}, set(), {"BGT201"}, id="tie-ignores"),
        pytest.param(
            {"select": ["BGT1"], "extend-select": ["BGT205"]}, {"BGT101", "BGT205"}, {"BGT201"}, id="extend-select"
        ),
        pytest.param({"select": ["ALL"], "ignore": ["BGT1"]}, {"BGT201"}, {"BGT102"}, id="all-then-ignore"),
        pytest.param({"ignore": ["ALL"]}, KNOWN, set(), id="ignore-all-is-least-specific"),
        pytest.param(
            {"select": ["ALL"], "ignore": ["ALL"], "extend-select": ["BGT203"]},
            {"BGT203"},
            {"BGT101"},
            id="all-but-one",
        ),
        pytest.param({"select": ["ALL"], "ignore": ["ALL"]}, set(), {"BGT101"}, id="all-tie"),
        pytest.param({"select": []}, set(), KNOWN, id="empty-select"),
    ],
)
def test_select_ignore_precedence(table: dict[str, Any], on: set[str], off: set[str]) -> None:
    config = parse(table)
    assert {code for code in on if not config.enabled(code)} == set()
    assert {code for code in off if config.enabled(code)} == set()


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        pytest.param("tests/test_api.py", "BGT101", False, id="tests-glob"),
        pytest.param("tests/unit/deep/test_api.py", "BGT102", False, id="tests-glob-deep"),
        pytest.param("tests/test_api.py", "BGT201", True, id="tests-glob-other-code"),
        pytest.param("app/routes_test.py", "BGT202", False, id="basename-glob"),
        pytest.param("routes_test.py", "BGT202", False, id="basename-glob-top"),
        pytest.param("app/routes_test.py", "BGT101", True, id="basename-glob-other-code"),
        pytest.param("app/main.py", "BGT101", True, id="no-glob"),
        pytest.param("app/tests/test_x.py", "BGT101", True, id="tests-only-at-root"),
        pytest.param("scripts/seed.py", "BGT206", False, id="directory-name"),
        pytest.param("legacy/x.py", "BGT205", False, id="all"),
    ],
)
def test_per_file_ignores(tmp_path: Path, path: str, code: str, expected: bool) -> None:
    table = {
        "per-file-ignores": {"tests/**": ["BGT1"], "*_test.py": ["BGT202"], "scripts": ["BGT2"], "legacy/*": ["ALL"]}
    }
    config = parse(table, str(tmp_path / "pyproject.toml"))
    assert config.enabled(code, str(tmp_path / path)) is expected
    assert config.enabled(code, tmp_path / path) is expected
    assert config.enabled(code) is True


def test_per_file_ignores_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse({"per-file-ignores": {"tests/**": ["BGT1"]}}, str(tmp_path / "pyproject.toml"))
    assert not config.enabled("BGT101", "tests/test_x.py")
    assert not config.enabled("BGT101", "./tests/test_x.py")
    assert config.enabled("BGT101", "app/main.py")


def test_per_file_ignores_outside_root_match_as_given(tmp_path: Path) -> None:
    config = parse({"per-file-ignores": {"*_test.py": ["BGT1"]}}, str(tmp_path / "project" / "pyproject.toml"))
    assert not config.enabled("BGT101", str(tmp_path / "elsewhere" / "x_test.py"))
    assert config.enabled("BGT101", str(tmp_path / "elsewhere" / "x.py"))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("table", "parts"),
    [
        pytest.param({"selct": ["BGT"]}, ["unknown key 'selct'", "did you mean 'select'?"], id="unknown-key"),
        pytest.param(
            {"per_file_ignores": {}}, ["unknown key 'per_file_ignores'", "'per-file-ignores'"], id="snake-case-key"
        ),
        pytest.param({"select": "BGT"}, ["select", "expected a list of strings, got a string"], id="string-for-list"),
        pytest.param({"ignore": ["BGT1", 2]}, ["ignore", "2 is an integer"], id="non-string-item"),
        pytest.param({"select": ["BGT9"]}, ["select", "unknown rule code 'BGT9'"], id="unknown-code"),
        pytest.param({"select": ["bgt101"]}, ["select", "'bgt101'", "did you mean 'BGT101'?"], id="lowercase-code"),
        pytest.param({"extend-select": ["E501"]}, ["extend-select", "'E501'"], id="foreign-code"),
        pytest.param({"ignore": [""]}, ["ignore", "unknown rule code ''"], id="empty-code"),
        pytest.param({"per-file-ignores": ["tests/**"]}, ["per-file-ignores", "expected a table"], id="pfi-not-table"),
        pytest.param(
            {"per-file-ignores": {"tests/**": "BGT1"}}, ['per-file-ignores."tests/**"', "a string"], id="pfi-string"
        ),
        pytest.param(
            {"per-file-ignores": {"tests/**": ["BGT7"]}}, ['per-file-ignores."tests/**"', "'BGT7'"], id="pfi-code"
        ),
        pytest.param(
            {"per-file-ignores": {"tests/[ab": ["BGT1"]}}, ["per-file-ignores", "bad glob 'tests/[ab'"], id="pfi-glob"
        ),
        pytest.param({"exclude": ["gen/[x"]}, ["exclude", "bad glob 'gen/[x'", "unbalanced"], id="exclude-glob"),
        pytest.param({"extend-exclude": "gen"}, ["extend-exclude", "got a string"], id="extend-exclude-type"),
        pytest.param({"fastapi-version": "latest"}, ["fastapi-version", "'latest'"], id="version-word"),
        pytest.param({"fastapi-version": 0.110}, ["fastapi-version", "0.11"], id="version-float"),
        pytest.param({"fastapi-version": ">=0.110"}, ["fastapi-version", "'>=0.110'"], id="version-specifier"),
        pytest.param(
            {"slow-calls": ["app.mail.send"]}, ["slow-calls", "expected a table, got a list"], id="calls-list"
        ),
        pytest.param(
            {"slow-calls": {"app.mail.send": "emial"}},
            ['slow-calls."app.mail.send"', "unknown category 'emial'", "did you mean 'email'?"],
            id="calls-category",
        ),
        pytest.param({"blocking-calls": {"x.y": 3}}, ['blocking-calls."x.y"', "an integer"], id="calls-category-type"),
        pytest.param({"blocking-calls": {"x..y": "db"}}, ["blocking-calls", "bad pattern 'x..y'"], id="calls-pattern"),
        pytest.param(
            {"slow-calls": {"x.y": "db"}, "blocking-calls": {"x.y": "db"}},
            ["blocking-calls", "'x.y' is also in slow-calls"],
            id="calls-both",
        ),
        pytest.param(
            {"error-handling-decorators": "a.b"}, ["error-handling-decorators", "a string"], id="decorators-type"
        ),
        pytest.param(
            {"error-handling-decorators": ["a b"]}, ["error-handling-decorators", "'a b'"], id="decorators-name"
        ),
        pytest.param({"select": ["BGT\nX"]}, ["select", "'BGT\\nX'"], id="newline-in-value"),
    ],
)
def test_invalid_table(table: dict[str, Any], parts: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        parse(table)
    assert_one_line(error, "pyproject.toml: [tool.bgtask-lint] ", *parts)


def test_unknown_key_message_exactly() -> None:
    with pytest.raises(
        ConfigError, match=r"^pyproject\.toml: \[tool\.bgtask-lint\] unknown key 'selct' \(did you mean 'select'\?\)$"
    ):
        parse({"selct": ["BGT"]})


@pytest.mark.parametrize(
    ("name", "text", "parts"),
    [
        pytest.param("pyproject.toml", "[tool.bgtask-lint]\nselect = [\n", ["invalid TOML"], id="malformed"),
        pytest.param(
            "pyproject.toml", '[tool.bgtask-lint]\nselect = "BGT"\n', ["[tool.bgtask-lint] select:"], id="pyproject-key"
        ),
        pytest.param(
            "pyproject.toml", '[tool]\nbgtask-lint = "x"\n', ["[tool.bgtask-lint] expected a table"], id="not-a-table"
        ),
        pytest.param("bgtask-lint.toml", 'selec = ["BGT"]\n', ["unknown key 'selec'"], id="standalone-key"),
        pytest.param("bgtask-lint.toml", "select = [1,\n", ["invalid TOML"], id="standalone-malformed"),
        pytest.param("pyproject.toml", b"\xff\xfe[tool]", ["cannot read", "UTF-8"], id="not-utf8"),
    ],
)
def test_invalid_file(tmp_path: Path, name: str, text: str | bytes, parts: list[str]) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, KNOWN)
    assert_one_line(error, f"{path}: ", *parts)


def test_standalone_messages_name_the_bare_key(tmp_path: Path) -> None:
    path = write(tmp_path / "bgtask-lint.toml", 'ignore = ["BGT9"]\n')
    with pytest.raises(ConfigError) as error:
        load_config(path, KNOWN)
    assert str(error.value).startswith(f"{path}: ignore: unknown rule code 'BGT9'")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as error:
        load_config(path, KNOWN)
    assert_one_line(error, str(path), "cannot read")


def test_directory_as_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, KNOWN)
    assert_one_line(error, str(tmp_path), "cannot read")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions as non-root")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.bgtask-lint]\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as error:
            load_config(path, KNOWN)
        assert_one_line(error, str(path), "cannot read")
    finally:
        path.chmod(0o644)


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("flags", "select", "extend_select", "ignore"),
    [
        pytest.param({}, ("BGT1",), ("BGT205",), ("BGT102",), id="nothing"),
        pytest.param({"select": ["BGT2"]}, ("BGT2",), (), ("BGT102",), id="select-replaces"),
        pytest.param({"ignore": ["BGT101"]}, ("BGT1",), ("BGT205",), ("BGT102", "BGT101"), id="ignore-adds"),
        pytest.param({"extend_select": ["BGT206"]}, ("BGT1",), ("BGT205", "BGT206"), ("BGT102",), id="extend-adds"),
        pytest.param(
            {"select": ["ALL"], "extend_select": ["BGT206"]}, ("ALL",), ("BGT206",), ("BGT102",), id="select-and-extend"
        ),
    ],
)
def test_from_overrides(
    flags: dict[str, list[str]], select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...]
) -> None:
    base = parse({"select": ["BGT1"], "extend-select": ["BGT205"], "ignore": ["BGT102"], "fastapi-version": "0.110"})
    config = from_overrides(base, known_codes=KNOWN, **flags)
    assert (config.select, config.extend_select, config.ignore) == (select, extend_select, ignore)
    assert config.fastapi_version == "0.110" and config.source == base.source


def test_from_overrides_effect() -> None:
    config = from_overrides(parse({"ignore": ["BGT2"]}), select=["BGT201"], known_codes=KNOWN)
    assert config.enabled("BGT201") and not config.enabled("BGT202") and not config.enabled("BGT101")


@pytest.mark.parametrize(
    ("flags", "parts"),
    [
        pytest.param({"select": ["BGT9"]}, ["--select", "unknown rule code 'BGT9'"], id="select"),
        pytest.param({"ignore": ["X1"]}, ["--ignore", "'X1'"], id="ignore"),
        pytest.param({"extend_select": ["bgt2"]}, ["--extend-select", "'bgt2'"], id="extend-select"),
        pytest.param({"select": "BGT"}, ["--select", "got a string"], id="string-not-list"),
    ],
)
def test_from_overrides_errors(flags: dict[str, Any], parts: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        from_overrides(Config(), known_codes=KNOWN, **flags)
    assert_one_line(error, "command line: ", *parts)
