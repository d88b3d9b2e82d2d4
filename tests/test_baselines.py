"""Standalone baselines spread over processes equal those solved one after another."""

from __future__ import annotations

import pytest

import optimiser.baselines as baselines_module
from models.baseline import standalone_costs
from optimiser.baselines import baselines
from optimiser.generate import generate_instance
from optimiser.run import solver_for


def test_baselines_in_a_process_pool_equal_the_serial_ones(monkeypatch):
    instance = generate_instance(5, 12, 3, 4)
    members = list(instance.authorities)
    serial = standalone_costs(instance, members, solver_for(instance))
    monkeypatch.setattr(baselines_module, "PARALLEL_FROM", 2)
    pooled = baselines(instance, members, solver_for(instance), workers=2)
    assert pooled.cost == serial.cost  # the same deterministic solve, bit for bit
    assert pooled.statuses == serial.statuses == {a: "optimal" for a in members}
    assert pooled.plans == {}  # solved in the workers: their plans stay there


def test_small_runs_keep_their_baselines_here():
    instance = generate_instance(3, 8, 2, 1)
    members = list(instance.authorities)
    here = baselines(instance, members, solver_for(instance), workers=2)
    assert set(here.plans) == set(members)
    assert here.cost == pytest.approx({a: p.member_cost[a] for a, p in here.plans.items()})
