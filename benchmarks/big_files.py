"""What one large module costs: a generated route module of 50,000 and 200,000 lines, linted cold.

    python benchmarks/big_files.py                 # 50k and 200k lines, 3 runs each
    python benchmarks/big_files.py --lines 50000 --repeat 1

The module is built from the generated tree of ``generate.py`` (functions, classes, calls) with a
FastAPI app on top, so it is summarised with libcst like any route module (not only checked to
parse). Each run is ``python -m bgtask_lint check app.py --no-cache`` in a fresh directory; the
figures are the wall time and the peak memory of the largest process (the parser worker).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def module_text(lines: int, scratch: Path) -> str:
    tree = scratch / "tree"
    subprocess.run([sys.executable, str(HERE / "generate.py"), "--lines", str(min(lines, 60_000)), "--out", str(tree)],
                   check=True, capture_output=True)  # fmt: skip
    body = [line for path in sorted(tree.rglob("*.py")) for line in path.read_text().splitlines(keepends=True)
            if not line.startswith("from __future__")]  # fmt: skip
    out = ["from fastapi import FastAPI\n", "\n", "app = FastAPI()\n", "\n", "\n"]
    while len(out) < lines:
        out += body
    cut = lines
    while cut < len(out) and (out[cut][:1] in (" ", "\t", ")", "]", "}") or not out[cut].strip()):
        cut += 1  # end at a top-level statement
    return "".join(out[:cut])


def run_once(python: str, folder: Path) -> tuple[float, int, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run([python, "-m", "bgtask_lint", "check", "app.py", "--no-cache", "-v"], cwd=folder,
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bgtask-lint failed ({proc.returncode}): {proc.stderr}")
    return wall, max(peak, before), proc.stderr.strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", default="50000,200000", help="comma-separated module sizes in lines")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="the interpreter that has bgtask-lint installed")
    args = ap.parse_args()
    print("| lines | size | median wall s | peak RSS MB (largest process) | verdict |")
    print("|---:|---:|---:|---:|---|")
    for lines in (int(x) for x in args.lines.split(",")):
        scratch = Path(tempfile.mkdtemp(prefix="bgtask-big-"))
        try:
            folder = scratch / "project"
            folder.mkdir()
            text = module_text(lines, scratch)
            (folder / "app.py").write_text(text)
            # the size limit is what is measured against: lint the file whatever its size
            (folder / "pyproject.toml").write_text('[tool.bgtask-lint]\nmax-file-size = "1GB"\n')
            runs = [run_once(args.python, folder) for _ in range(args.repeat)]
            if "E999" in subprocess.run([args.python, "-m", "bgtask_lint", "check", "app.py", "--no-cache"],
                                        cwd=folder, capture_output=True, text=True).stdout:  # fmt: skip
                raise SystemExit("the generated module does not parse")
            # ru_maxrss of children is the maximum over every child so far: a later, smaller file shows
            # the earlier peak, so sizes are measured in increasing order
            wall = statistics.median(r[0] for r in runs)
            print(f"| {lines:,} | {len(text.encode()) / 2**20:.1f} MB | {wall:.2f} | {max(r[1] for r in runs) / 1024:.0f} | "
                  f"{runs[-1][2]} |", flush=True)  # fmt: skip
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
