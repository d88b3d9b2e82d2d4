"""Sampled Shapley values with less variance per coalition value: orders drawn in blocks.

The Shapley value phi_a is the mean of a's marginal cost c(P + a) - c(P) over uniformly random
orders of the members, P the members before a. Estimators here differ in *which* orders they
draw; every order is marginally uniform, so every estimator is **unbiased** (given exact c(S);
each c(S) carries the solver's gap, a bias of at most gap x c(S) per value, not reduced by
sampling).

* ``permutation``: independent orders (the method before issue 14).
* ``antithetic``: an order and its reverse (the reverse's prefixes are the complements).
* ``rotation``: a random order and its n cyclic rotations. Across the block each member stands
  at every position exactly once, so each block holds one marginal per coalition size: the
  estimator *stratified by size* with equal allocation, whose sizes 0 and n - 1 are the exact
  c({a}) and c(N) - c(N - a) (no sampling error from those strata at all).
* ``rotation-antithetic``: the rotations of an order and of its reverse. The reverse's prefixes
  are complements of the order's cyclic windows, which are cyclic windows again: the same
  coalitions as ``rotation``, valued once, give twice the marginals (the default).

With many members a block of all n rotations is too dear to draw twice in a time limit (on the
North West's 24, 552 coalition values of up to ~10 s each), so beyond 11 members a block takes
m evenly spaced rotations (:func:`rotations_per_block`): each member then stands at m evenly
spaced positions, a systematic sample of the sizes, and every order is still uniformly random,
so the estimator stays unbiased; only the variance per value changes (measured in
``benchmarks/bench_shapley.py --rotations``).

A block's draws are dependent, so errors come from blocks: each member's estimate is the mean
of its block means, and its standard error the standard deviation of the block means over
sqrt(blocks); the 95% half-width uses Student's t with blocks - 1 degrees of freedom (with two
or three blocks the normal 1.96 would understate it). Block k is drawn from
``SeedSequence(seed, spawn_key=(k,))``, so results do not depend on the workers or on the order
solves finish. Per block the estimates sum to c(N) exactly (efficiency).

Which estimator ``optimise compare`` uses was chosen by ``benchmarks/bench_shapley.py``: each
candidate at equal numbers of distinct coalition values against exact Greater Manchester. At
300 of its 1,023 coalition values the RMS error of the savings was £62k for independent
orders, £54k antithetic, £37k rotations and £23k rotations with their reverses (100 seeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

Coalition = tuple[str, ...]
ESTIMATORS = ("permutation", "antithetic", "rotation", "rotation-antithetic")
#: the estimator ``optimise compare`` uses (see benchmarks/bench_shapley.py)
DEFAULT_ESTIMATOR = "rotation-antithetic"
CONFIDENCE = 0.95


#: a block of rotations values about this many coalitions at most (see rotations_per_block)
BLOCK_VALUES = 120


def rotations_per_block(n: int) -> int:
    """How many of an order's n rotations a block takes: all n while the n(n - 1) cyclic windows
    they value fit in ``BLOCK_VALUES`` (up to 11 members), else m evenly spaced ones (about
    2m(n - 1) coalitions with their reverses: 2 of 24 on the North West, 92 values, not 552).
    Smaller blocks give an error sooner, and more blocks in a time limit: the 95% half-width
    is Student's t over the blocks, 12.7 standard errors with two blocks, 2.6 with six."""
    if n * (n - 1) <= BLOCK_VALUES:
        return n
    return max(1, BLOCK_VALUES // (2 * (n - 1)))


def block_orders(n: int, block: int, seed: int, estimator: str = DEFAULT_ESTIMATOR,
                 rotations: int | None = None) -> list[np.ndarray]:
    """The orders of block ``block`` (from ``SeedSequence(seed, spawn_key=(block,))``); the
    rotation estimators take ``rotations`` of the n rotations, evenly spaced (default
    :func:`rotations_per_block`)."""
    order = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,))).permutation(n)
    if estimator == "permutation":
        return [order]
    if estimator == "antithetic":
        return [order, order[::-1].copy()]
    m = rotations_per_block(n) if rotations is None else min(n, max(1, rotations))
    rotations = [np.roll(order, -((k * n) // m)) for k in range(m)]
    if estimator == "rotation":
        return rotations
    if estimator == "rotation-antithetic":
        return rotations + [r[::-1].copy() for r in rotations]
    raise ValueError(f"unknown estimator {estimator!r} (choose from {', '.join(ESTIMATORS)})")


def prefixes(members: Coalition, order: np.ndarray) -> list[Coalition]:
    """The coalitions an order builds up, each in ``members``' order (the cache key)."""
    return [tuple(members[j] for j in sorted(order[:k + 1])) for k in range(len(order))]


def block_coalitions(members: Coalition, orders: list[np.ndarray]) -> list[Coalition]:
    """Every coalition the orders need valued (distinct, in first-use order)."""
    return list(dict.fromkeys(p for order in orders for p in prefixes(members, order)))


def _walk(members: Coalition, orders: list[np.ndarray], value: Callable[[Coalition], float]):
    """(member j, value(P + j), value(P)) for each member of each order, P the members
    before it (value of the empty coalition 0)."""
    for order in orders:
        previous = 0.0
        for prefix, j in zip(prefixes(members, order), order):
            now = value(prefix)
            yield j, now, previous
            previous = now


def block_means(members: Coalition, orders: list[np.ndarray], cost: Callable[[Coalition], float]
                ) -> np.ndarray:
    """Each member's mean marginal cost over one block's orders."""
    total = np.zeros(len(members))
    for j, now, before in _walk(members, orders, cost):
        total[j] += now - before
    return total / len(orders)


def order_parts(members: Coalition, orders: list[np.ndarray],
                value: Callable[[Coalition], float]) -> tuple[np.ndarray, np.ndarray]:
    """Per member, the mean over ``orders`` of value(P + a) and of value(P), P the members
    before it: unbiased estimates of the two weighted sums of
    ``optimiser.compare.shapley_parts``."""
    joined, before = np.zeros(len(members)), np.zeros(len(members))
    for j, now, previous in _walk(members, orders, value):
        joined[j] += now
        before[j] += previous
    return joined / len(orders), before / len(orders)


@dataclass(frozen=True)
class Estimate:
    """phi per member (cost game), its standard error and 95% half-width (None with one
    block), and the blocks and orders drawn."""

    phi: np.ndarray
    std_error: np.ndarray | None
    half_width: np.ndarray | None
    blocks: int
    orders: int
    #: the 95% half-widths that hold for all members at once (Bonferroni: each member's at
    #: 1 - 5%/n), for a reader who compares members rather than looks at one
    joint_half_width: np.ndarray | None = None


def estimate(means: list[np.ndarray], orders_per_block: int) -> Estimate:
    """The estimate from the blocks' means (see the module docstring)."""
    table = np.asarray(means)
    blocks = len(table)
    phi = table.mean(axis=0)
    if blocks < 2:
        return Estimate(phi, None, None, blocks, blocks * orders_per_block)
    error = table.std(axis=0, ddof=1) / math.sqrt(blocks)
    quantile = float(stats.t.ppf(0.5 + CONFIDENCE / 2, blocks - 1))
    joint = float(stats.t.ppf(1 - (1 - CONFIDENCE) / (2 * table.shape[1]), blocks - 1))
    return Estimate(phi, error, quantile * error, blocks, blocks * orders_per_block,
                    joint * error)


@dataclass(frozen=True)
class Precision:
    """The precision asked for: a member is precise enough when its 95% half-width is at most
    the larger of ``pounds`` and ``share`` x |its Shapley saving|."""

    pounds: float = 0.0
    share: float = 0.0  # a fraction (5% -> 0.05)

    def target(self, saving: np.ndarray) -> np.ndarray:
        return np.maximum(self.pounds, self.share * np.abs(saving))

    def met(self, half_width: np.ndarray | None, saving: np.ndarray) -> bool:
        return half_width is not None and bool((half_width <= self.target(saving)).all())

    def describe(self) -> str:
        from optimiser.reports.formats import money_short

        parts = ([money_short(self.pounds)] if self.pounds > 0 else []) + \
            ([f"{self.share * 100:g}%"] if self.share > 0 else [])
        if len(parts) == 2:
            return f"{parts[1]} of each saving or {parts[0]}, whichever is larger"
        return parts[0] if parts else "none"


def parse_precision(text: str) -> Precision:
    """``50000``, ``£50k``, ``5%`` or both comma-separated (``5%,£50k``): the larger applies.
    Raises ValueError with a message for anything else."""
    pounds = share = 0.0
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.endswith("%"):
            value = float(part[:-1])
            if not 0 < value < 100:
                raise ValueError(f"a percentage between 0 and 100, got {part!r}")
            share = value / 100
            continue
        amount = part.lstrip("£").replace(",", "").lower()
        scale = {"k": 1e3, "m": 1e6}.get(amount[-1:], 1.0)
        value = float(amount[:-1] if scale != 1.0 else amount) * scale
        if value <= 0:
            raise ValueError(f"an amount above £0, got {part!r}")
        pounds = value
    if pounds == 0 and share == 0:
        raise ValueError(f"expected e.g. 5%, £50k or 5%,£50k, got {text!r}")
    return Precision(pounds, share)


def half_width_words(half_width: float) -> str:
    """"± £40k at 95%": a half-width as a finance officer reads it."""
    from optimiser.reports.formats import money_short

    return f"± {money_short(abs(half_width))} at {CONFIDENCE:.0%}"


#: with --precision, sampling stops at the latest after this many blocks
MAX_BLOCKS = 1_000
#: a precision (or a time limit) is judged from at least this many blocks
MIN_BLOCKS = 2


@dataclass(frozen=True)
class Sampled:
    """A sampled Shapley value: the estimate, the estimator, and why sampling stopped
    (``samples``: the orders asked for; ``precision``: every member met it; ``time limit``)."""

    estimate: Estimate
    estimator: str
    stopped: str


def sample(members: Coalition, ensure: Callable[[list[Coalition]], None],
           cost: Callable[[Coalition], float], *, orders: int, seed: int,
           precision: Precision | None = None, deadline: float | None = None,
           estimator: str = DEFAULT_ESTIMATOR) -> Sampled:
    """Blocks of orders until ``orders`` orders are drawn (whole blocks, at least two), or with
    ``precision`` until every member's 95% half-width meets it; either way no block is begun
    after ``deadline`` (``time.monotonic()``) once two are done. ``ensure(coalitions)`` values
    a block's coalitions (in parallel), ``cost(S)`` reads one."""
    import time

    n = len(members)
    per_block = len(block_orders(n, 0, seed, estimator))
    cap = MAX_BLOCKS if precision is not None else max(MIN_BLOCKS, math.ceil(orders / per_block))
    alone = None
    means: list[np.ndarray] = []
    stopped = "samples"
    while len(means) < cap:
        if len(means) >= MIN_BLOCKS and deadline is not None and time.monotonic() >= deadline:
            stopped = "time limit"
            break
        block = block_orders(n, len(means), seed, estimator)
        ensure(block_coalitions(members, block))
        means.append(block_means(members, block, cost))
        found = estimate(means, per_block)
        if precision is not None and found.half_width is not None:
            if alone is None:
                alone = np.array([cost((a,)) for a in members])
            if precision.met(found.half_width, alone - found.phi):
                stopped = "precision"
                break
    return Sampled(estimate(means, per_block), estimator, stopped)


def solver_margin_words(method: str, margin: float) -> str:
    """What the solver's gap can do to Shapley savings (``optimiser.compare.solver_margin``),
    as a sentence for the screen and the report."""
    from optimiser.reports.formats import money_short

    if method == "exact" and margin < 0.5:
        return "exact Shapley savings from every coalition's value, each proven optimal."
    if method == "exact":
        return ("exact Shapley savings from every coalition's value, each proven within the "
                f"solver's gap: that gap moves no saving by more than {money_short(margin)}.")
    return ("beside the sampling error, the solver's gap on the coalition values moves a "
            f"saving by at most about {money_short(margin)} (estimated over the sampled "
            "orders).")
