"""Recording checks: every comparison counted, every disagreement named by file, row and column."""

from __future__ import annotations

from typing import Any

from optimiser.verify.figures import (
    KM_ABS,
    MONEY_ABS,
    PLACES_ABS,
    RATIO_ROUNDING,
    Figure,
    as_figure,
)


def fmt(value: Any) -> str:
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Figure):
        value = value.value
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


class Checker:
    """Counts checks and words each disagreement: file, row, column, file value, recomputed."""

    def __init__(self, tolerance: float):
        self.tolerance = tolerance
        self.count = 0
        self.disagreements: list[str] = []

    def fail(self, message: str) -> None:
        self.disagreements.append(message)

    def require(self, condition: bool, message: str) -> bool:
        self.count += 1
        if not condition:
            self.fail(message)
        return condition

    def _compare(
        self,
        where: str,
        found: Any,
        expected: Figure | float | None,
        absolute: float,
        relative: bool,
    ) -> bool:
        self.count += 1
        if found is None or expected is None:
            agree = found is None and expected is None
        else:
            expected = as_figure(expected)
            tolerance = absolute + expected.slack
            if relative:
                tolerance += self.tolerance * max(abs(found), abs(expected.value))
            agree = abs(found - expected.value) <= tolerance
        if not agree:
            self.fail(f"{where}: file {fmt(found)}, recomputed {fmt(expected)}")
        return agree

    def money(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(where, found, expected, MONEY_ABS, relative=True)

    def places(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(where, found, expected, PLACES_ABS, relative=True)

    def ratio(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(
            where, found, expected, self.tolerance + RATIO_ROUNDING, relative=False
        )

    def km(self, where: str, found: Any, expected: float) -> bool:
        return self._compare(where, found, expected, KM_ABS, relative=True)

    def same(self, where: str, found: Any, expected: Any) -> bool:
        self.count += 1
        if found != expected:
            self.fail(f"{where}: file {fmt(found)}, recomputed {fmt(expected)}")
            return False
        return True


def at(file: str, row: str, column: str | None = None) -> str:
    return f"{file} row {row}" + (f" column {column}" if column else "")
