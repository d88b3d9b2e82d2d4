"""Why a program has no plan: the constraint families that, relaxed alone, make it feasible.

The consortium model always has a plan for a valid instance: placing nobody (every place bought
at the emergency price, no provider contracted, no tier taken) meets every constraint family of
docs/model.md section 4 — min_places and tiers bind only a provider that is used,
max_provider_share caps a share of the places placed, local targets have a shortfall,
individual rationality an excess, and maxmin's first stage leaves theta free
(``tests/test_limits.py`` shows instances whose hard constraints cannot all be met still
solving). So "infeasible" from a solver points to numerical trouble or a fault, and the user
needs to be told which constraints are involved.

Each row family (a named row block of :class:`~optimiser.program.LinearProgram`, one per
constraint family of the model) is relaxed in turn and the rest solved for feasibility only
(no objective), with HiGHS whatever the run's solver.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimiser.program import INF, LinearProgram
from optimiser.solvers import SolverOptions, get_solver

#: what a row family of the model is called in a message (docs/model.md section 4's words)
FAMILIES = {
    "demand": "demand balance",
    "capacity": "offer capacity",
    "max_places": "provider max_places",
    "contract": "contract links",
    "min_places": "provider min_places",
    "tier_pick": "one tier per group",
    "tier_upper": "tier volume ranges",
    "tier_reached": "tier minimum volumes",
    "tier_volume": "tier volumes",
    "range_tier_volume": "tier volumes",
    "void_limit": "guarantee void places",
    "spend": "discounted fees",
    "spend_upper": "discounted fees",
    "spend_low": "discounted fees",
    "spend_high": "discounted fees",
    "locality": "local targets",
    "concentration": "max_provider_share",
    "individual_rationality": "individual rationality",
    "saving_floor": "the maxmin saving floor",
    "cost": "member costs",
}


def relaxed(program: LinearProgram, family: str) -> LinearProgram:
    """``program`` for feasibility only (no objective), with the rows of ``family`` free."""
    position = list(program.row_blocks).index(family)
    lower = [np.full(len(b), -INF) if i == position else b for i, b in enumerate(program.row_lower)]
    upper = [np.full(len(b), INF) if i == position else b for i, b in enumerate(program.row_upper)]
    return replace(program, row_lower=lower, row_upper=upper, objective_terms=[],
                   objective_constant=0.0, start=None)


def blocking_families(program: LinearProgram, time_limit_s: float = 30.0) -> list[str]:
    """The row families (block names) without which ``program`` has a plan."""
    solver = get_solver("highs")
    options = SolverOptions(time_limit_s=time_limit_s, mip_gap=1.0)
    return [family for family, rows in program.row_blocks.items()
            if rows.stop > rows.start and solver.solve(relaxed(program, family), options).has_plan]


def infeasibility_reason(program: LinearProgram, time_limit_s: float = 30.0) -> str:
    """A sentence naming the constraint families that make ``program`` infeasible."""
    families = blocking_families(program, time_limit_s)
    if not families:
        return ("no single constraint family explains it (several conflict together); a valid "
                "instance always has a plan with every place unmet, so please report this "
                "instance; --solver cbc may solve it")
    named = ", ".join(dict.fromkeys(f"{FAMILIES.get(f, f)} ({f})" for f in families))
    return (f"it has a plan without any one of: {named}; a valid instance always has a plan "
            "with every place unmet, so this points to numerical trouble: --solver cbc may "
            "solve it")
