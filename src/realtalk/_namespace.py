"""``__dir__`` for realtalk's public modules: ``dir(module)`` (and so tab completion, ``help``
and ``inspect.getmembers``) lists ``__all__`` only, not the typing helpers and imports a module
uses internally (``Any``, ``Mapping``, ``TypeAlias``...). Those stay importable for the code
and the type checkers that need them; they are just not offered as the module's API."""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["public_dir"]


def public_dir(names: Iterable[str]) -> Callable[[], list[str]]:
    """A module-level ``__dir__`` returning ``names`` sorted: ``__dir__ = public_dir(__all__)``."""
    shown = sorted(set(names))

    def __dir__() -> list[str]:
        return list(shown)

    return __dir__
