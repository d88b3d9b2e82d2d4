"""The market a coalition sees: the data of docs/model.md section 4 for one set of members.

``build_market(instance, members)`` turns an :class:`Instance` into flat tables the model reads:

* ``arcs``: one row per eligible assignment (a, p, t, n) with its yearly list fee
  ``fee_year = W * price[p,t]``, its non-fee cost per place ``non_fee_year = c[a,p,t]``, its road
  distance, whether it is local, and its upper bound ``min(d[a,n], cap[p,t])``;
* ``needs``: demand d[a,n] of every member (rows with positive places);
* ``offers`` and ``providers`` with the capacity the coalition sees (docs/model.md section 5): under
  ``baseline_capacity: shared`` every capacity and max_places is scaled by D_M / D, the
  coalition's share of the instance's demand, except in-house provision owned by a member,
  which it keeps whole; under ``full`` nothing is scaled;
* ``groups``: the tier groups (one per provider and scope) with their tiers.

Eligibility (docs/model.md section 4): (p,t) is an offer with capacity, (n,t) is an allowed
service pair (n = t or a substitution), the provider's rating is at least ``min_rating``
(unrated allowed), and an in-house provider serves only its owner unless ``share_in_house``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.records import Instance
from optimiser.schema import rating_allowed

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class TierGroup:
    """The tiers of one provider over one scope (a placement type, or None: all its offers)."""

    provider: str
    scope: str | None
    min_places: tuple[float, ...]  # ascending
    discount_pct: tuple[float, ...]
    guarantee: tuple[bool, ...]

    def covers(self, placement_type: str) -> bool:
        return self.scope is None or self.scope == placement_type


@dataclass(frozen=True)
class Market:
    """One coalition's view of the instance (see module docstring)."""

    instance: Instance
    members: tuple[str, ...]
    share: dict[str, float]  # D_a / D_M
    capacity_factor: float  # D_M / D under `shared`, 1 under `full`
    needs: pd.DataFrame  # authority, need, places, emergency_year
    offers: pd.DataFrame  # provider, placement_type, capacity, weekly_price, fee_year, ...
    providers: pd.DataFrame  # provider, kind, owner, contract_cost_year, min_places, max_places
    arcs: pd.DataFrame
    groups: tuple[TierGroup, ...]
    local_target: dict[str, float]  # min_local_share per member

    @property
    def weeks(self) -> float:
        return self.instance.policy.weeks_per_year

    @property
    def demand(self) -> dict[str, float]:
        return self.needs.groupby("authority")["places"].sum().reindex(
            list(self.members), fill_value=0.0).to_dict()


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km between points given in degrees (vectorised)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_table(instance: Instance, members: list[str], providers: list[str]) -> pd.DataFrame:
    """km and extra_cost_year for every (member, provider) pair.

    Listed pairs use the distances table; the others great-circle km x road_factor
    (validation guarantees coordinates exist for every unlisted pair).
    """
    pairs = pd.MultiIndex.from_product([members, providers], names=["authority", "provider"])
    table = pairs.to_frame(index=False)
    auth = instance.authorities
    prov = instance.providers
    coords = np.array([
        (auth[a].lat, auth[a].lon, prov[p].lat, prov[p].lon)
        for a, p in zip(table["authority"], table["provider"])
    ], dtype=float).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        table["km"] = great_circle_km(*coords.T) * instance.policy.road_factor
    table["extra_cost_year"] = 0.0
    if instance.distances:
        listed = pd.DataFrame([d.model_dump() for d in instance.distances])
        table = table.merge(listed, on=["authority", "provider"], how="left",
                            suffixes=("", "_listed"))
        has = table["km_listed"].notna()
        table.loc[has, "km"] = table.loc[has, "km_listed"]
        table.loc[has, "extra_cost_year"] = table.loc[has, "extra_cost_year_listed"]
        table = table.drop(columns=["km_listed", "extra_cost_year_listed"])
    return table


def _needs(instance: Instance, members: list[str]) -> pd.DataFrame:
    weeks = instance.policy.weeks_per_year
    rows = [
        (d.authority, d.placement_type, d.places,
         weeks * instance.placement_types[d.placement_type].emergency_weekly_price)
        for d in instance.demand
        if d.authority in set(members) and d.places > 0
    ]
    needs = pd.DataFrame(rows, columns=["authority", "need", "places", "emergency_year"])
    order = {a: i for i, a in enumerate(members)}
    return needs.sort_values("authority", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True)


def provider_scale(kind: str, owner: str | None, members: set[str], factor: float) -> float:
    """The share of a provider's capacity coalition ``members`` sees (docs/model.md section 5).

    In-house provision owned by a member is kept whole. In-house provision of an authority
    outside the coalition is not seen at all: `share_in_house` lets it serve the owner's fellow
    members, and a coalition without the owner has none. (Scaling it by D_M / D instead would
    let the members' standalone plans claim more of it than exists, breaking the section 5
    guarantee that the union of standalone plans is a feasible consortium plan.)"""
    if kind == "in_house":
        return 1.0 if owner in members else 0.0
    return factor


def _providers(instance: Instance, members: list[str], factor: float) -> pd.DataFrame:
    rows = []
    for p in instance.providers.values():
        scale = provider_scale(p.kind, p.owner, set(members), factor)
        rows.append({
            "provider": p.id, "kind": p.kind, "owner": p.owner,
            "usable": rating_allowed(p.rating, instance.policy.min_rating),
            "contract_cost_year": p.contract_cost_year, "min_places": p.min_places,
            "max_places": np.inf if p.max_places is None else p.max_places * scale,
            "scale": scale,
        })
    return pd.DataFrame(rows)


def _offers(instance: Instance, providers: pd.DataFrame) -> pd.DataFrame:
    policy = instance.policy
    types = instance.placement_types
    rows = [{
        "provider": o.provider, "placement_type": o.placement_type,
        "capacity_listed": o.capacity, "weekly_price": o.weekly_price,
        "case_management_weekly": (o.case_management_weekly
                                   if o.case_management_weekly is not None
                                   else types[o.placement_type].case_management_weekly),
        "breakdown_rate": o.breakdown_rate,
    } for o in instance.offers]
    offers = pd.DataFrame(rows, columns=["provider", "placement_type", "capacity_listed",
                                         "weekly_price", "case_management_weekly",
                                         "breakdown_rate"])
    offers = offers.merge(providers[["provider", "scale"]], on="provider", how="left")
    offers["capacity"] = offers["capacity_listed"] * offers["scale"]
    offers["fee_year"] = policy.weeks_per_year * offers["weekly_price"]
    offers["offer_cost_year"] = (policy.weeks_per_year * offers["case_management_weekly"]
                                 + offers["breakdown_rate"] * policy.breakdown_cost)
    return offers.drop(columns=["scale"])


def service_pairs(instance: Instance) -> pd.DataFrame:
    """S = {(n, t): n = t or (n, t) in substitutions}."""
    pairs = {(t, t) for t in instance.placement_types}
    pairs |= {(s.need, s.served_by) for s in instance.substitutions}
    return pd.DataFrame(sorted(pairs), columns=["need", "placement_type"])


def eligible_arcs(instance: Instance, needs: pd.DataFrame, offers: pd.DataFrame,
                  providers: pd.DataFrame, distances: pd.DataFrame) -> pd.DataFrame:
    """Every eligible assignment (a, p, t, n) with its costs per place per year."""
    policy = instance.policy
    arcs = (needs.merge(service_pairs(instance), on="need")
            .merge(offers[offers["capacity"] > 0], on="placement_type")
            .merge(providers, on="provider"))
    own = arcs["owner"] == arcs["authority"]
    in_house_ok = (arcs["kind"] != "in_house") | own | policy.share_in_house
    arcs = arcs[arcs["usable"] & in_house_ok]
    arcs = arcs.merge(distances, on=["authority", "provider"], how="left")
    arcs["local"] = arcs["km"] <= policy.local_radius_km
    arcs["non_fee_year"] = (arcs["offer_cost_year"] + policy.travel_cost_per_km_year * arcs["km"]
                            + arcs["extra_cost_year"])
    arcs["upper"] = np.minimum(np.minimum(arcs["places"], arcs["capacity"]), arcs["max_places"])
    columns = ["authority", "provider", "placement_type", "need", "fee_year", "weekly_price",
               "non_fee_year", "km", "local", "upper"]
    return arcs.sort_values(["authority", "need", "provider", "placement_type"],
                            key=_instance_order(instance), kind="stable")[columns].reset_index(
        drop=True)


def _instance_order(instance: Instance):
    """Sort key keeping authorities, types and providers in the instance's file order."""
    orders = {
        "authority": {a: i for i, a in enumerate(instance.authorities)},
        "provider": {p: i for i, p in enumerate(instance.providers)},
        "need": {t: i for i, t in enumerate(instance.placement_types)},
        "placement_type": {t: i for i, t in enumerate(instance.placement_types)},
    }
    return lambda column: column.map(orders[column.name])


def tier_groups(instance: Instance) -> tuple[TierGroup, ...]:
    """One group per provider and scope, tiers ascending by min_places (instance order)."""
    grouped: dict[tuple[str, str | None], list] = {}
    for tier in instance.tiers:
        grouped.setdefault((tier.provider, tier.placement_type), []).append(tier)
    groups = []
    for (provider, scope), tiers in grouped.items():
        tiers = sorted(tiers, key=lambda t: t.min_places)
        groups.append(TierGroup(
            provider, scope,
            tuple(t.min_places for t in tiers),
            tuple(t.discount_pct for t in tiers),
            tuple(bool(t.guarantee) for t in tiers),
        ))
    return tuple(groups)


def capacity_factor(instance: Instance, members: list[str]) -> float:
    """D_M / D under `shared`, 1 under `full` (docs/model.md section 5)."""
    if instance.policy.baseline_capacity == "full":
        return 1.0
    total = instance.total_demand
    if total <= 0:
        return 1.0
    return sum(instance.demand_of(a) for a in members) / total


def build_market(instance: Instance, members: list[str] | None = None) -> Market:
    """The market coalition ``members`` (default: every authority) sees."""
    members = list(instance.authorities) if members is None else list(members)
    factor = capacity_factor(instance, members)
    needs = _needs(instance, members)
    providers = _providers(instance, members, factor)
    offers = _offers(instance, providers)
    distances = distance_table(instance, members, list(instance.providers))
    arcs = eligible_arcs(instance, needs, offers, providers, distances)
    demand = needs.groupby("authority")["places"].sum()
    total = float(demand.sum())
    share = {a: (float(demand.get(a, 0.0)) / total if total > 0 else 0.0) for a in members}
    policy = instance.policy
    local_target = {
        a: (instance.authorities[a].min_local_share
            if instance.authorities[a].min_local_share is not None else policy.min_local_share)
        for a in members
    }
    return Market(instance, tuple(members), share, factor, needs, offers, providers, arcs,
                  tier_groups(instance), local_target)
