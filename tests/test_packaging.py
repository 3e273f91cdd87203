"""What a user gets from a built distribution: the sdist and wheel build, the wheel installs into a
fresh virtual environment, and the installed command lints the bundled examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_wheel_installs_into_a_fresh_environment_and_lints_the_examples(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    (wheel,) = dist.glob("bgtask_lint-*.whl")
    (sdist,) = dist.glob("bgtask_lint-*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert "bgtask_lint/codec.py" in names and "bgtask_lint/rules/__init__.py" in names
    assert not any(name.startswith(("tests/", "examples/")) for name in names)
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    assert any(m.endswith("/LICENSE") for m in members) and any(m.endswith("/pyproject.toml") for m in members)

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600)
    command = env_dir / ("Scripts" if os.name == "nt" else "bin") / "bgtask-lint"
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(command), "check", "--no-cache", "--output-format", "json", "examples/"], cwd=ROOT,
                          capture_output=True, text=True, env=environ, timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    codes = {item["code"] for item in json.loads(proc.stdout)}
    assert {"BGT101", "BGT102", "BGT201"} <= codes
    where = subprocess.run([str(python), "-c", "import bgtask_lint; print(bgtask_lint.__file__)"],
                           capture_output=True, text=True, env=environ, check=True)  # fmt: skip
    assert str(env_dir) in where.stdout  # the installed copy ran, not the checkout
