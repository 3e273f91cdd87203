"""The project index: names resolved across modules, routes, request paths and call-chain reach.

Values are strings with a kind prefix: ``fn:app.mail.send`` (a project function or method),
``cls:app.mail.Mailer`` (a project class), ``obj:app.mail.Mailer`` (an instance of it),
``mod:app.mail`` (a project module) and ``ext:smtplib.SMTP().send_message`` (anything else,
canonicalised). Whatever cannot be resolved is ``None``: unknown, never slow.
"""

from __future__ import annotations

import builtins
import copy
import heapq
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property

from bgtask_lint.analysis.calls import (
    DB,
    FILE,
    FILE_ARGUMENT,
    HTTP,
    IN_MEMORY_FILES,
    MEMOIZERS,
    RESPONSE_CLASSES,
    SPAWNER_NAMES,
    SUBPROCESS,
    TASK_CALLEES,
    CallKind,
    Cost,
)
from bgtask_lint.analysis.matching import Catalogue, canonical
from bgtask_lint.analysis.vocabulary import ROUTE_FACTORIES
from bgtask_lint.models import (
    YIELDED,
    Arg,
    Binding,
    BindingKind,
    CallSite,
    Chain,
    FunctionFacts,
    ModuleFacts,
    Param,
    Usage,
)

BUILTINS = frozenset(dir(builtins))
_MISSING = object()
_PENDING = object()  # a resolution under way
SELF_TYPES = frozenset({"typing.Self()", "typing_extensions.Self()"})
PROPERTIES = frozenset({"property", "cached_property"})
BACKGROUND_TASKS = "fastapi.BackgroundTasks"
#: The value of an in-memory file-like, and of an archive, CSV writer or text wrapper built over one.
IN_MEMORY = "ext:io.BytesIO()"
#: Last names of the calls that can schedule a task (``add_task``, ``BackgroundTask(...)``, asyncio).
TASK_STARTERS = TASK_CALLEES + SPAWNER_NAMES


@dataclass(frozen=True)
class Route:
    handler: str  # FQN of the handler
    method: str
    module: str  # path of the module that registers it
    websocket: bool
    wrapped: bool
    dependencies: tuple[str, ...]  # FQNs of every function on the request path besides the handler


@dataclass(frozen=True)
class Scoped:
    """A function together with the module it lives in."""

    fqn: str
    module: ModuleFacts
    function: FunctionFacts


class Role(str, Enum):
    """What a function on a request path is to its route."""

    HANDLER = "handler"
    DEPENDENCY = "dependency"


@dataclass(frozen=True)
class PathFunction:
    scoped: Scoped
    role: Role
    route: Route


@dataclass(frozen=True)
class Reach:
    """For each function that reaches a matching call: the shortest witness chain."""

    chains: dict[str, Chain]

    def get(self, fqn: str) -> Chain | None:
        return self.chains.get(fqn)


@dataclass
class ProjectIndex:
    modules: list[ModuleFacts]
    catalogue: Catalogue
    error_handling_decorators: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)  # path -> another importable name (``src``-relative)
    _by_name: dict[str, list[ModuleFacts]] = field(default_factory=dict, init=False)
    functions: dict[str, Scoped] = field(default_factory=dict, init=False)
    classes: dict[str, tuple[ModuleFacts, object]] = field(default_factory=dict, init=False)
    _local: dict[tuple[str, str], FunctionFacts] = field(default_factory=dict, init=False)
    _memo: dict[tuple[str, str, str], object] = field(default_factory=dict, init=False)  # str | None | _PENDING
    _members: dict[tuple[str, str], str | None] = field(default_factory=dict, init=False)
    _params: dict[tuple[int, int], tuple[str | None, str | None, str | None]] = field(default_factory=dict, init=False)
    _cycles: int = field(default=0, init=False)  # how many times a lookup met one already under way
    _mod_bindings: dict[str, dict[str, Binding]] = field(default_factory=dict, init=False)
    _mod_imports: dict[str, dict[str, str]] = field(default_factory=dict, init=False)
    _edge_memo: dict[str, list] = field(default_factory=dict, init=False)
    focus: frozenset[str] | None = None  # module paths reported on; None: all
    _import_name: dict[str, str] = field(default_factory=dict, init=False)  # path -> importable name
    _returning: set[str] = field(default_factory=set, init=False)
    _nearest: dict[tuple[str, str], ModuleFacts] = field(default_factory=dict, init=False)
    _names_of: dict[str, set[str]] = field(default_factory=dict, init=False)  # path -> names it is found under

    def __post_init__(self) -> None:
        self.modules = _unique_module_keys(self.modules)
        for mod in self.modules:
            name = self._import_name.setdefault(mod.path, mod.module.partition("/")[2] or mod.module)
            self._by_name.setdefault(name, []).append(mod)
            if name != mod.module:
                self._by_name[mod.module] = [mod]
            self._mod_bindings[mod.path] = dict(mod.bindings)
            self._mod_imports[mod.path] = dict(mod.imports)
            for fn in mod.functions:
                fqn = f"{mod.module}.{fn.qualname}"
                self.functions.setdefault(fqn, Scoped(fqn, mod, fn))
                self._local[(mod.path, fn.qualname)] = fn
            for cls in mod.classes:
                self.classes.setdefault(f"{mod.module}.{cls.name}", (mod, cls))
        for name, group in self._by_name.items():
            for m in group:
                self._names_of.setdefault(m.path, set()).add(name)
        by_path = {m.path: m for m in self.modules}
        for path, alias in self.aliases.items():  # other importable names (``src``-relative, root-relative)
            if path in by_path and alias not in self._by_name:
                self._by_name[alias] = [by_path[path]]
                self._names_of.setdefault(path, set()).add(alias)

    def narrowed(self, paths: Collection[str]) -> ProjectIndex:
        """This index, looking at the modules of ``paths`` only: a view that shares every resolution and
        reach computed so far (a reach computed for a wider focus holds for a narrower one)."""
        view = copy.copy(self)
        view.focus = frozenset(paths)
        return view

    # ------------------------------------------------------------------ modules

    def module(self, name: str, importer: ModuleFacts | None = None) -> ModuleFacts | None:
        candidates = self._by_name.get(name)
        if not candidates:
            return None
        if len(candidates) == 1 or importer is None:
            return candidates[0]
        # Same module name in two places (monorepo services, fixtures): the nearest one wins. A
        # monorepo of 30 services each with an ``app`` package asks this hundreds of thousands of times.
        # Importers in one directory get one answer, unless the importer is itself a candidate.
        where = importer.path if name in self._names_of.get(importer.path, ()) else importer.path.rpartition("/")[0]
        key = (name, where)
        found = self._nearest.get(key)
        if found is None:
            found = self._nearest[key] = max(candidates, key=lambda m: _common_prefix(m.path, importer.path))
        return found

    def importers(self, paths: Collection[str]) -> set[str]:
        """The paths of the modules that import one of ``paths``, directly or through other modules:
        what a change to those files can change the findings of."""
        imported_by: dict[str, set[str]] = {}
        for mod in self.modules:
            for _, target in mod.imports:
                parts = target.split(".")
                for end in range(len(parts), 0, -1):  # ``pkg.mod.name``: the longest prefix that is a module
                    found = self.module(".".join(parts[:end]), mod)
                    if found is not None:
                        imported_by.setdefault(found.path, set()).add(mod.path)
                        break
        todo, seen = list(paths), set(paths)
        while todo:
            for importer in imported_by.get(todo.pop(), ()):
                if importer not in seen:
                    seen.add(importer)
                    todo.append(importer)
        return seen - set(paths)

    def function_of(self, mod: ModuleFacts, qualname: str) -> FunctionFacts | None:
        return self._local.get((mod.path, qualname))

    def scoped(self, value: str | None) -> Scoped | None:
        if value is None or not value.startswith("fn:"):
            return None
        return self.functions.get(value[3:])

    # ------------------------------------------------------------------ resolution

    def resolve(self, mod: ModuleFacts, fn: FunctionFacts | None, ref: str | None) -> str | None:
        """Resolve a dotted reference as seen from inside ``fn`` (or module level) of ``mod``."""
        if not ref:
            return None
        key = (mod.path, fn.qualname if fn else "", ref)
        found = self._memo.get(key, _MISSING)
        if found is _PENDING:  # a cycle (``x = x.y``): unknown, and whatever depends on it depends on the path taken
            self._cycles += 1
            return None
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        self._memo[key] = _PENDING
        result = self._resolve(mod, fn, ref)
        self._memo[key] = result
        return result

    def _resolve(self, mod: ModuleFacts, fn: FunctionFacts | None, ref: str) -> str | None:
        segments = _split(ref)
        value = self._head(mod, fn, segments[0])
        for seg in segments[1:]:
            if value is None:
                return None
            value = self._step(value, seg, mod)
        return value

    def _step(self, value: str, seg: str, mod: ModuleFacts) -> str | None:
        if seg == "()":
            return self.call_result(value)
        if seg == "[]":
            return f"{value}[]" if value.startswith("ext:") else None
        return self.attribute(value, seg, mod)

    def _head(self, mod: ModuleFacts, fn: FunctionFacts | None, name: str) -> str | None:
        call = name.endswith("()")
        sub = name.endswith("[]")
        base = name[:-2] if call or sub else name
        value = self._name(mod, fn, base)
        if value is not None and call:
            return self.call_result(value)
        if value is not None and sub:
            return f"{value}[]" if value.startswith("ext:") else None
        return value

    def _name(self, mod: ModuleFacts, fn: FunctionFacts | None, name: str) -> str | None:
        scope = fn
        while scope is not None:
            binding = dict(scope.bindings).get(name)
            if binding is not None:
                return self._binding(mod, scope, binding)
            param = next((p for p in scope.params if p.name == name), None)
            if scope.class_name and param is not None and param is scope.params[0] and not param.annotation:
                is_cls = "classmethod" in scope.decorators or name == "cls"
                return f"{'cls' if is_cls else 'obj'}:{mod.module}.{scope.class_name}"
            if param is not None:
                return self.param_value(mod, scope, param)
            scope = self._local.get((mod.path, scope.parent)) if scope.parent else None
        return self.module_member(mod, name)

    def module_member(self, mod: ModuleFacts, name: str) -> str | None:
        """:meth:`member`, remembered: thousands of functions look up the same few module-level names.
        A value that met a cycle is not kept (it depends on where the lookup started)."""
        return self._kept(self._members, (mod.path, name), lambda: self.member(mod, name, set()))

    def _kept(self, memo: dict, key: object, compute):  # type: ignore[no-untyped-def]
        """``memo[key]``, computed once; a value whose lookup met a cycle is not kept (it depends on
        where the lookup started, so only the question asked first may use it)."""
        found = memo.get(key, _MISSING)
        if found is _MISSING:
            cycles = self._cycles
            found = compute()
            if self._cycles == cycles:
                memo[key] = found
        return found

    def member(self, mod: ModuleFacts, name: str, seen: set[tuple[str, str]]) -> str | None:
        """A module-level name of ``mod``: def, class, binding, import (re-exports followed)."""
        if (mod.path, name) in seen:
            return None
        seen.add((mod.path, name))
        if (mod.path, name) in self._local:
            return f"fn:{mod.module}.{name}"
        if f"{mod.module}.{name}" in self.classes:
            return f"cls:{mod.module}.{name}"
        binding = self._mod_bindings[mod.path].get(name)
        if binding is not None and binding.kind not in (BindingKind.DEF, BindingKind.CLASS):
            return self._binding(mod, None, binding)
        target = self._mod_imports[mod.path].get(name)
        if target is not None:
            return self._import(target, mod, seen)
        sub = self.module(f"{self._import_name.get(mod.path, mod.module)}.{name}", mod)
        if sub is not None:
            return f"mod:{sub.module}"
        for local, target in self._mod_imports[mod.path].items():
            if local.startswith("*"):
                star = self.module(target, mod)
                if star is not None:
                    found = self.member(star, name, seen)
                    if found is not None:
                        return found
        if name in BUILTINS:
            return f"ext:{name}"
        return None

    def _import(self, target: str, importer: ModuleFacts, seen: set[tuple[str, str]]) -> str | None:
        parts = target.split(".")
        for i in range(len(parts), 0, -1):
            mod = self.module(".".join(parts[:i]), importer)
            if mod is None:
                continue
            value: str | None = f"mod:{mod.module}"
            for j, seg in enumerate(parts[i:]):
                if value is None:
                    return None
                value = self.member(mod, seg, seen) if j == 0 else self.attribute(value, seg, importer)
            return value
        return f"ext:{canonical(target)}"

    def _binding(self, mod: ModuleFacts, fn: FunctionFacts | None, b: Binding) -> str | None:
        if b.kind == BindingKind.DEF:
            return f"fn:{mod.module}.{b.ref}"
        if b.kind == BindingKind.CLASS:
            return f"cls:{mod.module}.{b.ref}"
        if b.kind == BindingKind.LAMBDA:
            return f"fn:{mod.module}.{b.ref}" if b.ref else None
        if b.kind == BindingKind.IMPORT:
            return self._import(b.ref, mod, set())
        if b.kind in (BindingKind.REF, BindingKind.PARTIAL):
            return self.resolve(mod, fn, b.ref)
        if b.kind in (BindingKind.CALL, BindingKind.WITH):
            target = self.resolve(mod, fn, b.ref)
            if b.awaited and (kind := self.classify(target)) is not None and kind.sync:
                # Evidence over annotations: an awaited call is async whatever its receiver's annotation
                # says (a ``Session`` that is really an ``AsyncSession``), and what it gave is a buffered result.
                return None
            if b.source is not None and self._in_memory(target, self.resolve(mod, fn, b.source)):
                return IN_MEMORY
            return self.call_result(target)
        if b.kind == BindingKind.ANNOT:
            return self.instance_of(self.resolve(mod, fn, b.ref))
        return None

    def param_value(self, mod: ModuleFacts, fn: FunctionFacts, p: Param) -> str | None:
        ann, dep, _ = self.param_info(mod, fn, p)
        value = self.instance_of(ann) if ann else None
        if value is not None and self.subclass_of(value, BACKGROUND_TASKS):
            return f"ext:{BACKGROUND_TASKS}()"  # FastAPI injects a plain BackgroundTasks for subclasses
        if value is None and dep is not None:
            value = self.dependency_result(dep)
        return value

    def dependency_result(self, dep: str) -> str | None:
        """What FastAPI injects for ``Depends(dep)``: the instance, the return value, or what a
        ``yield`` dependency yields (its ``Iterator[X]`` annotation or the yielded value)."""
        if dep.startswith("cls:"):
            return f"obj:{dep[4:]}"
        scoped = self.scoped(dep)
        if scoped is None or not scoped.function.is_generator:
            return self.call_result(dep)
        fn = scoped.function
        if fn.return_annotation:
            found = self.instance_of(self.resolve(scoped.module, None, fn.return_annotation))
            if found is not None and found.startswith(("obj:", "ext:")):
                return found
        yielded = dict(fn.bindings).get(YIELDED)
        if yielded is not None:
            found = self._binding(scoped.module, fn, yielded)
            if found is not None and found.startswith(("obj:", "ext:")):
                return found
        return None

    def param_info(self, mod: ModuleFacts, fn: FunctionFacts, p: Param) -> tuple[str | None, str | None, str | None]:
        """(annotation value, dependency value, dependency scope) of a parameter (kept unless it met a cycle)."""
        # keyed by identity: the index keeps every module's facts alive, so ids are not reused
        return self._kept(self._params, (id(fn), id(p)), lambda: self._param_info(mod, fn, p))

    def _param_info(self, mod: ModuleFacts, fn: FunctionFacts, p: Param) -> tuple[str | None, str | None, str | None]:
        alias = self._type_alias(mod, fn, p.annotation_alias) if p.annotation_alias else None
        ann_ref = alias.annotation if alias is not None else p.annotation
        ann_mod = mod
        if alias is not None:
            ann_mod = alias_mod = self._alias_module(mod, p.annotation_alias or "") or mod
            del alias_mod
        ann = self.resolve(ann_mod, None if alias else fn, ann_ref) if ann_ref else None
        depends = p.depends if p.depends is not None else (alias.depends if alias else None)
        scope = p.depends_scope if p.depends is not None else (alias.depends_scope if alias else None)
        dep = None
        if depends is not None:
            dep = self.resolve(ann_mod if alias and p.depends is None else mod, fn, depends) if depends else ann
        return ann, dep, scope

    def _type_alias(self, mod: ModuleFacts, fn: FunctionFacts, name: str) -> Param | None:
        found = self._alias_module(mod, name)
        if found is None:
            return None
        target_name = name
        imported = self._mod_imports[mod.path].get(name)
        if imported is not None and found is not mod:
            target_name = imported.split(".")[-1]
        return dict(found.type_aliases).get(target_name)

    def _alias_module(self, mod: ModuleFacts, name: str) -> ModuleFacts | None:
        if name in dict(mod.type_aliases):
            return mod
        imported = self._mod_imports[mod.path].get(name)
        if imported is None or "." not in imported:
            return None
        owner = self.module(imported.rsplit(".", 1)[0], mod)
        if owner is not None and imported.rsplit(".", 1)[1] in dict(owner.type_aliases):
            return owner
        return None

    def instance_of(self, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("cls:"):
            return f"obj:{value[4:]}"
        if value.startswith("ext:"):
            return f"ext:{canonical(value[4:] + '()')}" if not value.endswith("()") else value
        return None

    def call_result(self, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("cls:"):
            return f"obj:{value[4:]}"
        if value.startswith("ext:"):
            return f"ext:{canonical(value[4:] + '()')}"
        if value.startswith("fn:"):
            scoped = self.functions.get(value[3:])
            if scoped is None:
                return None
            fn = scoped.function
            if fn.returns_local_def:
                return f"fn:{scoped.module.module}.{fn.returns_local_def}"
            if fn.is_generator:
                return None  # a generator object; its body runs while it is iterated
            if fn.return_annotation:
                found = self.instance_of(self.resolve(scoped.module, None, fn.return_annotation))
                if found is not None and found[4:] in SELF_TYPES and fn.class_name:
                    return f"obj:{scoped.module.module}.{fn.class_name}"
                if found is not None:
                    return found
            for ref in fn.returns:
                found = self.resolve(scoped.module, fn, ref)
                if found is not None and (found.startswith("obj:") or found.startswith("ext:")):
                    return found
            # ``return httpx.Client()`` / ``return make_client()``: what the returned call gives
            if scoped.fqn in self._returning:
                self._cycles += 1
                return None  # recursion
            self._returning.add(scoped.fqn)
            try:
                for call in fn.calls:
                    if call.returned and not call.awaited:
                        found = self.call_result(self.call_target(scoped.module, fn, call))
                        if found is not None and found.startswith(("obj:", "ext:")):
                            return found
            finally:
                self._returning.discard(scoped.fqn)
        return None

    def attribute(self, value: str, attr: str, mod: ModuleFacts | None = None) -> str | None:
        kind, _, name = value.partition(":")
        if kind == "mod":
            target = self.module(name, mod)
            return self.module_member(target, attr) if target is not None else None
        if kind == "ext":
            return f"ext:{canonical(name + '.' + attr)}"
        if kind in ("obj", "cls"):
            for cls_fqn in self.mro(name):
                if cls_fqn.startswith("ext:"):
                    base = cls_fqn[4:] + ("()" if kind == "obj" else "")
                    return f"ext:{canonical(base + '.' + attr)}"
                method = self.functions.get(f"{cls_fqn}.{attr}")
                if method is not None:
                    if kind == "obj" and any(d.split(".")[-1] in PROPERTIES for d in method.function.decorators):
                        return self.call_result(f"fn:{cls_fqn}.{attr}")  # a property reads as its value
                    return f"fn:{cls_fqn}.{attr}"
                cmod, cls = self.classes[cls_fqn]
                binding = dict(cls.attributes).get(attr)  # type: ignore[attr-defined]
                if binding is not None:
                    return self._binding(cmod, None, binding)
            return None
        return None

    def mro(self, cls_fqn: str) -> list[str]:
        """Project classes from ``cls_fqn`` up, then the first external base as ``ext:name``."""
        out: list[str] = []
        todo = [cls_fqn]
        while todo:
            cur = todo.pop(0)
            if cur in out or cur not in self.classes:
                continue
            out.append(cur)
            cmod, cls = self.classes[cur]
            for base in cls.bases:  # type: ignore[attr-defined]
                resolved = self.resolve(cmod, None, base)
                if resolved and resolved.startswith("cls:"):
                    todo.append(resolved[4:])
                elif resolved and resolved.startswith("ext:") and resolved not in out:
                    out.append(resolved)
        return out

    def subclass_of(self, value: str, external: str) -> bool:
        if value.startswith("ext:"):
            return canonical(value[4:].removesuffix("()")) == external
        if value.startswith(("obj:", "cls:")):
            return any(b.startswith("ext:") and canonical(b[4:]) == external for b in self.mro(value[4:]))
        return False

    def classify(self, value: str | None) -> CallKind | None:
        if value is None or not value.startswith("ext:"):
            return None
        return self.catalogue.classify(value[4:])

    def witness(self, value: str | None, kind: CallKind) -> str:
        """How a chain names a catalogued call: the library call that does the work, not the
        result-object methods after it (``Session().execute().scalars().all`` -> ``Session.execute``)."""
        name = (value or "")[4:]
        parts = name.split(".")
        for i in range(2, len(parts)):
            head = ".".join(parts[:i])
            if head.endswith("()") and "()." in head:
                found = self.catalogue.classify(head[:-2])
                if found is not None and found.category == kind.category:
                    return head[:-2].replace("()", "")
        return name.replace("()", "")

    def _in_memory(self, target: str | None, source: str | None) -> bool:
        """``target`` is a call whose file I/O goes through an argument, and that argument (``source``)
        is an in-memory file-like: ``zipfile.ZipFile(io.BytesIO(data))``, ``csv.writer(io.StringIO())``."""
        if target is None or source is None or not target.startswith("ext:") or target[4:] not in FILE_ARGUMENT:
            return False
        return source == IN_MEMORY or (source.startswith("ext:") and canonical(source[4:]) in IN_MEMORY_FILES)

    def over_memory(self, mod: ModuleFacts, fn: FunctionFacts | None, call: CallSite, value: str | None) -> bool:
        """The call works on an in-memory file-like given as its file argument (no disk I/O)."""
        if value is None or not value.startswith("ext:"):
            return False
        where = FILE_ARGUMENT.get(value[4:])
        if where is None:
            return False
        arg = argument_at(call, *where)
        if arg is None:
            return False
        if arg.call is not None:
            source = self.call_result(self.resolve(mod, fn, arg.call))
        else:
            source = self.resolve(mod, fn, arg.ref) if arg.ref else None
        return self._in_memory(value, source)

    # ------------------------------------------------------------------ call targets

    def call_target(self, mod: ModuleFacts, fn: FunctionFacts | None, call: CallSite) -> str | None:
        return self.resolve(mod, fn, call.callee)

    def call_kind(self, mod: ModuleFacts, fn: FunctionFacts | None, call: CallSite, value: str | None) -> CallKind | None:
        """The catalogue's kind of a call to ``value``, unless it only works on an in-memory file-like."""
        kind = self.classify(value)
        if kind is not None and kind.category == FILE and self.over_memory(mod, fn, call, value):
            return None
        return kind

    def runs_body(self, value: str | None, call: CallSite) -> Scoped | None:
        """The project function whose body runs when ``call`` runs (None if nothing runs now)."""
        if value is None:
            return None
        if value.startswith("cls:"):
            value = self.attribute(value.replace("cls:", "obj:", 1), "__init__")
        elif value.startswith("obj:"):
            value = self.attribute(value, "__call__")
        scoped = self.scoped(value)
        if scoped is None or scoped.function.is_generator:
            return None
        if scoped.function.is_async and not call.awaited:
            return None
        if self.is_memoized(scoped):
            return None  # the slow work runs once per process, not on every request
        return scoped

    def is_memoized(self, scoped: Scoped) -> bool:
        for dec in scoped.function.decorators:
            value = self.resolve(scoped.module, None, dec.removesuffix("()"))
            if value is not None and value.startswith("ext:") and value[4:].removesuffix("()") in MEMOIZERS:
                return True
        return False

    # ------------------------------------------------------------------ reach

    def _edges_of(self, fqn: str) -> list[tuple[CallSite, str | None, CallKind | None, str | None]]:
        """The calls of one function, resolved once: (call, value, catalogue kind, callee FQN)."""
        rows = self._edge_memo.get(fqn)
        if rows is None:
            scoped = self.functions[fqn]
            rows = []
            for call in scoped.function.calls:
                value = self.call_target(scoped.module, scoped.function, call)
                kind = self.call_kind(scoped.module, scoped.function, call, value)
                callee = self.runs_body(value, call) if kind is None else None
                rows.append((call, value, kind, callee.fqn if callee is not None and callee.fqn != fqn else None))
            self._edge_memo[fqn] = rows
        return rows

    def callees(self, fqn: str) -> list[tuple[CallSite, str]]:
        """The project functions the function ``fqn`` runs, with the call that runs each."""
        return [(call, callee) for call, _, _, callee in self._edges_of(fqn) if callee is not None]

    def in_focus(self, path: str) -> bool:
        return self.focus is None or path in self.focus

    @cached_property
    def _universe(self) -> list[str]:
        """The functions whose reach can matter: what the functions of the modules the rules look at
        call or hand to a task, transitively. Those modules are the focused ones (pre-commit names a
        few files) or, without a focus, the ones holding a request path or a task site; helpers that
        nothing there calls are never resolved."""
        homes = self.focus if self.focus is not None else self._rule_homes()
        todo = [f for f, s in self.functions.items() if s.module.path in homes]
        for fqn in list(todo):
            scoped = self.functions[fqn]
            for call in scoped.function.calls:
                for arg in call.args:
                    ref = arg.partial_of or arg.ref or arg.call  # ``create_task(f(x))`` runs f later
                    value = f"fn:{scoped.module.module}.{arg.lambda_id}" if arg.lambda_id else (
                        self.resolve(scoped.module, scoped.function, ref) if ref else None)  # fmt: skip
                    task = self.dependency_function(value) if value else None
                    if task is not None:
                        todo.append(task.fqn)
        seen: dict[str, None] = {}
        while todo:
            fqn = todo.pop()
            if fqn in seen or fqn not in self.functions:
                continue
            seen[fqn] = None
            todo.extend(callee for _, _, _, callee in self._edges_of(fqn) if callee is not None)
        # in the project's order, whatever the roots: equal-length chains are then broken the same way
        # whether a run names a few files or the whole tree
        return [f for f in self.functions if f in seen]

    def _rule_homes(self) -> set[str]:
        """Paths of the modules holding a function on a request path or a call that may start a task."""
        homes = {pf.scoped.module.path for pf in self.request_path()}
        for scoped in self.functions.values():
            if scoped.module.path not in homes and any(c.callee.endswith(TASK_STARTERS) for c in scoped.function.calls):
                homes.add(scoped.module.path)
        return homes

    def _reach(self, leaf_ok, edge_ok, propagate=lambda call, chain: True) -> Reach:
        """Every function's witness: the costliest catalogued call its calls reach (see ``Cost``), by
        the shortest chain. A best-first search over the reversed call graph: costliest first, then
        shortest, then in the project's order, so the answer never depends on which files are named."""
        best: dict[str, Chain] = {}
        reverse: dict[str, list[tuple[str, CallSite]]] = {}
        heap: list[tuple[int, int, int, str, Chain]] = []
        for fqn in self._universe:
            leaf: Chain | None = None
            leaf_value: str | None = None
            for call, value, kind, callee in self._edges_of(fqn):
                if not edge_ok(call):
                    continue
                if kind is not None:
                    # the costliest call; at equal cost ``smtp.send_message`` before ``SMTP(...)``
                    if leaf_ok(kind, call) and (
                        leaf is None
                        or kind.cost > leaf.cost
                        or (kind.cost == leaf.cost and leaf_value and (value or "").startswith(leaf_value + "()."))
                    ):
                        leaf = Chain((display(self.functions[fqn]), self.witness(value, kind)), kind.category,
                                     kind.sync, kind.cost, (fqn,))  # fmt: skip
                        leaf_value = value
                elif callee is not None:
                    reverse.setdefault(callee, []).append((fqn, call))
            if leaf is not None:
                heapq.heappush(heap, (-leaf.cost, 1, len(heap), fqn, leaf))
        pushed = len(heap)
        while heap:
            _, length, _, cur, chain = heapq.heappop(heap)
            if cur in best:
                continue
            best[cur] = chain
            for caller, call in reverse.get(cur, ()):
                if caller in best or not propagate(call, chain):
                    continue
                steps = (display(self.functions[caller]), *chain.steps)
                pushed += 1
                heapq.heappush(heap, (-chain.cost, length + 1, pushed, caller,
                                      Chain(steps, chain.category, chain.sync, chain.cost, (caller, *chain.through))))  # fmt: skip
        return Reach(best)

    @cached_property
    def deferrable(self) -> Reach:
        # A helper whose result the caller uses does local work (files, processes) as a means to that
        # result (``get_server_id`` writing its id file once); remote sends stay side effects. File
        # metadata is never deferrable work, and a lazy initialisation runs once per process.
        return self._reach(lambda k, c: k.cost > Cost.FILE_METADATA and is_side_effect(k, c), per_request,
                           lambda call, chain: call.usage is not Usage.USED or chain.category not in (FILE, SUBPROCESS))

    @cached_property
    def blocking(self) -> Reach:
        # ``properties["id"] = get_install_id()`` inside a helper: an argument-less lookup whose result
        # is used and whose only slow work is local file I/O reads process-wide state (an install id,
        # a config file). Helpers guard such lookups (``if x is None``) or their callers pass the value
        # in, so the chain does not reach the helper's callers; the call made directly in an async
        # handler or task is still reported. File metadata is reported only where it stands directly
        # in the ``async def`` (``chain_for``), never through helpers.
        return self._reach(lambda k, c: blocks(k, c) and k.cost > Cost.FILE_METADATA, per_request,
                           lambda call, chain: not (chain.category == FILE and call.usage is Usage.USED
                                                    and not call.args))

    @cached_property
    def fallible(self) -> Reach:
        """Fallible work outside every handling try (handled calls do not propagate)."""
        return self._reach(lambda k, c: k.fallible, lambda c: not c.try_handles)

    @cached_property
    def database(self) -> Reach:
        return self._reach(lambda k, c: k.category == DB, lambda c: True)

    def chain_for(self, reach: Reach, mod: ModuleFacts, fn: FunctionFacts | None, call: CallSite,
                  leaf_ok) -> Chain | None:  # fmt: skip
        """The chain a call site starts: a catalogued call itself, or a project function's reach."""
        value = self.call_target(mod, fn, call)
        kind = self.call_kind(mod, fn, call, value)
        if kind is not None:
            return Chain((self.witness(value, kind),), kind.category, kind.sync, kind.cost) if leaf_ok(kind, call) else None
        callee = self.runs_body(value, call)
        if callee is None:
            return None
        return reach.get(callee.fqn)

    # ------------------------------------------------------------------ error-handling decorators

    def handles_errors(self, scoped: Scoped) -> bool:
        """The task function is wrapped by a decorator that catches and handles its errors."""
        for dec in scoped.function.decorators:
            target = self.resolve(scoped.module, None, dec.removesuffix("()") if dec.endswith("()") else dec)
            if target is None:
                continue
            name = target[4:]
            if any(name == d or name.endswith("." + d) for d in self.error_handling_decorators):
                return True
            deco = self.scoped(target)
            if deco is None:
                continue
            params = {p.name for p in deco.function.params}
            for nested in (deco.function, *self._nested(deco)):
                if params & set(nested.handled_param_calls):
                    return True
                # decorator factories: @retry_logged(...) returns a decorator taking the function
                for inner in self._nested(Scoped(deco.fqn, deco.module, nested)):
                    inner_params = {p.name for p in nested.params}
                    if inner_params & set(inner.handled_param_calls):
                        return True
        return False

    def _nested(self, scoped: Scoped) -> list[FunctionFacts]:
        out = []
        for q in scoped.function.nested:
            fn = self._local.get((scoped.module.path, q))
            if fn is not None:
                out.append(fn)
        return out

    # ------------------------------------------------------------------ routes

    @cached_property
    def routes(self) -> list[Route]:
        router_deps = self._router_dependencies()
        out: list[Route] = []
        for mod in self.modules:
            for reg in mod.routes:
                scope_fn = self._local.get((mod.path, reg.scope)) if reg.scope else None
                owner_deps: tuple[str, ...] = ()
                if not reg.starlette:
                    owner = self.resolve(mod, scope_fn, reg.owner)
                    if not self.is_app(owner):
                        continue
                    ident = self._identity(mod, scope_fn, reg.owner)
                    owner_deps = router_deps.get(ident, ()) if ident else ()
                handler = f"fn:{mod.module}.{reg.handler}" if reg.local else self.resolve(mod, scope_fn, reg.handler)
                scoped = self.scoped(handler)
                if scoped is None:
                    continue
                deps = [self.resolve(mod, scope_fn, d) for d in reg.dependencies]
                deps = [d for d in deps if d] + list(owner_deps)
                out.append(
                    Route(scoped.fqn, reg.method, mod.path, reg.websocket, reg.wrapped,
                          tuple(dict.fromkeys(self._dependency_closure(scoped, deps)))),
                )  # fmt: skip
        return out

    def is_app(self, value: str | None) -> bool:
        return value is not None and any(self.subclass_of(value, f) for f in ROUTE_FACTORIES)

    def _identity(self, mod: ModuleFacts, fn: FunctionFacts | None, ref: str) -> str | None:
        """Where a router variable lives: ``module:name`` (imports and re-exports followed)."""
        parts = ref.split(".")
        if fn is not None and (parts[0] in dict(fn.bindings)):
            return f"{mod.path}:{fn.qualname}:{parts[0]}" if len(parts) == 1 else None
        seen: set[str] = set()
        cur_mod, name = mod, parts[0]
        rest = parts[1:]
        while True:
            key = f"{cur_mod.path}:{name}"
            if key in seen:
                return None
            seen.add(key)
            if name in self._mod_bindings[cur_mod.path] and not rest:
                return f"{cur_mod.path}::{name}"
            target = self._mod_imports[cur_mod.path].get(name)
            if target is None:
                return None
            target_parts = target.split(".") + rest
            for i in range(len(target_parts), 0, -1):
                found = self.module(".".join(target_parts[:i]), cur_mod)
                if found is not None and len(target_parts) - i == 1:
                    cur_mod, name, rest = found, target_parts[i], []
                    break
            else:
                return None

    def _router_dependencies(self) -> dict[str, tuple[str, ...]]:
        own: dict[str, list[str]] = {}
        for mod in self.modules:
            for name, refs in mod.router_deps:
                own.setdefault(f"{mod.path}::{name}", []).extend(d for d in (self.resolve(mod, None, r) for r in refs) if d)
        parents: dict[str, list[tuple[str, list[str]]]] = {}
        for mod in self.modules:
            for owner_key, child, deps in mod.includes:
                scope, _, owner = owner_key.partition(":")
                fn = self._local.get((mod.path, scope)) if scope else None
                parent_id = self._identity(mod, fn, owner)
                child_id = self._identity(mod, fn, child)
                if parent_id and child_id:
                    resolved = [d for d in (self.resolve(mod, fn, r) for r in deps) if d]
                    parents.setdefault(child_id, []).append((parent_id, resolved))
        result: dict[str, tuple[str, ...]] = {}

        def inherited(ident: str, stack: frozenset[str]) -> list[str]:
            if ident in result:
                return list(result[ident])
            deps = list(own.get(ident, []))
            for parent, extra in parents.get(ident, []):
                if parent not in stack:
                    deps += inherited(parent, stack | {ident}) + extra
            result[ident] = tuple(dict.fromkeys(deps))
            return deps

        for ident in set(own) | set(parents):
            inherited(ident, frozenset())
        return result

    def dependency_function(self, value: str | None) -> Scoped | None:
        """The function FastAPI calls for ``Depends(value)``: a function, ``__init__`` or ``__call__``."""
        if value is None:
            return None
        if value.startswith("cls:"):
            return self.scoped(self.attribute("obj:" + value[4:], "__init__"))
        if value.startswith("obj:"):
            return self.scoped(self.attribute(value, "__call__"))
        return self.scoped(value)

    def _dependency_closure(self, handler: Scoped, extra: list[str]) -> list[str]:
        out: list[str] = []
        todo: list[str | None] = list(extra)
        seen: set[str] = {handler.fqn}

        def params_of(s: Scoped) -> None:
            for p in s.function.params:
                _, dep, _ = self.param_info(s.module, s.function, p)
                if dep is not None:
                    todo.append(dep)

        params_of(handler)
        while todo:
            scoped = self.dependency_function(todo.pop(0))
            if scoped is None or scoped.fqn in seen:
                continue
            seen.add(scoped.fqn)
            out.append(scoped.fqn)
            params_of(scoped)
        return out

    def request_path(self) -> Iterator[PathFunction]:
        """Every function on some route's request path, once, handlers first."""
        seen: set[str] = set()
        deps: list[PathFunction] = []
        for route in self.routes:
            if route.handler not in seen:
                seen.add(route.handler)
                handler = self.functions[route.handler]
                if self.in_focus(handler.module.path):
                    yield PathFunction(handler, Role.HANDLER, route)
            for d in route.dependencies:
                if d not in seen:
                    seen.add(d)
                    if self.in_focus(self.functions[d].module.path):
                        deps.append(PathFunction(self.functions[d], Role.DEPENDENCY, route))
        yield from deps

    def is_response_class(self, value: str | None) -> bool:
        if value is None:
            return False
        if value.startswith("ext:"):
            return canonical(value[4:]) in RESPONSE_CLASSES
        if value.startswith("cls:"):
            return any(b.startswith("ext:") and canonical(b[4:]) in RESPONSE_CLASSES for b in self.mro(value[4:]))
        return False


def _unique_module_keys(modules: list[ModuleFacts]) -> list[ModuleFacts]:
    """Give modules that share an importable name (two services of a monorepo, each with its own
    ``app`` package) distinct keys, so that their functions and classes do not collide.

    The key is ``<dir>/<module>``, ``<dir>`` naming the directory that holds the top package;
    imports still find every such module under its plain name (the nearest one wins).
    """
    groups: dict[str, list[ModuleFacts]] = {}
    for mod in modules:
        groups.setdefault(mod.module, []).append(mod)
    renamed: dict[str, ModuleFacts] = {}
    for name, group in groups.items():
        if len(group) < 2:
            continue
        labels = [_root_label(m) for m in group]
        if len(set(labels)) < len(labels):
            labels = [f"{label}{i}" for i, label in enumerate(labels, 1)]
        for mod, label in zip(group, labels):
            renamed[mod.path] = replace(mod, module=f"{label}/{name}")
    return [renamed.get(m.path, m) for m in modules] if renamed else modules


def _root_label(mod: ModuleFacts) -> str:
    """The name of the directory holding the module's top package (``PurePath(path).parents[depth].name``)."""
    depth = mod.module.count(".") + (1 if mod.is_package else 0)
    path = mod.path.replace(os.altsep, os.sep) if os.altsep else mod.path
    parts = [p for p in path.split(os.sep) if p and p != "."]
    if parts and parts[0].endswith(":"):  # a drive has no name
        parts[0] = ""
    elif path.startswith(os.sep):  # nor has the root
        parts.insert(0, "")
    at = len(parts) - 2 - depth
    return (parts[at] if at >= 0 else "") or "module"


def argument_at(call: CallSite, position: int | None, keyword: str) -> Arg | None:
    """The argument passed as ``keyword``, or else at ``position`` among the positional ones."""
    found = next((a for a in call.args if a.keyword == keyword), None)
    positional = [a for a in call.args if a.keyword is None]
    if found is None and position is not None and len(positional) > position:
        found = positional[position]
    return found


def blocks(kind: CallKind, call: CallSite) -> bool:
    """A synchronous call that blocks: never an awaited one, whatever its receiver's annotation says."""
    return kind.sync and not call.awaited


def per_request(call: CallSite) -> bool:
    """The call runs on every call of its function, not once per process (``if X is None: X = ...``)."""
    return not call.lazy_init


def is_side_effect(kind: CallKind, call: CallSite) -> bool:
    """Deferrable work: a send, a write, a delete. A file query (``exists``, ``stat``, a read) whose
    result the code uses is not a side effect to move, however slow; nor is a network request whose
    answer a helper reads (a token check, a signature verification, a lookup): the helper depends on
    its outcome. E-mail sends stay side effects whatever happens to their result."""
    if not kind.deferrable or kind.persists:
        return False
    if call.usage is not Usage.USED:
        return True
    # a used result: a query (file) or an answer the helper reads (network), unless it is only passed on
    return kind.category not in (FILE, HTTP) or (kind.category == HTTP and call.returned)


def _split(ref: str) -> list[str]:
    """``a.b().c[]`` -> ``["a", "b", "()", "c", "[]"]`` (head keeps its own markers)."""
    out: list[str] = []
    for i, part in enumerate(ref.split(".")):
        markers: list[str] = []
        while part.endswith(("()", "[]")):
            markers.insert(0, part[-2:])
            part = part[:-2]
        if i == 0:
            out.append(part + (markers.pop(0) if markers else ""))
        else:
            out.append(part)
        out.extend(markers)
    return out


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), b.split("/")):
        if x != y:
            break
        n += 1
    return n


def display(scoped: Scoped) -> str:
    """How a chain step names a function: its qualified name without ``<locals>``."""
    return scoped.function.qualname.replace(".<locals>", "")
