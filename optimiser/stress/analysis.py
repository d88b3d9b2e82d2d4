"""`optimise stress`'s analysis: re-plan the consortium under provider failures and demand shocks.

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

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from optimiser.errors import InputError, Problem
from optimiser.executor import ProgressBar, map_tasks
from optimiser.figures import Figures, figures_of, solve_scenario
from optimiser.records import Instance
from optimiser.run import RunOutcome, choose_members, run

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
