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

The package is laid out as ``run`` is: ``analysis`` (memberships, the coalition cache, Shapley,
the games), ``tables`` (the result files) and ``screen`` (what ``optimise compare`` prints);
every public name is importable from here.
"""

from optimiser.compare.analysis import (
    EXACT_LIMIT,
    EXACT_MAX,
    KIND_AD_HOC,
    KIND_ALL,
    KIND_ALONE,
    KIND_CONSORTIUM,
    LOCAL_TOLERANCE,
    LOW_SAVING_FRACTION,
    SAMPLES,
    CoalitionCache,
    CompareOutcome,
    Game,
    Membership,
    all_coalitions,
    analyse,
    choose_memberships,
    coalition_task,
    compare,
    exact_shapley,
    joint_precision_reached,
    membership_task,
    parse_ad_hoc,
    precision_reached,
    shapley_parts,
    solver_margin,
)
from optimiser.compare.screen import print_compare, solver_margin_line
from optimiser.compare.tables import (
    COMPARE_COLUMNS,
    COMPARE_CSV,
    CORE_JSON,
    DISTANCE_DP,
    MEMBER_COLUMNS,
    MEMBERS_CSV,
    SHAPLEY_COLUMNS,
    SHAPLEY_CSV,
    compare_files,
    compare_table,
    core_summary,
    local_target,
    member_table,
    need_distance,
    need_mix,
    shapley_table,
)

__all__ = [
    "COMPARE_COLUMNS",
    "COMPARE_CSV",
    "CORE_JSON",
    "DISTANCE_DP",
    "EXACT_LIMIT",
    "EXACT_MAX",
    "KIND_AD_HOC",
    "KIND_ALL",
    "KIND_ALONE",
    "KIND_CONSORTIUM",
    "LOCAL_TOLERANCE",
    "LOW_SAVING_FRACTION",
    "MEMBERS_CSV",
    "MEMBER_COLUMNS",
    "SAMPLES",
    "SHAPLEY_COLUMNS",
    "SHAPLEY_CSV",
    "CoalitionCache",
    "CompareOutcome",
    "Game",
    "Membership",
    "all_coalitions",
    "analyse",
    "choose_memberships",
    "coalition_task",
    "compare",
    "compare_files",
    "compare_table",
    "core_summary",
    "exact_shapley",
    "joint_precision_reached",
    "local_target",
    "member_table",
    "membership_task",
    "need_distance",
    "need_mix",
    "parse_ad_hoc",
    "precision_reached",
    "print_compare",
    "shapley_parts",
    "shapley_table",
    "solver_margin",
    "solver_margin_line",
]
