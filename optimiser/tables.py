"""The result tables of a run (docs/model.md section 7), as defined in ``optimiser.outputs``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimiser import outputs
from optimiser.fairness import fairness_figures

if TYPE_CHECKING:  # the run module writes these tables (run_files): a type, not an import
    from optimiser.run import RunOutcome

#: A member is reported not kept whole when its cost exceeds its standalone cost by more than
#: a penny plus 1e-6 of the money involved: costs are recomputed from places rounded to 6
#: decimals (``outputs.PLACES_DP``), which moves a £5m member's cost by up to about £0.20 even
#: when the solver kept it exactly whole.
KEPT_WHOLE_PENNY = 0.01
KEPT_WHOLE_RELATIVE = 1e-6


def excess_over_standalone(cost: float, standalone: float) -> float:
    """cost - standalone if that is more than rounding can explain, else 0."""
    excess = cost - standalone
    tolerance = KEPT_WHOLE_PENNY + KEPT_WHOLE_RELATIVE * (abs(cost) + abs(standalone))
    return excess if excess > tolerance else 0.0


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return scale * numerator / denominator if denominator > 0 else None


def assignment_table(outcome: RunOutcome) -> pd.DataFrame:
    arcs = outcome.plan.arcs
    rows = arcs[arcs["places"] > 0].copy()
    rows["distance_km"] = rows["km"]
    return rows[list(outputs.ASSIGNMENT_COLUMNS)].reset_index(drop=True)


def authority_table(outcome: RunOutcome) -> pd.DataFrame:
    plan, instance = outcome.plan, outcome.instance
    needs = plan.needs.groupby("authority")[["places", "placed", "placed_local", "unmet"]].sum()
    rows = []
    for a in plan.members:
        demand, placed, local, unmet = (needs.loc[a] if a in needs.index else np.zeros(4))
        cost, standalone = plan.member_cost[a], outcome.standalone.cost[a]
        rows.append({
            "authority": a, "name": instance.authorities[a].name, "demand": demand,
            "placed": placed, "unmet": unmet, "local_share": _ratio(local, placed),
            "annual_cost": cost, "standalone_cost": standalone, "saving": standalone - cost,
            "saving_pct": _ratio(standalone - cost, standalone, 100.0),
        })
    return pd.DataFrame(rows, columns=list(outputs.AUTHORITY_COLUMNS))


def provider_table(outcome: RunOutcome) -> pd.DataFrame:
    plan, market, instance = outcome.plan, outcome.market, outcome.instance
    arcs = plan.arcs
    arcs = arcs.assign(list_fees=arcs["places"] * arcs["fee_year"],
                       fees=arcs["places"] * arcs["fee_year"] * (1 - arcs["discount_pct"] / 100))
    by_provider = arcs.groupby("provider")[["places", "list_fees", "fees"]].sum()
    capacity = market.offers.groupby("provider")["capacity"].sum()
    limits = market.providers.set_index("provider")["max_places"]
    tiers = plan.tiers.groupby("provider").agg(
        tier_min_places=("min", "sum"), guarantee=("guarantee", "any"),
        void_places=("void", "sum"), void_cost=("void_cost", "sum"))
    rows = []
    for p, provider in instance.providers.items():
        places, list_fees, fees = (by_provider.loc[p] if p in by_provider.index
                                   else np.zeros(3))
        seen = min(float(capacity.get(p, 0.0)), float(limits[p]))
        tier = tiers.loc[p] if p in tiers.index else None
        rows.append({
            "provider": p, "name": provider.name, "kind": provider.kind,
            "contracted": p in plan.contracted, "places": places, "capacity": seen,
            "utilisation": _ratio(places, seen),
            "tier_min_places": 0.0 if tier is None else tier["tier_min_places"],
            "discount_pct": _ratio(list_fees - fees, list_fees, 100.0),
            "guarantee": False if tier is None else bool(tier["guarantee"]),
            "void_places": 0.0 if tier is None else tier["void_places"],
            "annual_fees": fees + (0.0 if tier is None else tier["void_cost"]),
        })
    return pd.DataFrame(rows, columns=list(outputs.PROVIDER_COLUMNS))


def gap_table(outcome: RunOutcome) -> pd.DataFrame:
    """Per member and need: demand, local capacity before anyone else uses it, placements."""
    plan, market = outcome.plan, outcome.market
    arcs = market.arcs
    local = arcs[arcs["local"]].drop_duplicates(["authority", "need", "provider", "placement_type"])
    local = local.merge(market.offers[["provider", "placement_type", "capacity"]],
                        on=["provider", "placement_type"])
    local_capacity = local.groupby(["authority", "need"])["capacity"].sum()
    needs = plan.needs
    rows = [{
        "authority": a, "placement_type": n, "demand": d,
        "local_capacity": float(local_capacity.get((a, n), 0.0)),
        "placed_local": placed_local, "placed_out_of_area": placed - placed_local,
        "unmet": unmet,
    } for a, n, d, placed, placed_local, unmet in zip(
        needs["authority"], needs["need"], needs["places"], needs["placed"],
        needs["placed_local"], needs["unmet"])]
    return pd.DataFrame(rows, columns=list(outputs.GAP_COLUMNS))


def summary(outcome: RunOutcome, authorities: pd.DataFrame, investment=None) -> dict:
    """summary.json: status, totals, fairness, active tiers, shared costs, policy, and the top
    investment signals (``optimiser.investment``; null when not computed)."""
    plan, result, instance = outcome.plan, outcome.plan.result, outcome.instance
    needs = plan.needs
    placed, local = float(needs["placed"].sum()), float(needs["placed_local"].sum())
    cost, standalone = plan.total_cost, float(sum(outcome.standalone.cost.values()))
    savings = [s for s in authorities["saving_pct"] if s is not None and not pd.isna(s)]
    excess = {a: excess_over_standalone(plan.member_cost[a], outcome.standalone.cost[a])
              for a in plan.members}
    not_whole = [{"authority": a, "excess": e} for a, e in excess.items() if e > 0]
    shortfall = float(sum(plan.shortfall.values()))
    return {
        "instance": instance.name,
        "membership": outcome.membership,
        "status": result.status,
        "objective": result.objective,
        "mip_gap": result.gap,
        "solver": result.solver,
        "seconds": outcome.seconds,
        "members": list(plan.members),
        "totals": {
            "demand": float(needs["places"].sum()), "placed": placed,
            "unmet": float(needs["unmet"].sum()), "annual_cost": cost,
            "standalone_cost": standalone, "saving": standalone - cost,
            "saving_pct": _ratio(standalone - cost, standalone, 100.0),
            "local_share": _ratio(local, placed),
        },
        "fairness": fairness_figures(savings, cost, outcome.reference_cost),
        "tiers": [{
            "provider": t.provider, "placement_type": t.scope, "min_places": t.min,
            "discount_pct": t.discount, "guarantee": bool(t.guarantee), "volume": t.volume,
            "void_places": t.void, "void_cost": t.void_cost,
        } for t in plan.tiers.itertuples()],
        "shared_costs": {"contract": plan.shared_contract, "void": plan.shared_void},
        "not_kept_whole": not_whole,
        "penalties": {
            "local_shortfall_places": shortfall,
            "local_shortfall_cost": shortfall * instance.policy.local_shortfall_penalty_year,
        },
        "warnings": list(instance.warnings) + _status_warnings(outcome) + unmet_warnings(outcome)
        + ([investment.warning] if investment is not None and investment.warning else []),
        "policy": instance.policy.model_dump(mode="json"),
        "investment": None if investment is None else investment.top(),
    }


def _status_warnings(outcome: RunOutcome) -> list[str]:
    warnings = []
    if outcome.plan.result.status == "feasible":
        warnings.append(f"stopped at the time limit: the plan is within "
                        f"{100 * (outcome.plan.result.gap or 0):.4g}% of optimal, not proven")
    unproven = [a for a, s in outcome.standalone.statuses.items() if s != "optimal"]
    if unproven:
        warnings.append("standalone plans not proven optimal for: " + ", ".join(unproven))
    return warnings


#: unmet places below this are solver noise (places are written to 6 decimals)
UNMET_NOTICED = 1e-6
#: unmet-demand warnings listed one by one; the rest are counted (all are in gaps.csv)
UNMET_LISTED = 10


def unmet_warnings(outcome: RunOutcome) -> list[str]:
    """One warning per member and need with unmet demand (largest first), with what explains
    it: the eligible capacity (as the coalition sees it, at any distance, before anyone else
    uses it) against the member's demand and, when that would suffice, against all members'
    demand for the need, which shares the same places."""
    market, needs = outcome.market, outcome.plan.needs
    offers = market.arcs.drop_duplicates(["authority", "need", "provider", "placement_type"])
    offers = offers.merge(market.offers[["provider", "placement_type", "capacity"]],
                          on=["provider", "placement_type"])
    eligible = offers.groupby(["authority", "need"])["capacity"].sum()
    demand_of_need = needs.groupby("need")["places"].sum()
    short = needs[needs["unmet"] > UNMET_NOTICED].sort_values(
        ["unmet", "authority", "need"], ascending=[False, True, True], kind="stable")
    warnings = []
    types = outcome.instance.placement_types
    for a, n, demand, unmet in zip(short["authority"], short["need"], short["places"],
                                   short["unmet"]):
        kind = (types[n].name or n) if n in types else n  # what commissioners call it
        capacity = float(eligible.get((a, n), 0.0))
        why = f"eligible capacity {capacity:,.1f} of {demand:,.1f} demanded"
        if capacity >= demand - UNMET_NOTICED:
            everyone = float(demand_of_need[n])
            why += (f", shared by {everyone:,.1f} places of {kind} demanded by all members"
                    if everyone > capacity + UNMET_NOTICED else
                    ": held back by min_places, max_places or max_provider_share, or dearer "
                    "than an emergency place")
        warnings.append(f"unmet demand: {outcome.instance.authorities[a].name}, {kind}: "
                        f"{unmet:,.1f} places ({why})")
    if len(warnings) > UNMET_LISTED:
        rest = short["unmet"].iloc[UNMET_LISTED:].sum()
        more = len(warnings) - UNMET_LISTED
        warnings[UNMET_LISTED:] = [
            f"unmet demand: {more} more authority and type pairs, {rest:,.1f} places (gaps.csv)"]
    return warnings
