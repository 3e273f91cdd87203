"""The parse requests a worker answers (summarise, check the syntax, locate findings) and the wording
of a file that cannot be parsed."""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
import warnings
from pathlib import Path

from bgtask_lint.models import FileError, ModuleFacts, ParseResult
from bgtask_lint.store import store_entry

# A request to a parser worker is a tuple whose first item says what is asked:
#   (SUMMARISE, path, data, module, is_package, cache directory or None, cache key)
#   (CHECK, path, data, module, is_package): does it parse (no facts)
#   (BATCH, ((path, data), ...)): does CPython's parser accept each of these
#   (LOCATE, path, data, ordinals): positions of the reported calls
SUMMARISE = "<summarise>"
CHECK = "<check>"
BATCH = "<batch>"
LOCATE = "<locate>"


def answer(request: tuple) -> ParseResult | tuple[bool, ...] | dict:  # type: ignore[type-arg]
    """What a worker answers to ``request`` (see above); never raises for a bad file."""
    kind = request[0]
    if kind == BATCH:
        return tuple(_parses(path, data) for path, data in request[1])
    if kind == LOCATE:
        from bgtask_lint.pipeline.locate import locate

        try:
            return locate(request[2], set(request[3]))
        except Exception as exc:  # noqa: BLE001 - reported against the file
            return ParseResult(None, FileError(request[1], f"cannot locate findings: {exc}"))
    if kind == CHECK:
        return _check_syntax(*request[1:5])
    _, path, data, module, is_package, directory, key = request
    result = _summarise(path, data, module, is_package)
    if result.facts is not None and directory and store_entry(Path(directory), key, result.facts) is None:
        return ParseResult(result.facts, stored=True)  # written here, side by side with the other workers
    return result


def _request_path(request: tuple) -> str:  # type: ignore[type-arg]
    return BATCH if request[0] == BATCH else request[1]


def _summarise(path: str, data: bytes, module: str, is_package: bool) -> ParseResult:
    from bgtask_lint.facts.summarize import (
        summarize,  # imported lazily: warm runs never load libcst
    )

    try:
        facts = summarize(data, module, path, is_package)
    except RecursionError:
        return ParseResult(None, FileError(path, "too deeply nested to analyse"))
    except MemoryError:
        return ParseResult(None, FileError(path, "too large to analyse (out of memory)"))
    except Exception as exc:  # noqa: BLE001 - any failure is reported against the file, never raised
        from libcst import ParserSyntaxError

        if isinstance(exc, (ParserSyntaxError, SyntaxError, UnicodeError)):
            return ParseResult(None, _parse_failure(path, data, exc))
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
        return ParseResult(None, FileError(path, f"internal error while analysing the file: {exc!r} at {where}"))
    return ParseResult(facts)


def _check_syntax(path: str, data: bytes, module: str, is_package: bool) -> ParseResult:
    """Whether a file that no route can reach parses: CPython's parser says yes ten times faster
    than libcst; when it says no (or is older than the code), libcst's verdict is the answer, so a
    file is reported exactly when it would be if it were summarised."""
    if _parses(path, data):
        return ParseResult(None)
    return ParseResult(None, _summarise(path, data, module, is_package).error)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (row, column) of a byte offset; the column counts bytes."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _parse_failure(path: str, data: bytes, exc: Exception) -> FileError:
    """Why ``data`` does not parse, said as precisely as the bytes allow (NUL bytes, encodings, syntax)."""
    nul = data.find(b"\0")
    if nul >= 0:
        return FileError(path, "cannot parse: the file contains a NUL byte (is it a binary file?)", *_position(data, nul))
    declared = None
    for row, line in enumerate(data.splitlines()[:2], 1):
        match = CODING.match(line)
        if match:
            declared = (match.group(1).decode("ascii", "replace"), row)
            break
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        if declared is not None and "unknown encoding" in str(err):
            return FileError(path, f"cannot parse: unknown encoding {declared[0]!r} in the coding declaration", declared[1], 1)
        encoding = "utf-8"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        row, col = _position(data, err.start)
        what = f"in the declared encoding {declared[0]!r}" if declared else "UTF-8 and there is no coding declaration"
        return FileError(path, f"cannot parse: byte 0x{data[err.start]:02x} is not valid {what}", row, col)
    except LookupError:
        pass
    # CPython's own parser usually says it better ("Missing parentheses in call to 'print'") and
    # more precisely; libcst's message stands when CPython (perhaps older than the code) is no help.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
    except SyntaxError as err:
        if err.msg and err.lineno:
            column = err.offset if isinstance(err.offset, int) and err.offset > 0 else None
            return FileError(path, f"cannot parse: {err.msg}", err.lineno, column)
    except Exception:  # noqa: BLE001 - RecursionError, MemoryError, ValueError: keep libcst's word
        pass
    return _syntax_error(path, exc)


def _syntax_error(path: str, exc: Exception) -> FileError:
    line = getattr(exc, "raw_line", None) or getattr(exc, "lineno", None)
    col = getattr(exc, "raw_column", None)
    text = str(exc)
    message = getattr(exc, "message", None) or (text.splitlines()[0] if text else type(exc).__name__)
    return FileError(path, f"cannot parse: {message}", line, (col + 1) if isinstance(col, int) else None)


def _parses(path: str, data: bytes) -> bool:
    """CPython's parser accepts ``data`` (it is about ten times faster than libcst's)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _with_path(facts: ModuleFacts, path: str) -> ModuleFacts:
    if facts.path == path:
        return facts
    from dataclasses import replace

    return replace(facts, path=path)

def _request_size(request: tuple) -> int:  # type: ignore[type-arg]
    """Roughly how many bytes sending ``request`` to a worker writes."""
    if request[0] == BATCH:
        return sum(len(data) for _, data in request[1])
    return len(request[2])
