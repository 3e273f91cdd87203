"""The slow-call catalogue: qualified-name patterns -> (category, sync/async), and how to match them.

Names follow one convention: ``X()`` is "an instance / the result of calling X", so
``requests.Session().get`` is the ``get`` method of a ``requests.Session`` object and
``sqlite3.connect().**.fetchall`` is ``fetchall`` on anything reached from a connection.
In a pattern, ``*`` is one segment and ``**`` is zero or more segments.

The knowledge is data: method tables, the ``CATALOGUE`` built from them, ``NOT_SLOW`` (local
helpers a wildcard would otherwise catch) and ``CANONICAL`` (aliases). The built-in table covers
flake8-async's and ruff's ASYNC2xx blocking-call lists (tests/test_catalogue.py checks that) except
for pure path arithmetic such as ``os.path.normpath``/``abspath`` and ``Path.absolute``/``expanduser``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bgtask_lint.models import Chain

EMAIL = "e-mail"
HTTP = "network"
FILE = "file"
SUBPROCESS = "subprocess"
SLEEP = "sleep"
DB = "database"
CACHE = "cache"
INPUT = "input"
#: Payment providers: a remote write the response usually reports on (like the database), not deferrable.
PAYMENT = "payment"

CATEGORIES = (EMAIL, HTTP, FILE, SUBPROCESS, SLEEP, DB, CACHE, INPUT, PAYMENT)
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
    "payment": PAYMENT,
}

#: Work a response can do without: moving it after the response is the point of BGT101.
DEFERRABLE = frozenset({EMAIL, HTTP, FILE, SUBPROCESS})
#: Work whose failure is worth handling in a background task (BGT201).
FALLIBLE = frozenset({EMAIL, HTTP, FILE, SUBPROCESS, DB, CACHE, PAYMENT})


class Cost(IntEnum):
    """What a blocking call costs, cheapest first. A chain's witness is the costliest call its path
    reaches, and file metadata (a ``stat``, an ``exists``, creating a temp file) is reported only where
    it stands directly in the ``async def``, as ruff's ASYNC240 does, never through helpers."""

    FILE_METADATA = 1
    FILE_DATA = 2
    SLEEP = 3
    CACHE = 4
    DATABASE = 5
    DNS = 6
    SUBPROCESS = 7
    NETWORK = 8
    EMAIL = 9

    @property
    def label(self) -> str:
        return _COST_LABELS[self]


_COST_LABELS = {
    Cost.FILE_METADATA: "file metadata", Cost.FILE_DATA: "file", Cost.SLEEP: "sleep", Cost.CACHE: "cache",
    Cost.DATABASE: "database", Cost.DNS: "DNS", Cost.SUBPROCESS: "subprocess", Cost.NETWORK: "network",
    Cost.EMAIL: "e-mail",
}  # fmt: skip
#: The cost of a category's calls unless an entry says otherwise (file entries split into data and metadata).
CATEGORY_COST = {
    EMAIL: Cost.EMAIL, HTTP: Cost.NETWORK, FILE: Cost.FILE_DATA, SUBPROCESS: Cost.SUBPROCESS, SLEEP: Cost.SLEEP,
    DB: Cost.DATABASE, CACHE: Cost.CACHE, INPUT: Cost.SLEEP, PAYMENT: Cost.NETWORK,
}  # fmt: skip


def cost_label(chain: Chain) -> str:
    """What a chain's witness costs, in words: ``file``, ``file metadata``, ``DNS``, ``network``..."""
    return Cost(chain.cost).label if chain.cost else chain.category


@dataclass(frozen=True)
class CallKind:
    category: str
    sync: bool
    cost: Cost = None  # type: ignore[assignment]  # the category's cost unless given
    #: Saves application state that later requests read (``json.dump`` of a state file): persistence,
    #: like a database write, not a side job to defer.
    persists: bool = False
    #: Returns an iterator that does its work while it is iterated (``os.scandir``, ``Path.rglob``):
    #: calling it elsewhere moves only the start of the work.
    lazy: bool = False

    def __post_init__(self) -> None:
        if self.cost is None:
            object.__setattr__(self, "cost", CATEGORY_COST.get(self.category, Cost.NETWORK))

    @property
    def deferrable(self) -> bool:
        return self.category in DEFERRABLE or self.category not in CATEGORIES

    @property
    def fallible(self) -> bool:
        return self.category in FALLIBLE or self.category not in CATEGORIES


def _entries(sync: bool, category: str, *patterns: str, cost: Cost | None = None,
             persists: bool = False) -> dict[str, CallKind]:  # fmt: skip
    return {p: CallKind(category, sync, cost, persists) for p in patterns}  # type: ignore[arg-type]


def _on(prefixes: str | tuple[str, ...], methods: tuple[str, ...]) -> tuple[str, ...]:
    """``prefix.method`` for every prefix and method (``_on("x()", ("a", "b"))`` -> ``x().a, x().b``)."""
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    return tuple(f"{p}.{m}" for p in prefixes for m in methods)


# --------------------------------------------------------------------------- method tables
# HTTP verbs of each API shape. Module functions (``requests.get``) have no ``send``; only
# clients have ``send``; httpx clients also block in ``stream`` and ``close`` (flake8-async/ruff
# ASYNC212 list them).
_HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
_REQUESTS_SESSION_METHODS = (*_HTTP_METHODS, "send")
_HTTPX_FUNCTIONS = (*_HTTP_METHODS, "stream")
_HTTPX_CLIENT_METHODS = (*_HTTP_METHODS, "send", "stream", "close")
_URLLIB3_METHODS = ("request", "urlopen", "request_encode_url", "request_encode_body")
_SMTP_METHODS = (
    "send_message", "sendmail", "connect", "login", "starttls", "ehlo", "helo", "ehlo_or_helo_if_needed",
    "quit", "noop", "rset", "verify", "expn", "docmd", "auth", "mail", "rcpt", "data",
)  # fmt: skip
_AIOSMTPLIB_METHODS = (
    "send_message", "sendmail", "connect", "login", "starttls", "ehlo", "helo", "quit", "noop", "rset",
    "verify", "expn", "mail", "rcpt", "data", "execute_command", "auth_login", "auth_plain", "auth_crammd5",
)  # fmt: skip
#: Methods of an open file object that touch the disk (ASYNC232). ``tell``/``fileno``/``readable``
#: and friends only inspect the object and stay out.
_FILE_METHODS = (
    "read", "read1", "readall", "readinto", "readinto1", "readline", "readlines", "peek",
    "write", "writelines", "flush", "seek", "truncate", "close",
)  # fmt: skip
#: Open file objects: what ``open`` and its relatives return.
_FILE_OBJECTS = (
    "open()", "io.open_code()", "codecs.open()", "os.fdopen()", "tempfile.NamedTemporaryFile()",
    "tempfile.TemporaryFile()", "gzip.open()", "bz2.open()", "lzma.open()", "io.TextIOWrapper()",
    "io.BufferedReader()", "io.BufferedWriter()", "io.BufferedRandom()", "io.FileIO()",
    *(f"{p}().open()" for p in ("pathlib.Path", "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath")),
)  # fmt: skip
#: ``pathlib.Path`` methods that hit the file system (ASYNC230/240). Pure path arithmetic
#: (``name``, ``parent``, ``joinpath``, ``with_suffix``, ``relative_to``, ``as_posix`` ...) is absent,
#: and so are ``absolute``/``expanduser``/``cwd``/``home``: they read the process's cwd or $HOME,
#: not the disk.
_PATH_IO = (
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "touch", "mkdir", "rmdir", "unlink",
    "rename", "replace", "exists", "is_dir", "is_file", "is_symlink", "is_mount", "is_junction",
    "is_block_device", "is_char_device", "is_fifo", "is_socket", "stat", "lstat", "iterdir", "glob",
    "rglob", "walk", "chmod", "lchmod", "owner", "group", "readlink", "resolve", "samefile", "symlink_to",
    "hardlink_to", "link_to", "copy", "copy_into", "move", "move_into",
)  # fmt: skip
#: Path classes. The pure ones can't do I/O at run time, but ruff's ASYNC240 treats a value
#: annotated ``PurePath`` as a path, and a concrete path often hides behind that annotation.
_PATH_CLASSES = ("pathlib.Path", "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath")
#: ``os.path`` functions that stat/readlink (ASYNC240). ``join``/``basename``/``dirname``/
#: ``splitext``/``normpath``/``abspath``/``relpath``/``expanduser``/``samestat`` are string work.
_OS_PATH_IO = (
    "exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction", "isdevdrive", "getsize",
    "getatime", "getmtime", "getctime", "samefile", "sameopenfile", "realpath",
)  # fmt: skip
_OS_FILE_FUNCTIONS = (
    "remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir", "rmdir", "removedirs", "listdir",
    "scandir", "walk", "fwalk", "stat", "lstat", "chmod", "lchmod", "fchmod", "chown", "lchown", "fchown",
    "link", "symlink", "readlink", "truncate", "ftruncate", "utime", "open", "read", "pread", "readv",
    "write", "pwrite", "writev", "fsync", "fdatasync", "sendfile", "copy_file_range", "access", "statvfs",
    "mkfifo", "mknod",
)  # fmt: skip
_SHUTIL_FUNCTIONS = (
    "copy", "copy2", "copyfile", "copyfileobj", "copytree", "copymode", "copystat", "move", "rmtree",
    "make_archive", "unpack_archive", "disk_usage", "chown", "which",
)  # fmt: skip
#: ``anyio.Path``/``trio.Path``: the same I/O methods, but coroutines (or async iterators).
_ASYNC_PATH_IO = tuple(m for m in _PATH_IO if m not in ("link_to",))
#: ``subprocess`` functions that start and wait for a child (ASYNC220/221).
_SUBPROCESS_FUNCTIONS = ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput", "Popen")
#: ``os`` functions that start or wait for processes (ASYNC220/221/222).
_OS_PROCESS_FUNCTIONS = (
    "system", "popen", "posix_spawn", "posix_spawnp", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
    "spawnve", "spawnvp", "spawnvpe", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp",
    "execvpe", "wait", "wait3", "wait4", "waitid", "waitpid", "fork", "forkpty", "startfile",
)  # fmt: skip
#: DB-API 2.0 (PEP 249) connection and cursor methods that talk to the server. ``cursor()`` itself,
#: ``close`` and ``mogrify`` stay out: they are client-side.
_DBAPI_METHODS = (
    "execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall", "commit", "rollback",
    "callproc", "nextset", "copy_expert", "copy_from", "copy_to", "copy",
)  # fmt: skip
_DBAPI_SYNC_CONNECTS = (
    "sqlite3.connect", "psycopg2.connect", "psycopg.connect", "psycopg.Connection.connect", "pymysql.connect",
    "MySQLdb.connect", "mysql.connector.connect", "cx_Oracle.connect", "oracledb.connect", "pyodbc.connect",
)  # fmt: skip
_DBAPI_SYNC_OBJECTS = (
    *(f"{c}()" for c in _DBAPI_SYNC_CONNECTS),
    "sqlite3.Connection()", "sqlite3.Cursor()", "psycopg2.extensions.connection()", "psycopg2.extensions.cursor()",
    "psycopg.Connection()", "psycopg.Cursor()", "pymysql.connections.Connection()", "pymysql.cursors.Cursor()",
)  # fmt: skip
_ASYNCPG_METHODS = (
    "execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare", "copy_from_query",
    "copy_from_table", "copy_to_table", "copy_records_to_table", "close", "reload_schema_state", "set_type_codec",
    "acquire", "release",
)  # fmt: skip
_MONGO_METHODS = (
    "find_one", "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
    "delete_many", "count_documents", "estimated_document_count", "aggregate", "find_one_and_update",
    "find_one_and_delete", "find_one_and_replace", "bulk_write", "distinct", "create_index", "create_indexes",
    "drop_index", "drop", "list_collection_names", "list_database_names", "create_collection",
    "drop_collection", "drop_database", "command", "server_info", "to_list",
)  # fmt: skip
_REDIS_COMMANDS = (
    "get", "set", "delete", "unlink", "exists", "expire", "pexpire", "ttl", "pttl", "incr", "incrby",
    "incrbyfloat", "decr", "decrby", "getdel", "getex", "setex", "setnx", "mget", "mset", "keys", "scan",
    "hget", "hset", "hdel", "hgetall", "hmget", "hincrby", "hexists", "lpush", "rpush", "lpop", "rpop",
    "lrange", "llen", "blpop", "brpop", "sadd", "srem", "smembers", "sismember", "zadd", "zrem", "zrange",
    "zrangebyscore", "zincrby", "zscore", "xadd", "xread", "xreadgroup", "xack", "publish", "eval", "evalsha",
    "ping", "info", "flushdb", "flushall", "pipeline().execute",
)  # fmt: skip
_SYNC_SESSION = "sqlalchemy.orm.Session()"
_ASYNC_SESSION = "sqlalchemy.ext.asyncio.AsyncSession()"
#: Session methods that talk to the database. ``add``/``add_all``/``delete``/``expunge``/``query``
#: only change the unit of work or build a query.
_SESSION_IO = (
    "execute", "scalars", "scalar", "get", "get_one", "commit", "flush", "refresh", "merge", "rollback",
    "exec", "connection",
)  # fmt: skip
#: Methods that run a legacy ``Query`` (reached through any chain of filter/order_by/join ...).
_QUERY_RUNNERS = ("first", "all", "one", "one_or_none", "scalar", "count", "delete", "update", "get")
#: Methods that read rows from a ``Result``/``ScalarResult`` (sqlmodel's ``exec`` returns one).
_RESULT_READERS = (
    "all", "first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none", "fetchall", "fetchone",
    "fetchmany", "partitions",
)  # fmt: skip
_CONNECTION_IO = ("execute", "exec_driver_sql", "scalar", "scalars", "commit", "rollback")
_BOTO3_CLIENTS = (
    "boto3.client()", "boto3.Session().client()", "botocore.client.BaseClient()",
    "botocore.session.get_session().create_client()",
)  # fmt: skip
_BOTO3_RESOURCES = ("boto3.resource()", "boto3.Session().resource()")
_AIOBOTO3_CLIENTS = ("aioboto3.Session().client()", "aiobotocore.session.get_session().create_client()")
_SES_METHODS = ("send_email", "send_raw_email", "send_templated_email", "send_bulk_templated_email", "send_bulk_email")
_STRIPE_RESOURCES = (
    "Customer", "PaymentIntent", "Charge", "Subscription", "SubscriptionItem", "Invoice", "InvoiceItem",
    "Refund", "Product", "Price", "checkout.Session", "SetupIntent", "PaymentMethod", "Account", "Transfer",
    "Payout", "Coupon", "PromotionCode", "billing_portal.Session", "Event", "BalanceTransaction", "Dispute",
    "TaxRate", "WebhookEndpoint",
)  # fmt: skip
_STRIPE_METHODS = (
    "create", "retrieve", "modify", "delete", "list", "cancel", "capture", "confirm", "search",
    "create_usage_record", "void_invoice", "pay", "finalize_invoice", "upcoming", "expire", "attach", "detach",
)  # fmt: skip
#: Read-only methods of the dicts that SDK calls return.
_DICT_READS = ("get", "items", "keys", "values")
_SDK_CALLS = ("create", "retrieve", "list", "delete", "update", "parse", "stream")

CATALOGUE: dict[str, CallKind] = {
    # ------------------------------------------------------------------ e-mail
    **_entries(True, EMAIL, "smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),  # connect when given a host
    **_entries(True, EMAIL, *_on(("smtplib.SMTP()", "smtplib.SMTP_SSL()", "smtplib.LMTP()"), _SMTP_METHODS)),
    **_entries(False, EMAIL, "aiosmtplib.send", *_on("aiosmtplib.SMTP()", _AIOSMTPLIB_METHODS)),
    **_entries(False, EMAIL, "fastapi_mail.FastMail().send_message"),
    **_entries(True, EMAIL, "sendgrid.SendGridAPIClient().send",
               *_on("sendgrid.SendGridAPIClient().client.**", ("post", "get", "put", "patch", "delete"))),
    **_entries(True, EMAIL, "resend.Emails.send", "resend.Emails.send_batch", "resend.Batch.send"),
    **_entries(False, EMAIL, "resend.Emails.send_async", "resend.Batch.send_async"),
    **_entries(True, HTTP, "resend.Emails.get", "resend.Emails.cancel", "resend.Emails.update",
               "resend.Domains.*", "resend.Contacts.*", "resend.Audiences.*", "resend.ApiKeys.*"),
    **_entries(True, EMAIL, *_on(_BOTO3_CLIENTS, _SES_METHODS)),
    **_entries(False, EMAIL, *_on(_AIOBOTO3_CLIENTS, _SES_METHODS)),
    **_entries(True, EMAIL, *_on("postmarker.core.PostmarkClient().emails", (
        "send", "send_batch", "send_with_template", "send_template_batch",
    )), "mailchimp_transactional.Client().messages.*", "yagmail.SMTP().send", "django.core.mail.send_mail",
        "django.core.mail.send_mass_mail", "django.core.mail.EmailMessage().send",
        "django.core.mail.EmailMultiAlternatives().send", "flask_mail.Mail().send"),  # fmt: skip
    # the ``emails`` package (``emails.Message(...).send(smtp={...})``, the full-stack template's mailer)
    **_entries(True, EMAIL, "emails.Message().send", "emails.html().send"),
    # ------------------------------------------------------------------ outbound network
    # requests (ASYNC210)
    **_entries(True, HTTP, *_on("requests", _HTTP_METHODS), "requests.api.request",
               *_on("requests.Session()", _REQUESTS_SESSION_METHODS)),
    # httpx / httpx2 (ASYNC210, ASYNC212); the constructors themselves do no I/O
    **_entries(True, HTTP, *_on(("httpx", "httpx2"), _HTTPX_FUNCTIONS)),
    **_entries(True, HTTP, *_on(("httpx.Client()", "httpx2.Client()"), _HTTPX_CLIENT_METHODS)),
    **_entries(False, HTTP, *_on(("httpx.AsyncClient()", "httpx2.AsyncClient()"), (*_HTTP_METHODS, "send"))),
    # aiohttp
    **_entries(False, HTTP, *_on("aiohttp.ClientSession()", (*_HTTP_METHODS, "ws_connect")), "aiohttp.request"),
    # urllib / urllib3 (ASYNC210, ASYNC211, ASYNC212) / http.client
    **_entries(True, HTTP, "urllib.request.urlopen", "urllib.request.urlretrieve",
               "urllib.request.OpenerDirector().open", "urllib.request.build_opener().open", "urllib2.urlopen"),
    **_entries(True, HTTP, "urllib3.request", *_on(tuple(f"urllib3.{c}()" for c in (
        "PoolManager", "ProxyManager", "HTTPConnectionPool", "HTTPSConnectionPool", "connectionpool.ConnectionPool",
        "connectionpool.HTTPConnectionPool", "connectionpool.HTTPSConnectionPool", "poolmanager.PoolManager",
        "poolmanager.ProxyManager", "request.RequestMethods", "_request_methods.RequestMethods",
        "connection_from_url",
    )), _URLLIB3_METHODS)),  # fmt: skip
    **_entries(True, HTTP, *_on(("http.client.HTTPConnection()", "http.client.HTTPSConnection()"), (
        "request", "getresponse", "connect", "send", "putrequest", "endheaders",
    ))),  # fmt: skip
    **_entries(True, HTTP, "socket.create_connection", "socket.getaddrinfo", "socket.gethostbyname",
               "socket.gethostbyname_ex", "socket.gethostbyaddr",
               *_on("socket.socket()", ("connect", "send", "sendall", "sendto", "recv", "recv_into", "recvfrom",
                                        "accept")),
               "ftplib.FTP", "ftplib.FTP_TLS",
               *_on(("ftplib.FTP()", "ftplib.FTP_TLS()"), ("connect", "login", "retrbinary", "retrlines",
                                                            "storbinary", "storlines", "nlst", "dir", "cwd",
                                                            "delete", "rename", "mkd", "rmd", "size", "quit"))),
    # cloud / SaaS SDKs: every client method is a request, except the local helpers in NOT_SLOW.
    **_entries(True, HTTP, *_on((*_BOTO3_CLIENTS, *_BOTO3_RESOURCES), ("**",))),
    **_entries(False, HTTP, *_on((*_AIOBOTO3_CLIENTS, "aioboto3.Session().resource()"), ("**",))),
    **_entries(True, HTTP, "slack_sdk.WebClient().*", "slack_sdk.WebhookClient().send", "slack.WebClient().*"),
    **_entries(False, HTTP, "slack_sdk.web.async_client.AsyncWebClient().*",
               "slack_sdk.webhook.async_client.AsyncWebhookClient().send"),
    **_entries(True, HTTP, *_on("twilio.rest.Client().**", ("create", "fetch", "update", "delete", "list", "stream"))),
    **_entries(True, PAYMENT, *_on(tuple(f"stripe.{r}" for r in _STRIPE_RESOURCES), _STRIPE_METHODS)),
    **_entries(False, PAYMENT, *_on(tuple(f"stripe.{r}" for r in _STRIPE_RESOURCES),
                                 tuple(f"{m}_async" for m in _STRIPE_METHODS))),
    **_entries(True, PAYMENT, "stripe.StripeClient().**"),
    **_entries(True, HTTP, *_on(("openai.OpenAI().**", "anthropic.Anthropic().**"), _SDK_CALLS)),
    **_entries(False, HTTP, *_on(("openai.AsyncOpenAI().**", "anthropic.AsyncAnthropic().**"), _SDK_CALLS)),
    **_entries(True, HTTP, *_on("google.cloud.storage.Client().**", (
        "upload_from_filename", "upload_from_string", "upload_from_file", "download_to_filename",
        "download_as_bytes", "download_as_text", "download_to_file", "delete", "exists", "reload",
        "list_blobs", "get_bucket",
    ))),  # fmt: skip
    # ------------------------------------------------------------------ files
    # open and friends (ASYNC230, ASYNC231)
    **_entries(True, FILE, "open", "io.open", "io.open_code", "os.fdopen", "codecs.open",
               "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile", "tempfile.mkstemp", "tempfile.mkdtemp",
               "tempfile.SpooledTemporaryFile", "tempfile.TemporaryDirectory", "fileinput.input", "json.dump",
               "pickle.dump", "json.load", "pickle.load", "csv.writer().writerow", "csv.writer().writerows",
               "csv.DictWriter().writerow", "csv.DictWriter().writerows", "csv.DictWriter().writeheader"),
    # file objects (ASYNC232)
    **_entries(True, FILE, *_on(_FILE_OBJECTS, _FILE_METHODS)),
    # pathlib / os.path (ASYNC230 ``Path.open``, ASYNC240)
    **_entries(True, FILE, *_on(tuple(f"{p}()" for p in _PATH_CLASSES), _PATH_IO)),
    **_entries(True, FILE, *_on("os.path", _OS_PATH_IO)),
    **_entries(True, FILE, *_on("os", _OS_FILE_FUNCTIONS), *_on("shutil", _SHUTIL_FUNCTIONS)),
    **_entries(True, FILE, "zipfile.ZipFile", "tarfile.open", "tarfile.TarFile", "gzip.open", "bz2.open", "lzma.open",
               "glob.glob", "glob.iglob",
               *_on("zipfile.ZipFile()", ("read", "write", "writestr", "extract", "extractall", "open", "testzip",
                                          "close")),
               *_on(("tarfile.open()", "tarfile.TarFile()"), ("extract", "extractall", "extractfile", "add",
                                                              "addfile", "getmembers", "getnames", "getmember",
                                                              "next", "close"))),  # fmt: skip
    # async file APIs
    **_entries(False, FILE, "aiofiles.open",
               *_on(("aiofiles.open()", "anyio.open_file()", "trio.open_file()"), _FILE_METHODS),
               "aiofiles.os.*", "aiofiles.os.path.*", "aiofiles.ospath.*", "aiofiles.tempfile.*",
               "anyio.open_file", "trio.open_file", *_on(("anyio.Path()", "trio.Path()"), _ASYNC_PATH_IO)),
    # ------------------------------------------------------------------ subprocesses (ASYNC220/221/222)
    **_entries(True, SUBPROCESS, *_on("subprocess", _SUBPROCESS_FUNCTIONS), "subprocess.Popen().communicate",
               "subprocess.Popen().wait", *_on("os", _OS_PROCESS_FUNCTIONS)),
    **_entries(False, SUBPROCESS, "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
               "asyncio.subprocess.create_subprocess_exec", "asyncio.subprocess.create_subprocess_shell",
               "anyio.run_process", "anyio.open_process", "trio.run_process"),
    # ------------------------------------------------------------------ pauses and console input (ASYNC250/251)
    **_entries(True, SLEEP, "time.sleep"),
    **_entries(False, SLEEP, "asyncio.sleep", "anyio.sleep", "trio.sleep"),
    **_entries(True, INPUT, "input", "builtins.input", "getpass.getpass"),
    # ------------------------------------------------------------------ databases
    **_entries(True, DB, *_DBAPI_SYNC_CONNECTS, *_on(tuple(f"{o}.**" for o in _DBAPI_SYNC_OBJECTS), _DBAPI_METHODS)),
    **_entries(False, DB, "asyncpg.connect", "asyncpg.create_pool",
               *_on(("asyncpg.connect()", "asyncpg.Connection()", "asyncpg.Pool()", "asyncpg.create_pool()"),
                    _ASYNCPG_METHODS),
               "aiosqlite.connect", *_on("aiosqlite.connect().**", (*_DBAPI_METHODS, "cursor", "close")),
               "psycopg.AsyncConnection.connect",
               *_on(("psycopg.AsyncConnection.connect().**", "psycopg.AsyncConnection().**"), _DBAPI_METHODS),
               "aiomysql.connect", "aiomysql.create_pool", *_on("aiomysql.connect().**", _DBAPI_METHODS),
               *_on("databases.Database()", ("connect", "disconnect", "execute", "execute_many", "fetch_all",
                                              "fetch_one", "fetch_val"))),  # fmt: skip
    **_entries(True, DB, *_on("pymongo.MongoClient().**", _MONGO_METHODS)),
    **_entries(False, DB, *_on(("motor.motor_asyncio.AsyncIOMotorClient().**", "pymongo.AsyncMongoClient().**"),
                               _MONGO_METHODS)),
    # SQLAlchemy / SQLModel sessions: only calls that talk to the database.
    **_entries(True, DB, *_on(_SYNC_SESSION, _SESSION_IO), *_on(f"{_SYNC_SESSION}.query().**", _QUERY_RUNNERS),
               *_on(tuple(f"{_SYNC_SESSION}.{m}().**" for m in ("execute", "scalars", "exec")), _RESULT_READERS)),
    **_entries(True, DB, "sqlalchemy.engine.Engine().connect", "sqlalchemy.engine.Engine().begin",
               *_on(("sqlalchemy.engine.Engine().connect()", "sqlalchemy.engine.Engine().begin()",
                     "sqlalchemy.engine.Connection()"), _CONNECTION_IO)),
    **_entries(False, DB, *_on(_ASYNC_SESSION, (*_SESSION_IO, "delete", "stream", "stream_scalars", "run_sync")),
               *_on(("sqlalchemy.ext.asyncio.AsyncEngine().connect()", "sqlalchemy.ext.asyncio.AsyncEngine().begin()",
                     "sqlalchemy.ext.asyncio.AsyncConnection()"), (*_CONNECTION_IO, "stream", "run_sync"))),
    # ------------------------------------------------------------------ caches
    **_entries(True, CACHE, *_on("redis.Redis()", _REDIS_COMMANDS)),
    **_entries(False, CACHE, *_on(("redis.asyncio.Redis()", "aioredis.Redis()"), _REDIS_COMMANDS)),
}

#: File-system calls that touch one inode or directory entry, not file data: a ``stat``, an
#: ``exists``, ``mkdir``/``rename``/``unlink`` of one path, a temp file's creation, listing one
#: directory, seeking or closing a file object. They cost microseconds on a local disk, so they are
#: reported only where they stand directly in an ``async def`` (as ruff's ASYNC240 does) and are
#: never deferrable work.
_FILE_METADATA = (
    *_on(tuple(f"{p}()" for p in _PATH_CLASSES), (
        "touch", "mkdir", "rmdir", "unlink", "rename", "replace", "exists", "is_dir", "is_file", "is_symlink",
        "is_mount", "is_junction", "is_block_device", "is_char_device", "is_fifo", "is_socket", "stat", "lstat",
        "iterdir", "glob", "chmod", "lchmod", "owner", "group", "readlink", "resolve", "samefile", "symlink_to",
        "hardlink_to", "link_to",
    )),
    *_on("os.path", _OS_PATH_IO),
    *_on("os", (
        "remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir", "rmdir", "removedirs", "listdir",
        "scandir", "stat", "lstat", "chmod", "lchmod", "fchmod", "chown", "lchown", "fchown", "link", "symlink",
        "readlink", "truncate", "ftruncate", "utime", "access", "statvfs", "mkfifo", "mknod",
    )),
    *_on("shutil", ("copymode", "copystat", "chown", "which", "disk_usage")),
    "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile", "tempfile.mkstemp", "tempfile.mkdtemp",
    "tempfile.SpooledTemporaryFile", "tempfile.TemporaryDirectory", "glob.glob", "glob.iglob",
    *_on(_FILE_OBJECTS, ("seek", "close")),
)  # fmt: skip
CATALOGUE.update(_entries(True, FILE, *_FILE_METADATA, cost=Cost.FILE_METADATA))
CATALOGUE.update(_entries(True, FILE, "json.dump", "pickle.dump", "shelve.open", persists=True))
#: Calls that return a lazy iterator: the directory is read, or the tree walked, as it is iterated.
LAZY_ITERATORS = (
    "os.scandir", "os.walk", "os.fwalk", "glob.iglob",
    *_on(tuple(f"{p}()" for p in _PATH_CLASSES), ("iterdir", "glob", "rglob", "walk")),
)  # fmt: skip
for _pattern in LAZY_ITERATORS:
    if _pattern in CATALOGUE:
        CATALOGUE[_pattern] = replace(CATALOGUE[_pattern], lazy=True)
CATALOGUE.update(_entries(True, HTTP, "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                          "socket.gethostbyaddr", cost=Cost.DNS))

#: In-memory file-likes: reading or writing them, or an archive, CSV writer or JSON dump over them,
#: touches no disk.
IN_MEMORY_FILES = frozenset({"io.BytesIO()", "io.StringIO()", "tempfile.SpooledTemporaryFile()"})
#: Calls whose file I/O goes through one argument (position, keyword): over an in-memory file-like they
#: do none, and neither does the object they return (``zipfile.ZipFile(io.BytesIO(data))``).
FILE_ARGUMENT: dict[str, tuple[int | None, str]] = {
    "zipfile.ZipFile": (0, "file"), "tarfile.open": (None, "fileobj"), "tarfile.TarFile": (None, "fileobj"),
    "gzip.GzipFile": (None, "fileobj"), "gzip.open": (0, "filename"), "bz2.open": (0, "filename"),
    "lzma.open": (0, "filename"), "io.TextIOWrapper": (0, "buffer"), "io.BufferedReader": (0, "raw"),
    "io.BufferedWriter": (0, "raw"), "csv.writer": (0, "csvfile"), "csv.DictWriter": (0, "f"),
    "json.dump": (1, "fp"), "json.load": (0, "fp"), "pickle.dump": (1, "file"), "pickle.load": (0, "file"),
    "shutil.copyfileobj": (1, "fdst"),
}  # fmt: skip

#: Which argument of a file call names what it writes (position, keyword). A method of a path or
#: file object writes to its receiver. A response that reads a name built for the target (``return
#: {"saved_as": new_name}``) refers to the write: the client relies on it having happened.
WRITE_TARGET: dict[str, tuple[int, str]] = {
    **{f"shutil.{f}": (1, "dst") for f in ("copy", "copy2", "copyfile", "copytree", "move")},
    "os.rename": (1, "dst"), "os.replace": (1, "dst"), "open": (0, "file"), "shutil.make_archive": (0, "base_name"),
}  # fmt: skip

#: Names that a wildcard above would catch but that do no slow work (local helpers of SDK
#: clients). Checked after exact entries and before wildcards; a user pattern with the same
#: spelling takes the name back.
NOT_SLOW: frozenset[str] = frozenset({
    # boto3/aiobotocore clients: paginators and waiters are built locally (their ``paginate``/``wait``
    # are the requests), ``meta``/``exceptions`` are introspection; a sync client signs URLs locally.
    *_on((*_BOTO3_CLIENTS, *_AIOBOTO3_CLIENTS), ("get_paginator", "get_waiter", "can_paginate", "meta.**",
                                                  "exceptions.**")),
    *_on(_BOTO3_CLIENTS, ("generate_presigned_url", "generate_presigned_post", "close")),
    # boto3 resources: sub-resource constructors (``s3.Bucket("b").Object("k")``) are lazy handles.
    *_on(tuple(f"{r}.**" for r in (*_BOTO3_RESOURCES, "aioboto3.Session().resource()")), (
        "meta.**", "Bucket", "Object", "ObjectSummary", "ObjectAcl", "MultipartUpload", "Table", "Queue",
        "Message", "Topic", "Subscription", "PlatformApplication", "Instance", "Image", "Volume", "Vpc",
    )),
    *_on("stripe.StripeClient()", ("construct_event", "parse_thin_event", "parse_event_notification")),
    # What an SDK call returns is data: ``s3.get_object(...).get("ContentLength")`` or
    # ``table.get_item(...)["Item"].get("name")`` reads a dict (a ``Body.read()`` stays slow).
    *_on(tuple(f"{c}.*()*.**" for c in (*_BOTO3_CLIENTS, *_AIOBOTO3_CLIENTS)), _DICT_READS),
    *_on(tuple(f"{r}.**.Table().*()*.**" for r in (*_BOTO3_RESOURCES, "aioboto3.Session().resource()")), _DICT_READS),
    *_on("stripe.StripeClient().**.*()*.**", _DICT_READS),
})  # fmt: skip

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
    "sqlalchemy.orm.session.sessionmaker()": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.session.async_sessionmaker()": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.create_engine()": "sqlalchemy.engine.Engine()",
    "sqlalchemy.engine.create_engine()": "sqlalchemy.engine.Engine()",
    "sqlmodel.create_engine()": "sqlalchemy.engine.Engine()",
    "sqlalchemy.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.base.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.base.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.ext.asyncio.create_async_engine()": "sqlalchemy.ext.asyncio.AsyncEngine()",
    "sqlalchemy.ext.asyncio.engine.AsyncEngine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.engine.AsyncConnection": "sqlalchemy.ext.asyncio.AsyncConnection",
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
    "redis.asyncio.client.Redis": "redis.asyncio.Redis",
    "redis.asyncio.StrictRedis": "redis.asyncio.Redis",
    "redis.asyncio.Redis.from_url()": "redis.asyncio.Redis()",
    "redis.asyncio.from_url()": "redis.asyncio.Redis()",
    "aioredis.from_url()": "aioredis.Redis()",
    "aioredis.client.Redis": "aioredis.Redis",
    "boto3.session.Session": "boto3.Session",
    "aioboto3.session.Session": "aioboto3.Session",
    "slack_sdk.webhook.WebhookClient": "slack_sdk.WebhookClient",
    "slack_sdk.webhook.client.WebhookClient": "slack_sdk.WebhookClient",
    "aiosmtplib.smtp.SMTP": "aiosmtplib.SMTP",
    "emails.message.Message": "emails.Message",
    "emails.api.html": "emails.html",
    "stripe._stripe_client.StripeClient": "stripe.StripeClient",
    "pymongo.mongo_client.MongoClient": "pymongo.MongoClient",
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
    "fastapi.FastAPI().router": "fastapi.APIRouter()",  # ``@app.router.get(...)``
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

#: The last names of the calls that schedule a background task, and of those that spawn an asyncio task.
TASK_CALLEES = ("add_task", "BackgroundTask", "BackgroundTasks")
SPAWNER_NAMES = ("create_task", "ensure_future")

#: ``asyncio`` calls that start a task whose reference must be kept (BGT206).
TASK_SPAWNERS = frozenset({"asyncio.create_task", "asyncio.ensure_future", "asyncio.get_event_loop().create_task",
                           "asyncio.get_running_loop().create_task", "asyncio.new_event_loop().create_task",
                           "asyncio.get_event_loop().ensure_future", "asyncio.AbstractEventLoop().create_task",
                           "asyncio.BaseEventLoop().create_task"})  # fmt: skip

#: Decorators that cache a function's result: its slow work happens once per process, not per call.
MEMOIZERS = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property", "cachetools.cached",
                       "cachetools.func.ttl_cache", "cachetools.func.lru_cache", "async_lru.alru_cache",
                       "aiocache.cached", "cachetools.cachedmethod"})  # fmt: skip
