"""Refactoring guard: record what bgtask-lint reports on a set of trees, then check a later version
reports exactly the same (findings, file errors, and the diff of every unsafe fix).

    python benchmarks/compare.py record /tmp/before examples tests/fixtures ~/src/app ...
    python benchmarks/compare.py check  /tmp/before          # the same paths, read from the record

For each path it stores ``check --no-cache --output-format json`` (paths made relative to the tree,
so the trees may move) and ``check --no-cache --diff --unsafe-fixes``. ``check`` exits 1 and names
every tree whose output differs, with the first differing lines.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path


def outputs(python: str, tree: Path) -> dict[str, str]:
    def run(*args: str) -> str:
        proc = subprocess.run([python, "-m", "bgtask_lint", "check", "--no-cache", *args, "."], cwd=tree,
                              capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{tree}: bgtask-lint exited {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout.replace(str(tree.resolve()) + os.sep, "")

    findings = json.loads(run("--output-format", "json"))
    return {
        "findings": json.dumps(findings, indent=1, sort_keys=True),
        "diff": run("--diff", "--unsafe-fixes"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["record", "check"])
    ap.add_argument("record", type=Path, help="the directory holding the record")
    ap.add_argument("paths", nargs="*", type=Path, help="trees to lint (record mode)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    index = args.record / "trees.json"
    if args.mode == "record":
        args.record.mkdir(parents=True, exist_ok=True)
        trees = [str(p.resolve()) for p in args.paths]
        for i, tree in enumerate(trees):
            for kind, text in outputs(args.python, Path(tree)).items():
                (args.record / f"{i}.{kind}").write_text(text)
            print(f"recorded {tree}", file=sys.stderr)
        index.write_text(json.dumps(trees, indent=1))
        return 0
    trees = json.loads(index.read_text())
    failed = 0
    for i, tree in enumerate(trees):
        for kind, text in outputs(args.python, Path(tree)).items():
            before = (args.record / f"{i}.{kind}").read_text()
            if text != before:
                failed += 1
                lines = list(difflib.unified_diff(before.splitlines(), text.splitlines(), "before", "after", lineterm=""))
                print(f"DIFFERS: {tree} ({kind})\n" + "\n".join(lines[:40]))
        print(f"checked {tree}", file=sys.stderr)
    print("identical" if not failed else f"{failed} output(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
