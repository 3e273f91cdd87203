"""Tests for FastAPI version detection and the close-before-background-tasks truth tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from bgtask_lint.analysis import versions
from bgtask_lint.analysis.versions import (
    NEWEST,
    Version,
    closes_upload_file,
    closes_yield_dependency,
    detect_fastapi_version,
    newest_admitted,
    parse_version,
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    versions.clear_cache()
    yield
    versions.clear_cache()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    app = root / "app" / "main.py"
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_text("", encoding="utf-8")
    return app


def detect(root: Path, files: dict[str, str]) -> versions.VersionInfo:
    return detect_fastapi_version(write(root, files), stop_at=root)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0.110.2", (0, 110, 2), id="full"),
        pytest.param("0.110", (0, 110, 0), id="short"),
        pytest.param("v1", (1, 0, 0), id="major-only"),
        pytest.param("0.118.0rc1", (0, 118, 0), id="pre-release"),
        pytest.param("0.110.0.post1+local", (0, 110, 0), id="post-local"),
        pytest.param("0.110.*", None, id="wildcard"),
        pytest.param(">=0.110", None, id="specifier"),
        pytest.param("latest", None, id="garbage"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_version(text: str, expected: Version | None) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("", NEWEST, id="bare-name"),
        pytest.param("*", NEWEST, id="star"),
        pytest.param("==0.110.0", (0, 110, 0), id="pinned"),
        pytest.param("0.110.0", (0, 110, 0), id="poetry-exact"),
        pytest.param(">=0.100", NEWEST, id="lower-only"),
        pytest.param("<0.118", (0, 117, 999), id="below-minor"),
        pytest.param("<1", (0, 999, 999), id="below-major"),
        pytest.param("<0.117.3", (0, 117, 2), id="below-micro"),
        pytest.param("<=0.117.1", (0, 117, 1), id="at-most"),
        pytest.param("~=0.110.0", (0, 110, 999), id="compatible-3"),
        pytest.param("~=0.110", (0, 999, 999), id="compatible-2"),
        pytest.param("^0.110.0", (0, 110, 999), id="caret-zero-major"),
        pytest.param("^1.2", (1, 999, 999), id="caret-major"),
        pytest.param("^0.0.3", (0, 0, 3), id="caret-zero-minor"),
        pytest.param("~0.110.2", (0, 110, 999), id="poetry-tilde"),
        pytest.param("0.110.*", (0, 110, 999), id="wildcard"),
        pytest.param("==0.110.*", (0, 110, 999), id="eq-wildcard"),
        pytest.param(">=0.100,<0.112", (0, 111, 999), id="range"),
        pytest.param(">= 0.100, < 0.112, != 0.111.0", (0, 111, 999), id="range-spaces-ne"),
        pytest.param(">=0.100 <0.112", (0, 111, 999), id="poetry-space-and"),
        pytest.param("^0.100 || ^0.115", (0, 115, 999), id="poetry-or"),
        pytest.param("<0", None, id="admits-nothing"),
        pytest.param(">=banana", None, id="garbage"),
    ],
)
def test_newest_admitted(spec: str, expected: Version | None) -> None:
    assert newest_admitted(spec) == expected


UV_LOCK = 'version = 1\n[[package]]\nname = "anyio"\nversion = "4.0.0"\n\n[[package]]\nname = "fastapi"\nversion = "0.110.3"\n'
POETRY_LOCK = '[[package]]\nname = "FastAPI"\nversion = "0.111.0"\ndescription = "x"\n'
PDM_LOCK = '[metadata]\ngroups = ["default"]\n[[package]]\nname = "fastapi"\nversion = "0.112.1"\n'
PIPFILE_LOCK = json.dumps({"_meta": {}, "default": {"fastapi": {"version": "==0.113.0"}}, "develop": {}})
PIPFILE_LOCK_DEV = json.dumps({"default": {}, "develop": {"fastapi": {"version": "==0.114.2"}}})


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("uv.lock", UV_LOCK, (0, 110, 3), id="uv"),
        pytest.param("poetry.lock", POETRY_LOCK, (0, 111, 0), id="poetry"),
        pytest.param("pdm.lock", PDM_LOCK, (0, 112, 1), id="pdm"),
        pytest.param("Pipfile.lock", PIPFILE_LOCK, (0, 113, 0), id="pipfile-default"),
        pytest.param("Pipfile.lock", PIPFILE_LOCK_DEV, (0, 114, 2), id="pipfile-develop"),
    ],
)
def test_lock_files(tmp_path: Path, name: str, text: str, expected: Version) -> None:
    info = detect(tmp_path, {name: text})
    assert info == versions.VersionInfo(expected, str(tmp_path / name))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("pyproject.toml", '[project]\ndependencies = ["fastapi[standard]>=0.100,<0.112"]\n',
                     (0, 111, 999), id="pep621"),
        pytest.param("pyproject.toml", '[project.optional-dependencies]\nweb = ["FastAPI==0.109.1; python_version>\'3.8\'"]\n',
                     (0, 109, 1), id="optional-with-marker"),
        pytest.param("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.10"\nfastapi = "^0.110.0"\n',
                     (0, 110, 999), id="poetry-string"),
        pytest.param("pyproject.toml", '[tool.poetry.dependencies]\nfastapi = {version = "0.108.0", extras = ["all"]}\n',
                     (0, 108, 0), id="poetry-table"),
        pytest.param("pyproject.toml", '[tool.poetry.group.web.dependencies]\nfastapi = "~0.107.1"\n',
                     (0, 107, 999), id="poetry-group"),
        pytest.param("pyproject.toml", '[dependency-groups]\ndev = [{include-group = "x"}, "fastapi==0.115.0"]\n',
                     (0, 115, 0), id="dependency-groups"),
        pytest.param("pyproject.toml", '[tool.uv]\ndev-dependencies = ["fastapi ~= 0.116.0"]\n',
                     (0, 116, 999), id="uv-dev"),
        pytest.param("pyproject.toml", '[project]\ndependencies = ["fastapi"]\n', NEWEST, id="bare-name"),
        pytest.param("Pipfile", '[packages]\nfastapi = "==0.106.1"\n', (0, 106, 1), id="pipfile"),
        pytest.param("requirements.txt", "# web\nfastapi[all]==0.104.1  # pinned\nuvicorn\n",
                     (0, 104, 1), id="requirements"),
        pytest.param("requirements-prod.txt", "fastapi==0.105.0 \\\n    --hash=sha256:abc\n",
                     (0, 105, 0), id="requirements-hash-continuation"),
        pytest.param("requirements/base.txt", "fastapi<0.118\n", (0, 117, 999), id="requirements-dir"),
        pytest.param("setup.cfg", "[options]\ninstall_requires =\n    click\n    fastapi>=0.90,<=0.101.0\n",
                     (0, 101, 0), id="setup-cfg"),
        pytest.param("setup.cfg", "[options.extras_require]\nweb =\n    fastapi==0.103.0\n", (0, 103, 0), id="setup-cfg-extras"),
    ],
)
def test_specifier_files(tmp_path: Path, name: str, text: str, expected: Version) -> None:
    info = detect(tmp_path, {name: text})
    assert info == versions.VersionInfo(expected, str(tmp_path / name))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("fastapi-users==1.0\nfastapi-cli==0.0.5\n", id="other-packages"),
        pytest.param("-e .\n--index-url https://x\n", id="options-only"),
    ],
)
def test_lookalikes_are_not_fastapi(tmp_path: Path, text: str) -> None:
    assert detect(tmp_path, {"requirements.txt": text}).source == "installed fastapi"


def test_lock_beats_specifier_in_same_directory(tmp_path: Path) -> None:
    info = detect(tmp_path, {"pyproject.toml": '[project]\ndependencies = ["fastapi>=0.100"]\n', "uv.lock": UV_LOCK})
    assert info == versions.VersionInfo((0, 110, 3), str(tmp_path / "uv.lock"))


def test_lock_without_fastapi_falls_back_to_specifier(tmp_path: Path) -> None:
    lock = '[[package]]\nname = "anyio"\nversion = "4.0.0"\n'
    info = detect(tmp_path, {"uv.lock": lock, "requirements.txt": "fastapi==0.100.0\n"})
    assert info == versions.VersionInfo((0, 100, 0), str(tmp_path / "requirements.txt"))


def test_tightest_specifier_in_directory_wins(tmp_path: Path) -> None:
    info = detect(tmp_path, {"pyproject.toml": '[project]\ndependencies = ["fastapi>=0.100"]\n',
                             "requirements.txt": "fastapi==0.110.0\n"})
    assert info == versions.VersionInfo((0, 110, 0), str(tmp_path / "requirements.txt"))


def test_nearest_directory_wins(tmp_path: Path) -> None:
    write(tmp_path, {"uv.lock": UV_LOCK})
    one = write(tmp_path / "services" / "one", {"requirements.txt": "fastapi==0.108.0\n"})
    two = write(tmp_path / "services" / "two", {"pyproject.toml": '[project]\ndependencies = ["fastapi==0.120.1"]\n'})
    plain = write(tmp_path / "services" / "three", {"requirements.txt": "httpx\n"})
    assert detect_fastapi_version(one, stop_at=tmp_path).version == (0, 108, 0)
    assert detect_fastapi_version(two, stop_at=tmp_path).version == (0, 120, 1)
    assert detect_fastapi_version(plain, stop_at=tmp_path) == versions.VersionInfo((0, 110, 3), str(tmp_path / "uv.lock"))


def test_stop_at_limits_the_walk(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "fastapi==0.108.0\n"})
    app = write(tmp_path / "sub", {})
    assert detect_fastapi_version(app, stop_at=tmp_path / "sub").source == "installed fastapi"
    assert detect_fastapi_version(app, stop_at=tmp_path).version == (0, 108, 0)


def test_requirement_include(tmp_path: Path) -> None:
    info = detect(tmp_path, {"requirements.txt": "-r deps/base.in\n", "deps/base.in": "--requirement=pins.in\n",
                             "deps/pins.in": "fastapi==0.109.0\n"})
    assert info == versions.VersionInfo((0, 109, 0), str(tmp_path / "deps" / "pins.in"))


def test_requirement_include_cycle(tmp_path: Path) -> None:
    info = detect(tmp_path, {"requirements.txt": "-r other.in\nfastapi>=0.100,<0.107\n", "other.in": "-r requirements.txt\n"})
    assert info.version == (0, 106, 999)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("uv.lock", "[[package]\nname =", id="bad-toml-lock"),
        pytest.param("Pipfile.lock", "{not json", id="bad-json-lock"),
        pytest.param("Pipfile.lock", '["a list"]', id="wrong-shape-lock"),
        pytest.param("pyproject.toml", "[project\n", id="bad-pyproject"),
        pytest.param("pyproject.toml", '[project]\ndependencies = "fastapi"\n[tool]\npoetry = 3\n', id="wrong-shape-pyproject"),
        pytest.param("setup.cfg", "no section header\n", id="bad-setup-cfg"),
        pytest.param("requirements.txt", "fastapi==\n-r missing.txt\n", id="bad-requirements"),
    ],
)
def test_malformed_files_are_ignored(tmp_path: Path, name: str, text: str) -> None:
    assert detect(tmp_path, {name: text}).source == "installed fastapi"


def test_malformed_lock_falls_through_to_specifier(tmp_path: Path) -> None:
    info = detect(tmp_path, {"poetry.lock": "\xff garbage [[", "requirements.txt": "fastapi==0.100.0\n"})
    assert info.version == (0, 100, 0)


def test_config_wins(tmp_path: Path) -> None:
    app = write(tmp_path, {"uv.lock": UV_LOCK})
    assert detect_fastapi_version(app, configured="0.117.0", stop_at=tmp_path) == versions.VersionInfo((0, 117, 0), "config")


@pytest.mark.parametrize(
    "configured",
    [pytest.param(">=0.110", id="specifier"), pytest.param("latest", id="word"), pytest.param(0.11, id="toml-float")],
)
def test_bad_config_raises(tmp_path: Path, configured: object) -> None:
    with pytest.raises(ValueError, match="fastapi-version"):
        detect_fastapi_version(tmp_path / "main.py", configured=configured, stop_at=tmp_path)  # type: ignore[arg-type]


def test_fallback_to_installed(tmp_path: Path) -> None:
    info = detect(tmp_path, {})
    assert info == versions.VersionInfo(parse_version(metadata.version("fastapi")) or NEWEST, "installed fastapi")


def test_fallback_to_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert detect(tmp_path, {}) == versions.VersionInfo(NEWEST, "newest (unknown)")


def test_directory_scans_are_cached(tmp_path: Path) -> None:
    app = write(tmp_path, {"requirements.txt": "fastapi==0.100.0\n"})
    assert detect_fastapi_version(app, stop_at=tmp_path).version == (0, 100, 0)
    (tmp_path / "requirements.txt").write_text("fastapi==0.120.0\n", encoding="utf-8")
    assert detect_fastapi_version(app, stop_at=tmp_path).version == (0, 100, 0)
    versions.clear_cache()
    assert detect_fastapi_version(app, stop_at=tmp_path).version == (0, 120, 0)


@pytest.mark.parametrize(
    ("version", "default_scope", "function_scope", "upload"),
    [
        pytest.param((0, 105, 0), False, False, False, id="0.105.0"),
        pytest.param((0, 106, 0), True, True, True, id="0.106.0"),
        pytest.param((0, 117, 9), True, True, True, id="0.117.9"),
        pytest.param((0, 117, 999), True, True, True, id="below-0.118"),
        pytest.param((0, 118, 0), False, False, False, id="0.118.0"),
        pytest.param((0, 120, 0), False, False, False, id="0.120.0"),
        pytest.param((0, 121, 0), False, True, False, id="0.121.0"),
        pytest.param((0, 165, 0), False, True, False, id="0.165.0"),
        pytest.param(NEWEST, False, True, False, id="newest"),
    ],
)
def test_close_truth_tables(version: Version, default_scope: bool, function_scope: bool, upload: bool) -> None:
    assert closes_yield_dependency(version, None) is default_scope
    assert closes_yield_dependency(version, "request") is default_scope
    assert closes_yield_dependency(version, "function") is function_scope
    assert closes_upload_file(version) is upload
