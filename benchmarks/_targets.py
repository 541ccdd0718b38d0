"""The goals the benchmarks are held to, each printed with its figure and met / missed.

A benchmark states a goal where it computes the figure (``table.target(...)``), so the goal
sits beside the measurement it judges; ``python -m benchmarks`` gathers every table's targets
into one closing table. Goals that compare two benchmarks (the two inbound harnesses must agree)
read figures the benchmarks publish with :func:`publish`.

Nothing here is ever asserted in a test: a missed goal is a figure to explain, not a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = [
    "Target",
    "agreement",
    "at_least",
    "at_most",
    "pooled",
    "publish",
    "publish_samples",
    "published",
    "reset",
]


@dataclass(frozen=True)
class Target:
    what: str  # "inbound 100 ms: realtalk / floor"
    figure: float  # NaN: missing (a client was skipped)
    limit: float
    most: bool  # True: the figure must stay at or under the limit; False: at or over it
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        if math.isnan(self.figure):
            return None
        return self.figure <= self.limit if self.most else self.figure >= self.limit

    @property
    def goal(self) -> str:
        return f"{'<=' if self.most else '>='} {_show(self.limit, self.unit, goal=True)}"

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("met" if self.met else "MISSED")

    @property
    def shown(self) -> str:
        return _show(self.figure, self.unit)

    def with_figure(self, figure: float) -> Target:
        return replace(self, figure=figure)


def _show(value: float, unit: str, goal: bool = False) -> str:
    if math.isnan(value):
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:g} %" if goal else f"{value:.1f} %"
    return (f"{value:g} {unit}" if goal else f"{value:,.0f} {unit}").rstrip()


def at_most(what: str, figure: float, limit: float, unit: str = "x") -> Target:
    return Target(what, figure, limit, most=True, unit=unit)


def at_least(what: str, figure: float, limit: float, unit: str = "x") -> Target:
    return Target(what, figure, limit, most=False, unit=unit)


def agreement(what: str, first: float, second: float, tolerance_pct: float) -> Target:
    """How far apart two measures of one quantity are, in percent of the first."""
    if math.isnan(first) or math.isnan(second) or first == 0:
        gap = math.nan
    else:
        gap = abs(second - first) / abs(first) * 100
    return at_most(what, gap, tolerance_pct, unit="%")


_FIGURES: dict[str, float] = {}
_SAMPLES: dict[str, list[float]] = {}


def publish(key: str, value: float) -> None:
    """Make a figure available to goals that compare benchmarks (see ``benchmarks/__main__``)."""
    _FIGURES[key] = value


def published(key: str) -> float:
    return _FIGURES.get(key, math.nan)


def publish_samples(key: str, values: list[float]) -> None:
    """Add one run's samples of a figure; unlike :func:`publish`, they pool across repeats."""
    _SAMPLES.setdefault(key, []).extend(values)


def pooled(key: str) -> list[float]:
    """Every sample published under ``key`` since ``reset(samples=True)``."""
    return list(_SAMPLES.get(key, []))


def reset(*, samples: bool = False) -> None:
    """Forget the published figures (each run starts afresh); ``samples``: the pooled too."""
    _FIGURES.clear()
    if samples:
        _SAMPLES.clear()
