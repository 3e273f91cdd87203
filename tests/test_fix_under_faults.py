"""``--fix`` under faults: never a half-written file, not even when killed; modes, owners, links and
read-only files respected; temporary files of a killed run cleaned up."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from reliability_support import (
    IS_ROOT,
    PYPROJECT,
    bgtask_lint,
    command,
    environ,
    unwritable,
)

import bgtask_lint.fixes.apply as fixes_module
from bgtask_lint.config import Config
from bgtask_lint.fixes.apply import apply_fixes
from bgtask_lint.pipeline.run import run

# =========================================================================== 3. --fix under faults


def fixable(route: str) -> str:
    """A module with one BGT102 finding whose unsafe fix (a worker thread) resolves it completely."""
    return f'''\
import logging

import requests
from fastapi import FastAPI

logger = logging.getLogger(__name__)
app = FastAPI()


def notify(email):
    try:
        requests.post("https://hooks.example.com/{route}", json={{"email": email}})
    except requests.RequestException:
        logger.exception("notify failed")


@app.post("/{route}")
async def signup(email: str):
    notify(email)
    return {{"ok": True}}
'''


FIXED_CALL = "await run_in_threadpool(notify, email)"  # the handler's only effect stays before the response


def fixable_project(root: Path, count: int = 1) -> list[Path]:
    (root / "pyproject.toml").write_text(PYPROJECT)
    paths = []
    for i in range(count):
        path = root / f"mod_{i:02d}.py"
        path.write_text(fixable(f"r{i}"))
        paths.append(path)
    return paths


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".tmp"))


def test_fix_keeps_mode_and_owner(tmp_path: Path) -> None:
    (path,) = fixable_project(tmp_path)
    path.chmod(0o640)
    owner = (65534, 65534) if IS_ROOT else (os.getuid(), os.getgid())
    os.chown(path, *owner)
    inode = path.stat().st_ino
    proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    st = path.stat()
    assert FIXED_CALL in path.read_text()
    assert stat.S_IMODE(st.st_mode) == 0o640 and (st.st_uid, st.st_gid) == owner
    assert st.st_ino != inode  # replaced by rename, not rewritten in place
    assert temp_files(tmp_path) == []


def test_fix_through_a_symlink_writes_the_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (path,) = fixable_project(real)
    link = tmp_path / "link.py"
    link.symlink_to(path)
    proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", "link.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert link.is_symlink() and FIXED_CALL in path.read_text()


def test_hard_linked_file_is_not_split(tmp_path: Path) -> None:
    (path,) = fixable_project(tmp_path)
    other = tmp_path / "elsewhere.txt"
    os.link(path, other)
    before = path.read_bytes()
    proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", "mod_00.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "mod_00.py: cannot write: the file has 1 other hard link(s)" in proc.stderr
    assert path.read_bytes() == before and os.path.samefile(path, other)


def test_read_only_file_is_reported_not_written(tmp_path: Path) -> None:
    (path,) = fixable_project(tmp_path)
    before = path.read_bytes()
    with unwritable(path):
        proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", ".", cwd=tmp_path)
        assert path.read_bytes() == before
    assert proc.returncode == 1
    assert re.search(r"warning: .*mod_00\.py: cannot write: .*; not fixed", proc.stderr), proc.stderr
    assert "mod_00.py:19:5: BGT102" in proc.stdout  # the report describes the file as it is
    assert temp_files(tmp_path) == []


def test_file_in_read_only_directory_is_reported_not_written(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (path,) = fixable_project(folder)
    before = path.read_bytes()
    with unwritable(folder):
        proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=folder)
        assert path.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["mod_00.py", "pyproject.toml"]
    assert proc.returncode == 1
    assert re.search(r"mod_00\.py: cannot write: (permission denied|operation not permitted); not fixed", proc.stderr), proc.stderr


def _lint(root: Path):
    return run([root], Config(), use_cache=False, project_root=root)


def test_rename_failure_leaves_the_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = fixable_project(tmp_path)
    before = path.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied", dst)

    monkeypatch.setattr(fixes_module.os, "replace", refuse)
    outcome = apply_fixes(_lint(tmp_path), Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert path.read_bytes() == before and temp_files(tmp_path) == []
    assert outcome.fixed == 0 and outcome.problems == [f"{path}: cannot write: permission denied; not fixed"]
    assert {d.code for d in outcome.result.diagnostics} == {"BGT102"}


def test_a_change_just_before_the_rename_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone saves the file while the fixed text is being written: their version wins."""
    (path,) = fixable_project(tmp_path)
    result = _lint(tmp_path)
    real_fsync = os.fsync

    def fsync_then_edit(fd: int) -> None:
        real_fsync(fd)
        if path.read_text() != "# mine\n":
            path.write_text("# mine\n")

    monkeypatch.setattr(fixes_module.os, "fsync", fsync_then_edit)
    outcome = apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    assert path.read_text() == "# mine\n" and temp_files(tmp_path) == []
    assert outcome.problems == [f"{path}: changed on disk since it was read; not fixed"] and outcome.fixed == 0


def _temp_name(target: str, pid: int) -> str:
    return f".{target}.{fixes_module.TEMP_MARK}-{pid}-abc123xy.tmp"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_fix_removes_temp_files_of_a_killed_one(tmp_path: Path) -> None:
    fixable_project(tmp_path)
    stale = tmp_path / _temp_name("mod_00.py", dead_pid())
    live = tmp_path / _temp_name("mod_00.py", os.getpid())  # a --fix still running (this process)
    foreign = [tmp_path / ".mod_00.py.backup.tmp", tmp_path / "notes.bgtask-lint-1-a.tmp"]
    for p in (stale, live, *foreign):
        p.write_text("partial")
    proc = bgtask_lint("check", "--no-cache", ".", cwd=tmp_path)  # a plain check writes and deletes nothing
    assert proc.returncode == 1 and stale.exists()
    proc = bgtask_lint("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and live.exists() and all(p.exists() for p in foreign)


def test_temp_files_match_the_cleanup_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(fixes_module.os, "replace", spy)
    (path,) = fixable_project(tmp_path)
    fixes_module._write_atomic(str(path), b"x = 1\n")
    assert len(seen) == 1 and fixes_module.TEMP_NAME.match(seen[0]), seen
    assert f"-{os.getpid()}-" in seen[0]


KILL_FILES = 40


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _kill_when_writing_starts(proc: subprocess.Popen[bytes], folder: Path, delay: float) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after its first temporary file appears in ``folder`` (the
    write phase of 40 files lasts a few milliseconds). False if it finished first."""
    mine = f".{fixes_module.TEMP_MARK}-{proc.pid}-"
    while proc.poll() is None:
        if any(mine in name for name in os.listdir(folder)):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.slow  # several seconds: left out of the fast run
def test_a_killed_fix_leaves_every_file_old_or_fixed(tmp_path: Path) -> None:
    original = tmp_path / "original"
    original.mkdir()
    fixable_project(original, KILL_FILES)
    before = {p.name: p.read_bytes() for p in original.glob("*.py")}

    expected_dir = tmp_path / "expected"
    shutil.copytree(original, expected_dir)
    args = ("check", "--no-cache", "--fix", "--unsafe-fixes", ".")
    started = time.monotonic()
    proc = bgtask_lint(*args, cwd=expected_dir)
    total = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = {name: (expected_dir / name).read_bytes() for name in before}
    assert all(after[n] != before[n] for n in before)

    # 8 kills: 3 at random moments of the run, 5 aimed at the write phase (just after the first
    # temporary file appears), where a non-atomic write would leave a truncated file. Two working
    # copies take turns, two runs at a time.
    rng = random.Random(20240611)
    plan = [("random", rng.uniform(0.1, 1.0) * total) for _ in range(3)]
    plan += [("writing", 0.0), ("writing", 0.0)] + [("writing", rng.uniform(0, 0.008)) for _ in range(3)]
    works = [tmp_path / "work-a", tmp_path / "work-b"]

    def kill_runs(work: Path, steps: list[tuple[str, float]]) -> list[tuple[str, int]]:
        work.mkdir()
        (work / "pyproject.toml").write_text(PYPROJECT)
        states = []
        for how, delay in steps:
            for name, data in before.items():  # the original text again (temp files of earlier kills stay)
                (work / name).write_bytes(data)
            killed = subprocess.Popen(command(*args), cwd=work, env=environ(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)  # fmt: skip
            if how == "random":
                time.sleep(delay)
                killed.send_signal(signal.SIGKILL)
            else:
                _kill_when_writing_starts(killed, work, delay)
            killed.wait()
            fixed = 0
            for name, old in before.items():
                data = (work / name).read_bytes()
                assert data in (old, after[name]), f"{name} is neither the original nor the fixed text"
                fixed += data == after[name]
            states.append((how, fixed))
        return states

    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(kill_runs, work, plan[i::2]) for i, work in enumerate(works)]
        states = [state for job in jobs for state in job.result()]
    time.sleep(0.3)
    for work in works:
        assert _processes_mentioning(str(work)) == [], "parser processes outlived the killed run"

    leftovers = [name for work in works for name in temp_files(work)]
    with ThreadPoolExecutor(2) as pool:  # the next, normal run finishes the work and cleans up
        finals = list(pool.map(lambda work: bgtask_lint(*args, cwd=work), works))
    for work, proc in zip(works, finals):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for name in before:
            assert (work / name).read_bytes() == after[name], name
        assert temp_files(work) == [], temp_files(work)
    print(f"run {total:.1f} s; files fixed when killed: {states}; temp files left by the kills: {len(leftovers)}")


def test_an_interrupted_write_phase_leaves_whole_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic twin of the kill test: the process dies (here: an interrupt) at the third rename."""
    paths = fixable_project(tmp_path, 5)
    before = {p: p.read_bytes() for p in paths}
    result = _lint(tmp_path)
    real_replace = os.replace
    calls = []

    def replace_then_die(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(fixes_module.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        apply_fixes(result, Config(), unsafe=True, write=True, use_cache=False, project_root=tmp_path)
    states = [FIXED_CALL in p.read_text() for p in paths]
    assert states == [True, True, False, False, False]
    for p in paths[2:]:
        assert p.read_bytes() == before[p]
    assert temp_files(tmp_path) == []
