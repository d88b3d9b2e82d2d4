"""`optimise verify`: recompute every figure of a run's result files from the instance alone.

The result files (``optimiser.outputs``) are read back, every figure is rebuilt from the instance
and the plan's places (no solver), and every constraint of docs/model.md section 4 is checked.

This is deliberately an independent implementation: plain loops over rows, nothing imported from
``models/``, the solver back-ends or ``optimiser.run``. A bug in the vectorised solver path then
shows up as a disagreement here instead of being reproduced.

Two figures cannot be rebuilt without a solver and are taken as given: each member's standalone
cost (a solve per member) and the price of fairness (a second solve). Everything derived from
them (saving, saving %, fairness, individual rationality) is still checked.

The policy is the instance's own, never summary.json's: a results folder cannot vouch for the
rules it is checked against. ``optimise verify --set KEY=VALUE`` states a run's ``--set`` the
same way ``optimise run`` took it. Every key where summary.json's policy differs from the
instance's is named. A key some checked figure depends on (weeks_per_year, min_rating, ...)
must match: the run's value if verify was given it with ``--set`` (an accepted override,
listed), else a disagreement. The keys of :data:`PLAN_SEARCH_KEYS` only steer which plan is
found (voice, solver, limits) or belong to ``optimise guarantee``: a difference there is listed
and accepted, since every figure and constraint is checked all the same.

sufficiency.csv, when the folder has it, is rebuilt too: the local max flows of the coalition
and of each member alone with plain augmenting paths in the priority order the file is defined
by (``optimiser.sufficiency``), the plan's local places, and each short need's bottleneck.

One module per family of checks, in the order :func:`verify_results` runs them: ``files``
(reading the result files, the policy), ``market`` (the market rebuilt), ``assignment`` (the
plan as its rows give it), ``costs`` (tiers, providers, members, gaps), ``summary`` (locality,
individual rationality, totals, fairness) and ``sufficiency``; ``figures`` (figures with their
rounding slack), ``checker`` (recording checks) and ``report`` serve them all.
"""

from __future__ import annotations

from pathlib import Path

from optimiser import outputs
from optimiser.records import Instance
from optimiser.schema import Policy
from optimiser.sufficiency import SUFFICIENCY
from optimiser.verify.assignment import (
    ActiveTier,
    Placement,
    check_assignment,
    discount_of,
    read_active_tiers,
)
from optimiser.verify.checker import Checker, at, fmt
from optimiser.verify.costs import (
    GroupOutcome,
    MemberOutcome,
    check_authorities,
    check_demand_balance,
    check_gaps,
    check_providers,
    check_tiers,
    member_costs,
)
from optimiser.verify.figures import (
    KM_ABS,
    MONEY_ABS,
    MONEY_ROUNDING,
    PLACES_ABS,
    PLACES_ROUNDING,
    RATIO_ROUNDING,
    Figure,
    as_figure,
    places_figure,
    propagate,
    ratio,
    total,
)
from optimiser.verify.files import (
    PLAN_SEARCH_KEYS,
    POLICY_ROUNDING,
    ResultFiles,
    ResultRow,
    check_policy,
    members_of,
    policy_as_used,
    read_results,
)
from optimiser.verify.market import EARTH_RADIUS_KM, Market, TierGroup, great_circle_km
from optimiser.verify.report import VerifyReport
from optimiser.verify.sufficiency import (
    SINK,
    LocalMax,
    LocalNetwork,
    Node,
    bottleneck,
    check_sufficiency,
    local_max,
    local_network,
    priority_split,
)
from optimiser.verify.summary import (
    check_fairness,
    check_individual_rationality,
    check_locality,
    check_totals,
    gini,
    jain,
)

RUN_STATUSES_WITH_A_PLAN = ("optimal", "feasible")


def verify_results(instance: Instance, results_dir: Path, tolerance: float = 1e-6,
                   file_policy: Policy | None = None) -> VerifyReport:
    """Recompute every figure in ``results_dir`` from ``instance`` alone; check every constraint.

    Figures are recomputed with ``instance.policy``; ``file_policy`` is the instance file's own
    policy when ``instance`` carries ``--set`` overrides (default: ``instance.policy``), so that
    the report can tell the two apart (module docstring).
    ``tolerance`` is the relative tolerance on money and places and the absolute one on ratios
    and percentages, on top of the absolute penny / 1e-5 place allowances and the slack that
    the files' own rounding of places justifies.
    Raises :class:`InputError` when a result file or column is missing or unreadable.
    """
    files = read_results(Path(results_dir))
    summary = files.summary
    check = Checker(tolerance)
    status = summary["status"]
    if not check.require(
        status in RUN_STATUSES_WITH_A_PLAN,
        f"{outputs.SUMMARY} status: {status!r}, the run holds no plan to verify",
    ):
        return VerifyReport(check.count, check.disagreements)

    check.same(f"{outputs.SUMMARY} instance", summary["instance"], instance.name)
    overrides = check_policy(instance, file_policy or instance.policy, summary, check)
    market = Market.build(instance, instance.policy, members_of(instance, summary))
    active = read_active_tiers(market, summary, check)
    placements = check_assignment(market, active, files.assignment, check)
    groups = check_tiers(market, active, placements, check)
    contracted = check_providers(market, placements, groups, files.providers, check)
    costs = member_costs(market, placements, contracted, groups)
    members = check_authorities(market, placements, costs, files.authorities, check)
    check_demand_balance(market, placements, check)
    check_gaps(market, placements, files.gaps, check)
    check_locality(market, members, summary, check)
    check_individual_rationality(market, members, summary, check)
    check_totals(market, members, contracted, groups, summary, check)
    check_fairness(members, summary, check, files.authorities)
    notes = []
    if files.sufficiency is None:
        notes.append(f"{SUFFICIENCY}: not in the results folder, not checked")
    else:
        check_sufficiency(market, placements, files.sufficiency, check)
    return VerifyReport(check.count, check.disagreements, overrides, notes)


__all__ = [
    "EARTH_RADIUS_KM",
    "KM_ABS",
    "MONEY_ABS",
    "MONEY_ROUNDING",
    "PLACES_ABS",
    "PLACES_ROUNDING",
    "PLAN_SEARCH_KEYS",
    "POLICY_ROUNDING",
    "RATIO_ROUNDING",
    "RUN_STATUSES_WITH_A_PLAN",
    "SINK",
    "ActiveTier",
    "Checker",
    "Figure",
    "GroupOutcome",
    "LocalMax",
    "LocalNetwork",
    "Market",
    "MemberOutcome",
    "Node",
    "Placement",
    "ResultFiles",
    "ResultRow",
    "TierGroup",
    "VerifyReport",
    "as_figure",
    "at",
    "bottleneck",
    "check_assignment",
    "check_authorities",
    "check_demand_balance",
    "check_fairness",
    "check_gaps",
    "check_individual_rationality",
    "check_locality",
    "check_policy",
    "check_providers",
    "check_sufficiency",
    "check_tiers",
    "check_totals",
    "discount_of",
    "fmt",
    "gini",
    "great_circle_km",
    "jain",
    "local_max",
    "local_network",
    "member_costs",
    "members_of",
    "places_figure",
    "policy_as_used",
    "priority_split",
    "propagate",
    "ratio",
    "read_active_tiers",
    "read_results",
    "total",
    "verify_results",
]
