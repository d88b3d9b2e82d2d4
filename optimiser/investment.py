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
integer decisions fixed. Let v(b) be the optimal objective of the run's model (voice ``volume``:
total annual cost + local shortfall and excess penalties; the run's individual rationality rows
and tracked members) with every tier z and contract o fixed at the plan's values, places
continuous (also under ``integer_places``), and every candidate's capacity row
``sum_{b,n} x[b,cand,t,n] <= b`` at b = 0. v is convex and piecewise linear in b, and its
slope is the dual of the capacity row: the saving of one more place is -dv/db.

HiGHS' sign convention: ``row_dual`` y is dv/d(row bound), so for a minimisation a binding
``<=`` row has y <= 0 and the saving per place is -y; reduced costs are d = c - A^T y. At b = 0
the candidate's columns sit at 0 with the row tight, a degenerate vertex: HiGHS may return any
y_cap <= -s for the row and put the rest in the columns' reduced costs (after presolve removes
the row, typically y_cap = 0). So the dual is read in a form that does not depend on that
split: with y' the row duals with the candidate's own rows removed (its capacity row, and its
concentration row when max_provider_share < 1, which is slack for a place or more),

    s(a,t) = max(0, max over the candidate's arcs j of -(c_j - A_j^T y'))

the most that one of its arcs would lower the objective per place, priced at the other rows'
duals. -s(a,t) is the capacity row's dual at the basis in which that arc enters (the largest
y_cap <= 0 keeping every reduced cost >= 0): the right-hand slope of v at 0 for these duals of
the other rows. Because y' (with y_cap = -s) is dual feasible for every b, weak duality gives
v(0) - v(1) <= s: re-solving with one place can confirm s, never beat it (up to tolerances). They
are equal when the basis stays optimal over the step (the place is used in full by the arc that
prices it, and no other row's dual changes); they differ when one place is more than the step
allows (e.g. the best need has less than one place left to move) or when the other rows' duals
are not unique (a degenerate plan: then s is one subgradient).

Confirmation: the top ``resolve_top`` candidates are re-solved with their capacity row at 1
(the others stay at 0), warm-started from the optimal basis, and ``resolve_saving`` = v(0) -
v_cand(1). Everything runs with HiGHS whatever the run's solver, because it needs duals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import pandas as pd

from models.framework import build_framework_model, set_objective
from optimiser.market import build_market, service_pairs
from optimiser.records import Instance
from optimiser.schema import Distance, Offer, Provider
from optimiser.solvers.highs import _highs_lp

INVESTMENT = "investment.csv"
#: one row per candidate, best first. saving_per_place_year: s(a,t) from the duals (module
#: docstring); resolve_saving: v(0) - v(1) from re-solving with one place (top candidates only,
#: blank beyond); price_assumed_weekly: the candidate's weekly price (median of type t's
#: offers); serves: the member and need "authority:need" whose arc prices the place (blank when
#: the place saves nothing).
INVESTMENT_COLUMNS = (
    "rank", "authority", "placement_type", "saving_per_place_year", "resolve_saving",
    "price_assumed_weekly", "serves",
)

#: candidates re-solved with one more place (the issue's acceptance: the top 10)
RESOLVE_TOP = 10
#: signals listed in summary.json
SUMMARY_TOP = 10
#: id prefix of the candidate providers (a suffix is added if an instance uses it)
CANDIDATE_PREFIX = "new"


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
    row_dual: dict[tuple[str, str], float]  # -y_cap as HiGHS returned it (degenerate: see doc)
    objective: float | None  # v(0)
    seconds: float
    lp_seconds: float
    resolve_seconds: float
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


def with_candidates(instance: Instance, found: list[Candidate], capacity: float) -> Instance:
    """A copy of ``instance`` with the candidates as providers and offers of ``capacity``.

    A candidate at an authority without coordinates gets listed distances: 0 to its authority,
    and (as a placeholder) 0 to the others, whose arcs ``candidate_market`` then drops, so it
    serves its own authority only."""
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
        if home.lat is None or home.lon is None:
            distances += [Distance(authority=b, provider=c.provider, km=0.0)
                          for b in instance.authorities]
    return replace(instance, providers=providers, offers=tuple(offers),
                   distances=tuple(distances))


def candidate_market(instance: Instance, members: tuple[str, ...], found: list[Candidate]):
    """The run's market with the candidates added (capacity large enough never to bind: the
    capacity the LP sees is set on its rows)."""
    big = float(instance.total_demand) + 1.0
    market = build_market(with_candidates(instance, found, min(big, 1e7)), list(members))
    home = {c.provider: c.authority for c in found}
    unplaced = {c.provider for c in found
                if instance.authorities[c.authority].lat is None
                or instance.authorities[c.authority].lon is None}
    if unplaced:
        arcs = market.arcs
        drop = arcs["provider"].isin(unplaced) & (arcs["authority"]
                                                  != arcs["provider"].map(home))
        market = replace(market, arcs=arcs[~drop].reset_index(drop=True))
    return market


def _fixed_lp(model, plan_model, plan_values: np.ndarray, candidate_rows: np.ndarray):
    """The candidate model's program with z and o fixed at the plan's values, no integers,
    and every candidate's capacity row at 0."""
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
    row_upper = program.bounds_upper
    row_upper[candidate_rows] = 0.0
    return replace(program, lower=[lower], upper=[upper],
                   integer=[np.zeros(program.num_cols, dtype=bool)],
                   row_lower=[program.bounds_lower], row_upper=[row_upper])


def _highs(lp, time_limit: float) -> highspy.Highs:
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    highs.passModel(_highs_lp(lp))
    return highs


def _own_rows(matrix, x_cols: np.ndarray, owner_of_x: np.ndarray) -> np.ndarray:
    """Per row, the candidate owning it (-1 if none): rows whose placement (x) entries all
    belong to one candidate's arcs (its capacity and concentration rows)."""
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
    return np.where((low == high) & (high >= 0), high, -1)


def investment_signals(outcome, resolve_top: int = RESOLVE_TOP) -> InvestmentSignals:
    """Signals of a run (``optimiser.run.RunOutcome``): see the module docstring."""
    started = time.perf_counter()
    plan, instance = outcome.plan, outcome.instance
    members = outcome.market.members
    found = candidates(instance, members)
    if not found:
        return InvestmentSignals(_table([]), {}, None, time.perf_counter() - started, 0.0, 0.0)
    market = candidate_market(instance, members, found)
    individual_rationality = plan.model.excess is not None
    model = build_framework_model(market, outcome.standalone.cost, individual_rationality,
                                  False, plan.model.tracked)
    set_objective(model, np.ones(len(model.holder_share)))
    program = model.program
    arcs = model.arcs
    index = {c.provider: i for i, c in enumerate(found)}
    arc_owner = arcs["provider"].map(index).fillna(-1).to_numpy(dtype=np.int64)
    capacity_start = program.row_blocks["capacity"].start
    cap_arcs = arcs[arc_owner >= 0].drop_duplicates("provider")
    cap_row = np.full(len(found), -1, dtype=np.int64)
    cap_row[cap_arcs["provider"].map(index).to_numpy()] = (
        capacity_start + cap_arcs["offer_row"].to_numpy())
    has_arcs = cap_row >= 0
    lp = _fixed_lp(model, plan.model, plan.result.values, cap_row[has_arcs])
    lp_started = time.perf_counter()
    highs = _highs(lp, instance.policy.time_limit_s)
    highs.run()
    lp_seconds = time.perf_counter() - lp_started
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        text = highs.modelStatusToString(highs.getModelStatus())
        return InvestmentSignals(_table([]), {}, None, time.perf_counter() - started,
                                 lp_seconds, 0.0, f"investment signals not computed: the "
                                 f"fixed-integer LP was not solved ({text})")
    objective = highs.getInfo().objective_function_value
    solution = highs.getSolution()
    row_dual = np.asarray(solution.row_dual)
    matrix = lp.matrix()
    x_cols = arcs["x"].to_numpy(dtype=np.int64)
    own = _own_rows(matrix, x_cols, arc_owner)
    others = np.where(own >= 0, 0.0, row_dual)
    mine = np.flatnonzero(arc_owner >= 0)
    priced = lp.cost[x_cols[mine]] - matrix[:, x_cols[mine]].T @ others
    saving = -np.asarray(priced).ravel()
    best = np.full(len(found), 0.0)
    serves = [""] * len(found)
    for j, value in zip(mine, saving):
        i = arc_owner[j]
        if value > best[i] + 1e-9:
            best[i] = value
            serves[i] = f"{arcs.at[j, 'authority']}:{arcs.at[j, 'need']}"
    rows = [{"authority": c.authority, "placement_type": c.placement_type,
             "saving_per_place_year": best[i], "resolve_saving": None,
             "price_assumed_weekly": c.weekly_price, "serves": serves[i], "_i": i}
            for i, c in enumerate(found)]
    rows.sort(key=lambda r: -r["saving_per_place_year"])  # stable: instance order on ties
    resolve_started = time.perf_counter()
    for row in rows[:resolve_top]:
        row["resolve_saving"] = _resolve(highs, cap_row[row["_i"]], objective)
    resolve_seconds = time.perf_counter() - resolve_started
    raw = {(c.authority, c.placement_type): (-float(row_dual[cap_row[i]]) if cap_row[i] >= 0
                                            else 0.0) for i, c in enumerate(found)}
    return InvestmentSignals(_table(rows), raw, objective, time.perf_counter() - started,
                             lp_seconds, resolve_seconds)


def _resolve(highs: highspy.Highs, row: int, objective: float) -> float | None:
    """v(0) - v(1) for the candidate whose capacity row is ``row`` (-1: no arcs, saves 0)."""
    if row < 0:
        return 0.0
    highs.changeRowBounds(int(row), -highspy.kHighsInf, 1.0)
    highs.run()
    ok = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = objective - highs.getInfo().objective_function_value if ok else None
    highs.changeRowBounds(int(row), -highspy.kHighsInf, 0.0)
    return value


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[c for c in INVESTMENT_COLUMNS if c != "rank"])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.astype({"resolve_saving": object}).reset_index(drop=True)
