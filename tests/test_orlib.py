"""The OR-Library capacitated warehouse location instances (docs/model.md section 4, special
case).

With one placement type, contract costs and capacities the consortium model is the capacitated
facility location problem, so its optimal annual cost must equal Beasley's published optimum
(``tests/data/orlib-cap/optima.csv``). The 37 small instances are solved through the
consortium solve itself (``build_market`` + ``solve_consortium``, voice ``volume``): a full
``run()`` also computes 50 standalone baselines per instance, about 3 s each, so it is checked
on cap41 only (and on all of them under ``-m slow``).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from orlib import read_cap

from models.plan import Plan, read_plan
from models.voices import solve_consortium
from optimiser.errors import InputError
from optimiser.market import build_market
from optimiser.run import run, solver_for

DATA = Path(__file__).parent / "data" / "orlib-cap"
OPTIMA = {row["instance"]: float(row["optimal_cost"]) for row in csv.DictReader(
    (DATA / "optima.csv").read_text(encoding="utf-8").splitlines())}
SMALL = [name for name in OPTIMA if (DATA / f"{name}.txt").exists()]
REL = 1e-6


@cache
def solve(name: str, solver: str = "highs") -> Plan:
    """The consortium plan of instance ``name`` solved by ``solver``."""
    instance = read_cap(DATA / f"{name}.txt").with_policy(solver=solver)
    model, result = solve_consortium(build_market(instance), solver_for(instance), "volume")
    assert result.has_plan, result.message
    return read_plan(model, result)


def assert_published_optimum(plan: Plan, name: str) -> None:
    expected = OPTIMA[name]
    assert plan.total_cost == pytest.approx(expected, rel=REL)
    assert plan.result.objective == pytest.approx(expected, rel=REL)


def test_all_small_instances_are_present():
    assert len(SMALL) == 37


def test_cap41_reads_as_the_readme_says():
    instance = read_cap(DATA / "cap41.txt")
    assert instance.total_demand == 58268
    assert len(instance.providers) == 16 and len(instance.authorities) == 50
    assert len(instance.distances) == 16 * 50
    assert {o.weekly_price for o in instance.offers} == {0.0}
    # cap41's first customer: demand 146, cost of serving it all from W1 6739.725
    first = next(d for d in instance.distances if (d.authority, d.provider) == ("C1", "W1"))
    assert first.extra_cost_year == pytest.approx(6739.725 / 146)


@pytest.mark.parametrize("name", SMALL)
def test_highs_reaches_the_published_optimum(name):
    plan = solve(name)
    assert plan.result.status == "optimal"
    assert_published_optimum(plan, name)


@pytest.mark.parametrize("name", SMALL)
def test_plan_respects_capacity_and_meets_all_demand(name):
    plan = solve(name)
    instance = plan.model.market.instance
    capacity = {o.provider: o.capacity for o in instance.offers}
    used = plan.arcs.groupby("provider")["places"].sum()
    for provider, places in used.items():
        assert places <= capacity[provider] + 1e-6, provider
    assert np.all(plan.needs["unmet"] == 0)
    np.testing.assert_allclose(plan.needs["placed"], plan.needs["places"], atol=1e-6)
    # only contracted warehouses serve, and their fixed costs are what is shared
    assert set(plan.arcs.loc[plan.arcs["places"] > 0, "provider"]) <= plan.contracted


def test_run_reaches_the_published_optimum():
    outcome = run(read_cap(DATA / "cap41.txt"))
    assert outcome.plan.result.status == "optimal"
    assert_published_optimum(outcome.plan, "cap41")
    assert outcome.reference_cost == pytest.approx(OPTIMA["cap41"], rel=REL)


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL)
def test_run_reaches_the_published_optimum_everywhere(name):
    outcome = run(read_cap(DATA / f"{name}.txt"))
    assert outcome.plan.result.status == "optimal"
    assert_published_optimum(outcome.plan, name)


#: four solved at CBC's root node, and three where CBC branches (its final bound must be read
#: from the end of its log, not from a stale root-node "best possible" line)
CBC_CASES = ["cap41", "cap71", "cap101", "cap131", "cap44", "cap113", "cap123"]


@pytest.mark.parametrize("name", CBC_CASES)
def test_cbc_reaches_the_published_optimum(name):
    plan = solve(name, "cbc")
    assert plan.result.status == "optimal"
    assert_published_optimum(plan, name)


# -- reading ------------------------------------------------------------------------------


def _write(path: Path, capacity: str, demands=(3, 4)) -> Path:
    """Two warehouses of ``capacity``, fixed costs 10 and 20; two customers."""
    d1, d2 = demands
    path.write_text(f"2 2\n{capacity} 10.\n{capacity} 20.\n"
                    f"{d1}\n {3 * d1:g} {6 * d1:g}\n{d2}\n {8 * d2:g} {2 * d2:g}\n")
    return path


def test_capacity_word_needs_a_value(tmp_path):
    path = _write(tmp_path / "capx.txt", "capacity")
    with pytest.raises(InputError, match="capacity"):
        read_cap(path)
    instance = read_cap(path, capacity=7)
    assert [o.capacity for o in instance.offers] == [7.0, 7.0]
    # one warehouse holds all 7 places: W1 costs 10 + 3*3 + 8*4 = 51, W2 20 + 6*3 + 2*4 = 46
    plan = solve_consortium(build_market(instance), solver_for(instance))
    assert read_plan(*plan).total_cost == pytest.approx(46.0)


def test_capacity_below_demand_is_refused(tmp_path):
    with pytest.raises(InputError, match="below total demand"):
        read_cap(_write(tmp_path / "short.txt", "3"))


def test_fractional_demand_is_refused(tmp_path):
    with pytest.raises(InputError, match="whole numbers"):
        read_cap(_write(tmp_path / "frac.txt", "9", demands=(2.5, 4)))


def test_zero_demand_customer_has_no_demand_row(tmp_path):
    instance = read_cap(_write(tmp_path / "zero.txt", "9", demands=(0, 4)))
    assert [d.authority for d in instance.demand] == ["C2"]
    assert len(instance.authorities) == 2 and len(instance.distances) == 4
