"""Tests for file discovery: walking, excludes, .gitignore, explicit files and odd filesystem entries."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bgtask_lint.pipeline.discover import (
    DEFAULT_EXCLUDE,
    Discovered,
    discover,
    is_excluded,
)


def touch(root: Path, *names: str) -> None:
    """Create empty files, or directories for names ending in "/"."""
    for name in names:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")


def rel(paths: Iterable[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def found(root: Path, **options: Any) -> list[str]:
    """Relative paths found under ``root``, asserting nothing went wrong."""
    result = discover([root], **options)
    assert result.errors == () and result.missing == ()
    return rel(result.files, root)


# --------------------------------------------------------------------------- walking


def test_walks_nested_packages_for_py_files_only(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "app.py",
        "pkg/__init__.py",
        "pkg/sub/mod.py",
        "pkg/sub/deeper/leaf.py",
        "pkg/data.txt",
        "stubs.pyi",
        "README.md",
        "empty/",
    )
    assert found(tmp_path) == [
        "app.py",
        "pkg/__init__.py",
        "pkg/sub/deeper/leaf.py",
        "pkg/sub/mod.py",
    ]


def test_result_is_sorted_and_paths_keep_their_given_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path, "b.py", "a/z.py", "a.py", "A.py")
    monkeypatch.chdir(tmp_path)
    result = discover(["."])
    assert [str(p) for p in result.files] == ["A.py", "a.py", "a/z.py", "b.py"]
    assert result == discover(["."])
    assert result.explicit == frozenset()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(".venv/lib/site.py", id="virtualenv"),
        pytest.param("venv/lib/site.py", id="plain venv"),
        pytest.param("node_modules/pkg/x.py", id="node modules"),
        pytest.param("pkg/__pycache__/x.py", id="pycache nested"),
        pytest.param("build/lib/x.py", id="build"),
        pytest.param("pkg/build/x.py", id="build nested below the root"),
        pytest.param(".git/hooks/x.py", id="git dir"),
        pytest.param("dist/x.py", id="dist"),
        pytest.param("mypkg.egg-info/x.py", id="egg-info glob"),
        pytest.param(".tox/py311/x.py", id="tox"),
    ],
)
def test_default_excludes(tmp_path: Path, path: str) -> None:
    touch(tmp_path, "app.py", path)
    assert found(tmp_path) == ["app.py"]


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path: Path) -> None:
    touch(tmp_path, "app.py", "build/x.py", "custom/y.py")
    assert found(tmp_path, exclude=["custom"]) == ["app.py", "build/x.py"]
    assert found(tmp_path, extend_exclude=["custom"]) == ["app.py"]
    assert found(tmp_path, exclude=[]) == ["app.py", "build/x.py", "custom/y.py"]


@pytest.mark.parametrize(
    ("pattern", "files", "expected"),
    [
        pytest.param(
            "migrations",
            ["a.py", "migrations/m.py", "pkg/migrations/m.py"],
            ["a.py"],
            id="name anywhere",
        ),
        pytest.param("*_pb2.py", ["a.py", "api_pb2.py", "pkg/x_pb2.py"], ["a.py"], id="name glob"),
        pytest.param(
            "tests/fixtures/**",
            [
                "tests/t.py",
                "tests/fixtures/a.py",
                "tests/fixtures/deep/b.py",
                "pkg/tests/fixtures/c.py",
            ],
            ["pkg/tests/fixtures/c.py", "tests/t.py"],
            id="relative path with double star",
        ),
        pytest.param(
            "migrations/*.py",
            ["migrations/0001.py", "migrations/sub/keep.py", "app/migrations/0002.py"],
            ["app/migrations/0002.py", "migrations/sub/keep.py"],
            id="single star stays in one directory",
        ),
        pytest.param(
            "src/gen/",
            ["src/gen/x.py", "src/gen.py", "src/other.py"],
            ["src/gen.py", "src/other.py"],
            id="dir only",
        ),
        pytest.param(
            "/top.py", ["top.py", "pkg/top.py"], ["pkg/top.py"], id="leading slash anchors"
        ),
    ],
)
def test_extend_exclude_patterns(
    tmp_path: Path, pattern: str, files: list[str], expected: list[str]
) -> None:
    touch(tmp_path, *files)
    assert found(tmp_path, extend_exclude=[pattern]) == expected


@pytest.mark.parametrize(
    ("path", "patterns", "excluded"),
    [
        pytest.param("pkg/build/x.py", DEFAULT_EXCLUDE, True, id="default name in a parent"),
        pytest.param("pkg/x.py", DEFAULT_EXCLUDE, False, id="plain file"),
        pytest.param("tests/fixtures/deep/x.py", ["tests/fixtures/**"], True, id="relative glob"),
        pytest.param("src/gen/x.py", ["src/gen/"], True, id="file below a dir-only pattern"),
        pytest.param("src/gen", ["src/gen/"], False, id="dir-only pattern skips files"),
        pytest.param("a/b/c.py", ["a/*.py"], False, id="star does not cross a slash"),
        pytest.param("a/c.py", ["a/?.py"], True, id="question mark"),
        pytest.param("t/test_3.py", ["test_[0-9].py"], True, id="character class"),
        pytest.param("t/test_x.py", ["test_[!0-9].py"], True, id="negated character class"),
    ],
)
def test_is_excluded(tmp_path: Path, path: str, patterns: list[str], excluded: bool) -> None:
    touch(tmp_path, path)
    assert is_excluded(tmp_path / path, tmp_path, patterns) is excluded


# --------------------------------------------------------------------------- .gitignore


@pytest.mark.parametrize(
    ("gitignore", "files", "expected"),
    [
        pytest.param(
            "*.py\n!keep.py\n",
            ["a.py", "keep.py", "sub/keep.py"],
            ["keep.py", "sub/keep.py"],
            id="negation",
        ),
        pytest.param("!keep.py\n*.py\n", ["a.py", "keep.py"], [], id="last match wins"),
        pytest.param(
            "legacy*/\n",
            ["legacy_dir/a.py", "legacy.py"],
            ["legacy.py"],
            id="trailing slash is dir only",
        ),
        pytest.param(
            "/gen\n", ["gen/a.py", "pkg/gen/b.py"], ["pkg/gen/b.py"], id="leading slash anchors"
        ),
        pytest.param(
            "gen\n",
            ["gen/a.py", "pkg/gen/b.py", "c.py"],
            ["c.py"],
            id="bare name matches at any depth",
        ),
        pytest.param(
            "pkg/gen\n",
            ["pkg/gen/b.py", "x/pkg/gen/c.py"],
            ["x/pkg/gen/c.py"],
            id="middle slash anchors",
        ),
        pytest.param(
            "**/tmp/*.py\n",
            ["tmp/a.py", "x/y/tmp/b.py", "x/c.py"],
            ["x/c.py"],
            id="leading double star",
        ),
        pytest.param(
            "a/**/z.py\n", ["a/z.py", "a/b/c/z.py", "a/y.py"], ["a/y.py"], id="middle double star"
        ),
        pytest.param(
            "docs/**\n",
            ["docs/conf.py", "docs/x/y.py", "src/docs.py"],
            ["src/docs.py"],
            id="trailing double star",
        ),
        pytest.param(
            "x?.py\ntest_[0-9].py\n",
            ["x1.py", "x12.py", "test_3.py", "test_a.py"],
            ["test_a.py", "x12.py"],
            id="wildcards",
        ),
        pytest.param("# a.py\n\n   \n", ["a.py"], ["a.py"], id="comments and blank lines"),
        pytest.param("\\#b.py\n", ["#b.py", "b.py"], ["b.py"], id="escaped hash"),
        pytest.param("a.py   \n", ["a.py", "b.py"], ["b.py"], id="trailing spaces ignored"),
        pytest.param("[z-a].py\nb.py\n", ["a.py", "b.py"], ["a.py"], id="invalid line is inert"),
        pytest.param(
            "*.py\n!/keep/*.py\nkeep/drop.py\n",
            ["a.py", "keep/k.py", "keep/drop.py", "sub/keep/x.py"],
            ["keep/k.py"],
            id="last match wins across name and path rules",
        ),
        pytest.param(
            "gen*/\n!gen_keep/\n",
            ["gen_a/x.py", "gen_keep/y.py", "gen.py"],
            ["gen.py", "gen_keep/y.py"],
            id="negated dir-only rule",
        ),
    ],
)
def test_gitignore_patterns(
    tmp_path: Path, gitignore: str, files: list[str], expected: list[str]
) -> None:
    touch(tmp_path, *files)
    (tmp_path / ".gitignore").write_text(gitignore)
    assert found(tmp_path) == expected
    assert found(tmp_path, respect_gitignore=False) == sorted(files)


def test_nested_gitignore_applies_to_its_subtree_and_overrides_parents(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "keep_gen.py",
        "local.py",
        "only_here.py",
        "sub/keep_gen.py",
        "sub/other_gen.py",
        "sub/local.py",
        "sub/only_here.py",
        "sub/deeper/only_here.py",
    )
    (tmp_path / ".gitignore").write_text("*_gen.py\n")
    (tmp_path / "sub" / ".gitignore").write_text("!keep_gen.py\nlocal.py\n/only_here.py\n")
    assert found(tmp_path) == [
        "local.py",
        "only_here.py",
        "sub/deeper/only_here.py",
        "sub/keep_gen.py",
    ]


def test_git_info_exclude_and_gitignore_above_the_walk_root(tmp_path: Path) -> None:
    touch(tmp_path, ".git/info/", "src/app.py", "src/secret.py", "src/gen/x.py", "src/pkg/gen/y.py")
    (tmp_path / ".git" / "info" / "exclude").write_text("secret.py\n")
    (tmp_path / ".gitignore").write_text("/src/gen/\n")
    assert found(tmp_path / "src") == ["app.py", "pkg/gen/y.py"]
    assert found(tmp_path / "src", respect_gitignore=False) == [
        "app.py",
        "gen/x.py",
        "pkg/gen/y.py",
        "secret.py",
    ]


def test_gitignore_above_the_walk_root_is_ignored_outside_a_repository(tmp_path: Path) -> None:
    touch(tmp_path, "src/app.py")
    (tmp_path / ".gitignore").write_text("app.py\n")
    assert found(tmp_path / "src") == ["app.py"]


# --------------------------------------------------------------------------- explicit paths


def test_explicit_files_are_always_included(tmp_path: Path) -> None:
    touch(tmp_path, "ignored.py", "build/x.py", "script", "app.py")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    named = [tmp_path / "ignored.py", tmp_path / "build" / "x.py", tmp_path / "script"]
    result = discover([tmp_path, *named])
    assert rel(result.files, tmp_path) == ["app.py", "build/x.py", "ignored.py", "script"]
    assert result.explicit == frozenset(named)


def test_missing_paths_are_reported_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path, "a.py")
    monkeypatch.chdir(tmp_path)
    result = discover(["nope.py", "a.py", "./gone/", "a.py/child.py", "nope.py"])
    assert result == Discovered(
        files=(Path("a.py"),),
        explicit=frozenset({Path("a.py")}),
        errors=(),
        missing=("nope.py", "./gone/", "a.py/child.py"),
    )


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param(["a.py", "a.py"], id="same file twice"),
        pytest.param([".", "a.py"], id="directory then file"),
        pytest.param(["a.py", "."], id="file then directory"),
        pytest.param(["a.py", "./sub/../a.py"], id="different spelling"),
    ],
)
def test_duplicates_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: list[str]
) -> None:
    touch(tmp_path, "a.py", "sub/")
    monkeypatch.chdir(tmp_path)
    result = discover(paths)
    assert result.files == (Path("a.py"),)
    assert result.explicit == frozenset({Path("a.py")})


def test_symlinked_file_is_listed_once(tmp_path: Path) -> None:
    touch(tmp_path, "a.py")
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    assert found(tmp_path) == ["a.py"]


def test_files_in_a_symlinked_directory_keep_their_linked_path(tmp_path: Path) -> None:
    touch(tmp_path, "outside/pkg/a.py", "root/app.py")
    (tmp_path / "outside" / "pkg" / "b.py").symlink_to("a.py")  # relative to the link's folder
    root = tmp_path / "root"
    (root / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    result = discover([root, tmp_path / "outside" / "pkg" / "a.py"])
    assert rel(result.files, root) == ["app.py", "linked/pkg/a.py"]
    assert result.explicit == frozenset({root / "linked" / "pkg" / "a.py"})
    assert result.errors == ()


def test_a_file_reached_through_a_symlinked_directory_keeps_its_shallowest_path(
    tmp_path: Path,
) -> None:
    touch(tmp_path, "deep/er/mod.py", "deep/er/sub/leaf.py")
    (tmp_path / "short").symlink_to(tmp_path / "deep" / "er", target_is_directory=True)
    assert found(tmp_path) == ["short/mod.py", "short/sub/leaf.py"]


# --------------------------------------------------------------------------- odd entries


def test_directory_named_like_a_python_file_is_walked_not_listed(tmp_path: Path) -> None:
    touch(tmp_path, "weird.py/inner.py", "weird.py/notes.txt")
    assert found(tmp_path) == ["weird.py/inner.py"]


def test_broken_symlinks_are_reported(tmp_path: Path) -> None:
    touch(tmp_path, "a.py")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "gone.py")
    result = discover([tmp_path, tmp_path / "dangling.py"])
    assert rel(result.files, tmp_path) == ["a.py"]
    assert result.errors == ((str(tmp_path / "dangling.py"), "broken symbolic link"),)
    assert result.missing == ()


def test_ignored_broken_symlink_is_not_reported(tmp_path: Path) -> None:
    (tmp_path / "dangling.py").symlink_to(tmp_path / "gone.py")
    (tmp_path / ".gitignore").write_text("dangling.py\n")
    assert found(tmp_path) == []


def test_symlink_loops_terminate_and_are_reported(tmp_path: Path) -> None:
    touch(tmp_path, "pkg/a.py", "left/l.py", "right/r.py")
    (tmp_path / "pkg" / "back").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "left" / "to_right").symlink_to(tmp_path / "right", target_is_directory=True)
    (tmp_path / "right" / "to_left").symlink_to(tmp_path / "left", target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path / "self")
    result = discover([tmp_path])
    assert rel(result.files, tmp_path) == ["left/l.py", "pkg/a.py", "right/r.py"]
    assert result.errors == tuple(
        (str(tmp_path / p), "symbolic link loop")
        for p in ["left/to_right/to_left", "pkg/back", "right/to_left/to_right", "self"]
    )


def _make_unreadable(directory: Path) -> None:
    directory.chmod(0)
    try:
        os.listdir(directory)
    except PermissionError:
        return
    directory.chmod(0o755)
    pytest.skip("permissions are not enforced for this user (running as root?)")


def test_permission_denied_directory_is_reported(tmp_path: Path) -> None:
    touch(tmp_path, "a.py", "locked/b.py")
    _make_unreadable(tmp_path / "locked")
    try:
        result = discover([tmp_path])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert rel(result.files, tmp_path) == ["a.py"]
    assert result.errors == ((str(tmp_path / "locked"), "permission denied"),)


def test_scandir_failure_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated so the error path is covered even where chmod cannot lock root out.
    touch(tmp_path, "a.py", "locked/b.py")
    real_scandir = os.scandir

    def scandir(path: Path) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = discover([tmp_path])
    assert rel(result.files, tmp_path) == ["a.py"]
    assert result.errors == ((str(tmp_path / "locked"), "permission denied"),)


def test_unreadable_file_is_still_listed(tmp_path: Path) -> None:
    touch(tmp_path, "secret.py")
    (tmp_path / "secret.py").chmod(0)
    assert found(tmp_path) == ["secret.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_special_files_are_skipped_when_walking_and_reported_when_named(tmp_path: Path) -> None:
    touch(tmp_path, "a.py")
    os.mkfifo(tmp_path / "pipe.py")
    assert found(tmp_path) == ["a.py"]
    result = discover([tmp_path / "pipe.py"])
    assert result.errors == ((str(tmp_path / "pipe.py"), "not a regular file"),)
