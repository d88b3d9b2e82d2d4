"""`optimise guarantee`'s analysis: its settings, the options, the scenario solves (tasks run
by ``optimiser.executor``), the sweep, the SAA and its statistics (the package's docstring)."""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from models.guarantee import (
    ExtensiveForm,
    FirstStage,
    GuaranteeRange,
    Risk,
    ScenarioFigures,
    SecondStage,
    build_extensive_form,
    build_second_stage,
    first_stage_of,
    scenario_figures,
)
from optimiser import scenarios as sc
from optimiser.errors import InputError, Problem, SolveError
from optimiser.executor import TaskPool
from optimiser.guarantee.contract_forms import (
    mean_stay_years,
    reference_block,
    review_of,
)
from optimiser.guarantee.statistics import (
    CONFIDENCE,
    estimate,
    objective_of,
    risk_terms,
    value_at_risk,
)
from optimiser.market import Market, build_market
from optimiser.records import Instance
from optimiser.recourse import fresh_solve, keeps, kept_recourse
from optimiser.run import choose_members
from optimiser.schema import MAX_PLACES
from optimiser.solvers import SolverOptions, get_solver

MODE_SWEEP, MODE_OPTIMISE = "sweep", "optimise"
KIND_NONE, KIND_OFFERED, KIND_RANGE = "none", "offered", "range"
KIND_EXPECTED, KIND_CANDIDATE = "expected-value", "candidate"

SWEEP_SCENARIOS = 200
SAA_SCENARIOS = 50
REPLICATIONS = 5
EVALUATION_SCENARIOS = 500
MAX_REPLICATIONS = 1000
#: most options of a --places range (each is a sample of scenario solves)
MAX_RANGE_OPTIONS = 500
#: scenarios per task: small enough for a live progress bar, large enough to amortise a task
CHUNK = 20
#: places below which a void or unmet quantity counts as none
PLACES_TOLERANCE = 1e-6

# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    """The command's options (None: the default of the mode)."""

    sweep: bool = False
    scenarios: int | None = None
    seed: int = 0
    replications: int | None = None
    evaluation_scenarios: int | None = None
    risk_level: float = 0.9
    risk_weight: float = 0.0
    places: str | None = None
    discount: float | None = None
    providers: tuple[str, ...] = ()

    @property
    def risk(self) -> Risk:
        return Risk(self.risk_level, self.risk_weight)

    def checked(self) -> Settings:
        """Every option in range, defaults filled in; an InputError names the bad option."""
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise InputError(Problem("--seed", f"must be a whole number 0 or more, got "
                                     f"{self.seed}"))
        if not 0.0 <= self.risk_level < 1.0:
            raise InputError(Problem("--risk-level", "must lie in [0, 1) (e.g. 0.9: the worst "
                                     f"10% of years), got {self.risk_level:g}"))
        if not 0.0 <= self.risk_weight <= 1.0:
            raise InputError(Problem("--risk-weight", "must lie between 0 (expected cost) and "
                                     f"1 (CVaR only), got {self.risk_weight:g}"))
        if self.discount is not None and self.places is None:
            raise InputError(Problem("--discount", "applies to a --places range only"))
        if self.discount is not None and not 0.0 < self.discount < 100.0:
            raise InputError(Problem("--discount", "must lie strictly between 0 and 100 "
                                     f"(a percentage), got {self.discount:g}"))
        if self.places is not None and self.providers:
            raise InputError(Problem("--provider", "give --provider or --places, not both"))
        if self.sweep:
            for value, option in ((self.replications, "--replications"),
                                  (self.evaluation_scenarios, "--evaluation-scenarios")):
                if value is not None:
                    raise InputError(Problem(option, "applies without --sweep only (the sweep "
                                             "evaluates every option on --scenarios)"))
            scenarios = SWEEP_SCENARIOS if self.scenarios is None else self.scenarios
            sc.check_count(scenarios, "--scenarios")
            return replace(self, scenarios=scenarios)
        if self.providers:
            raise InputError(Problem("--provider", "applies with --sweep only"))
        scenarios = SAA_SCENARIOS if self.scenarios is None else self.scenarios
        replications = REPLICATIONS if self.replications is None else self.replications
        evaluation = (EVALUATION_SCENARIOS if self.evaluation_scenarios is None
                      else self.evaluation_scenarios)
        sc.check_count(scenarios, "--scenarios")
        sc.check_count(evaluation, "--evaluation-scenarios", least=2)
        if not 2 <= replications <= MAX_REPLICATIONS:
            raise InputError(Problem("--replications", f"must lie between 2 (a confidence "
                                     f"interval needs two) and {MAX_REPLICATIONS}, got "
                                     f"{replications}"))
        return replace(self, scenarios=scenarios, replications=replications,
                       evaluation_scenarios=evaluation)


_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


def parse_places(spec: str, instance: Instance, market: Market, discount: float | None
                 ) -> GuaranteeRange:
    """``--places P=LO..HI`` or ``P:TYPE=LO..HI``: P's guarantee at LO..HI whole places."""
    left, sep, span = spec.rpartition("=")
    match = _RANGE.match(span)
    if not sep or not left.strip() or not match:
        raise InputError(Problem("--places", "expected PROVIDER=LO..HI or PROVIDER:TYPE=LO..HI "
                                 f"(whole places, e.g. TV-BLOCK=0..30), got {spec!r}"))
    low, high = int(match.group(1)), int(match.group(2))
    if low > high:
        raise InputError(Problem("--places", f"{spec!r}: the range must run upwards "
                                 f"(LO <= HI), got {low}..{high}"))
    if high - low + 1 > MAX_RANGE_OPTIONS:
        raise InputError(Problem("--places", f"{spec!r}: at most {MAX_RANGE_OPTIONS} levels"))
    if high > MAX_PLACES:
        raise InputError(Problem("--places", f"{spec!r}: at most {MAX_PLACES:g} places"))
    provider, placement_type = _provider_and_type(left.strip(), instance, spec)
    offered, minimum = _offered_guarantee(instance, provider, placement_type)
    if discount is None and offered is None:
        raise InputError(Problem("--places", f"{spec!r}: provider {provider} offers no "
                                 "guarantee tier; give its discount with --discount PCT"))
    limit = instance.providers[provider].max_places
    if limit is not None and limit < high:
        raise InputError(Problem("--places", f"{spec!r}: provider {provider} has max_places "
                                 f"{limit:g}, below the range's top of {high}"))
    seen = market.offers[(market.offers["provider"] == provider)
                         & (market.offers["placement_type"] == placement_type)]["capacity"]
    if market.providers.set_index("provider").at[provider, "scale"] == 0 or not (
            market.providers.set_index("provider").at[provider, "usable"]):
        raise InputError(Problem("--places", f"{spec!r}: provider {provider} cannot serve "
                                 "these members (its rating is below min_rating, or it is "
                                 "another authority's in-house provision)"))
    listed = sum(o.capacity for o in instance.offers
                 if (o.provider, o.placement_type) == (provider, placement_type))
    return GuaranteeRange(provider, placement_type, low, high,
                          float(discount if discount is not None else offered),
                          float(seen.iloc[0]) if len(seen) else 0.0,
                          block=minimum is not None and listed <= minimum)


def _provider_and_type(text: str, instance: Instance, spec: str) -> tuple[str, str]:
    if text in instance.providers:
        provider, placement_type = text, None
    else:
        provider, _, placement_type = text.rpartition(":")
        if provider not in instance.providers:
            raise InputError(Problem("--places", f"{spec!r}: unknown provider {text!r}"))
    types = [o.placement_type for o in instance.offers if o.provider == provider]
    if placement_type is None:
        if len(types) != 1:
            raise InputError(Problem("--places", f"{spec!r}: provider {provider} offers "
                                     f"{len(types)} placement types ({', '.join(types)}); "
                                     "name one as PROVIDER:TYPE=LO..HI"))
        return provider, types[0]
    if placement_type not in types:
        raise InputError(Problem("--places", f"{spec!r}: provider {provider} has no offer of "
                                 f"{placement_type!r} (it offers {', '.join(types) or 'none'})"))
    return provider, placement_type


def _offered_guarantee(instance: Instance, provider: str, placement_type: str
                       ) -> tuple[float | None, float | None]:
    """Discount and min_places of P's guarantee tier covering the type (the largest, if
    several), or (None, None)."""
    tiers = [t for t in instance.tiers if t.provider == provider and t.guarantee
             and t.placement_type in (None, placement_type)]
    if not tiers:
        return None, None
    largest = max(tiers, key=lambda t: t.min_places)
    return largest.discount_pct, largest.min_places


def _range_instance(instance: Instance, spec: GuaranteeRange) -> Instance:
    """P's offer in scope can take HI places, so its arcs exist even at a listed capacity of 0
    (the model brings the capacity back to max(seen, N): ``models.guarantee``)."""
    offers = tuple(o.model_copy(update={"capacity": max(o.capacity, float(spec.high))})
                   if (o.provider, o.placement_type) == (spec.provider, spec.placement_type)
                   else o for o in instance.offers)
    return replace(instance, offers=offers)


# --------------------------------------------------------------------------- options

@dataclass(frozen=True)
class Option:
    """One first stage to evaluate, and how to describe it."""

    name: str
    kind: str
    first: FirstStage
    commitments: tuple[int, ...]  # indices into the stage's commitments

    def describe(self, stage: SecondStage) -> dict:
        rows = stage.commitments.iloc[list(self.commitments)]
        single = len(rows) == 1
        row = rows.iloc[0] if single else None
        text = "; ".join(f"{r.provider}{'' if r.scope is None else ':' + r.scope} "
                         f"{r.places:g} place{'' if r.places == 1 else 's'} at {r.discount:g}%"
                         for r in rows.itertuples())
        contracts = [p for p, o in zip(stage.model.contract["provider"], self.first.contract)
                     if o]
        return {"option": self.name, "kind": self.kind,
                "provider": row["provider"] if single else None,
                "placement_type": row["scope"] if single else None,
                "guaranteed_places": float(rows["places"].sum()),
                "discount_pct": float(row["discount"]) if single else None,
                "commitments": text, "contracts": len(contracts)}


def commitment_name(stage: SecondStage, c: int) -> str:
    """"P N" (N guaranteed places), or "P:TYPE N" when P's offers have several types."""
    row = stage.commitments.iloc[c]
    offers = stage.model.market.offers
    types = offers.loc[offers["provider"] == row["provider"], "placement_type"].nunique()
    scope = "" if row["scope"] is None or types == 1 else f":{row['scope']}"
    return f"{row['provider']}{scope} {row['places']:g}"


def sweep_options(stage: SecondStage, providers: Sequence[str]) -> list[Option]:
    """No guarantee, then each commitment alone (the --places levels, or the offered
    guarantees of ``providers``, all when none given)."""
    n = len(stage.commitments)
    options = [Option("none", KIND_NONE, FirstStage((0,) * n, ()), ())]
    for c, row in stage.commitments.iterrows():
        if providers and row["provider"] not in providers:
            continue
        commit = tuple(int(j == c) for j in range(n))
        kind = KIND_RANGE if row["origin"] == "range" else KIND_OFFERED
        options.append(Option(commitment_name(stage, c), kind, FirstStage(commit, ()), (c,)))
    return options


def check_providers(instance: Instance, stage: SecondStage, providers: Sequence[str]
                    ) -> list[str]:
    unknown = [p for p in providers if p not in instance.providers]
    if unknown:
        raise InputError(Problem("--provider", f"unknown providers: {', '.join(unknown)}"))
    offering = set(stage.commitments["provider"])
    without = [p for p in providers if p not in offering]
    if without:
        raise InputError(Problem("--provider", f"no guarantee tier these members can use: "
                                 f"{', '.join(without)}"))
    return list(dict.fromkeys(providers))


# --------------------------------------------------------------------------- tasks (workers)

@dataclass(frozen=True)
class Context:
    """What every task needs, sent once per worker: the template, the scenario sets by name,
    the solver and its options."""

    stage: SecondStage
    sets: dict[str, sc.ScenarioSet]
    solver: str
    options: SolverOptions


@dataclass(frozen=True)
class Chunk:
    """Scenario figures of scenarios start..stop of a set under one first stage."""

    figures: ScenarioFigures
    statuses: tuple[str, ...]
    seconds: float

    @property
    def failed_any(self) -> bool:
        return any(s not in ("optimal", "feasible") for s in self.statuses)


def _solve(context: Context, form: ExtensiveForm):
    return get_solver(context.solver).solve(form.program, context.options)


def _empty(count: int) -> ScenarioFigures:
    nan = np.full(count, np.nan)
    return ScenarioFigures(*(nan,) * len(ScenarioFigures.FIELDS))


def evaluate_chunk(context: Context, set_name: str, first: FirstStage | None, start: int,
                   stop: int) -> Chunk:
    """Each scenario start..stop of set ``set_name`` solved on its own: the second stage under
    ``first``, or with its own first stage when ``first`` is None (wait-and-see)."""
    started = time.perf_counter()
    scenarios = context.sets[set_name]
    parts, statuses = [], []
    for k in range(start, stop):
        result, form = fresh_solve(context.stage, context.solver, context.options, first,
                                   scenarios.demand[k])
        statuses.append(result.status)
        parts.append(scenario_figures(form, result.values) if result.has_plan else _empty(1))
    return Chunk(ScenarioFigures.concat(parts), tuple(statuses), time.perf_counter() - started)


def evaluate_batch(context: Context, set_name: str, firsts: tuple[FirstStage, ...],
                   start: int, stop: int) -> list[Chunk]:
    """Scenarios start..stop of set ``set_name`` under each first stage, on this process's
    kept model (``optimiser.recourse``): from a cleared basis, scenario by scenario and within
    a scenario first stage by first stage, so each solve starts from a neighbour's optimum
    (options of a --places range differ in one block's size) and the results do not depend
    on which worker ran the batch."""
    started = time.perf_counter()
    kept = kept_recourse(context.stage, context.options)
    kept.restart()
    demand = context.sets[set_name].demand
    parts = [[] for _ in firsts]
    statuses = [[] for _ in firsts]
    for k in range(start, stop):
        for j, first in enumerate(firsts):
            result, row = kept.solve(first, demand[k])
            statuses[j].append(result.status)
            parts[j].append(kept.figures(result.values, row) if result.has_plan
                            else _empty(1))
    seconds = (time.perf_counter() - started) / max(len(firsts), 1)
    return [Chunk(ScenarioFigures.concat(p), tuple(s), seconds)
            for p, s in zip(parts, statuses)]


@dataclass(frozen=True)
class Replication:
    """One SAA replication: its extensive form's outcome."""

    status: str
    objective: float | None
    bound: float | None
    first: FirstStage | None
    seconds: float
    size: dict


def solve_replication(context: Context, set_name: str, risk: Risk) -> Replication:
    """The extensive form over a replication's scenarios (weights 1/N)."""
    scenarios = context.sets[set_name]
    form = build_extensive_form(context.stage, scenarios.demand, scenarios.weights, risk)
    size = form.program.size()
    result = _solve(context, form)
    if not result.has_plan:
        return Replication(result.status, None, None, None, result.seconds, size)
    bound = result.bound if result.bound is not None else result.objective
    return Replication(result.status, result.objective, min(bound, result.objective),
                       first_stage_of(form, result.values), result.seconds, size)


def plan_on_expected(context: Context, commit: tuple[int, ...] | None) -> Replication:
    """The plan on expected demand (one scenario): free, or with the commitments fixed and the
    contracts free."""
    scenarios = context.sets[EXPECTED]
    fixed = None if commit is None else FirstStage(commit, None)
    form = build_extensive_form(context.stage, scenarios.demand, scenarios.weights, fixed=fixed)
    result = _solve(context, form)
    if not result.has_plan:
        return Replication(result.status, None, None, None, result.seconds, {})
    return Replication(result.status, result.objective, result.bound,
                       first_stage_of(form, result.values), result.seconds, {})


EXPECTED = "expected"
EVALUATION = "evaluation"
PREVIOUS = "previous year"


REPLICATION = "replication "


def replication_name(m: int) -> str:
    return f"{REPLICATION}{m + 1}"


# --------------------------------------------------------------------------- the analysis

@dataclass(frozen=True)
class Evaluated:
    """An option evaluated on a scenario set."""

    option: Option
    figures: ScenarioFigures
    statuses: tuple[str, ...]

    @property
    def failed(self) -> int:
        return sum(s not in ("optimal", "feasible") for s in self.statuses)


@dataclass
class GuaranteeOutcome:
    instance: Instance
    mode: str
    members: tuple[str, ...]
    settings: Settings
    stage: SecondStage
    demand: sc.DemandModel
    evaluation: sc.ScenarioSet
    evaluated: list[Evaluated]
    recommended: str | None
    seconds: float
    executor: str
    workers: int
    replications: list[Replication] = field(default_factory=list)
    candidates: dict[int, str] = field(default_factory=dict)  # replication -> option name
    mrp: list[ScenarioFigures] = field(default_factory=list)  # chosen on each replication
    replication_sets: list[sc.ScenarioSet] = field(default_factory=list)
    wait_and_see: ScenarioFigures | None = None
    timings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extensive_size: dict | None = None
    #: every first stage on the evaluation sample, where the default mode enumerated them
    every: dict[FirstStage, ScenarioFigures] | None = None
    #: the soft block's reviewing plan on each evaluation scenario's paired previous year, and
    #: that year's correlation to it (``optimiser.guarantee.contract_forms``; None: no
    #: previous years)
    previous_year: ScenarioFigures | None = None
    year_correlation: float | None = None

    def option(self, name: str) -> Evaluated:
        return next(e for e in self.evaluated if e.option.name == name)


class Progress:
    """What the analysis tells a progress bar: ``describe(text)``, ``plan(n)``,
    ``solved(n)`` (duck-typed: :class:`ProgressBar` or nothing)."""

    def describe(self, text: str) -> None: ...

    def plan(self, solves: int) -> None: ...

    def solved(self, count: int = 1) -> None: ...


def guarantee(instance: Instance, members: list[str] | None = None,
              consortium: str | None = None, settings: Settings = Settings(), *,
              workers: int | None = None, executor: str = "local", address: str | None = None,
              bar: Progress | None = None,
              scenario_sets: dict[str, sc.ScenarioSet | list[sc.ScenarioSet]] | None = None
              ) -> GuaranteeOutcome:
    """Run the analysis (package docstring). Every option is checked before anything is solved.

    ``scenario_sets`` replaces the drawn scenarios (tests: an enumerated distribution):
    ``{"evaluation": ScenarioSet, "replications": [ScenarioSet, ...], "previous year":
    ScenarioSet}`` (the previous year of each evaluation scenario, for the soft block; without
    it a given evaluation set's scenarios in order are consecutive years).
    """
    started = time.perf_counter()
    bar = bar or Progress()
    settings = settings.checked()
    chosen = choose_members(instance, members, consortium)
    market = build_market(instance, chosen)
    if market.needs.empty:
        raise InputError(Problem("guarantee", "the members have no demand to plan"))
    range_spec = None
    if settings.places is not None:
        range_spec = parse_places(settings.places, instance, market, settings.discount)
        market = build_market(_range_instance(instance, range_spec), chosen)
    demand = sc.demand_model(market)
    rho = sc.year_to_year_correlation(mean_stay_years(instance))
    sets = _scenario_sets(demand, settings, scenario_sets, rho)
    stage = build_second_stage(market, sc.envelope(*sets.values()), range_spec)
    if settings.sweep:
        providers = check_providers(instance, stage, settings.providers)
    drawn = time.perf_counter() - started
    policy = instance.policy
    context = Context(stage, sets, policy.solver,
                      SolverOptions(time_limit_s=policy.time_limit_s, mip_gap=policy.mip_gap))
    outcome_args = {"instance": instance, "members": tuple(chosen), "settings": settings,
                    "stage": stage, "demand": demand, "evaluation": sets[EVALUATION]}
    with TaskPool(workers, executor, address, shared=context) as pool:
        if settings.sweep:
            outcome = _sweep(pool, context, sweep_options(stage, providers), bar,
                             **outcome_args)
        else:
            outcome = _optimise(pool, context, bar, **outcome_args)
        if PREVIOUS in sets:
            _previous_year(pool, context, outcome, bar)
            # a caller's own previous years carry their own correlation, unknown here
            outcome.year_correlation = None if EVALUATION in (scenario_sets or {}) else rho
        outcome.executor, outcome.workers = pool.description, pool.workers
    outcome.timings["scenario_seconds"] = drawn
    outcome.seconds = time.perf_counter() - started
    if stage.commitments.empty:
        outcome.warnings.append("no guarantee tier is offered to these members: the options "
                                "differ in contracts only")
    return outcome


def _scenario_sets(demand: sc.DemandModel, settings: Settings, given: dict | None,
                   rho: float) -> dict[str, sc.ScenarioSet]:
    sets = {EXPECTED: sc.expected_set(demand)}
    given = given or {}
    if EVALUATION in given:
        sets[EVALUATION] = given[EVALUATION]
        if PREVIOUS in given:
            sets[PREVIOUS] = given[PREVIOUS]
    else:
        count = settings.scenarios if settings.sweep else settings.evaluation_scenarios
        sets[EVALUATION] = sc.draw(demand, count, settings.seed, sc.EVALUATION_STREAM,
                                   EVALUATION)
        sets[PREVIOUS] = sc.previous_years(demand, count, settings.seed, rho, PREVIOUS)
    if not settings.sweep:
        replications = given.get("replications") or [
            sc.draw(demand, settings.scenarios, settings.seed, 1 + m, replication_name(m))
            for m in range(settings.replications)]
        for m, scenarios in enumerate(replications):
            sets[replication_name(m)] = scenarios
    return sets


def _previous_year(pool: TaskPool, context: Context, outcome: GuaranteeOutcome,
                   bar: Progress) -> None:
    """The soft block's reviewing plan solved once on each scenario's previous year (batched
    like the evaluation): the use its review reads (``optimiser.guarantee.contract_forms``)."""
    reference = reference_block(outcome)
    if reference is None:
        return
    started = time.perf_counter()
    bar.describe("previous years")
    chunk = _evaluate(pool, context, PREVIOUS, [review_of(outcome, reference).reads], bar)[0]
    outcome.previous_year = chunk.figures
    outcome.timings["previous_year_seconds"] = time.perf_counter() - started


def _chunks(count: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]


def _evaluate(pool: TaskPool, context: Context, set_name: str,
              firsts: list[FirstStage | None], bar: Progress) -> list[Chunk]:
    """Each first stage on every scenario of a set, results per first stage in order: in
    batches of scenarios on a kept model where the second stage allows
    (``optimiser.recourse``), else one task per chunk of fresh solves."""
    count = context.sets[set_name].size
    spans = _chunks(count)
    if None not in firsts and keeps(context.stage, context.solver):
        return _evaluate_kept(pool, context, [set_name], firsts, bar)[set_name]
    tasks = [(set_name, first, start, stop) for first in firsts for start, stop in spans]
    bar.plan(count * len(firsts))
    results = pool.map(evaluate_chunk, tasks,
                       lambda i: bar.solved(tasks[i][3] - tasks[i][2]))
    merged = []
    for j in range(len(firsts)):
        part = results[j * len(spans): (j + 1) * len(spans)]
        merged.append(Chunk(ScenarioFigures.concat([c.figures for c in part]),
                            tuple(s for c in part for s in c.statuses),
                            sum(c.seconds for c in part)))
    return merged


def _evaluate_kept(pool: TaskPool, context: Context, set_names: list[str],
                   firsts: list[FirstStage], bar: Progress) -> dict[str, list[Chunk]]:
    """Each first stage on every scenario of each set, in batches on kept models, all sets'
    batches in one round of tasks (so no worker waits between sets)."""
    tasks = [(name, tuple(firsts), start, stop) for name in set_names
             for start, stop in _chunks(context.sets[name].size)]
    bar.plan(sum(context.sets[name].size for name in set_names) * len(firsts))
    batches = pool.map(evaluate_batch, tasks,
                       lambda i: bar.solved((tasks[i][3] - tasks[i][2]) * len(firsts)))
    merged = {}
    for name in set_names:
        mine = [b for t, b in zip(tasks, batches) if t[0] == name]
        merged[name] = [Chunk(ScenarioFigures.concat([b[j].figures for b in mine]),
                              tuple(s for b in mine for s in b[j].statuses),
                              sum(b[j].seconds for b in mine)) for j in range(len(firsts))]
    return merged


def _replications_by_enumeration(pool: TaskPool, context: Context, names: list[str],
                                 firsts: list[FirstStage], risk: Risk, bar: Progress
                                 ) -> list[Replication]:
    """Each replication's SAA problem solved exactly by evaluating every first stage on its
    scenarios (kept models) and taking the least sample objective, (1 - w) mean + w CVaR
    (ties: the first, the smallest commitment): the extensive form's optimum, without its
    MIP."""
    started = time.perf_counter()
    evaluated = _evaluate_kept(pool, context, names, firsts, bar)
    replications = []
    for name in names:
        weights = context.sets[name].weights
        objectives = [np.inf if c.failed_any else
                      float(np.dot(weights, risk_terms(c.figures.cost, weights, risk)))
                      for c in evaluated[name]]
        best = int(np.argmin(objectives))
        if not np.isfinite(objectives[best]):
            replications.append(Replication("error", None, None, None, 0.0, None))
            continue
        replications.append(Replication("optimal", objectives[best], objectives[best],
                                        firsts[best], time.perf_counter() - started, None))
    return replications


def _with_contracts(pool: TaskPool, context: Context, options: list[Option],
                    bar: Progress) -> list[Option]:
    """Options whose contracts are those of their plan on expected demand (where contracts are
    modelled at all)."""
    if len(context.stage.first) == 0:
        return options
    bar.describe("contracts")
    bar.plan(len(options))
    plans = pool.map(plan_on_expected, [(o.first.commit,) for o in options],
                     lambda _i: bar.solved())
    result = []
    for option, plan in zip(options, plans):
        if plan.first is None:
            raise SolveError(f"{option.name}: no plan on expected demand ({plan.status})")
        result.append(replace(option, first=plan.first))
    return result


def _sweep(pool: TaskPool, context: Context, options: list[Option], bar: Progress,
           **fields) -> GuaranteeOutcome:
    options = _with_contracts(pool, context, options, bar)
    started = time.perf_counter()
    bar.describe(f"{len(options)} options")
    chunks = _evaluate(pool, context, EVALUATION, [o.first for o in options], bar)
    evaluated = [Evaluated(o, c.figures, c.statuses) for o, c in zip(options, chunks)]
    outcome = GuaranteeOutcome(mode=MODE_SWEEP, evaluated=evaluated, recommended=None,
                               seconds=0.0, executor="", workers=0, **fields)
    outcome.recommended = _least_objective(outcome, [e.option.name for e in evaluated])
    outcome.timings["evaluation_seconds"] = time.perf_counter() - started
    _warn_failures(outcome)
    return outcome


def _least_objective(outcome: GuaranteeOutcome, names: list[str]) -> str | None:
    """The option with the least objective on the evaluation sample (first of equals)."""
    best, best_value = None, math.inf
    for name in names:
        evaluated = outcome.option(name)
        if evaluated.failed:
            continue
        value = objective_of(outcome, evaluated)
        if best is None or value < best_value - 1e-9 * max(1.0, abs(best_value)):
            best, best_value = name, value
    return best


def _optimise(pool: TaskPool, context: Context, bar: Progress, **fields) -> GuaranteeOutcome:
    settings: Settings = fields["settings"]
    stage = context.stage
    risk = settings.risk
    timings = {}
    n = len(stage.commitments)

    started = time.perf_counter()
    bar.describe("expected-demand plan")
    bar.plan(1)
    expected = pool.map(plan_on_expected, [(None,)], lambda _i: bar.solved())[0]
    if expected.first is None:
        raise SolveError(f"no plan on expected demand ({expected.status}); check provider "
                         "min_places and guarantees")
    none = _with_contracts(pool, context, [Option("none", KIND_NONE,
                                                  FirstStage((0,) * n, ()), ())], bar)[0]
    timings["expected_value_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    names = [name for name in context.sets if name.startswith(REPLICATION)]
    bar.describe(f"{len(names)} SAA replications")
    enumerable = every_first_stage(stage)
    if enumerable is not None and keeps(stage, context.solver):
        replications = _replications_by_enumeration(pool, context, names, enumerable, risk,
                                                    bar)
    else:
        bar.plan(len(names))
        replications = pool.map(solve_replication, [(name, risk) for name in names],
                                lambda _i: bar.solved())
    failed = [name for name, r in zip(names, replications) if r.first is None]
    if failed:
        raise SolveError(f"no plan for {', '.join(failed)} "
                         f"({replications[names.index(failed[0])].status}); raise the time "
                         "limit with --time-limit")
    timings["replication_seconds"] = time.perf_counter() - started

    options = [none, Option("expected-value plan", KIND_EXPECTED, expected.first,
                            _committed(expected.first))]
    candidates: dict[int, str] = {}
    seen: dict[FirstStage, str] = {}
    for m, r in enumerate(replications):
        if r.first not in seen:
            seen[r.first] = f"candidate {len(seen) + 1}"
            options.append(Option(seen[r.first], KIND_CANDIDATE, r.first, _committed(r.first)))
        candidates[m] = seen[r.first]

    started = time.perf_counter()
    firsts = list(dict.fromkeys(o.first for o in options))
    every = None
    if enumerable is not None and keeps(stage, context.solver) and set(firsts) <= set(
            enumerable):
        # wait-and-see needs every first stage on the evaluation sample: the plans are some
        bar.describe(f"evaluating all {len(enumerable)} plans")
        every = dict(zip(enumerable, _evaluate(pool, context, EVALUATION, enumerable, bar)))
        chunks = every
    else:
        bar.describe(f"evaluating {len(firsts)} plans")
        chunks = dict(zip(firsts, _evaluate(pool, context, EVALUATION, firsts, bar)))
    evaluated = [Evaluated(o, chunks[o.first].figures, chunks[o.first].statuses)
                 for o in options]
    timings["evaluation_seconds"] = time.perf_counter() - started

    outcome = GuaranteeOutcome(mode=MODE_OPTIMISE, evaluated=evaluated, recommended=None,
                               seconds=0.0, executor="", workers=0, timings=timings,
                               replications=replications, candidates=candidates,
                               replication_sets=[context.sets[n] for n in names],
                               extensive_size=replications[0].size, **fields)
    if every is not None:
        outcome.every = {first: c.figures for first, c in every.items() if not c.failed_any}
    outcome.recommended = _least_objective(outcome, list(dict.fromkeys(candidates.values())))
    if outcome.recommended is None:
        raise SolveError("no candidate could be evaluated on every scenario (see "
                         "failed_scenarios)")
    chosen = outcome.option(outcome.recommended).option.first

    started = time.perf_counter()
    bar.describe("optimality gap")
    outcome.mrp = [c.figures for c in
                   (_evaluate(pool, context, name, [chosen], bar)[0] for name in names)]
    timings["gap_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    bar.describe("wait-and-see")
    outcome.wait_and_see = _wait_and_see(pool, context, bar, every)
    timings["wait_and_see_seconds"] = time.perf_counter() - started
    _warn_failures(outcome)
    return outcome


#: most first stages the wait-and-see value is found by enumerating (else one MIP a scenario)
MAX_ENUMERATED = 64


def every_first_stage(stage: SecondStage) -> list[FirstStage] | None:
    """Every first stage (at most one commitment per tier group), where there are no
    contracts and at most MAX_ENUMERATED of them; else None."""
    if len(stage.first) or stage.commitments.empty:
        return None
    groups = [list(rows) for _, rows in stage.commitments.groupby("group", sort=False).groups
              .items()]
    if math.prod(len(g) + 1 for g in groups) > MAX_ENUMERATED:
        return None
    n = len(stage.commitments)
    firsts = []
    for choice in itertools.product(*[[None, *g] for g in groups]):
        chosen = {c for c in choice if c is not None}
        firsts.append(FirstStage(tuple(int(c in chosen) for c in range(n)), ()))
    return firsts


def _wait_and_see(pool: TaskPool, context: Context, bar: Progress,
                  every: dict[FirstStage, Chunk] | None = None) -> ScenarioFigures:
    """Each evaluation scenario under its own best first stage. Where the first stages are
    few and the second stage is kept (``optimiser.recourse``), every one is evaluated (or
    taken from ``every``) and each scenario takes its least cost (exact, and no MIP per
    scenario); else each scenario is solved with a free first stage."""
    if every is not None:
        chunks = list(every.values())
    else:
        firsts = every_first_stage(context.stage)
        if firsts is None or not keeps(context.stage, context.solver):
            return _evaluate(pool, context, EVALUATION, [None], bar)[0].figures
        chunks = _evaluate(pool, context, EVALUATION, firsts, bar)
    costs = np.vstack([np.where(np.isnan(c.figures.cost), np.inf, c.figures.cost)
                       for c in chunks])
    best = np.argmin(costs, axis=0)  # ties: the first, the smallest commitment
    rows = np.arange(costs.shape[1])
    return ScenarioFigures(*(np.vstack([getattr(c.figures, f) for c in chunks])[best, rows]
                             for f in ScenarioFigures.FIELDS))


def _committed(first: FirstStage) -> tuple[int, ...]:
    return tuple(c for c, y in enumerate(first.commit) if y)


def _warn_failures(outcome: GuaranteeOutcome) -> None:
    for e in outcome.evaluated:
        if e.failed:
            outcome.warnings.append(
                f"{e.option.name}: {e.failed} of {len(e.statuses)} scenarios have no plan "
                "(a contracted provider's min_places cannot be met?): its figures are blank")
        stopped = sum(s == "feasible" for s in e.statuses)
        if stopped:
            outcome.warnings.append(f"{e.option.name}: {stopped} scenario solves stopped at "
                                    "the time limit (not proven optimal)")



# --------------------------------------------------------------------------- SAA statistics

def saa_statistics(outcome: GuaranteeOutcome) -> dict | None:
    """Lower and upper bounds, the MRP gap, VSS and EVPI (the package docstring)."""
    if outcome.mode != MODE_OPTIMISE:
        return None
    risk = outcome.settings.risk
    weights = outcome.evaluation.weights
    sampled = outcome.evaluation.sampled
    bounds = np.array([r.bound for r in outcome.replications])
    uniform = np.full(len(bounds), 1.0 / len(bounds))
    lower = estimate(bounds, uniform, True, student=True)
    chosen = outcome.option(outcome.recommended)
    upper = estimate(risk_terms(chosen.figures.cost, weights, risk), weights, sampled)
    eta = value_at_risk(chosen.figures.cost, weights, risk.level)
    gaps = []
    for scenarios, figures, r in zip(outcome.replication_sets, outcome.mrp,
                                     outcome.replications):
        g = _terms_at(figures.cost, eta, risk)
        gaps.append(float(np.dot(scenarios.weights, g)) - r.bound)
    gap = estimate(np.array(gaps), uniform, True, student=True)
    one_sided = None
    if len(gaps) >= 2:
        t = stats.t.ppf(CONFIDENCE, len(gaps) - 1)
        one_sided = gap.estimate + float(t * np.std(gaps, ddof=1) / math.sqrt(len(gaps)))
    expected = next(e for e in outcome.evaluated if e.option.kind == KIND_EXPECTED)
    mine = risk_terms(chosen.figures.cost, weights, risk)
    vss = estimate(risk_terms(expected.figures.cost, weights, risk) - mine, weights, sampled)
    ws = outcome.wait_and_see
    evpi = (estimate(mine - risk_terms(ws.cost, weights, risk), weights, sampled)
            if ws is not None and np.all(np.isfinite(ws.cost)) else None)
    return {
        "replications": [
            {"replication": m + 1, "status": r.status, "objective": r.objective,
             "bound": r.bound, "candidate": outcome.candidates[m]}
            for m, r in enumerate(outcome.replications)],
        "lower_bound": lower.as_dict(),
        "upper_bound": upper.as_dict(),
        "gap": {"estimate": gap.estimate, "ci_high": one_sided,
                "replications": [float(g) for g in gaps]},
        "vss": vss.as_dict(),
        "evpi": None if evpi is None else evpi.as_dict(),
        "wait_and_see": None if evpi is None else float(np.dot(weights, risk_terms(
            ws.cost, weights, risk))),
    }


def _terms_at(values: np.ndarray, eta: float, risk: Risk) -> np.ndarray:
    """g^s at a given eta (the chosen plan's value at risk on the evaluation sample)."""
    if risk.weight == 0:
        return values
    tail = eta + np.clip(values - eta, 0.0, None) / (1.0 - risk.level)
    return (1.0 - risk.weight) * values + risk.weight * tail


