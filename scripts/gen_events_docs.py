"""Regenerate the event table in docs/events.md from realtalk.events.

    python scripts/gen_events_docs.py          # rewrite the generated block in place
    python scripts/gen_events_docs.py --check  # exit 1 when the block is stale (CI, tests)

The table lists every class of the ``ServerEvent`` and ``RuntimeEvent`` unions with its fields
and the first paragraph of its docstring. Only the text between the marker comments changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing
from pathlib import Path

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


def update(text: str) -> str:
    """``text`` with the generated block replaced by the current table."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + render_table() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is stale")
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    fresh = update(text)
    if args.check:
        if fresh != text:
            print(f"{DOC} is stale: run python scripts/gen_events_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
