"""The goals the benchmarks are held to, each printed with its figure and met / missed.

A benchmark states a goal where it computes the figure (``table.target(...)``), so the goal
sits beside the measurement it judges; ``python -m benchmarks`` gathers every table's targets
into one closing table. Goals that compare two benchmarks (the two inbound harnesses must agree)
read figures the benchmarks publish with :func:`publish`.

Nothing here is ever asserted in a test: a missed goal is a figure to explain, not a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Target", "agreement", "at_least", "at_most", "publish", "published", "reset"]


@dataclass(frozen=True)
class Target:
    what: str  # "inbound 100 ms: realtalk / floor"
    figure: float
    goal: str  # "<= 1.10x"
    met: bool | None  # None: the figure is missing (a client was skipped)
    unit: str = "x"

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("met" if self.met else "MISSED")

    @property
    def shown(self) -> str:
        if math.isnan(self.figure):
            return "-"
        if self.unit == "x":
            return f"{self.figure:.2f}x"
        if self.unit == "%":
            return f"{self.figure:.1f} %"
        return f"{self.figure:,.0f} {self.unit}".rstrip()


def _limit(limit: float, unit: str) -> str:
    if unit == "x":
        return f"{limit:.2f}x"
    if unit == "%":
        return f"{limit:g} %"
    return f"{limit:g} {unit}".rstrip()


def at_most(what: str, figure: float, limit: float, unit: str = "x") -> Target:
    met = None if math.isnan(figure) else figure <= limit
    return Target(what, figure, f"<= {_limit(limit, unit)}", met, unit)


def at_least(what: str, figure: float, limit: float, unit: str = "x") -> Target:
    met = None if math.isnan(figure) else figure >= limit
    return Target(what, figure, f">= {_limit(limit, unit)}", met, unit)


def agreement(what: str, first: float, second: float, tolerance_pct: float) -> Target:
    """How far apart two measures of one quantity are, in percent of the first."""
    if math.isnan(first) or math.isnan(second) or first == 0:
        return Target(what, math.nan, f"<= {tolerance_pct:g} %", None, "%")
    gap = abs(second - first) / abs(first) * 100
    return Target(what, gap, f"<= {tolerance_pct:g} %", gap <= tolerance_pct, "%")


_FIGURES: dict[str, float] = {}


def publish(key: str, value: float) -> None:
    """Make a figure available to goals that compare benchmarks (see ``benchmarks/__main__``)."""
    _FIGURES[key] = value


def published(key: str) -> float:
    return _FIGURES.get(key, math.nan)


def reset() -> None:
    _FIGURES.clear()
