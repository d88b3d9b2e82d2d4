"""Individual rationality under ``volume``: the relaxation, its repair and the lazy rounds
(``models.voices._solve_volume``) against the full model with every member's rationality row
solved to 1e-9.

The repair's claim is a proof, not a heuristic: the plan it returns is feasible for the full
model (every member within its standalone cost) and its objective is within the run's gap of
the relaxation's dual bound, which bounds the full model too. These tests check both halves
against the full model's own optimum."""

from __future__ import annotations

import numpy as np
import pytest
from random_instances import random_instance

from models.baseline import standalone_costs
from models.framework import build_framework_model, set_objective
from models.plan import read_plan
from models.voices import solve_consortium
from optimiser.market import build_market
from optimiser.run import run, solver_for

SEEDS = range(40)


def full_model_optimum(seed: int, standalone) -> float:
    """Every member tracked from the start, one MILP at gap 1e-9."""
    exact = random_instance(seed, policy={"individual_rationality": True, "mip_gap": 1e-9})
    market = build_market(exact)
    model = build_framework_model(market, standalone, True, False, market.members)
    set_objective(model, np.ones(len(model.holder_share)))
    result = solver_for(exact)(model.program)
    assert result.status == "optimal"
    return result.objective


def solved(seed: int, gap: float):
    instance = random_instance(seed, policy={"individual_rationality": True, "mip_gap": gap})
    standalone = standalone_costs(instance, list(instance.authorities),
                                  solver_for(instance)).cost
    model, result = solve_consortium(build_market(instance), solver_for(instance), "volume",
                                     standalone, True)
    return instance, standalone, model, result


@pytest.mark.parametrize("gap", [1e-4, 1e-9])
def test_the_plan_is_rational_and_within_the_gap_of_the_full_models_optimum(gap):
    repaired = 0
    for seed in SEEDS:
        _, standalone, model, result = solved(seed, gap)
        assert result.status == "optimal", (seed, result.message)
        optimum = full_model_optimum(seed, standalone)
        scale = max(abs(optimum), 1.0)
        # feasible for the full model, so never below its optimum ...
        assert result.objective >= optimum - 1e-6 * scale, seed
        # ... within the gap above it, and the reported bound is a true lower bound
        assert result.objective <= optimum + (gap + 1e-6) * scale, seed
        assert result.bound <= optimum + 1e-6 * scale, seed
        plan = read_plan(model, result)
        if not plan.excess or max(plan.excess.values()) < 1e-6:  # kept whole where it can be
            for a, cost in plan.member_cost.items():
                assert cost <= standalone[a] + 0.01 + 1e-6 * abs(standalone[a]), (seed, a)
        repaired += "repaired" in result.message
    if gap == 1e-4:
        assert repaired >= 3  # the repair path is exercised, not only the MILP rounds


def test_a_repaired_run_reports_the_relaxation_as_the_price_of_fairness_reference():
    for seed in SEEDS:
        instance, _, model, result = solved(seed, 1e-4)
        if "repaired" not in result.message:
            continue
        outcome = run(instance)
        relaxed_model, relaxed_result = model.relaxation
        assert outcome.reference_cost == pytest.approx(
            read_plan(relaxed_model, relaxed_result).total_cost, rel=1e-9)
        # the relaxation is a relaxation: its plan costs no more than the fair one
        assert outcome.reference_cost <= outcome.plan.total_cost + 1e-6 * outcome.reference_cost
        return
    pytest.fail("no seed took the repair path")


def test_a_relaxation_stopped_at_the_time_limit_is_repaired_without_milp_rounds():
    """When the relaxation stops at its time limit, the repaired plan is returned as
    ``feasible`` with its gap to the relaxation's bound, and no MILP round is solved (each
    would be a larger MILP stopping at the same limit: England on a loaded machine)."""
    from dataclasses import replace

    for seed in SEEDS:
        instance = random_instance(seed, policy={"individual_rationality": True})
        solve = solver_for(instance)
        standalone = standalone_costs(instance, list(instance.authorities), solve).cost
        mips = []

        def stopped_at_the_limit(program, solve=solve, mips=mips):
            result = solve(program)
            if program.is_mip:
                mips.append(result)
                # what HiGHS reports at its time limit: a plan, a weaker bound, no proof
                return replace(result, status="feasible", bound=result.objective * 0.99,
                               gap=0.01)
            return result

        model, result = solve_consortium(build_market(instance), stopped_at_the_limit,
                                         "volume", standalone, True)
        if "repaired" not in result.message:
            continue  # the relaxation's plan kept every member whole: nothing to repair
        assert len(mips) == 1, "MILP rounds were solved after a time-limited relaxation"
        assert result.status == "feasible"
        assert result.bound == pytest.approx(mips[0].objective * 0.99)
        plan = read_plan(model, result)
        for a, cost in plan.member_cost.items():
            assert cost <= standalone[a] + 0.01 + 1e-6 * abs(standalone[a]), (seed, a)
        return
    pytest.fail("no seed needed a repair")
