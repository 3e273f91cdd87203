"""The slow-call catalogue: what it classifies, what it must leave alone, and how patterns match.

The reference lists below are literal data copied from the two tools whose blocking-call rules
the catalogue must cover; neither tool is needed to run these tests.
"""

from __future__ import annotations

import pytest

from bgtask_lint.analysis.calls import (
    CACHE,
    CANONICAL,
    CATALOGUE,
    CATEGORIES,
    DB,
    EMAIL,
    FILE,
    HTTP,
    INPUT,
    PAYMENT,
    SLEEP,
    SUBPROCESS,
    CallKind,
    Cost,
)
from bgtask_lint.analysis.matching import build_catalogue, canonical, default_catalogue

# --------------------------------------------------------------------------- reference lists
# flake8-async 26.8.1, module flake8_async/visitors/visitor2xx.py (Visitor21X, Visitor212,
# Visitor22X, Visitor23X, Visitor232, Visitor24X, Visitor25X). "X()" is an instance of X, as in
# the catalogue; where flake8-async flags *every* method of a class (ASYNC212's urllib3 classes,
# ASYNC232's file types) the list names the methods that do the I/O.
_F8A_HTTP_METHODS = ("get", "options", "head", "post", "put", "patch", "delete", "request")
_F8A_HTTPX_CLIENT_METHODS = (
    "close", "delete", "get", "head", "options", "patch", "post", "put", "request", "send", "stream",
)  # fmt: skip
_F8A_URLLIB3_CLASSES = (
    "urllib3.HTTPConnectionPool", "urllib3.HTTPSConnectionPool", "urllib3.PoolManager", "urllib3.ProxyManager",
    "urllib3.connectionpool.ConnectionPool", "urllib3.connectionpool.HTTPConnectionPool",
    "urllib3.connectionpool.HTTPSConnectionPool", "urllib3.poolmanager.PoolManager",
    "urllib3.poolmanager.ProxyManager", "urllib3.request.RequestMethods",
)  # fmt: skip
_F8A_FILE_TYPES = ("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom", "open")
_FILE_IO_METHODS = ("read", "readline", "readlines", "write", "writelines", "flush", "seek", "truncate", "close")

FLAKE8_ASYNC: dict[str, tuple[str, tuple[str, ...]]] = {
    "ASYNC210": (HTTP, (
        *(f"{b}.{m}" for b in ("requests", "httpx", "httpx2") for m in _F8A_HTTP_METHODS),
        "urllib3.request", "urllib.request.urlopen", "request.urlopen", "urlopen",
    )),
    # ASYNC211: ``x.request("GET", ...)`` anywhere urllib3 is imported, i.e. urllib3's pools.
    "ASYNC211": (HTTP, tuple(f"{c}().{m}" for c in _F8A_URLLIB3_CLASSES for m in ("request", "urlopen"))),
    "ASYNC212": (HTTP, (
        *(f"{c}().{m}" for c in ("httpx.Client", "httpx2.Client") for m in _F8A_HTTPX_CLIENT_METHODS),
        *(f"{c}().{m}" for c in _F8A_URLLIB3_CLASSES
          for m in ("request", "urlopen", "request_encode_url", "request_encode_body")),
    )),
    "ASYNC220": (SUBPROCESS, ("subprocess.Popen", "os.popen")),
    "ASYNC221": (SUBPROCESS, (
        "os.system", "os.posix_spawn", "os.posix_spawnp",
        "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
        "subprocess.getoutput", "subprocess.getstatusoutput",
        "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp",
        "os.spawnvpe",
    )),
    "ASYNC222": (SUBPROCESS, ("os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid")),
    "ASYNC230": (FILE, ("builtins.open", "open", "io.open", "io.open_code")),
    "ASYNC231": (FILE, ("os.fdopen",)),
    "ASYNC232": (FILE, tuple(f"{t}().{m}" for t in _F8A_FILE_TYPES for m in _FILE_IO_METHODS)),
    "ASYNC240": (FILE, tuple(f"os.path.{f}" for f in (
        "_path_normpath", "normpath", "_joinrealpath", "islink", "lexists", "ismount", "realpath", "exists",
        "isdir", "isfile", "getatime", "getctime", "getmtime", "getsize", "samefile", "sameopenfile", "relpath",
    ))),
    "ASYNC250": (INPUT, ("input", "builtins.input")),
    "ASYNC251": (SLEEP, ("time.sleep",)),
}  # fmt: skip

# ruff 0.17.6, rules in crates/ruff_linter/src/rules/flake8_async/rules/: blocking_http_call.rs
# (ASYNC210 blocking-http-call-in-async-function), blocking_http_call_httpx.rs (ASYNC212
# blocking-http-call-httpx-in-async-function), blocking_process_invocation.rs (ASYNC220
# create-subprocess-, ASYNC221 run-process-, ASYNC222 wait-for-process-in-async-function),
# blocking_open_call.rs (ASYNC230 blocking-open-call-in-async-function), blocking_path_methods.rs
# (ASYNC240 blocking-path-method-in-async-function), blocking_input.rs (ASYNC250
# blocking-input-in-async-function) and blocking_sleep.rs (ASYNC251
# blocking-sleep-in-async-function). Taken from the rule sources and checked against what ruff
# 0.17.6 reports. Its ASYNC240 flags every os.path function and pathlib method outside an
# allow-list of pure ones; the lists below are the real stdlib functions and methods it flags
# (up to Python 3.14), on any of pathlib's six path classes.
_RUFF_PATH_CLASSES = (
    "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
)  # fmt: skip
_RUFF_PATH_METHODS = (
    "absolute", "chmod", "copy", "copy_into", "cwd", "exists", "expanduser", "from_uri", "full_match", "glob",
    "group", "hardlink_to", "home", "info", "is_block_device", "is_char_device", "is_dir", "is_fifo", "is_file",
    "is_junction", "is_mount", "is_socket", "is_symlink", "iterdir", "lchmod", "link_to", "lstat", "mkdir",
    "move", "move_into", "owner", "read_bytes", "read_text", "readlink", "rename", "replace", "resolve", "rglob",
    "rmdir", "samefile", "stat", "symlink_to", "touch", "unlink", "walk", "write_bytes", "write_text",
)  # fmt: skip

RUFF: dict[str, tuple[str, tuple[str, ...]]] = {
    "ASYNC210": (HTTP, (
        "urllib.request.urlopen", "urllib3.request",
        *(f"{b}.{m}" for b in ("httpx", "requests") for m in (
            "get", "post", "delete", "patch", "put", "head", "connect", "options", "trace", "request",
        )),
    )),
    "ASYNC212": (HTTP, tuple(f"httpx.Client().{m}" for m in (
        "close", "delete", "get", "head", "options", "patch", "post", "put", "request", "send", "stream",
    ))),
    "ASYNC220": (SUBPROCESS, ("subprocess.Popen", "os.popen")),
    "ASYNC221": (SUBPROCESS, (
        "os.system", "os.posix_spawn", "os.posix_spawnp", "subprocess.run", "subprocess.call",
        "subprocess.check_call", "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput",
        "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp",
        "os.spawnvpe",
    )),
    "ASYNC222": (SUBPROCESS, ("os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid")),
    "ASYNC230": (FILE, ("open", "builtins.open", "io.open", "io.open_code", "pathlib.Path().open")),
    "ASYNC240": (FILE, (
        *(f"os.path.{f}" for f in (
            "abspath", "exists", "expanduser", "getatime", "getctime", "getmtime", "getsize", "isdevdrive",
            "isdir", "isfile", "isjunction", "islink", "ismount", "isreserved", "lexists", "normpath",
            "realpath", "relpath", "samefile", "sameopenfile",
        )),
        *(f"{c}().{m}" for c in _RUFF_PATH_CLASSES for m in _RUFF_PATH_METHODS),
    )),
    "ASYNC250": (INPUT, ("input", "builtins.input")),
    "ASYNC251": (SLEEP, ("time.sleep",)),
}  # fmt: skip

#: Reference names the catalogue leaves out on purpose, with the reason. Each must really be in a
#: reference list above and must classify to None.
_PATH_NOT_IO = "path arithmetic or a cwd/$HOME lookup, no disk I/O"
DELIBERATELY_UNCLASSIFIED: dict[str, str] = {
    "os.path.normpath": _PATH_NOT_IO,
    "os.path._path_normpath": _PATH_NOT_IO + " (private C normpath)",
    "os.path.relpath": _PATH_NOT_IO,
    "os.path.abspath": _PATH_NOT_IO,
    "os.path.expanduser": _PATH_NOT_IO,
    "os.path.isreserved": "a check of the name against Windows' reserved names",
    "os.path._joinrealpath": "private helper of os.path.realpath (which is catalogued)",
    **{f"{c}().{m}": _PATH_NOT_IO for c in _RUFF_PATH_CLASSES for m in ("absolute", "expanduser", "cwd", "home")},
    **{f"{c}().{m}": "pure: ruff flags any method outside its allow-list"
       for c in _RUFF_PATH_CLASSES for m in ("full_match", "from_uri")},
    **{f"{c}().info": "a property (Python 3.14), never called" for c in _RUFF_PATH_CLASSES},
    "request.urlopen": "flake8-async's fallback for an unresolved import; resolved, it is urllib.request.urlopen",
    "urlopen": "flake8-async's fallback for an unresolved import; resolved, it is urllib.request.urlopen",
    **{f"{b}.{m}": "no such function; ruff lists it" for b in ("requests", "httpx") for m in ("connect", "trace")},
}  # fmt: skip


def _reference_cases() -> list[object]:
    cases = []
    for tool, table in (("flake8-async", FLAKE8_ASYNC), ("ruff", RUFF)):
        for code, (category, names) in table.items():
            for name in names:
                if name not in DELIBERATELY_UNCLASSIFIED:
                    cases.append(pytest.param(name, category, id=f"{tool} {code} {name}"))
    return cases


ALL_REFERENCE_NAMES = {name for table in (FLAKE8_ASYNC, RUFF) for _, names in table.values() for name in names}


@pytest.mark.parametrize(("name", "category"), _reference_cases())
def test_catalogue_covers_flake8_async_and_ruff(name: str, category: str) -> None:
    kind = default_catalogue().classify(name)
    assert kind is not None and (kind.category, kind.sync) == (category, True), f"{name} -> {kind}"


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=f"{n}: {why}") for n, why in DELIBERATELY_UNCLASSIFIED.items()]
)
def test_deliberate_gaps_are_real_and_unclassified(name: str) -> None:
    assert name in ALL_REFERENCE_NAMES, "not in any reference list: drop it from DELIBERATELY_UNCLASSIFIED"
    assert default_catalogue().classify(name) is None


# --------------------------------------------------------------------------- positives
POSITIVES = [
    # e-mail
    pytest.param("smtplib.SMTP().send_message", EMAIL, True, id="smtplib send_message"),
    pytest.param("smtplib.SMTP_SSL().login", EMAIL, True, id="smtplib SSL login"),
    pytest.param("fastapi_mail.FastMail().send_message", EMAIL, False, id="fastapi-mail send_message"),
    pytest.param("fastapi_mail.fastmail.FastMail().send_message", EMAIL, False, id="fastapi-mail via its module"),
    pytest.param("aiosmtplib.send", EMAIL, False, id="aiosmtplib.send"),
    pytest.param("aiosmtplib.SMTP().send_message", EMAIL, False, id="aiosmtplib client send_message"),
    pytest.param("sendgrid.SendGridAPIClient().send", EMAIL, True, id="sendgrid send"),
    pytest.param("sendgrid.SendGridAPIClient().client.mail.send.post", EMAIL, True, id="sendgrid raw client post"),
    pytest.param("sendgrid.sendgrid.SendGridAPIClient().send", EMAIL, True, id="sendgrid via its module"),
    pytest.param("resend.Emails.send", EMAIL, True, id="resend send"),
    pytest.param("resend.Emails.send_async", EMAIL, False, id="resend send_async"),
    pytest.param("boto3.client().send_email", EMAIL, True, id="SES send_email beats the boto3 wildcard"),
    pytest.param("boto3.session.Session().client().send_raw_email", EMAIL, True, id="SES via boto3 session"),
    pytest.param("aioboto3.Session().client().send_email", EMAIL, False, id="aioboto3 SES send_email"),
    # network
    pytest.param("requests.get", HTTP, True, id="requests.get"),
    pytest.param("requests.Session().post", HTTP, True, id="requests Session post"),
    pytest.param("requests.session().get", HTTP, True, id="requests.session() alias"),
    pytest.param("requests.sessions.Session().send", HTTP, True, id="requests Session send via module"),
    pytest.param("httpx.post", HTTP, True, id="httpx.post"),
    pytest.param("httpx.stream", HTTP, True, id="httpx.stream"),
    pytest.param("httpx.Client().get", HTTP, True, id="httpx Client get"),
    pytest.param("httpx._client.Client().send", HTTP, True, id="httpx Client via private module"),
    pytest.param("httpx.AsyncClient().get", HTTP, False, id="httpx AsyncClient get"),
    pytest.param("httpx2.AsyncClient().post", HTTP, False, id="httpx2 AsyncClient post"),
    pytest.param("aiohttp.ClientSession().get", HTTP, False, id="aiohttp session get"),
    pytest.param("aiohttp.request", HTTP, False, id="aiohttp.request"),
    pytest.param("urllib3.PoolManager().request", HTTP, True, id="urllib3 PoolManager request"),
    pytest.param("http.client.HTTPSConnection().getresponse", HTTP, True, id="http.client getresponse"),
    pytest.param("urllib.request.urlopen", HTTP, True, id="urlopen"),
    pytest.param("boto3.client().put_object", HTTP, True, id="boto3 client call"),
    pytest.param("boto3.resource().Bucket().upload_file", HTTP, True, id="boto3 resource action"),
    pytest.param("boto3.resource().Table().put_item", HTTP, True, id="dynamodb put_item"),
    pytest.param("botocore.client.BaseClient().get_object", HTTP, True, id="botocore client"),
    pytest.param("aioboto3.Session().client().put_object", HTTP, False, id="aioboto3 client call"),
    pytest.param("slack_sdk.WebClient().chat_postMessage", HTTP, True, id="slack WebClient"),
    pytest.param("slack_sdk.web.client.WebClient().chat_postMessage", HTTP, True, id="slack WebClient via module"),
    pytest.param("slack_sdk.web.async_client.AsyncWebClient().chat_postMessage", HTTP, False, id="slack async"),
    pytest.param("twilio.rest.Client().messages.create", HTTP, True, id="twilio messages.create"),
    pytest.param("stripe.Customer.create", PAYMENT, True, id="stripe Customer.create"),
    pytest.param("stripe.checkout.Session.create", PAYMENT, True, id="stripe checkout Session.create"),
    pytest.param("stripe.PaymentIntent.retrieve_async", PAYMENT, False, id="stripe async method"),
    pytest.param("stripe.StripeClient().v1.customers.create", PAYMENT, True, id="stripe client"),
    # files
    pytest.param("open", FILE, True, id="open"),
    pytest.param("open().read", FILE, True, id="file object read"),
    pytest.param("io.open().write", FILE, True, id="io.open file write"),
    pytest.param("pathlib.Path().read_text", FILE, True, id="Path.read_text"),
    pytest.param("pathlib.Path().open().write", FILE, True, id="Path.open() file write"),
    pytest.param("os.path.exists", FILE, True, id="os.path.exists"),
    pytest.param("os.remove", FILE, True, id="os.remove"),
    pytest.param("shutil.copyfileobj", FILE, True, id="shutil.copyfileobj"),
    pytest.param("shutil.rmtree", FILE, True, id="shutil.rmtree"),
    pytest.param("aiofiles.open", FILE, False, id="aiofiles.open"),
    pytest.param("aiofiles.open().write", FILE, False, id="aiofiles file write"),
    pytest.param("aiofiles.os.remove", FILE, False, id="aiofiles.os.remove"),
    pytest.param("anyio.open_file", FILE, False, id="anyio.open_file"),
    pytest.param("anyio.Path().read_text", FILE, False, id="anyio Path read_text"),
    # processes, pauses, input
    pytest.param("subprocess.run", SUBPROCESS, True, id="subprocess.run"),
    pytest.param("asyncio.create_subprocess_exec", SUBPROCESS, False, id="asyncio subprocess"),
    pytest.param("time.sleep", SLEEP, True, id="time.sleep"),
    pytest.param("asyncio.sleep", SLEEP, False, id="asyncio.sleep is async"),
    pytest.param("input", INPUT, True, id="input"),
    # databases
    pytest.param("sqlite3.connect", DB, True, id="sqlite3.connect"),
    pytest.param("sqlite3.connect().execute", DB, True, id="sqlite3 connection execute"),
    pytest.param("sqlite3.connect().cursor().fetchall", DB, True, id="sqlite3 cursor fetchall"),
    pytest.param("psycopg2.connect().cursor().execute", DB, True, id="psycopg2 cursor execute"),
    pytest.param("psycopg.connect().execute", DB, True, id="psycopg3 execute"),
    pytest.param("pymysql.connect().cursor().execute", DB, True, id="pymysql cursor execute"),
    pytest.param("pymongo.MongoClient().shop.orders.find_one", DB, True, id="pymongo find_one"),
    pytest.param("motor.motor_asyncio.AsyncIOMotorClient().shop.orders.insert_one", DB, False, id="motor insert"),
    pytest.param("asyncpg.connect().fetch", DB, False, id="asyncpg fetch"),
    pytest.param("redis.Redis().get", CACHE, True, id="redis get"),
    pytest.param("redis.from_url().set", CACHE, True, id="redis.from_url() set"),
    pytest.param("redis.Redis().pipeline().execute", CACHE, True, id="redis pipeline execute"),
    pytest.param("redis.asyncio.Redis().get", CACHE, False, id="redis.asyncio get"),
    pytest.param("redis.asyncio.from_url().publish", CACHE, False, id="redis.asyncio.from_url() publish"),
    # SQLAlchemy / SQLModel
    *(pytest.param(f"sqlalchemy.orm.Session().{m}", DB, True, id=f"Session.{m}")
      for m in ("execute", "scalars", "scalar", "get", "commit", "flush", "refresh")),
    *(pytest.param(f"sqlalchemy.orm.Session().query().{m}", DB, True, id=f"Session.query().{m}")
      for m in ("first", "all", "one", "one_or_none", "count", "scalar")),
    pytest.param("sqlalchemy.orm.Session().query().filter().order_by().first", DB, True, id="query chain .first"),
    *(pytest.param(f"sqlmodel.Session().exec().{m}", DB, True, id=f"sqlmodel exec().{m}")
      for m in ("first", "all", "one")),
    pytest.param("sqlmodel.Session().exec", DB, True, id="sqlmodel exec"),
    pytest.param("sqlalchemy.orm.sessionmaker()().commit", DB, True, id="sessionmaker() instance commit"),
    pytest.param("sqlalchemy.create_engine().connect().execute", DB, True, id="engine connection execute"),
    pytest.param("sqlalchemy.ext.asyncio.AsyncSession().execute", DB, False, id="AsyncSession execute"),
    pytest.param("sqlalchemy.ext.asyncio.AsyncSession().commit", DB, False, id="AsyncSession commit"),
    pytest.param("sqlmodel.ext.asyncio.session.AsyncSession().exec", DB, False, id="sqlmodel AsyncSession exec"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "category", "sync"), POSITIVES)
def test_positive(name: str, category: str, sync: bool) -> None:
    kind = default_catalogue().classify(name)
    assert kind is not None and (kind.category, kind.sync) == (category, sync)


COSTS = [
    *(pytest.param(name, Cost.FILE_METADATA, id=f"{name} is file metadata") for name in (
        "os.path.exists", "os.path.getsize", "os.remove", "os.makedirs", "os.rename", "os.listdir",
        "pathlib.Path().is_dir", "pathlib.Path().stat", "pathlib.Path().unlink", "pathlib.Path().mkdir",
        "shutil.which", "tempfile.mkstemp", "tempfile.NamedTemporaryFile", "open().close", "open().seek",
        "glob.glob",
    )),
    *(pytest.param(name, Cost.FILE_DATA, id=f"{name} is file data") for name in (
        "open", "open().read", "open().write", "pathlib.Path().read_text", "pathlib.Path().write_bytes",
        "shutil.copyfile", "shutil.copytree", "shutil.rmtree", "shutil.make_archive", "zipfile.ZipFile().extractall",
        "json.dump", "os.walk", "tempfile.NamedTemporaryFile().write",
    )),
    pytest.param("socket.getaddrinfo", Cost.DNS, id="getaddrinfo is DNS"),
    pytest.param("socket.create_connection", Cost.NETWORK, id="create_connection is network"),
    pytest.param("requests.get", Cost.NETWORK, id="requests is network"),
    pytest.param("smtplib.SMTP().send_message", Cost.EMAIL, id="smtplib is e-mail"),
    pytest.param("sqlalchemy.orm.Session().execute", Cost.DATABASE, id="Session.execute is database"),
    pytest.param("redis.Redis().get", Cost.CACHE, id="redis is cache"),
    pytest.param("subprocess.run", Cost.SUBPROCESS, id="subprocess is subprocess"),
    pytest.param("time.sleep", Cost.SLEEP, id="time.sleep is sleep"),
    pytest.param("stripe.Customer.create", Cost.NETWORK, id="a payment call is network"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "cost"), COSTS)
def test_every_entry_has_a_cost_class(name: str, cost: Cost) -> None:
    kind = default_catalogue().classify(name)
    assert kind is not None and kind.cost is cost, f"{name} -> {kind}"


def test_cost_classes_are_ordered_as_witnesses_are_chosen() -> None:
    assert Cost.FILE_METADATA < Cost.FILE_DATA < Cost.DATABASE < Cost.SUBPROCESS < Cost.NETWORK < Cost.EMAIL
    assert all(kind.cost is not None for kind in CATALOGUE.values())


# --------------------------------------------------------------------------- negatives
NEGATIVES = [
    *(pytest.param(f"os.path.{f}", id=f"os.path.{f} is string work")
      for f in ("join", "basename", "dirname", "splitext", "normpath", "abspath", "relpath", "expanduser")),
    *(pytest.param(f"pathlib.Path().{m}", id=f"Path().{m} is path arithmetic")
      for m in ("name", "suffix", "parent", "joinpath", "with_suffix", "expanduser", "absolute", "as_posix",
                "relative_to", "cwd", "home")),
    pytest.param("pathlib.Path", id="Path constructor"),
    pytest.param("pathlib.Path.cwd", id="Path.cwd"),
    pytest.param("anyio.Path().joinpath", id="anyio Path joinpath is sync and pure"),
    pytest.param("requests.Session", id="requests.Session constructor"),
    pytest.param("requests.Session().mount", id="requests Session mount"),
    pytest.param("httpx.AsyncClient", id="httpx.AsyncClient constructor"),
    pytest.param("httpx.Client", id="httpx.Client constructor"),
    pytest.param("aiosmtplib.SMTP", id="aiosmtplib SMTP constructor"),
    *(pytest.param(f"sqlalchemy.orm.Session().{m}", id=f"Session.{m} only stages work")
      for m in ("add", "add_all", "expunge", "delete", "query")),
    pytest.param("sqlalchemy.orm.Session().query().filter", id="Session.query().filter builds a query"),
    pytest.param("sqlalchemy.orm.Session().query().filter().order_by", id="query().filter().order_by"),
    pytest.param("sqlmodel.Session().add", id="sqlmodel Session.add"),
    pytest.param("sqlalchemy.ext.asyncio.AsyncSession().add", id="AsyncSession.add is sync and local"),
    pytest.param("sqlalchemy.select", id="sqlalchemy.select"),
    pytest.param("sqlmodel.select", id="sqlmodel.select"),
    pytest.param("sqlite3.connect().cursor", id="DB-API cursor() is client-side"),
    pytest.param("redis.Redis", id="redis constructor"),
    pytest.param("redis.Redis().pipeline", id="redis pipeline() buffers"),
    pytest.param("logging.info", id="logging.info"),
    pytest.param("logging.getLogger().warning", id="logger.warning"),
    pytest.param("json.dumps", id="json.dumps"),
    pytest.param("json.loads", id="json.loads"),
    pytest.param("boto3.client", id="boto3.client constructor"),
    pytest.param("boto3.client().generate_presigned_url", id="boto3 presigned URL is signed locally"),
    pytest.param("boto3.client().get_paginator", id="boto3 get_paginator"),
    pytest.param("boto3.client().meta.events.register", id="boto3 client meta"),
    pytest.param("boto3.resource().Bucket", id="boto3 Bucket handle"),
    pytest.param("boto3.resource().Bucket().Object", id="boto3 Object handle"),
    pytest.param("boto3.resource().Table", id="dynamodb Table handle"),
    pytest.param("stripe.Webhook.construct_event", id="stripe webhook verification is local"),
    pytest.param("stripe.StripeClient().construct_event", id="stripe client construct_event"),
    pytest.param("sentry_sdk.capture_message", id="sentry queues events for its own thread"),
    pytest.param("fastapi.BackgroundTasks().add_task", id="add_task"),
    pytest.param("print", id="print"),
    pytest.param("mycorp.thing", id="unknown name"),
]  # fmt: skip


@pytest.mark.parametrize("name", NEGATIVES)
def test_negative(name: str) -> None:
    assert default_catalogue().classify(name) is None


# --------------------------------------------------------------------------- canonical names
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("sqlmodel.Session", "sqlalchemy.orm.Session", id="sqlmodel Session"),
        pytest.param("sqlmodel.Session().exec", "sqlalchemy.orm.Session().exec", id="sqlmodel Session method"),
        pytest.param("sqlalchemy.orm.session.Session().get", "sqlalchemy.orm.Session().get", id="orm.session"),
        pytest.param("sqlalchemy.orm.sessionmaker()()", "sqlalchemy.orm.Session()", id="sessionmaker() instance"),
        pytest.param(
            "sqlalchemy.orm.sessionmaker()().query().first",
            "sqlalchemy.orm.Session().query().first",
            id="sessionmaker() instance query chain",
        ),
        pytest.param(
            "sqlmodel.ext.asyncio.session.AsyncSession().exec",
            "sqlalchemy.ext.asyncio.AsyncSession().exec",
            id="sqlmodel AsyncSession",
        ),
        pytest.param("io.open", "open", id="io.open"),
        pytest.param("builtins.open().read", "open().read", id="builtins.open file method"),
        pytest.param("pathlib.PosixPath().exists", "pathlib.Path().exists", id="PosixPath"),
        pytest.param("requests.session().get", "requests.Session().get", id="requests.session()"),
        pytest.param("redis.from_url().get", "redis.Redis().get", id="redis.from_url()"),
        pytest.param("redis.asyncio.from_url().get", "redis.asyncio.Redis().get", id="redis.asyncio.from_url()"),
        pytest.param("sqlalchemy.create_engine().connect", "sqlalchemy.engine.Engine().connect", id="create_engine()"),
        pytest.param("starlette.background.BackgroundTasks", "fastapi.BackgroundTasks", id="starlette re-export"),
        pytest.param("sqlmodel.SessionFactory", "sqlmodel.SessionFactory", id="whole segments only"),
        pytest.param("mycorp.thing().run", "mycorp.thing().run", id="unknown name unchanged"),
    ],
)
def test_canonical(name: str, expected: str) -> None:
    assert canonical(name) == expected


def test_canonical_targets_are_fixed_points() -> None:
    for target in CANONICAL.values():
        assert canonical(target) == target, target


# --------------------------------------------------------------------------- user patterns
USER = {
    "app.mail.send": CallKind("e-mail", True),
    "mycorp.*.notify": CallKind("network", False),
    "requests.get": CallKind("custom", False),
    "boto3.client().**": CallKind(EMAIL, True),
    "boto3.client().generate_presigned_url": CallKind(HTTP, True),
    "sqlmodel.Session().refresh": CallKind("audit", True),
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("app.mail.send", CallKind(EMAIL, True), id="user exact name"),
        pytest.param("mycorp.billing.notify", CallKind(HTTP, False), id="user wildcard"),
        pytest.param("mycorp.billing.eu.notify", None, id="user * is one segment"),
        pytest.param("requests.get", CallKind("custom", False), id="user overrides a built-in name"),
        pytest.param("boto3.client().put_object", CallKind(EMAIL, True), id="user overrides a built-in wildcard"),
        pytest.param("boto3.client().send_email", CallKind(EMAIL, True), id="built-in exact name kept"),
        pytest.param(
            "boto3.client().generate_presigned_url", CallKind(HTTP, True), id="user takes a NOT_SLOW name back"
        ),
        pytest.param("boto3.client().get_paginator", None, id="other NOT_SLOW names stay out"),
        pytest.param("sqlalchemy.orm.Session().refresh", CallKind("audit", True), id="user keys are canonicalised"),
        pytest.param("requests.post", CallKind(HTTP, True), id="built-ins still there"),
    ],
)
def test_user_patterns(name: str, expected: CallKind | None) -> None:
    assert build_catalogue(USER).classify(name) == expected


def test_user_patterns_leave_the_default_catalogue_alone() -> None:
    build_catalogue(USER)
    assert default_catalogue().classify("requests.get") == CallKind(HTTP, True)
    assert default_catalogue().classify("app.mail.send") is None
    assert default_catalogue() is default_catalogue()
    assert build_catalogue().classify("requests.get") == default_catalogue().classify("requests.get")


def test_unknown_user_categories_are_deferrable_and_fallible() -> None:
    kind = build_catalogue(USER).classify("sqlmodel.Session().refresh")
    assert kind is not None and kind.deferrable and kind.fallible


# --------------------------------------------------------------------------- wildcard semantics
A, B = CallKind("a", True), CallKind("b", True)


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        pytest.param({"x.*.y": A}, "x.a.y", A, id="* matches one segment"),
        pytest.param({"x.*.y": A}, "x.y", None, id="* does not match zero segments"),
        pytest.param({"x.*.y": A}, "x.a.b.y", None, id="* does not match two segments"),
        pytest.param({"x.**.y": A}, "x.y", A, id="** matches zero segments"),
        pytest.param({"x.**.y": A}, "x.a.y", A, id="** matches one segment"),
        pytest.param({"x.**.y": A}, "x.a().b.c().y", A, id="** matches several segments"),
        pytest.param({"x.**.y": A}, "x.a.y.z", None, id="** pattern must match to the end"),
        pytest.param({"x.**": A}, "x.a.b", A, id="trailing **"),
        pytest.param({"**.send": A}, "any.thing().send", A, id="leading **"),
        pytest.param({"x.get_*": A}, "x.get_user", A, id="* inside a segment"),
        pytest.param({"x.get_*": A}, "x.set_user", None, id="* inside a segment keeps the literal part"),
        pytest.param({"x.get_*": A}, "x.get_user.y", None, id="* inside a segment stays in the segment"),
        pytest.param({"x().*": A}, "x().go", A, id="() is literal"),
        pytest.param({"x().*": A}, "x.go", None, id="X() is not X"),
        pytest.param({"x.*": A, "x.b": B}, "x.b", B, id="exact beats wildcard"),
        pytest.param({"x.**": A, "x.**.send": B}, "x.a.send", B, id="longer pattern wins"),
        pytest.param({"x.**": A, "x.**.send": B}, "x.a.recv", A, id="shorter pattern still applies"),
    ],
)
def test_wildcards(patterns: dict[str, CallKind], name: str, expected: CallKind | None) -> None:
    assert build_catalogue(patterns).classify(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("sqlalchemy.orm.Session().query().first", CallKind(DB, True), id="query().first"),
        pytest.param(
            "sqlalchemy.orm.Session().query().filter().order_by().first", CallKind(DB, True), id="query()...first"
        ),
        pytest.param("sqlalchemy.orm.Session().query().filter", None, id="query().filter"),
        pytest.param("sqlalchemy.orm.Session().query().filter().first.x", None, id="runner must be last"),
    ],
)
def test_query_chain_wildcard(name: str, expected: CallKind | None) -> None:
    assert default_catalogue().classify(name) == expected


# --------------------------------------------------------------------------- table hygiene
def test_every_entry_has_a_known_category() -> None:
    assert {kind.category for kind in CATALOGUE.values()} <= set(CATEGORIES)


def test_every_exact_entry_classifies_as_itself() -> None:
    """No alias folds two entries with different kinds together, and NOT_SLOW shadows no entry."""
    catalogue = default_catalogue()
    clashes = {
        k: (v, catalogue.classify(k)) for k, v in CATALOGUE.items() if "*" not in k and catalogue.classify(k) != v
    }
    assert not clashes
