"""The standalone baseline (docs/model.md section 5): what each member would pay alone.

B_a is the optimal cost_a of the same model with the single member {a}, voice ``volume``, no
individual rationality, tiers reached by a's own volume, and the full contract cost of every
provider it uses (share_a = 1). Capacity follows the coalition rule of section 5 through
``build_market(instance, [a])``: under ``shared`` a sees D_a / D of every offer (its own in-house
provision whole), under ``full`` everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.framework import FrameworkModel
from models.plan import Plan, read_plan
from models.voices import SolveFn, solve_consortium
from optimiser.errors import SolveError
from optimiser.market import build_market
from optimiser.records import Instance


@dataclass(frozen=True)
class Standalone:
    """Each member's standalone cost and plan."""

    cost: dict[str, float]
    plans: dict[str, Plan]  # members solved in this process (none when solved in workers)
    statuses: dict[str, str]  # solver status of every member's standalone solve


def standalone_plan(instance: Instance, authority: str, solve: SolveFn) -> Plan:
    """The optimal plan of ``authority`` commissioning alone."""
    market = build_market(instance, [authority])
    model: FrameworkModel
    model, result = solve_consortium(market, solve, voice="volume")
    if not result.has_plan:
        raise SolveError(f"standalone plan of {authority} not found: {result.message}")
    return read_plan(model, result)


def standalone_costs(instance: Instance, members: list[str], solve: SolveFn) -> Standalone:
    """B_a for every member (one small solve each)."""
    plans = {a: standalone_plan(instance, a, solve) for a in members}
    return Standalone({a: plan.member_cost[a] for a, plan in plans.items()}, plans,
                      {a: plan.result.status for a, plan in plans.items()})
