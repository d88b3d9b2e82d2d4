"""The coalition-value engine (``optimiser.coalition_engine``): the consortium's model built once
and re-solved with each coalition's bounds and coefficients gives the same c(S) as a cold build
of the coalition's own model, to the solver's gap; and the cached game's core check by
enumeration agrees with the separation MILP."""

from __future__ import annotations

import pytest
from random_instances import random_instance

from optimiser.coalition_engine import CoalitionEngine, engine_for
from optimiser.coalitions import canonical, coalition_value, engine_value
from optimiser.core import (
    most_violated,
    most_violated_by_enumeration,
    proper_coalitions,
)
from optimiser.generate import generate_instance
from optimiser.solvers import SolverOptions, get_solver

GAP = 1e-6
OPTIONS = SolverOptions(time_limit_s=120.0, mip_gap=GAP)


def solve(program):
    return get_solver("highs").solve(program, OPTIONS)


def every_coalition(members):
    return [s for s in proper_coalitions(members)] + [tuple(members)]


@pytest.mark.parametrize("instance", [
    random_instance(164),  # in-house shared, local targets, guarantees, concentration
    random_instance(26, policy={"integer_places": True}),
    random_instance(0, policy={"baseline_capacity": "full"}),
    generate_instance(5, 10, 3, 2, size_median=40),
], ids=["random 164", "random 26 integer", "random 0 full", "generated 5"])
def test_a_warm_started_coalition_value_equals_a_cold_solve_to_the_solvers_gap(instance):
    """Every coalition of a 5-member consortium, re-solved in one engine one after another
    (each S's program derived from the same built model), against a fresh build of S."""
    members = canonical(instance, instance.authorities)
    engine = CoalitionEngine(instance, members)
    differences = []
    for coalition in every_coalition(members):
        warm = solve(engine.program(coalition))
        cold = coalition_value(instance, coalition, solve)
        assert warm.status == cold.status == "optimal"
        scale = max(abs(cold.cost), 1.0)
        assert warm.objective == pytest.approx(cold.cost, abs=2 * GAP * scale)
        differences.append(abs(warm.objective - cold.cost) / scale)
    assert len(differences) == 2 ** len(members) - 1


def test_the_engine_is_built_once_per_process_and_left_unchanged():
    instance = random_instance(164)
    members = canonical(instance, instance.authorities)
    engine = engine_for(instance, members)
    assert engine_for(instance, members) is engine
    program = engine.model.program
    before = (program.col_upper.copy(), program.bounds_upper.copy(), program.matrix().nnz,
              len(program.entries))
    first = engine_value(instance, members, members[:2], solve)
    engine_value(instance, members, members[2:], solve)
    again = engine_value(instance, members, members[:2], solve)
    assert first.cost == again.cost
    assert (program.col_upper == before[0]).all() and (program.bounds_upper == before[1]).all()
    assert program.matrix().nnz == before[2] and len(program.entries) == before[3]


def test_the_core_check_by_enumeration_equals_the_separation_milp():
    instance = random_instance(26)
    members = canonical(instance, instance.authorities)
    values = {s: coalition_value(instance, s, solve).cost for s in every_coalition(members)}
    grand = values[members]
    allocation = {a: grand / len(members) for a in members}
    milp = most_violated(instance, members, allocation, solve)
    found = most_violated_by_enumeration(members, allocation, values.__getitem__)
    assert found.coalition == milp.coalition
    assert found.violation == pytest.approx(milp.violation, abs=1e-6 * grand)
    assert found.bound == found.violation and found.status == "enumeration"
