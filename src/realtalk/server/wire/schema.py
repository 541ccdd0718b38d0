"""A tiny JSON-shape checker that reports the first problem the way the Realtime service does.

The service validates a client payload against its schema and answers with one ``error`` object
naming the full parameter path (``session.audio.input.turn_detection.threshold``). The nodes here
mirror that: each ``check`` returns the first error object found, or ``None``. Rules shared by every
node, chosen to avoid rejecting what the official SDK accepts:

* an optional object field may be ``null`` (every optional SDK field is ``Optional``);
* a discriminated union checks its discriminator first (GA reports a missing ``session.type``
  before anything else, protocol.md §2.1);
* inside an object, keys are checked in the order they were sent; unknown keys fail at once.

Pure: standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from realtalk.server.wire import errors as E

__all__ = [
    "MAX_DECIMAL_PLACES",
    "Alt",
    "AnyJSON",
    "Arr",
    "Bool",
    "Custom",
    "Disc",
    "Int",
    "Map",
    "Node",
    "Num",
    "Obj",
    "Str",
    "WireFloat",
    "decimal_places",
    "join",
    "plain",
]

Error = dict[str, Any]

MAX_DECIMAL_PLACES = 16
"""protocol.md §3: a float written with 17 decimals is rejected ("max decimal places exceeded")."""


class WireFloat(float):
    """A float that remembers the JSON text it was parsed from, so decimals can be counted exactly.

    ``json.loads(text, parse_float=WireFloat)`` keeps ``0.59999999999999998`` distinguishable from
    ``0.6`` (they are the same binary float, and ``repr`` would print ``0.6``).
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> WireFloat:
        obj = super().__new__(cls, text)
        obj.text = str(text)
        return obj

    def __reduce__(self) -> tuple[type[WireFloat], tuple[str]]:
        # copy/pickle would otherwise rebuild it from the float value and lose the text.
        return (WireFloat, (self.text,))


def decimal_places(value: float) -> int:
    """Decimal places of a number as it appeared on the wire (exactly for :class:`WireFloat`)."""
    text = value.text if isinstance(value, WireFloat) else repr(value)
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def plain(value: Any) -> Any:
    """A deep copy of a parsed JSON value with every :class:`WireFloat` turned into a float."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, WireFloat):
        return float(value)
    return value


def join(path: str, key: str | int) -> str:
    """``session`` + ``audio`` -> ``session.audio``; list indexes as ``tools[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Node:
    """One schema node. ``check`` returns the first error object, or ``None``."""

    expected: str = "a value"

    def check(self, value: Any, path: str) -> Error | None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class AnyJSON(Node):
    """Anything (a JSON Schema, free metadata)."""

    expected: str = "a value"

    def check(self, value: Any, path: str) -> Error | None:
        return None


@dataclass(frozen=True)
class Str(Node):
    enum: Sequence[str] | None = None
    max_len: int | None = None
    expected: str = "a string"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, str):
            return E.invalid_type(path, self.expected, value)
        if self.enum is not None and value not in self.enum:
            return E.invalid_value(path, value, self.enum)
        if self.max_len is not None and len(value) > self.max_len:
            return E.string_above_max_length(path, self.max_len, len(value))
        return None


@dataclass(frozen=True)
class Bool(Node):
    expected: str = "a boolean"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, bool):
            return E.invalid_type(path, self.expected, value)
        return None


@dataclass(frozen=True)
class Int(Node):
    """An integer. An integral float (``300.0``) is accepted: our choice, to stay lenient."""

    minimum: int | None = None
    maximum: int | None = None
    expected: str = "an integer"

    def check(self, value: Any, path: str) -> Error | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return E.invalid_type(path, self.expected, value)
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                return E.invalid_type(path, self.expected, value)
            value = int(value)
        if self.minimum is not None and value < self.minimum:
            return E.integer_below_min_value(path, self.minimum, value)
        if self.maximum is not None and value > self.maximum:
            return E.integer_above_max_value(path, self.maximum, value)
        return None


@dataclass(frozen=True)
class Num(Node):
    """A decimal number with an optional closed range and the 16-decimal limit."""

    minimum: float | None = None
    maximum: float | None = None
    expected: str = "a decimal"

    def check(self, value: Any, path: str) -> Error | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return E.invalid_type(path, self.expected, value)
        if isinstance(value, float) and not math.isfinite(value):
            return E.invalid_type(path, self.expected, value)
        if isinstance(value, float) and decimal_places(value) > MAX_DECIMAL_PLACES:
            return E.decimal_places_exceeded(path)
        if self.minimum is not None and value < self.minimum:
            return E.number_below_min_value(path, self.minimum, value)
        if self.maximum is not None and value > self.maximum:
            return E.number_above_max_value(path, self.maximum, value)
        return None


@dataclass(frozen=True)
class Arr(Node):
    item: Node
    max_items: int | None = None
    expected: str = "an array"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, list):
            return E.invalid_type(path, self.expected, value)
        if self.max_items is not None and len(value) > self.max_items:
            # Not observed; our choice (OpenAI REST wording for arrays).
            return E.make_error(
                "array_above_max_length",
                f"Invalid '{path}': array too long. Expected an array with maximum length "
                f"{self.max_items}, but got an array with length {len(value)} instead.",
                path,
            )
        for index, element in enumerate(value):
            error = self.item.check(element, join(path, index))
            if error is not None:
                return error
        return None


@dataclass(frozen=True)
class Map(Node):
    """An object with free keys (``metadata``, ``headers``)."""

    value: Node
    max_pairs: int | None = None
    max_key_len: int | None = None
    expected: str = "an object"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, dict):
            return E.invalid_type(path, self.expected, value)
        if self.max_pairs is not None and len(value) > self.max_pairs:
            # Not observed; our choice (OpenAI REST wording for metadata).
            return E.make_error(
                "object_above_max_properties",
                f"Invalid '{path}': too many properties. Expected an object with at most "
                f"{self.max_pairs} properties, but got an object with {len(value)} properties "
                "instead.",
                path,
            )
        for key, element in value.items():
            if self.max_key_len is not None and len(key) > self.max_key_len:
                return E.string_above_max_length(join(path, key), self.max_key_len, len(key))
            error = self.value.check(element, join(path, key))
            if error is not None:
                return error
        return None


@dataclass(frozen=True)
class Obj(Node):
    """A closed object: unknown keys are ``unknown_parameter`` with the full path."""

    fields: Mapping[str, Node]
    required: frozenset[str] = field(default_factory=frozenset)
    nullable_required: frozenset[str] = field(default_factory=frozenset)
    expected: str = "an object"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, dict):
            return E.invalid_type(path, self.expected, value)
        for key, element in value.items():
            child = self.fields.get(key)
            if child is None:
                return E.unknown_parameter(join(path, key))
            if element is None:
                if key in self.required and key not in self.nullable_required:
                    return E.invalid_type(join(path, key), child.expected, element)
                continue
            error = child.check(element, join(path, key))
            if error is not None:
                return error
        for key in self.fields:
            if key in self.required and key not in value:
                return E.missing_required_parameter(join(path, key))
        return None

    def extend(self, **more: Node) -> Obj:
        return Obj({**self.fields, **more}, self.required, self.nullable_required, self.expected)

    def without(self, *names: str) -> Obj:
        kept = {k: v for k, v in self.fields.items() if k not in names}
        return Obj(kept, self.required - set(names), self.nullable_required, self.expected)


@dataclass(frozen=True)
class Disc(Node):
    """A union of objects told apart by a string key (``type``), checked before the rest."""

    variants: Mapping[str, Node]
    key: str = "type"
    default: str | None = None
    """Variant used when the key is absent; ``None`` makes the key required."""
    expected: str = "an object"

    def check(self, value: Any, path: str) -> Error | None:
        if not isinstance(value, dict):
            return E.invalid_type(path, self.expected, value)
        if self.key not in value or value[self.key] is None:
            if self.default is None:
                return E.missing_required_parameter(join(path, self.key))
            variant = self.variants[self.default]
        else:
            tag = value[self.key]
            if not isinstance(tag, str):
                return E.invalid_type(join(path, self.key), "a string", tag)
            found = self.variants.get(tag)
            if found is None:
                return E.invalid_value(join(path, self.key), tag, list(self.variants))
            variant = found
        return variant.check(value, path)


@dataclass(frozen=True)
class Alt(Node):
    """A union told apart by JSON type: e.g. ``"auto"`` or an object, an integer or ``"inf"``."""

    string: Node | None = None
    integer: Node | None = None
    number: Node | None = None
    obj: Node | None = None
    array: Node | None = None
    expected: str = "a value"

    def check(self, value: Any, path: str) -> Error | None:
        node: Node | None
        if isinstance(value, bool):
            node = None
        elif isinstance(value, str):
            node = self.string
        elif isinstance(value, int):
            node = self.integer or self.number
        elif isinstance(value, float):
            node = self.number or self.integer
        elif isinstance(value, dict):
            node = self.obj
        elif isinstance(value, list):
            node = self.array
        else:
            node = None
        if node is None:
            return E.invalid_type(path, self.expected, value)
        return node.check(value, path)


@dataclass(frozen=True)
class Custom(Node):
    """A node with hand-written checks after a base node (PCM rate, modality combinations)."""

    base: Node
    after: Callable[[Any, str], Error | None]
    expected: str = "a value"

    def check(self, value: Any, path: str) -> Error | None:
        error = self.base.check(value, path)
        if error is not None:
            return error
        return self.after(value, path)
