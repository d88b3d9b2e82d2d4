"""Tiers, providers, members, gaps: the tables' figures rebuilt from the placements."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from optimiser import outputs
from optimiser.verify.assignment import ActiveTier, Placement, json_number
from optimiser.verify.checker import Checker, at, fmt
from optimiser.verify.figures import MONEY_ROUNDING, PLACES_ABS, Figure, ratio, total
from optimiser.verify.files import ResultRow
from optimiser.verify.market import Market, TierGroup


@dataclass(frozen=True)
class GroupOutcome:
    provider: str
    guarantee: bool
    min_places: float
    void_places: Figure
    void_cost: Figure


def check_tiers(
    market: Market, active: dict[TierGroup, ActiveTier], placements: list[Placement], check: Checker
) -> list[GroupOutcome]:
    """Each active tier: its volume, that the volume unlocks it, its void places and cost."""
    outcomes = []
    for group, chosen in active.items():
        tier, entry = chosen.tier, chosen.reported
        where = partial("{} tiers[{}] {}".format, outputs.SUMMARY, chosen.index)
        scope = {(o.provider, o.placement_type) for o in market.offers_in_scope(group)}
        volume = total(x.places for x in placements if (x.provider, x.placement_type) in scope)
        check.places(where("volume"), json_number(entry["volume"], where("volume")), volume)
        void_places = Figure(max(0.0, tier.min_places - volume.value), volume.slack)
        label = f"{tier.provider} {tier.placement_type or 'all offers'}"
        if tier.guarantee:
            # A guarantee is met by paying for the unused places (take-or-pay).
            reached = volume.value + void_places.value >= tier.min_places - PLACES_ABS
        else:
            reached = volume.value >= tier.min_places - PLACES_ABS - volume.slack
            void_places = Figure(0.0)
        check.require(
            reached,
            f"{where('volume')}: tier {label} is active but its volume {fmt(volume)} is below "
            f"min_places {fmt(tier.min_places)}",
        )
        # no offer in scope would leave nothing to pay a void at (validation should prevent it)
        lowest_price = min((o.weekly_price for o in market.offers_in_scope(group)), default=0.0)
        void_price = market.policy.weeks_per_year * lowest_price * (1 - tier.discount_pct / 100)
        void_cost = void_places * void_price
        check.places(where("void_places"), json_number(entry["void_places"], where("void_places")),
                     void_places)
        check.money(where("void_cost"), json_number(entry["void_cost"], where("void_cost")),
                    void_cost)
        outcomes.append(
            GroupOutcome(tier.provider, tier.guarantee, tier.min_places, void_places, void_cost)
        )
    return outcomes


def check_providers(
    market: Market,
    placements: list[Placement],
    groups: list[GroupOutcome],
    rows: list[ResultRow],
    check: Checker,
) -> set[str]:
    """providers.csv, and the capacity, min_places and concentration constraints.

    Returns the contracted providers: those with places plus those the file says hold a
    contract anyway (outputs.py: contracted means "places > 0, or pays its contract cost").
    """
    instance = market.instance
    by_id = rows_by_key(rows, "provider", outputs.PROVIDERS, instance.providers, check)
    placed_total = total(x.places for x in placements)
    contracted = set()
    for provider in instance.providers:
        mine = [x for x in placements if x.provider == provider]
        places = total(x.places for x in mine)
        if places.value > PLACES_ABS:
            contracted.add(provider)
        _check_provider_constraints(market, provider, mine, places, placed_total, check)
        row = by_id.get(provider)
        if row is None:
            continue
        if row["contracted"]:
            contracted.add(provider)
        _check_provider_row(market, provider, mine, places, groups, row, check)
    return contracted


def _check_provider_row(
    market: Market,
    provider: str,
    mine: list[Placement],
    places: Figure,
    groups: list[GroupOutcome],
    row: ResultRow,
    check: Checker,
) -> None:
    p = market.instance.providers[provider]
    where = partial(at, outputs.PROVIDERS, provider)
    capacity = market.provider_capacity(provider)
    list_fees = total(x.list_fees for x in mine)
    fees = total(x.fees for x in mine)
    own_groups = [g for g in groups if g.provider == provider]
    check.same(where("name"), row["name"], p.name)
    check.same(where("kind"), row["kind"], p.kind)
    check.places(where("places"), row["places"], places)
    check.places(where("capacity"), row["capacity"], capacity)
    check.ratio(where("utilisation"), row["utilisation"], ratio(places, Figure(capacity)))
    if places.value > PLACES_ABS:
        check.same(where("contracted"), row["contracted"], True)
    check.places(
        where("tier_min_places"), row["tier_min_places"], sum(g.min_places for g in own_groups)
    )
    effective = ratio(list_fees - fees, list_fees)
    check.ratio(
        where("discount_pct"), row["discount_pct"], None if effective is None else effective * 100
    )
    check.same(where("guarantee"), row["guarantee"], any(g.guarantee for g in own_groups))
    check.places(where("void_places"), row["void_places"], total(g.void_places for g in own_groups))
    check.money(
        where("annual_fees"), row["annual_fees"], fees + total(g.void_cost for g in own_groups)
    )


def _check_provider_constraints(
    market: Market,
    provider: str,
    mine: list[Placement],
    places: Figure,
    placed_total: Figure,
    check: Checker,
) -> None:
    p = market.instance.providers[provider]
    where = at(outputs.ASSIGNMENT, f"provider {provider}", "places")
    for owner, offer_type in market.offers:
        if owner != provider:
            continue
        used = total(x.places for x in mine if x.placement_type == offer_type)
        capacity = market.offer_capacity(provider, offer_type)
        check.require(
            used.value <= capacity + PLACES_ABS + used.slack,
            f"{at(outputs.ASSIGNMENT, f'offer ({provider}, {offer_type})', 'places')}: capacity "
            f"breached: {fmt(used)} placed, capacity seen {fmt(capacity)}",
        )
    limit = market.max_places(provider)
    if limit is not None:
        check.require(
            places.value <= limit + PLACES_ABS + places.slack,
            f"{where}: max_places breached: {fmt(places)} placed, max_places seen {fmt(limit)}",
        )
    if places.value > PLACES_ABS and p.min_places > 0:
        check.require(
            places.value >= p.min_places - PLACES_ABS - places.slack,
            f"{where}: min_places not reached: {fmt(places)} placed, "
            f"min_places {fmt(p.min_places)}",
        )
    if p.kind in ("independent", "voluntary"):
        limit = market.policy.max_provider_share * placed_total
        check.require(
            places.value <= limit.value + PLACES_ABS + places.slack + limit.slack,
            f"{at(outputs.PROVIDERS, provider, 'places')}: concentration: {fmt(places)} "
            f"placed, above max_provider_share {fmt(market.policy.max_provider_share)} "
            f"x {fmt(placed_total)} = {fmt(limit)}",
        )


def rows_by_key(
    rows: list[ResultRow],
    column: str | tuple[str, ...],
    file: str,
    expected: Iterable[Any],
    check: Checker,
    label: Callable[[Any], str] = str,
) -> dict[Any, ResultRow]:
    """Rows keyed by ``column`` (or a tuple key); reports missing, unexpected and duplicate rows."""
    expected = list(expected)
    key_of = (
        (lambda r: tuple(r[c] for c in column))
        if isinstance(column, tuple)
        else (lambda r: r[column])
    )
    by_key: dict[Any, ResultRow] = {}
    for row in rows:
        key = key_of(row)
        if not check.require(
            key not in by_key, f"{file} line {row.line}: duplicate row {label(key)}"
        ):
            continue
        if not check.require(
            key in expected, f"{file} line {row.line}: unexpected row {label(key)}"
        ):
            continue
        by_key[key] = row
    for key in expected:
        check.require(key in by_key, f"{file}: no row for {label(key)}")
    return by_key


@dataclass(frozen=True)
class MemberOutcome:
    authority: str
    demand: float
    placed: Figure
    local: Figure
    annual_cost: Figure
    standalone_cost: Figure | None
    saving: Figure | None
    saving_pct: Figure | None


def member_costs(
    market: Market, placements: list[Placement], contracted: set[str], groups: list[GroupOutcome]
) -> dict[str, Figure]:
    """cost_a: own places, unmet demand at emergency prices, and its share of shared costs."""
    contract = sum(market.instance.providers[p].contract_cost_year for p in sorted(contracted))
    shared = contract + total(g.void_cost for g in groups)
    coalition = sum(market.member_demand(a) for a in market.members)
    costs = {}
    for a in market.members:
        # With no demand at all there is no share to go by; split evenly (never happens in a
        # real run, but keeps the arithmetic defined).
        share = market.member_demand(a) / coalition if coalition > 0 else 1 / len(market.members)
        own = total(x.annual_cost for x in placements if x.authority == a)
        unmet = total(
            market.emergency_year(n)
            * (d - total(x.places for x in placements if x.authority == a and x.need == n))
            for (b, n), d in market.demand.items()
            if b == a
        )
        costs[a] = own + unmet + share * shared
    return costs


def check_authorities(
    market: Market,
    placements: list[Placement],
    costs: dict[str, Figure],
    rows: list[ResultRow],
    check: Checker,
) -> list[MemberOutcome]:
    by_id = rows_by_key(rows, "authority", outputs.AUTHORITIES, market.members, check)
    outcomes = []
    for a in market.members:
        mine = [x for x in placements if x.authority == a]
        demand = market.member_demand(a)
        placed = total(x.places for x in mine)
        local = total(x.places for x in mine if x.local)
        row = by_id.get(a)
        standalone = None
        if row is not None and row["standalone_cost"] is not None:
            standalone = Figure(row["standalone_cost"], MONEY_ROUNDING)
        saving = None if standalone is None else standalone - costs[a]
        saving_pct = None if saving is None else ratio(saving, standalone)
        saving_pct = None if saving_pct is None else saving_pct * 100
        outcomes.append(
            MemberOutcome(a, demand, placed, local, costs[a], standalone, saving, saving_pct)
        )
        if row is None:
            continue
        where = partial(at, outputs.AUTHORITIES, a)
        check.same(where("name"), row["name"], market.instance.authorities[a].name)
        check.places(where("demand"), row["demand"], demand)
        check.places(where("placed"), row["placed"], placed)
        check.places(where("unmet"), row["unmet"], demand - placed)
        check.ratio(where("local_share"), row["local_share"], ratio(local, placed))
        check.money(where("annual_cost"), row["annual_cost"], costs[a])
        check.require(
            standalone is not None,
            f"{where('standalone_cost')}: blank, a standalone cost is needed",
        )
        check.money(where("saving"), row["saving"], saving)
        check.ratio(where("saving_pct"), row["saving_pct"], saving_pct)
    return outcomes


def check_demand_balance(market: Market, placements: list[Placement], check: Checker) -> None:
    """placed + unmet = demand for every (member, need), with unmet >= 0."""
    needs = {(a, n) for (a, n) in market.demand if a in market.members}
    needs |= {(x.authority, x.need) for x in placements if x.authority in market.members}
    for a, n in sorted(needs):
        placed = total(x.places for x in placements if x.authority == a and x.need == n)
        demand = market.demand.get((a, n), 0.0)
        check.require(
            demand - placed.value >= -(PLACES_ABS + placed.slack),
            f"{at(outputs.ASSIGNMENT, f'authority {a} need {n}', 'places')}: demand balance: "
            f"{fmt(placed)} placed for a demand of {fmt(demand)} "
            f"(unmet {fmt(demand - placed.value)})",
        )


def check_gaps(
    market: Market, placements: list[Placement], rows: list[ResultRow], check: Checker
) -> None:
    keys = [(a, n) for (a, n), d in market.demand.items() if a in market.members and d > 0]
    keys.sort(key=lambda k: (market.members.index(k[0]), k[1]))
    by_key = rows_by_key(
        rows,
        ("authority", "placement_type"),
        outputs.GAPS,
        keys,
        check,
        label=lambda k: f"({k[0]}, {k[1]})",
    )
    for (a, n), row in by_key.items():
        where = partial(at, outputs.GAPS, f"({a}, {n})")
        mine = [x for x in placements if x.authority == a and x.need == n]
        demand = market.demand[(a, n)]
        local_capacity = sum(
            market.offer_capacity(p, t)
            for (p, t) in market.offers
            if market.ineligibility(a, p, t, n) is None and market.is_local(a, p)
        )
        check.places(where("demand"), row["demand"], demand)
        check.places(where("local_capacity"), row["local_capacity"], local_capacity)
        check.places(
            where("placed_local"), row["placed_local"], total(x.places for x in mine if x.local)
        )
        check.places(
            where("placed_out_of_area"),
            row["placed_out_of_area"],
            total(x.places for x in mine if not x.local),
        )
        check.places(where("unmet"), row["unmet"], demand - total(x.places for x in mine))
