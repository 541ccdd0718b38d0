"""docs/events.md carries the event table generated from realtalk.events, and it is current."""

from __future__ import annotations

import dataclasses
import typing
from types import ModuleType

from realtalk import events
from tests.docscripts import load_script


def generator() -> ModuleType:
    return load_script("gen_events_docs")


def test_the_event_table_is_current() -> None:
    gen = generator()
    text = gen.DOC.read_text(encoding="utf-8")
    assert gen.update(text) == text, (
        "docs/events.md is stale: run python scripts/gen_events_docs.py"
    )
    assert gen.main(["--check"]) == 0


def test_every_event_has_a_row_with_its_fields_and_a_meaning() -> None:
    table = generator().render_table()
    for union in (events.ServerEvent, events.RuntimeEvent):
        for cls in typing.get_args(union):
            row = next(
                line for line in table.splitlines() if line.startswith(f"| `{cls.__name__}` |")
            )
            for field in dataclasses.fields(cls):
                assert f"`{field.name}: " in row
            meaning = row.rsplit("|", 2)[-2].strip()
            assert meaning, f"{cls.__name__} needs a docstring: it is the table's meaning column"


def test_a_new_field_makes_the_table_stale() -> None:
    gen = generator()
    text = gen.DOC.read_text(encoding="utf-8")
    stale = text.replace("`delta: str`", "`delta: bytes`", 1)
    assert stale != text
    assert gen.update(stale) == text
