"""`optimise compare`'s result files: compare.csv, members.csv, shapley.csv (their columns
declared in ``optimiser.columns``) and core.json."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from optimiser import columns
from optimiser.compare.analysis import (
    KIND_ALONE,
    LOCAL_TOLERANCE,
    LOW_SAVING_FRACTION,
    CompareOutcome,
    joint_precision_reached,
    precision_reached,
)
from optimiser.figures import Figures
from optimiser.outputs import MONEY_DP, RATIO_DP
from optimiser.records import Instance

COMPARE_CSV = "compare.csv"
MEMBERS_CSV = "members.csv"
SHAPLEY_CSV = "shapley.csv"
CORE_JSON = "core.json"
#: digits of the need-mix distance (an index: ``optimiser.columns``)
DISTANCE_DP = columns.DIGITS[columns.INDEX]

#: one row per membership (each column's kind and meaning: ``optimiser.columns``)
COMPARE_COLUMNS = columns.COMPARE.names
#: one row per membership and member
MEMBER_COLUMNS = columns.MEMBERS.names
#: one row per consortium (every membership of two or more) and member
SHAPLEY_COLUMNS = columns.SHAPLEY.names


def _round(value: float | None, digits: int) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    rounded = round(float(value), digits)
    return 0.0 if rounded == 0 else rounded


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return scale * numerator / denominator if denominator > 0 else None


def need_mix(instance: Instance, members: Sequence[str]) -> dict[str, float]:
    """Shares of the members' demand by placement type (the need)."""
    chosen = set(members)
    places: dict[str, float] = {}
    for d in instance.demand:
        if d.authority in chosen and d.places > 0:
            places[d.placement_type] = places.get(d.placement_type, 0.0) + d.places
    total = sum(places.values())
    return {t: v / total for t, v in places.items()} if total > 0 else {}


def need_distance(instance: Instance, member: str, members: Sequence[str]) -> float:
    """Total variation distance of the member's need mix from the members' together."""
    own, whole = need_mix(instance, [member]), need_mix(instance, members)
    return 0.5 * sum(abs(own.get(t, 0.0) - whole.get(t, 0.0)) for t in sorted(set(own) | set(whole)))


def local_target(instance: Instance, authority: str) -> float:
    target = instance.authorities[authority].min_local_share
    return instance.policy.min_local_share if target is None else target


def _totals(figures: Figures) -> dict[str, float]:
    keys = ("cost", "standalone", "demand", "placed", "placed_local", "unmet")
    return {k: sum(getattr(m, k) for m in figures.members.values()) for k in keys}


def compare_table(outcome: CompareOutcome) -> pd.DataFrame:
    rows = []
    for m, f in zip(outcome.memberships, outcome.figures):
        row = {"membership": m.name, "kind": m.kind, "members": ";".join(m.members),
               "size": len(m.members),
               "demand": sum(outcome.instance.demand_of(a) for a in m.members),
               "status": f.status}
        if f.has_plan:
            t = _totals(f)
            row.update({"annual_cost": t["cost"], "standalone_cost": t["standalone"],
                        "saving": t["standalone"] - t["cost"],
                        "saving_pct": _ratio(t["standalone"] - t["cost"], t["standalone"], 100),
                        "unmet": t["unmet"], "local_share": _ratio(t["placed_local"],
                                                                   t["placed"])})
        rows.append(row)
    return _blanks(pd.DataFrame(rows, columns=list(COMPARE_COLUMNS)))


def _alone_local_share(outcome: CompareOutcome) -> dict[str, float | None]:
    shares = {}
    for m, f in zip(outcome.memberships, outcome.figures):
        if m.kind == KIND_ALONE and f.has_plan:
            a = m.members[0]
            shares[a] = _ratio(f.members[a].placed_local, f.members[a].placed)
    return shares


def _ranks(values: dict[str, float | None]) -> dict[str, int | None]:
    """1 = largest; equal values (as published) share the better rank."""
    shown = {a: _round(v, RATIO_DP) for a, v in values.items() if v is not None}
    ordered = sorted(shown.values(), reverse=True)
    return {a: (ordered.index(shown[a]) + 1 if a in shown else None) for a in values}


def member_table(outcome: CompareOutcome) -> pd.DataFrame:
    instance = outcome.instance
    alone_share = _alone_local_share(outcome)
    rows = []
    for m, f in zip(outcome.memberships, outcome.figures):
        if not f.has_plan:
            rows += [{"membership": m.name, "kind": m.kind, "authority": a,
                      "name": instance.authorities[a].name,
                      "demand": instance.demand_of(a)} for a in m.members]
            continue
        pct = {a: _ratio(f.members[a].standalone - f.members[a].cost, f.members[a].standalone,
                         100) for a in m.members}
        ranks = _ranks(pct)
        totals = _totals(f)
        whole_pct = _ratio(totals["standalone"] - totals["cost"], totals["standalone"], 100)
        demand = {a: instance.demand_of(a) for a in m.members}
        total_demand = sum(demand.values())
        whole_target = (sum(demand[a] * local_target(instance, a) for a in m.members)
                        / total_demand if total_demand > 0 else None)
        for a in m.members:
            mf = f.members[a]
            share = _ratio(mf.placed_local, mf.placed)
            flags = []
            if (len(m.members) > 1 and whole_pct is not None and whole_pct > 0
                    and pct[a] is not None and pct[a] < LOW_SAVING_FRACTION * whole_pct):
                flags.append("low_saving")
            alone = alone_share.get(a)
            if (len(m.members) > 1 and share is not None and alone is not None
                    and share < alone - LOCAL_TOLERANCE):
                flags.append("less_local")
            rows.append({
                "membership": m.name, "kind": m.kind, "authority": a,
                "name": instance.authorities[a].name, "demand": mf.demand,
                "unmet": mf.unmet, "local_share": share, "local_share_alone": alone,
                "annual_cost": mf.cost, "standalone_cost": mf.standalone,
                "saving": mf.standalone - mf.cost, "saving_pct": pct[a],
                "saving_pct_rank": ranks[a],
                "need_distance": need_distance(instance, a, m.members),
                "local_target": local_target(instance, a),
                "membership_local_target": whole_target, "flags": ";".join(flags),
            })
    table = pd.DataFrame(rows, columns=list(MEMBER_COLUMNS))
    table["saving_pct_rank"] = table["saving_pct_rank"].astype("Int64")
    return _blanks(table)


def shapley_table(outcome: CompareOutcome) -> pd.DataFrame:
    instance = outcome.instance
    rows = []
    for game in outcome.games:
        f = outcome.figures[outcome.memberships.index(game.membership)]
        allocation = game.core.allocation if game.core is not None else {}
        for a in game.membership.members:
            plan_cost = f.members[a].cost if f.has_plan else None
            rows.append({
                "consortium": game.membership.name, "authority": a,
                "name": instance.authorities[a].name,
                "coalition_cost_alone": game.alone[a], "shapley_cost": game.shapley[a],
                "shapley_saving": game.alone[a] - game.shapley[a],
                "std_error": None if game.std_error is None else game.std_error[a],
                "method": game.method, "samples": game.samples,
                "marginal_value": game.marginal[a],
                "marginal_saving": game.alone[a] + game.marginal[a],
                "least_core_cost": allocation.get(a),
                "plan_cost": plan_cost,
                "plan_saving": None if plan_cost is None else f.members[a].standalone - plan_cost,
                "half_width_95": None if game.half_width is None else game.half_width[a],
                "solver_margin": (None if game.solver_margin is None
                                  else game.solver_margin[a]),
            })
    table = pd.DataFrame(rows, columns=list(SHAPLEY_COLUMNS))
    table["samples"] = table["samples"].astype("Int64")
    return _blanks(table)


def _blanks(table: pd.DataFrame) -> pd.DataFrame:
    """Missing figures as None (written blank); the writer rounds each column by its kind."""
    return table.astype(object).where(table.notna(), None)


def _money(value: float | None) -> float | None:
    return _round(value, MONEY_DP)


def core_summary(outcome: CompareOutcome) -> dict:
    """core.json: per consortium the least core and the plan's blocking coalition; timings."""
    instance = outcome.instance
    consortia = []
    for game in outcome.games:
        f = outcome.figures[outcome.memberships.index(game.membership)]
        core = game.core
        blocked = game.blocking_excess is not None and game.blocking_excess > game.tolerance
        entry = {
            "consortium": game.membership.name,
            "members": list(game.membership.members),
            "coalition_cost": _money(game.grand),
            "standalone_coalition_costs": _money(sum(game.alone.values())),
            "epsilon": None if core is None else _money(core.epsilon),
            "epsilon_bound": (None if core is None or core.epsilon_bound is None
                              else _money(core.epsilon_bound)),
            "core_empty": None if core is None else bool(core.core_empty),
            "least_core_allocation": (None if core is None else
                                      {a: _money(core.allocation[a])
                                       for a in game.membership.members}),
            "least_core_blocking": None if core is None or core.blocking is None
            else list(core.blocking),
            "separation_status": None if core is None else core.separation_status,
            "iterations": None if core is None else core.iterations,
            "master_coalitions": None if core is None else core.coalitions,
            "plan_allocation": ({a: _money(f.members[a].cost) for a in game.membership.members}
                                if f.has_plan else None),
            "plan_blocked": blocked if game.blocking is not None else None,
            "plan_blocking": None if game.blocking is None else {
                "coalition": list(game.blocking),
                "names": [instance.authorities[a].name for a in game.blocking],
                "excess": _money(game.blocking_excess),
                "separation_excess": _money(game.separation.violation),
                "separation_bound": _money(game.separation.bound),
                "separation_status": game.separation.status,
            },
            "tolerance": _money(game.tolerance),
            "shapley_method": game.method,
            "samples": game.samples,
            "shapley_estimator": game.estimator,
            "shapley_precision": precision_reached(game),
            "shapley_precision_joint": joint_precision_reached(game),
            "shapley_stopped": game.stopped,
            "shapley_solver_margin": (None if not game.solver_margin else
                                      _money(max(game.solver_margin.values()))),
            "coalitions_solved": game.coalitions,
            "shapley_seconds": game.shapley_seconds,
            "core_seconds": game.core_seconds,
            "note": game.note or None,
        }
        consortia.append(entry)
    return {
        "instance": instance.name,
        "seconds": outcome.seconds,
        "solves": outcome.solves,
        "cache_hits": outcome.cache_hits,
        "executor": outcome.executor,
        "workers": outcome.workers,
        "options": outcome.options,
        "consortia": consortia,
        "inexact_coalitions": [
            {"coalition": list(v.members), "status": v.status, "gap": v.gap,
             "cost": _money(v.cost)} for v in outcome.inexact],
        "warnings": list(instance.warnings) + list(outcome.warnings),
        "policy": instance.policy.model_dump(mode="json"),
    }


def compare_files(outcome: CompareOutcome) -> dict[str, str]:
    """compare.csv, members.csv, shapley.csv and core.json, as text."""
    from optimiser.writers import csv_text, json_text

    return {COMPARE_CSV: csv_text(compare_table(outcome), columns.COMPARE),
            MEMBERS_CSV: csv_text(member_table(outcome), columns.MEMBERS),
            SHAPLEY_CSV: csv_text(shapley_table(outcome), columns.SHAPLEY),
            CORE_JSON: json_text(core_summary(outcome))}
