"""The two-stage stochastic guarantee model: commit to guarantees now, place children later.

**Stages.** First stage, decided before demand is known and held in every scenario:

* y[c] in {0,1}: commit to guarantee c, a guarantee tier (g,k) of docs/model.md section 3 (a
  block contract: the consortium pays for its min_places m_c whether it uses them or not);
* o[p] in {0,1}: hold a contract with provider p (where ``models.framework`` models one:
  contract_cost_year > 0 or min_places > 0); its contract cost is paid in every scenario.

Second stage, per scenario s with demand d^s and probability p_s: everything else of the
framework model of docs/model.md section 4 (``models.framework``) with d replaced by d^s: places
x^s, unmet places u^s (bought at the emergency price), the tier actually reached z^s[g,k]
(plain volume discounts are earned, not committed: a plain tier applies in the scenarios whose
volume reaches it), void places void^s (guaranteed but unused), spend and volume copies, the
cost holder cost^s and local shortfall short^s. C^s = cost^s + local_shortfall_penalty_year *
sum_a short^s[a] is the scenario's annual cost (the objective of docs/model.md section 4 under
voice ``volume``).

The second stage of one scenario is exactly ``build_framework_model`` on the market with the
scenario's demand (no individual rationality: a guarantee is judged on the consortium's total
cost; every member's standalone cost in every scenario would be one more solve each): the
framework's builders make a *template* once (:func:`build_second_stage`) and its rows and
columns are copied per scenario in bulk (:func:`add_scenario_copies`). The template is built on
the *envelope* demand (each need's largest over every scenario the template will see), so the
coefficients that depend on demand (the contract link's min(d, cap), the tier groups' largest
volume U_g and spend Smax) are valid bounds in every scenario; what differs between scenarios
are row and column bounds only: demand rows, locality targets, and the bounds of x and u.

**Objective** (mean-risk, Rockafellar-Uryasev): with risk weight w in [0,1] and level alpha in
[0,1),

    minimise (1 - w) * sum_s p_s C^s + w * CVaR_alpha(C),
    CVaR_alpha(C) = min_eta  eta + 1/(1 - alpha) * sum_s p_s (C^s - eta)^+,

linearised with t^s >= C^s - eta, t^s >= 0 (:func:`add_cvar_rows`). The weighted average keeps
the objective in pounds a year: w = 0 is the expected annual cost, w = 1 the mean of the
worst (1 - alpha) share of years.

Weights p_s are an input: a sample average approximation gives every drawn scenario 1/N, and
an enumerated distribution (the closed-form oracle's truncated Poisson) its probabilities.

With one scenario at the expected demand and w = 0 the model is the framework model of
``optimise run`` (voice ``volume``, no individual rationality) plus y, whose rows only copy the
guarantee tier chosen: the same optimum (tests/test_guarantee.py).

**Guarantees over a range** (``--places P=LO..HI``): provider P's tiers are replaced by
guarantee tiers at N = max(LO,1)..HI places, all at one discount, and P can take at least what
it guarantees: its capacity in scope is max(listed capacity as the consortium sees it, N)
(:func:`add_guarantee_capacity`). A *block* provider, whose listed capacity in scope is no more
than its offered guarantee's min_places, sells only guaranteed places: its capacity under N is
N, and without a guarantee it has none (the block exists only through its contract).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.framework import FrameworkModel, build_framework_model, set_objective
from optimiser.market import Market, TierGroup
from optimiser.program import INF, LinearProgram

# --------------------------------------------------------------------------- markets


def with_demand(market: Market, places: np.ndarray) -> Market:
    """``market`` with its needs' places replaced (same rows, same order) and each arc's upper
    bound min(d[a,n], cap[p,t], max_places[p]) recomputed. Members' shares of the shared costs
    and the capacity each offer is seen with stay those of the expected demand."""
    needs = market.needs.copy()
    needs["places"] = np.asarray(places, dtype=float)
    arcs = market.arcs.drop(columns=["upper"])
    demand = needs.set_index(["authority", "need"])["places"]
    capacity = market.offers.set_index(["provider", "placement_type"])["capacity"]
    max_places = market.providers.set_index("provider")["max_places"]
    d = demand.reindex(pd.MultiIndex.from_frame(arcs[["authority", "need"]])).to_numpy()
    cap = capacity.reindex(pd.MultiIndex.from_frame(arcs[["provider", "placement_type"]]))
    upper = np.minimum(np.minimum(d, cap.to_numpy()), max_places.reindex(arcs["provider"])
                       .to_numpy())
    columns = list(market.arcs.columns)
    arcs = arcs.assign(upper=upper)[columns]
    return replace(market, needs=needs, arcs=arcs)


@dataclass(frozen=True)
class GuaranteeRange:
    """Provider ``provider``'s guarantee at N = ``low``..``high`` places over offer type
    ``placement_type`` at ``discount_pct``; ``seen_capacity``: its listed capacity as the
    consortium sees it (docs/model.md section 5)."""

    provider: str
    placement_type: str
    low: int
    high: int
    discount_pct: float
    seen_capacity: float
    block: bool = False  # P sells only guaranteed places: under N its capacity is N, else 0

    @property
    def base_capacity(self) -> float:
        """P's capacity in scope without a guarantee: none for a block."""
        return 0.0 if self.block else self.seen_capacity

    def capacity(self, places: np.ndarray | float) -> np.ndarray | float:
        """P's capacity in scope under a guarantee of ``places``: N for a block, else
        max(seen capacity, N)."""
        return places if self.block else np.maximum(self.seen_capacity, places)

    @property
    def places(self) -> tuple[int, ...]:
        return tuple(range(max(self.low, 1), self.high + 1))


def with_range(market: Market, spec: GuaranteeRange) -> Market:
    """``market`` with P's tier groups replaced by the range's guarantee tiers and P's offer in
    scope able to take HI places (the guarantee's own capacity rows bring it back to
    max(seen capacity, N): :func:`add_guarantee_capacity`)."""
    offers = market.offers.copy()
    scope = (offers["provider"] == spec.provider) & (
        offers["placement_type"] == spec.placement_type)
    offers.loc[scope, "capacity"] = np.maximum(offers.loc[scope, "capacity"], spec.high)
    groups = tuple(g for g in market.groups if g.provider != spec.provider)
    places = spec.places
    if places:
        groups += (TierGroup(spec.provider, spec.placement_type, tuple(float(n) for n in places),
                             (spec.discount_pct,) * len(places), (True,) * len(places)),)
    widened = replace(market, offers=offers, groups=groups)
    return with_demand(widened, widened.needs["places"].to_numpy())


# --------------------------------------------------------------------------- the template


@dataclass
class SecondStage:
    """One scenario's recourse problem as a template (see the module docstring).

    Arrays are over the template's columns ("cols") and rows: its constraint matrix as triplets,
    bounds, integrality and objective c (C^s = c . v^s). ``first``: the template columns that
    are first stage (contract o); ``second``: the others, in order; ``local``: each template
    column's index within its stage. ``commitments``: one row per guarantee tier that can be
    committed: group, k, provider, scope, places (m_c), discount, z (template column),
    void (template column), higher (template z columns of tiers k' >= k of its group),
    capacity_row (template row whose capacity grows with it, -1 if none), extra (capacity added
    when committed), origin (``offered`` or ``range``).
    """

    model: FrameworkModel
    rows: np.ndarray
    cols: np.ndarray
    coefs: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    cost: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    first: np.ndarray
    second: np.ndarray
    local: np.ndarray
    commitments: pd.DataFrame
    demand_rows: np.ndarray
    locality_rows: np.ndarray  # template rows of the locality family (members with a target)
    locality_of_need: np.ndarray  # index into locality_rows of each need's member, -1 if none
    locality_target: np.ndarray  # m_a of each locality row
    range_spec: GuaranteeRange | None = None
    readout: dict = None  # second-stage positions of the columns read back (``_readout``)

    @property
    def num_cols(self) -> int:
        return len(self.col_lower)

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)

    @property
    def needs(self) -> pd.DataFrame:
        return self.model.needs

    def second_local(self, template_cols) -> np.ndarray:
        """Indices within the second stage of template columns that are second stage."""
        return self.local[np.asarray(template_cols, dtype=np.int64)]


def build_second_stage(market: Market, envelope: np.ndarray,
                       range_spec: GuaranteeRange | None = None) -> SecondStage:
    """The template: the framework model (voice ``volume``, no individual rationality, no member
    tracked) on ``market`` with demand ``envelope`` (see the module docstring)."""
    if range_spec is not None:
        market = with_range(market, range_spec)
    model = build_framework_model(with_demand(market, envelope), tracked=(),
                                  integer_places=market.instance.policy.integer_places)
    set_objective(model, np.ones(len(model.holder_share)))
    program = model.program
    matrix = program.matrix().tocoo()
    first = np.asarray(model.contract["o"], dtype=np.int64)
    is_first = np.zeros(program.num_cols, dtype=bool)
    is_first[first] = True
    second = np.flatnonzero(~is_first)
    local = np.empty(program.num_cols, dtype=np.int64)
    local[first] = np.arange(len(first))
    local[second] = np.arange(len(second))
    cost = program.cost
    if np.any(cost[first] != 0):
        raise ValueError("the template's objective must not price first-stage columns")
    row_upper = program.bounds_upper
    commitments = _commitments(model, range_spec)
    if range_spec is not None:  # the capacity P is seen with; committed places add to it
        grows = commitments.loc[commitments["capacity_row"] >= 0, "capacity_row"]
        row_upper[grows.to_numpy(dtype=np.int64)] = range_spec.base_capacity
    locality_rows, locality_of_need, target = _locality(model)
    integer = program.integrality
    integer[_implied_tiers(model)] = False
    stage = SecondStage(
        model=model, rows=matrix.row.astype(np.int64), cols=matrix.col.astype(np.int64),
        coefs=matrix.data, col_lower=program.col_lower, col_upper=program.col_upper,
        integer=integer, cost=cost, row_lower=program.bounds_lower,
        row_upper=row_upper, first=first, second=second, local=local,
        commitments=commitments,
        demand_rows=np.arange(program.row_blocks["demand"].start,
                              program.row_blocks["demand"].stop),
        locality_rows=locality_rows, locality_of_need=locality_of_need,
        locality_target=target, range_spec=range_spec)
    stage.readout = _readout(stage)
    return stage


def _readout(stage: SecondStage) -> dict:
    """Second-stage positions (and prices) of the columns bounds are set on and figures read
    from, computed once rather than per scenario."""
    model = stage.model
    arcs, needs = model.arcs, model.needs
    tiers = model.tiers.merge(model.groups[["group", "void_fee"]], on="group")
    voids = tiers[tiers["void"] >= 0]
    scopes = []
    for row in stage.commitments.itertuples():
        scope = arcs[arcs["group"] == row.group]
        scopes.append((stage.second_local(scope["x"]), scope["fee_year"].to_numpy()))
    return {
        "u": stage.second_local(needs["u"]),
        "x": stage.second_local(arcs["x"]),
        "x_need": arcs["need_row"].to_numpy(dtype=np.int64),
        "holders": stage.second_local(model.cost),
        "voids": stage.second_local(voids["void"]),
        "void_price": voids["void_fee"].to_numpy() * (1 - voids["discount"].to_numpy() / 100),
        "commit_z": stage.second_local(stage.commitments["z"]),
        "commit_void": stage.second_local(stage.commitments["void"]),
        "commit_void_fee": stage.commitments["void_fee"].to_numpy(dtype=float),
        "commit_scope": scopes,
        "priced": np.flatnonzero(stage.cost[stage.second]),
        "held_z": _pairs([list(h) for h in stage.commitments["higher"]]),
        "held_y": _pairs(_same_group_above(stage.commitments)),
    }


def _pairs(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(owner index, item) flattened from one list per owner."""
    owners = np.repeat(np.arange(len(lists)), [len(items) for items in lists])
    items = np.array([i for items in lists for i in items], dtype=np.int64)
    return owners.astype(np.int64), items


def _same_group_above(commitments: pd.DataFrame) -> list[list[int]]:
    """For each commitment, the commitments of its group at its tier or above."""
    groups, levels = commitments["group"].to_numpy(), commitments["k"].to_numpy()
    return [list(np.flatnonzero((groups == g) & (levels >= k))) for g, k in zip(groups, levels)]


def _implied_tiers(model: FrameworkModel) -> np.ndarray:
    """z columns of groups whose tiers are all guarantees. There the links of
    ``add_guarantee_links`` give z^s[g,k] = y[c] for every k >= 1 (from the top tier down:
    z_top <= y_top <= z_top, and so on) and z^s[g,0] = 1 - sum y, so integral y make them
    integral: they need not be integer columns (on the closed-form oracle, 1,736 fewer
    integers and a root solve several times faster)."""
    tiers = model.tiers
    plain = tiers[(tiers["k"] > 0) & ~tiers["guarantee"].astype(bool)]["group"].unique()
    return tiers.loc[~tiers["group"].isin(plain), "z"].to_numpy(dtype=np.int64)


def _commitments(model: FrameworkModel, range_spec: GuaranteeRange | None) -> pd.DataFrame:
    """The guarantee tiers of the template (module docstring of :class:`SecondStage`)."""
    tiers = model.tiers.merge(model.groups[["group", "provider", "scope", "void_fee"]],
                              on="group")
    higher = {(g, k): tuple(int(z) for z in tiers.loc[(tiers["group"] == g)
                                                       & (tiers["k"] >= k), "z"])
              for g, k in zip(tiers["group"], tiers["k"])}
    chosen = tiers[(tiers["k"] > 0) & tiers["guarantee"].astype(bool)].copy()
    chosen["places"] = chosen["min"].astype(float)
    chosen["higher"] = [higher[(g, k)] for g, k in zip(chosen["group"], chosen["k"])]
    chosen["origin"] = "offered"
    chosen["capacity_row"] = -1
    chosen["extra"] = 0.0
    if range_spec is not None:
        mine = (chosen["provider"] == range_spec.provider) & (
            chosen["scope"] == range_spec.placement_type)
        chosen.loc[mine, "origin"] = "range"
        chosen.loc[mine, "capacity_row"] = _capacity_row(model, range_spec)
        chosen.loc[mine, "extra"] = (range_spec.capacity(chosen.loc[mine, "places"])
                                     - range_spec.base_capacity)
    columns = ["group", "k", "provider", "scope", "places", "discount", "z", "volume", "void",
               "void_fee", "higher", "capacity_row", "extra", "origin"]
    return chosen[columns].reset_index(drop=True)


def _capacity_row(model: FrameworkModel, spec: GuaranteeRange) -> int:
    """Template row of the capacity of P's offer in the range's scope."""
    arcs = model.arcs
    mine = arcs[(arcs["provider"] == spec.provider)
                & (arcs["placement_type"] == spec.placement_type)]
    start = model.program.row_blocks["capacity"].start
    return int(start + mine["offer_row"].iloc[0])


def _locality(model: FrameworkModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the locality family, the row of each need's member (-1: none) and targets."""
    targeted = np.flatnonzero(model.shortfall >= 0)
    of_need = np.full(len(model.needs), -1, dtype=np.int64)
    if targeted.size == 0 or "locality" not in model.program.row_blocks:
        return np.zeros(0, dtype=np.int64), of_need, np.zeros(0)
    block = model.program.row_blocks["locality"]
    position = {m: i for i, m in enumerate(targeted)}
    members = model.needs["member"].to_numpy()
    of_need = np.array([position.get(m, -1) for m in members], dtype=np.int64)
    market = model.market
    target = np.array([market.local_target[model.members[m]] for m in targeted])
    return np.arange(block.start, block.stop), of_need, target


# --------------------------------------------------------------------------- first stage


@dataclass(frozen=True)
class FirstStage:
    """A first-stage decision: commitments y (one 0/1 per ``SecondStage.commitments`` row) and
    contracts o (one 0/1 per template ``first`` column; None: left to the model)."""

    commit: tuple[int, ...]
    contract: tuple[int, ...] | None


@dataclass(frozen=True)
class Risk:
    """The mean-risk objective: weight w in [0,1] on CVaR at level alpha in [0,1)."""

    level: float = 0.9
    weight: float = 0.0


# --------------------------------------------------------------------------- extensive form


@dataclass
class ExtensiveForm:
    """The deterministic equivalent over S scenarios, and where each block of columns is."""

    stage: SecondStage
    program: LinearProgram
    weights: np.ndarray
    demand: np.ndarray
    y: np.ndarray  # column per commitment
    o: np.ndarray  # column per first-stage template column
    recourse: int  # first column of scenario 0's second stage
    scenario_row: int = 0  # first row of scenario 0's copy of the template rows
    eta: int | None = None
    t: np.ndarray | None = None

    @property
    def scenarios(self) -> int:
        return len(self.weights)

    @property
    def width(self) -> int:
        return len(self.stage.second)


def add_first_stage_variables(form: ExtensiveForm, risk: Risk | None,
                              fixed: FirstStage | None) -> None:
    """y[c] in {0,1} per commitment, o[p] in {0,1} per contract (bounds of the template), and
    eta free (CVaR's value at risk) when the objective weighs risk. ``fixed`` pins y, and o
    unless its contracts are None."""
    stage, program = form.stage, form.program
    n_c, n_o = len(stage.commitments), len(stage.first)
    low_y, high_y = np.zeros(n_c), np.ones(n_c)
    low_o, high_o = stage.col_lower[stage.first], stage.col_upper[stage.first]
    if fixed is not None:
        low_y = high_y = np.asarray(fixed.commit, dtype=float)
        if fixed.contract is not None:
            low_o = high_o = np.asarray(fixed.contract, dtype=float)
    form.y = program.add_variables("commit", n_c, low_y, high_y, integer=True)
    form.o = program.add_variables("contract", n_o, low_o, high_o, integer=True)
    if risk is not None and risk.weight > 0:
        form.eta = int(program.add_variables("eta", 1, -INF, INF)[0])


def add_scenario_copies(form: ExtensiveForm) -> None:
    """Every template row and second-stage column once per scenario s, with the scenario's
    bounds:
      demand rows:  sum x^s + u^s = d^s                  (family 1 of docs/model.md section 4)
      locality:     sum local x^s + m_a sum u^s + short^s >= m_a * D_a^s   (family 6)
      bounds:       0 <= u^s <= d^s,  0 <= x^s <= min(template bound, d^s)
    and the template's first-stage columns (contracts) replaced by the shared o."""
    stage, program, demand = form.stage, form.program, form.demand
    count, width, height = form.scenarios, form.width, stage.num_rows
    lower = np.tile(stage.col_lower[stage.second], (count, 1))
    upper = np.tile(stage.col_upper[stage.second], (count, 1))
    needs, readout = stage.model.needs, stage.readout
    upper[:, readout["u"]] = demand
    x_local = readout["x"]
    upper[:, x_local] = np.minimum(upper[:, x_local], demand[:, readout["x_need"]])
    integer = np.tile(stage.integer[stage.second], count)
    start = program.num_cols
    program.add_variables("recourse", count * width, lower.ravel(), upper.ravel())
    program.integer[-1] = integer  # the block mixes integer and continuous template columns
    form.recourse = start

    row_lower = np.tile(stage.row_lower, (count, 1))
    row_upper = np.tile(stage.row_upper, (count, 1))
    row_lower[:, stage.demand_rows] = demand
    row_upper[:, stage.demand_rows] = demand
    if stage.locality_rows.size:
        incidence = np.zeros((len(needs), stage.locality_rows.size))
        has = stage.locality_of_need >= 0
        incidence[np.flatnonzero(has), stage.locality_of_need[has]] = 1.0
        row_lower[:, stage.locality_rows] = (demand @ incidence) * stage.locality_target
    first_row = program.num_rows
    program.add_rows("scenario", count * height, row_lower.ravel(), row_upper.ravel())

    offsets = np.arange(count, dtype=np.int64)
    is_first = np.isin(stage.cols, stage.first)
    rows, cols, coefs = stage.rows[~is_first], stage.cols[~is_first], stage.coefs[~is_first]
    program.add_terms((first_row + offsets[:, None] * height + rows[None, :]).ravel(),
                      (start + offsets[:, None] * width + stage.local[cols][None, :]).ravel(),
                      np.tile(coefs, count))
    rows, cols, coefs = stage.rows[is_first], stage.cols[is_first], stage.coefs[is_first]
    program.add_terms((first_row + offsets[:, None] * height + rows[None, :]).ravel(),
                      np.tile(form.o[stage.local[cols]], count), np.tile(coefs, count))
    form.scenario_row = first_row


def add_one_guarantee_per_group(form: ExtensiveForm) -> None:
    """sum_{c in group g} y[c] <= 1: one guarantee per tier group (its tiers exclude each
    other, as a group's tiers do in family 4 of docs/model.md section 4)."""
    commitments = form.stage.commitments
    if commitments.empty:
        return
    groups = pd.factorize(commitments["group"])[0]
    rows = form.program.add_rows("one_guarantee", int(groups.max()) + 1, -INF, 1.0)
    form.program.add_terms(rows[groups], form.y, 1.0)


def _scenario_columns(form: ExtensiveForm, template_cols) -> np.ndarray:
    """(S x len) columns of template second-stage columns in every scenario."""
    local = form.stage.second_local(template_cols)
    offsets = form.recourse + np.arange(form.scenarios)[:, None] * form.width
    return offsets + local[None, :]


def add_guarantee_links(form: ExtensiveForm) -> None:
    """For every commitment c = (g,k) and scenario s:
      z^s[g,k] <= y[c]                        a guarantee tier applies only if committed;
      sum_{k' >= k} z^s[g,k'] >= sum_{c' = (g,k'), k' >= k} y[c']
                                              a committed guarantee holds in every scenario:
                                              its tier (paying void^s = (m_c - V^s)^+ at the
                                              void price) or a higher tier the volume reaches.
    The second row sums the group's commitments at or above k (at most one is made, so it
    is valid); with y[c] alone on the right, a relaxation spreading y over several levels
    could drop all but the highest to "no tier" in each scenario (on the closed-form oracle
    its bound fell to the wait-and-see value)."""
    commitments, program = form.stage.commitments, form.program
    n_c, count = len(commitments), form.scenarios
    if n_c == 0:
        return
    z = _scenario_columns(form, commitments["z"])
    y = np.tile(form.y, (count, 1))
    only = program.add_rows("guarantee_only_if_committed", count * n_c, -INF, 0.0)
    program.add_terms(only, z.ravel(), 1.0)
    program.add_terms(only, y.ravel(), -1.0)
    held = program.add_rows("guarantee_held", count * n_c, 0.0, INF).reshape(count, n_c)
    readout = form.stage.readout
    which, z_cols = readout["held_z"]
    columns = (form.recourse + np.arange(count)[:, None] * form.width
               + form.stage.second_local(z_cols)[None, :])
    program.add_terms(held[:, which].ravel(), columns.ravel(), 1.0)
    which, above = readout["held_y"]
    program.add_terms(held[:, which].ravel(), np.tile(form.y[above], count), -1.0)


def add_guarantee_capacity(form: ExtensiveForm) -> None:
    """Range guarantees (module docstring): P's capacity row in scope becomes
      sum x^s[.,P,t,.] <= cap_0 + sum_{c in range} (cap(m_c) - cap_0) * y[c],
    cap(m) = max(cap_seen, m) and cap_0 = cap_seen, or cap(m) = m and cap_0 = 0 for a block
    (``GuaranteeRange``)."""
    commitments = form.stage.commitments
    grows = commitments[(commitments["capacity_row"] >= 0) & (commitments["extra"] != 0)]
    if grows.empty:
        return
    height = form.stage.num_rows
    rows = (form.scenario_row + np.arange(form.scenarios)[:, None] * height
            + grows["capacity_row"].to_numpy()[None, :])
    cols = np.tile(form.y[grows.index.to_numpy()], (form.scenarios, 1))
    coefs = np.tile(-grows["extra"].to_numpy(), (form.scenarios, 1))
    form.program.add_terms(rows.ravel(), cols.ravel(), coefs.ravel())


def add_range_tier_volume(form: ExtensiveForm) -> None:
    """Range guarantees: V^s[g,k] <= max(cap_seen, m_c) * z^s[g,k]. Valid, since tier k is
    active only if committed (``add_guarantee_links``) and then P's capacity in scope is
    max(cap_seen, m_c); and much tighter than the framework's V <= U_g z with U_g the widest
    capacity of the range: in the LP relaxation a fractional commitment can no longer buy the
    discount of a small block on the volume of a large one."""
    stage = form.stage
    commitments = stage.commitments
    ranged = commitments[commitments["capacity_row"] >= 0]
    if ranged.empty:
        return
    capacity = stage.range_spec.capacity(ranged["places"].to_numpy())
    volume = _scenario_columns(form, ranged["volume"])
    z = _scenario_columns(form, ranged["z"])
    rows = form.program.add_rows("range_tier_volume", volume.size, -INF, 0.0)
    form.program.add_terms(rows, volume.ravel(), 1.0)
    form.program.add_terms(rows, z.ravel(), -np.tile(capacity, form.scenarios))


def add_cvar_rows(form: ExtensiveForm) -> None:
    """t^s >= C^s - eta, t^s >= 0 (Rockafellar-Uryasev), written t^s + eta - c . v^s >= 0."""
    if form.eta is None:
        return
    program, stage = form.program, form.stage
    count = form.scenarios
    form.t = program.add_variables("cvar_excess", count)
    rows = program.add_rows("cvar", count, 0.0, INF)
    program.add_terms(rows, form.t, 1.0)
    program.add_terms(rows, np.full(count, form.eta), 1.0)
    priced = stage.readout["priced"]
    columns = form.recourse + np.arange(count)[:, None] * form.width + priced[None, :]
    program.add_terms(np.repeat(rows, priced.size), columns.ravel(),
                      np.tile(-stage.cost[stage.second][priced], count))


def set_mean_risk_objective(form: ExtensiveForm, risk: Risk | None) -> None:
    """minimise (1 - w) sum_s p_s C^s + w (eta + 1/(1 - alpha) sum_s p_s t^s)."""
    stage, program = form.stage, form.program
    weight = 0.0 if risk is None or form.eta is None else risk.weight
    priced = stage.readout["priced"]
    columns = form.recourse + np.arange(form.scenarios)[:, None] * form.width + priced[None, :]
    coefs = (1.0 - weight) * form.weights[:, None] * stage.cost[stage.second][priced][None, :]
    program.add_objective(columns.ravel(), coefs.ravel())
    if weight > 0:
        program.add_objective([form.eta], weight)
        program.add_objective(form.t, weight * form.weights / (1.0 - risk.level))


def build_extensive_form(stage: SecondStage, demand: np.ndarray, weights: np.ndarray,
                         risk: Risk | None = None, fixed: FirstStage | None = None
                         ) -> ExtensiveForm:
    """The two-stage model over scenarios ``demand`` (S x needs) with probabilities
    ``weights``; ``fixed`` pins the first stage (then each scenario is an independent second
    stage)."""
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    weights = np.asarray(weights, dtype=float)
    if demand.shape != (len(weights), len(stage.needs)):
        raise ValueError("demand must be scenarios x needs, one weight per scenario")
    form = ExtensiveForm(stage, LinearProgram(), weights, demand, np.zeros(0, dtype=np.int64),
                         np.zeros(0, dtype=np.int64), 0)
    add_first_stage_variables(form, risk, fixed)
    add_scenario_copies(form)
    add_one_guarantee_per_group(form)
    add_guarantee_links(form)
    add_guarantee_capacity(form)
    add_range_tier_volume(form)
    add_cvar_rows(form)
    set_mean_risk_objective(form, risk)
    return form


# --------------------------------------------------------------------------- reading back


@dataclass(frozen=True)
class ScenarioFigures:
    """Per scenario (arrays of length S) figures of a solved extensive form."""

    cost: np.ndarray  # C^s: annual cost + local shortfall penalty
    penalty: np.ndarray  # the local shortfall penalty part of C^s
    void_places: np.ndarray  # guaranteed places unused
    void_cost: np.ndarray
    unmet: np.ndarray  # places bought at the emergency price
    guaranteed_spend: np.ndarray  # list fees (before discount) of the committed guarantees'
    # scopes, plus their void places at the list price, where the committed tier is the one
    # reached (what a change of its discount applies to: the break-even discount)
    guaranteed_used: np.ndarray  # places used in those scopes there (the contract forms)

    FIELDS = ("cost", "penalty", "void_places", "void_cost", "unmet", "guaranteed_spend",
              "guaranteed_used")

    def take(self, rows) -> ScenarioFigures:
        return ScenarioFigures(*(getattr(self, f)[rows] for f in self.FIELDS))

    @staticmethod
    def concat(parts: list[ScenarioFigures]) -> ScenarioFigures:
        return ScenarioFigures(*(np.concatenate([getattr(p, f) for p in parts])
                                 for f in ScenarioFigures.FIELDS))


def first_stage_of(form: ExtensiveForm, values: np.ndarray) -> FirstStage:
    """The (rounded) first-stage decision of a solution."""
    commit = tuple(int(v > 0.5) for v in values[form.y])
    contract = tuple(int(v > 0.5) for v in values[form.o])
    return FirstStage(commit, contract)


def scenario_figures(form: ExtensiveForm, values: np.ndarray) -> ScenarioFigures:
    """C^s and the figures the guarantee report needs, from a solution's values."""
    stage = form.stage
    readout = stage.readout
    block = values[form.recourse: form.recourse + form.scenarios * form.width].reshape(
        form.scenarios, form.width)
    cost = block @ stage.cost[stage.second]
    holders = block[:, readout["holders"]].sum(axis=1)
    void_places = np.clip(block[:, readout["voids"]], 0.0, None)
    unmet = np.clip(block[:, readout["u"]], 0.0, None).sum(axis=1)
    spend, used = _guaranteed_spend(form, values, block)
    return ScenarioFigures(cost, cost - holders, void_places.sum(axis=1),
                           void_places @ readout["void_price"], unmet, spend, used)


def _guaranteed_spend(form: ExtensiveForm, values: np.ndarray, block: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """List fees (with void places at list price) and places used in the committed
    guarantees' scopes, where the committed tier is the one reached."""
    readout = form.stage.readout
    spend = np.zeros(form.scenarios)
    used = np.zeros(form.scenarios)
    for c in np.flatnonzero(values[form.y] > 0.5):
        active = block[:, readout["commit_z"][c]] > 0.5
        x_local, fees = readout["commit_scope"][c]
        void = np.clip(block[:, readout["commit_void"][c]], 0.0, None)
        spend += np.where(active, block[:, x_local] @ fees
                          + void * readout["commit_void_fee"][c], 0.0)
        used += np.where(active, np.clip(block[:, x_local], 0.0, None).sum(axis=1), 0.0)
    return spend, used
