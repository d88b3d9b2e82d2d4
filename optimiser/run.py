"""`optimise run`: the story of one run, in one place.

check (the instance is validated on loading) -> choose members -> standalone baselines ->
build and solve the consortium under the chosen voice -> read the plan (:func:`run`) ->
post-process: investment signals, local sufficiency, the result tables and the reports
(:func:`run_files`) -> the caller writes the files and prints the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from models.baseline import Standalone
from models.plan import Plan, read_plan
from models.voices import solve_consortium
from optimiser.baselines import baselines
from optimiser.destination import NAMED_MEMBERS_MAX
from optimiser.errors import InputError, Problem, SolveError
from optimiser.market import Market, build_market
from optimiser.members import resolve_authorities
from optimiser.program import LinearProgram
from optimiser.records import Instance
from optimiser.solvers import SolverResult, solver_for


@dataclass(frozen=True)
class RunOutcome:
    """Everything a run decided: the plan, the baselines, and the reference for fairness."""

    instance: Instance
    market: Market
    plan: Plan
    standalone: Standalone
    reference_cost: float  # total cost under `volume` without individual rationality
    seconds: float
    membership: str | None = None  # what headings call the members; None: every authority


def choose_members(instance: Instance, members: list[str] | None = None,
                   consortium: str | None = None) -> list[str]:
    """The run's members: ``--members`` (ids or names, the pieces of a comma-separated list:
    ``optimiser.members``), ``--consortium`` or every authority."""
    if members and consortium:
        raise InputError(Problem("--members", "give --members or --consortium, not both"))
    if consortium:
        chosen = instance.consortium(consortium)
        if not chosen:
            known = ", ".join(instance.consortium_names) or "none"
            raise InputError(Problem("--consortium",
                                     f"unknown consortium {consortium!r} (known: {known})"))
        return chosen
    if members:
        return resolve_authorities(instance, members)
    return list(instance.authorities)


def run(instance: Instance, members: list[str] | None = None,
        consortium: str | None = None) -> RunOutcome:
    """Solve the consortium of ``members`` under the instance's policy."""
    started = time.perf_counter()
    chosen = choose_members(instance, members, consortium)
    policy = instance.policy
    solve = solver_for(instance)
    try:
        standalone = baselines(instance, chosen, solve)
    except SolveError as error:
        # a baseline is the same always-feasible model: no plan means the limit came first
        raise SolveError(f"{error}; the time limit is {policy.time_limit_s:g} s per solve: "
                         "raise it with --time-limit") from None
    market = build_market(instance, chosen)
    model, result = solve_consortium(market, solve, policy.voice, standalone.cost,
                                     policy.individual_rationality)
    if not result.has_plan:
        raise SolveError(_no_plan_reason(result, policy.time_limit_s, model.program))
    plan = read_plan(model, result)
    reference = _reference_cost(market, solve, plan, policy)
    return RunOutcome(instance, market, plan, standalone, reference,
                      time.perf_counter() - started,
                      membership_label(instance, chosen, members, consortium))


def membership_label(instance: Instance, chosen: list[str], members: list[str] | None,
                     consortium: str | None) -> str | None:
    """The membership as headings name it after the instance ("North West — Greater
    Manchester"): the consortium, a few chosen authorities by name, or how many were chosen;
    None when every authority is a member by default."""
    if consortium:
        return consortium
    if not members:
        return None
    if len(chosen) <= NAMED_MEMBERS_MAX:
        return ", ".join(instance.authorities[a].name or a for a in chosen)
    return f"{len(chosen)} chosen authorities"


def _reference_cost(market: Market, solve, plan: Plan, policy) -> float:
    """Total cost under ``volume`` without individual rationality (the price of fairness'
    reference); the plan itself when that is what was solved."""
    if policy.voice == "volume" and not policy.individual_rationality:
        return plan.total_cost
    if plan.model.relaxation is not None:
        return read_plan(*plan.model.relaxation).total_cost
    model, result = solve_consortium(market, solve, "volume")
    if not result.has_plan:
        raise SolveError(_no_plan_reason(result, policy.time_limit_s, model.program))
    return read_plan(model, result).total_cost


def _no_plan_reason(result: SolverResult, time_limit: float, program: LinearProgram) -> str:
    if result.status == "infeasible":
        from optimiser.diagnose import infeasibility_reason

        return (f"{result.solver}: the model is infeasible ({result.message}): "
                f"{infeasibility_reason(program, time_limit)}")
    return (f"{result.solver} found no plan within the time limit of {time_limit:g} s "
            f"({result.message}); raise it with --time-limit")


#: a stage of the run as the caller shows it: ``with stage("investment signals"): ...``
Stage = Callable[[str], AbstractContextManager[None]]


@contextmanager
def _unseen(text: str) -> Iterator[None]:
    yield


def run_stages(investment: bool = True, report: bool = True) -> int:
    """How many stages :func:`run_files` goes through (for a progress bar)."""
    return 2 + investment + report


def run_files(instance: Instance, members: list[str] | None = None,
              consortium: str | None = None, investment: bool = True, report: bool = True,
              stage: Stage = _unseen) -> dict[str, str | bytes]:
    """The whole of ``optimise run`` but writing: the solve (:func:`run`), then the
    investment signals, local sufficiency, the result files and (with ``report``)
    report.html and report.xlsx, by file name. ``stage`` wraps each step (the command's
    progress bar and log)."""
    # loaded here, not at the top: stress and compare workers import this module for
    # :func:`run` alone and need none of the post-processing
    from optimiser.investment import investment_signals
    from optimiser.reports import run_reports
    from optimiser.sufficiency import local_sufficiency
    from optimiser.writers import result_files

    with stage("solving: baselines alone, the consortium, the fairness reference"):
        outcome = run(instance, members, consortium)
    signals = None
    if investment:
        with stage("investment signals"):
            signals = investment_signals(outcome)
    with stage("local sufficiency and result tables"):
        files = result_files(outcome, local_sufficiency(outcome), signals)
    if report:
        with stage("writing report.html and report.xlsx"):
            files.update(run_reports(instance, files))
    return files
