"""Investment signals: where one more place of new provision is worth most, in £ a year.

For every member a and placement type t that can serve one of a's needs with demand (t = n, or
(n, t) a substitution), a *candidate* offer is added: a new independent provider located at a
(distance 0 to a; great-circle km x road_factor to every other member, as for any provider),
unrated (always allowed), with no contract cost, no minimum, no maximum and no tiers, offering
type t at the **median weekly price of type t's offers in the instance** (all its offers, any
rating), with the median breakdown rate of those offers and the type's case management cost. Its
arcs are eligible exactly as an independent provider's: to every member with a need t can
serve, local where within the radius. A type nobody offers has no median price: it gets no
candidate (its demand is already reported as unmet in gaps.csv).

The signal is the marginal value of the candidate's capacity in the consortium's model with its
integer decisions fixed, in pounds of real spend. Let v(b) be the least total annual cost (the
members' cost_a of docs/model.md section 4: fees after discount, non-fee costs, emergency
places, shared contract and void payments) over the run's model with every tier z and
contract o fixed at the plan's values, places continuous (also under ``integer_places``), the
run's individual rationality rows and tracked members, and each candidate's capacity row
``sum_{b,n} x[b,cand,t,n] <= b_cand``. The model's two steering weights are held as limits
rather than priced: no member's local shortfall may exceed the plan's, nor its excess over its
standalone cost (priced at their weights, an extra place relieving a member that is not kept
whole would be "worth" 1,000 x its pounds). With all b_cand = 0 the plan is feasible, and for a
``volume`` plan optimal for its integers also optimal (a cheaper plan within those limits would
have had a lower objective), so v(0) is the plan's cost; for ``equal`` and ``maxmin`` runs v(0)
is the cheapest plan on the plan's tiers and contracts, at most the plan's cost. Members that a
lazily tracked ``volume`` run left untracked (``models.voices``) have no rationality row here
either, as in the run. v is convex and piecewise linear in b_cand; the saving of one
more place is the slope -dv/db_cand just above 0, which is the dual of the capacity row:

    saving_per_place_year(a,t) = -y_cand,  y = HiGHS ``row_dual`` of the LP at b_cand = STEP

HiGHS' sign convention: ``row_dual`` y is d(objective)/d(row bound), reduced costs are
d = c - A^T y; for a minimisation a binding ``<=`` row has y <= 0, so the saving is -y (checked
on a one-row LP: min -3x, 2x <= 1 gives y = -1.5).

Why at b = STEP (1e-3 places) and not at 0: at 0 the candidate's columns sit at 0 with its row
tight, a degenerate vertex, and plans are often degenerate too (an offer filled to the last
place, a need placed in full by one arc). The dual at 0 is then not unique: any optimal dual is
a subgradient of v, and the one HiGHS returns can price one place far above what it saves (on
instances/example, 65,000 a year for a specialist place that saves 600: the full specialist
offer's row was priced at what *losing* one of its places would cost, a child in an emergency
placement, rather than at what gaining one saves).
For b a little above 0 every optimal dual has y_cand equal to the right-hand slope at 0 (LP
sensitivity: the optimal dual set at b + t*e is the face of the duals at b maximising y_cand,
for small t > 0), so reading the dual there is exact unless the slope changes within the first
1e-3 place. Each candidate is solved on its own (the others at 0), warm-started from the
optimal basis: a few simplex iterations each.

Candidates that cannot save anything are skipped: for any optimal dual y at 0, with y' the
duals of the rows other than the candidate's own (its capacity row, and its concentration row
when max_provider_share < 1), s = max(0, max over the candidate's arcs j of -(c_j - A_j^T y'))
bounds the saving from above (y' with y_cand = -s is dual feasible for every b, so weak duality
gives v(0) - v(b) <= s*b); s = 0 means the candidate saves nothing.

Confirmation: the top ``resolve_top`` candidates are re-solved with their capacity row at 1
place (the others at 0), warm-started, and ``resolve_saving`` = v(0) - v(1). As v is convex,
it is at most the dual saving; they are equal when the slope holds over the whole place, and
differ when a breakpoint falls within it (e.g. the chain of moves the place sets off runs out
after a fraction of a place, or the need it serves has less than one place to move). Everything
runs with HiGHS whatever the run's solver, because it needs duals.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import pandas as pd

from models.framework import build_framework_model
from optimiser import columns
from optimiser.market import build_market, service_pairs
from optimiser.records import Instance
from optimiser.schema import Distance, Offer, Provider
from optimiser.solvers.highs import _highs_lp, new_highs

INVESTMENT = "investment.csv"
#: one row per candidate, best first. saving_per_place_year: s(a,t) from the duals (module
#: docstring); resolve_saving: v(0) - v(1) from re-solving with one place (top candidates only,
#: blank beyond); price_assumed_weekly: the candidate's weekly price (median of type t's
#: offers); serves: the member and need "authority:need" that takes the place (at STEP; blank
#: when the place saves nothing).
#: exact: whether saving_per_place_year is the dual at STEP (true) or, for a candidate that
#: cannot reach the EXACT_TOP, its upper bound from the duals at 0 (false; see EXACT_TOP).
INVESTMENT_COLUMNS = columns.INVESTMENT.names

#: candidates re-solved with one more place (the issue's acceptance: the top 10)
RESOLVE_TOP = 10
#: candidates whose saving is certified exact, at least: the top this many. Candidates are
#: solved at STEP in falling order of their upper bound s (``priced_bound``), and solving
#: stops once the next bound is at most the EXACT_TOP-th best exact saving found: no candidate
#: left can then enter the top EXACT_TOP, and each keeps its bound, marked ``exact`` false.
#: On the North West s equals the exact saving for the median candidate and the top 50 need
#: 50 solves of 120; on England (about 900 candidates on an LP of 800,000 columns) solving
#: every one took over ten minutes.
EXACT_TOP = 50
#: signals listed in summary.json
SUMMARY_TOP = 10
#: id prefix of the candidate providers (a suffix is added if an instance uses it)
CANDIDATE_PREFIX = "new"
#: capacity (places) at which a candidate's dual is read: just above the degenerate b = 0
STEP = 1e-3
#: £ a year per place below which a candidate saves nothing
SAVING_TOLERANCE = 1e-6
#: slack (relative and absolute) on the plan's local shortfall and excess, held as bounds
HELD_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Candidate:
    """One more place of ``placement_type`` located at ``authority``."""

    provider: str
    authority: str
    placement_type: str
    weekly_price: float
    breakdown_rate: float


@dataclass(frozen=True)
class InvestmentSignals:
    """Every candidate's saving per place, ranked; the LP they come from; timings."""

    table: pd.DataFrame  # INVESTMENT_COLUMNS
    priced_bound: dict[tuple[str, str], float]  # s at the duals at 0 (an upper bound: see doc)
    objective: float | None  # v(0)
    seconds: float  # all of it: building the candidates' model, solves and re-solves
    dual_seconds: float  # one solve per candidate at STEP (after the LP at 0)
    resolve_seconds: float  # the top candidates at one place
    warning: str | None = None

    def top(self, count: int = SUMMARY_TOP) -> list[dict]:
        return self.table.head(count).to_dict("records")


def candidates(instance: Instance, members: list[str] | tuple[str, ...]) -> list[Candidate]:
    """One candidate per member a and type t serving a need of a with demand (instance order)."""
    offers = pd.DataFrame([(o.placement_type, o.weekly_price, o.breakdown_rate)
                           for o in instance.offers],
                          columns=["placement_type", "weekly_price", "breakdown_rate"])
    medians = offers.groupby("placement_type")[["weekly_price", "breakdown_rate"]].median()
    serves = service_pairs(instance).groupby("need")["placement_type"].apply(set).to_dict()
    needs: dict[str, set[str]] = {}
    for d in instance.demand:
        if d.places > 0:
            needs.setdefault(d.authority, set()).add(d.placement_type)
    taken = set(instance.providers)
    found = []
    for a in members:
        types = set().union(*(serves.get(n, {n}) for n in needs.get(a, set())))
        for t in instance.placement_types:
            if t not in types or t not in medians.index:
                continue
            provider = _fresh_id(f"{CANDIDATE_PREFIX}:{a}:{t}", taken)
            found.append(Candidate(provider, a, t, float(medians.at[t, "weekly_price"]),
                                   float(medians.at[t, "breakdown_rate"])))
    return found


def _fresh_id(base: str, taken: set[str]) -> str:
    name, i = base, 1
    while name in taken:
        i += 1
        name = f"{base}:{i}"
    taken.add(name)
    return name


def _located(instance: Instance, authority: str) -> bool:
    home = instance.authorities[authority]
    return home.lat is not None and home.lon is not None


def with_candidates(instance: Instance, found: list[Candidate], capacity: float) -> Instance:
    """A copy of ``instance`` with the candidates as providers and offers of ``capacity``.

    Where the candidate's authority or another member has no coordinates (validation then
    requires listed distances, which a new provider lacks), the pair gets a placeholder
    distance of 0 and ``candidate_market`` drops its arcs: the candidate serves only the
    members it has a distance to (always its own authority, at 0 km)."""
    providers = dict(instance.providers)
    offers = list(instance.offers)
    distances = list(instance.distances)
    for c in found:
        home = instance.authorities[c.authority]
        providers[c.provider] = Provider(
            id=c.provider, name=f"new {c.placement_type} at {home.name}", kind="independent",
            lat=home.lat, lon=home.lon, rating="unrated")
        offers.append(Offer(provider=c.provider, placement_type=c.placement_type,
                            capacity=capacity, weekly_price=c.weekly_price,
                            breakdown_rate=c.breakdown_rate))
        located = _located(instance, c.authority)
        distances += [Distance(authority=b, provider=c.provider, km=0.0)
                      for b in instance.authorities
                      if b == c.authority or not (located and _located(instance, b))]
    return replace(instance, providers=providers, offers=tuple(offers),
                   distances=tuple(distances))


def candidate_market(instance: Instance, members: tuple[str, ...], found: list[Candidate]):
    """The run's market with the candidates added (capacity large enough never to bind: the
    capacity the LP sees is set on its rows), without the arcs of unknown distance."""
    big = float(instance.total_demand) + 1.0
    market = build_market(with_candidates(instance, found, min(big, 1e7)), list(members))
    home = {c.provider: c.authority for c in found}
    arcs = market.arcs
    candidate = arcs["provider"].map(home)
    located = [a for a in instance.authorities if _located(instance, a)]
    unknown = (candidate.notna() & (arcs["authority"] != candidate)
               & ~(arcs["authority"].isin(located) & candidate.isin(located)))
    if unknown.any():
        market = replace(market, arcs=arcs[~unknown].reset_index(drop=True))
    return market


def _fixed_lp(model, plan_model, plan_values: np.ndarray, candidate_rows: np.ndarray):
    """The candidate model's program with z and o fixed at the plan's values, no integers,
    every member's local shortfall and excess at most the plan's, and every candidate's
    capacity row at 0."""
    program = model.program
    lower, upper = program.col_lower, program.col_upper
    fixed = np.zeros(program.num_cols, dtype=bool)
    pairs = [
        (model.tiers, plan_model.tiers, ["group", "k"], "z"),
        (model.contract, plan_model.contract, ["provider"], "o"),
    ]
    for mine, theirs, keys, column in pairs:
        if mine is None or mine.empty:
            continue
        joined = mine[keys + [column]].merge(theirs[keys + [column]], on=keys,
                                             suffixes=("", "_plan"), how="left")
        if joined[f"{column}_plan"].isna().any():
            raise ValueError(f"candidate model has {column} columns the plan lacks")
        value = np.round(plan_values[joined[f"{column}_plan"].to_numpy(dtype=np.int64)])
        cols = joined[column].to_numpy(dtype=np.int64)
        lower[cols] = upper[cols] = value
        fixed[cols] = True
    if (program.integrality & ~fixed).any():
        raise ValueError("an integer column of the candidate model is not fixed")
    held = [(model.shortfall, plan_model.shortfall)]
    if model.excess is not None:
        held.append((model.excess, plan_model.excess))
    for mine, theirs in held:  # no member's shortfall or excess above the plan's
        mine, theirs = np.asarray(mine), np.asarray(theirs)
        if mine.shape != theirs.shape:
            raise ValueError("candidate model and plan differ in members")
        kept = mine >= 0
        value = np.clip(plan_values[theirs[kept]], 0.0, None)
        upper[mine[kept]] = value * (1 + HELD_TOLERANCE) + HELD_TOLERANCE
    row_upper = program.bounds_upper
    row_upper[candidate_rows] = 0.0
    return replace(program, lower=[lower], upper=[upper],
                   integer=[np.zeros(program.num_cols, dtype=bool)],
                   row_lower=[program.bounds_lower], row_upper=[row_upper])


def _highs(lp, time_limit: float) -> highspy.Highs:
    highs = new_highs()
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    highs.passModel(_highs_lp(lp))
    return highs


def _own_rows(lp, x_cols: np.ndarray, owner_of_x: np.ndarray) -> np.ndarray:
    """Rows that belong to one candidate: its capacity row and, when max_provider_share < 1,
    its concentration row (the rows of those blocks whose placement entries are all its
    arcs'). Demand, cost and locality rows are shared, even where a need has no other arc."""
    matrix = lp.matrix()
    owner = np.full(matrix.shape[1], -2, dtype=np.int64)  # -2: not an x column
    owner[x_cols] = owner_of_x
    rows = matrix.tocsr()
    x_entry = owner[rows.indices] != -2
    row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    entries = owner[rows.indices][x_entry]
    where = row_of_entry[x_entry]
    low = np.full(rows.shape[0], np.iinfo(np.int64).max)
    high = np.full(rows.shape[0], -3)
    np.minimum.at(low, where, entries)
    np.maximum.at(high, where, entries)
    owned = (low == high) & (high >= 0)
    blocks = np.zeros(rows.shape[0], dtype=bool)
    for name in ("capacity", "concentration"):
        if name in lp.row_blocks:
            blocks[lp.row_blocks[name]] = True
    return np.flatnonzero(owned & blocks)


class CandidateLP:
    """The fixed-integer LP of a run with the candidates added, solved at b = 0, kept warm.

    ``saving(i)``: candidate i's dual saving per place (at STEP) and the need it serves;
    ``resolve(i, places)``: v(0) - v(places) with candidate i's capacity at ``places``; the
    others stay at 0 after each call."""

    def __init__(self, outcome):
        plan, instance = outcome.plan, outcome.instance
        self.found = candidates(instance, outcome.market.members)
        self.market = candidate_market(instance, outcome.market.members, self.found)
        model = build_framework_model(self.market, outcome.standalone.cost,
                                      plan.model.excess is not None, False, plan.model.tracked)
        model.program.objective_terms.clear()
        model.program.add_objective(model.cost, 1.0)  # real spend only: penalties are held
        self.model = model
        arcs = model.arcs
        index = {c.provider: i for i, c in enumerate(self.found)}
        self.arc_owner = arcs["provider"].map(index).fillna(-1).to_numpy(dtype=np.int64)
        self.x_cols = arcs["x"].to_numpy(dtype=np.int64)
        first = arcs[self.arc_owner >= 0].drop_duplicates("provider")
        self.cap_row = np.full(len(self.found), -1, dtype=np.int64)
        self.cap_row[first["provider"].map(index).to_numpy(dtype=np.int64)] = (
            model.program.row_blocks["capacity"].start + first["offer_row"].to_numpy())
        self.lp = _fixed_lp(model, plan.model, plan.result.values,
                            self.cap_row[self.cap_row >= 0])
        self.highs = _highs(self.lp, instance.policy.time_limit_s)
        self.highs.run()
        self.solved = self._optimal()
        self.objective = (self.highs.getInfo().objective_function_value if self.solved
                          else None)
        self.row_dual = (np.asarray(self.highs.getSolution().row_dual) if self.solved
                         else None)

    def _optimal(self) -> bool:
        return self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal

    @property
    def status(self) -> str:
        return self.highs.modelStatusToString(self.highs.getModelStatus())

    def priced_bound(self) -> np.ndarray:
        """Per candidate, max(0, max_j -(c_j - A_j^T y')) at the duals y of the LP at b = 0,
        y' leaving out the candidate's own rows: an upper bound on its saving per place (see
        the module docstring); 0 means it saves nothing."""
        lp, row_dual = self.lp, self.row_dual
        matrix = lp.matrix()
        others = row_dual.copy()
        others[_own_rows(lp, self.x_cols, self.arc_owner)] = 0.0
        mine = np.flatnonzero(self.arc_owner >= 0)
        priced = lp.cost[self.x_cols[mine]] - matrix[:, self.x_cols[mine]].T @ others
        best = np.zeros(len(self.found))
        np.maximum.at(best, self.arc_owner[mine], -np.asarray(priced).ravel())
        return best

    def _set(self, i: int, places: float) -> None:
        self.highs.changeRowBounds(int(self.cap_row[i]), -highspy.kHighsInf, float(places))

    def saving(self, i: int) -> tuple[float, str]:
        """-y_cand at capacity STEP (nan if not solved), and "authority:need" of the arc that
        takes the place there (blank if it saves nothing)."""
        if self.cap_row[i] < 0:
            return 0.0, ""
        self._set(i, STEP)
        self.highs.run()
        saving, serves = float("nan"), ""
        if self._optimal():
            solution = self.highs.getSolution()
            saving = max(0.0, -float(solution.row_dual[self.cap_row[i]]))
            mine = np.flatnonzero(self.arc_owner == i)
            used = np.asarray(solution.col_value)[self.x_cols[mine]]
            if saving > SAVING_TOLERANCE and used.max() > 0:
                j = mine[int(np.argmax(used))]
                arcs = self.model.arcs
                serves = f"{arcs.at[j, 'authority']}:{arcs.at[j, 'need']}"
        self._set(i, 0.0)
        return saving, serves

    def resolve(self, i: int, places: float = 1.0) -> float | None:
        """v(0) - v(places) with candidate i at ``places`` (None if not solved)."""
        if self.cap_row[i] < 0:
            return 0.0
        self._set(i, places)
        self.highs.run()
        value = (self.objective - self.highs.getInfo().objective_function_value
                 if self._optimal() else None)
        self._set(i, 0.0)
        return value


def investment_signals(outcome, resolve_top: int = RESOLVE_TOP) -> InvestmentSignals:
    """Signals of a run (``optimiser.run.RunOutcome``): see the module docstring."""
    started = time.perf_counter()
    if not candidates(outcome.instance, outcome.market.members):
        return InvestmentSignals(_table([]), {}, None, time.perf_counter() - started, 0.0, 0.0)
    lp = CandidateLP(outcome)
    found = lp.found
    if not lp.solved:
        return InvestmentSignals(_table([]), {}, None, time.perf_counter() - started, 0.0, 0.0,
                                 f"investment signals not computed: the fixed-integer LP was "
                                 f"not solved ({lp.status})")
    duals_started = time.perf_counter()
    bound = lp.priced_bound()
    saving, exact, serves, failed = _exact_savings(lp, bound)
    rows = [{"authority": c.authority, "placement_type": c.placement_type,
             "saving_per_place_year": saving[i], "exact": bool(exact[i]), "resolve_saving": None,
             "price_assumed_weekly": c.weekly_price, "serves": serves[i], "_i": i}
            for i, c in enumerate(found)]
    rows.sort(key=lambda r: -r["saving_per_place_year"])  # stable: instance order on ties
    dual_seconds = time.perf_counter() - duals_started
    resolve_started = time.perf_counter()
    for row in rows[:resolve_top]:
        row["resolve_saving"] = lp.resolve(row["_i"])
    resolve_seconds = time.perf_counter() - resolve_started
    warning = (f"investment: the LP at {STEP:g} place was not solved for "
               f"{', '.join(failed)}; their saving is the upper bound from the duals at 0"
               if failed else None)
    priced = {(c.authority, c.placement_type): float(bound[i]) for i, c in enumerate(found)}
    return InvestmentSignals(_table(rows), priced, lp.objective, time.perf_counter() - started,
                             dual_seconds, resolve_seconds, warning)


def _exact_savings(lp: CandidateLP, bound: np.ndarray, top: int = EXACT_TOP
                   ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Per candidate: the saving (exact at STEP, or the bound s), whether it is exact, the
    need it serves, and the candidates whose LP at STEP failed. See ``EXACT_TOP``."""
    saving = np.where(bound > SAVING_TOLERANCE, bound, 0.0)
    exact = bound <= SAVING_TOLERANCE  # s = 0 proves a zero saving
    serves = [""] * len(bound)
    failed: list[str] = []
    best: list[float] = []  # the `top` largest exact savings so far, smallest first (a heap)
    for i in sorted(np.flatnonzero(bound > SAVING_TOLERANCE), key=lambda i: (-bound[i], i)):
        if len(best) >= top and bound[i] <= best[0]:
            break
        value, serves[i] = lp.saving(i)
        if np.isfinite(value):
            saving[i], exact[i] = value, True
            (heapq.heappush if len(best) < top else heapq.heappushpop)(best, value)
        else:
            failed.append(f"{lp.found[i].authority}:{lp.found[i].placement_type}")
    return saving, exact, serves, failed


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[c for c in INVESTMENT_COLUMNS if c != "rank"])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.astype({"resolve_saving": object}).reset_index(drop=True)
