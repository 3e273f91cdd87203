"""The use cases the command line offers, over the pipeline: lint (with the fix edits a format
shows) and the report, re-printed from the rendering cache on an unchanged tree. The fix loop is
:func:`bgtask_lint.fixes.apply.apply_fixes`.

The pipeline (:mod:`bgtask_lint.pipeline.run`) never imports the fixes; the edits of the fixes a report
shows are added here, through the hook the pipeline calls before it stores its result.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bgtask_lint.config import Config
from bgtask_lint.pipeline.run import Result, lacks_edits, run


def lint(paths: Sequence[str | Path], config: Config, *, use_cache: bool = True, overlay: dict[str, str] | None = None,
         edits: str | None = None, progress: Callable[[str, int, int], None] | None = None) -> Result:  # fmt: skip
    """Lint ``paths``; with ``edits`` (``"safe"`` or ``"unsafe"``) every such fix carries its textual
    edits, stored with the result so that a re-run needs no codemod."""
    return run(paths, config, use_cache=use_cache, overlay=overlay, progress=progress, fix_edits=edits,
               add_edits=_add_edits if edits else None)  # fmt: skip


def with_shown_edits(result: Result, unsafe: bool) -> Result:
    """``result`` with the edits of every fix a report shows (after the fix loop, say)."""
    return _add_edits(result, None, unsafe) if lacks_edits(result, unsafe) else result


def _add_edits(result: Result, cache: object, unsafe: bool) -> Result:
    # imported here: the fixes import libcst, which a run needs only when some fix is shown
    from bgtask_lint.fixes.apply import with_edits

    return with_edits(result, cache, unsafe=unsafe)


def print_report(result: Result, out: TextIO, render: Callable[[TextIO], None], *, variant: tuple[object, ...],
                 key: tuple[bool] | None, reuse: bool) -> None:  # fmt: skip
    """Write the report ``render`` writes; on an unchanged tree (the result came from the result cache,
    and ``key``, what decides the rendering besides ``variant``, is known) what the same run printed
    last time, byte for byte."""
    kept = result.outputs if reuse and result.outputs and result.run_key and key else None
    if kept is None:
        render(out)
        return
    name = kept.derive(result.run_key, (*variant, key))  # type: ignore[arg-type]
    text = kept.get(name)
    if not isinstance(text, str):
        target = io.StringIO()
        render(target)
        text = target.getvalue()
        kept.put(name, text)
    out.write(text)
