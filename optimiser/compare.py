"""`optimise compare`: memberships side by side, and who gains what inside each consortium.

**Memberships.** The named consortia of the instance (all of them, or those given with
``--consortium``), ad-hoc ones (``--members NAME=a,b,c``) and every one of their members alone.
Named consortia are all compared when neither ``--consortium`` nor ``--members`` is given; an
instance with no consortia table compares all its authorities together. Each membership is
planned exactly as ``optimise run`` plans it (:func:`optimiser.run.run`: the instance's voice and
individual rationality, standalone baselines of docs/model.md section 5), so an authority sees
its own cost, saving, saving %, unmet places and local share in every option.

**The cost game of a consortium N** (``optimiser.coalitions``): c(S) is the optimal objective of
coalition S planning alone in the market of docs/model.md section 5 (capacity scaled by its
share of the demand under ``shared``), voice ``volume``, no individual rationality;
c(empty) = 0. Every c(S) is solved once and cached under the coalition's canonical key,
whichever consortium or step asks, and valued by the coalition engine
(``optimiser.coalition_engine``): the consortium's model, built once per worker process and
re-solved with each coalition's bounds and coefficients.

* **marginal value** of member a: c(N \\ {a}) - c(N), as the issue defines it (the cost of the
  consortium without a, minus with it: negative, since a brings its own demand), and
  **marginal saving** c({a}) + c(N \\ {a}) - c(N): how much the consortium's saving falls if a
  leaves (the marginal value of the savings game below).
* **Shapley value.** Reported for the cost game (``shapley_cost``: phi_a, summing to c(N)) and
  for the savings game v(S) = sum_{a in S} c({a}) - c(S) (``shapley_saving`` = c({a}) - phi_a,
  summing to the consortium's saving as a coalition). The two are the same allocation: the
  savings game is the additive game minus the cost game, and the Shapley value is linear.
  Exact when |N| <= ``exact_max`` by enumerating all 2^|N| - 1 coalitions. Beyond that
  sampled (``optimiser.shapley``): blocks of the |N| cyclic rotations of one random order
  (stratified by coalition size: each member takes every position once per block), block k
  drawn from ``SeedSequence(seed, spawn_key=(k,))``, so the sample does not depend on the
  number of workers or on the order solves finish. ``samples`` orders are drawn as whole
  blocks (at least two); with ``precision`` blocks are drawn until every member's 95%
  half-width meets it, and none is begun after ``time_limit_total``. Unbiased; the standard
  error and the 95% half-width (Student's t) come from the blocks' means. Per block the
  estimates sum to c(N) exactly.
* **core check** (``optimiser.core``): the least-core epsilon and a least-core allocation by
  constraint generation (LP master over coalitions, a MILP separating the most violated one),
  and, for the plan's own allocation (what each member pays in the plan), the coalition S
  maximising sum_{a in S} pay_a - c(S): if that excess is positive, S's members would pay that
  much less on their own (the plan's allocation is blocked). When Shapley was exact every c(S)
  is cached, so both come from the cache (an LP over every coalition and a scan; no MILP).
* **voice risk** per member: the total variation distance between its need mix (shares of its
  demand by placement type) and the consortium's, 0.5 * sum_t |p_a,t - p_N,t| (0: the same mix,
  1: no type in common); its local target against the consortium's demand-weighted one; its rank
  by saving % (1 = largest). Flags: ``low_saving`` when its saving % is below
  ``LOW_SAVING_FRACTION`` (half) of the consortium's saving % (the consortium's total saving
  over its total standalone cost, when positive), ``less_local`` when its local share in the plan
  is below its local share alone by more than ``LOCAL_TOLERANCE``.

Solves run through :mod:`optimiser.executor` (a local pool of spawned processes or Dask), in
any order; every result is keyed by its task, so the files do not depend on the executor or the
number of workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimiser.coalitions import (
    Coalition,
    CoalitionValue,
    canonical,
    coalition_value,
    engine_value,
)
from optimiser.errors import InputError, Problem
from optimiser.executor import ProgressBar, TaskPool
from optimiser.members import resolve_authorities
from optimiser.outputs import MONEY_DP, PLACES_DP, RATIO_DP
from optimiser.records import Instance
from optimiser.run import solver_for
from optimiser.shapley import Precision, half_width_words, parse_precision, sample
from optimiser.stress import Figures, solve_scenario

COMPARE_CSV = "compare.csv"
MEMBERS_CSV = "members.csv"
SHAPLEY_CSV = "shapley.csv"
CORE_JSON = "core.json"

#: default limit of exact Shapley (2^12 - 1 = 4,095 coalitions), and the largest allowed
EXACT_MAX = 12
EXACT_LIMIT = 20
SAMPLES = 200
#: a member's saving % below this fraction of the consortium's saving % is flagged
LOW_SAVING_FRACTION = 0.5
#: a local share below the member's local share alone by more than this (a fraction) is flagged
LOCAL_TOLERANCE = 0.001
#: digits of the need-mix distance
DISTANCE_DP = 6

KIND_CONSORTIUM = "consortium"  # named in the instance's consortia table
KIND_AD_HOC = "ad-hoc"  # --members NAME=a,b,c
KIND_ALL = "all"  # every authority, when the instance names no consortium
KIND_ALONE = "alone"

#: one row per membership. members: ids joined by ";". annual_cost, standalone_cost, saving,
#: saving_pct, unmet, local_share as in `run`'s summary totals; status that of the plan
#: (optimal, feasible, infeasible, error; no figures without a plan).
COMPARE_COLUMNS = (
    "membership", "kind", "members", "size", "demand", "annual_cost", "standalone_cost",
    "saving", "saving_pct", "unmet", "local_share", "status",
)
#: one row per membership and member. local_share_alone: its local share planning alone;
#: saving_pct_rank: 1 = largest saving % in the membership; need_distance: total variation
#: distance of its need mix from the membership's; local_target and membership_local_target
#: (demand-weighted); flags: low_saving, less_local (";"-joined).
MEMBER_COLUMNS = (
    "membership", "kind", "authority", "name", "demand", "unmet", "local_share",
    "local_share_alone", "annual_cost", "standalone_cost", "saving", "saving_pct",
    "saving_pct_rank", "need_distance", "local_target", "membership_local_target", "flags",
)
#: one row per consortium (every membership of two or more) and member. coalition_cost_alone =
#: c({a}); shapley_cost = phi_a of the cost game; shapley_saving = c({a}) - phi_a (the Shapley
#: value of the savings game); std_error: of the sampled estimate (blank when exact);
#: marginal_value = c(N \ {a}) - c(N); marginal_saving = c({a}) + c(N \ {a}) - c(N);
#: least_core_cost: the least-core allocation; plan_cost: what a pays in the plan;
#: plan_saving = standalone_cost - plan_cost.
SHAPLEY_COLUMNS = (
    "consortium", "authority", "name", "coalition_cost_alone", "shapley_cost", "shapley_saving",
    "std_error", "method", "samples", "marginal_value", "marginal_saving", "least_core_cost",
    "plan_cost", "plan_saving", "half_width_95",
)


# --------------------------------------------------------------------------- memberships

@dataclass(frozen=True)
class Membership:
    name: str
    kind: str
    members: tuple[str, ...]


def parse_ad_hoc(spec: str, instance: Instance) -> Membership:
    """``NAME=a,b,c`` -> an ad-hoc membership; a, b, c are authority ids or names
    (``optimiser.members``)."""
    name, sep, listed = spec.partition("=")
    name = name.strip()
    pieces = [m.strip() for m in listed.split(",") if m.strip()]
    if not sep or not name or not pieces:
        raise InputError(Problem("--members", f"expected NAME=a,b,c, got {spec!r}"))
    members = resolve_authorities(instance, pieces, label=name)
    return Membership(name, KIND_AD_HOC, tuple(members))


def choose_memberships(instance: Instance, consortia: Sequence[str] = (),
                       ad_hoc: Sequence[str] = ()) -> list[Membership]:
    """The memberships compared (see the module docstring): consortia, then ad-hoc ones, then
    every member of those alone (in the instance's authority order)."""
    known = instance.consortium_names
    unknown = [c for c in consortia if c not in known]
    if unknown:
        raise InputError(Problem("--consortium", f"unknown consortium "
                                 f"{', '.join(map(repr, unknown))} (known: "
                                 f"{', '.join(known) or 'none'})"))
    named = list(dict.fromkeys(consortia)) if consortia or ad_hoc else known
    chosen = [Membership(c, KIND_CONSORTIUM, tuple(instance.consortium(c))) for c in named]
    chosen += [parse_ad_hoc(spec, instance) for spec in ad_hoc]
    if not chosen:
        chosen = [Membership("all authorities", KIND_ALL, tuple(instance.authorities))]
    names = [m.name for m in chosen]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(Problem("--members", f"membership name used twice: "
                                 f"{', '.join(repeated)}"))
    inside = {a for m in chosen for a in m.members}
    chosen += [Membership(f"{instance.authorities[a].name} alone", KIND_ALONE, (a,))
               for a in instance.authorities if a in inside]
    return chosen


# --------------------------------------------------------------------------- coalition values

def coalition_task(instance: Instance, consortium: Coalition, coalition: Coalition
                   ) -> CoalitionValue:
    """c(S) in a worker (top-level and picklable: the executor's task function), from the
    consortium's model built once per worker (``optimiser.coalition_engine``)."""
    if set(coalition) <= set(consortium):
        return engine_value(instance, consortium, coalition, solver_for(instance))
    return coalition_value(instance, coalition, solver_for(instance))


def membership_task(instance: Instance, members: tuple[str, ...]) -> Figures:
    """One membership planned as `optimise run` plans it (``optimiser.stress.solve_scenario``:
    its figures, or its status and reason when there is no plan)."""
    return solve_scenario(instance, list(members))


class CoalitionCache:
    """c(S) for every coalition asked for, each solved once (through the pool)."""

    def __init__(self, instance: Instance, pool: TaskPool, bar: ProgressBar | None = None):
        self.instance = instance
        self.pool = pool
        self.bar = bar
        self.values: dict[Coalition, CoalitionValue] = {(): CoalitionValue((), 0.0, "optimal",
                                                                           0.0)}
        self.requests = 0
        self.solves = 0
        #: the consortium whose model values the coalitions asked for (set by ``analyse``)
        self.within: Coalition = ()

    @property
    def hits(self) -> int:
        return self.requests - self.solves

    def ensure(self, coalitions) -> None:
        """Solve every coalition not yet known (the largest first: they take longest)."""
        keys = [canonical(self.instance, c) for c in coalitions]
        self.requests += len(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in self.values))
        missing.sort(key=len, reverse=True)
        if self.bar is not None:
            self.bar.hits(len(keys) - len(missing))
            self.bar.plan(len(missing))
        tick = (lambda _i: self.bar.solved()) if self.bar is not None else None
        results = self.pool.map(coalition_task, [(self.within, k) for k in missing], tick)
        self.solves += len(missing)
        self.values.update(zip(missing, results))

    def cost(self, coalition) -> float:
        """c(S) (solved now if not known): the ``coalition_cost`` of ``optimiser.core``."""
        self.ensure([coalition])
        return self.values[canonical(self.instance, coalition)].cost

    def costs(self, coalitions) -> list[float]:
        self.ensure(coalitions)
        return [self.values[canonical(self.instance, c)].cost for c in coalitions]

    def known(self, coalition: Coalition) -> float:
        """c(S) already solved (S canonical), without counting a look-up."""
        return self.values[coalition].cost

    @property
    def not_optimal(self) -> list[Coalition]:
        return [k for k, v in self.values.items() if v.status != "optimal"]


# --------------------------------------------------------------------------- Shapley

def all_coalitions(members: Coalition) -> list[Coalition]:
    """Every non-empty subset of ``members``, indexed by bit mask - 1 (bit i: members[i])."""
    return [tuple(a for i, a in enumerate(members) if mask >> i & 1)
            for mask in range(1, 1 << len(members))]


def exact_shapley(members: Coalition, costs: Sequence[float]) -> np.ndarray:
    """phi of the cost game from c of every non-empty coalition in :func:`all_coalitions`
    order: phi_a = sum_{S not holding a} |S|! (n - |S| - 1)! / n! (c(S + a) - c(S))."""
    n = len(members)
    value = np.concatenate([[0.0], np.asarray(costs, dtype=float)])
    masks = np.arange(1 << n)
    size = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        size += masks >> i & 1
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                       for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        without = masks[(masks >> i & 1) == 0]
        phi[i] = float(np.sum(weight[size[without]] * (value[without | 1 << i]
                                                       - value[without])))
    return phi


def permutations(n: int, samples: int, seed: int) -> list[np.ndarray]:
    """``samples`` random orders of n members; order k from ``SeedSequence(seed, (k,))``."""
    return [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,))).permutation(n)
            for k in range(samples)]


def prefixes(members: Coalition, order: np.ndarray) -> list[Coalition]:
    """The coalitions an order builds up: {first}, {first, second}, ..., all (each in
    ``members``' order, which is the instance's: the cache key)."""
    return [tuple(members[j] for j in sorted(order[:k + 1])) for k in range(len(order))]


def sampled_shapley(members: Coalition, orders: list[np.ndarray], cost
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean marginal cost of each member over ``orders`` and its standard error (None with
    fewer than two orders). ``cost(S)`` gives c(S) (S as an instance-ordered tuple)."""
    n = len(members)
    contributions = np.zeros((len(orders), n))
    for k, order in enumerate(orders):
        before = 0.0
        for prefix, j in zip(prefixes(members, order), order):
            now = cost(prefix)
            contributions[k, j] = now - before
            before = now
    mean = contributions.mean(axis=0)
    if len(orders) < 2:
        return mean, None
    return mean, contributions.std(axis=0, ddof=1) / math.sqrt(len(orders))


# --------------------------------------------------------------------------- one consortium

@dataclass(frozen=True)
class Game:
    """What ``compare`` found for one consortium (a membership of two or more)."""

    membership: Membership
    members: Coalition  # instance order
    grand: float  # c(N)
    alone: dict[str, float]  # c({a})
    shapley: dict[str, float]  # phi_a, cost game
    std_error: dict[str, float] | None
    method: str  # exact or sampled
    samples: int | None
    marginal: dict[str, float]  # c(N \ {a}) - c(N)
    core: object | None  # optimiser.core.CoreResult
    blocking: Coalition | None  # of the plan's allocation
    blocking_excess: float | None  # sum of plan costs of S - c(S)
    separation: object | None  # optimiser.core.Violation: the separation MILP's own answer
    tolerance: float
    shapley_seconds: float
    core_seconds: float
    coalitions: int  # distinct coalitions valued for this consortium
    note: str = ""
    half_width: dict[str, float] | None = None  # 95% half-width of a sampled estimate
    estimator: str | None = None  # optimiser.shapley's, when sampled
    stopped: str | None = None  # why sampling stopped: samples, precision or time limit


def analyse(membership: Membership, figures: Figures, cache: CoalitionCache, exact_max: int,
            samples: int, seed: int, bar: ProgressBar | None = None,
            precision: Precision | None = None, deadline: float | None = None) -> Game:
    """Marginal values, Shapley, the least core and the plan's blocking coalition."""
    from optimiser import core as core_module

    instance = cache.instance
    members = canonical(instance, membership.members)
    n = len(members)
    cache.within = members
    solved_before = cache.solves
    started = time.perf_counter()
    say = bar.describe if bar is not None else (lambda _text: None)
    singles = [(a,) for a in members]
    others = [tuple(b for b in members if b != a) for a in members]
    if n <= exact_max:
        say(f"{membership.name}: exact Shapley, {2 ** n - 1:,} coalitions")
        coalitions = all_coalitions(members)
        phi = exact_shapley(members, cache.costs(coalitions))
        std_error, method, drawn, sampled = None, "exact", None, None
    else:
        say(f"{membership.name}: sampled Shapley"
            + (f", to {precision.describe()}" if precision else f", {samples:,} orders"))
        cache.ensure([members, *singles, *others])
        sampled = sample(members, cache.ensure, cache.known, orders=samples, seed=seed,
                         precision=precision, deadline=deadline)
        phi, std_error = sampled.estimate.phi, sampled.estimate.std_error
        method, drawn = "sampled", sampled.estimate.orders
    grand, *rest = cache.costs([members, *singles, *others])
    alone = dict(zip(members, rest[:n]))
    marginal = {a: c - grand for a, c in zip(members, rest[n:])}
    shapley_seconds = time.perf_counter() - started

    started = time.perf_counter()
    tolerance = core_module.RELATIVE_TOLERANCE * max(abs(grand), 1.0)
    core = blocking = excess = separation = None
    note = ""
    if n >= 2:
        say(f"{membership.name}: least core")
        solve = solver_for(instance)
        # with every c(S) known (exact Shapley) the core check is an LP over the cache, with
        # no separation MILP
        enumerated = method == "exact" and n <= core_module.ENUMERATION_LIMIT
        core = (core_module.least_core_by_enumeration(instance, members, cache.cost)
                if enumerated else core_module.least_core(instance, members, cache.cost, solve))
        if figures.has_plan:
            say(f"{membership.name}: blocking coalitions of the plan")
            pays = {a: figures.members[a].cost for a in members}
            separation = (core_module.most_violated_by_enumeration(members, pays, cache.cost)
                          if enumerated else
                          core_module.most_violated(instance, members, pays, solve))
            blocking = separation.coalition
            excess = sum(pays[a] for a in blocking) - cache.cost(blocking)
        else:
            note = f"no plan ({figures.status}): the plan's allocation is not checked"
    return Game(membership, members, grand, alone,
                dict(zip(members, map(float, phi))),
                None if std_error is None else dict(zip(members, map(float, std_error))),
                method, drawn, marginal, core, blocking, excess, separation, tolerance,
                shapley_seconds, time.perf_counter() - started,
                cache.solves - solved_before, note,
                None if sampled is None or sampled.estimate.half_width is None else
                dict(zip(members, map(float, sampled.estimate.half_width))),
                None if sampled is None else sampled.estimator,
                None if sampled is None else sampled.stopped)


# --------------------------------------------------------------------------- the comparison

@dataclass(frozen=True)
class CompareOutcome:
    instance: Instance
    memberships: tuple[Membership, ...]
    figures: tuple[Figures, ...]
    games: tuple[Game, ...]
    seconds: float
    solves: int
    cache_hits: int
    executor: str
    workers: int
    options: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    inexact: tuple[CoalitionValue, ...] = ()  # coalition values not proven optimal

    @property
    def failed(self) -> list[str]:
        return [m.name for m, f in zip(self.memberships, self.figures) if not f.has_plan]


def compare(instance: Instance, consortia: Sequence[str] = (), ad_hoc: Sequence[str] = (), *,
            exact_max: int = EXACT_MAX, samples: int = SAMPLES, seed: int = 0,
            workers: int | None = None, executor: str = "local", address: str | None = None,
            bar: ProgressBar | None = None, precision: str | None = None,
            time_limit_total: float | None = None) -> CompareOutcome:
    """Plan every membership, then analyse every consortium (see the module docstring).
    Every option is checked before anything is solved. ``precision`` (e.g. ``5%,£50k``):
    sampled Shapley draws orders until every member's 95% half-width is within it;
    ``time_limit_total``: seconds after which no further block of orders is begun."""
    started = time.perf_counter()
    deadline = None if time_limit_total is None else time.monotonic() + time_limit_total
    if time_limit_total is not None and time_limit_total <= 0:
        raise InputError(Problem("--time-limit-total", "must be above 0 seconds"))
    try:
        asked = None if precision is None else parse_precision(precision)
    except ValueError as error:
        raise InputError(Problem("--precision", str(error))) from None
    if not 0 <= exact_max <= EXACT_LIMIT:
        raise InputError(Problem("--exact-max", f"must lie between 0 and {EXACT_LIMIT} "
                                 f"(2^{EXACT_LIMIT} coalitions), got {exact_max}"))
    if samples < 1:
        raise InputError(Problem("--samples", "must be at least 1"))
    if seed < 0:
        raise InputError(Problem("--seed", "must be 0 or more"))
    memberships = choose_memberships(instance, consortia, ad_hoc)
    with TaskPool(workers, executor, address, shared=instance) as pool:
        if bar is not None:
            bar.describe(f"{len(memberships)} memberships")
            bar.plan(len(memberships))
        order = sorted(range(len(memberships)), key=lambda i: -len(memberships[i].members))
        tick = (lambda _i: bar.solved()) if bar is not None else None
        solved = pool.map(membership_task, [(memberships[i].members,) for i in order], tick)
        figures: list[Figures] = [None] * len(memberships)  # type: ignore[list-item]
        for i, result in zip(order, solved):
            figures[i] = result
        cache = CoalitionCache(instance, pool, bar)
        games = tuple(analyse(m, f, cache, exact_max, samples, seed, bar, asked, deadline)
                      for m, f in zip(memberships, figures)
                      if m.kind != KIND_ALONE and len(m.members) >= 2)
        description, used = pool.description, pool.workers
    warnings = []
    for m, f in zip(memberships, figures):
        if f.status == "feasible":
            warnings.append(f"{m.name}: stopped at the time limit, the plan is not proven "
                            "optimal")
        elif not f.has_plan:
            warnings.append(f"{m.name}: no plan ({f.status}): {f.message}")
        if f.not_kept_whole:
            warnings.append(f"{m.name}: not kept whole: {', '.join(f.not_kept_whole)}")
    inexact = tuple(cache.values[k] for k in cache.not_optimal)
    if inexact:
        worst = max((v.gap or 0.0) for v in inexact)
        warnings.append(f"{len(inexact)} coalition value(s) stopped at the time limit (largest "
                        f"gap {worst:.2g}): c(S) is an upper bound there (core.json: "
                        "inexact_coalitions)")
    for game in games:
        if game.note:
            warnings.append(f"{game.membership.name}: {game.note}")
    for game in games:
        if asked is not None and game.stopped == "time limit":
            warnings.append(f"{game.membership.name}: the time limit came before the precision "
                            f"asked ({asked.describe()}); reached: {precision_reached(game)}")
    options = {"exact_max": exact_max, "samples": samples, "seed": seed,
               "precision": None if asked is None else asked.describe(),
               "time_limit_total": time_limit_total}
    return CompareOutcome(instance, tuple(memberships), tuple(figures), games,
                          time.perf_counter() - started, cache.solves, cache.hits,
                          description, used, options, tuple(warnings), inexact)


# --------------------------------------------------------------------------- tables

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
    return _rounded(pd.DataFrame(rows, columns=list(COMPARE_COLUMNS)))


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
    return _rounded(table)


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
            })
    table = pd.DataFrame(rows, columns=list(SHAPLEY_COLUMNS))
    table["samples"] = table["samples"].astype("Int64")
    return _rounded(table)


_DIGITS = {
    **{c: MONEY_DP for c in ("annual_cost", "standalone_cost", "saving", "coalition_cost_alone",
                             "shapley_cost", "shapley_saving", "std_error", "marginal_value",
                             "marginal_saving", "least_core_cost", "plan_cost", "plan_saving",
                             "half_width_95")},
    **{c: PLACES_DP for c in ("demand", "unmet")},
    **{c: RATIO_DP for c in ("saving_pct", "local_share", "local_share_alone", "local_target",
                             "membership_local_target")},
    "need_distance": DISTANCE_DP,
}


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype(object).where(table.notna(), None)
    for column, digits in _DIGITS.items():
        if column in table.columns:
            table[column] = [_round(v, digits) for v in table[column]]
    return table


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
            "shapley_stopped": game.stopped,
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


def precision_reached(game: Game) -> str | None:
    """The sampled Shapley savings' precision in words: the largest 95% half-width of any
    member ("± £40k at 95%"); None when exact or from a single block."""
    if game.half_width is None:
        return None
    return half_width_words(max(game.half_width.values()))


def compare_files(outcome: CompareOutcome) -> dict[str, str]:
    """compare.csv, members.csv, shapley.csv and core.json, as text."""
    from optimiser.writers import csv_text, json_text

    return {COMPARE_CSV: csv_text(compare_table(outcome)),
            MEMBERS_CSV: csv_text(member_table(outcome)),
            SHAPLEY_CSV: csv_text(shapley_table(outcome)),
            CORE_JSON: json_text(core_summary(outcome))}


# --------------------------------------------------------------------------- screen

def _m(cell: str, sign: bool = False) -> str:
    """A money cell of a result file for the screen: £1.2m, £362k, £0."""
    from optimiser.reports.formats import money_compact

    return "" if cell == "" else money_compact(float(cell), sign)


def _p(cell: str, scale: float = 1.0) -> str:
    from optimiser.reports.formats import pct

    return "" if cell == "" else pct(float(cell) * scale)


def print_compare(console, files: dict[str, str]) -> None:
    """Memberships side by side, then per consortium its members' Shapley saving beside the
    plan's, the least core and the flags: printed from the very files written."""
    import csv
    import io
    import json

    from rich.markup import escape

    from optimiser.display import Column, print_table
    from optimiser.reports.formats import counted, places

    summary = json.loads(files[CORE_JSON])
    console.print(f"[bold]{escape(summary['instance'])}[/bold]: "
                  f"{counted(summary['solves'], 'coalition solve')}, "
                  f"{counted(summary['cache_hits'], 'cache hit')}, "
                  f"{summary['seconds']:.1f} s on {escape(summary['executor'])}", highlight=False)
    rows = []
    for row in csv.DictReader(io.StringIO(files[COMPARE_CSV])):
        if row["annual_cost"] == "":
            rows.append([row["membership"], row["size"], row["status"], "", "", "", "", ""])
            continue
        rows.append([row["membership"], row["size"], _m(row["annual_cost"]),
                     _m(row["standalone_cost"]), _m(row["saving"]), _p(row["saving_pct"]),
                     places(float(row["unmet"])), _p(row["local_share"], 100)])
    print_table(console, "Memberships (£ a year)", [
        Column("membership", words=True), Column("size"), Column("cost"),
        Column("alone", drop=1), Column("saving"), Column("saving %"), Column("unmet", drop=2),
        Column("local")], rows, source=COMPARE_CSV)
    members = {(r["membership"], r["authority"]): r
               for r in csv.DictReader(io.StringIO(files[MEMBERS_CSV]))}
    shapley = list(csv.DictReader(io.StringIO(files[SHAPLEY_CSV])))
    for entry in summary["consortia"]:
        _print_consortium(console, entry, [r for r in shapley
                                           if r["consortium"] == entry["consortium"]], members)
        if entry.get("shapley_precision"):
            console.print(_precision_line(entry, summary["options"]), highlight=False)
        console.print(_core_line(entry), soft_wrap=False)
    console.print("Shapley: each member's Shapley value of the savings game; plan: its saving "
                  "in the plan; least core: its saving under a least-core split; marginal: "
                  "how much the consortium's saving falls without it; need mix: distance of "
                  "its needs from the consortium's (0 same, 1 disjoint). Flags: low saving "
                  f"(below {LOW_SAVING_FRACTION:.0%} of the consortium's saving %), less local "
                  "(a lower local share than alone).")
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _print_consortium(console, entry: dict, rows: list[dict], members: dict) -> None:
    """One consortium's members: Shapley saving (± its standard error when sampled), the
    plan's, the least core's, the marginal saving, saving %, need mix and flags."""
    from optimiser.display import Column, print_table

    name = entry["consortium"]
    sampled = bool(rows) and rows[0]["method"] == "sampled"
    how = f"sampled, {rows[0]['samples']} orders" if sampled else "exact"
    table = []
    for r in rows:
        m = members.get((name, r["authority"]), {})
        least = ("" if r["least_core_cost"] == "" else _m(
            str(float(r["coalition_cost_alone"]) - float(r["least_core_cost"]))))
        table.append([r["name"], _m(r["shapley_saving"]), _m(r["half_width_95"]),
                      _m(r["plan_saving"]),
                      least, _m(r["marginal_saving"]), _p(m.get("saving_pct", "")),
                      "" if not m.get("need_distance") else f"{float(m['need_distance']):.2f}",
                      m.get("flags", "").replace("_", " ").replace(";", ", ")])
    columns = [Column("authority", words=True), Column("Shapley"),
               Column("± 95%", drop=3), Column("plan"), Column("least core", drop=2),
               Column("marginal"), Column("saving %"), Column("need mix", drop=1),
               Column("flags", words=True, least=10)]
    if not sampled:
        del columns[2]
        table = [row[:2] + row[3:] for row in table]
    print_table(console, f"{name}: saving by Shapley ({how}), in the plan and in the least "
                "core (£ a year)", columns, table, source=f"{SHAPLEY_CSV} and {MEMBERS_CSV}")


def _precision_line(entry: dict, options: dict) -> str:
    """How precise a sampled Shapley split is, in words: "... within ± £40k at 95%"."""
    from rich.markup import escape

    text = (f"{escape(entry['consortium'])}: Shapley savings from {entry['samples']:,} sampled "
            f"orders, each within {entry['shapley_precision']} of the exact value")
    asked = options.get("precision")
    if asked is None:
        return text + "."
    verdict = {"precision": "reached", "time limit": "not reached by the time limit"}.get(
        entry["shapley_stopped"], "not reached")
    return text + f" (asked: {asked}; {verdict})."


def _core_line(entry: dict) -> str:
    from rich.markup import escape

    from optimiser.reports.formats import money

    name = escape(entry["consortium"])
    if entry["epsilon"] is None:
        return f"{name}: no core check."
    eps = entry["epsilon"]
    if entry["core_empty"]:
        text = (f"{name}: the core is [bold]empty[/bold]: under any split some group would "
                f"pay at least {money(eps)} less on its own (least-core epsilon).")
    else:
        text = (f"{name}: the core is non-empty: under a least-core split every group pays "
                f"at least {money(-eps)} less than on its own (least-core epsilon "
                f"{money(eps)}).")
    blocking = entry["plan_blocking"]
    if blocking is None:
        return text
    if entry["plan_blocked"]:
        who = ", ".join(escape(n) for n in blocking["names"])
        return (text + f" The plan's own split is [bold]blocked[/bold]: {who} would together "
                f"pay {money(blocking['excess'])} less on their own.")
    return text + " No group would pay less on its own than under the plan's split."
