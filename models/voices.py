"""Fair voice (docs/model.md section 6): how the consortium's objective weighs its members.

* ``volume``: minimise sum_a cost_a (+ penalties). Big members dominate.
* ``equal``: minimise sum_a (cost_a / B_a) * (sum_b B_b / |A|) (+ penalties): one voice per
  member on its relative cost. A member with B_a = 0 has nothing to pay (no demand) and
  keeps weight 1.
* ``maxmin``: first maximise theta with cost_a <= (1 - theta) * B_a for all a; then minimise the
  total (+ penalties) keeping theta >= theta* - THETA_TOLERANCE, so every member keeps at least
  the common saving share found first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from models.framework import (
    FrameworkModel,
    add_saving_floor,
    build_framework_model,
    set_common_saving_objective,
    set_objective,
)
from models.plan import read_plan
from optimiser.errors import SolveError
from optimiser.market import Market
from optimiser.program import LinearProgram
from optimiser.solvers.base import SolverResult, relative_gap

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
    """``volume``, with individual rationality added only where it binds.

    1. Solve the relaxation: no member tracked, no rationality rows (this is also the price of
       fairness' reference, kept as ``model.relaxation``). If every member's plan cost is
       within its standalone cost, the plan is feasible for the full model and optimal for it.
    2. Otherwise *repair* it (``_repair``): keep its tier and contract choices and re-split
       the places among the members under the rationality rows, by linear programs.
    3. If the repair cannot keep everyone whole or is not proven within the gap, track the
       members above their standalone cost (own cost holder and rationality row) and solve the
       MILP again, round by round (at most |members| rounds), each started from the
       relaxation's tier and contract choices. Exact; on England it keeps the model at the size
       of the untracked one instead of adding 269,000 per-member spend copies. A repaired plan
       that is cheaper than what the rounds found (e.g. they stopped at the time limit) is
       kept, as ``feasible`` with its gap to the best bound.
       When the relaxation itself stopped at the time limit, the rounds are skipped and the
       repaired plan is returned as ``feasible`` with its gap to the relaxation's bound: each
       round is a larger MILP than the relaxation and would stop at the same limit.
    """
    policy = market.instance.policy
    model = build_framework_model(market, standalone, individual_rationality,
                                  policy.integer_places, ())
    set_objective(model, np.ones(len(model.holder_share)))
    if individual_rationality:  # leave the repair room within the gap (see _repair)
        model.program.mip_gap = RELAXATION_GAP_SHARE * policy.mip_gap
    result = solve(model.program)
    if not individual_rationality or not result.has_plan:
        return model, result
    above = _above_standalone(model, result, standalone)
    if not above:
        return model, result
    relaxation = (model, result)
    repaired = _repair(market, solve, standalone, relaxation, tuple(above))
    if repaired is not None and (repaired[1].status == "optimal" or result.status != "optimal"):
        # a relaxation stopped at the time limit: each MILP round would run to the limit
        # again on a larger model (England on a loaded machine: 7+ minutes, 4.3 GB)
        repaired[0].relaxation = relaxation
        return repaired
    model, result = _lazy_rounds(market, solve, standalone, relaxation, tuple(above))
    if repaired is not None and result.status != "optimal" and (
            not result.has_plan or repaired[1].objective < result.objective):
        model, result = repaired[0], _best_bound(repaired[1], result, policy.mip_gap)
    model.relaxation = relaxation
    return model, result


def _best_bound(repaired: SolverResult, rounds: SolverResult, gap_allowed: float
                ) -> SolverResult:
    """The repaired plan's result with the better of the two lower bounds (the rounds'
    models are relaxations of the full model too, so their bound bounds it as well)."""
    bound = max(repaired.bound, rounds.bound if rounds.bound is not None else -np.inf)
    gap = relative_gap(repaired.objective, bound)
    proven = gap is not None and gap <= gap_allowed
    return replace(repaired, bound=bound, gap=gap, status="optimal" if proven else "feasible")


#: share of the run's MIP gap the relaxation is solved to when individual rationality is on:
#: the repair's re-split adds a little cost (about 5e-6 of the total on the North West), and
#: the repaired plan must stay within the run's gap of the relaxation's bound
RELAXATION_GAP_SHARE = 0.9


def _lazy_rounds(market: Market, solve: SolveFn, standalone: dict[str, float],
                 relaxation: tuple, tracked: tuple[str, ...]
                 ) -> tuple[FrameworkModel, SolverResult]:
    """The MILP with rationality rows for ``tracked``, adding the members found above their
    standalone cost round by round, each round started from the relaxation's tiers."""
    while True:
        model = _tracked_model(market, standalone, tracked)
        model.program.start = _integer_choices(model, *relaxation)
        result = solve(model.program)
        if not result.has_plan:
            return model, result
        above = set(_above_standalone(model, result, standalone)) - set(tracked)
        if not above:
            return model, result
        tracked = tuple(a for a in market.members if a in above or a in tracked)


def _tracked_model(market: Market, standalone: dict[str, float], tracked: tuple[str, ...]
                   ) -> FrameworkModel:
    """The volume model with rationality rows for ``tracked``."""
    model = build_framework_model(market, standalone, True,
                                  market.instance.policy.integer_places, tracked)
    set_objective(model, np.ones(len(model.holder_share)))
    return model


def _integer_choices(model: FrameworkModel, source: FrameworkModel, result: SolverResult
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s tier (z) and contract (o) columns and their values in ``source``'s plan
    (models of one market share their tiers and contracts, whatever members they track)."""
    cols, values = [], []
    for table, column in (("tiers", "z"), ("contract", "o")):
        cols.append(getattr(model, table)[column].to_numpy(dtype=np.int64))
        old = getattr(source, table)[column].to_numpy(dtype=np.int64)
        values.append(np.round(result.values[old]))
    return np.concatenate(cols), np.concatenate(values)


def _repair(market: Market, solve: SolveFn, standalone: dict[str, float], relaxation: tuple,
            above: tuple[str, ...]) -> tuple[FrameworkModel, SolverResult] | None:
    """The relaxation's plan made individually rational by re-splitting its places, or None.

    With the relaxation's tier choices z and contracts o fixed, the volume model with
    rationality rows is a linear program: the members' costs can be rebalanced at little or no
    cost to the total because the volume objective is nearly indifferent to which member takes
    which discounted place. Members get their rationality row lazily, as in the MILP: first
    those above their standalone cost, then any the LP pushed above, until none is.

    Proof of optimality: the full model is a restriction of the relaxation, so the
    relaxation's dual bound L bounds it too; a repaired plan with objective C and (C - L) / C
    within the MIP gap is optimal within that gap, and is returned with bound L and status
    ``optimal``; one outside the gap is returned as ``feasible`` (the caller tries the MILP
    and keeps the better). A repair that leaves a member above its standalone cost is
    discarded (None)."""
    relaxed, result = relaxation
    bound, gap_allowed = result.bound, market.instance.policy.mip_gap
    if bound is None or not np.isfinite(bound):
        return None
    tracked = above
    while True:
        model = _tracked_model(market, standalone, tracked)
        model.program.fix(*_integer_choices(model, relaxed, result))
        repaired = solve(model.program)
        if not repaired.has_plan:
            return None
        above = _above_standalone(model, repaired, standalone)
        if set(above) & set(tracked):
            return None  # the fixed tiers cannot keep a tracked member whole
        if not above:
            break
        tracked = tuple(a for a in market.members if a in above or a in tracked)
    gap = relative_gap(repaired.objective, bound)
    if gap is None:
        return None
    proven = gap <= gap_allowed
    return model, replace(repaired, bound=bound, gap=gap,
                          status="optimal" if proven else "feasible",
                          seconds=repaired.seconds + result.seconds,
                          message=f"{result.message}; repaired for individual rationality"
                          + ("" if proven else f", {gap:.3g} from the bound"))


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
