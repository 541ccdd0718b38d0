"""Regenerate the event table in docs/events.md from realtalk.events.

    python scripts/gen_events_docs.py          # rewrite the generated block in place
    python scripts/gen_events_docs.py --check  # exit 1 when the block is stale (CI, tests)

The table lists every class of the ``ServerEvent`` and ``RuntimeEvent`` unions with its fields
and the first paragraph of its docstring. Only the text between the marker comments changes.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from pathlib import Path

from _docblock import GeneratedBlock
from realtalk import events

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
BEGIN = "<!-- BEGIN GENERATED: event table (scripts/gen_events_docs.py) -->"
END = "<!-- END GENERATED: event table -->"

GROUPS = (
    ("From the server", events.ServerEvent),
    ("From the runtime", events.RuntimeEvent),
)


def summary(cls: type) -> str:
    """The first paragraph of the docstring, on one line, reST roles as Markdown code."""
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):  # the dataclass's generated signature
        return ""
    first = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    text = " ".join(first.split())
    text = re.sub(r":(?:class|meth|func|attr|data|mod):`~?(?:[\w.]+\.)?([\w]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    return text.replace("|", "\\|")


def fields(cls: type) -> str:
    parts = []
    for field in dataclasses.fields(cls):
        annotation = (
            field.type
            if isinstance(field.type, str)
            else getattr(field.type, "__name__", str(field.type))
        )
        parts.append(f"`{field.name}: {annotation}`".replace("|", "\\|"))
    return ", ".join(parts)


def render_table() -> str:
    lines: list[str] = []
    for title, union in GROUPS:
        if lines:
            lines.append("")
        lines += [f"### {title}", "", "| Event | Fields | Meaning |", "|---|---|---|"]
        for cls in typing.get_args(union):
            lines.append(f"| `{cls.__name__}` | {fields(cls)} | {summary(cls)} |")
    return "\n".join(lines)


BLOCK = GeneratedBlock(DOC, BEGIN, END, render_table, "scripts/gen_events_docs.py")
update = BLOCK.update
main = BLOCK.main


if __name__ == "__main__":
    sys.exit(main())
