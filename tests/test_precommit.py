"""The pre-commit hooks, run by the real ``pre-commit try-repo`` against this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

FINDING = '''\
import requests
from fastapi import FastAPI

app = FastAPI()


@app.post("/signup")
async def signup(email: str):
    requests.post("https://hooks.example.com/signup", json={"email": email})
    return {"ok": True}
'''

CLEAN = '''\
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return {"ok": True}
'''

SAFE_FIX = '''\
from fastapi import BackgroundTasks, FastAPI

app = FastAPI()


async def notify(user: str) -> None: ...


@app.post("/users")
async def create_user(user: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(notify(user))
    return {"user": user}
'''


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return tmp_path_factory.mktemp("pre-commit-home")


def _repo(tmp_path: Path, name: str, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / name).write_text(text)
    subprocess.run([*git, "add", name], cwd=repo, check=True)
    return repo


def _try_repo(repo: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--files", *files],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_hook_fails_on_a_finding(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path, "app.py", FINDING)
    result = _try_repo(repo, home, "bgtask-lint", "app.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BGT102" in result.stdout and "Failed" in result.stdout


def test_hook_passes_on_a_clean_file(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path, "app.py", CLEAN)
    result = _try_repo(repo, home, "bgtask-lint", "app.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_fix_hook_rewrites_the_file(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path, "app.py", SAFE_FIX)
    result = _try_repo(repo, home, "bgtask-lint-fix", "app.py")
    assert result.returncode == 1, result.stdout + result.stderr  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in result.stdout
    assert "background_tasks.add_task(notify, user)" in (repo / "app.py").read_text()


HANDLER = '''\
from fastapi import FastAPI

from notify import welcome

app = FastAPI()


@app.post("/signup")
def signup(email: str):
    welcome(email)
    return {"ok": True}
'''

QUIET_HELPER = '''\
def welcome(email: str) -> None:
    print("welcome", email)
'''

SLOW_HELPER = '''\
import smtplib


def welcome(email: str) -> None:
    with smtplib.SMTP("localhost") as smtp:
        smtp.sendmail("shop@example.com", [email], "Welcome!")
'''


def test_a_commit_that_changes_only_a_helper_reports_the_handler_it_makes_slow(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path, "app.py", HANDLER)
    (repo / "notify.py").write_text(QUIET_HELPER)
    git = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run([*git, "add", "notify.py"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=repo, check=True)
    assert _try_repo(repo, home, "bgtask-lint", "notify.py").returncode == 0
    (repo / "notify.py").write_text(SLOW_HELPER)
    subprocess.run([*git, "add", "notify.py"], cwd=repo, check=True)
    result = _try_repo(repo, home, "bgtask-lint", "notify.py")  # pre-commit names the changed file only
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app.py:10:5: BGT101" in result.stdout and "welcome -> smtplib.SMTP.sendmail" in result.stdout


def test_files_the_settings_exclude_are_skipped_when_pre_commit_names_them(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path, "pyproject.toml", '[tool.bgtask-lint]\nextend-exclude = ["generated"]\n')
    (repo / "generated").mkdir()
    (repo / "generated" / "client.py").write_text(FINDING)
    (repo / "app.py").write_text(FINDING)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    result = _try_repo(repo, home, "bgtask-lint", "generated/client.py")
    assert result.returncode == 0, result.stdout + result.stderr
    result = _try_repo(repo, home, "bgtask-lint", "generated/client.py", "app.py")
    assert result.returncode == 1 and "app.py:9:5: BGT102" in result.stdout and "generated" not in result.stdout
