"""Coalition values: what a set of authorities would pay commissioning together.

c(S) is the optimal objective of the consortium model for coalition S (docs/model.md section
4) under ``volume`` without individual rationality: its members' total annual cost plus the
local-shortfall penalty, the cost of the coalition acting as one. The coalition sees the market
of docs/model.md section 5 (``build_market(instance, S)``: under ``shared`` capacity scaled by
its share of the instance's demand, in-house provision of its own members whole). c of the empty
coalition is 0. These values define the cost game of ``optimise compare`` (Shapley values,
marginal values, the core); c({a}) is the objective of a's standalone plan, so B_a (its cost,
without the penalty) equals c({a}) whenever a's plan meets its local target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.voices import solve_consortium
from optimiser.errors import SolveError
from optimiser.market import build_market
from optimiser.program import LinearProgram
from optimiser.records import Instance
from optimiser.solvers.base import SolverResult

Coalition = tuple[str, ...]


@dataclass(frozen=True)
class CoalitionValue:
    """c(S) with the solve's status and gap (a time-limited solve gives an upper bound)."""

    members: Coalition
    cost: float
    status: str
    gap: float | None


def canonical(instance: Instance, members) -> Coalition:
    """A coalition as a tuple in the instance's authority order (the cache key)."""
    chosen = set(members)
    return tuple(a for a in instance.authorities if a in chosen)


def coalition_value(instance: Instance, members, solve: Callable[[LinearProgram], SolverResult]
                    ) -> CoalitionValue:
    """c(S) for the coalition ``members`` (see the module docstring)."""
    coalition = canonical(instance, members)
    if not coalition:
        return CoalitionValue((), 0.0, "optimal", 0.0)
    _, result = solve_consortium(build_market(instance, list(coalition)), solve, "volume")
    if not result.has_plan:
        raise SolveError(f"no plan for coalition {', '.join(coalition)}: {result.message}")
    return CoalitionValue(coalition, float(result.objective), result.status, result.gap)


def engine_value(instance: Instance, consortium: Coalition, members,
                 solve: Callable[[LinearProgram], SolverResult]) -> CoalitionValue:
    """c(S) for a coalition S of ``consortium``, from the consortium's model built once in this
    process (``optimiser.coalition_engine``): the same value as :func:`coalition_value`."""
    from optimiser.coalition_engine import engine_for

    coalition = canonical(instance, members)
    if not coalition:
        return CoalitionValue((), 0.0, "optimal", 0.0)
    result = solve(engine_for(instance, canonical(instance, consortium)).program(coalition))
    if not result.has_plan:
        raise SolveError(f"no plan for coalition {', '.join(coalition)}: {result.message}")
    return CoalitionValue(coalition, float(result.objective), result.status, result.gap)
