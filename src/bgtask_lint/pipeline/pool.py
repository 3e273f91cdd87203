"""The parser processes: a pool whose workers die alone (a file that crashes or hangs the parser costs
only that file), and threads with a stack deep enough for deep syntax trees."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from bgtask_lint.models import FileError, ParseResult
from bgtask_lint.pipeline.parse import BATCH, _request_path, _request_size, answer


class UsageError(ValueError):
    """A bad setting outside the config file (an environment variable); the CLI exits 2 with the message."""


_DONE = object()

#: The workers of the current run (see :func:`workers`), kept between the requests of one run.
_SESSION: list[tuple[BaseProcess, Connection]] | None = None


@contextlib.contextmanager
def workers() -> Iterator[None]:
    """Keep the parser processes of one run alive from the first request to the last (summaries,
    checks, positions), instead of starting new ones for each: a worker's start-up (importing
    libcst) costs as much as parsing a few thousand lines."""
    global _SESSION
    outer = _SESSION
    _SESSION = [] if outer is None else outer
    try:
        yield
    finally:
        if outer is None:
            for proc, conn in _SESSION:
                _WorkerPool._retire(proc, conn, gentle=True)
            _SESSION = None


def workers_running() -> bool:
    """This run has parser processes alive (one request to them costs no start-up)."""
    return bool(_SESSION)


def prestart() -> None:
    """Start the run's workers now (one per core), so that their start-up overlaps with reading
    and scanning the tree; only in a :func:`workers` session, and only once."""
    if _SESSION is None or _SESSION:
        return
    try:
        _SESSION.extend(_WorkerPool(os.cpu_count() or 1, parse_timeout()).start())
    except OSError:
        pass  # the first request tries again, or parses without workers


#: Told of parsing as it goes: ``(files parsed so far, files to parse)``.
Progress = Callable[[int, int], None]


def parse_all(todo: list[tuple], jobs: int | None, meanwhile: Iterator[object] | None = None,  # type: ignore[type-arg]
              progress: Progress | None = None) -> list:  # type: ignore[type-arg]  # fmt: skip
    """Parse in worker processes, so that a file that crashes the native parser (deep nesting
    overflows its stack) or runs too long (quadratic operator chains) costs only that file.

    ``meanwhile`` is advanced one step at a time while no answer is waiting (it may be left unfinished);
    ``progress`` is told how many files are done after each answer."""
    if not todo:
        return []
    size = max(1, min(jobs if jobs is not None else (os.cpu_count() or 1), len(todo)))
    pool = _WorkerPool(size, parse_timeout())
    try:
        idle = _SESSION if _SESSION else pool.start()
    except OSError:  # no processes to be had at all: parse here, without the safety net
        return [answer(t) for t in todo]
    if _SESSION is not None and not _SESSION:
        _SESSION.extend(idle)
    return pool.run(todo, idle, keep=_SESSION, meanwhile=meanwhile, progress=progress)


#: Not a limit on what is linted (``max-file-size`` is, and it is the same on every machine): a guard
#: against a parser that never returns. A file at the default size limit parses in a few seconds, so
#: only a hung parse meets it, however busy the machine.
PARSE_TIMEOUT = 300.0
TIMEOUT_ENV = "BGTASK_LINT_PARSE_TIMEOUT"


def parse_timeout() -> float:
    """Seconds one file may take to parse: ``BGTASK_LINT_PARSE_TIMEOUT``, else ``PARSE_TIMEOUT``."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return PARSE_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


def _detach_from_parent(parent: int) -> None:
    """Die with the parent (a killed lint must not leave parsers running for minutes), and be the
    first process the kernel's OOM killer picks: a parse that eats memory costs only its file."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - best effort
            pass
        try:
            with open("/proc/self/oom_score_adj", "w") as fh:
                fh.write("1000")
        except OSError:
            pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(0)


# --------------------------------------------------------------------------- deep syntax trees
#
# libcst's visitors recurse once per tree level, so Python's default recursion limit (1000) stops
# at a few hundred `elif`s or `+` terms, code that real projects contain. Parsing workers and the
# main process's position lookup raise the limit to DEEP_RECURSION_LIMIT, in a thread with a stack
# sized for it. The worker's stack is smaller than the main thread's (3/4 of it): libcst's native
# parser then overflows in a worker (a reported crash) before it could in the main process, where
# fixes parse files again. The main process's lookup gets a much larger stack than the worker had,
# so a tree the worker walked cannot overflow it either.

DEEP_RECURSION_LIMIT = 10_000
DEEP_SUPPORTED = sys.platform != "win32"


def main_stack_bytes() -> int:
    """The main thread's stack size: RLIMIT_STACK's soft limit, 8 MB when unlimited or unknown."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
        if soft != resource.RLIM_INFINITY and soft > 0:
            return int(soft)
    except (ImportError, ValueError, OSError):
        pass
    return 8 * 1024 * 1024


def worker_stack_bytes() -> int:
    return max(256 * 1024, main_stack_bytes() * 3 // 4)


def lookup_stack_bytes() -> int:
    """For walking, in the main process, trees a worker has walked: far more stack than it had."""
    return max(64 * 1024 * 1024, main_stack_bytes() * 4)


def run_deep(fn, *args, stack_bytes: int):  # type: ignore[no-untyped-def]
    """``fn(*args)`` in a new thread with ``stack_bytes`` of stack and the recursion limit raised to
    ``DEEP_RECURSION_LIMIT`` for the call (the limit is per interpreter: the caller just waits)."""
    import threading

    if not DEEP_SUPPORTED:
        return fn(*args)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    try:
        previous = threading.stack_size(stack_bytes)
    except (ValueError, RuntimeError):  # the platform refuses this size: run as before
        return fn(*args)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEEP_RECURSION_LIMIT))
    try:
        try:
            thread = threading.Thread(target=target, name="bgtask-lint-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def _worker_main(conn: Connection, parent: int) -> None:
    _detach_from_parent(parent)
    stack = worker_stack_bytes()
    try:  # libcst's import is the bulk of a worker's start-up: done while the first request is prepared
        import bgtask_lint.facts.summarize  # noqa: F401
    except Exception:  # noqa: BLE001 - the first request reports whatever is wrong
        pass
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            conn.send(run_deep(answer, item, stack_bytes=stack))
        except (EOFError, OSError):
            return


#: Requests a worker may hold at once (the one it parses and the next), and the largest request
#: sent ahead: one that fits in the pipe's buffer, so that sending it never blocks.
PIPELINE_DEPTH = 2
PIPELINE_BYTES = 48 * 1024


@dataclass
class _Flight:
    proc: BaseProcess
    jobs: deque[int]  # requests sent, the one being parsed first
    since: float  # when the first of ``jobs`` started


class _WorkerPool:
    """Long-lived workers fed one file at a time; a worker that dies or overruns is replaced."""

    SEND_ATTEMPTS = 3

    def __init__(self, size: int, timeout: float) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.timeout = timeout

    def _spawn(self) -> tuple[BaseProcess, Connection]:
        parent, child = self.ctx.Pipe()
        try:
            proc = self.ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
            proc.start()
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        return proc, parent

    def start(self) -> list[tuple[BaseProcess, Connection]]:
        """The first workers; raises OSError only when not even one process can be started."""
        workers = [self._spawn()]
        for _ in range(self.size - 1):
            try:
                workers.append(self._spawn())
            except OSError:
                break  # fewer workers, same safety
        return workers

    def run(self, todo: list[tuple], idle: list[tuple[BaseProcess, Connection]] | None = None,  # type: ignore[type-arg]
            keep: list[tuple[BaseProcess, Connection]] | None = None,
            meanwhile: Iterator[object] | None = None, progress: Progress | None = None) -> list:  # type: ignore[type-arg]
        """Each request's answer, in order. A worker gets a second request while it works on one when
        that request fits in the pipe's buffer, so it never waits for the next file; a larger one
        waits until the worker is free (sending it could block, and a hung parse would block us)."""
        results: list = [None] * len(todo)
        sizes = [_request_size(t) for t in todo]
        pending = deque(range(len(todo)))
        flights: dict[Connection, _Flight] = {}
        for proc, conn in idle if idle is not None else self.start():
            flights[conn] = _Flight(proc, deque(), 0.0)
        attempts = [0] * len(todo)
        files = [len(t[1]) if t[0] == BATCH else 1 for t in todo]
        total, done = sum(files), 0
        try:
            while pending or any(f.jobs for f in flights.values()):
                for conn, flight in list(flights.items()):
                    while pending and (not flight.jobs or (len(flight.jobs) < PIPELINE_DEPTH
                                                           and sizes[pending[0]] <= PIPELINE_BYTES)):  # fmt: skip
                        i = pending.popleft()
                        try:
                            conn.send(todo[i])
                        except (OSError, ValueError):  # the worker is gone: try the request elsewhere
                            attempts[i] += 1
                            if attempts[i] < self.SEND_ATTEMPTS:
                                pending.appendleft(i)
                            else:
                                results[i] = ParseResult(None, FileError(_request_path(todo[i]), "could not hand the file to a parser process"))
                            self._lose(conn, flights, pending)
                            break
                        if not flight.jobs:
                            flight.since = time.monotonic()
                        flight.jobs.append(i)
                active = {conn: f for conn, f in flights.items() if f.jobs}
                if not active:
                    if pending and not flights:
                        for i in pending:  # not one worker could be (re)started
                            results[i] = ParseResult(None, FileError(_request_path(todo[i]), "no parser process could be started"))
                        break
                    continue
                waiting = [*active, *(f.proc.sentinel for f in active.values())]
                ready = wait(waiting, timeout=0) if meanwhile is not None else wait(waiting, timeout=0.2)
                if not ready and meanwhile is not None and next(meanwhile, _DONE) is _DONE:
                    meanwhile = None
                now = time.monotonic()
                for conn, flight in active.items():
                    head = flight.jobs[0]
                    path = _request_path(todo[head])
                    if conn in ready or conn.poll():
                        try:
                            results[head] = conn.recv()
                        except (EOFError, OSError):
                            results[head] = ParseResult(None, FileError(path, _crash(flight.proc)))
                            flight.jobs.popleft()
                            self._lose(conn, flights, pending)
                            continue
                        flight.jobs.popleft()
                        flight.since = now
                        if progress is not None:
                            done += files[head]
                            progress(done, total)
                    elif not flight.proc.is_alive():
                        results[head] = ParseResult(None, FileError(path, _crash(flight.proc)))
                        flight.jobs.popleft()
                        self._lose(conn, flights, pending)
                    elif now - flight.since > self.timeout:
                        results[head] = ParseResult(None, FileError(path, (
                            f"parsing did not finish in {self.timeout:g} s and was stopped; please report it "
                            f"(exclude the file with `extend-exclude` meanwhile)")))  # fmt: skip
                        flight.jobs.popleft()
                        self._lose(conn, flights, pending)
        finally:
            if keep is not None:  # the live, idle workers stay for the run's next request
                keep[:] = [(f.proc, conn) for conn, f in flights.items() if not f.jobs and f.proc.is_alive()]
            for conn, flight in flights.items():
                if keep is None or (flight.proc, conn) not in keep:
                    self._retire(flight.proc, conn, gentle=not flight.jobs)
        return [r if r is not None else ParseResult(None, FileError(_request_path(todo[i]), "the file was not parsed"))
                for i, r in enumerate(results)]

    def _lose(self, conn: Connection, flights: dict[Connection, _Flight], pending: deque[int]) -> None:
        """Retire a dead, hung or unreachable worker; the requests it had not started go back to the
        front of the queue, and a new worker takes its place."""
        flight = flights.pop(conn)
        pending.extendleft(reversed(flight.jobs))
        self._retire(flight.proc, conn)
        try:
            proc, new = self._spawn()
        except OSError:
            return  # fewer workers; run() reports the files left when no worker is left
        flights[new] = _Flight(proc, deque(), 0.0)

    @staticmethod
    def _retire(proc: BaseProcess, conn: Connection, gentle: bool = False) -> None:
        if gentle and proc.is_alive():
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            proc.join(timeout=1)
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()


def _crash(proc: BaseProcess) -> str:
    proc.join(timeout=1)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"the parser process was killed ({name}); out of memory?"
        return f"the parser crashed ({name}); the file is probably too deeply nested"
    return f"the parser process died (exit code {code})"
