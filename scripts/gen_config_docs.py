"""Regenerate the per-provider field table in docs/configuration.md from the capability tables.

    python scripts/gen_config_docs.py          # rewrite the generated block in place
    python scripts/gen_config_docs.py --check  # exit 1 when the block is stale (CI, tests)

Only the text between the BEGIN/END marker comments is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _docblock import GeneratedBlock
from realtalk.dialects import BETA, GA, Dialect
from realtalk.dialects.rules import ALL_RULES, FIELD_KEYS, Rule, Rules

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED: provider field table (scripts/gen_config_docs.py) -->"
END = "<!-- END GENERATED: provider field table -->"


def _number(value: float) -> str:
    return f"{value:g}"


def cell(rule: Rule) -> str:
    """One table cell: supported or not, and the accepted range or values."""
    if rule.support == "no":
        return "✗ rejected"
    if rule.support == "undocumented":
        return "✗ undocumented"
    parts = []
    if rule.low is not None and rule.high is not None:
        parts.append(f"{_number(rule.low)} to {_number(rule.high)}")
    elif rule.low is not None:
        parts.append(f"≥ {_number(rule.low)}")
    if rule.choices:
        if rule.choice_policy == "strict":
            parts.append(" / ".join(rule.choices))
        elif rule.choice_policy == "warn":
            parts.append(f"{len(rule.choices)} documented, others noted")
        else:
            parts.append("any")
    return " ".join(["✓", *parts])


def wire_path(dialect: Dialect, key: str) -> str:
    top, _, sub = key.partition(".")
    if top == "extra":
        return "(merged into session)"
    path = dialect.session_path(top).removeprefix("session.")
    return f"`{path}.{sub}`" if sub else f"`{path}`"


def render_table(rules: tuple[Rules, ...] = ALL_RULES) -> str:
    """The generated block: the table, then the notes grouped by text."""
    header = ["field", "GA wire path", "beta wire path", *(r.name for r in rules)]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for key in FIELD_KEYS:
        row = [f"`{key}`", wire_path(GA, key), wire_path(BETA, key)]
        row += [cell(r.rule(key)) for r in rules]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Notes per field (targets in brackets):", ""]
    for key in FIELD_KEYS:
        by_note: dict[str, list[str]] = {}
        for r in rules:
            note = r.rule(key).note
            if note:
                by_note.setdefault(note, []).append(r.name)
        for note, names in by_note.items():
            lines.append(f"- `{key}` [{', '.join(names)}]: {note}")
    lines += ["", "Per target:", ""]
    lines += [f"- **{r.name}** (`{r.key}`, {r.dialect} shape): {' '.join(r.notes)}" for r in rules]
    return "\n".join(lines)


BLOCK = GeneratedBlock(DOC, BEGIN, END, render_table, "scripts/gen_config_docs.py")
update = BLOCK.update
main = BLOCK.main


if __name__ == "__main__":
    sys.exit(main())
