"""`optimise compare`'s analysis: the memberships, the coalition values and their cache, the
Shapley value, and each consortium's game (marginal values, least core, blocking coalition).
What it computes is set out in ``optimiser.compare``'s docstring."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from optimiser.coalitions import (
    Coalition,
    CoalitionValue,
    canonical,
    coalition_value,
    engine_value,
)
from optimiser.errors import InputError, Problem
from optimiser.executor import ProgressBar, TaskPool
from optimiser.figures import Figures, solve_scenario
from optimiser.members import resolve_authorities
from optimiser.records import Instance
from optimiser.run import solver_for
from optimiser.shapley import (
    Precision,
    Sampled,
    block_orders,
    half_width_words,
    order_parts,
    parse_precision,
    sample,
)

#: default limit of exact Shapley (2^12 - 1 = 4,095 coalitions), and the largest allowed
EXACT_MAX = 12
EXACT_LIMIT = 20
SAMPLES = 200
#: a member's saving % below this fraction of the consortium's saving % is flagged
LOW_SAVING_FRACTION = 0.5
#: a local share below the member's local share alone by more than this (a fraction) is flagged
LOCAL_TOLERANCE = 0.001
KIND_CONSORTIUM = "consortium"  # named in the instance's consortia table
KIND_AD_HOC = "ad-hoc"  # --members NAME=a,b,c
KIND_ALL = "all"  # every authority, when the instance names no consortium
KIND_ALONE = "alone"


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
    """One membership planned as `optimise run` plans it (``optimiser.figures.solve_scenario``:
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
    value, weights = _weighted(members, costs)
    return np.array([float(np.sum(w * (value[with_a] - value[without])))
                     for with_a, without, w in weights])


def _weighted(members: Coalition, costs: Sequence[float]):
    """c with c(empty) = 0 first, indexed by bit mask, and per member a: the masks S + a and S
    of the S not holding a, with their Shapley weights."""
    n = len(members)
    value = np.concatenate([[0.0], np.asarray(costs, dtype=float)])
    masks = np.arange(1 << n)
    size = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        size += masks >> i & 1
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                       for s in range(n)])
    weights = []
    for i in range(n):
        without = masks[(masks >> i & 1) == 0]
        weights.append((without | 1 << i, without, weight[size[without]]))
    return value, weights


def shapley_parts(members: Coalition, costs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The two sums of phi_a, each weighted by |S|! (n - |S| - 1)! / n! over the S not holding
    a: of c(S + a), and of c(S) (their difference is phi_a; apart, they bound how far an error
    in the values can move it: :func:`solver_margin`)."""
    value, weights = _weighted(members, costs)
    return (np.array([float(np.sum(w * value[with_a])) for with_a, _, w in weights]),
            np.array([float(np.sum(w * value[without])) for _, without, w in weights]))


def solver_margin(joined: np.ndarray, before: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """How far the solver's gap can move each member's Shapley saving, in £ (a tight bound).

    Each c(S) is proven within its gap: true c(S) = c(S) - e(S), 0 <= e(S) <= g(S) = gap x
    |c(S)|. The saving c({a}) - phi_a is then off by e({a}) - sum_S w_S (e(S + a) - e(S)), and
    since S = {} (weight 1/n) gives e({a}) itself, that lies between
    -(sum_S w_S g(S + a) - g({a}) / n) and g({a}) (1 - 1/n) + sum_S w_S g(S) (``joined`` and
    ``before``: :func:`shapley_parts` of g, exact or estimated over the sampled orders;
    ``alone``: g({a})). The margin is the larger side."""
    n = len(alone)
    return np.maximum(joined - alone / n, alone * (1 - 1 / n) + before)


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
    #: the most the solver's gap on the values can move each Shapley saving (solver_margin)
    solver_margin: dict[str, float] | None = None
    #: the 95% half-width that holds for every member at once (Bonferroni), when sampled
    joint_half_width: dict[str, float] | None = None


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
    margin = _solver_margins(cache, members, sampled, seed)
    return Game(membership, members, grand, alone,
                dict(zip(members, map(float, phi))),
                None if std_error is None else dict(zip(members, map(float, std_error))),
                method, drawn, marginal, core, blocking, excess, separation, tolerance,
                shapley_seconds, time.perf_counter() - started,
                cache.solves - solved_before, note,
                None if sampled is None or sampled.estimate.half_width is None else
                dict(zip(members, map(float, sampled.estimate.half_width))),
                None if sampled is None else sampled.estimator,
                None if sampled is None else sampled.stopped,
                dict(zip(members, map(float, margin))),
                None if sampled is None or sampled.estimate.joint_half_width is None else
                dict(zip(members, map(float, sampled.estimate.joint_half_width))))


def _solver_margins(cache: CoalitionCache, members: Coalition, sampled: Sampled | None,
                    seed: int) -> np.ndarray:
    """:func:`solver_margin` per member: over every coalition when exact, estimated over the
    sampled orders when sampled."""
    def slack(coalition: Coalition) -> float:
        found = cache.values[coalition]
        return abs(found.cost) * (found.gap or 0.0)

    alone = np.array([slack((a,)) for a in members])
    if sampled is None:
        joined, before = shapley_parts(members, [slack(c) for c in all_coalitions(members)])
    else:
        orders = [o for k in range(sampled.estimate.blocks)
                  for o in block_orders(len(members), k, seed, sampled.estimator)]
        joined, before = order_parts(members, orders, lambda c: slack(c) if c else 0.0)
    return solver_margin(joined, before, alone)


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


def precision_reached(game: Game) -> str | None:
    """The sampled Shapley savings' precision in words: the largest 95% half-width of any
    member ("± £40k at 95%"); None when exact or from a single block."""
    if game.half_width is None:
        return None
    return half_width_words(max(game.half_width.values()))


def joint_precision_reached(game: Game) -> str | None:
    """The same for every member at once ("± £90k at 95%"): the largest joint half-width."""
    if game.joint_half_width is None:
        return None
    return half_width_words(max(game.joint_half_width.values()))
