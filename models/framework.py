"""The consortium framework MILP of docs/model.md section 4, one function per constraint family.

Notation (docs/model.md section 4): members A, needs n, offers (p,t), eligible assignments
e = (a,p,t,n) ("arcs", see ``optimiser.market``), W weeks per year, f_e = W*price[p,t] the list
fee of a place per year, c_e its non-fee cost, e[n] the emergency cost of an unmet place,
share_a = D_a / D_M, tier groups g with tiers k = 1..K_g (ascending ``min_places`` m_gk,
``discount_pct`` delta_gk) plus k = 0, "no tier" (m = 0, delta = 0).

Tiers use the disaggregated multiple-choice (convex-hull) form rather than big-M on the
aggregate: one copy of the group's volume V[g,k] and of each member's in-scope spend S[a,g,k]
per tier, each bounded by the tier's range times z[g,k]. Its LP relaxation is far tighter
(docs/model.md section 4 reports big-M root gaps near 97% against under 0.5%).

A tier's range is [m_gk, U_g], open above to the group's largest possible volume U_g rather
than stopping at the next tier's m: discounts never fall with volume (validated), so a plan
whose volume reaches a higher tier never gains by claiming a lower one, and the optimum is the
same; the open range keeps the copies' bounds simple.

Costs are carried by "cost holders": each *tracked* member has its own holder, a variable
``cost[a]`` tied to its cost_a formula by one equality row, so individual rationality and the
voices refer to the same expression; the untracked members share one holder carrying the sum of
their costs, and the spend copies S[h,g,k] are per holder. Tracking every member costs
|members| x |groups| x |tiers| columns and rows (on England, 269,000 of each, and the LP slows
from 12 s to minutes), so members are tracked only where a constraint or weight needs them:
all of them for ``equal`` and ``maxmin``, none for ``volume``, and for individual rationality
only those whose rule would otherwise bind (added lazily by ``models.voices``). Members' costs
are always recomputed from the plan for reporting (``models.plan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimiser.market import Market
from optimiser.program import INF, LinearProgram

#: £ of objective per £ a member pays above its standalone cost (docs/model.md section 4,
#: family 8).
EXCESS_PENALTY = 1000.0


@dataclass
class FrameworkModel:
    """The program plus the index maps needed to read a solution back by domain name."""

    market: Market
    program: LinearProgram = field(default_factory=LinearProgram)
    arcs: pd.DataFrame = None  # market.arcs + x (column), member, need_row, offer_row, group
    needs: pd.DataFrame = None  # market.needs + u (column), member
    contract: pd.DataFrame = None  # provider, o (column), contract_cost_year, min_places
    tiers: pd.DataFrame = None  # group, k, z, volume, void (column or -1), min, discount, ...
    spend: pd.DataFrame = None  # holder, group, k, column
    tracked: tuple[str, ...] = ()  # members with their own cost holder (the first holders)
    holder_share: np.ndarray = None  # share of shared costs per cost holder
    groups: pd.DataFrame = None  # group, provider, scope, upper, fee_min, fee_max, void_fee
    shortfall: np.ndarray = None  # column per member (-1 where no local target)
    cost: np.ndarray = None  # column per cost holder (members, or one for the consortium)
    excess: np.ndarray | None = None  # column per tracked member (individual rationality)
    theta: int | None = None
    #: (model, result) of volume without individual rationality, when this model's plan was
    #: derived from it (``models.voices``): the price of fairness' reference
    relaxation: tuple | None = None

    @property
    def members(self) -> tuple[str, ...]:
        return self.market.members


# -- variables ------------------------------------------------------------------------------


def add_placement_variables(model: FrameworkModel, integer_places: bool,
                            tracked: tuple[str, ...]) -> None:
    """x[a,p,t,n] in [0, min(d[a,n], cap[p,t])] places on each eligible arc;
    u[a,n] in [0, d[a,n]] unmet places of each need (bought at the emergency price).
    Each arc and need also names its cost holder: its member, or 0 (see module docstring)."""
    market, program = model.market, model.program
    arcs = market.arcs.copy()
    members = {a: i for i, a in enumerate(market.members)}
    arcs["member"] = arcs["authority"].map(members).astype(int)
    arcs["x"] = program.add_variables("x", len(arcs), 0.0, arcs["upper"].to_numpy(),
                                      integer=integer_places)
    needs = market.needs.copy()
    needs["member"] = needs["authority"].map(members).astype(int)
    holder_of, model.holder_share = _cost_holders(market, tracked)
    model.tracked = tuple(tracked)
    arcs["holder"] = holder_of[arcs["member"].to_numpy()]
    needs["holder"] = holder_of[needs["member"].to_numpy()]
    needs["u"] = program.add_variables("u", len(needs), 0.0, needs["places"].to_numpy())
    need_keys = pd.MultiIndex.from_frame(needs[["authority", "need"]])
    arcs["need_row"] = need_keys.get_indexer(
        pd.MultiIndex.from_frame(arcs[["authority", "need"]]))
    offer_keys = pd.MultiIndex.from_frame(arcs[["provider", "placement_type"]])
    arcs["offer_row"] = pd.factorize(offer_keys)[0]
    model.arcs, model.needs = arcs, needs


def _cost_holders(market: Market, tracked: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Holder of each member (tracked members first, in order; the rest share the last) and
    each holder's share of the shared costs."""
    position = {a: i for i, a in enumerate(tracked)}
    rest = len(tracked)
    holder_of = np.array([position.get(a, rest) for a in market.members], dtype=np.int64)
    share = np.zeros(rest + (len(tracked) < len(market.members)))
    np.add.at(share, holder_of, [market.share[a] for a in market.members])
    return holder_of, share


def add_contract_variables(model: FrameworkModel) -> None:
    """o[p] in {0,1}: provider p holds a contract. Created only where it matters
    (contract_cost_year > 0 or min_places > 0) and p has an eligible arc."""
    used = set(model.arcs["provider"])
    providers = model.market.providers
    needed = providers[((providers["contract_cost_year"] > 0) | (providers["min_places"] > 0))
                       & providers["provider"].isin(used)].copy()
    needed["o"] = model.program.add_variables("o", len(needed), 0.0, 1.0, integer=True)
    model.contract = needed[["provider", "o", "contract_cost_year", "min_places"]].reset_index(
        drop=True)


def add_tier_variables(model: FrameworkModel) -> None:
    """For each tier group g with an eligible arc, and k = 0..K_g:
    z[g,k] in {0,1} tier k active; V[g,k] >= 0 the group's volume if k is active;
    void[g,k] >= 0 guaranteed but unused places (guarantee tiers only);
    S[h,g,k] >= 0 cost holder h's in-scope list spend if k is active."""
    program, arcs = model.program, model.arcs
    arcs["group"] = _group_of_arcs(model)
    model.groups = _group_bounds(model)
    tiers = []
    for g in model.groups["group"]:
        group = model.market.groups[g]
        levels = [(0.0, 0.0, False)] + list(zip(group.min_places, group.discount_pct,
                                                group.guarantee))
        tiers += [{"group": g, "k": k, "min": minimum, "discount": discount,
                   "guarantee": guarantee}
                  for k, (minimum, discount, guarantee) in enumerate(levels)]
    tiers = pd.DataFrame(tiers, columns=["group", "k", "min", "discount", "guarantee"])
    tiers["z"] = program.add_variables("z", len(tiers), 0.0, 1.0, integer=True)
    tiers["volume"] = program.add_variables("V", len(tiers))
    guaranteed = tiers["guarantee"].to_numpy(dtype=bool)
    tiers["void"] = -1
    tiers.loc[guaranteed, "void"] = program.add_variables("void", int(guaranteed.sum()))
    model.tiers = tiers
    holders = (arcs.loc[arcs["group"] >= 0, ["group", "holder"]].drop_duplicates()
               .sort_values(["group", "holder"]))
    spend = holders.merge(tiers[["group", "k"]], on="group")[["holder", "group", "k"]]
    spend = spend.reset_index(drop=True)
    spend["column"] = program.add_variables("S", len(spend))
    model.spend = spend


def _group_of_arcs(model: FrameworkModel) -> np.ndarray:
    """Index of the tier group whose scope holds each arc's offer, -1 if none: the group of
    the arc's (provider, type) if there is one, else its provider's group over all types."""
    groups = model.market.groups
    typed = [(i, g.provider, g.scope) for i, g in enumerate(groups) if g.scope is not None]
    whole = [(i, g.provider) for i, g in enumerate(groups) if g.scope is None]
    arcs = model.arcs
    found = np.full(len(arcs), -1, dtype=int)
    if typed:
        index, providers, scopes = zip(*typed)
        keys = pd.MultiIndex.from_arrays([providers, scopes])
        at = keys.get_indexer(pd.MultiIndex.from_frame(arcs[["provider", "placement_type"]]))
        found = np.where(at >= 0, np.asarray(index)[at], -1)
    if whole:
        index, providers = zip(*whole)
        at = pd.Index(providers).get_indexer(arcs["provider"])
        found = np.where((found < 0) & (at >= 0), np.asarray(index)[at], found)
    return found


def _group_bounds(model: FrameworkModel) -> pd.DataFrame:
    """Per group with an eligible arc: the largest volume U_g (the least of its eligible
    offers' capacity, the provider's max_places and the demand its arcs can reach), the fee
    range of its arcs and the list fee of a void place (the lowest in scope)."""
    market, arcs = model.market, model.arcs
    tiered = arcs[arcs["group"] >= 0]
    fees = tiered.groupby("group")["fee_year"].agg(fee_min="min", fee_max="max")
    needs = tiered.drop_duplicates(["group", "need_row"])
    reachable = pd.Series(market.needs["places"].to_numpy()[needs["need_row"]],
                          index=needs["group"]).groupby(level=0).sum()
    offered = (tiered[["group", "provider", "placement_type"]].drop_duplicates()
               .merge(market.offers[["provider", "placement_type", "capacity"]],
                      on=["provider", "placement_type"]))
    capacity = offered.groupby("group")["capacity"].sum()
    max_places = dict(zip(market.providers["provider"], market.providers["max_places"]))
    lowest = market.offers.groupby(["provider", "placement_type"])["fee_year"].min()
    lowest_in_scope = dict(lowest.items())
    lowest_overall = dict(lowest.groupby(level=0).min().items())
    rows = []
    for g, fee_min, fee_max, reach, cap in zip(fees.index, fees["fee_min"], fees["fee_max"],
                                               reachable.loc[fees.index],
                                               capacity.loc[fees.index]):
        group = market.groups[g]
        void_fee = (lowest_overall[group.provider] if group.scope is None
                    else lowest_in_scope[(group.provider, group.scope)])
        upper = min(float(cap), float(max_places[group.provider]), float(reach))
        rows.append({"group": int(g), "provider": group.provider, "scope": group.scope,
                     "upper": upper, "fee_min": float(fee_min), "fee_max": float(fee_max),
                     "void_fee": float(void_fee)})
    return pd.DataFrame(rows, columns=["group", "provider", "scope", "upper", "fee_min",
                                       "fee_max", "void_fee"])


def add_common_variables(model: FrameworkModel, individual_rationality: bool) -> None:
    """cost[h] free: cost holder h's annual cost; short[a] >= 0 member a's local shortfall (where
    it has a local target); excess[a] >= 0 its cost above standalone (individual rationality)."""
    program, members = model.program, model.members
    model.cost = program.add_variables("cost", len(model.holder_share), -INF, INF)
    targets = np.array([model.market.local_target[a] for a in members])
    short = np.full(len(members), -1, dtype=np.int64)
    short[targets > 0] = program.add_variables("short", int((targets > 0).sum()))
    model.shortfall = short
    if individual_rationality:
        model.excess = program.add_variables("excess", len(model.tracked))


# -- constraint families (docs/model.md section 4) -----------------------------------------


def add_member_cost(model: FrameworkModel) -> None:
    """cost_a = fees_a (after discount) + sum x*c + sum_n e[n]*u[a,n]
    + share_a * (sum_p contract_cost_year[p]*o[p] + sum_{g,k} void[g,k]*void_price[g,k]),
    void_price[g,k] = W * (lowest weekly price in scope) * (1 - delta_gk/100).
    Fees of arcs outside any tier group are f_e*x_e; inside, sum_k (1 - delta_gk/100)*S[a,g,k]
    (see ``add_discounted_fees``)."""
    program, arcs = model.program, model.arcs
    rows = program.add_rows("cost", len(model.holder_share), 0.0, 0.0)
    program.add_terms(rows, model.cost, 1.0)
    untiered = (arcs["group"] < 0).to_numpy()
    per_place = arcs["non_fee_year"].to_numpy() + np.where(untiered, arcs["fee_year"], 0.0)
    program.add_terms(rows[arcs["holder"]], arcs["x"], -per_place)
    spend_discount = model.spend.merge(model.tiers[["group", "k", "discount"]], on=["group", "k"])
    program.add_terms(rows[spend_discount["holder"]], spend_discount["column"],
                      -(1.0 - spend_discount["discount"].to_numpy() / 100.0))
    program.add_terms(rows[model.needs["holder"]], model.needs["u"],
                      -model.needs["emergency_year"].to_numpy())
    share = model.holder_share
    for o, cost in zip(model.contract["o"], model.contract["contract_cost_year"]):
        program.add_terms(rows, np.full(len(rows), o), -share * cost)
    for void, price in _void_prices(model):
        program.add_terms(rows, np.full(len(rows), void), -share * price)


def _void_prices(model: FrameworkModel) -> list[tuple[int, float]]:
    """(void column, void_price[g,k]) for every guarantee tier."""
    tiers = model.tiers.merge(model.groups[["group", "void_fee"]], on="group")
    tiers = tiers[tiers["void"] >= 0]
    return [(int(v), fee * (1 - d / 100.0))
            for v, fee, d in zip(tiers["void"], tiers["void_fee"], tiers["discount"])]


def add_demand_balance(model: FrameworkModel) -> None:
    """(1) demand: sum over eligible (p,t) of x[a,p,t,n] + u[a,n] = d[a,n]."""
    program, needs, arcs = model.program, model.needs, model.arcs
    rows = program.add_rows("demand", len(needs), needs["places"], needs["places"])
    program.add_terms(rows[arcs["need_row"]], arcs["x"], 1.0)
    program.add_terms(rows, needs["u"], 1.0)


def add_capacity(model: FrameworkModel) -> None:
    """(2) capacity: sum_{a,n} x[a,p,t,n] <= cap[p,t] for every offer;
    sum_{a,t,n} x[a,p,t,n] <= max_places[p] for every provider with a maximum."""
    program, arcs = model.program, model.arcs
    offers = arcs.drop_duplicates("offer_row").sort_values("offer_row")
    capacity = offers.merge(model.market.offers, on=["provider", "placement_type"],
                            how="left", suffixes=("", "_offer"))["capacity"].to_numpy()
    rows = program.add_rows("capacity", len(offers), -INF, capacity)
    program.add_terms(rows[arcs["offer_row"]], arcs["x"], 1.0)
    limits = model.market.providers
    limits = limits[np.isfinite(limits["max_places"]) & limits["provider"].isin(arcs["provider"])]
    rows = program.add_rows("max_places", len(limits), -INF, limits["max_places"])
    row_of = dict(zip(limits["provider"], rows))
    limited = arcs["provider"].isin(row_of)
    program.add_terms(arcs.loc[limited, "provider"].map(row_of), arcs.loc[limited, "x"], 1.0)


def add_contract_links(model: FrameworkModel) -> None:
    """(3) contract: x[a,p,t,n] <= min(d[a,n], cap[p,t]) * o[p] for every arc (the strong,
    per-variable link); sum of all x of p >= min_places[p] * o[p]."""
    program, arcs, contract = model.program, model.arcs, model.contract
    o_of = dict(zip(contract["provider"], contract["o"]))
    linked = arcs[arcs["provider"].isin(o_of)]
    rows = program.add_rows("contract", len(linked), -INF, 0.0)
    program.add_terms(rows, linked["x"], 1.0)
    program.add_terms(rows, linked["provider"].map(o_of), -linked["upper"].to_numpy())
    minimum = contract[contract["min_places"] > 0]
    rows = program.add_rows("min_places", len(minimum), 0.0, INF)
    row_of = dict(zip(minimum["provider"], rows))
    held = arcs["provider"].isin(row_of)
    program.add_terms(arcs.loc[held, "provider"].map(row_of), arcs.loc[held, "x"], 1.0)
    program.add_terms(rows, minimum["o"], -minimum["min_places"].to_numpy())


def add_tier_selection(model: FrameworkModel) -> None:
    """(4) tiers, multiple-choice form, for every group g:
      sum_k z[g,k] = 1                              (k = 0 is "no tier": at most one tier)
      sum_k V[g,k] = V_g = sum of x in scope
      V[g,k] <= U_g * z[g,k]                         (U_g: largest volume the group can take)
      V[g,k] >= m_gk * z[g,k]                        plain tier: the volume itself reaches it
      V[g,k] + void[g,k] >= m_gk * z[g,k],  void[g,k] <= m_gk * z[g,k]   guarantee tier."""
    program, tiers, arcs = model.program, model.tiers, model.arcs
    groups = model.groups
    if groups.empty:
        return
    row_of_group = dict(zip(groups["group"], range(len(groups))))
    g_rows = tiers["group"].map(row_of_group).to_numpy()
    pick = program.add_rows("tier_pick", len(groups), 1.0, 1.0)
    program.add_terms(pick[g_rows], tiers["z"], 1.0)
    volume = program.add_rows("tier_volume", len(groups), 0.0, 0.0)
    program.add_terms(volume[g_rows], tiers["volume"], 1.0)
    tiered = arcs[arcs["group"] >= 0]
    program.add_terms(volume[tiered["group"].map(row_of_group)], tiered["x"], -1.0)
    upper = groups["upper"].to_numpy()[g_rows]
    rows = program.add_rows("tier_upper", len(tiers), -INF, 0.0)
    program.add_terms(rows, tiers["volume"], 1.0)
    program.add_terms(rows, tiers["z"], -upper)
    reached = tiers[tiers["k"] > 0]
    rows = program.add_rows("tier_reached", len(reached), 0.0, INF)
    program.add_terms(rows, reached["volume"], 1.0)
    program.add_terms(rows, reached["z"], -reached["min"].to_numpy())
    guaranteed = reached["void"].to_numpy() >= 0
    program.add_terms(rows[guaranteed], reached["void"].to_numpy()[guaranteed], 1.0)
    voids = reached[guaranteed]
    rows = program.add_rows("void_limit", len(voids), -INF, 0.0)
    program.add_terms(rows, voids["void"], 1.0)
    program.add_terms(rows, voids["z"], -voids["min"].to_numpy())


def add_discounted_fees(model: FrameworkModel) -> None:
    """(5) discount: cost holder h's in-scope list spend is split over the tier copies,
      sum_k S[h,g,k] = sum over h's arcs e in scope of f_e * x_e,
      S[h,g,k] <= Smax[h,g] * z[g,k],
    so its fee is sum_k (1 - delta_gk/100) * S[h,g,k] (used in ``add_member_cost``): the list
    fee less discount_pct of the part in scope of the active tier. Spend and volume copies are
    tied by the fee range of the scope, which tightens the relaxation:
      fmin_g * V[g,k] <= sum_h S[h,g,k] <= fmax_g * V[g,k]."""
    program, spend, arcs, groups = model.program, model.spend, model.arcs, model.groups
    if spend.empty:
        return
    pairs = spend[["holder", "group"]].drop_duplicates().reset_index(drop=True)
    row_of_pair = {pair: i for i, pair in enumerate(zip(pairs["holder"], pairs["group"]))}
    rows = program.add_rows("spend", len(pairs), 0.0, 0.0)
    pair_rows = rows[[row_of_pair[p] for p in zip(spend["holder"], spend["group"])]]
    program.add_terms(pair_rows, spend["column"], 1.0)
    tiered = arcs[arcs["group"] >= 0]
    arc_rows = rows[[row_of_pair[p] for p in zip(tiered["holder"], tiered["group"])]]
    program.add_terms(arc_rows, tiered["x"], -tiered["fee_year"].to_numpy())
    largest = _largest_member_spend(model, pairs)
    spend_z = spend.merge(model.tiers[["group", "k", "z", "volume"]], on=["group", "k"])
    rows = program.add_rows("spend_upper", len(spend_z), -INF, 0.0)
    program.add_terms(rows, spend_z["column"], 1.0)
    program.add_terms(rows, spend_z["z"],
                      -np.array([largest[p] for p in zip(spend_z["holder"], spend_z["group"])]))
    tier_rows = {key: i for i, key in enumerate(zip(model.tiers["group"], model.tiers["k"]))}
    low = program.add_rows("spend_low", len(model.tiers), 0.0, INF)
    high = program.add_rows("spend_high", len(model.tiers), -INF, 0.0)
    which = np.array([tier_rows[key] for key in zip(spend_z["group"], spend_z["k"])])
    program.add_terms(low[which], spend_z["column"], 1.0)
    program.add_terms(high[which], spend_z["column"], 1.0)
    fee = groups.set_index("group")
    program.add_terms(low, model.tiers["volume"],
                      -fee.loc[model.tiers["group"], "fee_min"].to_numpy())
    program.add_terms(high, model.tiers["volume"],
                      -fee.loc[model.tiers["group"], "fee_max"].to_numpy())


def _largest_member_spend(model: FrameworkModel, pairs: pd.DataFrame) -> dict:
    """Smax[h,g] = fmax_g * min(h's demand reachable in scope, U_g)."""
    arcs, needs = model.arcs, model.needs
    tiered = arcs[arcs["group"] >= 0].drop_duplicates(["holder", "group", "need_row"])
    reach = (tiered.assign(places=needs["places"].to_numpy()[tiered["need_row"]])
             .groupby(["holder", "group"])["places"].sum())
    fee_max = dict(zip(model.groups["group"], model.groups["fee_max"]))
    upper = dict(zip(model.groups["group"], model.groups["upper"]))
    reach = dict(reach.items())
    return {(m, g): float(fee_max[g]) * min(float(reach[(m, g)]), float(upper[g]))
            for m, g in zip(pairs["holder"], pairs["group"])}


def add_locality(model: FrameworkModel) -> None:
    """(6) locality: sum of local x of a >= min_local_share_a * (D_a - sum_n u[a,n]) - short[a],
    written sum_local x + m_a * sum_n u[a,n] + short[a] >= m_a * D_a."""
    program, arcs, needs, market = model.program, model.arcs, model.needs, model.market
    targeted = np.flatnonzero(model.shortfall >= 0)
    if targeted.size == 0:
        return
    target = np.array([market.local_target[model.members[i]] for i in targeted])
    demand = needs.groupby("member")["places"].sum().reindex(targeted, fill_value=0.0)
    rows = program.add_rows("locality", targeted.size, target * demand.to_numpy(), INF)
    row_of = dict(zip(targeted, rows))
    local = arcs[arcs["local"] & arcs["member"].isin(row_of)]
    program.add_terms(local["member"].map(row_of), local["x"], 1.0)
    unmet = needs[needs["member"].isin(row_of)]
    program.add_terms(unmet["member"].map(row_of), unmet["u"],
                      unmet["member"].map(dict(zip(targeted, target))).to_numpy())
    program.add_terms(rows, model.shortfall[targeted], 1.0)


def add_concentration(model: FrameworkModel) -> None:
    """(7) concentration: for every independent or voluntary provider p,
    sum of x of p <= max_provider_share * sum of all x.
    The total is one variable T = sum of all x, so each provider's row has its own arcs and T
    only (the model stays linear in size rather than providers x arcs)."""
    share = model.market.instance.policy.max_provider_share
    if share >= 1.0:
        return
    program, arcs = model.program, model.arcs
    providers = model.market.providers
    capped = providers[providers["kind"].isin(["independent", "voluntary"])
                       & providers["provider"].isin(arcs["provider"])]["provider"].tolist()
    total = program.add_variables("placed_total", 1)
    row = program.add_rows("placed_total", 1, 0.0, 0.0)
    program.add_terms(np.zeros(len(arcs), dtype=int) + row[0], arcs["x"], 1.0)
    program.add_terms(row, total, -1.0)
    rows = program.add_rows("concentration", len(capped), -INF, 0.0)
    row_of = dict(zip(capped, rows))
    held = arcs[arcs["provider"].isin(row_of)]
    program.add_terms(held["provider"].map(row_of), held["x"], 1.0)
    program.add_terms(rows, np.full(len(rows), total[0]), -share)


def add_individual_rationality(model: FrameworkModel, standalone: dict[str, float]) -> None:
    """(8) individual rationality: cost_a <= B_a + excess[a] for every tracked member (the
    others satisfy it without a row, see ``models.voices``); excess is penalised at
    EXCESS_PENALTY per pound (see ``set_objective``)."""
    program = model.program
    bound = np.array([standalone[a] for a in model.tracked])
    rows = program.add_rows("individual_rationality", len(bound), -INF, bound)
    program.add_terms(rows, model.cost[: len(model.tracked)], 1.0)
    program.add_terms(rows, model.excess, -1.0)


def add_saving_floor(model: FrameworkModel, standalone: dict[str, float],
                     theta_lower: float = -INF) -> None:
    """Voice ``maxmin``: cost_a <= (1 - theta) * B_a for every member with B_a > 0,
    written cost_a / B_a + theta <= 1; theta <= 1 is the common saving share. Each row is
    scaled by 1 / B_a: unscaled (cost_a + B_a theta <= B_a, coefficients of 1 and millions in
    one row) CBC returned a wrong "optimal" theta on a random instance (seed 287 of
    ``benchmarks/bench_agreement.py``)."""
    program = model.program
    if model.tracked != model.members:
        raise ValueError("maxmin needs every member's cost")
    model.theta = int(program.add_variables("theta", 1, theta_lower, 1.0)[0])
    members = [i for i, a in enumerate(model.members) if standalone[a] > 0]
    bound = np.array([standalone[model.members[i]] for i in members])
    rows = program.add_rows("saving_floor", len(members), -INF, 1.0)
    program.add_terms(rows, model.cost[members], 1.0 / bound)
    program.add_terms(rows, np.full(len(members), model.theta), 1.0)


# -- objective (docs/model.md section 6) ----------------------------------------------------


def set_objective(model: FrameworkModel, weights: np.ndarray) -> None:
    """minimise sum_h w_h * cost_h + local_shortfall_penalty_year * sum_a short[a]
    + EXCESS_PENALTY * sum_a excess[a]; w_a = 1 for ``volume``,
    (sum_b B_b / |A|) / B_a for ``equal``."""
    program = model.program
    program.objective_terms.clear()
    program.add_objective(model.cost, weights)
    penalty = model.market.instance.policy.local_shortfall_penalty_year
    short = model.shortfall[model.shortfall >= 0]
    program.add_objective(short, penalty)
    if model.excess is not None:
        program.add_objective(model.excess, EXCESS_PENALTY)


def set_common_saving_objective(model: FrameworkModel) -> None:
    """Voice ``maxmin``, first stage: maximise theta (minimise -theta)."""
    model.program.objective_terms.clear()
    model.program.add_objective([model.theta], -1.0)


def build_framework_model(
    market: Market,
    standalone: dict[str, float] | None = None,
    individual_rationality: bool = False,
    integer_places: bool = False,
    tracked: tuple[str, ...] | None = None,
) -> FrameworkModel:
    """Variables and constraint families (1)-(8) of docs/model.md section 4 for ``market``; the
    objective is set by the caller (``set_objective`` for the chosen voice). ``tracked``: the
    members with their own cost holder (default all; see the module docstring)."""
    model = FrameworkModel(market)
    add_placement_variables(model, integer_places,
                            market.members if tracked is None else tuple(tracked))
    add_contract_variables(model)
    add_tier_variables(model)
    add_common_variables(model, individual_rationality)
    add_member_cost(model)
    add_demand_balance(model)
    add_capacity(model)
    add_contract_links(model)
    add_tier_selection(model)
    add_discounted_fees(model)
    add_locality(model)
    add_concentration(model)
    if individual_rationality:
        add_individual_rationality(model, standalone)
    return model
