"""`optimise stress`: re-plan the consortium under provider failures and demand shocks.

A scenario is data: a name, a kind, a one-line description and the instance it solves, built from
the base instance by a pure transformation (the base instance is never changed):

* **provider failure** (``--fail P``, repeatable: the providers fail together, one scenario;
  ``--n-1 K``: each of the K largest providers of the BASE plan, by places, fails alone, ties
  broken by provider id). A failed provider's offers are removed and its tiers dropped: a failed
  provider can neither place children nor honour a volume discount or a guarantee (no void
  payments are owed to it). Its row in the providers table stays, so distances and ids remain
  valid.
* **demand shock** (``--demand +20%``, ``-10%``; scoped ``+20%:foster_standard`` by placement type
  (the need), ``+20%:E08000003`` by authority, or both ``+20%:foster_standard:E08000003``;
  repeatable, each its own scenario). Demand places, and their standard deviations, are scaled
  by 1 + pct/100 within the scope.

Every scenario is re-planned with :func:`optimiser.run.run`, with the base's members and policy.
The standalone baselines are recomputed for each scenario, because the market changed: a
scenario's savings (``standalone_cost``, ``saving``) are against each member commissioning alone
in the SAME stressed market, and so say whether the consortium still pays its way under stress.
The changes reported (``cost_change``, ``unmet_change``, ``local_share_change``) are against the
BASE plan's figures, which are what a commissioner budgets.

Scenario solves are independent. They run one after another by default; with ``workers > 1`` they
run in the spawned processes of ``optimiser.executor.map_tasks``, like every other pool of the
project (a process forked after a solver started may inherit its threads and locks). Each
scenario is solved by the same function in either case and results are put back in scenario
order, so the files are the same whatever the number of workers.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from optimiser import columns
from optimiser.errors import InputError, Problem
from optimiser.executor import ProgressBar, map_tasks
from optimiser.figures import Figures, MemberFigures, figures_of, solve_scenario
from optimiser.outputs import MONEY_DP, PLACES_DP, RATIO_DP
from optimiser.records import Instance
from optimiser.run import RunOutcome, choose_members, run

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

BASE = "base"
KIND_FAILURE = "failure"  # --fail: the providers fail together
KIND_N_MINUS_1 = "n-1"  # --n-1: one provider fails alone
KIND_DEMAND = "demand"

#: percentages outside this range are more likely typos than scenarios
MIN_PCT, MAX_PCT = -100.0, 1000.0
_PCT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))%$")


# --------------------------------------------------------------------------- scenarios as data

@dataclass(frozen=True)
class Scenario:
    """One stressed market: its name (unique, of ids, used in the files), the instance it
    solves, its kind (``failure``, ``n-1`` or ``demand``), a one-line description and its label
    (the name in people's words, for the screen: provider, type and authority names)."""

    name: str
    instance: Instance
    kind: str = ""
    detail: str = ""
    providers: tuple[str, ...] = ()  # the failed providers of a failure scenario
    label: str = ""


@dataclass(frozen=True)
class DemandShock:
    """``--demand``: scale demand by ``1 + pct / 100`` where the scope matches (None: any)."""

    pct: float
    placement_type: str | None = None
    authority: str | None = None

    @property
    def factor(self) -> float:
        return 1.0 + self.pct / 100.0

    @property
    def name(self) -> str:
        scope = [s for s in (self.placement_type, self.authority) if s]
        return ":".join([f"demand{_signed_pct(self.pct)}", *scope])

    def covers(self, authority: str, placement_type: str) -> bool:
        return ((self.placement_type is None or self.placement_type == placement_type)
                and (self.authority is None or self.authority == authority))


def _signed_pct(pct: float) -> str:
    return f"{pct:+g}%"


def fail_providers(instance: Instance, providers: Sequence[str]) -> Instance:
    """``instance`` with ``providers`` failed: their offers removed and their tiers dropped."""
    failed = set(providers)
    return replace(
        instance,
        offers=tuple(o for o in instance.offers if o.provider not in failed),
        tiers=tuple(t for t in instance.tiers if t.provider not in failed),
    )


def scale_demand(instance: Instance, shock: DemandShock) -> Instance:
    """``instance`` with demand places (and sd) in the shock's scope scaled by its factor."""
    factor = shock.factor

    def scaled(row):
        if not shock.covers(row.authority, row.placement_type):
            return row
        sd = None if row.sd is None else row.sd * factor
        return row.model_copy(update={"places": row.places * factor, "sd": sd})

    return replace(instance, demand=tuple(scaled(d) for d in instance.demand))


def parse_demand_shock(spec: str, instance: Instance) -> DemandShock:
    """``+20%``, ``-10%``, ``+20%:TYPE``, ``+20%:AUTHORITY`` or ``+20%:TYPE:AUTHORITY``."""
    text = spec.strip()
    pct_text, *scope = [part.strip() for part in text.split(":")]
    match = _PCT.match(pct_text.replace(" ", ""))
    if not match:
        raise InputError(Problem("--demand", f"expected a percentage such as +20% or -10%, "
                                 f"optionally :TYPE or :AUTHORITY, got {spec!r}"))
    pct = float(match.group(1))
    if not MIN_PCT <= pct <= MAX_PCT:
        raise InputError(Problem("--demand", f"{spec!r}: the change must lie between "
                                 f"{MIN_PCT:g}% and +{MAX_PCT:g}%"))
    placement_type = authority = None
    for part in scope:
        is_type, is_authority = part in instance.placement_types, part in instance.authorities
        if not part:
            raise InputError(Problem("--demand", f"{spec!r}: empty scope after ':'"))
        if is_type and is_authority:
            raise InputError(Problem("--demand", f"{spec!r}: {part!r} is both a placement type "
                                     "and an authority id"))
        if is_type and placement_type is None:
            placement_type = part
        elif is_authority and authority is None:
            authority = part
        elif is_type or is_authority:
            raise InputError(Problem("--demand", f"{spec!r}: give at most one placement type "
                                     "and one authority"))
        else:
            types = ", ".join(instance.placement_types)
            raise InputError(Problem("--demand", f"{spec!r}: unknown placement type or "
                                     f"authority {part!r} (placement types: {types})"))
    return DemandShock(pct, placement_type, authority)


def check_providers(instance: Instance, providers: Sequence[str]) -> list[str]:
    """``--fail`` ids, checked and without repeats (first-given order)."""
    unknown = [p for p in providers if p not in instance.providers]
    if unknown:
        raise InputError(Problem("--fail", f"unknown providers: {', '.join(unknown)}"))
    return list(dict.fromkeys(providers))


def failure_scenario(instance: Instance, providers: Sequence[str], base_places: dict[str, float],
                     kind: str = KIND_FAILURE) -> Scenario:
    """The providers fail (together); ``base_places`` says what they carried in the base plan."""
    prefix = "n-1" if kind == KIND_N_MINUS_1 else "fail"
    names = ", ".join(f"{instance.providers[p].name} ({p})" if instance.providers[p].name != p
                      else p for p in providers)
    carried = sum(base_places.get(p, 0.0) for p in providers)
    verb = "fails" if len(providers) == 1 else "fail together"
    label = f"{prefix}: {' + '.join(instance.providers[p].name for p in providers)}"
    return Scenario(f"{prefix}:{'+'.join(providers)}", fail_providers(instance, providers), kind,
                    f"{names} {verb}: {carried:,.1f} places in the base plan", tuple(providers),
                    label)


def demand_scenario(instance: Instance, shock: DemandShock, members: Sequence[str]) -> Scenario:
    scope, named = [], []
    if shock.placement_type:
        scope.append(shock.placement_type)
        named.append(instance.placement_types[shock.placement_type].name)
    if shock.authority:
        scope.append(instance.authorities[shock.authority].name)
        named.append(instance.authorities[shock.authority].name)
    label = f"demand {_signed_pct(shock.pct)}{': ' + ', '.join(named) if named else ''}"
    affected = sum(d.places for d in instance.demand
                   if shock.covers(d.authority, d.placement_type))
    detail = (f"demand {_signed_pct(shock.pct)}"
              f"{' for ' + ', '.join(scope) if scope else ''}: {affected:,.1f} of "
              f"{instance.total_demand:,.1f} places in scope")
    if shock.authority and shock.authority not in members:
        detail += " (not a member: changes only the share of capacity the members see)"
    return Scenario(shock.name, scale_demand(instance, shock), KIND_DEMAND, detail,
                    label=label)


def provider_places(outcome: RunOutcome) -> dict[str, float]:
    """Places with each provider in a plan (providers without places left out)."""
    arcs = outcome.plan.arcs
    places = arcs.groupby("provider")["places"].sum()
    return {p: float(v) for p, v in places.items() if v > 0}


def largest_providers(places: dict[str, float], k: int) -> list[str]:
    """The ``k`` providers with the most places, ties broken by provider id."""
    return sorted(places, key=lambda p: (-places[p], p))[:k]


# --------------------------------------------------------------------------- solving

Progress = Callable[[int, int, str], None]  # (steps done, steps in all, what just finished)


def solve_all(scenarios: Sequence[Scenario], members: list[str], workers: int = 1,
              progress: Progress | None = None, done: int = 0, total: int | None = None
              ) -> list[Figures]:
    """Figures of every scenario, in scenario order, whatever ``workers`` (spawned processes of
    ``optimiser.executor``; here, one after another, for one worker or one scenario)."""
    total = len(scenarios) if total is None else total
    tick = progress or (lambda *_: None)
    finished = iter(range(done + 1, done + len(scenarios) + 1))

    def solved(index: int) -> None:
        tick(next(finished), total, scenarios[index].name)

    return map_tasks(solve_scenario, [(s.instance, members) for s in scenarios],
                     workers=max(1, min(workers, len(scenarios))), progress=solved)


@dataclass(frozen=True)
class StressOutcome:
    instance: Instance
    members: tuple[str, ...]
    base: Figures
    scenarios: tuple[Scenario, ...]
    results: tuple[Figures, ...]
    workers: int
    seconds: float
    warnings: tuple[str, ...] = ()
    base_places: dict[str, float] | None = None  # places with each provider in the base plan

    @property
    def failed(self) -> list[str]:
        return [s.name for s, r in zip(self.scenarios, self.results) if not r.has_plan]


def stress(instance: Instance, members: list[str] | None = None, consortium: str | None = None,
           *, fail: Sequence[str] = (), n_minus_1: int = 0, demand: Sequence[str] = (),
           workers: int = 1, progress: Progress | None = None) -> StressOutcome:
    """Solve the base plan, build the scenarios and re-plan each (see the module docstring).

    Every option is checked before anything is solved. A scenario without a plan is reported
    with its status, not raised; a base without a plan raises :class:`SolveError`.
    """
    started = time.perf_counter()
    if not fail and not n_minus_1 and not demand:
        raise InputError(Problem("stress", "give at least one scenario: --fail P, --n-1 K or "
                                 "--demand PCT"))
    if n_minus_1 < 0:
        raise InputError(Problem("--n-1", "K must be a positive number of providers"))
    if workers < 1:
        raise InputError(Problem("--workers", "N must be at least 1"))
    chosen = choose_members(instance, members, consortium)
    failing = check_providers(instance, fail)
    shocks = [parse_demand_shock(spec, instance) for spec in demand]
    names = [s.name for s in shocks]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(Problem("--demand", f"scenario given twice: {', '.join(repeated)}"))
    warnings = []
    for shock in shocks:
        if not any(shock.covers(d.authority, d.placement_type) and d.places > 0
                   for d in instance.demand):
            warnings.append(f"{shock.name}: no demand in scope, the scenario equals the base")

    total = 1 + (1 if failing else 0) + n_minus_1 + len(shocks)
    tick = progress or (lambda *_: None)
    tick(0, total, "")
    base_outcome = run(instance, chosen)
    base = figures_of(base_outcome)
    places = provider_places(base_outcome)
    tick(1, total, BASE)

    scenarios = []
    if failing:
        scenarios.append(failure_scenario(instance, failing, places))
    largest = largest_providers(places, n_minus_1)
    if len(largest) < n_minus_1:
        warnings.append(f"--n-1 {n_minus_1}: only {len(largest)} providers have places in the "
                        "base plan")
    scenarios += [failure_scenario(instance, [p], places, KIND_N_MINUS_1) for p in largest]
    scenarios += [demand_scenario(instance, shock, chosen) for shock in shocks]
    results = solve_all(scenarios, chosen, workers, progress, done=1, total=1 + len(scenarios))
    for scenario, result in zip(scenarios, results):
        if result.status == "feasible":
            warnings.append(f"{scenario.name}: stopped at the time limit, the plan is not "
                            "proven optimal")
        if result.not_kept_whole:
            warnings.append(f"{scenario.name}: not kept whole (pay more than alone in the "
                            f"stressed market): {', '.join(result.not_kept_whole)}")
    return StressOutcome(instance, tuple(chosen), base, tuple(scenarios), tuple(results),
                         workers, time.perf_counter() - started, tuple(warnings), places)


# --------------------------------------------------------------------------- tables and files

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


# --------------------------------------------------------------------------- screen

def _change(value: float | None, digits: int = 1, suffix: str = "", scale: float = 1.0) -> str:
    """A change for the screen, from the summary's number (never from formatted text)."""
    from optimiser.reports.formats import signed

    return "" if value is None else signed(value * scale, digits, suffix)


def _cost_change(value: float | None) -> str:
    from optimiser.reports.formats import money_compact

    return "" if value is None else money_compact(value, sign=True)


def print_stress(console, summary_text: str) -> None:
    """Per scenario totals, the worst case highlighted, each member's worst scenario: printed
    from the very summary written, so screen and files never disagree. Scenarios are shown by
    their labels (names); the files name them by ids."""
    import json

    from rich.markup import escape

    from optimiser.display import Column, print_table
    from optimiser.reports.formats import counted, money, places, share

    summary = json.loads(summary_text)
    base = summary["base"]["totals"]
    timings = summary["timings"]
    console.print(
        f"[bold]{escape(summary['instance'])}[/bold] under stress: "
        f"{counted(len(summary['scenarios']), 'scenario')}, "
        f"{counted(len(summary['members']), 'member')}, {timings['seconds']:.1f} s "
        f"(base {timings['base_seconds']:.1f} s, {counted(timings['workers'], 'worker')})",
        highlight=False)
    console.print(
        f"Base plan: annual cost {money(base['annual_cost'])}, {places(base['unmet'])} of "
        f"{places(base['demand'])} places unmet, local share {share(base['local_share'])}.",
        highlight=False)
    worst = (summary["worst_case"] or {}).get("scenario")
    rows, styles = [], []
    for s in summary["scenarios"]:
        t = s["totals"]
        if t is None:
            rows.append([s["label"], s["status"], "", "", "", "", ""])
            styles.append("yellow")
            continue
        member = s["worst_member"]
        rows.append([s["label"] + ("" if s["status"] == "optimal" else f" ({s['status']})"),
                     _cost_change(t["cost_change"]), _change(t["cost_change_pct"], suffix="%"),
                     _change(t["unmet_change"]), _change(t["local_share_change"], scale=100.0),
                     member["name"], _cost_change(member["cost_change"])])
        styles.append("bold red" if s["name"] == worst else None)
    print_table(console, "Scenarios against the base plan (£ a year; local share in points)", [
        Column("scenario", words=True, least=10), Column("Δ cost"), Column("Δ cost %", drop=1),
        Column("Δ unmet"), Column("Δ local"), Column("worst-hit member", words=True),
        Column("its Δ cost", drop=2)], rows, styles, source="stress.csv")
    if summary["member_worst_case"]:
        print_table(console, "Each member's worst scenario", [
            Column("authority", words=True), Column("scenario", words=True), Column("Δ cost"),
            Column("Δ cost %", drop=1), Column("Δ unmet")], [
            [m["name"], m["scenario_label"], _cost_change(m["cost_change"]),
             _change(m["cost_change_pct"], suffix="%"), _change(m["unmet_change"])]
            for m in summary["member_worst_case"]], source="stress.csv")
    if summary["worst_case"]:
        w = summary["worst_case"]
        console.print(
            f"[bold red]Worst case:[/bold red] {escape(w['label'])} ({escape(w['detail'])}): "
            f"cost {_cost_change(w['cost_change'])} ({_change(w['cost_change_pct'], suffix='%')}"
            f"), unmet {_change(w['unmet_change'])} places, local share "
            f"{_change(w['local_share_change'], suffix=' pt', scale=100.0)}.", highlight=False)
    for failed in summary["failed"]:
        entry = next(s for s in summary["scenarios"] if s["name"] == failed)
        console.print(f"[yellow]no plan:[/yellow] {escape(entry['label'])}: "
                      f"{escape(entry['message'])}", highlight=False)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def bar_progress(bar: ProgressBar) -> Progress:
    """:func:`stress`'s progress on the common bar of ``optimiser.executor``: the base plan,
    then one step per scenario."""

    def show(done: int, total: int, label: str) -> None:
        if done == 0:
            bar.plan(total)
        bar.describe("stress: solving the base plan" if done == 0 else f"stress: {label} done")
        if done:
            bar.solved()

    return show
