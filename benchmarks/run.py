"""Benchmark bgtask-lint against its peers (ruff ASYNC, flake8-async) on a generated or real tree.

    python benchmarks/run.py                                  # 100k-line generated tree, 3 runs each
    python benchmarks/run.py --lines 100000,300000,600000     # scale series
    python benchmarks/run.py --path ~/src/some-fastapi-repo   # a real repository instead
    python benchmarks/run.py --repeat 1 --skip-flake8 --json results.json

Every measured command runs as a subprocess of a tiny Python wrapper (``python -c WRAPPER``) that
starts it, waits for it, and reports its wall time, ``getrusage(RUSAGE_CHILDREN)`` (peak RSS of the
largest single process in the tree, CPU time of the whole tree) and, on Linux, the sampled peak of
the *summed* RSS of the process tree.  A fresh wrapper per run keeps ``ru_maxrss`` (a maximum over
all children ever waited for) from leaking between runs.  See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate

CACHE_DIR = ".bgtask_lint_cache"
SCENARIOS = ("cold", "first", "warm", "warm_edit3", "precommit", "moved", "ruff", "flake8")
ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
# Directory names skipped when counting a tree's lines: bgtask-lint's and ruff's default excludes.
EXCLUDED_DIRS = {
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    "__pycache__", "node_modules", "build", "dist", "site-packages", ".eggs", CACHE_DIR, "__pypackages__",
    "_build", "buck-out", ".direnv", ".ipynb_checkpoints",
}  # fmt: skip

# --------------------------------------------------------------------------- the measuring wrapper
# Runs argv[1] (a JSON command) in argv[2], stderr to the file argv[3]; argv[4] is the sampling
# interval for the summed tree RSS (0 = off).  Prints one JSON line.
WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time
cmd, cwd, err_path, interval = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
page_kb = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4
peak = [0]
def tree_rss(root):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
                parents.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += parents.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page_kb
        except (OSError, ValueError, IndexError):
            pass
    return total
def sample(proc, stop):
    while not stop.wait(interval):
        peak[0] = max(peak[0], tree_rss(proc.pid))
with open(err_path, "wb") as err:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    stop = threading.Event()
    sampler = None
    if interval > 0 and os.path.isdir("/proc/self"):
        sampler = threading.Thread(target=sample, args=(proc, stop), daemon=True)
        sampler.start()
    rc = proc.wait()
    wall = time.perf_counter() - t0
    stop.set()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
maxrss_kb = ru.ru_maxrss // 1024 if sys.platform == "darwin" else ru.ru_maxrss
print(json.dumps({"rc": rc, "wall": wall, "maxrss_kb": maxrss_kb, "cpu": ru.ru_utime + ru.ru_stime,
                  "tree_kb": peak[0] or None}))
"""


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    cpu: float
    tree_kb: int | None
    rc: int


@dataclass
class Scenario:
    key: str
    label: str
    cmd: list[str]
    runs: list[Run] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(r.wall for r in self.runs) if self.runs else None

    def summary(self, lines: int) -> dict:
        if not self.runs:
            return {"median_s": None}
        med = self.median
        trees = [r.tree_kb for r in self.runs if r.tree_kb]
        return {
            "n": len(self.runs),
            "median_s": round(med, 4),
            "min_s": round(min(r.wall for r in self.runs), 4),
            "max_s": round(max(r.wall for r in self.runs), 4),
            "peak_rss_mb": round(max(r.maxrss_kb for r in self.runs) / 1024, 1),
            "tree_rss_mb": round(max(trees) / 1024, 1) if trees else None,
            "cpu_s": round(statistics.median(r.cpu for r in self.runs), 3),
            "lines_per_s": round(lines / med) if med else None,
            "s_per_100k_lines": round(med * 100_000 / lines, 4) if lines else None,
        }


class Failed(Exception):
    pass


# --------------------------------------------------------------------------- tree facts


def count_tree(root: Path) -> tuple[int, int]:
    """(python files, lines) under ``root``, skipping the usual tool and VCS directories."""
    files = lines = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS and not d.endswith(".egg-info")]
        for name in filenames:
            if name.endswith((".py", ".pyi")):
                try:
                    with open(os.path.join(dirpath, name), "rb") as fh:
                        lines += fh.read().count(b"\n")
                    files += 1
                except OSError:
                    pass
    return files, lines


def project_root(path: Path) -> Path:
    """Where bgtask-lint puts its cache for ``path`` (its own rule when importable)."""
    try:
        from bgtask_lint.pipeline.naming import find_project_root

        return find_project_root(path)
    except Exception:  # noqa: BLE001 - fall back to the same rule, re-implemented
        start = path.resolve()
        for d in (start, *start.parents):
            if any((d / m).exists() for m in ROOT_MARKERS):
                return d
        return start


def pick_files(root: Path, count: int = 3) -> list[str]:
    """Three files spread over a real tree (deterministic)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py") and name != "__init__.py":
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    if not found:
        raise SystemExit(f"error: no Python files under {root}")
    found.sort()
    return [found[(i + 1) * len(found) // (count + 1)] for i in range(count)][: len(found)]


# --------------------------------------------------------------------------- tools


def find_tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def version_of(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return " ".join(text.split()) if out.returncode == 0 and text else None


def source_revision(python: str) -> str | None:
    """``<commit>[+dirty]`` of the git checkout bgtask-lint is imported from, if it is one."""
    where = version_of([python, "-c", "import bgtask_lint, os; print(os.path.dirname(bgtask_lint.__file__))"])
    if not where:
        return None
    commit = version_of(["git", "-C", where, "rev-parse", "--short", "HEAD"])
    if not commit:
        return None
    try:
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=60, check=False).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    return f"{commit}+dirty" if dirty else commit


def machine_info(python: str) -> dict:
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": version_of([python, "-c", "import sys; print(sys.version.split()[0])"]) or platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None)
        if model:
            info["cpu_model"] = model
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


# --------------------------------------------------------------------------- measuring


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.python = args.python
        self.lint = [self.python, "-m", "bgtask_lint", "check", *shlex.split(args.bgtask_args)]
        self.ruff = find_tool("ruff")
        self.flake8 = find_tool("flake8")
        self.flake8_note: str | None = None
        if args.skip_flake8:
            self.flake8, self.flake8_note = None, "skipped (--skip-flake8)"
        elif self.flake8 is None:
            self.flake8_note = "skipped: flake8 is not installed (pip install flake8 flake8-async)"
        elif "flake8-async" not in (version_of([self.flake8, "--version"]) or ""):
            self.flake8, self.flake8_note = None, "skipped: the flake8-async plugin is not installed"
        self.ruff_note = None if self.ruff else "skipped: ruff not found next to the interpreter or on PATH"

    def measure(self, cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> Run:
        fd, err_path = tempfile.mkstemp(prefix="bench-stderr-")
        os.close(fd)
        interval = "0" if self.args.no_tree_rss else str(self.args.sample_interval)
        wrapper = [sys.executable, "-c", WRAPPER, json.dumps(cmd), str(cwd), err_path, interval]
        # Python's bytecode cache on, as an installed tool has it (an environment that turns it off
        # would make every run compile bgtask-lint's own modules again)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        proc = subprocess.Popen(wrapper, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env=env)  # fmt: skip
        try:
            out, err = proc.communicate(timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the wrapper's own session: it and the command only
            proc.communicate()
            os.unlink(err_path)
            raise Failed(f"timed out after {self.args.timeout:g} s") from None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            os.unlink(err_path)
            raise
        try:
            stderr = Path(err_path).read_text(errors="replace")
        finally:
            os.unlink(err_path)
        if proc.returncode != 0 or not out.strip():
            raise Failed(f"the measuring wrapper failed: {err.strip()}")
        data = json.loads(out.strip().splitlines()[-1])
        if data["rc"] not in ok:
            tail = "\n".join(stderr.strip().splitlines()[-40:])
            raise Failed(f"exit code {data['rc']}; stderr:\n{tail}")
        return Run(data["wall"], data["maxrss_kb"], data["cpu"], data["tree_kb"], data["rc"])

    def repeat(self, sc: Scenario, cwd: Path, times: int, before=None, after=None) -> None:
        for i in range(times):
            if before:
                before(i)
            try:
                run = self.measure(sc.cmd, cwd)
            except Failed as exc:
                sc.error = str(exc)
                print(f"  {sc.label}: FAILED: {exc}", file=sys.stderr)
                return
            finally:
                if after:
                    after(i)
            sc.runs.append(run)
            print(f"  {sc.label} [{i + 1}/{times}]: {run.wall:.2f} s, peak {run.maxrss_kb / 1024:.0f} MB", file=sys.stderr)

    # ------------------------------------------------------------------ one tree

    def bench_tree(self, label: str, tree: Path, edit_files: list[str]) -> dict:
        args = self.args
        n = args.repeat
        files, lines = count_tree(tree)
        print(f"\n== {label}: {lines:,} lines in {files:,} Python files ({tree})", file=sys.stderr)
        root = project_root(tree)
        cache = root / CACHE_DIR
        backup = None
        if cache.exists():  # a real repository's own cache: set it aside, put it back afterwards
            backup = cache.with_name(f"{CACHE_DIR}.bench-backup-{os.getpid()}")
            cache.rename(backup)
        originals = {f: ((tree / f).read_bytes(), (tree / f).stat()) for f in edit_files}

        def clear_cache(_: int = 0) -> None:
            shutil.rmtree(cache, ignore_errors=True)

        def edit(i: int) -> None:
            for k, f in enumerate(edit_files):
                data = originals[f][0]
                sep = b"" if data.endswith(b"\n") or not data else b"\n"
                probe = (f'\n\ndef _bench_probe_{os.getpid()}_{i}_{k}(value: int = {i}) -> int:\n'
                         f'    """Added by benchmarks/run.py for one run; removed right after."""\n'
                         f"    return value * 2\n").encode()  # fmt: skip
                (tree / f).write_bytes(data + sep + probe)

        def restore(_: int = 0) -> None:
            for f, (data, st) in originals.items():
                (tree / f).write_bytes(data)
                os.utime(tree / f, ns=(st.st_atime_ns, st.st_mtime_ns))

        scenarios: list[Scenario] = []
        load_before = loadavg()
        try:
            want = set(args.only)
            if "cold" in want:
                cold = Scenario("cold", "bgtask-lint cold (--no-cache)", [*self.lint, ".", "--no-cache"])
                scenarios.append(cold)
                self.repeat(cold, tree, n, before=clear_cache)
                if cache.exists():
                    cold.note = f"{CACHE_DIR} exists after a --no-cache run"

            first = Scenario("first", "bgtask-lint first run (writes cache)", [*self.lint, "."])
            if want & {"first", "warm", "warm_edit3", "precommit", "moved"}:
                first.note = "one run: it also primes the cache for the warm scenarios"
                scenarios.append(first)
                self.repeat(first, tree, 1, before=clear_cache)

            if first.runs and "warm" in want:
                warm = Scenario("warm", "bgtask-lint warm (cache, no change)", [*self.lint, "."])
                scenarios.append(warm)
                self.repeat(warm, tree, n)

            if first.runs and "warm_edit3" in want:
                edited = Scenario("warm_edit3", "bgtask-lint warm, 3 files edited", [*self.lint, "."])
                edited.note = "a new function is appended to: " + ", ".join(edit_files)
                scenarios.append(edited)
                self.repeat(edited, tree, n, before=edit, after=restore)

            if first.runs and "precommit" in want:
                pre = Scenario("precommit", "bgtask-lint pre-commit (3 paths, warm)", [*self.lint, *edit_files])
                scenarios.append(pre)
                self.repeat(pre, tree, n)

            if first.runs and "moved" in want:
                # CI with a cache step: a fresh checkout at another path (new inodes and mtimes) with the
                # cache directory restored into it; each repeat starts from a new copy
                elsewhere = Path(tempfile.mkdtemp(prefix="bgtask-bench-checkout-"))
                copy = elsewhere / root.name
                here = copy / tree.relative_to(root)

                def checkout(_: int = 0) -> None:
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.copytree(root, copy, symlinks=True, copy_function=shutil.copy)

                moved = Scenario("moved", "bgtask-lint fresh checkout elsewhere, cache restored", [*self.lint, "."])
                moved.note = "the tree and its cache copied to a new path with new mtimes before each run"
                scenarios.append(moved)
                try:
                    self.repeat(moved, here, n, before=checkout)
                finally:
                    shutil.rmtree(elsewhere, ignore_errors=True)

            if self.ruff and "ruff" in want:
                ruff = Scenario("ruff", "ruff check --select ASYNC --no-cache",
                                [self.ruff, "check", "--select", "ASYNC", "--no-cache", "."])  # fmt: skip
                scenarios.append(ruff)
                self.repeat(ruff, tree, n)
            if self.flake8 and "flake8" in want:
                flake = Scenario("flake8", "flake8 --select ASYNC -j 2 (flake8-async)",
                                 [self.flake8, "--select", "ASYNC", "-j", "2", "."])  # fmt: skip
                scenarios.append(flake)
                self.repeat(flake, tree, n)
        finally:
            restore()
            clear_cache()
            if backup is not None:
                backup.rename(cache)

        return {
            "label": label,
            "load_avg_1m": {"before": load_before, "after": loadavg()},
            "path": str(tree),
            "python_files": files,
            "lines": lines,
            "edit_files": edit_files,
            "scenarios": [
                {"key": s.key, "label": s.label, "cmd": s.cmd, "error": s.error, "note": s.note,
                 **s.summary(lines), "runs": [asdict(r) for r in s.runs]}
                for s in scenarios
            ],
            "notes": [x for x in (self.ruff_note, self.flake8_note) if x],
        }


# --------------------------------------------------------------------------- reporting


def loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def fmt_ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    r = a / b
    return f"{r:.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


def print_table(result: dict) -> None:
    rows = result["scenarios"]
    peers = {r["key"]: r.get("median_s") for r in rows if r["key"] in ("ruff", "flake8") and r.get("median_s")}
    header = ["scenario", "n", "median s", "min-max s", "peak RSS MB", "tree RSS MB", "CPU s", "lines/s",
              "s/100k lines", *(f"/ {p}" for p in peers)]  # fmt: skip
    table = [header]
    for r in rows:
        if r.get("median_s") is None:
            table.append([r["label"], "0", "FAILED" if r["error"] else "-", *[""] * (len(header) - 3)])
            continue
        table.append([
            r["label"], str(r["n"]), f"{r['median_s']:.2f}", f"{r['min_s']:.2f}-{r['max_s']:.2f}",
            f"{r['peak_rss_mb']:.0f}", f"{r['tree_rss_mb']:.0f}" if r["tree_rss_mb"] else "-", f"{r['cpu_s']:.1f}",
            f"{r['lines_per_s']:,}", f"{r['s_per_100k_lines']:.3f}", *(fmt_ratio(r["median_s"], p) for p in peers.values()),
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print(f"\n{result['label']}: {result['lines']:,} lines, {result['python_files']:,} Python files")
    for i, row in enumerate(table):
        cells = [c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(row)]
        print("  " + "  ".join(cells))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        if r["error"]:
            print(f"  ! {r['label']}: {r['error']}")
        if r.get("note"):
            print(f"  * {r['label']}: {r['note']}")
    for note in result["notes"]:
        print(f"  * {note}")
    load = result.get("load_avg_1m") or {}
    if load.get("before") is not None:
        cpus = os.cpu_count() or 1
        busy = load["before"] > cpus
        print(f"  * load average (1 min) before/after: {load['before']} / {load.get('after')} on {cpus} CPUs"
              + (" - the machine was busy with other work; wall times are inflated, CPU s less so" if busy else ""))


def print_scale(results: list[dict]) -> dict:
    """Per scenario: seconds per 100k lines at each size, and a least-squares line through (lines, s)."""
    keys: list[tuple[str, str]] = []
    for res in results:
        for r in res["scenarios"]:
            if (r["key"], r["label"]) not in keys:
                keys.append((r["key"], r["label"]))
    sizes = [f"{res['lines'] // 1000}k" for res in results]
    header = ["scenario", *(f"s @ {s}" for s in sizes), *(f"s/100k @ {s}" for s in sizes), "fit s/100k", "fixed s",
              "R^2", "growth", "CPU growth"]  # fmt: skip
    table = [header]
    summary = {}
    for key, label in keys:
        points, cpu = [], []
        for res in results:
            r = next((x for x in res["scenarios"] if x["key"] == key), None)
            points.append((res["lines"], r.get("median_s") if r else None))
            cpu.append(r["cpu_s"] * 100_000 / res["lines"] if r and r.get("cpu_s") else None)
        cpu_growth = cpu[-1] / cpu[0] if cpu[0] and cpu[-1] else None
        ok = [(x, y) for x, y in points if y]
        slope = intercept = r2 = None
        if len(ok) >= 2:
            mx, my = statistics.fmean(x for x, _ in ok), statistics.fmean(y for _, y in ok)
            sxx = sum((x - mx) ** 2 for x, _ in ok)
            slope = sum((x - mx) * (y - my) for x, y in ok) / sxx if sxx else 0.0
            intercept = my - slope * mx
            ss_tot = sum((y - my) ** 2 for _, y in ok)
            ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in ok)
            r2 = (1 - ss_res / ss_tot if ss_tot else 1.0) if len(ok) >= 3 else None  # two points always fit
        per = [y * 100_000 / x if y else None for x, y in points]
        growth = per[-1] / per[0] if per and per[0] and per[-1] else None
        summary[key] = {"label": label, "points": points, "s_per_100k": per, "fit_s_per_100k": slope and slope * 100_000,
                        "fit_fixed_s": intercept, "r2": r2, "growth_per_100k_largest_vs_smallest": growth,
                        "cpu_s_per_100k": cpu, "cpu_growth": cpu_growth}  # fmt: skip
        table.append([
            label, *(f"{y:.2f}" if y else "-" for _, y in points), *(f"{p:.3f}" if p else "-" for p in per),
            f"{slope * 100_000:.3f}" if slope is not None else "-", f"{intercept:.2f}" if intercept is not None else "-",
            f"{r2:.3f}" if r2 is not None else "-", f"{growth:.2f}x" if growth else "-",
            f"{cpu_growth:.2f}x" if cpu_growth else "-",
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print("\nScale series (median wall seconds; 'growth' = s/100k at the largest size / s/100k at the smallest;")
    print("1.00x is perfectly linear, 'fixed s' is the fitted per-run overhead; 'CPU growth' is the same for CPU")
    print("seconds, which other load on the machine disturbs less than wall time):")
    for i, row in enumerate(table):
        print("  " + "  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(row)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    return summary


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Benchmark bgtask-lint against ruff ASYNC and flake8-async.",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    ap.add_argument("--lines", default="100000",
                    help="size of the generated tree in lines; a comma-separated list runs a scale series")
    ap.add_argument("--path", action="append", type=Path, default=[],
                    help="benchmark this existing tree instead of a generated one (repeatable)")
    ap.add_argument("--out", type=Path, help="generate into this directory (one subdirectory per size) and keep it")
    ap.add_argument("--seed", type=int, default=1, help="generator seed")
    ap.add_argument("--repeat", type=int, default=3, help="runs per scenario; the median is reported")
    ap.add_argument("--edit-files", help="comma-separated paths (relative to the tree) for the edit and pre-commit scenarios")
    ap.add_argument("--only", default=",".join(SCENARIOS),
                    help="comma-separated scenarios to run (the warm ones always run 'first' to prime the cache)")
    ap.add_argument("--skip-flake8", action="store_true", help="do not run flake8 (it is slow on big trees)")
    ap.add_argument("--json", type=Path, help="also write the results to this JSON file")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs bgtask-lint (python -m bgtask_lint)")
    ap.add_argument("--bgtask-args", default="",
                    help="extra arguments for every bgtask-lint run, e.g. '--output-format concise'")
    ap.add_argument("--from-json", nargs="+", type=Path, metavar="FILE",
                    help="print the tables (and the scale fit across the files) of earlier --json results; run nothing")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before one run is killed")
    ap.add_argument("--no-tree-rss", action="store_true", help="do not sample the summed RSS of the process tree")
    ap.add_argument("--sample-interval", type=float, default=0.1, help="seconds between tree-RSS samples")
    ap.add_argument("--keep", action="store_true", help="keep generated trees made in a temporary directory")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(args.only) - set(SCENARIOS))
    if unknown:
        ap.error(f"--only: unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    try:
        args.sizes = [int(x.replace("_", "")) for x in args.lines.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--lines: expected integers, got {args.lines!r}")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that restore edited files and the cache


def replay(files: list[Path]) -> int:
    results = []
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        print(f"{f}: machine: " + ", ".join(f"{k}={v}" for k, v in data["machine"].items()))
        print(f"{' ' * len(str(f))}  tools:   " + "; ".join(f"{k}: {v or 'not run'}" for k, v in data["tools"].items()))
        for res in data["results"]:
            print_table(res)
            results.append(res)
    results.sort(key=lambda r: r["lines"])
    if len(results) > 1:
        print_scale(results)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        return replay(args.from_json)
    signal.signal(signal.SIGTERM, _terminate)
    probe = subprocess.run([args.python, "-m", "bgtask_lint", "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        print(f"error: `{args.python} -m bgtask_lint` does not run:\n{probe.stderr.strip()}", file=sys.stderr)
        return 2
    bench = Bench(args)
    machine = machine_info(args.python)
    tools = {
        "bgtask-lint": probe.stdout.strip(),
        "bgtask-lint source": source_revision(args.python),
        "ruff": version_of([bench.ruff, "--version"]) if bench.ruff else None,
        "flake8": version_of([bench.flake8, "--version"]) if bench.flake8 else None,
    }
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print("tools:   " + "; ".join(f"{k}: {v or 'not run'}" for k, v in tools.items()))
    print("timing:  wall = median of runs; peak RSS = getrusage(RUSAGE_CHILDREN).ru_maxrss of a fresh wrapper "
          "(largest single process); tree RSS = sampled sum over the process tree")  # fmt: skip
    results: list[dict] = []
    temp_root: Path | None = None
    try:
        if args.path:
            for p in args.path:
                tree = p.resolve()
                if not tree.is_dir():
                    print(f"error: {p} is not a directory", file=sys.stderr)
                    return 2
                edit = args.edit_files.split(",") if args.edit_files else pick_files(tree)
                res = bench.bench_tree(str(p), tree, edit)
                print_table(res)
                results.append(res)
        else:
            if args.out is None:
                temp_root = Path(tempfile.mkdtemp(prefix="bgtask-bench-"))
            base = args.out or temp_root
            for size in args.sizes:
                tree = base / f"tree-{size}" if len(args.sizes) > 1 or args.out is None else base
                t0 = time.perf_counter()
                manifest = generate(tree, size, args.seed)
                print(f"generated {manifest['python_lines']:,} lines / {manifest['python_files']:,} files in "
                      f"{time.perf_counter() - t0:.1f} s: {manifest['services']} services, {manifest['routers']} routers, "
                      f"{manifest['reachable_share']:.0%} of lines in route-reachable modules", file=sys.stderr)  # fmt: skip
                edit = args.edit_files.split(",") if args.edit_files else manifest["edit_files"]
                res = bench.bench_tree(f"generated {size:,}-line tree (seed {args.seed})", tree, edit)
                res["generated"] = manifest
                print_table(res)
                results.append(res)
                if temp_root is not None and not args.keep:
                    shutil.rmtree(tree, ignore_errors=True)
        scale = print_scale(results) if len(results) > 1 and not args.path else None
    finally:
        if temp_root is not None and not args.keep:
            shutil.rmtree(temp_root, ignore_errors=True)
        elif temp_root is not None:
            print(f"kept generated trees in {temp_root}", file=sys.stderr)
    if args.json:
        payload = {"machine": machine, "tools": tools, "repeat": args.repeat, "seed": args.seed,
                   "results": results, "scale": scale}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    failed = any(s["error"] for r in results for s in r["scenarios"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
