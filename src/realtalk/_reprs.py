"""Short reprs for events, items and turns: audio shown as its duration, long text cut.

A finished turn holds every audio byte of the reply; the dataclass repr printed them all (half a
megabyte for one answer). These reprs keep the shape of the dataclass repr (``Name(field=...)``)
but show ``bytes`` as ``<audio 120 ms (5760 B as pcm16 24 kHz)>`` -- events do not know their
format, so the duration assumes the default PCM16 24 kHz and says so -- cut strings past
:data:`TEXT_LIMIT` characters and long sequences past :data:`ITEMS_LIMIT` entries.

Pure core: standard library only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ITEMS_LIMIT", "TEXT_LIMIT", "install", "short_repr", "show_audio", "show_value"]

TEXT_LIMIT = 160
"""Characters of a string shown before it is cut."""
ITEMS_LIMIT = 4
"""Entries of a sequence shown before the rest is counted."""

_PCM16_24K_BYTES_PER_MS = 48


def show_audio(data: bytes | bytearray | memoryview) -> str:
    """``<audio 120 ms (5760 B as pcm16 24 kHz)>``."""
    size = len(data)
    return f"<audio {size / _PCM16_24K_BYTES_PER_MS:.0f} ms ({size} B as pcm16 24 kHz)>"


def _show_text(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return repr(text)
    return repr(text[:TEXT_LIMIT]) + f"...(+{len(text) - TEXT_LIMIT} chars)"


def show_value(value: Any) -> str:
    """One field value, shortened (recursing into dataclasses, sequences and mappings)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return show_audio(value)
    if isinstance(value, str):
        return _show_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Classes with their own repr (SessionConfig, the config parts) keep it, but cut.
        if type(value).__repr__ is short_repr:
            return short_repr(value)
        text = repr(value)
        return text if len(text) <= 2 * TEXT_LIMIT else text[: 2 * TEXT_LIMIT] + "...)"
    if isinstance(value, list | tuple):
        return _show_items(value, "[]" if isinstance(value, list) else "()")
    if isinstance(value, Mapping):
        entries = [f"{k!r}: {show_value(v)}" for k, v in list(value.items())[:ITEMS_LIMIT]]
        if len(value) > ITEMS_LIMIT:
            entries.append(f"...(+{len(value) - ITEMS_LIMIT} more)")
        return "{" + ", ".join(entries) + "}"
    return repr(value)


def _show_items(values: list[Any] | tuple[Any, ...], brackets: str) -> str:
    shown = [show_value(v) for v in values[:ITEMS_LIMIT]]
    if len(values) > ITEMS_LIMIT:
        shown.append(f"...(+{len(values) - ITEMS_LIMIT} more)")
    if brackets == "()" and len(values) == 1:
        return f"({shown[0]},)"
    return brackets[0] + ", ".join(shown) + brackets[1]


def short_repr(self: Any) -> str:
    """The dataclass repr with every field value shortened by :func:`show_value`."""
    parts = [
        f"{f.name}={show_value(getattr(self, f.name))}" for f in dataclasses.fields(self) if f.repr
    ]
    return f"{type(self).__name__}({', '.join(parts)})"


def install(classes: Iterable[Any]) -> None:
    """Give each dataclass in ``classes`` the short repr (others are left alone)."""
    for cls in classes:
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            # Assigned after the class exists: @dataclass wrote its own __repr__ already.
            cls.__repr__ = short_repr  # type: ignore[method-assign]
