"""The slow-call catalogue: qualified-name patterns -> (category, sync/async), and how to match them.

Names follow one convention: ``X()`` is "an instance / the result of calling X", so
``requests.Session().get`` is the ``get`` method of a ``requests.Session`` object and
``sqlite3.connect().**.fetchall`` is ``fetchall`` on anything reached from a connection.
In a pattern, ``*`` is one segment and ``**`` is zero or more segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

EMAIL = "e-mail"
HTTP = "network"
FILE = "file"
SUBPROCESS = "subprocess"
SLEEP = "sleep"
DB = "database"
CACHE = "cache"
INPUT = "input"

CATEGORIES = (EMAIL, HTTP, FILE, SUBPROCESS, SLEEP, DB, CACHE, INPUT)
CATEGORY_ALIASES = {
    "email": EMAIL,
    "e-mail": EMAIL,
    "http": HTTP,
    "network": HTTP,
    "file": FILE,
    "subprocess": SUBPROCESS,
    "sleep": SLEEP,
    "db": DB,
    "database": DB,
    "cache": CACHE,
    "input": INPUT,
}

#: Work a response can do without: moving it after the response is the point of BGT101.
DEFERRABLE = frozenset({EMAIL, HTTP, FILE, SUBPROCESS})
#: Work whose failure is worth handling in a background task (BGT201).
FALLIBLE = frozenset({EMAIL, HTTP, FILE, SUBPROCESS, DB, CACHE})


@dataclass(frozen=True)
class CallKind:
    category: str
    sync: bool

    @property
    def deferrable(self) -> bool:
        return self.category in DEFERRABLE or self.category not in CATEGORIES

    @property
    def fallible(self) -> bool:
        return self.category in FALLIBLE or self.category not in CATEGORIES


def _entries(sync: bool, category: str, *patterns: str) -> dict[str, CallKind]:
    return {p: CallKind(category, sync) for p in patterns}


_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream")
_PATH_IO = (
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "touch", "mkdir", "rmdir",
    "unlink", "rename", "replace", "exists", "is_dir", "is_file", "is_symlink", "stat", "lstat",
    "iterdir", "glob", "rglob", "chmod", "lchmod", "owner", "group", "readlink", "resolve",
    "samefile", "symlink_to", "hardlink_to", "expanduser", "absolute", "is_mount", "walk",
)  # fmt: skip
_OS_PATH_IO = (
    "exists", "lexists", "isfile", "isdir", "islink", "ismount", "getsize", "getatime",
    "getmtime", "getctime", "samefile", "sameopenfile", "samestat", "realpath",
)  # fmt: skip
_FILE_METHODS = ("read", "readline", "readlines", "write", "writelines", "flush", "seek", "truncate", "close")

CATALOGUE: dict[str, CallKind] = {
    # --- e-mail
    **_entries(True, EMAIL, "smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
    **_entries(True, EMAIL, *(f"smtplib.{c}().{m}" for c in ("SMTP", "SMTP_SSL", "LMTP") for m in (
        "send_message", "sendmail", "connect", "login", "starttls", "ehlo", "helo", "quit", "noop", "rset",
        "verify", "docmd", "auth",
    ))),  # fmt: skip
    **_entries(False, EMAIL, "aiosmtplib.send", "aiosmtplib.SMTP().*", "aiosmtplib.SMTP().**"),
    **_entries(False, EMAIL, "fastapi_mail.FastMail().send_message", "fastapi_mail.fastmail.FastMail().send_message"),
    **_entries(True, EMAIL, "sendgrid.SendGridAPIClient().send", "sendgrid.SendGridAPIClient().client.**",
               "sendgrid.sendgrid.SendGridAPIClient().send"),
    **_entries(True, EMAIL, "resend.Emails.send", "resend.Emails.send_batch", "resend.Batch.send"),
    **_entries(False, EMAIL, "resend.Emails.send_async"),
    **_entries(True, EMAIL, "boto3.client().send_email", "boto3.client().send_raw_email",
               "boto3.client().send_templated_email", "boto3.client().send_bulk_templated_email",
               "boto3.session.Session().client().send_email", "boto3.Session().client().send_email"),
    **_entries(True, EMAIL, "postmarker.core.PostmarkClient().emails.*", "mailchimp_transactional.Client().messages.*",
               "yagmail.SMTP().send", "django.core.mail.send_mail", "flask_mail.Mail().send"),
    # --- outbound network: requests
    **_entries(True, HTTP, *(f"requests.{v}" for v in _HTTP_VERBS), "requests.api.request"),
    **_entries(True, HTTP, *(f"requests.Session().{v}" for v in _HTTP_VERBS), "requests.session().*",
               *(f"requests.sessions.Session().{v}" for v in _HTTP_VERBS)),
    # httpx
    **_entries(True, HTTP, *(f"httpx.{v}" for v in _HTTP_VERBS)),
    **_entries(True, HTTP, *(f"httpx.Client().{v}" for v in _HTTP_VERBS)),
    **_entries(False, HTTP, *(f"httpx.AsyncClient().{v}" for v in _HTTP_VERBS)),
    # aiohttp
    **_entries(False, HTTP, *(f"aiohttp.ClientSession().{v}" for v in _HTTP_VERBS), "aiohttp.ClientSession().ws_connect",
               "aiohttp.request"),
    # urllib / urllib3 / http.client
    **_entries(True, HTTP, "urllib.request.urlopen", "urllib.request.urlretrieve", "urllib.request.OpenerDirector().open",
               "urllib.request.build_opener().open", "urllib2.urlopen"),
    **_entries(True, HTTP, "urllib3.request", "urllib3.PoolManager().request", "urllib3.PoolManager().urlopen",
               "urllib3.PoolManager().request_encode_url", "urllib3.PoolManager().request_encode_body",
               "urllib3.HTTPConnectionPool().request", "urllib3.HTTPConnectionPool().urlopen",
               "urllib3.HTTPSConnectionPool().request", "urllib3.HTTPSConnectionPool().urlopen",
               "urllib3.connectionpool.HTTPConnectionPool().request", "urllib3.connectionpool.HTTPConnectionPool().urlopen",
               "urllib3.poolmanager.PoolManager().request", "urllib3.poolmanager.PoolManager().urlopen",
               "urllib3.ProxyManager().request", "urllib3.ProxyManager().urlopen"),
    **_entries(True, HTTP, *(f"http.client.{c}().{m}" for c in ("HTTPConnection", "HTTPSConnection") for m in (
        "request", "getresponse", "connect", "send", "putrequest", "endheaders",
    ))),  # fmt: skip
    **_entries(True, HTTP, "socket.create_connection", "socket.getaddrinfo", "socket.gethostbyname",
               "socket.socket().connect", "socket.socket().send", "socket.socket().sendall", "socket.socket().recv",
               "socket.socket().accept", "ftplib.FTP().**.retrbinary", "ftplib.FTP().storbinary"),
    # cloud / SaaS SDKs (every client method talks to the network)
    **_entries(True, HTTP, "boto3.client().**", "boto3.resource().**", "boto3.session.Session().client().**",
               "boto3.Session().client().**", "boto3.Session().resource().**", "botocore.client.BaseClient().*"),
    **_entries(True, HTTP, "slack_sdk.WebClient().*", "slack_sdk.web.WebClient().*", "slack_sdk.web.client.WebClient().*",
               "slack_sdk.webhook.WebhookClient().send", "slack_sdk.WebhookClient().send", "slack.WebClient().*"),
    **_entries(False, HTTP, "slack_sdk.web.async_client.AsyncWebClient().*", "slack_sdk.webhook.async_client.AsyncWebhookClient().send"),
    **_entries(True, HTTP, "twilio.rest.Client().**.create", "twilio.rest.Client().**.fetch", "twilio.rest.Client().**.update",
               "twilio.rest.Client().**.delete", "twilio.rest.Client().**.list", "twilio.rest.Client().**.stream"),
    **_entries(True, HTTP, *(f"stripe.{r}.{m}" for r in (
        "Customer", "PaymentIntent", "Charge", "Subscription", "Invoice", "Refund", "Product", "Price",
        "checkout.Session", "Webhook", "SetupIntent", "PaymentMethod", "Account", "Transfer", "Payout",
        "InvoiceItem", "Coupon", "billing_portal.Session", "Event", "BalanceTransaction",
    ) for m in ("create", "retrieve", "modify", "delete", "list", "cancel", "capture", "confirm", "search",
                "create_usage_record", "void_invoice", "pay", "finalize_invoice", "upcoming", "expire"))),  # fmt: skip
    **_entries(True, HTTP, "stripe.StripeClient().**"),
    **_entries(True, HTTP, "openai.OpenAI().**.create", "openai.OpenAI().**.retrieve", "openai.OpenAI().**.list"),
    **_entries(False, HTTP, "openai.AsyncOpenAI().**.create", "openai.AsyncOpenAI().**.retrieve"),
    **_entries(True, HTTP, "google.cloud.storage.Client().**.upload_from_filename", "google.cloud.storage.Client().**.upload_from_string",
               "google.cloud.storage.Client().**.upload_from_file", "google.cloud.storage.Client().**.download_to_filename",
               "google.cloud.storage.Client().**.download_as_bytes", "google.cloud.storage.Client().**.delete"),
    **_entries(True, HTTP, "sentry_sdk.capture_message"),
    # --- files
    **_entries(True, FILE, "open", "io.open", "io.open_code", "os.fdopen", "codecs.open", "builtins.open", "tempfile.NamedTemporaryFile",
               "tempfile.TemporaryFile", "tempfile.mkstemp", "tempfile.mkdtemp", "tempfile.SpooledTemporaryFile",
               "tempfile.TemporaryDirectory", "fileinput.input", "json.dump", "pickle.dump", "json.load", "pickle.load",
               "csv.writer().writerow", "csv.writer().writerows", "csv.DictWriter().writerow", "csv.DictWriter().writerows",
               "csv.DictWriter().writeheader"),
    **_entries(True, FILE, *(f"{o}().{m}" for o in ("open", "io.open", "builtins.open", "codecs.open", "os.fdopen",
                                                     "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile")
                              for m in _FILE_METHODS)),  # fmt: skip
    **_entries(True, FILE, *(f"{p}().{m}" for p in ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath",
                                                     "pathlib.PurePath", "anyio.Path") if p != "anyio.Path"
                              for m in _PATH_IO)),  # fmt: skip
    **_entries(True, FILE, "pathlib.Path().open().*", "pathlib.Path.cwd", "pathlib.Path.home"),
    **_entries(True, FILE, *(f"os.path.{f}" for f in _OS_PATH_IO)),
    **_entries(True, FILE, *(f"os.{f}" for f in (
        "remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir", "rmdir", "removedirs", "listdir",
        "scandir", "walk", "stat", "lstat", "chmod", "chown", "link", "symlink", "readlink", "truncate", "utime",
        "open", "read", "write", "fsync", "sendfile", "access", "statvfs", "mkfifo", "mknod",
    ))),  # fmt: skip
    **_entries(True, FILE, *(f"shutil.{f}" for f in (
        "copy", "copy2", "copyfile", "copyfileobj", "copytree", "copymode", "copystat", "move", "rmtree",
        "make_archive", "unpack_archive", "disk_usage", "chown", "which",
    ))),  # fmt: skip
    **_entries(True, FILE, "zipfile.ZipFile", "zipfile.ZipFile().*", "tarfile.open", "tarfile.open().*", "tarfile.TarFile().*",
               "gzip.open", "bz2.open", "lzma.open", "glob.glob", "glob.iglob"),
    **_entries(False, FILE, "aiofiles.open().*", "aiofiles.os.*", "aiofiles.os.path.*", "aiofiles.ospath.*",
               "anyio.open_file", "anyio.open_file().*", "anyio.Path().*", "trio.open_file", "trio.Path().*"),
    # --- subprocesses
    **_entries(True, SUBPROCESS, *(f"subprocess.{f}" for f in (
        "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput", "Popen",
    )), "subprocess.Popen().communicate", "subprocess.Popen().wait"),  # fmt: skip
    **_entries(True, SUBPROCESS, *(f"os.{f}" for f in (
        "system", "popen", "posix_spawn", "posix_spawnp", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
        "spawnve", "spawnvp", "spawnvpe", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp",
        "execvpe", "wait", "wait3", "wait4", "waitid", "waitpid", "fork", "forkpty", "startfile",
    ))),  # fmt: skip
    **_entries(False, SUBPROCESS, "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
               "anyio.run_process", "anyio.open_process"),
    # --- pauses and console input
    **_entries(True, SLEEP, "time.sleep"),
    **_entries(False, SLEEP, "asyncio.sleep", "anyio.sleep", "trio.sleep"),
    **_entries(True, INPUT, "input", "builtins.input", "getpass.getpass"),
    # --- databases
    **_entries(True, DB, "sqlite3.connect", "sqlite3.connect().*", "sqlite3.connect().cursor().*",
               "sqlite3.Connection().*", "sqlite3.Cursor().*"),
    **_entries(True, DB, "psycopg2.connect", "psycopg2.connect().**", "psycopg.connect", "psycopg.connect().**",
               "pymysql.connect", "pymysql.connect().**", "MySQLdb.connect", "MySQLdb.connect().**",
               "mysql.connector.connect", "mysql.connector.connect().**", "cx_Oracle.connect().**"),
    **_entries(False, DB, "asyncpg.connect", "asyncpg.create_pool", "asyncpg.connect().*", "asyncpg.Connection().*",
               "asyncpg.Pool().*", "aiosqlite.connect", "aiosqlite.connect().**", "psycopg.AsyncConnection.connect",
               "motor.motor_asyncio.AsyncIOMotorClient().**", "databases.Database().*"),
    **_entries(True, DB, *(f"pymongo.MongoClient().**.{m}" for m in (
        "find_one", "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
        "delete_many", "count_documents", "aggregate", "find_one_and_update", "find_one_and_delete",
        "find_one_and_replace", "bulk_write", "distinct", "create_index", "drop", "list_collection_names",
        "estimated_document_count", "command",
    ))),  # fmt: skip
    **_entries(True, CACHE, *(f"{c}().{m}" for c in ("redis.Redis", "redis.StrictRedis", "redis.from_url", "redis.client.Redis",
                                                     "redis.Redis.from_url")
                              for m in ("get", "set", "delete", "incr", "decr", "expire", "hget", "hset", "hgetall",
                                        "lpush", "rpush", "lpop", "rpop", "publish", "exists", "keys", "mget",
                                        "mset", "setex", "ttl", "sadd", "smembers", "zadd", "zrange", "execute",
                                        "xadd", "eval", "scan", "pipeline().execute", "ping", "flushdb"))),  # fmt: skip
    **_entries(False, CACHE, "redis.asyncio.Redis().*", "redis.asyncio.from_url().*", "redis.asyncio.client.Redis().*",
               "aioredis.from_url().*", "aioredis.Redis().*"),
    # SQLAlchemy / SQLModel sync sessions: only calls that talk to the database.
    **_entries(True, DB, *(f"sqlalchemy.orm.Session().{m}" for m in (
        "execute", "scalars", "scalar", "get", "get_one", "commit", "flush", "refresh", "merge", "rollback",
        "exec", "connection", "delete",
    ))),  # fmt: skip
    **_entries(True, DB, *(f"sqlalchemy.orm.Session().query().**.{m}" for m in (
        "first", "all", "one", "one_or_none", "scalar", "count", "delete", "update", "get", "exists().scalar",
    ))),  # fmt: skip
    **_entries(True, DB, *(f"sqlalchemy.orm.Session().execute().**.{m}" for m in ("all", "first", "one", "scalar", "one_or_none"))),
    **_entries(True, DB, "sqlalchemy.orm.Session().scalars().**.all", "sqlalchemy.orm.Session().exec().**.all",
               "sqlalchemy.orm.Session().exec().**.first", "sqlalchemy.orm.Session().exec().**.one"),
    **_entries(True, DB, "sqlalchemy.engine.Engine().connect", "sqlalchemy.engine.Engine().begin",
               "sqlalchemy.create_engine().connect", "sqlalchemy.create_engine().begin",
               "sqlalchemy.create_engine().connect().execute", "sqlalchemy.engine.Connection().execute"),
    **_entries(False, DB, *(f"sqlalchemy.ext.asyncio.AsyncSession().{m}" for m in (
        "execute", "scalars", "scalar", "get", "commit", "flush", "refresh", "merge", "rollback", "delete",
        "exec", "stream", "stream_scalars", "get_one",
    ))),  # fmt: skip
}

#: Names that mean the same type or function; the left one is rewritten to the right one.
CANONICAL: dict[str, str] = {
    "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.scoping.scoped_session": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.scoped_session": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.sessionmaker()": "sqlalchemy.orm.Session",
    "sqlmodel.Session": "sqlalchemy.orm.Session",
    "sqlmodel.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.async_sessionmaker()": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "requests.session": "requests.Session",
    "requests.sessions.Session": "requests.Session",
    "httpx._client.Client": "httpx.Client",
    "httpx._client.AsyncClient": "httpx.AsyncClient",
    "aiohttp.client.ClientSession": "aiohttp.ClientSession",
    "builtins.open": "open",
    "io.open": "open",
    "pathlib.PosixPath": "pathlib.Path",
    "pathlib.WindowsPath": "pathlib.Path",
    "slack_sdk.web.client.WebClient": "slack_sdk.WebClient",
    "slack_sdk.web.WebClient": "slack_sdk.WebClient",
    "sendgrid.sendgrid.SendGridAPIClient": "sendgrid.SendGridAPIClient",
    "fastapi_mail.fastmail.FastMail": "fastapi_mail.FastMail",
    "redis.client.Redis": "redis.Redis",
    "redis.StrictRedis": "redis.Redis",
    "redis.Redis.from_url()": "redis.Redis()",
    "redis.from_url()": "redis.Redis()",
    "boto3.session.Session": "boto3.Session",
    # FastAPI re-exports Starlette's classes.
    "starlette.background.BackgroundTasks": "fastapi.BackgroundTasks",
    "fastapi.background.BackgroundTasks": "fastapi.BackgroundTasks",
    "starlette.background.BackgroundTask": "fastapi.BackgroundTask",
    "starlette.requests.Request": "fastapi.Request",
    "fastapi.requests.Request": "fastapi.Request",
    "starlette.requests.HTTPConnection": "fastapi.Request",
    "starlette.websockets.WebSocket": "fastapi.WebSocket",
    "fastapi.websockets.WebSocket": "fastapi.WebSocket",
    "starlette.datastructures.UploadFile": "fastapi.UploadFile",
    "fastapi.datastructures.UploadFile": "fastapi.UploadFile",
    "fastapi.param_functions.Depends": "fastapi.Depends",
    "fastapi.param_functions.Security": "fastapi.Security",
    "fastapi.applications.FastAPI": "fastapi.FastAPI",
    "fastapi.routing.APIRouter": "fastapi.APIRouter",
    "starlette.applications.Starlette": "fastapi.FastAPI",
    "starlette.routing.Router": "fastapi.APIRouter",
    "starlette.concurrency.run_in_threadpool": "fastapi.concurrency.run_in_threadpool",
    "typing_extensions.Annotated": "typing.Annotated",
    "starlette.routing.Route": "fastapi.routing.Route",
    "starlette.routing.WebSocketRoute": "fastapi.routing.WebSocketRoute",
}

#: Response classes: any of these returned with ``background=`` carries its own tasks.
RESPONSE_CLASSES = frozenset(
    {f"fastapi.responses.{c}" for c in (
        "Response", "JSONResponse", "HTMLResponse", "PlainTextResponse", "RedirectResponse", "StreamingResponse",
        "FileResponse", "ORJSONResponse", "UJSONResponse",
    )} | {f"starlette.responses.{c}" for c in (
        "Response", "JSONResponse", "HTMLResponse", "PlainTextResponse", "RedirectResponse", "StreamingResponse",
        "FileResponse",
    )} | {"fastapi.Response"}
)  # fmt: skip

#: ``asyncio`` calls that start a task whose reference must be kept (BGT206).
TASK_SPAWNERS = frozenset({"asyncio.create_task", "asyncio.ensure_future", "asyncio.get_event_loop().create_task",
                           "asyncio.get_running_loop().create_task", "asyncio.new_event_loop().create_task",
                           "asyncio.get_event_loop().ensure_future", "asyncio.AbstractEventLoop().create_task",
                           "asyncio.BaseEventLoop().create_task"})  # fmt: skip

#: Hand-offs: the callable passed to these runs elsewhere (a thread, a task after the response).
HANDOFFS = frozenset({"fastapi.concurrency.run_in_threadpool", "asyncio.to_thread", "anyio.to_thread.run_sync",
                      "asyncio.get_event_loop().run_in_executor", "asyncio.get_running_loop().run_in_executor",
                      "starlette.concurrency.run_until_first_complete", "fastapi.BackgroundTasks().add_task"})  # fmt: skip

ROUTE_FACTORIES = frozenset({"fastapi.FastAPI", "fastapi.APIRouter"})
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "options", "head", "trace", "api_route",
                              "websocket", "route", "websocket_route"})  # fmt: skip


def canonical(name: str) -> str:
    """Rewrite a qualified name to its canonical spelling (longest matching prefix)."""
    if name in CANONICAL:
        return CANONICAL[name]
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in CANONICAL:
            return CANONICAL[head] + "." + ".".join(parts[i:])
    return name


@dataclass(frozen=True)
class Catalogue:
    """An immutable, matchable set of patterns (the built-in table plus the user's)."""

    exact: dict[str, CallKind]
    wild: tuple[tuple[re.Pattern[str], CallKind, int], ...]

    def classify(self, fqn: str) -> CallKind | None:
        """The kind of work a call to ``fqn`` does, or None when it is not catalogued."""
        name = canonical(fqn)
        kind = self.exact.get(name)
        if kind is not None:
            return kind
        for pattern, kind, _ in self.wild:
            if pattern.fullmatch(name):
                return kind
        return None


def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    for i, seg in enumerate(pattern.split(".")):
        sep = r"\." if i else ""
        if seg == "**":
            out.append(r"(?:\.[^.]+)*" if i else r"(?:[^.]+)(?:\.[^.]+)*")
        elif seg == "*":
            out.append(sep + r"[^.]+")
        else:
            out.append(sep + re.escape(seg).replace(r"\*", "[^.]*"))
    return re.compile("".join(out))


def build_catalogue(extra: dict[str, CallKind] | None = None) -> Catalogue:
    """The built-in catalogue extended (and overridden) by user patterns."""
    table = dict(CATALOGUE)
    table.update(extra or {})
    exact = {canonical(k): v for k, v in table.items() if "*" not in k}
    wild = sorted(
        ((_compile(k), v, len(k)) for k, v in table.items() if "*" in k),
        key=lambda t: -t[2],
    )
    return Catalogue(exact, tuple(wild))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return build_catalogue()
