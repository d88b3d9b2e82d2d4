"""Demand scenarios of `optimise guarantee` (optimiser/scenarios.py): which count distribution
each demand row gets, exact quantiles, the shared regional factor, growth over the contract,
reproducibility, the scenarios.csv summary and bad options.

Hand figures used below:
    sd 6 on mean 20: variance 36 > 20, negative binomial r = 20^2 / (36 - 20) = 25,
        p = 20 / 36 = 5/9;
    sd 2 on mean 10: variance 4 < 10, binomial n = ceil(100 / 6) = 17, p = 10/17, variance
        10 * (1 - 10/17) = 70/17 = 4.1176 (the least a whole n gives at or above 4);
    cv 0.5 on mean 8: sd 4, variance 16 > 8: negative binomial r = 64 / 8 = 8, p = 1/2;
    no sd and no cv on mean 5: Poisson(5).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from optimiser.errors import InputError
from optimiser.loading import load_instance
from optimiser.market import build_market
from optimiser.scenarios import (
    BINOMIAL,
    CONSTANT,
    NEGATIVE_BINOMIAL,
    POISSON,
    SCENARIO_COLUMNS,
    demand_model,
    distribution_kind,
    draw,
    envelope,
    expected_set,
    latent_normals,
    quantiles,
    scenario_table,
)

TABLES = {
    "placement_types": [{"id": "t", "emergency_weekly_price": 5000},
                        {"id": "u", "emergency_weekly_price": 5000}],
    "authorities": [
        {"id": "A", "region": "North", "lat": 53.0, "lon": -2.0},
        {"id": "B", "region": "North", "lat": 53.1, "lon": -2.0},
        {"id": "C", "region": "South", "lat": 51.0, "lon": -1.0},
    ],
    "demand": [
        {"authority": "A", "placement_type": "t", "places": 20, "sd": 6},
        {"authority": "A", "placement_type": "u", "places": 10, "sd": 2},
        {"authority": "B", "placement_type": "t", "places": 8, "sd": None},
        {"authority": "C", "placement_type": "t", "places": 5, "sd": None},
        {"authority": "C", "placement_type": "u", "places": 0, "sd": None},
    ],
    "providers": [{"id": "P", "lat": 52.0, "lon": -1.5, "rating": "good"}],
    "offers": [{"provider": "P", "placement_type": "t", "capacity": 100, "weekly_price": 900},
               {"provider": "P", "placement_type": "u", "capacity": 100, "weekly_price": 900}],
}


def model_of(make_instance, **policy):
    instance = load_instance(make_instance(TABLES, policy or None))
    return demand_model(build_market(instance))


def test_each_row_gets_its_distribution(make_instance):
    model = model_of(make_instance)
    rows = {(a, n): i for i, (a, n) in enumerate(zip(model.needs["authority"],
                                                      model.needs["need"]))}
    assert ("C", "u") not in rows  # no expected places: no scenario demand
    mean, variance = model.mean(1), model.variance(1)
    kinds = {key: distribution_kind(mean[i], variance[i]) for key, i in rows.items()}
    assert kinds == {("A", "t"): NEGATIVE_BINOMIAL, ("A", "u"): BINOMIAL, ("B", "t"): POISSON,
                     ("C", "t"): POISSON}
    assert variance[rows[("B", "t")]] == 8 and variance[rows[("A", "t")]] == 36
    # a policy cv replaces Poisson where the table has no sd; the table's sd still wins
    with_cv = model_of(make_instance, demand_cv=0.5)
    assert with_cv.variance(1)[rows[("B", "t")]] == pytest.approx(16.0)
    assert with_cv.variance(1)[rows[("A", "t")]] == pytest.approx(36.0)
    assert list(with_cv.needs["source"]) == ["sd", "sd", "cv", "cv"]


def test_quantiles_are_the_hand_parameterised_distributions():
    u = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    assert np.array_equal(quantiles(20, 36, u), stats.nbinom.ppf(u, 25, 5 / 9))
    assert np.array_equal(quantiles(10, 4, u), stats.binom.ppf(u, 17, 10 / 17))
    assert np.array_equal(quantiles(8, 16, u), stats.nbinom.ppf(u, 8, 0.5))
    assert np.array_equal(quantiles(5, 5, u), stats.poisson.ppf(u, 5))
    assert stats.binom.var(17, 10 / 17) == pytest.approx(70 / 17)
    assert distribution_kind(7, 0) == CONSTANT and np.all(quantiles(7, 0, u) == 7)
    # a fractional mean with no variance: the least-variance binomial, n = ceil(2.5) = 3
    assert distribution_kind(2.5, 0) == BINOMIAL
    assert np.array_equal(quantiles(2.5, 0, u), stats.binom.ppf(u, 3, 2.5 / 3))


def test_counts_are_the_quantiles_of_the_seeded_normals(make_instance):
    """The whole draw is reproducible by hand from its SeedSequence streams."""
    model = model_of(make_instance)
    drawn = draw(model, 30, seed=7, stream=3)
    z = latent_normals(model, 7, 3, 30)
    mean, variance = model.mean(1), model.variance(1)
    for j in range(model.size):
        expected = quantiles(mean[j], variance[j], special.ndtr(z[:, j]))
        assert np.array_equal(drawn.demand[:, j], expected)
    first = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(3, 0)))
    regions, own = first.standard_normal(2), first.standard_normal(model.size)
    assert np.allclose(z[0], own)  # correlation 0: the regional factor has no weight
    assert regions.shape == (2,)
    assert np.all(drawn.demand == np.round(drawn.demand)) and np.all(drawn.demand >= 0)
    assert np.allclose(drawn.weights, 1 / 30) and drawn.sampled


def test_reproducible_prefix_stable_and_streams_differ(make_instance):
    model = model_of(make_instance)
    many, few = draw(model, 50, seed=1), draw(model, 10, seed=1)
    assert np.array_equal(many.demand[:10], few.demand)  # scenario k does not depend on N
    assert np.array_equal(draw(model, 50, seed=1).demand, many.demand)
    assert not np.array_equal(draw(model, 10, seed=2).demand, few.demand)
    assert not np.array_equal(draw(model, 10, seed=1, stream=1).demand, few.demand)


def test_large_samples_have_the_asked_mean_and_variance(make_instance):
    model = model_of(make_instance)
    sample = draw(model, 20_000, seed=3)
    for j, (mean, variance) in enumerate(zip(model.mean(1), model.variance(1))):
        target = variance if distribution_kind(mean, variance) != BINOMIAL else (
            mean * (1 - mean / math.ceil(mean * mean / (mean - variance))))
        values = sample.demand[:, j]
        assert abs(values.mean() - mean) < 5 * math.sqrt(target / len(values))
        assert values.var(ddof=1) == pytest.approx(target, rel=0.06)


def test_shared_regional_factor_correlates_a_region_only(make_instance):
    """rho = 0.6: rows of A and B (North) have latent correlation 0.6, C (South) none; the
    marginals do not change."""
    model = model_of(make_instance, demand_correlation=0.6)
    z = latent_normals(model, 11, 0, 20_000)
    r = np.corrcoef(z.T)
    north = [i for i, a in enumerate(model.needs["authority"]) if a in ("A", "B")]
    south = [i for i, a in enumerate(model.needs["authority"]) if a == "C"]
    assert r[north[0], north[2]] == pytest.approx(0.6, abs=0.02)
    assert r[north[0], north[1]] == pytest.approx(0.6, abs=0.02)  # one authority's two needs
    assert abs(r[north[0], south[0]]) < 0.03
    assert z.std(axis=0) == pytest.approx(np.ones(model.size), abs=0.02)
    counts = draw(model, 20_000, seed=11).demand
    assert counts.mean(axis=0) == pytest.approx(model.mean(1), rel=0.02)
    totals = counts[:, north].sum(axis=1)
    independent = draw(model_of(make_instance), 20_000, seed=11).demand[:, north].sum(axis=1)
    assert totals.var() > 1.3 * independent.var()  # correlation widens the total


def test_growth_over_the_contract_years(make_instance):
    """5 years at +10%: year y has mean mu * 1.1^(y-1); scenario k is in year 1 + k mod 5;
    the plan on expected demand uses the mean over the years."""
    model = model_of(make_instance, contract_years=5, demand_growth_pct=10)
    sample = draw(model, 25, seed=0)
    assert list(sample.year[:7]) == [1, 2, 3, 4, 5, 1, 2]
    growth = sum(1.1 ** y for y in range(5)) / 5
    assert model.planned == pytest.approx(model.needs["places"].to_numpy() * growth)
    assert expected_set(model).demand[0] == pytest.approx(model.planned)
    assert model.mean(3) == pytest.approx(model.needs["places"].to_numpy() * 1.21)
    assert model.variance(3)[0] == pytest.approx(36 * 1.21 ** 2)  # the sd grows with the mean
    assert model.variance(3)[2] == pytest.approx(8 * 1.21)  # Poisson stays Poisson
    big = draw(model, 10_000, seed=0)
    year_five = big.demand[big.year == 5, 0]
    assert year_five.mean() == pytest.approx(20 * 1.1 ** 4, rel=0.03)


def test_summary_table(make_instance):
    model = model_of(make_instance)
    sample = draw(model, 200, seed=5)
    table = scenario_table(model, sample, {"A": "Aville"})
    assert tuple(table.columns) == SCENARIO_COLUMNS
    assert len(table) == model.size + 1
    first, total = table.iloc[0], table.iloc[-1]
    assert (first["authority"], first["name"], first["placement_type"]) == ("A", "Aville", "t")
    assert first["distribution"] == NEGATIVE_BINOMIAL and first["sd"] == pytest.approx(6)
    assert first["sample_mean"] == pytest.approx(sample.demand[:, 0].mean())
    assert first["max"] == sample.demand[:, 0].max()
    assert total["expected_places"] == pytest.approx(43)
    assert total["sample_mean"] == pytest.approx(sample.demand.sum(axis=1).mean())
    assert total["p05"] <= total["p50"] <= total["p95"]
    assert envelope(sample, expected_set(model)).tolist() == sample.demand.max(axis=0).tolist()


@pytest.mark.parametrize("count", [0, -3, 2_000_000])
def test_bad_scenario_counts(make_instance, count):
    with pytest.raises(InputError, match="--scenarios: must lie between 1 and"):
        draw(model_of(make_instance), count, seed=0)


@pytest.mark.parametrize("key, value, message", [
    ("demand_cv", "-0.5", "demand_cv"),
    ("demand_correlation", "1.5", "demand_correlation"),
    ("contract_years", "0", "contract_years"),
    ("demand_growth_pct", "-80", "demand_growth_pct"),
])
def test_bad_policy_values(make_instance, key, value, message):
    with pytest.raises(InputError, match=message):
        load_instance(make_instance(TABLES), {key: value})
