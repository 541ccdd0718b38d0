"""The public API is ``realtalk.__all__``: sorted, complete and importable."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import realtalk


def ruff_order(names: list[str]) -> list[str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions and modules."""

    def key(name: str) -> tuple[int, str]:
        bare = name.strip("_")
        group = 0 if bare.isupper() else 1 if bare[:1].isupper() else 2
        return group, name

    return sorted(names, key=key)


def test_all_is_sorted() -> None:
    names = list(realtalk.__all__)
    assert names == ruff_order(names), "keep realtalk.__all__ sorted (ruff check --fix does it)"


def test_all_names_exist() -> None:
    for name in realtalk.__all__:
        assert hasattr(realtalk, name), name


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(realtalk).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    missing = public - set(realtalk.__all__)
    assert not missing, f"public names missing from __all__: {sorted(missing)}"


def test_every_module_all_is_sorted_and_exists() -> None:
    for info in pkgutil.walk_packages(realtalk.__path__, "realtalk."):
        if info.name.endswith("__main__"):
            continue  # running it is its only job
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:  # optional extras (speech engines, devices)
            missing = str(exc.name or "")
            module = None
        if module is None:
            assert not missing.startswith("realtalk"), f"{info.name}: broken import of {missing}"
            continue
        names = getattr(module, "__all__", None)
        if names is None:
            continue
        assert list(names) == ruff_order(list(names)), f"{info.name}.__all__ is not sorted"
        for name in names:
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"


def test_reconnect_names_are_public() -> None:
    from realtalk import events, testing

    assert realtalk.Reconnect is importlib.import_module("realtalk.reconnect").Reconnect
    assert {"Reconnecting", "Reconnected"} <= set(events.__all__)
    for name in ("Reconnecting", "Reconnected"):
        assert getattr(events, name) in events.Event.__args__  # type: ignore[attr-defined]
    assert {"FaultProxy", "FaultRecord", "ScheduledFault"} <= set(testing.__all__)
