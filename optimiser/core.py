"""The core and least core of the consortium cost game, by constraint generation.

The game (``optimiser.coalitions``): members N, c(S) the optimal objective of the consortium
model for coalition S (voice ``volume``, no individual rationality, the market of docs/model.md
section 5), c(empty) = 0. An allocation x (what each member pays, x(N) = c(N)) is in the *core* if
x(S) <= c(S) for every coalition S: no group would pay less on its own. The *least core* relaxes
every proper coalition's constraint by the least epsilon that makes the core non-empty:

    minimise epsilon  s.t.  x(S) <= c(S) + epsilon   for every S, empty != S != N,
                            x(N)  = c(N).

epsilon <= 0: the core is non-empty and the allocation is in it (with -epsilon to spare);
epsilon > 0: the core is empty, and under the least-core allocation some coalition still pays
epsilon more than on its own (``CoreResult.blocking``).

There are 2^|N| - 2 coalitions, so the least core is found by **constraint generation**: an LP
*master* over a growing set of coalitions (it starts with the singletons and the complements
N \\ {a}) gives (epsilon, x); the *separation* MILP (:class:`Separation`) finds the coalition
maximising x(S) - c(S) among all 2^|N| - 2 at once; if that exceeds epsilon (plus a tolerance)
the coalition joins the master, else x is a least-core allocation. Only the coalitions the
master needs are ever valued, so it works for the 24 members of the North West, where
enumeration would value 16.8 million.

The separation MILP is the consortium model of all of N with a binary membership y_a per member
(see :class:`Separation` for the rewriting and the proof that it is exact).

The least core is a set, not a point: when several allocations reach the least epsilon, the
one returned is the vertex the master LP's solver lands on (deterministic: HiGHS runs with a
fixed seed). The nucleolus (lexicographic tie-break of the next-largest excesses) is out of
scope.

Accuracy: everything holds up to the accuracy of the c(S) values and of the separation solve.
The separation is solved with the caller's ``solve`` (its MIP gap); the objective carries a
constant offset (see :meth:`Separation.solve`) so that the relative gap is measured against the
size of the costs rather than against the violation, which is near zero at convergence.
``CoreResult.epsilon_bound`` is the separation's proven bound on max_S x(S) - c(S) for the
returned allocation: the least-core value lies in [epsilon, epsilon_bound].
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.framework import FrameworkModel, build_framework_model, set_objective
from optimiser.coalitions import Coalition, canonical
from optimiser.errors import SolveError
from optimiser.market import build_market
from optimiser.program import INF, LinearProgram
from optimiser.records import Instance
from optimiser.solvers.base import SolverOptions, SolverResult
from optimiser.solvers.highs import HighsSolver

SolveFn = Callable[[LinearProgram], SolverResult]
CostFn = Callable[[Coalition], float]

#: a coalition joins the master when its violation exceeds epsilon by more than this share
#: of |c(N)| (floored at £1)
RELATIVE_TOLERANCE = 1e-6
#: enumeration values 2^n - 2 coalitions: kept to small games (tests, cross-checks)
ENUMERATION_LIMIT = 12
#: constraint generation stops after this many rounds (each adds a coalition), whatever happens
MAX_ITERATIONS = 2_000


@dataclass(frozen=True)
class CoreResult:
    """A least-core allocation and how it was found.

    ``epsilon``: the least-core value (<= 0: the core is non-empty; > 0: empty, ``core_empty``
    within the tolerance). ``allocation``: what each member pays, summing to c(N).
    ``blocking``: when the core is empty, a coalition that pays ``epsilon`` more under the
    allocation than on its own (the largest excess, then the fewest members); None otherwise.
    ``iterations``: master LPs solved (= separation MILPs solved). ``coalitions``: coalitions
    whose c(S) the master used (the initial 2|N| - or fewer when they coincide - plus those
    the separation added; 2^|N| - 2 for enumeration). ``epsilon_bound``: a proven upper bound
    on max_S x(S) - c(S) for the allocation (see the module docstring). ``separation_status``:
    the last separation solve's status: ``optimal`` (within the solver's gap), or ``feasible``
    when it stopped at its time limit, in which case no violated coalition was *found* but
    none is ruled out beyond ``epsilon_bound`` (``enumeration`` for the enumeration)."""

    epsilon: float
    allocation: dict[str, float]
    blocking: Coalition | None
    iterations: int
    coalitions: int
    core_empty: bool
    epsilon_bound: float | None = None
    separation_status: str = "optimal"


@dataclass(frozen=True)
class Violation:
    """The separation's answer: max_S x(S) - c(S), its coalition, and the proven bound."""

    violation: float
    coalition: Coalition
    bound: float | None  # upper bound on the maximum (from the MILP's dual bound)
    cost: float  # c(S) as the separation priced it
    status: str


# -- the separation MILP ---------------------------------------------------------------------


class Separation:
    """The MILP max over (S, plan) of sum_a x_a y_a - cost_S(plan), built once for members N.

    Start from the consortium model of *all* of N (one cost holder, objective = total cost +
    local-shortfall penalty, exactly as c(S) is computed), built on N's market with
    ``baseline_capacity: full`` so that every capacity row carries the *listed* capacity, and
    add binaries y_a (a in S). Then rewrite the rows that depend on who is in the coalition
    (D = the instance's total demand, D_b = member b's demand):

    * demand (1): sum x + u = d[a,n]            ->  sum x + u - d[a,n] y_a = 0
    * capacity (2), offer (p,t) and provider max_places, listed value K:
        independent / voluntary p under ``shared``:  sum x <= K * sum_b (D_b / D) y_b
        independent / voluntary p under ``full``:    sum x <= K           (unchanged)
        in-house p owned by member b:                sum x <= K * y_b
      (``optimiser.market.provider_scale``: a coalition sees K * D_S / D, or K under ``full``;
      in-house provision of its own members whole and none of anyone else's). Which offer or
      provider a row is, is read from the program itself: the x columns in the row.
    * locality (6): sum_local x + m_a sum u + short_a >= m_a D_a  ->  ... - m_a D_a y_a >= 0
    * contract, tier, discount, void and concentration rows (3, 4, 5, 7): unchanged.
    * 1 <= sum_a y_a <= |N| - 1 (neither the empty coalition nor N).

    Objective: minimise total cost + penalty - sum_a x_a y_a; the most violated coalition's
    violation is minus the optimum.

    **Exactness.** Fix y, S = {a : y_a = 1}. Non-members' demand rows force their x and u to 0
    (all variables are >= 0); their locality rows read short_a >= 0, so short_a = 0 at the
    optimum (or it is free and costs nothing when the penalty is 0). What remains is S's
    consortium model on S's market, except for:
    (i) capacity: the rewritten rows are exactly S's capacities K * D_S / D (or K, or K * 1[owner
        in S]); an arc whose capacity S sees as 0 is absent from S's model and forced to 0 here;
    (ii) bounds computed from N's market rather than S's - the arc upper bounds
        min(d, cap, max_places), the contract links x <= upper * o, the tier groups' largest
        volume U_g, the largest spend and the fee range [fmin_g, fmax_g] of a group: each is
        implied in S's model by its capacity and demand rows (the larger N-values only relax
        valid inequalities), so for binary o and z the feasible plans are the same;
    (iii) tier groups with arcs in N's market but none in S's: there S's model has no such
        group, here only k = 0 ("no tier") or a guarantee tier paying for void places is
        possible; the latter only adds cost, so it is never better;
    (iv) the single cost holder's share of contract and void costs is sum_a D_a / D_M = 1 in
        both, so both charge them in full.
    So for fixed y the inner minimum is c(S) - x(S), and the MILP's optimum is
    min_S [c(S) - x(S)] = -max_S [x(S) - c(S)] over every S with 1 <= |S| <= |N| - 1.
    The rewriting leaves the model's size unchanged except for |N| columns and, under
    ``shared``, |N| coefficients in each capacity row.
    """

    def __init__(self, instance: Instance, members) -> None:
        self.members: Coalition = canonical(instance, members)
        if len(self.members) < 2:
            raise ValueError("the separation problem needs at least two members")
        self.instance = instance
        full = instance.with_policy(baseline_capacity="full")
        market = build_market(full, list(self.members))
        model = build_framework_model(market, integer_places=instance.policy.integer_places,
                                      tracked=())
        set_objective(model, np.ones(len(model.holder_share)))
        self.model: FrameworkModel = model
        program = model.program
        self.base_objective = list(program.objective_terms)
        self.y = program.add_variables("member", len(self.members), 0.0, 1.0, integer=True)
        self._demand_rows()
        self._capacity_rows()
        self._locality_rows()
        rows = program.add_rows("coalition_size", 1, 1.0, len(self.members) - 1.0)
        program.add_terms(np.repeat(rows, len(self.y)), self.y, 1.0)

    # the rewriting, family by family

    def _demand_rows(self) -> None:
        program, needs = self.model.program, self.model.needs
        lower, upper = program.row_bounds("demand")
        lower[:] = 0.0
        upper[:] = 0.0
        rows = np.arange(program.num_rows)[program.row_blocks["demand"]]
        program.add_terms(rows, self.y[needs["member"].to_numpy()],
                          -needs["places"].to_numpy())

    def _capacity_rows(self) -> None:
        """Capacity and max_places rows: K -> K * share seen by S, written in y (see class)."""
        instance, program, arcs = self.instance, self.model.program, self.model.arcs
        listed_capacity = {(o.provider, o.placement_type): o.capacity for o in instance.offers}
        for block in ("capacity", "max_places"):
            rows = np.arange(program.num_rows)[program.row_blocks[block]]
            if rows.size == 0:
                continue
            _, upper = program.row_bounds(block)
            for i, held in enumerate(_arcs_of_rows(program, rows)):
                key = ["provider", "placement_type"] if block == "capacity" else ["provider"]
                which = set(map(tuple, arcs.loc[held, key].to_numpy().tolist()))
                if len(which) != 1:
                    raise AssertionError(f"{block} row {i} holds {sorted(which)}")
                provider = arcs.at[held[0], "provider"]
                record = instance.providers[provider]
                if block == "capacity":
                    listed = listed_capacity[(provider, arcs.at[held[0], "placement_type"])]
                else:
                    listed = record.max_places
                if not np.isclose(upper[i], listed, rtol=1e-12, atol=1e-9):
                    raise AssertionError(f"{block} row of {provider} is {upper[i]}, "
                                         f"listed {listed}")
                weights = self._capacity_weights(record.kind, record.owner)
                if weights is None:
                    continue  # independent or voluntary under `full`: the listed value stands
                upper[i] = 0.0
                program.add_terms(np.full(len(self.y), rows[i]), self.y, -listed * weights)

    def _capacity_weights(self, kind: str, owner: str | None) -> np.ndarray | None:
        """w with "capacity S sees" = K * sum_b w_b y_b; None for the listed value (K)."""
        if kind == "in_house":
            # build_market(N) has no arcs to in-house provision of an owner outside N
            return np.array([1.0 if a == owner else 0.0 for a in self.members])
        total = self.instance.total_demand
        if self.instance.policy.baseline_capacity == "full" or total <= 0:
            return None  # capacity_factor is 1
        return np.array([self.instance.demand_of(a) / total for a in self.members])

    def _locality_rows(self) -> None:
        program, model = self.model.program, self.model
        if "locality" not in program.row_blocks:
            return
        rows = np.arange(program.num_rows)[program.row_blocks["locality"]]
        lower, _ = program.row_bounds("locality")
        targeted = np.flatnonzero(model.shortfall >= 0)  # add_locality's row order
        program.add_terms(rows, self.y[targeted], -lower.copy())
        lower[:] = 0.0

    # solving

    def solve(self, allocation: dict[str, float], solve: SolveFn) -> Violation:
        """The most violated coalition for ``allocation``.

        The objective gets the constant offset sum_a |x_a| (it changes no decision), making it
        c(S) + sum_a |x_a| - x(S) >= c(S) >= 0: a relative MIP gap then bounds the error of the
        violation by that gap times the size of the costs, instead of asking for a relative
        gap on a violation that is near zero at convergence."""
        program = self.model.program
        weights = np.array([float(allocation[a]) for a in self.members])
        offset = float(np.abs(weights).sum())
        program.objective_terms = self.base_objective + [(self.y, -weights)]
        program.objective_constant = offset
        result = solve(program)
        if not result.has_plan:
            raise SolveError(f"the core's separation problem found no plan: {result.message}")
        chosen = result.values[self.y] > 0.5
        coalition = tuple(a for a, c in zip(self.members, chosen) if c)
        violation = offset - float(result.objective)
        bound = (offset - float(result.bound)
                 if result.bound is not None and np.isfinite(result.bound) else None)
        cost = float(weights[chosen].sum()) - violation  # c(S) = x(S) - violation
        return Violation(violation, coalition, bound, cost, result.status)


def _arcs_of_rows(program: LinearProgram, rows: np.ndarray) -> list[np.ndarray]:
    """For each row, the arcs (rows of ``model.arcs``) whose x columns it holds: which offer or
    provider a capacity row is, read from the matrix rather than from the builder's order."""
    x = program.blocks["x"]
    matrix = sp.csr_matrix(program.matrix()[rows][:, x])
    return [matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]] for i in range(len(rows))]


def most_violated(instance: Instance, members, allocation: dict[str, float], solve: SolveFn
                  ) -> Violation:
    """max over coalitions S (non-empty, not N) of sum_{a in S} allocation[a] - c(S), the S
    reaching it (in the instance's order), the proven bound and the solve's status, by one
    MILP (:class:`Separation`)."""
    return Separation(instance, members).solve(allocation, solve)


def most_violated_by_enumeration(members: Coalition, allocation: dict[str, float],
                                 coalition_cost: CostFn) -> Violation:
    """:func:`most_violated` over every proper coalition's c(S) (a cached game): the largest
    excess, then the fewest members, then the first in the members' order; exact, so its bound
    is the violation itself."""
    position = {a: i for i, a in enumerate(members)}
    excess = {s: (sum(allocation[a] for a in s) - float(coalition_cost(s)))
              for s in proper_coalitions(members)}
    largest = max(excess.values())
    coalition = min((s for s in excess if excess[s] == largest),
                    key=lambda s: (len(s), [position[a] for a in s]))
    cost = sum(allocation[a] for a in coalition) - largest
    return Violation(largest, coalition, largest, cost, "enumeration")


# -- the master LP ---------------------------------------------------------------------------


def _master(members: Coalition, grand: float, costs: dict[Coalition, float]
            ) -> tuple[float, dict[str, float]]:
    """min epsilon s.t. x(S) - epsilon <= c(S) for S in ``costs``, x(N) = c(N); x free.

    Solved in units of max(|c(N)|, 1) so the LP sees numbers near 1."""
    scale = max(abs(grand), 1.0)
    position = {a: i for i, a in enumerate(members)}
    program = LinearProgram()
    x = program.add_variables("x", len(members), -INF, INF)
    epsilon = program.add_variables("epsilon", 1, -INF, INF)
    coalitions = list(costs)
    rows = program.add_rows("coalition", len(coalitions), -INF,
                            [costs[s] / scale for s in coalitions])
    row_of, col_of = zip(*[(r, x[position[a]]) for r, s in zip(rows, coalitions) for a in s])
    program.add_terms(row_of, col_of, 1.0)
    program.add_terms(rows, np.full(len(rows), epsilon[0]), -1.0)
    grand_row = program.add_rows("grand", 1, grand / scale, grand / scale)
    program.add_terms(np.repeat(grand_row, len(x)), x, 1.0)
    program.add_objective(epsilon, 1.0)
    result = HighsSolver().solve(program, SolverOptions(time_limit_s=600.0, mip_gap=0.0))
    if result.status != "optimal":
        raise SolveError(f"the least-core master LP failed: {result.message}")
    values = result.values * scale
    return float(values[epsilon[0]]), {a: float(values[x[i]]) for i, a in enumerate(members)}


def _blocking(members: Coalition, allocation: dict[str, float], costs: dict[Coalition, float],
              epsilon: float, tolerance: float) -> Coalition | None:
    """The coalition with the largest excess x(S) - c(S) (within the tolerance; then the fewest
    members, then the first in the members' order), when the core is empty; None when not."""
    if epsilon <= tolerance:
        return None
    excess = {s: sum(allocation[a] for a in s) - c for s, c in costs.items()}
    largest = max(excess.values())
    position = {a: i for i, a in enumerate(members)}
    return min((s for s in excess if excess[s] >= largest - tolerance),
               key=lambda s: (len(s), [position[a] for a in s]))


def _initial_coalitions(members: Coalition) -> list[Coalition]:
    """The singletons and the complements N \\ {a} (for two members they coincide)."""
    singles = [(a,) for a in members]
    complements = [tuple(b for b in members if b != a) for a in members]
    return list(dict.fromkeys(singles + complements))


def _trivial(members: Coalition, grand: float) -> CoreResult:
    """One member: there is no proper coalition, the allocation is c(N); epsilon is reported
    as 0 by convention (the LP would be unbounded below)."""
    return CoreResult(0.0, {members[0]: grand}, None, 0, 0, False, 0.0, "trivial")


def least_core(instance: Instance, members, coalition_cost: CostFn, solve: SolveFn, *,
               tolerance: float = RELATIVE_TOLERANCE,
               max_iterations: int = MAX_ITERATIONS) -> CoreResult:
    """A least-core allocation by constraint generation (see the module docstring).

    ``coalition_cost(S)`` gives c(S) for a coalition (a tuple in the instance's authority
    order; the caller caches it) and is used for the master's right-hand sides, c(N)
    included; ``solve`` solves the separation MILP (use a small MIP gap: the result is exact
    only up to it). A coalition joins the master when its violation exceeds the master's
    epsilon by more than ``tolerance`` x max(|c(N)|, 1). If the separation reports a coalition
    that the caller's c(S) says is not violated after all (the two solves of c(S) differ by
    more than the tolerance, e.g. through MIP gaps), generation stops there: the master cannot
    progress on inconsistent values."""
    members = canonical(instance, members)
    if not members:
        raise ValueError("the least core needs at least one member")
    grand = float(coalition_cost(members))
    if len(members) == 1:
        return _trivial(members, grand)
    tol = tolerance * max(abs(grand), 1.0)
    costs = {s: float(coalition_cost(s)) for s in _initial_coalitions(members)}
    separation = Separation(instance, members)
    iterations = 0
    while True:
        iterations += 1
        epsilon, allocation = _master(members, grand, costs)
        found = separation.solve(allocation, solve)
        if found.violation <= epsilon + tol or iterations >= max_iterations:
            break
        coalition = found.coalition
        if coalition in costs:
            break  # already in the master: c(S) values disagree (see the docstring)
        cost = float(coalition_cost(coalition))
        costs[coalition] = cost
        if sum(allocation[a] for a in coalition) - cost <= epsilon + tol:
            break  # the caller's c(S) says it is not violated: stop (see the docstring)
    bound = None if found.bound is None else max(found.bound, epsilon)
    return CoreResult(epsilon, allocation, _blocking(members, allocation, costs, epsilon, tol),
                      iterations, len(costs), epsilon > tol, bound, found.status)


def least_core_by_enumeration(instance: Instance, members, coalition_cost: CostFn, *,
                              tolerance: float = RELATIVE_TOLERANCE,
                              limit: int = ENUMERATION_LIMIT) -> CoreResult:
    """The least core with every proper coalition in the LP (2^|N| - 2 values of c(S)): the
    check on :func:`least_core` for small games (at most ``limit`` members)."""
    members = canonical(instance, members)
    if not members:
        raise ValueError("the least core needs at least one member")
    if len(members) > limit:
        raise ValueError(f"enumeration is kept to {limit} members ({len(members)} given); "
                         "use least_core")
    grand = float(coalition_cost(members))
    if len(members) == 1:
        return _trivial(members, grand)
    costs = {s: float(coalition_cost(s)) for s in proper_coalitions(members)}
    epsilon, allocation = _master(members, grand, costs)
    tol = tolerance * max(abs(grand), 1.0)
    worst = max(sum(allocation[a] for a in s) - c for s, c in costs.items())
    return CoreResult(epsilon, allocation, _blocking(members, allocation, costs, epsilon, tol), 1,
                      len(costs), epsilon > tol, max(worst, epsilon), "enumeration")


def proper_coalitions(members: Coalition) -> list[Coalition]:
    """Every coalition S with 1 <= |S| <= |N| - 1, by size then in the members' order."""
    return [s for size in range(1, len(members))
            for s in itertools.combinations(members, size)]
