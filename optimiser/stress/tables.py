"""`optimise stress`'s files: stress.csv (the base, then each scenario; the consortium, then
each member) and stress_summary.json (totals, the worst case, each member's worst scenario)."""

from __future__ import annotations

import math

import pandas as pd

from optimiser import columns
from optimiser.figures import Figures, MemberFigures
from optimiser.outputs import MONEY_DP, PLACES_DP, RATIO_DP
from optimiser.stress.analysis import BASE, StressOutcome

STRESS_CSV = "stress.csv"
STRESS_SUMMARY = "stress_summary.json"

#: one row per scenario (the base first) and member, each scenario's consortium row (authority
#: blank) before its members. Changes are against the BASE plan: cost_change = annual_cost - base
#: annual_cost (£/year), cost_change_pct = 100 * cost_change / base annual_cost, unmet_change in
#: places, local_share (local places / placed, blank if nothing is placed) and local_share_change
#: as fractions. standalone_cost and saving are against each member alone in the SAME scenario's
#: market. status: optimal, feasible (stopped by the time limit), infeasible or error (no plan;
#: the figures are blank and the summary gives the reason).
STRESS_COLUMNS = columns.STRESS.names


def _share(local: float, placed: float) -> float | None:
    return local / placed if placed > 0 else None


def _diff(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else value - base


def _pct(change: float | None, base: float | None) -> float | None:
    return None if change is None or not base else 100.0 * change / base


def _round(value: float | None, digits: int) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    rounded = round(float(value), digits)
    return 0.0 if rounded == 0 else rounded


def _totals(figures: Figures) -> MemberFigures:
    members = figures.members.values()
    return MemberFigures(*(sum(getattr(m, f) for m in members) for f in
                           ("cost", "standalone", "demand", "placed", "placed_local", "unmet")))


def _row(scenario: str, kind: str, detail: str, authority: str | None, status: str,
         now: MemberFigures | None, base: MemberFigures) -> dict:
    row = {"scenario": scenario, "kind": kind, "detail": detail, "authority": authority,
           "status": status}
    if now is None:
        return row
    change = now.cost - base.cost
    share, base_share = _share(now.placed_local, now.placed), _share(base.placed_local,
                                                                     base.placed)
    row.update({
        "annual_cost": _round(now.cost, MONEY_DP),
        "cost_change": _round(change, MONEY_DP),
        "cost_change_pct": _round(_pct(change, base.cost), RATIO_DP),
        "unmet": _round(now.unmet, PLACES_DP),
        "unmet_change": _round(now.unmet - base.unmet, PLACES_DP),
        "local_share": _round(share, RATIO_DP),
        "local_share_change": _round(_diff(share, base_share), RATIO_DP),
        "standalone_cost": _round(now.standalone, MONEY_DP),
        "saving": _round(now.standalone - now.cost, MONEY_DP),
    })
    return row


def stress_table(outcome: StressOutcome) -> pd.DataFrame:
    """stress.csv: the base, then each scenario; the consortium row, then each member."""
    base = outcome.base
    base_total = _totals(base)
    entries = [(BASE, BASE, "the plan before any stress", base)]
    entries += [(s.name, s.kind, s.detail, r) for s, r in zip(outcome.scenarios, outcome.results)]
    rows = []
    for name, kind, detail, figures in entries:
        plan = figures.has_plan
        rows.append(_row(name, kind, detail, None, figures.status,
                         _totals(figures) if plan else None, base_total))
        for a in outcome.members:
            rows.append(_row(name, kind, detail, a, figures.status,
                             figures.members[a] if plan else None, base.members[a]))
    return pd.DataFrame(rows, columns=list(STRESS_COLUMNS))


def _figures_dict(row: pd.Series) -> dict:
    keys = ("annual_cost", "cost_change", "cost_change_pct", "unmet", "unmet_change",
            "local_share", "local_share_change", "standalone_cost", "saving")
    return {k: (None if pd.isna(row[k]) else float(row[k])) for k in keys}


def stress_summary(outcome: StressOutcome, table: pd.DataFrame) -> dict:
    """stress_summary.json: base totals, each scenario's totals and worst-hit member, the
    worst case (largest total cost increase) and each member's worst scenario, timings."""
    instance = outcome.instance
    names = {a: instance.authorities[a].name for a in outcome.members}
    consortium = table[table["authority"].isna()].set_index("scenario")
    members = table[table["authority"].notna()]
    base_row = consortium.loc[BASE]
    scenarios = []
    for scenario, result in zip(outcome.scenarios, outcome.results):
        entry = {"name": scenario.name, "label": scenario.label or scenario.name,
                 "kind": scenario.kind, "detail": scenario.detail,
                 "failed_providers": [
                     {"provider": p, "name": instance.providers[p].name,
                      "base_places": (outcome.base_places or {}).get(p, 0.0)}
                     for p in scenario.providers],
                 "status": result.status, "message": result.message,
                 "seconds": result.seconds, "totals": None, "worst_member": None,
                 "not_kept_whole": list(result.not_kept_whole)}
        if result.has_plan:
            entry["totals"] = _figures_dict(consortium.loc[scenario.name])
            own = members[members["scenario"] == scenario.name]
            worst = own.loc[own["cost_change"].idxmax()]  # first of equals: member order
            entry["worst_member"] = {"authority": worst["authority"],
                                     "name": names[worst["authority"]],
                                     "cost_change": float(worst["cost_change"]),
                                     "cost_change_pct": _none(worst["cost_change_pct"])}
        scenarios.append(entry)
    solved = [s for s in scenarios if s["totals"] is not None]
    worst_case = None
    if solved:
        top = max(solved, key=lambda s: s["totals"]["cost_change"])  # first of equals
        worst_case = {"scenario": top["name"], "label": top["label"], "kind": top["kind"],
                      "detail": top["detail"],
                      **top["totals"], "worst_member": top["worst_member"]}
    stressed = members[members["scenario"].isin([s["name"] for s in solved])]
    labels = {s["name"]: s["label"] for s in scenarios}
    member_worst = []
    for a in outcome.members:
        own = stressed[stressed["authority"] == a]
        if own.empty:
            continue
        worst = own.loc[own["cost_change"].idxmax()]  # first of equals: scenario order
        member_worst.append({"authority": a, "name": names[a], "scenario": worst["scenario"],
                             "scenario_label": labels[worst["scenario"]],
                             "cost_change": float(worst["cost_change"]),
                             "cost_change_pct": _none(worst["cost_change_pct"]),
                             "unmet_change": float(worst["unmet_change"])})
    return {
        "instance": instance.name,
        "members": list(outcome.members),
        "base": {"status": outcome.base.status, "seconds": outcome.base.seconds,
                 "totals": {**_figures_dict(base_row),
                            "demand": sum(m.demand for m in outcome.base.members.values())}},
        "scenarios": scenarios,
        "worst_case": worst_case,
        "member_worst_case": member_worst,
        "failed": outcome.failed,
        "timings": {"seconds": outcome.seconds, "base_seconds": outcome.base.seconds,
                    "scenario_seconds": {s["name"]: s["seconds"] for s in scenarios},
                    "workers": outcome.workers},
        "warnings": list(instance.warnings) + list(outcome.warnings),
        "policy": instance.policy.model_dump(mode="json"),
    }


def _none(value) -> float | None:
    return None if pd.isna(value) else float(value)


def stress_files(outcome: StressOutcome) -> dict[str, str]:
    """stress.csv and stress_summary.json, as text."""
    from optimiser.writers import csv_text, json_text

    table = stress_table(outcome)
    return {STRESS_CSV: csv_text(table, columns.STRESS),
            STRESS_SUMMARY: json_text(stress_summary(outcome, table))}
