"""Estimates with their 95% intervals, value at risk and CVaR over a weighted scenario sample
(the ``optimiser.guarantee`` package's docstring, **Statistics**): what the analysis, the
tables and the contract forms (``optimiser.guarantee.contract_forms``) all read an option's
figures by."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from models.guarantee import Risk

if TYPE_CHECKING:
    from optimiser.guarantee.analysis import Evaluated, GuaranteeOutcome

CONFIDENCE = 0.95


def value_at_risk(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    """The weighted level-quantile: the least value whose cumulative weight reaches it."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, level * cumulative[-1] - 1e-12))
    return float(values[order][min(index, len(values) - 1)])


def cvar(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    """CVaR = VaR + 1/(1 - level) sum_s p_s (C^s - VaR)^+ (exact for a discrete sample)."""
    var = value_at_risk(values, weights, level)
    return var + float(np.dot(weights, np.clip(values - var, 0.0, None))) / (1.0 - level)


def risk_terms(values: np.ndarray, weights: np.ndarray, risk: Risk) -> np.ndarray:
    """g^s of the package docstring: their weighted mean is (1 - w) E + w CVaR."""
    if risk.weight == 0:
        return values.copy()
    eta = value_at_risk(values, weights, risk.level)
    tail = eta + np.clip(values - eta, 0.0, None) / (1.0 - risk.level)
    return (1.0 - risk.weight) * values + risk.weight * tail


@dataclass(frozen=True)
class Estimate:
    """A mean and its 95% confidence interval (None where undefined)."""

    estimate: float
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}


def estimate(values: np.ndarray, weights: np.ndarray, sampled: bool,
             student: bool = False) -> Estimate:
    """Weighted mean; its interval is z (or t) * s / sqrt(n) for a sample, none (exact) for an
    enumerated distribution."""
    mean = float(np.dot(weights, values))
    if not sampled:
        return Estimate(mean, mean, mean)
    n = len(values)
    if n < 2:
        return Estimate(mean, None, None)
    quantile = (stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) if student
                else stats.norm.ppf(0.5 + CONFIDENCE / 2))
    half = float(quantile * np.std(values, ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    return value_at_risk(values, weights, q)


def objective_of(outcome: GuaranteeOutcome, evaluated: Evaluated) -> float:
    """An option's objective on the evaluation sample: (1 - w) mean + w CVaR."""
    weights = outcome.evaluation.weights
    return float(np.dot(weights, risk_terms(evaluated.figures.cost, weights,
                                            outcome.settings.risk)))
