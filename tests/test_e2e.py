"""End-to-end tests with real parts: a real uvicorn server, a real SMTP server, the real CLI.

They prove the two claims the linter makes about runtime behaviour:

* moving the welcome e-mail into ``BackgroundTasks`` (the autofix) takes the SMTP round trip
  out of the response time, and the e-mail is still delivered;
* an ``async def`` background task that blocks (BGT202) stalls *other* requests, and a plain
  ``def`` task (run in the threadpool) does not.

Every server binds 127.0.0.1 on a free port and is stopped by the test that started it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"

SMTP_DELAY = 1.0  # seconds the SMTP server waits before accepting a message
TASK_SLEEP = 1.5  # seconds the blocking background task sleeps
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A free TCP port on loopback; skip the test if loopback cannot be bound at all."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    except OSError as exc:  # pragma: no cover - depends on the sandbox
        pytest.skip(f"cannot bind a loopback port: {exc}")


def server_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no PYTHONPATH (the app must import from its cwd)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def wait_until_answers(server: Server, path: str, timeout: float = STARTUP_TIMEOUT) -> None:
    """Poll ``path`` until the server answers with any HTTP response, or fail (bounded)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"uvicorn exited with {server.proc.returncode} before answering:\n{server.output()}"
                )
            try:
                client.get(server.url + path)
                return
            except httpx.TransportError:
                time.sleep(0.05)
    raise RuntimeError(f"uvicorn did not answer {path} within {timeout} s:\n{server.output()}")


def stop_uvicorn(server: Server) -> None:
    """Terminate, wait with a timeout, then kill."""
    proc = server.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextmanager
def uvicorn_server(app: str, cwd: Path, ready_path: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Serve ``app`` with uvicorn in a subprocess on a free loopback port until the block exits.

    The port is found by binding port 0 and closing it, so another process could take it in
    between; if uvicorn then fails with "address already in use", try another port (twice).
    """
    env = env if env is not None else server_env()
    for attempt in range(3):
        port = free_port()
        log = cwd / f".uvicorn-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(proc, port, log)
        try:
            wait_until_answers(server, ready_path)
        except RuntimeError:
            stop_uvicorn(server)
            if "address already in use" in server.output().lower() and attempt < 2:
                continue
            raise
        break
    try:
        yield server
    finally:
        stop_uvicorn(server)


def timed(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = client.request(method, url, **kwargs)
    return response, time.perf_counter() - start


def run_lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgtask_lint", "check", "--no-cache", *args],
        cwd=cwd,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------------- SMTP server


@dataclass
class SlowSMTPHandler:
    """An aiosmtpd handler that takes ``delay`` seconds to accept each message and records it."""

    delay: float
    messages: list[dict] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        # The handler runs on the controller's own event loop thread: sleep asynchronously.
        await asyncio.sleep(self.delay)
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "content": envelope.content.decode("utf8", errors="replace"),
            }
        )
        self.received.set()
        return "250 OK"


@contextmanager
def smtp_server(delay: float) -> Iterator[tuple[SlowSMTPHandler, int]]:
    handler = SlowSMTPHandler(delay)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# --------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_fix_moves_the_welcome_email_out_of_the_request(tmp_path: Path) -> None:
    # The shop's other routers need these in the server's interpreter (the `test` extra has them).
    missing = [m for m in ("sqlalchemy", "requests", "python_multipart", "aiosmtplib") if importlib.util.find_spec(m) is None]
    assert not missing, f"install the test extra: the example shop app needs {missing}"
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    users = shop / "app" / "api" / "users.py"
    before = users.read_text()
    recipient = "ada@example.com"
    body = {"email": recipient, "name": "Ada"}

    with smtp_server(SMTP_DELAY) as (handler, smtp_port):
        env = server_env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))

        # Before the fix: the handler awaits the SMTP round trip, so the client waits for it.
        with uvicorn_server("app.main:app", shop, "/openapi.json", env) as server:
            with httpx.Client(trust_env=False, timeout=10.0) as client:
                response, slow = timed(client, "POST", server.url + "/users/register", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"registered": recipient}
        assert slow >= SMTP_DELAY - 0.1, f"unfixed register took {slow:.3f} s, expected >= the SMTP delay"
        assert handler.received.wait(5.0), "the unfixed app did not deliver the e-mail"
        assert handler.messages[-1]["to"] == [recipient]
        handler.messages.clear()
        handler.received.clear()

        # The autofix.
        lint = run_lint(shop, "--fix", "--unsafe-fixes", "app/api/users.py")
        assert lint.returncode in (0, 1), lint.stdout + lint.stderr
        after = users.read_text()
        assert after != before, lint.stdout + lint.stderr
        # moved into a task, and (BGT201's fix) handed to a wrapper that logs its errors
        assert "add_task(_send_welcome_email_in_background, payload.email)" in after, after
        assert "        await send_welcome_email(*args, **kwargs)\n" in after, after
        assert "    await send_welcome_email(payload.email)" not in after, after

        # After the fix: the response goes out first, the e-mail is sent after it.
        with uvicorn_server("app.main:app", shop, "/openapi.json", env) as server:
            with httpx.Client(trust_env=False, timeout=10.0) as client:
                response, fast = timed(client, "POST", server.url + "/users/register", json=body)
                # The e-mail is now being sent after the response: other requests must not wait for it.
                _, other = timed(client, "GET", server.url + "/openapi.json")
            assert response.status_code == 200, response.text
            assert response.json() == {"registered": recipient}
            # Wait for the delivery while the server is still up (bounded poll).
            delivered = handler.received.wait(5.0)
            log = server.output()
        assert fast < 0.5, f"fixed register took {fast:.3f} s (unfixed: {slow:.3f} s)\n{log}"
        assert other < 0.5, f"a request during the background e-mail took {other:.3f} s: the task blocks the loop"
        assert delivered, f"the fixed app did not deliver the e-mail within 5 s\n{log}"
        assert [m["to"] for m in handler.messages] == [[recipient]]
        assert "Subject: Welcome to the shop" in handler.messages[0]["content"]

    print(f"\nregister: unfixed {slow:.3f} s, fixed {fast:.3f} s (SMTP delay {SMTP_DELAY} s)")


BLOCKING_TASK_APP = textwrap.dedent(
    """\
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def crunch() -> None:
        time.sleep({sleep})


    @app.post("/slow")
    async def slow(background_tasks: BackgroundTasks):
        background_tasks.add_task(crunch)
        return {{"queued": True}}


    @app.get("/ping")
    async def ping():
        return {{"pong": True}}
    """
).format(sleep=TASK_SLEEP)


def ping_after_slow(server: Server) -> float:
    """POST /slow, wait ~0.1 s, and return how long GET /ping takes."""
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        response = client.post(server.url + "/slow")
        assert response.status_code == 200, response.text
        time.sleep(0.1)
        response, elapsed = timed(client, "GET", server.url + "/ping")
        assert response.status_code == 200, response.text
        assert response.json() == {"pong": True}
    return elapsed


def bgt202_findings(cwd: Path, filename: str) -> list[dict]:
    lint = run_lint(cwd, "--output-format", "json", filename)
    assert lint.returncode in (0, 1), lint.stdout + lint.stderr
    return [d for d in json.loads(lint.stdout) if d["code"] == "BGT202"]


@pytest.mark.slow
def test_async_task_that_blocks_delays_other_requests(tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text(BLOCKING_TASK_APP)

    # async def task + time.sleep: it runs on the event loop and /ping waits for it.
    with uvicorn_server("main:app", tmp_path, "/ping") as server:
        blocked = ping_after_slow(server)
    assert blocked >= 1.0, f"/ping after /slow took {blocked:.3f} s; the blocking async task should stall it"

    findings = bgt202_findings(tmp_path, "main.py")
    assert len(findings) == 1, findings
    add_task_row = BLOCKING_TASK_APP.splitlines().index("    background_tasks.add_task(crunch)") + 1
    assert findings[0]["location"]["row"] == add_task_row

    # Plain def task: Starlette runs it in the threadpool and the loop stays free.
    main.write_text(BLOCKING_TASK_APP.replace("async def crunch", "def crunch"))
    with uvicorn_server("main:app", tmp_path, "/ping") as server:
        free = ping_after_slow(server)
    assert free < 0.5, f"/ping after /slow took {free:.3f} s with a plain def task (async task: {blocked:.3f} s)"

    assert bgt202_findings(tmp_path, "main.py") == []

    print(f"\n/ping after /slow: async task {blocked:.3f} s, def task {free:.3f} s (task sleeps {TASK_SLEEP} s)")
