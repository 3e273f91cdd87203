"""Command line: ``check``, ``rule`` and ``rules``; wires the pipeline steps and maps results to exit codes."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn, TextIO

import click

from bgtask_lint import __version__
from bgtask_lint.report.formats import EDIT_FORMATS, FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Options:
    color: bool | None


def _codes(values: tuple[str, ...]) -> list[str] | None:
    out = [c.strip().upper() for v in values for c in v.split(",") if c.strip()]
    return out or None


def _rule_metas():
    from bgtask_lint.report.render import RuleMeta
    from bgtask_lint.rules import all_rules

    return tuple(RuleMeta(r.code, r.name, r.summary, r.docs(), r.url()) for r in all_rules())


def _conflict(paths: tuple[str, ...], diff: bool, output_format: str, add_noqa: bool, fix: bool, quiet: bool,
              verbose: bool, stdin_filename: str | None, baseline: Path | None,
              write_baseline: Path | None) -> str | None:  # fmt: skip
    """The first pair of options that cannot be used together, in words; None when they agree."""
    pairs = [
        (diff and output_format != "full", f"`--diff` prints a diff and cannot be used with `--output-format {output_format}`"),
        (add_noqa and fix, "`--add-noqa` cannot be used with `--fix`: add the comments or fix the code, not both"),
        (add_noqa and diff, "`--add-noqa` cannot be used with `--diff`"),
        (quiet and verbose, "`--quiet` cannot be used with `--verbose`"),
        (bool(stdin_filename) and bool(paths), "`--stdin-filename` lints standard input and cannot be used with paths"),
        (baseline is not None and write_baseline is not None and baseline.resolve() == write_baseline.resolve(),
         "`--write-baseline` and `--baseline` name the same file"),
    ]  # fmt: skip
    return next((message for clashes, message in pairs if clashes), None)


def _known_codes() -> set[str]:
    from bgtask_lint.models import FILE_ERROR_CODES
    from bgtask_lint.rules import all_rules

    return {r.code for r in all_rules()} | set(FILE_ERROR_CODES)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bgtask-lint")
@click.option("--color/--no-color", default=None, help="Force or disable colour (default: only on a terminal).")
@click.pass_context
def cli(ctx: click.Context, color: bool | None) -> None:
    """Find slow work in FastAPI request paths and background-task traps."""
    ctx.obj = Options(color)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (with --fix) or count unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the diff --fix would write, write nothing.")
@click.option("--show-fixes", is_flag=True, help="List the fixes that were applied.")
@click.option("--output-format", type=click.Choice(FORMATS), default="full", show_default=True)
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--extend-select", multiple=True, help="Codes to enable on top of the selection.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Count findings per rule.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Read settings from this file.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the facts cache.")
@click.option("--cache-dir", type=click.Path(path_type=str), envvar="BGTASK_LINT_CACHE_DIR", show_envvar=True,
              help="Where the cache lives (default: .bgtask_lint_cache in the project).")
@click.option("--force-exclude/--no-force-exclude", default=None,
              help="Apply exclude settings to paths named on the command line too (for pre-commit).")
@click.option("--stdin-filename", help="Lint standard input as if it were this file.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Report only findings not in this baseline file.")
@click.option("--write-baseline", type=click.Path(path_type=Path), help="Write the current findings as a baseline.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments to every reported line.")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary.")
@click.option("-v", "--verbose", is_flag=True, help="Print what was parsed and cached.")
@click.pass_obj
def check(opts: Options, paths: tuple[str, ...], fix: bool, unsafe_fixes: bool, diff: bool, show_fixes: bool,
          output_format: str, select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
          exit_zero: bool, statistics: bool, config_file: Path | None, no_cache: bool, cache_dir: str | None,
          force_exclude: bool | None, stdin_filename: str | None,
          baseline: Path | None, write_baseline: Path | None, add_noqa: bool, quiet: bool,
          verbose: bool) -> None:  # fmt: skip
    """Lint PATHS (default: the current directory)."""
    from bgtask_lint.app import lint, print_report, with_shown_edits
    from bgtask_lint.config import ConfigError, find_config, from_overrides, load_config
    from bgtask_lint.models import FileError
    from bgtask_lint.pipeline.naming import find_project_root
    from bgtask_lint.report.render import Report, render, rendering_key

    err = click.get_text_stream("stderr")
    clash = _conflict(paths, diff, output_format, add_noqa, fix, quiet, verbose, stdin_filename, baseline, write_baseline)
    if clash is not None:
        click.echo(f"error: {clash}", err=True)
        raise SystemExit(EXIT_ERROR)
    overlay = None
    if stdin_filename:
        overlay = {stdin_filename: sys.stdin.buffer.read().decode("utf-8", "surrogateescape")}
        paths = (stdin_filename,)
    paths = paths or (".",)
    known = _known_codes()
    try:
        source = config_file or find_config(Path(paths[0]).resolve() if Path(paths[0]).exists() else Path.cwd())
        config = load_config(source, known)
        config = from_overrides(config, select=_codes(select), ignore=_codes(ignore),
                                extend_select=_codes(extend_select), known_codes=known)  # fmt: skip
        if cache_dir:
            config = replace(config, cache_dir=os.path.abspath(os.path.expanduser(cache_dir)))
        if force_exclude is not None:
            config = replace(config, force_exclude=force_exclude)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    missing = [p for p in paths if not os.path.lexists(p) and p != stdin_filename]
    # Machine formats carry every fix's edits (with its applicability); the text output shows the diff
    # of the fixes --fix would apply here: computing a fix's edits runs a codemod over its file.
    edits = "unsafe" if unsafe_fixes or output_format != "full" else "safe"
    shown = _ProgressBar.when_useful(quiet or bool(stdin_filename))
    try:
        result = lint(paths, config, use_cache=not no_cache, overlay=overlay, progress=shown,
                      edits=edits if output_format in EDIT_FORMATS and not (fix or diff or write_baseline or add_noqa) else None)
    finally:
        if shown is not None:
            shown.close()
    # like ruff: a missing path is an E902 finding and the rest is linted; file errors are findings
    # that `--ignore E999` / `E902` (or per-file-ignores) turn off
    result.errors = [e for e in [*result.errors, *(FileError(p, "no such file or directory") for p in missing)]
                     if config.enabled(e.code, e.path, default=True)]  # fmt: skip
    for warning in dict.fromkeys(result.warnings):
        click.echo(f"warning: {warning}", err=True)
    if not result.files and not result.errors and not missing:
        click.echo("warning: No Python files found under the given path(s)", err=True)
    root = os.getcwd()
    # fingerprints are relative to the project, so a baseline works from any working directory
    project = str(find_project_root(Path(paths[0]))) if os.path.lexists(paths[0]) else root
    if write_baseline is not None:
        from bgtask_lint.adoption import write_baseline as write

        count = write(write_baseline, result.diagnostics, project)
        click.echo(f"Wrote {count} finding{'s' if count != 1 else ''} to {write_baseline}", err=True)
        raise SystemExit(EXIT_CLEAN)
    if baseline is not None:
        from bgtask_lint.adoption import BaselineError, load_baseline

        try:
            result.diagnostics = load_baseline(baseline).filter(result.diagnostics, project)
        except BaselineError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(EXIT_ERROR) from None
    if add_noqa:
        from bgtask_lint.fixes.apply import add_noqa_comments

        added = add_noqa_comments(result)
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
        raise SystemExit(EXIT_CLEAN)
    fixed = 0
    applied: list = []
    if fix or diff:
        from bgtask_lint.fixes.apply import apply_fixes

        outcome = apply_fixes(result, config, unsafe=unsafe_fixes, write=not diff and not stdin_filename,
                              use_cache=not no_cache, overlay=overlay)  # fmt: skip
        fixed, applied = outcome.fixed, outcome.applied
        for problem in outcome.problems:
            click.echo(f"warning: {problem}", err=True)
        if diff:
            sys.stdout.write(outcome.diff)
            raise SystemExit(EXIT_FINDINGS if outcome.diff else EXIT_CLEAN)
        if stdin_filename:
            sys.stdout.write(outcome.sources.get(stdin_filename, overlay[stdin_filename]))  # type: ignore[index]
        result = outcome.result
    if output_format in EDIT_FORMATS:
        result = with_shown_edits(result, unsafe=edits == "unsafe")
    started_report = time.perf_counter()
    out = err if stdin_filename and fix else click.get_text_stream("stdout")
    final = result

    def write(stream: TextIO) -> None:
        fixable = sum(1 for d in final.diagnostics if d.fix and (d.fix.applicability == "safe" or unsafe_fixes))
        hidden = sum(1 for d in final.diagnostics if d.fix and d.fix.applicability == "unsafe" and not unsafe_fixes)
        report = Report(
            diagnostics=tuple(final.diagnostics), errors=tuple(final.errors), rules=_rule_metas(), fixed=fixed,
            unsafe_fixable_hidden=hidden, fixable=fixable, sources=final.sources, root=root,
        )  # fmt: skip
        render(report, output_format, stream, color=opts.color, statistics=statistics, show_fixes=True, quiet=quiet)

    # A re-run on an unchanged tree prints what the same run printed last time (not on a terminal,
    # whose width and colours can differ between runs).
    print_report(result, out, write, variant=(output_format, statistics, quiet, unsafe_fixes, root),
                 key=rendering_key(out, opts.color), reuse=not (fix or diff or baseline))  # fmt: skip
    if show_fixes and applied:
        for line in applied:
            click.echo(f"Fixed: {line}", err=True)
    if verbose:
        result.timings["report"] = time.perf_counter() - started_report
        click.echo("timings: " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in result.timings.items()), err=True)
        click.echo(f"{len(result.files)} files checked, {result.parsed} parsed, {result.cached} from cache", err=True)
    if (result.diagnostics or result.errors) and not exit_zero:
        _finish(EXIT_FINDINGS)
    _finish(EXIT_CLEAN)


#: Seconds a run goes on before its progress bar appears (a short run never shows one).
PROGRESS_AFTER = float(os.environ.get("BGTASK_LINT_PROGRESS_AFTER", "1") or 1)


class _ProgressBar:
    """Files parsed of total, then the analysis, on stderr: only on a terminal, and only once the run
    has taken :data:`PROGRESS_AFTER` seconds. Never in piped or CI output."""

    def __init__(self) -> None:
        self.state: tuple[str, int, int] = ("discover", 0, 0)
        self.lock = threading.Lock()
        self.bar = None
        self.task = None
        self.timer = threading.Timer(PROGRESS_AFTER, self._show)
        self.timer.daemon = True
        self.timer.start()

    @classmethod
    def when_useful(cls, quiet: bool) -> _ProgressBar | None:
        return None if quiet or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb" else cls()

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self.lock:
            self.state = (phase, done, total)
            if self.bar is not None:
                self._update()

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with self.lock:
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)  # fmt: skip
            self.task = self.bar.add_task("Reading files", total=None)
            self._update()
            self.bar.start()

    def _update(self) -> None:
        phase, done, total = self.state
        if phase == "parse":
            self.bar.update(self.task, description="Parsing files", completed=done, total=total or None)
        elif phase == "analyse":
            self.bar.update(self.task, description="Analysing", completed=0, total=None)

    def close(self) -> None:
        self.timer.cancel()
        with self.lock:
            if self.bar is not None:
                self.bar.stop()
                self.bar = None


#: Set by :func:`console`: the process ends as soon as a check's output is written.
_exit_at_end = False


def _finish(code: int) -> NoReturn:
    """End a check. The ``bgtask-lint`` command leaves with ``os._exit`` once its output is flushed:
    freeing a whole-project run's objects one by one (the index, every module's facts) takes longer
    than a warm run's analysis. Callers of :func:`main` (tests, embedding) get ``SystemExit``, and so
    does a run under a profiler or a coverage tracer (they write their data at exit)."""
    if _exit_at_end and sys.getprofile() is None and sys.gettrace() is None:  # not under a profiler or coverage
        for name in ("stdout", "stderr"):  # click's text wrappers (cached per stream) buffer on their own
            click.get_text_stream(name).flush()
            getattr(sys, name).flush()
        os._exit(code)
    raise SystemExit(code)


@cli.command()
@click.argument("code")
@click.pass_obj
def rule(opts: Options, code: str) -> None:
    """Show the documentation of a rule (by code or name)."""
    from bgtask_lint.report.render import render_rule_docs

    meta = next((m for m in _rule_metas() if m.code == code.upper() or m.name == code.lower()), None)
    if meta is None:
        click.echo(f"error: unknown rule {code!r}; see `bgtask-lint rules`", err=True)
        raise SystemExit(EXIT_ERROR)
    render_rule_docs(meta, click.get_text_stream("stdout"), opts.color)


@cli.command()
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="`json`: one object per rule (code, name, summary, explanation, url), for tools.")  # fmt: skip
@click.pass_obj
def rules(opts: Options, output_format: str) -> None:
    """List every rule."""
    from bgtask_lint.report.render import render_rules_json, render_rules_table

    if output_format == "json":
        render_rules_json(_rule_metas(), click.get_text_stream("stdout"))
    else:
        render_rules_table(_rule_metas(), click.get_text_stream("stdout"), opts.color)


def console() -> NoReturn:
    """The ``bgtask-lint`` command.

    The cyclic garbage collector stays off for the life of the command (a run pauses it anyway): once
    a run is over, turning it back on makes its next pass walk every object the run made (a second
    or so after a whole-project run), for a process about to exit. Objects are still freed by
    reference counting."""
    global _exit_at_end
    _exit_at_end = True
    gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="bgtask-lint", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except click.exceptions.Abort:
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug or a bad environment: one line and exit 2, not a traceback
        from bgtask_lint.pipeline.pool import UsageError

        if isinstance(exc, UsageError):
            click.echo(f"error: {exc}", err=True)
            return EXIT_ERROR
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        click.echo(f"error: internal error: {exc!r} at {frame.filename}:{frame.lineno}; please report it", err=True)
        return EXIT_ERROR
    return EXIT_CLEAN
