"""Order statistics and plain-text tables (standard library only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks._targets import Target

__all__ = ["Table", "fmt_ratio", "median", "paired_ratio", "percentile", "spread"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def paired_ratio(over: Sequence[float], under: Sequence[float]) -> float:
    """The median of ``over[i] / under[i]``: samples taken in the same round, so a level the
    machine moves to between rounds cancels out; NaN when they cannot be paired."""
    if not over or len(over) != len(under):
        return math.nan
    return median([a / b for a, b in zip(over, under, strict=True) if b > 0])


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(p10, p90): the band most samples fall in, robust to the odd scheduler hiccup."""
    return percentile(values, 10.0), percentile(values, 90.0)


def fmt_ratio(value: float, reference: float) -> str:
    if not (reference > 0) or math.isnan(value):
        return "-"
    return f"{value / reference:.2f}x"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


@dataclass
class Table:
    """A titled plain-text table with notes under it."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add(self, *row: object) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def target(self, target: Target) -> None:
        """A goal this table's figures are held to (gathered by ``python -m benchmarks``)."""
        self.targets.append(target)

    def render(self) -> str:
        cells = [[str(c) for c in self.columns]] + [[_fmt(v) for v in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]

        def line(row: list[str]) -> str:
            # Text columns (the first) align left, figures align right.
            parts = [
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ]
            return "  ".join(parts).rstrip()

        out = [self.title, "=" * len(self.title), line(cells[0])]
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(row) for row in cells[1:])
        out.extend(
            f"* target: {t.what} = {t.shown} (goal {t.goal}): {t.verdict}" for t in self.targets
        )
        out.extend(f"* {text}" for text in self.notes)
        return "\n".join(out)
