"""The cache never changes an answer: damaged, hostile, foreign-version, unwritable or shared
entries are misses; identities are trusted only when they can be; the cache stays bounded."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_support import (
    PYPROJECT,
    bgtask_lint,
    command,
    environ,
    handler,
    unwritable,
)

from bgtask_lint import __version__, codec, store
from bgtask_lint.config import Config
from bgtask_lint.fingerprint import RACY_NS
from bgtask_lint.pipeline import sources
from bgtask_lint.pipeline.run import run

# =========================================================================== 4. the cache

HELPERS = '''\
import smtplib


def send_welcome(email):
    with smtplib.SMTP("localhost") as smtp:
        smtp.sendmail("noreply@example.com", [email], "hi")
'''
ROUTES = '''\
from fastapi import BackgroundTasks, FastAPI

from helpers import send_welcome

app = FastAPI()


@app.post("/signup")
async def signup(email: str, tasks: BackgroundTasks):
    send_welcome(email)
    tasks.add_task(send_welcome, email)
    return {"ok": True}
'''


def cache_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "helpers.py").write_text(HELPERS)
    (root / "routes.py").write_text(ROUTES)
    (root / "app.py").write_text(handler("app"))
    (root / "broken.py").write_text("def f(:\n")
    return root


def findings(proc: subprocess.CompletedProcess[str]) -> list[tuple]:
    assert proc.returncode == 1, proc.stderr
    return sorted((d["filename"], d["code"], d["location"]["row"], d["location"]["column"], d["message"])
                  for d in json.loads(proc.stdout))  # fmt: skip


def lint_json(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # whole-run results would answer before the facts cache is consulted: these tests are about facts
    shutil.rmtree(root / store.CACHE_DIR / __version__ / "results", ignore_errors=True)
    return bgtask_lint("check", "--output-format", "json", *extra, ".", cwd=root)


def cache_entries(root: Path, version: str = __version__) -> list[Path]:
    folder = root / store.CACHE_DIR / version
    return sorted(p for p in folder.glob(f"{store.FACTS}/??/*") if not p.name.startswith(store.TEMP_PREFIX))


@pytest.fixture
def cached(tmp_path: Path) -> tuple[Path, list[tuple]]:
    """A project and its findings without the cache (the reference every cached run must give)."""
    root = cache_project(tmp_path)
    reference = findings(lint_json(root, "--no-cache"))
    assert {f[1] for f in reference} >= {"BGT102", "BGT201"} and None in {f[1] for f in reference}
    assert not (root / store.CACHE_DIR).exists()
    return root, reference


@pytest.mark.slow  # several seconds: left out of the fast run
def test_a_file_is_read_again_when_its_identity_changes_even_with_size_and_mtime_kept(tmp_path: Path) -> None:
    # unchanged files are not read again (their size, mtime, ctime and inode were recorded); an edit
    # that keeps the size and puts the mtime back still changes the ctime, and a file modified within
    # two seconds of a run is never recorded (it could change again within the same timestamp)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    slow, quiet = handler("app"), handler("app").replace("requests.post", "requests.heat")
    assert len(slow) == len(quiet)
    app = tmp_path / "app.py"
    app.write_text(slow)
    fresh = sources.Contents([str(app)], store.Store(store.cache_base(tmp_path)))
    assert str(app) in fresh and fresh.data(str(app)) == slow.encode()
    fresh.save()
    assert store.Store(store.cache_base(tmp_path)).get(store.RUN, sources.STATS_KEY, dict) is None  # too recent to be recorded
    time.sleep(RACY_NS / 1e9 + 0.2)
    assert {f[1] for f in findings(lint_json(tmp_path))} == {"BGT102"}
    recorded = store.Store(store.cache_base(tmp_path)).get(store.RUN, sources.STATS_KEY, dict)
    assert set(recorded) == {str(app)}
    known = sources.Contents([str(app)], store.Store(store.cache_base(tmp_path)))
    assert known.digest(str(app)) == sources.content_digest(slow.encode()) and not known._bytes  # not read
    st = app.stat()
    app.write_text(quiet)
    os.utime(app, ns=(st.st_atime_ns, st.st_mtime_ns))
    time.sleep(RACY_NS / 1e9 + 0.2)  # only the ctime tells the file changed now
    assert list((tmp_path / store.CACHE_DIR / __version__ / "results").iterdir())  # the last run's result is kept
    proc = bgtask_lint("check", "--output-format", "json", ".", cwd=tmp_path)  # not answered by that result either
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout


def test_how_recent_a_change_must_be_to_be_distrusted_follows_the_timestamp_resolution() -> None:
    from types import SimpleNamespace

    from bgtask_lint.fingerprint import RACY_FINE_NS, racy

    now = 1_700_000_000_123_456_789

    def stat(mtime: int, ctime: int) -> SimpleNamespace:
        return SimpleNamespace(st_mtime_ns=mtime, st_ctime_ns=ctime)

    fine = now - RACY_FINE_NS - 1  # nanosecond timestamps: a tenth of a second is enough
    assert not racy(stat(fine, fine), now) and racy(stat(fine, now - 1000), now)
    whole = (now // 10**9 - 1) * 10**9  # whole-second timestamps (FAT, HFS+, ext3): two seconds
    assert racy(stat(whole, whole), now) and not racy(stat(whole - RACY_NS, whole - RACY_NS), now)


def test_damaged_cache_entries_are_misses(cached: tuple[Path, list[tuple]]) -> None:
    root, reference = cached
    assert findings(lint_json(root)) == reference
    entries = cache_entries(root)
    assert len(entries) == 3  # one per file that parses (a file error is never cached)
    damage = [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-1] + bytes([data[-1] ^ 0x01]),  # one bit flipped in the payload
        lambda data: b"",  # empty
    ]
    for entry, spoil in zip(entries, damage):
        entry.write_bytes(spoil(entry.read_bytes()))
    proc = lint_json(root, "-v")
    assert findings(proc) == reference and "4 parsed, 0 from cache" in proc.stderr
    # a well-formed entry (the digest matches) that holds something other than facts is a miss too
    payload = codec.dumps({"not": "facts"})
    entries[0].write_bytes(store.frame(payload))
    proc = lint_json(root, "-v")
    assert findings(proc) == reference and "2 parsed, 2 from cache" in proc.stderr
    proc = lint_json(root, "-v")  # and every damaged entry was rewritten
    assert findings(proc) == reference and "1 parsed, 3 from cache" in proc.stderr


class _Planted:
    """What a hostile cache entry would make pickle call on loading."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (Path(self.marker),))


def test_a_cache_entry_that_would_run_code_is_a_miss_and_runs_nothing(cached: tuple[Path, list[tuple]]) -> None:
    """A cache restored from shared CI storage is untrusted: an entry framed correctly (its digest
    matches) whose payload is a pickle that calls a function on loading is refused as data."""
    root, reference = cached
    marker = root.parent / "ran"
    hostile = pickle.dumps(_Planted(str(marker)))
    assert findings(bgtask_lint("check", "--output-format", "json", ".", cwd=root)) == reference
    stored = [*cache_entries(root), *(root / store.CACHE_DIR / __version__ / "results").iterdir()]
    for entry in stored:
        entry.write_bytes(store.frame(hostile))
    proc = bgtask_lint("check", "--output-format", "json", "-v", ".", cwd=root)
    assert findings(proc) == reference and " 0 from cache" in proc.stderr
    assert not marker.exists()


def test_cache_of_another_version_is_never_read_and_old_ones_are_removed(cached: tuple[Path, list[tuple]]) -> None:
    root, reference = cached
    assert findings(lint_json(root)) == reference
    base = root / store.CACHE_DIR
    for name in ("0.0.1", "0.0.2"):  # other versions' caches, poisoned: same keys, empty facts
        shutil.copytree(base / __version__, base / name)
        for entry in cache_entries(root, name):
            entry.write_bytes(b"poison")
    shutil.rmtree(base / __version__)
    month_ago = time.time() - 30 * 24 * 3600
    os.utime(base / "0.0.1" / store.LAST_USED, (month_ago, month_ago))
    proc = lint_json(root, "-v")
    assert findings(proc) == reference and "4 parsed, 0 from cache" in proc.stderr
    assert not (base / "0.0.1").exists()  # unused for a month: removed
    assert (base / "0.0.2").exists()  # used recently (perhaps by another checkout): kept


def test_two_runs_at_once_agree_with_no_cache(cached: tuple[Path, list[tuple]]) -> None:
    root, reference = cached
    for _ in range(2):  # a cold cache, then a warm one
        procs = [subprocess.Popen(command("check", "--output-format", "json", "."), cwd=root, env=environ(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert findings(subprocess.CompletedProcess(p.args, p.returncode, out, err)) == reference
    assert len(cache_entries(root)) == 3
    assert not list((root / store.CACHE_DIR).rglob(f"{store.TEMP_PREFIX}*"))


def test_cache_path_that_is_a_file(cached: tuple[Path, list[tuple]]) -> None:
    root, reference = cached
    (root / store.CACHE_DIR).write_text("not a directory\n")
    assert findings(lint_json(root)) == reference
    assert (root / store.CACHE_DIR).read_text() == "not a directory\n"


def test_read_only_cache_directory(cached: tuple[Path, list[tuple]]) -> None:
    root, reference = cached
    assert findings(lint_json(root)) == reference
    folder = root / store.CACHE_DIR / __version__
    (root / "routes.py").write_text(ROUTES + "\n# edited: a new entry will be wanted\n")
    shards = [p for p in folder.iterdir() if p.is_dir()]
    with contextlib.ExitStack() as stack:
        for p in (folder, *shards):
            stack.enter_context(unwritable(p))
        proc = lint_json(root, "-v")
    assert findings(proc) == reference and "2 parsed, 2 from cache" in proc.stderr


def test_the_cache_does_not_grow_without_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "PRUNE_SLACK", 4)
    root = cache_project(tmp_path)
    live = 4  # the files of the project (broken.py included)
    limit = store.PRUNE_FACTOR * live + store.PRUNE_SLACK
    stale = root / store.CACHE_DIR / __version__ / store.FACTS / "ab" / f"{store.TEMP_PREFIX}killed"
    fresh = stale.with_name(f"{store.TEMP_PREFIX}busy")
    sizes = []
    for i in range(20):
        (root / "app.py").write_text(handler("app") + f"# edit {i}\n")
        result = run([root], Config(), use_cache=True)
        assert {d.code for d in result.diagnostics} >= {"BGT102", "BGT201"}
        sizes.append(len(cache_entries(root)))
        if i == 0:
            stale.parent.mkdir(parents=True, exist_ok=True)
            stale.write_bytes(b"x")
            fresh.write_bytes(b"x")
            hours_ago = time.time() - 2 * 3600
            os.utime(stale, (hours_ago, hours_ago))
    assert max(sizes) <= limit, sizes
    assert sizes[-1] < 20
    assert not stale.exists() and fresh.exists()
    shutil.rmtree(root / store.CACHE_DIR / __version__ / "results", ignore_errors=True)  # ask the facts cache
    again = run([root], Config(), use_cache=True)
    assert again.parsed == 1 and again.cached == 3  # what is live stays cached (broken.py never is)


def test_the_facts_cache_key_covers_every_module_that_computes_facts() -> None:
    """Facts are cached under a digest of the modules that compute them; a module that summarising
    imports but the digest leaves out would let a code change serve stale facts."""
    from bgtask_lint.fingerprint import FACTS_MODULES

    code = ("import sys, bgtask_lint.pipeline.parse, bgtask_lint.facts.summarize, bgtask_lint.facts.walk\n"
            "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('bgtask_lint.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    package = Path(store.__file__).resolve().parent
    imported = {Path(f).resolve().relative_to(package).as_posix() for f in proc.stdout.split()}
    imported = {m for m in imported if not m.endswith("__init__.py")}
    assert imported <= set(FACTS_MODULES), imported - set(FACTS_MODULES)
