"""Fairness figures of docs/model.md section 6, over members' saving percentages."""

from __future__ import annotations

import numpy as np

from optimiser.outputs import RATIO_DP


def jain_index(values: list[float]) -> float | None:
    """(sum x)^2 / (n * sum x^2): 1 when all equal, 1/n when one member has everything.
    1.0 when every value is 0 (all equal); None with no values."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return None
    squares = float((x ** 2).sum())
    return 1.0 if squares == 0 else float(x.sum() ** 2 / (x.size * squares))


def gini(values: list[float]) -> float | None:
    """sum_i sum_j |x_i - x_j| / (2 n^2 mean): 0 when all equal. None when the mean is not
    positive (the index is not defined for such values)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0 or x.mean() <= 0:
        return None
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean()))


def fairness_figures(saving_pct: list[float], total_cost: float,
                     reference_cost: float) -> dict[str, float | None]:
    """min/max saving %, Jain, Gini, and the price of fairness against ``reference_cost`` (the
    total under ``volume`` without individual rationality).

    The indices take saving % as published (``outputs.RATIO_DP`` decimals): near zero, Jain's
    index jumps between 1 (all exactly equal) and anything at all on solver noise of 1e-9 %,
    and the published figures are what a reader (and ``optimise verify``) can check."""
    saving_pct = [round(x, RATIO_DP) for x in saving_pct]
    price = total_cost - reference_cost
    return {
        "min_saving_pct": min(saving_pct) if saving_pct else None,
        "max_saving_pct": max(saving_pct) if saving_pct else None,
        "jain": jain_index(saving_pct),
        "gini": gini(saving_pct),
        "price_of_fairness": price,
        "price_of_fairness_pct": 100.0 * price / reference_cost if reference_cost else None,
    }
