"""Small random valid instances for property tests (a helper module, not a test file).

``random_instance(seed, **knobs)`` builds an :class:`Instance` straight from the schema row
models: 2-5 authorities around (53.5, -2.5), 2-6 providers (sometimes one in-house), 1-3
placement types, optional substitutions, random tiers (some guarantees) with non-decreasing
discounts, optional contract costs, min_places and max_places, demands of 0-15 places and weekly
prices of 500-7000. The same seed always gives the same instance.

Every instance respects the cross-table rules of docs/model.md section 3 (unique keys, known
ids, an owner for in-house providers, a provider's tiers all scoped or all blank, discounts that
never fall as volume rises); ``instance_tables`` writes one back as tables so a test can check
that by loading it through the product's validation.
"""

from __future__ import annotations

import random

from optimiser.records import Instance
from optimiser.schema import (
    Authority,
    Demand,
    Distance,
    Offer,
    PlacementType,
    Policy,
    Provider,
    Substitution,
    Tier,
)

RATINGS = ("outstanding", "good", "requires_improvement", "inadequate", "unrated")


def random_instance(
    seed: int,
    *,
    contract_costs: bool = True,
    guarantees: bool = True,
    tiers: bool = True,
    provider_limits: bool = True,
    in_house: bool | None = None,
    vary_policy: bool = True,
    policy: dict | None = None,
) -> Instance:
    """A small random valid instance.

    Knobs: ``contract_costs`` (some providers have a contract_cost_year), ``guarantees`` (some
    tiers are guarantees), ``tiers`` (any tiers at all), ``provider_limits`` (min_places and
    max_places), ``in_house`` (True: always one in-house provider, False: never, None: at
    random), ``vary_policy`` (randomise breakdown cost, local targets, min_rating,
    share_in_house and max_provider_share), ``policy`` (keys set last, over everything).
    """
    rng = random.Random(seed)
    types = _placement_types(rng)
    authorities = _authorities(rng, vary_policy)
    demand = _demand(rng, authorities, types)
    providers = _providers(rng, authorities, contract_costs, provider_limits, in_house)
    offers = _offers(rng, providers, types)
    tier_rows = _tiers(rng, offers, guarantees) if tiers else ()
    keys = _policy(rng, vary_policy)
    keys.update(policy or {})
    return Instance(
        name=f"random {seed}",
        description="random test instance",
        placement_types={t.id: t for t in types},
        authorities={a.id: a for a in authorities},
        demand=tuple(demand),
        providers={p.id: p for p in providers},
        offers=tuple(offers),
        tiers=tuple(tier_rows),
        distances=tuple(_distances(rng, authorities, providers)),
        substitutions=tuple(_substitutions(rng, types)),
        policy=Policy(**keys),
    )


def _placement_types(rng: random.Random) -> list[PlacementType]:
    return [PlacementType(id=f"T{i}", specialist=rng.random() < 0.3,
                          emergency_weekly_price=round(rng.uniform(3000, 12000)),
                          case_management_weekly=rng.choice([0, 50, 100, 200]))
            for i in range(rng.randint(1, 3))]


def _authorities(rng: random.Random, vary_policy: bool) -> list[Authority]:
    rows = []
    for i in range(rng.randint(2, 5)):
        share = round(rng.uniform(0.2, 0.9), 2) if vary_policy and rng.random() < 0.3 else None
        rows.append(Authority(id=f"A{i}", lat=round(53.5 + rng.uniform(-0.4, 0.4), 4),
                              lon=round(-2.5 + rng.uniform(-0.6, 0.6), 4),
                              min_local_share=share))
    return rows


def _demand(rng: random.Random, authorities, types) -> list[Demand]:
    rows = []
    for a in authorities:
        for t in types:
            if rng.random() < 0.8:
                places = rng.choice([0, rng.randint(1, 15), round(rng.uniform(0, 15), 1)])
                rows.append(Demand(authority=a.id, placement_type=t.id, places=places))
    return rows


def _providers(rng: random.Random, authorities, contract_costs: bool, limits: bool,
               in_house: bool | None) -> list[Provider]:
    count = rng.randint(2, 6)
    has_in_house = rng.random() < 0.4 if in_house is None else in_house
    rows = []
    for i in range(count):
        own = has_in_house and i == count - 1
        rows.append(Provider(
            id=f"P{i}",
            kind="in_house" if own else rng.choice(["independent", "voluntary"]),
            owner=rng.choice(authorities).id if own else None,
            lat=round(53.5 + rng.uniform(-0.5, 0.5), 4),
            lon=round(-2.5 + rng.uniform(-0.7, 0.7), 4),
            rating=rng.choice(RATINGS),
            contract_cost_year=(round(rng.uniform(5_000, 150_000))
                                if contract_costs and rng.random() < 0.4 else 0.0),
            min_places=round(rng.uniform(1, 8), 1) if limits and rng.random() < 0.2 else 0.0,
            max_places=round(rng.uniform(3, 30), 1) if limits and rng.random() < 0.3 else None,
        ))
    return rows


def _offers(rng: random.Random, providers, types) -> list[Offer]:
    rows = []
    for p in providers:
        offered = [t for t in types if rng.random() < 0.6] or [rng.choice(types)]
        for t in offered:
            rows.append(Offer(
                provider=p.id, placement_type=t.id,
                capacity=rng.choice([0, rng.randint(1, 20), round(rng.uniform(0, 20), 1)]),
                weekly_price=round(rng.uniform(500, 7000)),
                case_management_weekly=rng.choice([None, None, 0, 120]),
                breakdown_rate=rng.choice([0.0, 0.0, round(rng.uniform(0, 0.5), 2)]),
            ))
    return rows


def _tiers(rng: random.Random, offers, guarantees: bool) -> list[Tier]:
    rows = []
    for p in sorted({o.provider for o in offers}):
        if rng.random() >= 0.5:
            continue
        types = [o.placement_type for o in offers if o.provider == p]
        scopes = [None] if rng.random() < 0.5 else [t for t in types if rng.random() < 0.7]
        for scope in scopes:
            minimums = set(rng.sample(range(2, 21), rng.randint(1, 3)))
            room = sum(o.capacity for o in offers
                       if o.provider == p and scope in (None, o.placement_type))
            if room >= 2 and rng.random() < 0.5:  # a minimum near capacity: voids pay off
                minimums = {round(room * rng.uniform(0.8, 1.3), 1)} | set(list(minimums)[:1])
            minimums = sorted(minimums)
            discount = 0.0
            for minimum in minimums:
                discount = min(60.0, discount + rng.choice([0, 5, 10, 20, 30]))
                rows.append(Tier(provider=p, placement_type=scope, min_places=minimum,
                                 discount_pct=max(discount, 1.0),
                                 guarantee=guarantees and rng.random() < 0.5))
    return rows


def _distances(rng: random.Random, authorities, providers) -> list[Distance]:
    return [Distance(authority=a.id, provider=p.id, km=round(rng.uniform(0, 100), 1),
                     extra_cost_year=rng.choice([0, 0, round(rng.uniform(0, 5000))]))
            for a in authorities for p in providers if rng.random() < 0.2]


def _substitutions(rng: random.Random, types) -> list[Substitution]:
    return [Substitution(need=n.id, served_by=t.id)
            for n in types for t in types if n.id != t.id and rng.random() < 0.3]


def _policy(rng: random.Random, vary: bool) -> dict:
    if not vary:
        return {}
    keys = {}
    if rng.random() < 0.3:
        keys["breakdown_cost"] = rng.choice([2000, 8000])
    if rng.random() < 0.3:
        keys["min_local_share"] = rng.choice([0.3, 0.6])
    if rng.random() < 0.2:
        keys["min_rating"] = rng.choice(["good", "inadequate"])
    if rng.random() < 0.3:
        keys["share_in_house"] = True
    if rng.random() < 0.2:
        keys["max_provider_share"] = rng.choice([0.5, 0.7])
    return keys


def instance_tables(instance: Instance) -> tuple[dict[str, list[dict]], dict]:
    """(tables, policy) for ``tests.conftest.write_instance``: the instance as CSV rows."""
    def rows(records) -> list[dict]:
        return [r.model_dump(mode="json") for r in records]

    tables = {
        "placement_types": rows(instance.placement_types.values()),
        "authorities": rows(instance.authorities.values()),
        "demand": rows(instance.demand),
        "providers": rows(instance.providers.values()),
        "offers": rows(instance.offers),
    }
    for name in ("tiers", "distances", "substitutions"):
        if getattr(instance, name):
            tables[name] = rows(getattr(instance, name))
    return tables, instance.policy.model_dump(mode="json")
