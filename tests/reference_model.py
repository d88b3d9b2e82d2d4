"""A naive, independent reference build of the consortium MILP of docs/model.md section 4.

Why it exists
-------------
* **An oracle for tests.** The production model (``models.framework``) is built in bulk on a
  sparse matrix from the flat tables of ``optimiser.market`` and uses the disaggregated
  multiple-choice form for tiers. This module writes the same mathematics a second time, term by
  term from the :class:`~optimiser.records.Instance` records with plain Python loops and PuLP,
  sharing no code with the production path beyond two tiny pure helpers (great-circle distance
  and the rating order). Both formulations must reach the same optimal objective; a difference
  points at a bug in one of them (``tests/test_reference.py``).
* **The naive benchmark.** It is what a first build would look like: tier selection by big-M on
  the aggregate volume, discounts switched on member by member by big-M, contracts linked by one
  aggregate big-M row per provider. Its LP relaxation is weak, which is what the multiple-choice
  form of the production model is measured against.

It is **not used by the product**: no command, analysis or report imports it, and it lives with
the tests (``tests/``, beside ``random_instances``), not in the installed packages; the
benchmarks put ``tests/`` on their path to use it.

Scope: the voice ``volume`` only (minimise the members' total cost plus penalties), with optional
individual rationality given standalone costs, ``integer_places``, and a coalition of members
seeing capacity by the rule of docs/model.md section 5.

Formulation (notation of docs/model.md section 4; every family is one small function below)
------------------------------------------------------------------------------------------
For each tier group g (one per provider and scope) with tiers k = 1..K ascending in m_k:

    z[g,k] binary,  sum_k z[g,k] <= 1                     (no z: list price)
    V_g = sum of x in scope
    V_g >= m_k z[g,k]                                     plain tier k
    V_g + void[g,k] >= m_k z[g,k],  void[g,k] <= m_k z[g,k]  guarantee tier k
    V_g <= m_{k+1} + BIGV (1 - z[g,k])    for k < K       (the active tier's range, closed)
    V_g <= m_1 + BIGV * sum_k z[g,k]                      (no tier: below the first)
    F[a,g] >= (1 - delta_k/100) L[a,g] - BIGF[a,g] (1 - z[g,k])   for every k
    F[a,g] >= L[a,g] - BIGF[a,g] * sum_k z[g,k]
where L[a,g] = W * sum price * x over a's placements in scope (its list spend) and F[a,g] its fee.
The ranges are closed intervals [m_k, m_{k+1}] (the production model leaves them open above);
since discounts never fall with volume both give the same optimum, which the tests check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pulp

from optimiser.market import great_circle_km
from optimiser.records import Instance
from optimiser.schema import rating_allowed

#: £ of objective per £ a member pays above its standalone cost (docs/model.md section 4,
#: family 8).
EXCESS_PENALTY = 1000.0


@dataclass(frozen=True)
class ReferenceResult:
    """Objective (costs plus penalties), each member's cost_a, and the solver status
    (``optimal``, ``infeasible``, ``not solved``, ``unbounded`` or ``undefined``)."""

    objective: float | None
    member_cost: dict[str, float]
    status: str


@dataclass(frozen=True)
class Placement:
    """One eligible assignment (a, p, t, n) with its yearly list fee and non-fee cost."""

    authority: str
    provider: str
    offer_type: str
    need: str
    fee: float  # W * weekly_price[p,t]
    non_fee: float  # c[a,p,t]
    local: bool


@dataclass(frozen=True)
class Group:
    """A tier group: provider, scope (a type or None: all its offers), tiers ascending."""

    provider: str
    scope: str | None
    tiers: tuple  # of Tier rows, ascending min_places

    def covers(self, offer_type: str) -> bool:
        return self.scope is None or self.scope == offer_type


@dataclass
class Data:
    """The data of docs/model.md section 4 for one coalition, straight from the records."""

    members: list[str]
    weeks: float
    demand: dict[tuple[str, str], float]  # (a, n) -> d[a,n], positive only
    emergency: dict[str, float]  # n -> e[n]
    capacity: dict[tuple[str, str], float]  # (p, t) -> cap seen by the coalition
    max_places: dict[str, float]  # p -> max_places seen (providers with a maximum)
    placements: list[Placement]
    groups: list[Group]
    share: dict[str, float]  # D_a / D_M
    local_target: dict[str, float]
    total_demand: float  # D_M
    # the placements indexed by need (a, n), offer (p, t), provider and member
    by_need: dict[tuple[str, str], list[Placement]] = field(default_factory=dict)
    by_offer: dict[tuple[str, str], list[Placement]] = field(default_factory=dict)
    by_provider: dict[str, list[Placement]] = field(default_factory=dict)
    by_member: dict[str, list[Placement]] = field(default_factory=dict)

    def index(self) -> None:
        for e in self.placements:
            self.by_need.setdefault((e.authority, e.need), []).append(e)
            self.by_offer.setdefault((e.provider, e.offer_type), []).append(e)
            self.by_provider.setdefault(e.provider, []).append(e)
            self.by_member.setdefault(e.authority, []).append(e)


@dataclass
class Model:
    """The PuLP problem and its variables, by domain key."""

    instance: Instance
    data: Data
    problem: pulp.LpProblem
    x: dict[Placement, pulp.LpVariable] = field(default_factory=dict)
    u: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    o: dict[str, pulp.LpVariable] = field(default_factory=dict)
    z: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    void: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    fee: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    short: dict[str, pulp.LpVariable] = field(default_factory=dict)
    excess: dict[str, pulp.LpVariable] = field(default_factory=dict)
    cost: dict[str, pulp.LpAffineExpression] = field(default_factory=dict)


# -- data --------------------------------------------------------------------------------------


def capacity_scales(instance: Instance, members: list[str]) -> dict[str, float]:
    """docs/model.md section 5, per provider: under ``shared`` a coalition sees D_M / D of every
    offer and max_places, under ``full`` all of it; in-house provision is seen whole when its
    owner is a member and not at all otherwise (a coalition without the owner has none of it
    to share)."""
    total = sum(d.places for d in instance.demand)
    mine = sum(d.places for d in instance.demand if d.authority in members)
    coalition = mine / total if total > 0 else 1.0
    scales = {}
    full = instance.policy.baseline_capacity == "full"
    for p in instance.providers.values():
        if p.kind == "in_house":
            scales[p.id] = 1.0 if p.owner in members else 0.0
        else:
            scales[p.id] = 1.0 if full else coalition
    return scales


def distance(instance: Instance, listed: dict, authority: str, provider: str
             ) -> tuple[float, float]:
    """(km, extra_cost_year) of a pair: the distances table (``listed``), else great-circle km
    x road_factor with no extra cost."""
    if (authority, provider) in listed:
        row = listed[(authority, provider)]
        return row.km, row.extra_cost_year
    a, p = instance.authorities[authority], instance.providers[provider]
    km = float(great_circle_km(a.lat, a.lon, p.lat, p.lon)) * instance.policy.road_factor
    return km, 0.0


def eligible(instance: Instance, authority: str, provider: str, offer_type: str,
             need: str) -> bool:
    """(p,t) offered, (n,t) in S, rating allowed, in-house only for its owner unless shared."""
    policy = instance.policy
    served = need == offer_type or any(
        s.need == need and s.served_by == offer_type for s in instance.substitutions)
    p = instance.providers[provider]
    in_house_ok = p.kind != "in_house" or p.owner == authority or policy.share_in_house
    return served and in_house_ok and rating_allowed(p.rating, policy.min_rating)


def coalition_data(instance: Instance, members: list[str]) -> Data:
    """Everything the model needs for coalition ``members``, one record at a time."""
    policy = instance.policy
    weeks = policy.weeks_per_year
    types = instance.placement_types
    demand = {}
    for d in instance.demand:
        if d.authority in members and d.places > 0:
            demand[(d.authority, d.placement_type)] = d.places
    emergency = {t: weeks * types[t].emergency_weekly_price for t in types}
    scale = capacity_scales(instance, members)
    capacity, max_places = {}, {}
    for p in instance.providers.values():
        if p.max_places is not None:
            max_places[p.id] = p.max_places * scale[p.id]
    for offer in instance.offers:
        capacity[(offer.provider, offer.placement_type)] = offer.capacity * scale[offer.provider]
    listed = {(row.authority, row.provider): row for row in instance.distances}
    placements = []
    for (a, n) in demand:
        for offer in instance.offers:
            p, t = offer.provider, offer.placement_type
            if not eligible(instance, a, p, t, n):
                continue
            km, extra = distance(instance, listed, a, p)
            cm = (offer.case_management_weekly if offer.case_management_weekly is not None
                  else types[t].case_management_weekly)
            non_fee = (weeks * cm + policy.travel_cost_per_km_year * km
                       + offer.breakdown_rate * policy.breakdown_cost + extra)
            placements.append(Placement(a, p, t, n, weeks * offer.weekly_price, non_fee,
                                        km <= policy.local_radius_km))
    groups: dict[tuple[str, str | None], list] = {}
    for tier in instance.tiers:
        groups.setdefault((tier.provider, tier.placement_type), []).append(tier)
    group_list = [Group(p, scope, tuple(sorted(tiers, key=lambda r: r.min_places)))
                  for (p, scope), tiers in groups.items()]
    # a group no member can place in never gains from a tier (a guarantee would only cost)
    group_list = [g for g in group_list
                  if any(e.provider == g.provider and g.covers(e.offer_type) for e in placements)]
    member_demand = {a: sum(v for (b, _), v in demand.items() if b == a) for a in members}
    total = sum(member_demand.values())
    share = {a: (member_demand[a] / total if total > 0 else 0.0) for a in members}
    target = {}
    for a in members:
        own = instance.authorities[a].min_local_share
        target[a] = own if own is not None else policy.min_local_share
    data = Data(list(members), weeks, demand, emergency, capacity, max_places, placements,
                group_list, share, target, total)
    data.index()
    return data


# -- variables ---------------------------------------------------------------------------------


def add_variables(model: Model, integer_places: bool, individual_rationality: bool) -> None:
    """x >= 0 per placement (integer if asked), u >= 0 per need, o binary per provider with a
    contract cost or minimum, short >= 0 per member with a local target, excess >= 0 with IR."""
    data = model.data
    category = pulp.LpInteger if integer_places else pulp.LpContinuous
    for i, e in enumerate(data.placements):
        model.x[e] = model.problem.add_variable(f"x_{i}", lowBound=0, cat=category)
    for i, key in enumerate(data.demand):
        model.u[key] = model.problem.add_variable(f"u_{i}", lowBound=0)
    used = {e.provider for e in data.placements}
    for j, p in enumerate(model.instance.providers.values()):
        if p.id in used and (p.contract_cost_year > 0 or p.min_places > 0):
            model.o[p.id] = model.problem.add_variable(f"o_{j}", cat=pulp.LpBinary)
    for i, a in enumerate(data.members):
        if data.local_target[a] > 0:
            model.short[a] = model.problem.add_variable(f"short_{i}", lowBound=0)
        if individual_rationality:
            model.excess[a] = model.problem.add_variable(f"excess_{i}", lowBound=0)


def in_group(model: Model, g: int) -> list[Placement]:
    """The placements in scope of tier group g."""
    group = model.data.groups[g]
    return [e for e in model.data.by_provider.get(group.provider, [])
            if group.covers(e.offer_type)]


# -- constraint families -----------------------------------------------------------------------


def add_demand(model: Model) -> None:
    """(1) sum over eligible (p,t) of x[a,p,t,n] + u[a,n] = d[a,n]."""
    for (a, n), places in model.data.demand.items():
        placed = [model.x[e] for e in model.data.by_need.get((a, n), [])]
        model.problem += pulp.lpSum(placed) + model.u[(a, n)] == places


def add_capacity(model: Model) -> None:
    """(2) sum over a,n of x[a,p,t,n] <= cap[p,t]; sum over a,t,n <= max_places[p]."""
    for (p, t), cap in model.data.capacity.items():
        using = [model.x[e] for e in model.data.by_offer.get((p, t), [])]
        if using:
            model.problem += pulp.lpSum(using) <= cap
    for p, limit in model.data.max_places.items():
        using = [model.x[e] for e in model.data.by_provider.get(p, [])]
        if using:
            model.problem += pulp.lpSum(using) <= limit


def add_contracts(model: Model) -> None:
    """(3) big-M on the aggregate: sum of x of p <= BIGP * o[p], BIGP = D_M;
    sum of x of p >= min_places[p] * o[p]."""
    instance = model.instance
    for p, o in model.o.items():
        total = pulp.lpSum(model.x[e] for e in model.data.by_provider[p])
        model.problem += total <= model.data.total_demand * o
        minimum = instance.providers[p].min_places
        if minimum > 0:
            model.problem += total >= minimum * o


def add_tiers(model: Model) -> None:
    """(4) for each group: at most one tier; the volume lies in the active tier's closed range
    (big-M BIGV = D_M); a guarantee tier may make up its minimum with void places."""
    data = model.data
    big = data.total_demand
    for g, group in enumerate(data.groups):
        volume = pulp.lpSum(model.x[e] for e in in_group(model, g))
        z = []
        for k in range(len(group.tiers)):
            model.z[(g, k)] = model.problem.add_variable(f"z_{g}_{k}", cat=pulp.LpBinary)
            z.append(model.z[(g, k)])
        model.problem += pulp.lpSum(z) <= 1
        for k, tier in enumerate(group.tiers):
            if tier.guarantee:
                model.void[(g, k)] = model.problem.add_variable(f"void_{g}_{k}", lowBound=0)
                model.problem += volume + model.void[(g, k)] >= tier.min_places * z[k]
                model.problem += model.void[(g, k)] <= tier.min_places * z[k]
            else:
                model.problem += volume >= tier.min_places * z[k]
            if k + 1 < len(group.tiers):
                model.problem += volume <= group.tiers[k + 1].min_places + big * (1 - z[k])
        model.problem += volume <= group.tiers[0].min_places + big * pulp.lpSum(z)


def add_fees(model: Model) -> None:
    """(5) member a's fee in group g, F[a,g] >= its list spend L[a,g] less the active tier's
    discount, by big-M (BIGF[a,g] = largest fee in scope x a's demand reachable in scope)."""
    data = model.data
    for g, group in enumerate(data.groups):
        placements = in_group(model, g)
        for a in data.members:
            mine = [e for e in placements if e.authority == a]
            if not mine:
                continue
            spend = pulp.lpSum(e.fee * model.x[e] for e in mine)
            reach = sum(data.demand[(a, n)] for n in sorted({e.need for e in mine}))
            big = max(e.fee for e in mine) * reach
            fee = model.problem.add_variable(f"fee_{g}_{data.members.index(a)}", lowBound=0)
            model.fee[(a, g)] = fee
            z = [model.z[(g, k)] for k in range(len(group.tiers))]
            for k, tier in enumerate(group.tiers):
                model.problem += fee >= (1 - tier.discount_pct / 100) * spend - big * (1 - z[k])
            model.problem += fee >= spend - big * pulp.lpSum(z)


def void_price(model: Model, g: int, k: int) -> float:
    """W * (lowest weekly price in the group's scope) * (1 - discount of tier k)."""
    group = model.data.groups[g]
    prices = [o.weekly_price for o in model.instance.offers
              if o.provider == group.provider and group.covers(o.placement_type)]
    return model.data.weeks * min(prices) * (1 - group.tiers[k].discount_pct / 100)


def add_member_costs(model: Model) -> None:
    """cost_a = fees_a + sum x*c + sum_n e[n]*u[a,n]
    + share_a * (sum_p contract_cost_year[p]*o[p] + sum_g void[g]*void_price[g])."""
    data, instance = model.data, model.instance
    tiered = {e for g in range(len(data.groups)) for e in in_group(model, g)}
    shared = pulp.lpSum(instance.providers[p].contract_cost_year * o for p, o in model.o.items())
    shared += pulp.lpSum(void_price(model, g, k) * v for (g, k), v in model.void.items())
    for a in data.members:
        terms = []
        for e in data.by_member.get(a, []):
            terms.append(e.non_fee * model.x[e])
            if e not in tiered:
                terms.append(e.fee * model.x[e])
        terms += [fee for (b, _), fee in model.fee.items() if b == a]
        terms += [data.emergency[n] * u for (b, n), u in model.u.items() if b == a]
        model.cost[a] = pulp.lpSum(terms) + data.share[a] * shared


def add_locality(model: Model) -> None:
    """(6) sum of local x of a >= min_local_share_a * (D_a - sum_n u[a,n]) - short[a]."""
    data = model.data
    for a, short in model.short.items():
        local = pulp.lpSum(model.x[e] for e in data.by_member.get(a, []) if e.local)
        demand = sum(v for (b, _), v in data.demand.items() if b == a)
        unmet = pulp.lpSum(u for (b, _), u in model.u.items() if b == a)
        model.problem += local >= data.local_target[a] * (demand - unmet) - short


def add_concentration(model: Model) -> None:
    """(7) for independent and voluntary p: sum of x of p <= max_provider_share * sum of x."""
    instance = model.instance
    share = instance.policy.max_provider_share
    if share >= 1:
        return
    everything = pulp.lpSum(model.x.values())
    for p in model.data.by_provider:
        if instance.providers[p].kind in ("independent", "voluntary"):
            mine = pulp.lpSum(model.x[e] for e in model.data.by_provider[p])
            model.problem += mine <= share * everything


def add_individual_rationality(model: Model, standalone: dict[str, float]) -> None:
    """(8) cost_a <= B_a + excess[a]."""
    for a, excess in model.excess.items():
        model.problem += model.cost[a] <= standalone[a] + excess


def set_objective(model: Model) -> None:
    """Voice ``volume``: sum_a cost_a + local_shortfall_penalty_year * sum_a short[a]
    + EXCESS_PENALTY * sum_a excess[a]."""
    penalty = model.instance.policy.local_shortfall_penalty_year
    model.problem += (pulp.lpSum(model.cost.values()) + penalty * pulp.lpSum(model.short.values())
                      + EXCESS_PENALTY * pulp.lpSum(model.excess.values()))


# -- solve -------------------------------------------------------------------------------------


def build_reference(instance: Instance, members: list[str] | None = None,
                    standalone: dict[str, float] | None = None) -> Model:
    """The PuLP model of docs/model.md section 4 for ``members`` (default: every authority);
    individual rationality is on iff ``standalone`` costs are given."""
    members = list(instance.authorities) if members is None else list(members)
    problem = pulp.LpProblem("reference", pulp.LpMinimize)
    model = Model(instance, coalition_data(instance, members), problem)
    add_variables(model, instance.policy.integer_places, standalone is not None)
    add_demand(model)
    add_capacity(model)
    add_contracts(model)
    add_tiers(model)
    add_fees(model)
    add_member_costs(model)
    add_locality(model)
    add_concentration(model)
    if standalone is not None:
        add_individual_rationality(model, standalone)
    set_objective(model)
    return model


def reference_solver(solver: str, mip_gap: float, time_limit_s: float):
    """PuLP's bundled CBC, or PuLP's in-process HiGHS interface (highspy)."""
    if solver == "cbc":
        with warnings.catch_warnings():  # PuLP 3.x flags its bundled CBC as deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(msg=False, gapRel=mip_gap, timeLimit=time_limit_s,
                                     threads=1)
    if solver == "highs":
        highs = pulp.HiGHS(msg=False, gapRel=mip_gap, timeLimit=time_limit_s, threads=1)
        if not highs.available():
            raise RuntimeError("PuLP's HiGHS interface is not available (highspy missing)")
        return highs
    raise ValueError(f"unknown solver {solver!r}: use 'cbc' or 'highs'")


def solve_reference(instance: Instance, members: list[str] | None = None,
                    standalone: dict[str, float] | None = None, solver: str = "cbc",
                    mip_gap: float | None = None, time_limit_s: float | None = None
                    ) -> ReferenceResult:
    """Build and solve the reference model; the gap and time limit default to the policy's."""
    policy = instance.policy
    model = build_reference(instance, members, standalone)
    backend = reference_solver(solver,
                               policy.mip_gap if mip_gap is None else mip_gap,
                               policy.time_limit_s if time_limit_s is None else time_limit_s)
    model.problem.solve(backend)
    # PuLP reports CBC stopped at its time limit with a plan as "Optimal" too: an oracle must
    # be given a time limit it does not reach.
    status = pulp.LpStatus[model.problem.status].lower()
    if status != "optimal":
        return ReferenceResult(None, {}, status)
    costs = {a: value(expression) for a, expression in model.cost.items()}
    return ReferenceResult(value(model.problem.objective), costs, status)


def value(expression: pulp.LpAffineExpression) -> float:
    """The value of an expression in the solution (PuLP gives None for one without terms)."""
    return float(expression.constant + sum(coef * (v.varValue or 0.0)
                                           for v, coef in expression.items()))
