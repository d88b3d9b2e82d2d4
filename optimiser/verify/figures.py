"""Figures carrying their rounding slack, and the tolerances they are checked with."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from optimiser import outputs

# Absolute tolerances: money is written to the penny, places to 6 decimals, km to 3.
MONEY_ABS = 0.01
PLACES_ABS = 1e-5
KM_ABS = 0.5 * 10**-outputs.KM_DP + 1e-9
# Half a unit in the last written decimal of places: how far a file's places may sit from the
# solver's unrounded value, and so how much every figure rebuilt from them may drift.
PLACES_ROUNDING = 0.5 * 10**-outputs.PLACES_DP
# A standalone cost read back from a file is itself rounded to the penny.
MONEY_ROUNDING = 0.5 * 10**-outputs.MONEY_DP
RATIO_ROUNDING = 0.5 * 10**-outputs.RATIO_DP


@dataclass(frozen=True)
class Figure:
    """A recomputed figure and how far it may honestly sit from the one the run computed.

    The run computed its figures from unrounded places; we only see places rounded to 6
    decimals. Rebuilding a £260k-a-year residential cost from places off by 5e-7 moves it by
    13p, which a flat penny tolerance would call a disagreement. So each figure carries the
    worst-case effect of that rounding (first order) and comparisons widen by it.
    """

    value: float
    slack: float = 0.0

    def __add__(self, other: Figure | float) -> Figure:
        other = as_figure(other)
        return Figure(self.value + other.value, self.slack + other.slack)

    __radd__ = __add__

    def __sub__(self, other: Figure | float) -> Figure:
        other = as_figure(other)
        return Figure(self.value - other.value, self.slack + other.slack)

    def __rsub__(self, other: Figure | float) -> Figure:
        return as_figure(other) - self

    def __mul__(self, factor: float) -> Figure:
        return Figure(self.value * factor, self.slack * abs(factor))

    __rmul__ = __mul__


def as_figure(value: Figure | float) -> Figure:
    return value if isinstance(value, Figure) else Figure(float(value))


def places_figure(places: float) -> Figure:
    return Figure(places, PLACES_ROUNDING)


def ratio(numerator: Figure, denominator: Figure) -> Figure | None:
    """numerator / denominator, or None (blank) when the denominator is zero."""
    if denominator.value == 0:
        return None
    value = numerator.value / denominator.value
    slack = (numerator.slack + abs(value) * denominator.slack) / abs(denominator.value)
    return Figure(value, slack)


def total(figures: Iterable[Figure]) -> Figure:
    return sum(figures, Figure(0.0))


def propagate(
    function: Callable[[list[float]], float | None], inputs: list[Figure]
) -> Figure | None:
    """function(inputs) with a slack found by nudging each input by its own slack.

    Used for the fairness indices, whose sensitivity to one member's saving % has no simple
    closed form worth maintaining twice.
    """
    values = [f.value for f in inputs]
    centre = function(values)
    if centre is None:
        return None
    slack = 0.0
    for i, figure in enumerate(inputs):
        moved = []
        for step in (figure.slack, -figure.slack):
            nudged = list(values)
            nudged[i] += step
            result = function(nudged)
            moved.append(0.0 if result is None else abs(result - centre))
        slack += max(moved)
    return Figure(centre, slack)
