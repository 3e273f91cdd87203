"""``docs/rules.md`` from the rules' own docstrings: ``python -m bgtask_lint.ruledocs > docs/rules.md``."""

from __future__ import annotations

from bgtask_lint.rules import all_rules

HEADER = """\
# Rules

Generated from the rules' docstrings by `python -m bgtask_lint.ruledocs > docs/rules.md`;
`bgtask-lint rule CODE` prints the same text. Do not edit by hand.

| code | name | summary |
|---|---|---|
"""


def markdown() -> str:
    rules = all_rules()
    parts = [HEADER]
    parts += [f"| [{r.code}](#{r.code.lower()}) | `{r.name}` | {r.summary} |\n" for r in rules]
    for r in rules:
        body = r.docs().replace("\n## ", "\n### ")
        if body.startswith("## "):
            body = "#" + body
        parts.append(f'\n<a id="{r.code.lower()}"></a>\n\n## {r.code}: {r.name}\n\n{body}\n')
    return "".join(parts)


if __name__ == "__main__":
    print(markdown(), end="")
