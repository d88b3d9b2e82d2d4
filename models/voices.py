"""Fair voice (SPEC section 6): how the consortium's objective weighs its members.

* ``volume``: minimise sum_a cost_a (+ penalties). Big members dominate.
* ``equal``: minimise sum_a (cost_a / B_a) * (sum_b B_b / |A|) (+ penalties): one voice per
  member on its relative cost. A member with B_a = 0 has nothing to pay (no demand) and
  keeps weight 1.
* ``maxmin``: first maximise theta with cost_a <= (1 - theta) * B_a for all a; then minimise the
  total (+ penalties) keeping theta >= theta* - THETA_TOLERANCE, so every member keeps at least
  the common saving share found first.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from models.framework import (
    FrameworkModel,
    add_saving_floor,
    build_framework_model,
    set_common_saving_objective,
    set_objective,
)
from optimiser.errors import SolveError
from optimiser.market import Market
from optimiser.program import LinearProgram
from optimiser.solvers.base import SolverResult

#: slack on the first stage's saving share, so the second stage is feasible within tolerances
THETA_TOLERANCE = 1e-6

SolveFn = Callable[[LinearProgram], SolverResult]


def voice_weights(voice: str, members: tuple[str, ...], standalone: dict[str, float] | None
                  ) -> np.ndarray:
    """w_a of the objective sum_a w_a * cost_a for ``volume`` and ``equal``."""
    if voice == "volume" or not members:
        return np.ones(len(members))
    costs = np.array([standalone[a] for a in members])
    mean = costs.sum() / len(members)
    return np.where(costs > 0, mean / np.where(costs > 0, costs, 1.0), 1.0)


def solve_consortium(
    market: Market,
    solve: SolveFn,
    voice: str = "volume",
    standalone: dict[str, float] | None = None,
    individual_rationality: bool = False,
) -> tuple[FrameworkModel, SolverResult]:
    """Build and solve the consortium model under ``voice``; return the model and result."""
    integer = market.instance.policy.integer_places
    if standalone is None and (voice != "volume" or individual_rationality):
        raise ValueError(f"voice {voice!r} and individual rationality need standalone costs")
    member_costs = voice != "volume" or individual_rationality
    if voice == "maxmin":
        theta = _common_saving_share(market, solve, standalone, individual_rationality)
        model = build_framework_model(market, standalone, individual_rationality, integer)
        add_saving_floor(model, standalone, theta_lower=theta - THETA_TOLERANCE)
    else:
        model = build_framework_model(market, standalone, individual_rationality, integer,
                                      member_costs)
    weights = voice_weights("volume" if voice == "maxmin" else voice, market.members,
                            standalone)
    set_objective(model, weights if member_costs else np.ones(1))
    return model, solve(model.program)


def _common_saving_share(market: Market, solve: SolveFn, standalone: dict[str, float],
                         individual_rationality: bool) -> float:
    """theta*: the largest share every member can save at once (first stage of ``maxmin``)."""
    integer = market.instance.policy.integer_places
    model = build_framework_model(market, standalone, individual_rationality, integer)
    add_saving_floor(model, standalone)
    set_common_saving_objective(model)
    result = solve(model.program)
    if not result.has_plan:
        raise SolveError(f"maxmin first stage found no plan: {result.message}")
    return float(result.values[model.theta])
