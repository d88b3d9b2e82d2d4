"""Demand scenarios for `optimise guarantee`: integer counts of children drawn around the
expected places of every member's needs.

**Marginals.** For each demand row (authority a, need n) with expected places mu > 0, its
variance in the first contract year is

* sd^2 when the demand table gives an ``sd``;
* (demand_cv * mu)^2 when it does not and the policy sets ``demand_cv``;
* mu (Poisson) when neither does.

The count is then Poisson(mu) when the variance equals the mean; negative binomial with
mean mu and that variance when it exceeds the mean (r = mu^2 / (var - mu), p = mu / var); and,
when it is below the mean (under-dispersed, e.g. a small sd), binomial with
n = ceil(mu^2 / (mu - var)) and p = mu / n: the mean is exact and the variance the smallest a
binomial with an integer n can give at or above the one asked for (var = 0 with a whole mu is a
constant). Rows with mu = 0 stay 0. Counts are whole children; the model takes them as places.

**Growth over the contract.** With ``contract_years`` H and ``demand_growth_pct`` g, year y
(1..H) has mean mu * (1 + g/100)^(y-1); an ``sd`` grows in proportion (the cv is kept), a
``demand_cv`` applies to the grown mean, Poisson stays Poisson. Scenario k falls in year
1 + (k mod H), so the years are evenly represented and every scenario is "a year of the
contract": expected annual cost is averaged over the contract's years.

**Correlation.** A Gaussian copula with one shared factor per region: for scenario k,
Z[a,n] = sqrt(rho) * Y[region(a)] + sqrt(1 - rho) * E[a,n] with Y and E independent standard
normals, rho = ``demand_correlation``; the count is the marginal's quantile at Phi(Z) (Z clipped
to +-8). Any two rows of authorities in the same region (a blank region is one region) have
latent correlation rho, rows in different regions are independent, and each row's marginal is
exactly the one above, whatever rho.

**Reproducibility.** Scenario k of stream j draws its normals from
``numpy.random.SeedSequence(seed, spawn_key=(j, k))``: a scenario does not depend on how many
are drawn, on the number of workers, or on the other streams. Stream 0 is the evaluation sample
(and the sweep's); stream 1 + m is replication m of the sample average approximation.

**The previous year** (for the soft block's review, ``optimiser.guarantee.contract_forms``). Children
stay in care for years, so a caseload persists: take arrivals as a Poisson process and stays as
exponential with mean mu (``mean_stay_years``; Little's law: the number in care over the number
leaving a year). The number in care is then the stationary M/M/inf queue: N(t + 1) is made of
the S of the N(t) children still there a year on (each independently, probability
q = exp(-1/mu), so E[S | N(t)] = q N(t)) plus new arrivals independent of N(t), so
Cov(N(t), N(t + 1)) = E[N(t) q N(t)] - E[N(t)] q E[N(t)] = q Var N(t) and, the variance being
stationary, the year-to-year correlation is rho = exp(-1/mu) (mu = 2.47 years:
rho = 0.667; mu -> 0: rho -> 0, independent years). Each evaluation scenario k ("this year",
drawn as above and left exactly as it is) is paired with a previous year whose latent normals
are Z_prev = rho Z_k + sqrt(1 - rho^2) H_k, H_k the latent normals of scenario k of stream
``PREVIOUS_YEAR_STREAM`` (built as Z, with the same regional factors): Z_prev has the same
copula as Z, so its counts (the same quantiles, at the previous contract year's mean: year
max(y - 1, 1)) have exactly the marginals of a year, and corr(Z_prev, Z_k) = rho per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from optimiser.columns import SCENARIOS
from optimiser.errors import InputError, Problem
from optimiser.market import Market

POISSON = "poisson"
NEGATIVE_BINOMIAL = "negative_binomial"
BINOMIAL = "binomial"
CONSTANT = "constant"

EVALUATION_STREAM = 0
#: the innovations H_k of the paired previous years (module docstring); far above any
#: replication's stream 1 + m
PREVIOUS_YEAR_STREAM = 1_000_000
#: latent normals are clipped here, so no draw is further out than Phi(-8) = 6e-16
Z_CLIP = 8.0
#: most scenarios in one set (a typo guard; each is a solve)
MAX_SCENARIOS = 1_000_000
#: relative tolerance deciding "variance equals the mean"
EQUAL_VARIANCE = 1e-9

SCENARIOS_CSV = "scenarios.csv"
#: one row per demand row (member, need) with expected places > 0, in the market's order, then
#: a total row (authority and placement_type blank). expected_places and sd: first contract year
#: (sd as used: the table's, the policy cv's or sqrt(mean) for Poisson); distribution: poisson,
#: negative_binomial, binomial or constant in the first year; planned_places: the mean over the
#: contract's years (what the expected-value plan plans on). The rest describe the evaluation
#: sample (the sweep's scenarios): sample_mean, sample_sd, p05, p50, p95, min, max of the counts.
#: Declared with their kinds in ``optimiser.columns``.
SCENARIO_COLUMNS = SCENARIOS.names


@dataclass(frozen=True)
class DemandModel:
    """How the demand of every need (row of ``needs``) varies; see the module docstring."""

    needs: pd.DataFrame  # authority, need, places (mu), sd (first year), source, region
    years: int
    growth_pct: float
    correlation: float
    regions: tuple[str, ...]  # region of each factor, in first-seen order
    region_of: np.ndarray  # factor index of each need

    @property
    def size(self) -> int:
        return len(self.needs)

    def mean(self, year: int) -> np.ndarray:
        return self.needs["places"].to_numpy() * self.growth(year)

    def growth(self, year: int) -> float:
        return (1.0 + self.growth_pct / 100.0) ** (year - 1)

    def variance(self, year: int) -> np.ndarray:
        """Variance of each need's count in ``year``."""
        mean = self.mean(year)
        sd = self.needs["sd"].to_numpy() * self.growth(year)
        poisson = self.needs["source"].to_numpy() == POISSON
        return np.where(poisson, mean, sd ** 2)

    @property
    def planned(self) -> np.ndarray:
        """Mean over the contract's years: the expected demand a deterministic plan uses."""
        return np.mean([self.mean(y) for y in range(1, self.years + 1)], axis=0)


@dataclass(frozen=True)
class ScenarioSet:
    """Scenarios as rows of ``demand`` (places of every need of the demand model), with
    probabilities ``weights`` (summing to 1) and contract ``year``. ``sampled``: drawn at random
    (weights 1/S, statistics carry sampling error) rather than an enumerated distribution."""

    demand: np.ndarray
    weights: np.ndarray
    year: np.ndarray
    sampled: bool = True
    label: str = ""

    @property
    def size(self) -> int:
        return len(self.weights)

    def subset(self, rows: np.ndarray | slice) -> ScenarioSet:
        """Some of the scenarios (weights renormalised)."""
        weights = self.weights[rows]
        return ScenarioSet(self.demand[rows], weights / weights.sum(), self.year[rows],
                           self.sampled, self.label)


def demand_model(market: Market) -> DemandModel:
    """The demand model of ``market``'s needs under its instance's policy."""
    instance = market.instance
    policy = instance.policy
    sd_of = {(d.authority, d.placement_type): d.sd for d in instance.demand}
    needs = market.needs[["authority", "need", "places"]].copy()
    sds, sources = [], []
    for a, n, mu in zip(needs["authority"], needs["need"], needs["places"]):
        sd = sd_of.get((a, n))
        if sd is not None:
            sds.append(float(sd))
            sources.append("sd")
        elif policy.demand_cv is not None:
            sds.append(policy.demand_cv * float(mu))
            sources.append("cv")
        else:
            sds.append(math.sqrt(float(mu)))
            sources.append(POISSON)
    needs["sd"] = sds
    needs["source"] = sources
    needs["region"] = [instance.authorities[a].region or "" for a in needs["authority"]]
    regions = tuple(dict.fromkeys(needs["region"]))
    index = {r: i for i, r in enumerate(regions)}
    return DemandModel(needs.reset_index(drop=True), policy.contract_years,
                       policy.demand_growth_pct, policy.demand_correlation, regions,
                       np.array([index[r] for r in needs["region"]], dtype=np.int64))


def distribution_kind(mean: float, variance: float) -> str:
    """Which count distribution has this mean and variance (module docstring)."""
    if mean <= 0:
        return CONSTANT
    if abs(variance - mean) <= EQUAL_VARIANCE * mean:
        return POISSON
    if variance > mean:
        return NEGATIVE_BINOMIAL
    n = _binomial_trials(mean, variance)
    return CONSTANT if n == mean else BINOMIAL


def _binomial_trials(mean: float, variance: float) -> int:
    return max(1, math.ceil(mean * mean / (mean - variance) - 1e-9))


def quantiles(mean: float, variance: float, probability: np.ndarray) -> np.ndarray:
    """The count distribution's quantile function at ``probability`` (vectorised)."""
    kind = distribution_kind(mean, variance)
    if kind == CONSTANT:
        return np.full(probability.shape, float(max(mean, 0.0)))
    if kind == POISSON:
        return stats.poisson.ppf(probability, mean)
    if kind == NEGATIVE_BINOMIAL:
        return stats.nbinom.ppf(probability, mean * mean / (variance - mean), mean / variance)
    n = _binomial_trials(mean, variance)
    return stats.binom.ppf(probability, n, mean / n)


def scenario_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def latent_normals(model: DemandModel, seed: int, stream: int, count: int) -> np.ndarray:
    """Z (count x needs): the correlated latent normals of scenarios 0..count-1 of a stream."""
    rho = model.correlation
    z = np.empty((count, model.size))
    for k in range(count):
        rng = scenario_rng(seed, stream, k)
        shared = rng.standard_normal(len(model.regions))
        own = rng.standard_normal(model.size)
        z[k] = math.sqrt(rho) * shared[model.region_of] + math.sqrt(1.0 - rho) * own
    return np.clip(z, -Z_CLIP, Z_CLIP)


def draw(model: DemandModel, count: int, seed: int, stream: int = EVALUATION_STREAM,
         label: str = "") -> ScenarioSet:
    """``count`` scenarios of ``stream`` (module docstring), each with weight 1/count."""
    check_count(count, "--scenarios")
    year = 1 + np.arange(count) % model.years
    demand = _counts(model, latent_normals(model, seed, stream, count), year)
    return ScenarioSet(demand, np.full(count, 1.0 / count), year, True, label)


def _counts(model: DemandModel, z: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Each row's count at latent normals ``z`` in its contract ``year``."""
    probability = special.ndtr(z)
    demand = np.zeros(z.shape)
    for y in np.unique(year):
        rows = year == y
        mean, variance = model.mean(int(y)), model.variance(int(y))
        for j in range(model.size):
            demand[rows, j] = quantiles(float(mean[j]), float(variance[j]), probability[rows, j])
    return demand


def year_to_year_correlation(mean_stay_years: float) -> float:
    """rho = exp(-1/mu): the correlation of the number in care a year apart (module
    docstring, "The previous year")."""
    return math.exp(-1.0 / mean_stay_years)


def previous_years(model: DemandModel, count: int, seed: int, rho: float,
                   label: str = "previous year") -> ScenarioSet:
    """The previous year of each of the evaluation stream's first ``count`` scenarios, with
    latent correlation ``rho`` to it (module docstring); row k pairs with scenario k."""
    z = latent_normals(model, seed, EVALUATION_STREAM, count)
    own = latent_normals(model, seed, PREVIOUS_YEAR_STREAM, count)
    paired = np.clip(rho * z + math.sqrt(max(1.0 - rho * rho, 0.0)) * own, -Z_CLIP, Z_CLIP)
    year = np.maximum(1 + np.arange(count) % model.years - 1, 1)
    return ScenarioSet(_counts(model, paired, year), np.full(count, 1.0 / count), year, True,
                       label)


def check_count(count: int, option: str, least: int = 1) -> None:
    if not least <= count <= MAX_SCENARIOS:
        raise InputError(Problem(option, f"must lie between {least} and {MAX_SCENARIOS:,}, "
                                 f"got {count}"))


def expected_set(model: DemandModel) -> ScenarioSet:
    """One scenario of weight 1 at the planned (expected) demand: the deterministic plan."""
    return ScenarioSet(model.planned[None, :], np.ones(1), np.ones(1, dtype=np.int64), False,
                       "expected demand")


def envelope(*sets: ScenarioSet) -> np.ndarray:
    """The largest demand of every need over ``sets``: the model's bounds must hold for all."""
    return np.max(np.vstack([s.demand for s in sets]), axis=0)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cumulative, q - 1e-12), len(values) - 1)])


def scenario_table(model: DemandModel, sample: ScenarioSet, names: dict[str, str]
                   ) -> pd.DataFrame:
    """scenarios.csv (SCENARIO_COLUMNS): each demand row's distribution and sample, then the
    total."""
    rows = []
    needs = model.needs
    variance = model.variance(1)
    columns = [(a, names.get(a, a), n, r, mu, math.sqrt(max(v, 0.0)), distribution_kind(mu, v),
                p, sample.demand[:, j])
               for j, (a, n, r, mu, v, p) in enumerate(zip(
                   needs["authority"], needs["need"], needs["region"], needs["places"],
                   variance, model.planned))]
    total = sample.demand.sum(axis=1)
    columns.append(("", "", "", "", float(needs["places"].sum()), None, "",
                    float(model.planned.sum()), total))
    w = sample.weights
    for a, name, n, region, mu, sd, kind, planned, values in columns:
        mean = float(np.dot(w, values))
        rows.append({
            "authority": a, "name": name, "placement_type": n, "region": region,
            "expected_places": mu, "sd": sd, "distribution": kind, "planned_places": planned,
            "scenarios": sample.size, "sample_mean": mean,
            "sample_sd": math.sqrt(max(float(np.dot(w, (values - mean) ** 2)), 0.0)),
            "p05": _weighted_quantile(values, w, 0.05),
            "p50": _weighted_quantile(values, w, 0.5),
            "p95": _weighted_quantile(values, w, 0.95),
            "min": float(values.min()), "max": float(values.max()),
        })
    return pd.DataFrame(rows, columns=list(SCENARIO_COLUMNS))
