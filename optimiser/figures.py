"""One membership planned as `optimise run` plans it, cut down to the figures that `stress` and
`compare` report (small and picklable, unlike the plan: a spawned worker sends them back)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from optimiser.errors import SolveError
from optimiser.records import Instance
from optimiser.run import RunOutcome, run
from optimiser.tables import excess_over_standalone


@dataclass(frozen=True)
class MemberFigures:
    """One member's figures in one plan."""

    cost: float
    standalone: float
    demand: float
    placed: float
    placed_local: float
    unmet: float


@dataclass(frozen=True)
class Figures:
    """What the stress and compare reports need from one run (small and picklable, unlike
    the plan)."""

    status: str  # optimal, feasible, infeasible, error
    message: str
    seconds: float
    members: dict[str, MemberFigures]
    not_kept_whole: tuple[str, ...] = ()

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible")


def figures_of(outcome: RunOutcome) -> Figures:
    plan = outcome.plan
    needs = plan.needs.groupby("authority")[["places", "placed", "placed_local", "unmet"]].sum()
    members = {}
    for a in plan.members:
        demand, placed, local, unmet = (
            (float(v) for v in needs.loc[a, ["places", "placed", "placed_local", "unmet"]])
            if a in needs.index else (0.0, 0.0, 0.0, 0.0))
        members[a] = MemberFigures(plan.member_cost[a], outcome.standalone.cost[a], demand,
                                   placed, local, unmet)
    whole = tuple(a for a in plan.members
                  if excess_over_standalone(plan.member_cost[a], outcome.standalone.cost[a]) > 0)
    return Figures(plan.result.status, "", outcome.seconds, members, whole)


def solve_scenario(instance: Instance, members: list[str]) -> Figures:
    """Plan one scenario or membership (in this process or in a spawned worker)."""
    started = time.perf_counter()
    try:
        return figures_of(run(instance, members))
    except SolveError as error:
        message = str(error)
        status = "infeasible" if "infeasible" in message else "error"
        return Figures(status, message, time.perf_counter() - started, {})
