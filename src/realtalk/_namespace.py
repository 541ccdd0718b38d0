"""``__dir__`` for realtalk's public modules: ``dir(module)`` (and so tab completion, ``help``
and ``inspect.getmembers``) lists ``__all__`` only, not the typing helpers and imports a module
uses internally (``Any``, ``Mapping``, ``TypeAlias``...). Those stay importable for the code
and the type checkers that need them; they are just not offered as the module's API."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_getattr", "public_dir"]


def public_dir(names: Iterable[str]) -> Callable[[], list[str]]:
    """A module-level ``__dir__`` returning ``names`` sorted: ``__dir__ = public_dir(__all__)``."""
    shown = sorted(set(names))

    def __dir__() -> list[str]:
        return list(shown)

    return __dir__


def lazy_getattr(
    module: str, homes: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A PEP 562 module ``__getattr__`` that imports each name from its home module on first
    use and caches it in ``namespace`` (the module's ``globals()``), so a package can re-export
    its layers without importing them (and asyncio with them) up front."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    return __getattr__
