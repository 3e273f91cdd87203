"""Name resolution across modules: answers do not depend on the order questions are asked in."""

from __future__ import annotations

from itertools import permutations

import pytest

from bgtask_lint.analysis.index import ProjectIndex
from bgtask_lint.analysis.matching import default_catalogue
from bgtask_lint.facts.summarize import summarize

MODULES = {
    "a": "import b\nfrom c import Client\nx = b.y.z\nw = x.q\nclient = Client()\ndef f():\n    return x.run()\n",
    "b": "import a\ny = a.x.k\nsession = a.client\ndef g():\n    return a.w.send()\n",
    "c": "import httpx\nclass Client(httpx.Client):\n    pass\nfrom c import Client as Again\n",
}
QUESTIONS = [("a", "x"), ("b", "y"), ("a", "w"), ("b", "session"), ("a", "client"), ("c", "Again"), ("b", "a.client.get")]


def index() -> ProjectIndex:
    return ProjectIndex([summarize(src, name, f"/p/{name}.py") for name, src in MODULES.items()], default_catalogue())


def ask(idx: ProjectIndex, order: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    by_name = {m.module: m for m in idx.modules}
    return {q: idx.resolve(by_name[q[0]], None, q[1]) for q in order}


def test_each_answer_is_what_a_fresh_index_gives() -> None:
    alone = {q: ask(index(), [q])[q] for q in QUESTIONS}
    assert alone[("b", "session")] == "obj:c.Client" and alone[("b", "a.client.get")] == "ext:httpx.Client().get"
    assert alone[("a", "x")] is None  # a cycle: unknown, never a guess


@pytest.mark.parametrize("order", list(permutations(QUESTIONS[:4])) + [QUESTIONS, QUESTIONS[::-1]])
def test_answers_do_not_depend_on_the_order_of_questions(order: list[tuple[str, str]]) -> None:
    # module-level lookups are remembered across questions; one that met a cycle is not
    alone = {q: ask(index(), [q])[q] for q in order}
    assert ask(index(), list(order)) == alone


@pytest.mark.parametrize("path", ["/srv/a/b/c/d.py", "a/b/d.py", "d.py", "/d.py", "/a/__init__.py", "a//b/c.py",
                                  "/a/./b/c.py", "../a/b/c.py", "a/b/../c.py", "/"])  # fmt: skip
@pytest.mark.parametrize(("module", "is_package"), [("d", False), ("b.d", False), ("a.b.d", True), ("x.y.z.w.q", False)])
def test_the_directory_naming_a_shared_module_is_the_one_holding_its_top_package(path: str, module: str,
                                                                                  is_package: bool) -> None:  # fmt: skip
    # two services' ``app`` packages get keys from the directories holding them, found with string
    # operations on every module of a monorepo: the same answer as PurePath's parents
    from pathlib import PurePath
    from types import SimpleNamespace

    from bgtask_lint.analysis.index import _root_label

    depth = module.count(".") + (1 if is_package else 0)
    parents = PurePath(path).parents
    expected = parents[depth].name if depth < len(parents) and parents[depth].name else "module"
    assert _root_label(SimpleNamespace(module=module, path=path, is_package=is_package)) == expected
