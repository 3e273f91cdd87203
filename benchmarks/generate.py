"""Generate a deterministic, realistic FastAPI monorepo of a chosen size for benchmarking.

    python benchmarks/generate.py --lines 100000 --out /tmp/bench-tree [--seed 1]

Layout (plain stdlib, nothing is imported or executed; the code only has to be realistic to a linter)::

    pyproject.toml  .gitignore  .bench_manifest.json
    libs/<pkg>/<module>.py                      shared utility libraries (no route reaches them)
    tools/<tool>.py                             developer scripts
    services/<service>/app/__init__.py
        main.py                                 FastAPI app, ``app.include_router(...)`` for every router
        core/{config,db,security}.py            settings, engine + ``get_db`` (a yield dependency with a
                                                sync SQLAlchemy ``Session``), token helpers
        api/deps.py                             ``Depends`` chains: token -> user -> active user, pagination
        api/routes/<resource>s.py               ``APIRouter`` per resource: CRUD + actions, sync and async
                                                handlers, ``background_tasks.add_task(...)``
        services/<resource>_service.py          a service class with methods + module helpers
        services/notifications.py               -> integrations.email -> ``smtplib``
        crud/<resource>.py  models/<resource>.py  schemas/<resource>.py
        integrations/{email,webhooks,partner_api,storage}.py   ``smtplib`` / ``requests`` / ``httpx`` / ``open``
        utils/{text,formatting,validation,files}.py             helpers, a few calls deep
        workers/tasks.py                        functions run as background tasks
        domain/<resource>_<topic>.py            many small pure functions (not reached from routes)
        jobs/<resource>_<job>.py                cron-style batch jobs with blocking I/O (not reached)
        cli/<resource>_commands.py              argparse command modules (not reached)
    services/<service>/scripts/<verb>_<resource>.py         one-off scripts (not reached)

Roughly 40% of the lines are in the route-reachable part (routes, deps, services, crud, models,
schemas, integrations, utils, workers) and 60% in code no route reaches.  Output depends only on
``(seed, lines)``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".bench_manifest.json"
REACHABLE_SHARE = 0.40

SERVICE_NAMES = (
    "billing", "catalog", "identity", "fulfillment", "notifications", "analytics", "support", "inventory",
    "payments", "search", "gateway", "reporting", "media", "scheduler", "crm", "pricing", "shipping",
    "loyalty", "compliance", "marketplace",
)  # fmt: skip
SERVICE_SUFFIXES = ("", "_admin", "_internal", "_partner", "_edge", "_legacy", "_ops", "_sync", "_public", "_batch")
RESOURCES = (
    "user", "order", "invoice", "product", "customer", "payment", "shipment", "coupon", "review", "ticket",
    "report", "account", "subscription", "notification", "warehouse", "supplier", "category", "cart",
    "refund", "address", "team", "project", "task", "comment", "attachment", "audit_entry", "webhook",
    "plan", "price", "tenant", "organization", "device", "event", "message", "channel", "document",
    "template", "asset", "batch", "job", "schedule", "rule", "policy", "role", "permission", "token",
    "metric", "alert", "incident", "contract", "vendor", "quote", "lead", "campaign", "segment",
    "store", "region", "carrier", "parcel", "return_request", "membership", "voucher", "booking", "slot",
)  # fmt: skip
VERBS = (
    "compute", "normalize", "parse", "format", "validate", "merge", "split", "resolve", "build", "collect",
    "filter", "rank", "score", "estimate", "summarize", "convert", "extract", "render", "clean", "apply",
    "derive", "check", "select", "group", "count", "expand", "reduce", "match", "adjust", "round",
)  # fmt: skip
NOUNS = (
    "total", "discount", "label", "window", "bucket", "ratio", "threshold", "payload", "record", "entries",
    "weights", "tags", "slug", "period", "margin", "quota", "limit", "offset", "checksum", "digest",
    "amount", "status", "priority", "deadline", "balance", "fee", "rate", "score", "rank", "batch_size",
    "retention", "region", "currency", "locale", "timezone", "owner", "version", "revision", "segment",
)  # fmt: skip
LIB_PACKAGES = (
    "common", "textkit", "timeutils", "money", "geo", "observability", "retrying", "serialization",
    "httpkit", "storagekit", "featureflags", "auditing", "ratelimit", "caching", "imaging",
)  # fmt: skip
STATUSES = ("active", "pending", "archived", "draft", "failed", "closed", "open", "expired")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "JPY")
FIELDS = ("name", "title", "status", "amount", "quantity", "note", "code", "email", "priority", "region")
DOMAIN_TOPICS = ("rules", "pricing", "policies", "calculations", "scoring", "formatting", "windows", "limits")
JOB_KINDS = ("nightly", "reconcile", "backfill", "cleanup", "export", "digest", "sync")
SCRIPT_VERBS = ("backfill", "export", "import", "migrate", "audit", "reindex", "purge", "repair")
TOOLS = ("codegen", "release", "check_migrations", "lint_openapi", "bump_versions", "seed_data", "dump_routes")


# --------------------------------------------------------------------------- helpers


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def camel(word: str) -> str:
    return "".join(p.capitalize() for p in word.split("_"))


def tpl(template: str, **values: object) -> str:
    return "\n".join(sub(template, **values)) + "\n"


def wrap_def(line: str, limit: int = 110) -> list[str]:
    """Black-style: a ``def`` line that is too long gets one parameter per line."""
    head = line.lstrip()
    if len(line) <= limit or not head.startswith(("def ", "async def ")) or not line.endswith(":"):
        return [line]
    indent = line[: len(line) - len(head)]
    open_at = line.index("(")
    depth, close_at = 0, -1
    params, start = [], open_at + 1
    for i in range(open_at, len(line)):
        c = line[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                close_at = i
                break
        elif c == "," and depth == 1:
            params.append(line[start:i].strip())
            start = i + 1
    params.append(line[start:close_at].strip())
    return [line[: open_at + 1], *(f"{indent}    {p}," for p in params if p), f"{indent}{line[close_at:]}"]


def sub(template: str, **values: object) -> list[str]:
    """``@key`` placeholders (longest keys first, so ``@name_x`` is not eaten by ``@name``)."""
    text = template
    for key in sorted(values, key=len, reverse=True):
        text = text.replace("@" + key, str(values[key]))
    return text.strip("\n").split("\n")


@dataclass
class Imports:
    """``import x`` / ``from x import y`` collected while a module is written."""

    future: bool = True
    plain: set[str] = field(default_factory=set)
    froms: dict[str, set[str]] = field(default_factory=dict)

    def add(self, spec: str) -> None:
        if ":" in spec:
            mod, names = spec.split(":", 1)
            self.froms.setdefault(mod, set()).update(n.strip() for n in names.split(","))
        else:
            self.plain.add(spec)

    def render(self) -> list[str]:
        std, third, local = [], [], []
        third_party = ("fastapi", "sqlalchemy", "pydantic", "requests", "httpx", "starlette")
        for mod in sorted(self.plain):
            (third if mod.split(".")[0] in third_party else std).append(f"import {mod}")
        for mod in sorted(self.froms):
            names = ", ".join(sorted(self.froms[mod]))
            line = f"from {mod} import {names}"
            if len(line) > 100:
                inner = "".join(f"    {n},\n" for n in sorted(self.froms[mod]))
                line = f"from {mod} import (\n{inner})"
            head = mod.split(".")[0]
            (local if head in ("app", "libs") or mod.startswith(".") else third if head in third_party else std).append(line)
        out = ["from __future__ import annotations", ""] if self.future else []
        for group in (std, third, local):
            if group:
                out += group + [""]
        return out


class Module:
    """One generated file: docstring, imports, then blocks separated by two blank lines."""

    def __init__(self, doc: str | list[str]) -> None:
        self.doc = [doc] if isinstance(doc, str) else doc
        self.imports = Imports()
        self.preamble: list[str] = []
        self.blocks: list[list[str]] = []

    def need(self, *specs: str) -> None:
        for s in specs:
            self.imports.add(s)

    def text(self) -> str:
        if len(self.doc) == 1:
            out = [f'"""{self.doc[0]}"""', ""]
        else:
            out = [f'"""{self.doc[0]}', "", *self.doc[1:], '"""', ""]
        out += self.imports.render()
        if self.preamble:
            out += self.preamble + [""]
        for block in self.blocks:
            out += ["", *block, ""]
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- small pure functions
# Each template: (imports, signature kind, text).  ``@name`` is the function name, ``@noun`` a noun,
# ``@n`` a number, ``@word`` a status word, ``@field`` a field name, ``@cur`` a currency.

SMALL = [
    (("",), "num", '''
def @name(value: float, lower: float = 0.0, upper: float = @n.0) -> float:
    """Clamp ``value`` into ``[lower, upper]``."""
    if lower > upper:
        raise ValueError("lower must not exceed upper")
    return max(lower, min(upper, value))
'''),
    (("",), "str", '''
def @name(text: str) -> str:
    # Collapse runs of whitespace; @noun values come from free-text form fields.
    cleaned = " ".join(text.split())
    return cleaned.strip(" .,;:").lower()
'''),
    (("collections.abc:Sequence",), "items", '''
def @name(items: Sequence[object], size: int = @n) -> list[list[object]]:
    """Split ``items`` into lists of at most ``size`` elements."""
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
'''),
    (("",), "parse", '''
def @name(raw: str | None, default: int = @n) -> int:
    """Parse ``raw`` as an integer, falling back to ``default``."""
    if raw is None:
        return default
    try:
        return int(raw.strip())
    except ValueError:
        return default
'''),
    (("collections.abc:Iterable, Mapping", "decimal:Decimal, ROUND_HALF_UP", "typing:Any"), "records", '''
def @name(items: Iterable[Mapping[str, Any]], key: str = "@field") -> Decimal:
    """Sum ``key`` over ``items``, skipping missing values, rounded to cents."""
    total = Decimal("0")
    for item in items:
        value = item.get(key)
        if value is None:
            continue
        total += Decimal(str(value))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
'''),
    (("",), "ratio", '''
def @name(part: float, whole: float, digits: int = 2) -> float:
    if not whole:
        return 0.0
    return round(100.0 * part / whole, digits)
'''),
    (("decimal:Decimal",), "money", '''
def @name(amount: Decimal, currency: str = "@cur") -> str:
    """Format ``amount`` with thousands separators, e.g. ``1,234.50 @cur``."""
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{','.join(groups)}.{cents} {currency}"
'''),
    (("datetime:date, timedelta",), "dates", '''
def @name(start: date, end: date, step_days: int = @n) -> list[date]:
    """Every ``step_days``-th day from ``start`` up to and including ``end``."""
    days = []
    current = start
    while current <= end:
        days.append(current)
        current += timedelta(days=step_days)
    return days
'''),
    (("collections.abc:Iterable, Mapping", "typing:Any"), "records", '''
def @name(records: Iterable[Mapping[str, Any]], status: str = "@word") -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("status") == status and not r.get("deleted")]
'''),
    (("re",), "str", '''
def @name(value: str) -> str:
    """Validate a @noun identifier and return it normalised."""
    candidate = value.strip()
    if not candidate:
        raise ValueError("@noun must not be empty")
    if len(candidate) > @n:
        raise ValueError(f"@noun is longer than @n characters: {candidate!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", candidate):
        raise ValueError(f"@noun contains invalid characters: {candidate!r}")
    return candidate.lower()
'''),
    (("collections.abc:Mapping, Sequence", "typing:Any"), "mapping", '''
def @name(data: Mapping[str, Any], keys: Sequence[str] = ("id", "@field", "updated_at")) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data}
'''),
    (("collections:defaultdict", "collections.abc:Iterable, Mapping", "typing:Any"), "records", '''
def @name(items: Iterable[Mapping[str, Any]], field_name: str = "@field") -> dict[Any, list[Mapping[str, Any]]]:
    """Group ``items`` by the value of ``field_name``."""
    groups: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        groups[item.get(field_name)].append(item)
    return dict(groups)
'''),
    (("collections.abc:Iterable",), "items", '''
def @name(nested: Iterable[Iterable[object]]) -> list[object]:
    out: list[object] = []
    for group in nested:
        out.extend(group)
    return out
'''),
    (("math", "collections.abc:Mapping"), "weights", '''
def @name(weights: Mapping[str, float], values: Mapping[str, float]) -> float:
    """Weighted @noun score squashed into ``(-1, 1)``."""
    score = 0.0
    for key, weight in weights.items():
        score += weight * float(values.get(key, 0.0))
    return math.tanh(score / max(len(weights), 1))
'''),
    (("re",), "str", '''
def @name(text: str, separator: str = "-") -> str:
    text = re.sub(r"[^\\w\\s-]", "", text.lower())
    return re.sub(r"[\\s_-]+", separator, text).strip(separator)
'''),
    (("datetime:datetime, timezone",), "when", '''
def @name(moment: datetime | None = None) -> str:
    """ISO-8601 timestamp in UTC (now when ``moment`` is None)."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
'''),
    (("hashlib",), "str", '''
def @name(value: str) -> str:
    # Short, stable fingerprint used in cache keys and log lines.
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:@n]
'''),
    (("",), "num", '''
def @name(value: float, step: float = 0.05) -> float:
    """Round ``value`` to the nearest multiple of ``step``."""
    if step <= 0:
        return value
    return round(round(value / step) * step, 6)
'''),
    (("collections.abc:Mapping", "typing:Any"), "mapping", '''
def @name(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = @name(merged[key], value)
        else:
            merged[key] = value
    return merged
'''),
]

CLASS_TEMPLATES = [
    (("dataclasses:dataclass, field",), '''
@dataclass(frozen=True)
class @Cls:
    """A @noun band with inclusive bounds."""

    name: str
    lower: float = 0.0
    upper: float = @n.0
    tags: tuple[str, ...] = field(default_factory=tuple)

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def width(self) -> float:
        return self.upper - self.lower

    def label(self) -> str:
        return f"{self.name} [{self.lower:g}, {self.upper:g}]"
'''),
    (("math",), '''
class @Cls:
    """Keeps the last ``window`` @noun samples and reports simple statistics."""

    def __init__(self, window: int = @n) -> None:
        self.window = window
        self._values: list[float] = []

    def add(self, value: float) -> None:
        self._values.append(value)
        if len(self._values) > self.window:
            del self._values[0]

    def mean(self) -> float:
        return sum(self._values) / len(self._values) if self._values else 0.0

    def spread(self) -> float:
        if len(self._values) < 2:
            return 0.0
        m = self.mean()
        return math.sqrt(sum((v - m) ** 2 for v in self._values) / (len(self._values) - 1))

    def __len__(self) -> int:
        return len(self._values)
'''),
    (("typing:Any",), '''
class @Cls:
    """Builds a @noun document step by step."""

    def __init__(self, kind: str = "@word") -> None:
        self.kind = kind
        self.fields: dict[str, Any] = {}
        self.warnings: list[str] = []

    def set(self, key: str, value: Any) -> "@Cls":
        if value is None:
            self.warnings.append(f"{key} is empty")
        self.fields[key] = value
        return self

    def extend(self, **values: Any) -> "@Cls":
        for key, value in values.items():
            self.set(key, value)
        return self

    def build(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.fields, "warnings": list(self.warnings)}
'''),
]

IO_TEMPLATES = [
    (("json", "pathlib:Path", "typing:Any"), '''
def @name(path: str | Path) -> dict[str, Any]:
    """Load a JSON document from ``path``."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
'''),
    (("requests", "typing:Any"), '''
def @name(url: str, timeout: float = @n.0) -> dict[str, Any]:
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    return response.json()
'''),
    (("requests",), '''
async def @name(url: str) -> int:
    # TODO: switch to httpx.AsyncClient; this blocks the loop while the partner answers.
    response = requests.get(url, timeout=10)
    return response.status_code
'''),
    (("time", "functools", "collections.abc:Callable", "typing:Any"), '''
def @name(attempts: int = 3, delay: float = 0.@n) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Retry the decorated function on any exception, sleeping between attempts."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except Exception:
                    if attempt == attempts:
                        raise
                    time.sleep(delay * attempt)
            return None

        return wrapper

    return decorator
'''),
    (("csv", "pathlib:Path", "collections.abc:Iterable, Sequence"), '''
def @name(path: Path, rows: Iterable[Sequence[object]], header: Sequence[str] = ("id", "@field")) -> int:
    """Write ``rows`` as CSV; return the number of data rows."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
'''),
    (("time", "asyncio"), '''
async def @name(poll_seconds: float = @n.0) -> None:
    """Poll until the @noun queue drains."""
    while True:
        await asyncio.sleep(0)
        time.sleep(poll_seconds)  # blocks the loop; kept for the legacy worker
        break
'''),
]


class Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fn(self, used: set[str], prefix: str = "") -> str:
        for _ in range(200):
            parts = [self.rng.choice(VERBS)]
            if prefix:
                parts.append(prefix)
            parts.append(self.rng.choice(NOUNS))
            name = "_".join(parts)
            if name not in used:
                used.add(name)
                return name
        n = len(used)
        name = f"{self.rng.choice(VERBS)}_{prefix or 'value'}_{n}"
        used.add(name)
        return name


def small_functions(mod: Module, rng: random.Random, names: Names, count: int, prefix: str = "",
                    io_share: float = 0.0, classes: int = 0) -> list[str]:  # fmt: skip
    """Append ``count`` small functions (and ``classes`` classes) to ``mod``; return the function names."""
    used: set[str] = set()
    made: list[str] = []
    by_kind: dict[str, list[str]] = {}
    for _ in range(count):
        name = names.fn(used, prefix)
        if io_share and rng.random() < io_share:
            imports, tpl = rng.choice(IO_TEMPLATES)
            kind = "io"
        else:
            imports, kind, tpl = rng.choice(SMALL)
        lines = sub(tpl, name=name, noun=rng.choice(NOUNS), n=rng.randint(2, 64), word=rng.choice(STATUSES),
                    field=rng.choice(FIELDS), cur=rng.choice(CURRENCIES))  # fmt: skip
        for spec in imports:
            if spec:
                mod.need(spec)
        mod.blocks.append(lines)
        made.append(name)
        # Now and then a wrapper composing two helpers of the same shape: call depth inside a module.
        peers = by_kind.get(kind, [])
        if kind == "str" and peers and rng.random() < 0.5:
            inner = rng.choice(peers)
            wrap = names.fn(used, prefix)
            mod.blocks.append(sub('''
def @wrap(text: str) -> str:
    """Shorthand for ``@name(@inner(text))``."""
    return @name(@inner(text))
''', wrap=wrap, name=name, inner=inner))
            made.append(wrap)
        by_kind.setdefault(kind, []).append(name)
    for _ in range(classes):
        imports, tpl = rng.choice(CLASS_TEMPLATES)
        cls = camel(f"{prefix}_{rng.choice(NOUNS)}") + rng.choice(("Band", "Window", "Builder", "Tracker", "Spec"))
        for spec in imports:
            mod.need(spec)
        mod.blocks.insert(rng.randint(0, len(mod.blocks)), sub(tpl, Cls=cls, noun=rng.choice(NOUNS),
                                                               n=rng.randint(3, 90), word=rng.choice(STATUSES)))  # fmt: skip
    return made


# --------------------------------------------------------------------------- one service


@dataclass
class Service:
    name: str
    style: str  # "classic" (db: Session = Depends(get_db)) or "annotated" (DbSession alias)
    resources: list[str] = field(default_factory=list)
    core_written: bool = False


class Generator:
    def __init__(self, out: Path, lines: int, seed: int) -> None:
        self.out = out
        self.target = lines
        self.rng = random.Random(f"bgtask-bench:{seed}")
        self.names = Names(self.rng)
        self.files: dict[str, str] = {}
        self.kinds: dict[str, str] = {}  # path -> "reachable" / "unreachable" / "other"
        self.services: list[Service] = []
        self.lines = 0
        self.reach_lines = 0

    # ------------------------------------------------------------------ bookkeeping

    def put(self, path: str, text: str, kind: str) -> None:
        assert path not in self.files, path
        self.files[path] = text
        self.kinds[path] = kind
        n = text.count("\n")
        self.lines += n
        if kind == "reachable":
            self.reach_lines += n

    def put_module(self, path: str, mod: Module, kind: str) -> None:
        self.put(path, mod.text(), kind)

    def package(self, path: str, doc: str, kind: str = "reachable") -> None:
        if path not in self.files:
            self.put(path, f'"""{doc}"""\n', kind)

    # ------------------------------------------------------------------ top level

    def run(self) -> dict:
        self.put("pyproject.toml", PYPROJECT, "other")
        self.put(".gitignore", "__pycache__/\n*.pyc\n.venv/\n.env\n", "other")
        reach_budget = self.target * REACHABLE_SHARE
        svc_index = 0
        while self.reach_lines < reach_budget or not self.services:
            svc = self.new_service(svc_index)
            svc_index += 1
            wanted = self.rng.randint(6, 12)
            while len(svc.resources) < wanted and (self.reach_lines < reach_budget or len(svc.resources) < 3):
                self.add_resource(svc)
            self.finish_service(svc)
        self.fill_unreachable()
        return self.write()

    def new_service(self, i: int) -> Service:
        base = SERVICE_NAMES[i % len(SERVICE_NAMES)]
        suffix = SERVICE_SUFFIXES[(i // len(SERVICE_NAMES)) % len(SERVICE_SUFFIXES)]
        extra = i // (len(SERVICE_NAMES) * len(SERVICE_SUFFIXES))
        name = f"{base}{suffix}{extra if extra else ''}"
        svc = Service(name, self.rng.choice(("classic", "classic", "annotated")))
        self.services.append(svc)
        self.write_core(svc)
        return svc

    def root(self, svc: Service) -> str:
        return f"services/{svc.name}/app"

    # ------------------------------------------------------------------ core files of a service

    def write_core(self, svc: Service) -> None:
        r = self.root(svc)
        rng = self.rng
        for pkg, doc in (("", f"The {svc.name} service."), ("core", "Settings, database and security."),
                         ("api", "HTTP layer."), ("api/routes", "One router per resource."),
                         ("services", "Business logic."), ("crud", "Database access."),
                         ("models", "ORM models."), ("schemas", "Request and response models."),
                         ("integrations", "Clients for mail, webhooks, partners and storage."),
                         ("utils", "Small helpers."), ("workers", "Work that runs after the response.")):  # fmt: skip
            self.package(f"{r}/{pkg}/__init__.py".replace("//", "/"), doc)

        self.put(f"{r}/core/config.py", tpl(CONFIG, service=svc.name, port=rng.randint(2000, 9000),
                                            pool=rng.randint(5, 30)), "reachable")  # fmt: skip
        self.put(f"{r}/core/db.py", tpl(DB), "reachable")
        self.put(f"{r}/core/security.py", tpl(SECURITY, minutes=rng.choice((15, 30, 60, 120))), "reachable")
        deps = DEPS_CLASSIC if svc.style == "classic" else DEPS_ANNOTATED
        self.put(f"{r}/api/deps.py", tpl(deps, limit=rng.choice((50, 100, 200))), "reachable")
        self.put(f"{r}/integrations/email.py", tpl(EMAIL, service=svc.name), "reachable")
        self.put(f"{r}/integrations/webhooks.py", tpl(WEBHOOKS), "reachable")
        self.put(f"{r}/integrations/partner_api.py", tpl(PARTNER_API, service=svc.name), "reachable")
        self.put(f"{r}/integrations/storage.py", tpl(STORAGE, service=svc.name), "reachable")
        self.put(f"{r}/services/notifications.py", tpl(NOTIFICATIONS, service=svc.name), "reachable")
        self.put(f"{r}/utils/text.py", self.utils_text(), "reachable")
        self.put(f"{r}/utils/formatting.py", tpl(FORMATTING), "reachable")
        self.put(f"{r}/utils/validation.py", tpl(VALIDATION), "reachable")
        self.put(f"{r}/utils/files.py", tpl(FILES), "reachable")

    def utils_text(self) -> str:
        mod = Module(["Text helpers shared by services and schemas.", "",
                      "Everything here is pure: no I/O, no global state."])  # fmt: skip
        mod.need("re", "unicodedata")
        mod.blocks.append(sub(TEXT_FIXED))
        small_functions(mod, self.rng, self.names, self.rng.randint(4, 10))
        return mod.text()

    def finish_service(self, svc: Service) -> None:
        r = self.root(svc)
        mod = Module(f"Application entry point for the {svc.name} service.")
        mod.need("logging", "fastapi:FastAPI", "fastapi.middleware.cors:CORSMiddleware",
                 "app.core.config:settings", "app.api.routes:" + ", ".join(plural(x) for x in svc.resources))  # fmt: skip
        mod.preamble = ["logger = logging.getLogger(__name__)"]
        mod.blocks.append(sub(MAIN_APP, service=svc.name))
        mod.blocks.append([f"app.include_router({plural(x)}.router, prefix=settings.api_prefix)" for x in svc.resources])
        mod.blocks.append(sub(MAIN_TAIL))
        self.put_module(f"{r}/main.py", mod, "reachable")
        tasks = Module(["Functions handed to ``BackgroundTasks.add_task``.", "",
                        "They run after the response is sent, so they must handle their own errors."])  # fmt: skip
        tasks.need("logging", "smtplib", "requests", "sqlalchemy.orm:Session",
                   "app.integrations.email:send_email", "app.integrations.webhooks:post_webhook",
                   "app.services.notifications:notify_user")  # fmt: skip
        tasks.preamble = ["logger = logging.getLogger(__name__)"]
        for res in svc.resources:
            tasks.blocks += self.task_functions(res)
        self.put_module(f"{r}/workers/tasks.py", tasks, "reachable")

    def task_functions(self, res: str) -> list[list[str]]:
        rng = self.rng
        blocks = []
        if rng.random() < 0.7:
            blocks.append(sub(TASK_SAFE, res=res, Res=camel(res)))
        else:
            blocks.append(sub(TASK_UNSAFE, res=res, Res=camel(res)))
        blocks.append(sub(TASK_WEBHOOK, res=res))
        blocks.append(sub(TASK_AUDIT, res=res))
        return blocks

    # ------------------------------------------------------------------ one resource

    def add_resource(self, svc: Service) -> None:
        taken = set(svc.resources)
        choices = [x for x in RESOURCES if x not in taken]
        res = self.rng.choice(choices)
        svc.resources.append(res)
        r = self.root(svc)
        self.put(f"{r}/models/{res}.py", self.model(res), "reachable")
        self.put(f"{r}/schemas/{res}.py", self.schema(res), "reachable")
        self.put(f"{r}/crud/{res}.py", self.crud(res), "reachable")
        self.put(f"{r}/services/{res}_service.py", self.service(res), "reachable")
        self.put(f"{r}/api/routes/{plural(res)}.py", self.routes(svc, res), "reachable")

    def model(self, res: str) -> str:
        rng, Res = self.rng, camel(res)
        mod = Module(f"ORM model for {plural(res).replace('_', ' ')}.")
        mod.need("datetime:datetime, timezone", "decimal:Decimal", "typing:Any",
                 "sqlalchemy:Boolean, Column, DateTime, ForeignKey, Integer, Numeric, String, Text",
                 "app.core.db:Base")  # fmt: skip
        cols = [f'    {f} = Column({t})' for f, t in rng.sample(MODEL_COLUMNS, rng.randint(4, 9))]
        mod.blocks.append(sub(MODEL_CLASS, Res=Res, table=plural(res)) + cols + [""] + sub(MODEL_METHODS, Res=Res, res=res))
        small_functions(mod, rng, self.names, rng.randint(2, 6), prefix=res)
        return mod.text()

    def schema(self, res: str) -> str:
        rng, Res = self.rng, camel(res)
        mod = Module(f"Pydantic schemas for {plural(res).replace('_', ' ')}.")
        mod.need("datetime:datetime", "pydantic:BaseModel, Field, validator", "app.utils.text:normalize_whitespace")
        fields = rng.sample(SCHEMA_FIELDS, rng.randint(3, 6))
        mod.blocks.append([f"class {Res}Base(BaseModel):", f'    """Fields shared by every {res.replace("_", " ")} schema."""', "",
                           *[f"    {f}" for f in fields], "", *sub(SCHEMA_VALIDATOR)])
        mod.blocks += [sub(block, Res=Res) for block in SCHEMA_REST.split("\n\n\n")]
        return mod.text()

    def crud(self, res: str) -> str:
        Res = camel(res)
        mod = Module(f"Queries for :class:`~app.models.{res}.{Res}`; every function takes the request's session.")
        mod.need("collections.abc:Sequence", "typing:Any", "sqlalchemy.orm:Session", f"app.models.{res}:{Res}")
        mod.blocks += [sub(t, Res=Res, res=res) for t in CRUD]
        if self.rng.random() < 0.5:
            mod.blocks.append(sub(CRUD_EXTRA, Res=Res, res=res))
        return mod.text()

    def service(self, res: str) -> str:
        rng, Res = self.rng, camel(res)
        mod = Module([f"Use cases for {plural(res).replace('_', ' ')}.", "",
                      "Routes call into :class:`" + Res + "Service`; helpers below stay free of I/O."])  # fmt: skip
        mod.need("logging", "collections.abc:Iterable", "typing:Any", "sqlalchemy.orm:Session",
                 f"app.crud:{res} as {res}_crud",
                 f"app.models.{res}:{Res}", f"app.schemas.{res}:{Res}Create, {Res}Update",
                 "app.services:notifications", "app.utils.formatting:format_title, format_money",
                 "app.utils.validation:ensure_length", "app.utils.files:write_csv",
                 "app.integrations.webhooks:post_webhook", "app.integrations.partner_api:push_record")  # fmt: skip
        mod.preamble = ["logger = logging.getLogger(__name__)", 'EXPORT_COLUMNS = ("id", "name", "status", "created_at")']
        mod.blocks.append(sub(SERVICE_CLASS, Res=Res, res=res, res_h=res.replace("_", " ")))
        mod.blocks.append(sub(SERVICE_HELPERS, Res=Res, res=res))
        small_functions(mod, rng, self.names, rng.randint(1, 4), prefix=res)
        return mod.text()

    def routes(self, svc: Service, res: str) -> str:
        rng, Res, many = self.rng, camel(res), plural(res)
        mod = Module(f"HTTP endpoints for {many.replace('_', ' ')}.")
        mod.need("logging", "typing:Any", "fastapi:APIRouter, BackgroundTasks, Depends, HTTPException, status",
                 "sqlalchemy.orm:Session", f"app.schemas.{res}:{Res}Create, {Res}Out, {Res}Update",
                 f"app.services.{res}_service:{Res}Service", "app.workers:tasks")  # fmt: skip
        if svc.style == "classic":
            mod.need("app.api.deps:CurrentUser, Pagination, get_current_active_user, get_db, get_pagination")
        else:
            mod.need("app.api.deps:ActiveUser, DbSession, Page")
        mod.preamble = ["logger = logging.getLogger(__name__)", "",
                        f'router = APIRouter(prefix="/{many.replace("_", "-")}", tags=["{many}"])']  # fmt: skip
        endpoints = ["list", "get", "create", "update", "delete"]
        endpoints = [e for e in endpoints if e in ("list", "get") or rng.random() < 0.85]
        actions = {"export": 10, "send": 10, "sync": 8, "archive": 10, "search": 8, "stats": 8, "ping_partner": 1, "import": 1}
        for _ in range(rng.randint(2, 5)):
            pick = rng.choices(list(actions), weights=list(actions.values()))[0]
            if pick not in endpoints:
                endpoints.append(pick)
        for ep in endpoints:
            is_async = rng.random() < 0.35
            mod.blocks.append(self.endpoint(svc, res, ep, is_async))
        return mod.text()

    def endpoint(self, svc: Service, res: str, ep: str, is_async: bool) -> list[str]:
        rng, Res, many = self.rng, camel(res), plural(res)
        classic = svc.style == "classic"
        db = "db: Session = Depends(get_db)" if classic else "db: DbSession"
        user = "current_user: CurrentUser = Depends(get_current_active_user)" if classic else "current_user: ActiveUser"
        page = "pagination: Pagination = Depends(get_pagination)" if classic else "pagination: Page"
        d = "async def" if is_async else "def"
        v = {"res": res, "Res": Res, "many": many, "d": d, "db": db, "user": user, "page": page}
        tpl = ENDPOINTS[ep]
        if isinstance(tpl, tuple):  # variants: (deferred, inline, ...)
            tpl = rng.choices(tpl, weights=(6, 3, 1)[: len(tpl)])[0]
        return [wrapped for line in sub(tpl, **v) for wrapped in wrap_def(line)]

    # ------------------------------------------------------------------ code no route reaches

    def fill_unreachable(self) -> None:
        rng = self.rng
        self.package("libs/__init__.py", "Libraries shared by every service.", "unreachable")
        counters: dict[str, int] = {}
        i = 0
        while self.lines < self.target:
            svc = self.services[i % len(self.services)]
            i += 1
            kind = rng.choices(("domain", "jobs", "scripts", "cli", "libs", "tools"), weights=(32, 18, 14, 10, 24, 2))[0]
            if kind == "domain":
                self.domain_module(svc, counters)
            elif kind == "jobs":
                self.job_module(svc, counters)
            elif kind == "scripts":
                self.script(svc, counters)
            elif kind == "cli":
                self.cli_module(svc, counters)
            elif kind == "libs":
                self.lib_module(counters)
            else:
                self.tool(counters)

    def unique(self, path_fmt: str, counters: dict[str, int]) -> str:
        n = counters.get(path_fmt, 0)
        counters[path_fmt] = n + 1
        return path_fmt.replace("{n}", "" if n == 0 else f"_{n + 1}")

    def domain_module(self, svc: Service, counters: dict[str, int]) -> None:
        rng = self.rng
        res = rng.choice(svc.resources)
        topic = rng.choice(DOMAIN_TOPICS)
        r = self.root(svc)
        self.package(f"{r}/domain/__init__.py", "Domain rules, kept independent of the web layer.", "unreachable")
        path = self.unique(f"{r}/domain/{res}_{topic}{{n}}.py", counters)
        mod = Module([f"{camel(topic)} for {plural(res).replace('_', ' ')}.", "",
                      "Small, pure functions; each one is unit-tested on its own."])  # fmt: skip
        small_functions(mod, rng, self.names, rng.randint(8, 30), prefix=res, classes=rng.randint(0, 2))
        self.put_module(path, mod, "unreachable")

    def job_module(self, svc: Service, counters: dict[str, int]) -> None:
        rng = self.rng
        res = rng.choice(svc.resources)
        job = rng.choice(JOB_KINDS)
        r = self.root(svc)
        self.package(f"{r}/jobs/__init__.py", "Batch jobs started by the scheduler, never by a request.", "unreachable")
        path = self.unique(f"{r}/jobs/{res}_{job}{{n}}.py", counters)
        mod = Module([f"{camel(job)} job for {plural(res).replace('_', ' ')}.", "",
                      "Runs from cron inside the worker container; blocking I/O is fine here."])  # fmt: skip
        mod.need("logging", "sqlalchemy.orm:Session", "app.core.db:SessionLocal", f"app.crud:{res} as {res}_crud")
        mod.preamble = ["logger = logging.getLogger(__name__)"]
        mod.blocks.append(sub(JOB_MAIN, res=res, job=job, Res=camel(res)))
        small_functions(mod, rng, self.names, rng.randint(4, 14), prefix=res, io_share=0.35)
        self.put_module(path, mod, "unreachable")

    def script(self, svc: Service, counters: dict[str, int]) -> None:
        rng = self.rng
        res = rng.choice(svc.resources)
        verb = rng.choice(SCRIPT_VERBS)
        path = self.unique(f"services/{svc.name}/scripts/{verb}_{plural(res)}{{n}}.py", counters)
        mod = Module([f"{verb.capitalize()} {plural(res).replace('_', ' ')} (one-off operations script).", "",
                      f"Usage: python scripts/{Path(path).name} --env staging [--dry-run]"])  # fmt: skip
        mod.need("argparse", "json", "logging", "sys", "time", "pathlib:Path", "requests")
        mod.preamble = ["logger = logging.getLogger(__name__)", f'API = "https://{svc.name}.internal/api/v1"']
        small_functions(mod, rng, self.names, rng.randint(2, 8), prefix=res, io_share=0.4)
        mod.blocks.append(sub(SCRIPT_MAIN, res=res, many=plural(res), verb=verb))
        mod.blocks.append(['if __name__ == "__main__":', "    sys.exit(main())"])
        self.put_module(path, mod, "unreachable")

    def cli_module(self, svc: Service, counters: dict[str, int]) -> None:
        rng = self.rng
        res = rng.choice(svc.resources)
        r = self.root(svc)
        self.package(f"{r}/cli/__init__.py", "Management commands (``python -m app.cli.<name>``).", "unreachable")
        path = self.unique(f"{r}/cli/{res}_commands{{n}}.py", counters)
        mod = Module(f"Management commands for {plural(res).replace('_', ' ')}.")
        mod.need("argparse", "logging", "subprocess", "sys", "app.core.db:SessionLocal",
                 f"app.models.{res}:{camel(res)}")  # fmt: skip
        mod.preamble = ["logger = logging.getLogger(__name__)"]
        for cmd in rng.sample(("list", "show", "purge", "reindex", "dump", "restore", "verify"), rng.randint(2, 5)):
            mod.blocks.append(sub(CLI_COMMAND, res=res, Res=camel(res), cmd=cmd))
        small_functions(mod, rng, self.names, rng.randint(1, 5), prefix=res)
        mod.blocks.append(sub(CLI_MAIN, res=res))
        mod.blocks.append(['if __name__ == "__main__":', "    sys.exit(main())"])
        self.put_module(path, mod, "unreachable")

    def lib_module(self, counters: dict[str, int]) -> None:
        rng = self.rng
        pkg = rng.choice(LIB_PACKAGES)
        self.package(f"libs/{pkg}/__init__.py", f"``{pkg}``: helpers shared across services.", "unreachable")
        topic = rng.choice(NOUNS)
        path = self.unique(f"libs/{pkg}/{topic}{{n}}.py", counters)
        mod = Module([f"{topic.replace('_', ' ').capitalize()} helpers.", "",
                      "Kept dependency-free so every service can vendor it."])  # fmt: skip
        small_functions(mod, rng, self.names, rng.randint(10, 36), io_share=0.08, classes=rng.randint(0, 3))
        self.put_module(path, mod, "unreachable")

    def tool(self, counters: dict[str, int]) -> None:
        rng = self.rng
        path = self.unique(f"tools/{rng.choice(TOOLS)}{{n}}.py", counters)
        mod = Module("Developer tool; run from the repository root.")
        mod.need("argparse", "subprocess", "sys", "pathlib:Path")
        small_functions(mod, rng, self.names, rng.randint(3, 10), io_share=0.3)
        mod.blocks.append(sub(TOOL_MAIN))
        mod.blocks.append(['if __name__ == "__main__":', "    sys.exit(main())"])
        self.put_module(path, mod, "unreachable")

    # ------------------------------------------------------------------ output

    def write(self) -> dict:
        for rel in sorted(self.files):
            p = self.out / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(self.files[rel], encoding="utf-8")
        py = sorted(p for p in self.files if p.endswith(".py"))
        reach = [p for p in py if self.kinds[p] == "reachable"]
        # The files a typical commit touches: a router, its service, and a shared library module.
        svc = self.services[len(self.services) // 2]
        res = svc.resources[len(svc.resources) // 2]
        lib = next((p for p in py if p.startswith("libs/") and not p.endswith("__init__.py")), py[-1])
        edit = [f"{self.root(svc)}/api/routes/{plural(res)}.py", f"{self.root(svc)}/services/{res}_service.py", lib]
        manifest = {
            "generator": "benchmarks/generate.py",
            "target_lines": self.target,
            "python_files": len(py),
            "python_lines": sum(self.files[p].count("\n") for p in py),
            "reachable_lines": sum(self.files[p].count("\n") for p in reach),
            "services": len(self.services),
            "resources": sum(len(s.resources) for s in self.services),
            "routers": sum(len(s.resources) for s in self.services),
            "edit_files": edit,
        }
        manifest["reachable_share"] = round(manifest["reachable_lines"] / max(manifest["python_lines"], 1), 3)
        (self.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return manifest


# --------------------------------------------------------------------------- fixed templates

PYPROJECT = """[project]
name = "acme-platform"
version = "0.0.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.110", "sqlalchemy>=2.0", "requests>=2.31", "httpx>=0.27"]
"""

CONFIG = '''
"""Settings for the @service service, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    return os.environ.get(f"@service_{name}".upper(), default)


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, in one place."""

    service_name: str = "@service"
    api_prefix: str = "/api/v1"
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "postgresql://localhost/@service"))
    pool_size: int = @pool
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", "change-me"))
    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", "localhost"))
    smtp_port: int = 25
    partner_url: str = field(default_factory=lambda: _env("PARTNER_URL", "https://partner.example.com"))
    export_dir: str = field(default_factory=lambda: _env("EXPORT_DIR", "/var/lib/@service/exports"))
    port: int = @port
    cors_origins: tuple[str, ...] = ("https://app.example.com",)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


settings = Settings()
'''

DB = '''
"""Engine, session factory and the per-request session dependency."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from app.core.config import settings

engine = create_engine(settings.database_url, pool_pre_ping=True, pool_size=settings.pool_size)
SessionLocal = sessionmaker(bind=engine, autoflush=False, autocommit=False)
Base = declarative_base()


def get_db() -> Iterator[Session]:
    """Yield one session per request; it is closed when the response has been sent."""
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
'''

SECURITY = '''
"""Password hashing and signed tokens (HMAC, no external dependencies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

TOKEN_MINUTES = @minutes


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000)
    return f"{salt}${digest.hex()}"


def verify_password(password: str, hashed: str) -> bool:
    salt, _, _ = hashed.partition("$")
    return hmac.compare_digest(hash_password(password, salt), hashed)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def create_token(subject: str, secret: str, minutes: int = TOKEN_MINUTES) -> str:
    payload = {"sub": subject, "exp": int(time.time()) + minutes * 60}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def decode_token(token: str, secret: str) -> dict[str, Any]:
    """Return the payload of ``token``; raise ``ValueError`` if it is forged or expired."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        raise ValueError("bad signature")
    padded = body + "=" * (-len(body) % 4)
    payload = json.loads(base64.urlsafe_b64decode(padded))
    if payload.get("exp", 0) < time.time():
        raise ValueError("token expired")
    return payload
'''

DEPS_CLASSIC = '''
"""Dependencies shared by the routers: session, current user, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Header, HTTPException, Query, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.config import settings
from app.core.db import get_db
from app.core.security import decode_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

__all__ = ["CurrentUser", "Pagination", "get_current_active_user", "get_current_user", "get_db", "get_pagination"]


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    is_active: bool
    is_admin: bool = False


@dataclass(frozen=True)
class Pagination:
    offset: int
    limit: int


def get_token_payload(token: str = Depends(oauth2_scheme)) -> dict[str, Any]:
    try:
        return decode_token(token, settings.secret_key)
    except ValueError as exc:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from exc


def get_current_user(
    payload: dict[str, Any] = Depends(get_token_payload),
    db: Session = Depends(get_db),
) -> CurrentUser:
    """Load the caller from the database (sync session: fine in a ``def`` dependency)."""
    row = db.execute(
        text("select id, email, is_active, is_admin from accounts where id = :id"), {"id": payload["sub"]}
    ).first()
    if row is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="unknown user")
    return CurrentUser(*row)


def get_current_active_user(user: CurrentUser = Depends(get_current_user)) -> CurrentUser:
    if not user.is_active:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="inactive user")
    return user


def get_pagination(offset: int = Query(0, ge=0), limit: int = Query(@limit, ge=1, le=500)) -> Pagination:
    return Pagination(offset=offset, limit=limit)


async def get_request_id(x_request_id: str | None = Header(default=None)) -> str:
    return x_request_id or "-"
'''

DEPS_ANNOTATED = '''
"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.config import settings
from app.core.db import get_db
from app.core.security import decode_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    is_active: bool
    is_admin: bool = False


@dataclass(frozen=True)
class Pagination:
    offset: int
    limit: int


DbSession = Annotated[Session, Depends(get_db)]


def get_token_payload(token: Annotated[str, Depends(oauth2_scheme)]) -> dict[str, Any]:
    try:
        return decode_token(token, settings.secret_key)
    except ValueError as exc:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from exc


def get_current_user(payload: Annotated[dict[str, Any], Depends(get_token_payload)], db: DbSession) -> CurrentUser:
    row = db.execute(
        text("select id, email, is_active, is_admin from accounts where id = :id"), {"id": payload["sub"]}
    ).first()
    if row is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="unknown user")
    return CurrentUser(*row)


def get_current_active_user(user: Annotated[CurrentUser, Depends(get_current_user)]) -> CurrentUser:
    if not user.is_active:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="inactive user")
    return user


ActiveUser = Annotated[CurrentUser, Depends(get_current_active_user)]


def get_pagination(offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = @limit) -> Pagination:
    return Pagination(offset=offset, limit=limit)


Page = Annotated[Pagination, Depends(get_pagination)]


async def get_request_id(x_request_id: Annotated[str | None, Header()] = None) -> str:
    return x_request_id or "-"
'''

EMAIL = '''
"""Outgoing e-mail over SMTP."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from app.core.config import settings

logger = logging.getLogger(__name__)
SENDER = "no-reply@@service.example.com"


def build_message(recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_email(recipient: str, subject: str, body: str) -> None:
    """Send one message; raises ``smtplib.SMTPException`` on failure."""
    message = build_message(recipient, subject, body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    logger.info("sent %r to %s", subject, recipient)
'''

WEBHOOKS = '''
"""Signed webhook deliveries to customer endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from app.core.config import settings


def sign(payload: bytes) -> str:
    return hmac.new(settings.secret_key.encode(), payload, hashlib.sha256).hexdigest()


def post_webhook(url: str, event: str, data: dict[str, Any]) -> int:
    """POST ``data`` to ``url``; return the HTTP status."""
    body = json.dumps({"event": event, "data": data}, default=str).encode()
    response = requests.post(
        url, data=body, headers={"Content-Type": "application/json", "X-Signature": sign(body)}, timeout=5
    )
    response.raise_for_status()
    return response.status_code
'''

PARTNER_API = '''
"""Client for the partner API (httpx, sync and async)."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.config import settings

USER_AGENT = "@service/1.0"


def _client() -> httpx.Client:
    return httpx.Client(base_url=settings.partner_url, timeout=10.0, headers={"User-Agent": USER_AGENT})


def push_record(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Send one record to the partner and return its acknowledgement."""
    with httpx.Client(base_url=settings.partner_url, timeout=10.0) as client:
        response = client.post(f"/v2/{kind}", json=record)
        response.raise_for_status()
        return response.json()


async def fetch_status(kind: str, record_id: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=settings.partner_url, timeout=10.0) as client:
        response = await client.get(f"/v2/{kind}/{record_id}")
        response.raise_for_status()
        return response.json()


def ping() -> bool:
    response = httpx.get(f"{settings.partner_url}/health", timeout=2.0)
    return response.status_code == 200
'''

STORAGE = '''
"""Export files on the local volume."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.core.config import settings


def export_path(name: str) -> Path:
    return Path(settings.export_dir) / name


def save_json(name: str, data: Any) -> str:
    path = export_path(name)
    os.makedirs(path.parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, default=str)
    return str(path)


def read_json(name: str) -> Any:
    with open(export_path(name), encoding="utf-8") as fh:
        return json.load(fh)
'''

NOTIFICATIONS = '''
"""User notifications: render a template, then e-mail it."""

from __future__ import annotations

import logging
from string import Template
from typing import Any

from app.integrations.email import send_email
from app.utils.formatting import format_title

logger = logging.getLogger(__name__)

TEMPLATES = {
    "created": Template("Hello,\\n\\n$kind $title was created.\\n\\n-- @service"),
    "updated": Template("Hello,\\n\\n$kind $title changed.\\n\\n-- @service"),
    "report": Template("Hello,\\n\\nyour $kind report is attached: $title\\n\\n-- @service"),
}


def render(template: str, **context: Any) -> str:
    return TEMPLATES[template].safe_substitute(**context)


def notify_user(recipient: str, template: str, kind: str, title: str) -> None:
    """E-mail ``recipient`` about an object (blocking: SMTP round trip)."""
    body = render(template, kind=kind, title=format_title(title))
    send_email(recipient, f"[@service] {kind} {template}", body)
'''

TEXT_FIXED = '''
_WS = re.compile(r"\\s+")


def normalize_whitespace(value: str) -> str:
    """Collapse whitespace runs to one space and strip the ends."""
    return _WS.sub(" ", value).strip()


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(value: str) -> str:
    value = strip_accents(normalize_whitespace(value)).lower()
    return re.sub(r"[^a-z0-9]+", "-", value).strip("-")


def truncate(value: str, length: int = 80, suffix: str = "...") -> str:
    if len(value) <= length:
        return value
    return value[: length - len(suffix)].rstrip() + suffix
'''

FORMATTING = '''
"""Formatting for titles, money and dates in responses and e-mails."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from app.utils.text import normalize_whitespace, truncate


def format_title(value: str, length: int = 60) -> str:
    # Titles end up in e-mail subjects: keep them on one line and short.
    return truncate(normalize_whitespace(value), length).title()


def format_money(amount: Decimal | float, currency: str = "EUR") -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:,} {currency}"


def format_when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
'''

VALIDATION = '''
"""Input checks used by services before anything touches the database."""

from __future__ import annotations

from app.utils.text import normalize_whitespace


def ensure_length(value: str, minimum: int = 1, maximum: int = 200) -> str:
    value = normalize_whitespace(value)
    if not minimum <= len(value) <= maximum:
        raise ValueError(f"length must be between {minimum} and {maximum}")
    return value


def ensure_positive(value: float, name: str = "value") -> float:
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value
'''

FILES = '''
"""CSV exports written to the shared volume."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.integrations.storage import export_path


def write_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Write an export file and return its path (blocking disk I/O)."""
    path: Path = export_path(name)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)
'''

MAIN_APP = '''
app = FastAPI(title="@service", version="1.0.0", openapi_url=f"{settings.api_prefix}/openapi.json")
app.add_middleware(
    CORSMiddleware,
    allow_origins=list(settings.cors_origins),
    allow_methods=["*"],
    allow_headers=["*"],
)
'''

MAIN_TAIL = '''
@app.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok", "service": settings.service_name}


@app.on_event("startup")
async def on_startup() -> None:
    logger.info("%s starting on port %s", settings.service_name, settings.port)
'''

TASK_SAFE = '''
def notify_@res_created(@res_id: int, recipient: str, title: str) -> None:
    """E-mail the owner that a @res was created; failures are logged, not raised."""
    try:
        notify_user(recipient, "created", "@Res", title)
    except (smtplib.SMTPException, OSError):
        logger.exception("could not notify %s about @res %s", recipient, @res_id)
'''

TASK_UNSAFE = '''
def notify_@res_created(@res_id: int, recipient: str, title: str) -> None:
    # No try/except: an SMTP outage only shows up in the server log.
    notify_user(recipient, "created", "@Res", title)
'''

TASK_WEBHOOK = '''
def deliver_@res_webhook(url: str, event: str, payload: dict) -> None:
    try:
        post_webhook(url, event, payload)
    except requests.RequestException:
        logger.warning("webhook %s for @res failed", event, exc_info=True)
'''

TASK_AUDIT = '''
def record_@res_audit(db: Session, @res_id: int, action: str) -> None:
    """Write an audit row.  Receives the request's session, which is closed by then on some FastAPI versions."""
    db.execute(
        "insert into audit_log (entity, entity_id, action) values (:e, :i, :a)",
        {"e": "@res", "i": @res_id, "a": action},
    )
    db.commit()
'''

MODEL_COLUMNS = [
    ("name", "String(200), nullable=False"), ("title", "String(200)"), ("status", 'String(32), default="active"'),
    ("amount", "Numeric(12, 2), default=0"), ("quantity", "Integer, default=1"), ("note", "Text"),
    ("code", "String(64), unique=True"), ("email", "String(254)"), ("priority", "Integer, default=0"),
    ("region", "String(16)"), ("is_deleted", "Boolean, default=False"), ("external_id", "String(64), index=True"),
    ("updated_at", "DateTime(timezone=True)"), ("parent_id", "Integer, nullable=True"),
]  # fmt: skip

MODEL_CLASS = '''
class @Res(Base):
    """A @res row."""

    __tablename__ = "@table"

    id = Column(Integer, primary_key=True, index=True)
    owner_id = Column(Integer, ForeignKey("accounts.id"), index=True)
    created_at = Column(DateTime(timezone=True), default=lambda: datetime.now(timezone.utc))
'''

MODEL_METHODS = '''
    def __repr__(self) -> str:
        return f"<@Res id={self.id}>"

    @property
    def display_name(self) -> str:
        return str(getattr(self, "name", None) or getattr(self, "title", None) or f"@res #{self.id}")

    @property
    def is_active(self) -> bool:
        return getattr(self, "status", "active") == "active" and not getattr(self, "is_deleted", False)

    def to_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}

    def owned_by(self, account_id: int) -> bool:
        return self.owner_id == account_id

    def age_days(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        return (now - self.created_at).days if self.created_at else 0

    def total(self) -> Decimal:
        amount = Decimal(str(getattr(self, "amount", 0) or 0))
        return amount * int(getattr(self, "quantity", 1) or 1)
'''

SCHEMA_FIELDS = [
    "name: str = Field(..., min_length=1, max_length=200)",
    "title: str | None = None",
    'status: str = "active"',
    "amount: float = Field(0, ge=0)",
    "quantity: int = Field(1, ge=1)",
    "note: str | None = Field(None, max_length=2000)",
    "code: str | None = None",
    "email: str | None = None",
    "priority: int = 0",
    "region: str | None = None",
    "webhook_url: str | None = None",
]

SCHEMA_VALIDATOR = '''
    @validator("name", check_fields=False)
    def _clean_name(cls, value: str) -> str:
        return normalize_whitespace(value)
'''

SCHEMA_REST = '''
class @ResCreate(@ResBase):
    pass


class @ResUpdate(BaseModel):
    name: str | None = None
    status: str | None = None
    note: str | None = None


class @ResOut(@ResBase):
    id: int
    owner_id: int
    created_at: datetime

    class Config:
        orm_mode = True
'''

CRUD = [
    '''
def get(db: Session, @res_id: int) -> @Res | None:
    return db.query(@Res).filter(@Res.id == @res_id).first()
''',
    '''
def list_for_owner(db: Session, owner_id: int, *, offset: int = 0, limit: int = 50) -> list[@Res]:
    """One page of the owner's @res rows, newest first."""
    return (
        db.query(@Res)
        .filter(@Res.owner_id == owner_id)
        .order_by(@Res.created_at.desc())
        .offset(offset)
        .limit(limit)
        .all()
    )
''',
    '''
def create(db: Session, data: dict[str, Any], owner_id: int) -> @Res:
    obj = @Res(**data, owner_id=owner_id)
    db.add(obj)
    db.commit()
    db.refresh(obj)
    return obj
''',
    '''
def update(db: Session, obj: @Res, changes: dict[str, Any]) -> @Res:
    for key, value in changes.items():
        setattr(obj, key, value)
    db.commit()
    db.refresh(obj)
    return obj
''',
    '''
def delete(db: Session, obj: @Res) -> None:
    db.delete(obj)
    db.commit()
''',
]

CRUD_EXTRA = '''
def search(db: Session, owner_id: int, term: str, limit: int = 20) -> Sequence[@Res]:
    # ILIKE on name; good enough until the search service indexes @res rows.
    pattern = f"%{term}%"
    return db.query(@Res).filter(@Res.owner_id == owner_id, @Res.name.ilike(pattern)).limit(limit).all()
'''

SERVICE_CLASS = '''
class @ResService:
    """Use cases around :class:`~app.models.@res.@Res`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def list(self, owner_id: int, offset: int = 0, limit: int = 50) -> list[@Res]:
        return @res_crud.list_for_owner(self.db, owner_id, offset=offset, limit=limit)

    def get(self, @res_id: int) -> @Res | None:
        return @res_crud.get(self.db, @res_id)

    def create(self, payload: @ResCreate, owner_id: int) -> @Res:
        data = prepare_@res_data(payload.dict())
        return @res_crud.create(self.db, data, owner_id=owner_id)

    def update(self, obj: @Res, payload: @ResUpdate) -> @Res:
        changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
        return @res_crud.update(self.db, obj, changes)

    def delete(self, obj: @Res) -> None:
        @res_crud.delete(self.db, obj)

    def notify_owner(self, obj: @Res, recipient: str) -> None:
        """Tell the owner by e-mail (SMTP, blocking)."""
        notifications.notify_user(recipient, "updated", "@res_h", obj.display_name)

    def export(self, owner_id: int) -> str:
        rows = [export_row(obj) for obj in self.list(owner_id, limit=10_000)]
        return write_csv(f"@res-{owner_id}.csv", EXPORT_COLUMNS, rows)

    def sync_to_partner(self, obj: @Res) -> dict[str, Any]:
        return push_record("@res", obj.to_dict())

    def announce(self, obj: @Res, url: str) -> int:
        return post_webhook(url, "@res.changed", obj.to_dict())

    def stats(self, owner_id: int) -> dict[str, Any]:
        items = self.list(owner_id, limit=1000)
        return summarize_@res(items)
'''

SERVICE_HELPERS = '''
def prepare_@res_data(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise user input before it is stored."""
    if "name" in data:
        data["name"] = ensure_length(data["name"])
    if "title" in data and data["title"]:
        data["title"] = format_title(data["title"])
    return data


def export_row(obj: @Res) -> tuple[object, ...]:
    return (obj.id, obj.display_name, getattr(obj, "status", ""), obj.created_at)


def summarize_@res(items: Iterable[@Res]) -> dict[str, Any]:
    count = 0
    active = 0
    total = 0
    for obj in items:
        count += 1
        active += 1 if obj.is_active else 0
        total += obj.total()
    return {"count": count, "active": active, "total": format_money(total)}
'''

ENDPOINTS: dict[str, object] = {
    "list": '''
@router.get("/", response_model=list[@ResOut])
@d list_@many(@page, @db, @user) -> list[@ResOut]:
    """One page of the caller's @many."""
    items = @ResService(db).list(current_user.id, offset=pagination.offset, limit=pagination.limit)
    return [@ResOut.from_orm(item) for item in items]
''',
    "get": '''
@router.get("/{@res_id}", response_model=@ResOut)
@d get_@res(@res_id: int, @db, @user) -> @ResOut:
    item = @ResService(db).get(@res_id)
    if item is None or not item.owned_by(current_user.id):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    return @ResOut.from_orm(item)
''',
    "create": (
        '''
@router.post("/", response_model=@ResOut, status_code=status.HTTP_201_CREATED)
@d create_@res(
    payload: @ResCreate,
    background_tasks: BackgroundTasks,
    @db,
    @user,
) -> @ResOut:
    item = @ResService(db).create(payload, owner_id=current_user.id)
    # The client does not wait for the mail server.
    background_tasks.add_task(tasks.notify_@res_created, item.id, current_user.email, item.display_name)
    if payload.dict().get("webhook_url"):
        background_tasks.add_task(tasks.deliver_@res_webhook, payload.dict()["webhook_url"], "created", {"id": item.id})
    return @ResOut.from_orm(item)
''',
        '''
@router.post("/", response_model=@ResOut, status_code=status.HTTP_201_CREATED)
@d create_@res(payload: @ResCreate, @db, @user) -> @ResOut:
    service = @ResService(db)
    item = service.create(payload, owner_id=current_user.id)
    service.notify_owner(item, current_user.email)
    return @ResOut.from_orm(item)
''',
        '''
@router.post("/", response_model=@ResOut, status_code=status.HTTP_201_CREATED)
@d create_@res(payload: @ResCreate, background_tasks: BackgroundTasks, @db, @user) -> @ResOut:
    item = @ResService(db).create(payload, owner_id=current_user.id)
    background_tasks.add_task(tasks.record_@res_audit, db, item.id, "create")
    return @ResOut.from_orm(item)
''',
    ),
    "update": '''
@router.patch("/{@res_id}", response_model=@ResOut)
@d update_@res(@res_id: int, payload: @ResUpdate, @db, @user) -> @ResOut:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None or not item.owned_by(current_user.id):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    item = service.update(item, payload)
    logger.info("@res %s updated by %s", item.id, current_user.id)
    return @ResOut.from_orm(item)
''',
    "delete": '''
@router.delete("/{@res_id}", status_code=status.HTTP_204_NO_CONTENT)
@d delete_@res(@res_id: int, @db, @user) -> None:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    service.delete(item)
''',
    "export": (
        '''
@router.post("/export", status_code=status.HTTP_202_ACCEPTED)
@d export_@many(background_tasks: BackgroundTasks, @db, @user) -> dict[str, str]:
    """Start an export; the file is written after the response."""
    background_tasks.add_task(@ResService(db).export, current_user.id)
    return {"status": "scheduled"}
''',
        '''
@router.post("/export")
@d export_@many(@db, @user) -> dict[str, str]:
    path = @ResService(db).export(current_user.id)
    return {"status": "done", "path": path}
''',
    ),
    "send": (
        '''
@router.post("/{@res_id}/send", status_code=status.HTTP_202_ACCEPTED)
@d send_@res(@res_id: int, background_tasks: BackgroundTasks, @db, @user) -> dict[str, Any]:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    background_tasks.add_task(tasks.notify_@res_created, item.id, current_user.email, item.display_name)
    return {"queued": True, "id": item.id}
''',
        '''
@router.post("/{@res_id}/send")
@d send_@res(@res_id: int, @db, @user) -> dict[str, Any]:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    service.notify_owner(item, current_user.email)
    return {"sent": True, "id": item.id}
''',
    ),
    "sync": (
        '''
@router.post("/{@res_id}/sync")
@d sync_@res(@res_id: int, @db) -> dict[str, Any]:
    """Push the @res to the partner and return the partner's acknowledgement."""
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    ack = service.sync_to_partner(item)
    return {"id": item.id, "partner": ack}
''',
        '''
@router.post("/{@res_id}/announce")
@d announce_@res(@res_id: int, url: str, @db) -> dict[str, Any]:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    service.announce(item, url)
    return {"id": item.id}
''',
    ),
    "archive": '''
@router.post("/{@res_id}/archive", response_model=@ResOut)
@d archive_@res(@res_id: int, @db, @user) -> @ResOut:
    service = @ResService(db)
    item = service.get(@res_id)
    if item is None or not item.owned_by(current_user.id):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@res not found")
    item = service.update(item, @ResUpdate(status="archived"))
    return @ResOut.from_orm(item)
''',
    "search": '''
@router.get("/search/", response_model=list[@ResOut])
@d search_@many(q: str, @db, @user) -> list[@ResOut]:
    # Cheap substring search; see the search service for the real thing.
    term = q.strip().lower()
    items = [i for i in @ResService(db).list(current_user.id, limit=500) if term in i.display_name.lower()]
    return [@ResOut.from_orm(item) for item in items]
''',
    "stats": '''
@router.get("/stats/")
@d @res_stats(@db, @user) -> dict[str, Any]:
    return @ResService(db).stats(current_user.id)
''',
    "ping_partner": '''
@router.get("/partner/health")
async def @res_partner_health() -> dict[str, Any]:
    import requests  # local import kept from a hotfix

    response = requests.get("https://partner.example.com/health", timeout=2)
    return {"partner": response.status_code}
''',
    "import": '''
@router.post("/import")
async def import_@many(path: str, @user) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        lines = fh.readlines()
    return {"lines": len(lines), "by": current_user.id}
''',
}

JOB_MAIN = '''
def run(limit: int = 1000, dry_run: bool = False) -> int:
    """Process up to ``limit`` @res rows; return how many were touched."""
    db: Session = SessionLocal()
    touched = 0
    try:
        for obj in @res_crud.list_for_owner(db, owner_id=0, limit=limit):
            if dry_run:
                logger.info("would @job %s", obj.id)
                continue
            touched += 1
        if not dry_run:
            db.commit()
    finally:
        db.close()
    logger.info("@job finished: %d @res rows", touched)
    return touched
'''

SCRIPT_MAIN = '''
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="@verb @many")
    parser.add_argument("--env", default="staging", choices=["staging", "production"])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("@many.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    response = requests.get(f"{API}/@many", params={"env": args.env}, timeout=30)
    response.raise_for_status()
    rows = response.json()
    if args.dry_run:
        logger.info("would @verb %d @many", len(rows))
        return 0
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=2)
    time.sleep(0.5)  # be gentle with the API
    return 0
'''

CLI_COMMAND = '''
def cmd_@cmd(args: argparse.Namespace) -> int:
    """``@cmd`` for @res rows."""
    db = SessionLocal()
    try:
        rows = db.query(@Res).limit(args.limit).all()
        for row in rows:
            print(row.id, row.display_name)
        return 0
    finally:
        db.close()
'''

CLI_MAIN = '''
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="@res")
    parser.add_argument("command")
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)
    handler = globals().get(f"cmd_{args.command}")
    if handler is None:
        parser.error(f"unknown command {args.command!r}")
    if args.command == "dump":
        subprocess.run(["pg_dump", "--table", "@res"], check=True)
    return handler(args)
'''

TOOL_MAIN = '''
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("services")])
    args = parser.parse_args(argv)
    files = [p for root in args.paths for p in root.rglob("*.py")]
    result = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=False)
    print(f"{len(files)} files; {len(result.stdout.splitlines())} changed")
    return 0
'''


# --------------------------------------------------------------------------- entry points


def generate(out: Path, lines: int, seed: int = 1) -> dict:
    """Write the tree into ``out`` (created; must be empty or a previous generated tree)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).exists():
            raise SystemExit(f"error: {out} is not empty and was not made by this generator")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return Generator(out, lines, seed).run()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=100_000, help="target number of Python lines (default 100000)")
    ap.add_argument("--out", type=Path, required=True, help="directory to write (replaced if generated before)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    manifest = generate(args.out, args.lines, args.seed)
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
