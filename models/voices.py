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
from optimiser.plan import read_plan
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
    if standalone is None and (voice != "volume" or individual_rationality):
        raise ValueError(f"voice {voice!r} and individual rationality need standalone costs")
    integer = market.instance.policy.integer_places
    if voice == "volume":
        return _solve_volume(market, solve, standalone, individual_rationality)
    if voice == "maxmin":
        theta = _common_saving_share(market, solve, standalone, individual_rationality)
        model = build_framework_model(market, standalone, individual_rationality, integer)
        add_saving_floor(model, standalone, theta_lower=theta - THETA_TOLERANCE)
        set_objective(model, np.ones(len(market.members)))
    else:
        model = build_framework_model(market, standalone, individual_rationality, integer)
        set_objective(model, voice_weights(voice, market.members, standalone))
    return model, solve(model.program)


def _solve_volume(market: Market, solve: SolveFn, standalone: dict[str, float] | None,
                  individual_rationality: bool) -> tuple[FrameworkModel, SolverResult]:
    """``volume``, with individual rationality added lazily, member by member.

    Solve with no member tracked (no rationality rows); if every member's plan cost is within
    its standalone cost, the plan is feasible for the full model and optimal for it, since it
    optimises a relaxation of it (the untracked members' excess is zero). Otherwise track the
    members above their standalone cost (their own cost holder and rationality row) and solve
    again; at most |members| rounds, usually one or two. Exact, and on England it keeps the
    model at the size of the untracked one instead of adding 269,000 per-member spend copies.
    """
    integer = market.instance.policy.integer_places
    tracked: tuple[str, ...] = ()
    pairs = len(market.members) * len(market.groups)
    if individual_rationality and pairs <= TRACK_ALL_BELOW_PAIRS:
        tracked = market.members  # cheap enough: one solve rather than rounds
    while True:
        model = build_framework_model(market, standalone, individual_rationality, integer,
                                      tracked)
        set_objective(model, np.ones(len(model.holder_share)))
        result = solve(model.program)
        if not individual_rationality or not result.has_plan:
            return model, result
        above = set(_above_standalone(model, result, standalone)) - set(tracked)
        if not above:
            return model, result
        tracked = tuple(a for a in market.members if a in above or a in tracked)


#: With individual rationality, every member is tracked from the start when members x tier
#: groups is at most this (the per-member copies are cheap and one solve beats several rounds:
#: the North West, 24 x 303, runs in 7 s this way against 40 s lazily); above it, lazily.
TRACK_ALL_BELOW_PAIRS = 20_000

#: a member is above its standalone cost by more than rounding explains: a penny plus 1e-7 of
#: it (costs are recomputed from places rounded to 6 decimals)
LAZY_TOLERANCE_PENNY = 0.01
LAZY_TOLERANCE_RELATIVE = 1e-7


def _above_standalone(model: FrameworkModel, result: SolverResult,
                      standalone: dict[str, float]) -> list[str]:
    cost = read_plan(model, result).member_cost
    return [a for a in model.members if cost[a] > standalone[a] + LAZY_TOLERANCE_PENNY
            + LAZY_TOLERANCE_RELATIVE * abs(standalone[a])]


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
