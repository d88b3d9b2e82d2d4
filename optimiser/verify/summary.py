"""Summary: locality, individual rationality, totals, fairness."""

from __future__ import annotations

from typing import Any

from optimiser import outputs
from optimiser.verify.assignment import json_number, summary_figure
from optimiser.verify.checker import Checker, at, fmt
from optimiser.verify.costs import GroupOutcome, MemberOutcome
from optimiser.verify.figures import (
    MONEY_ABS,
    PLACES_ABS,
    Figure,
    propagate,
    ratio,
    total,
)
from optimiser.verify.files import ResultRow
from optimiser.verify.market import Market


def check_locality(
    market: Market, members: list[MemberOutcome], summary: dict[str, Any], check: Checker
) -> None:
    """local places >= target * placed - shortfall, the shortfall reported in penalties."""
    shortfall = Figure(0.0)
    for m in members:
        gap = market.local_target(m.authority) * m.placed - m.local
        if gap.value > 0:
            shortfall = shortfall + gap
    penalties = summary["penalties"]
    where = f"{outputs.SUMMARY} penalties local_shortfall_places"
    reported = json_number(penalties["local_shortfall_places"], where)
    check.require(
        reported is not None and reported >= shortfall.value - PLACES_ABS - shortfall.slack,
        f"{where}: file {fmt(reported)}, but members fall {fmt(shortfall)} places short of their "
        f"local targets",
    )
    if reported is not None:
        check.money(
            f"{outputs.SUMMARY} penalties local_shortfall_cost",
            json_number(penalties["local_shortfall_cost"], "penalties.local_shortfall_cost"),
            market.policy.local_shortfall_penalty_year * reported,
        )


def check_individual_rationality(
    market: Market, members: list[MemberOutcome], summary: dict[str, Any], check: Checker
) -> None:
    listed: dict[str, tuple[int, Any]] = {}
    for index, entry in enumerate(summary["not_kept_whole"]):
        listed[str(entry["authority"])] = (index, entry["excess"])
    outcomes = {m.authority: m for m in members}
    for authority, (index, excess) in listed.items():
        where = f"{outputs.SUMMARY} not_kept_whole[{index}] ({authority}) excess"
        m = outcomes.get(authority)
        if not check.require(m is not None, f"{where}: {authority} is not a member of this run"):
            continue
        if m.standalone_cost is None:
            continue
        expected = m.annual_cost - m.standalone_cost
        if check.require(
            expected.value > -(MONEY_ABS + expected.slack),
            f"{where}: listed, but its cost {fmt(m.annual_cost)} does not exceed its standalone "
            f"cost {fmt(m.standalone_cost)}",
        ):
            check.money(where, json_number(excess, where), expected)
    if not market.policy.individual_rationality:
        return
    for m in members:
        if m.standalone_cost is None or m.authority in listed:
            continue
        excess = m.annual_cost - m.standalone_cost
        tolerance = MONEY_ABS + check.tolerance * abs(m.standalone_cost.value) + excess.slack
        check.require(
            excess.value <= tolerance,
            f"{at(outputs.AUTHORITIES, m.authority, 'annual_cost')}: individual rationality: cost "
            f"{fmt(m.annual_cost)} exceeds standalone cost {fmt(m.standalone_cost)} by "
            f"{fmt(excess)}, and the member is not in {outputs.SUMMARY} not_kept_whole",
        )


def check_totals(
    market: Market,
    members: list[MemberOutcome],
    contracted: set[str],
    groups: list[GroupOutcome],
    summary: dict[str, Any],
    check: Checker,
) -> None:
    def reported(key: str) -> tuple[str, float | None]:
        return summary_figure(summary, "totals", key)

    placed = total(m.placed for m in members)
    cost = total(m.annual_cost for m in members)
    standalone = (
        total(m.standalone_cost for m in members)
        if all(m.standalone_cost is not None for m in members)
        else None
    )
    saving = None if standalone is None else standalone - cost
    saving_pct = None if saving is None else ratio(saving, standalone)
    check.places(*reported("demand"), sum(m.demand for m in members))
    check.places(*reported("placed"), placed)
    check.places(*reported("unmet"), sum(m.demand for m in members) - placed)
    check.money(*reported("annual_cost"), cost)
    check.money(*reported("standalone_cost"), standalone)
    check.money(*reported("saving"), saving)
    check.ratio(*reported("saving_pct"), None if saving_pct is None else saving_pct * 100)
    check.ratio(*reported("local_share"), ratio(total(m.local for m in members), placed))

    shared = summary["shared_costs"]
    check.money(
        f"{outputs.SUMMARY} shared_costs contract",
        json_number(shared["contract"], "shared_costs.contract"),
        sum(market.instance.providers[p].contract_cost_year for p in sorted(contracted)),
    )
    check.money(
        f"{outputs.SUMMARY} shared_costs void",
        json_number(shared["void"], "shared_costs.void"),
        total(g.void_cost for g in groups),
    )


def jain(values: list[float]) -> float | None:
    if not values:
        return None
    squares = sum(x * x for x in values)
    return 1.0 if squares == 0 else sum(values) ** 2 / (len(values) * squares)


def gini(values: list[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    if mean <= 0:
        return None
    spread = sum(abs(x - y) for x in values for y in values)
    return spread / (2 * len(values) ** 2 * mean)


def check_fairness(members: list[MemberOutcome], summary: dict[str, Any], check: Checker,
                   published: list[ResultRow] | None = None) -> None:
    """Fairness of saving % over the members with a standalone cost (saving % defined).

    With ``published`` (authorities.csv, whose saving % are each checked against the
    recomputed ones), the indices are recomputed from its saving %: near zero Jain's index
    jumps between 1 (all exactly 0) and anything at all, and Gini between undefined and
    defined, on noise far inside the saving % tolerance (cross-solver agreement, seed 70: all
    savings 0 in the file, +-1e-6 % recomputed).
    """

    def reported(key: str) -> tuple[str, float | None]:
        return summary_figure(summary, "fairness", key)

    # the indices take saving % as published (see optimiser.fairness.fairness_figures)
    if published is not None:
        pcts = [Figure(row["saving_pct"]) for row in published if row["saving_pct"] is not None]
    else:
        pcts = [Figure(round(m.saving_pct.value, outputs.RATIO_DP), m.saving_pct.slack)
                for m in members if m.saving_pct is not None]
    lowest = min(pcts, key=lambda f: f.value, default=None)
    highest = max(pcts, key=lambda f: f.value, default=None)
    check.ratio(*reported("min_saving_pct"), lowest)
    check.ratio(*reported("max_saving_pct"), highest)
    check.ratio(*reported("jain"), propagate(jain, pcts) if pcts else None)
    check.ratio(*reported("gini"), propagate(gini, pcts) if pcts else None)
