"""The market as the coalition sees it (docs/model.md sections 4-5), rebuilt with plain loops."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from optimiser.errors import InputError
from optimiser.records import Instance
from optimiser.schema import Distance, Offer, Policy, rating_allowed

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


TierGroup = tuple[str, str | None]  # (provider, placement type or None: all its offers)


@dataclass
class Market:
    """Instance facts as the run's coalition sees them, indexed for row-by-row checks."""

    instance: Instance
    policy: Policy
    members: tuple[str, ...]
    offers: dict[tuple[str, str], Offer]
    demand: dict[tuple[str, str], float]
    allowed: set[tuple[str, str]]  # (need, offer type) pairs that may serve each other
    capacity_scale: float
    distances: dict[tuple[str, str], Distance]
    _km: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def build(cls, instance: Instance, policy: Policy, members: tuple[str, ...]) -> Market:
        demand: dict[tuple[str, str], float] = defaultdict(float)
        for row in instance.demand:
            demand[(row.authority, row.placement_type)] += row.places
        allowed = {(t, t) for t in instance.placement_types}
        allowed |= {(s.need, s.served_by) for s in instance.substitutions}
        everyone = sum(demand.values())
        coalition = sum(v for (a, _), v in demand.items() if a in members)
        # Under `shared` a coalition competes in the whole market for its demand share of it.
        scale = 1.0
        if policy.baseline_capacity == "shared" and everyone > 0:
            scale = coalition / everyone
        return cls(
            instance=instance,
            policy=policy,
            members=members,
            offers={(o.provider, o.placement_type): o for o in instance.offers},
            demand=dict(demand),
            allowed=allowed,
            capacity_scale=scale,
            distances={(d.authority, d.provider): d for d in instance.distances},
        )

    # -- distances and costs

    def km(self, authority: str, provider: str) -> float:
        """Listed road distance, else great-circle km times road_factor (cached: gaps ask often)."""
        key = (authority, provider)
        if key not in self._km:
            self._km[key] = self._km_uncached(authority, provider)
        return self._km[key]

    def _km_uncached(self, authority: str, provider: str) -> float:
        listed = self.distances.get((authority, provider))
        if listed is not None:
            return listed.km
        a, p = self.instance.authorities[authority], self.instance.providers[provider]
        if None in (a.lat, a.lon, p.lat, p.lon):
            # Validation forbids this; guard anyway rather than price a trip at nan.
            raise InputError(
                f"no distance for {authority} to {provider}: neither listed nor coordinates"
            )
        return great_circle_km(a.lat, a.lon, p.lat, p.lon) * self.policy.road_factor

    def extra_cost_year(self, authority: str, provider: str) -> float:
        listed = self.distances.get((authority, provider))
        return 0.0 if listed is None else listed.extra_cost_year

    def is_local(self, authority: str, provider: str) -> bool:
        return self.km(authority, provider) <= self.policy.local_radius_km

    def case_management_weekly(self, provider: str, placement_type: str) -> float:
        offer = self.offers[(provider, placement_type)]
        if offer.case_management_weekly is not None:
            return offer.case_management_weekly
        return self.instance.placement_types[placement_type].case_management_weekly

    def list_fee_year(self, provider: str, placement_type: str) -> float:
        return self.policy.weeks_per_year * self.offers[(provider, placement_type)].weekly_price

    def non_fee_year(self, authority: str, provider: str, placement_type: str) -> float:
        """c[a,p,t]: case management, travel, breakdowns and pair-specific costs of one place."""
        policy = self.policy
        offer = self.offers[(provider, placement_type)]
        return (
            policy.weeks_per_year * self.case_management_weekly(provider, placement_type)
            + policy.travel_cost_per_km_year * self.km(authority, provider)
            + offer.breakdown_rate * policy.breakdown_cost
            + self.extra_cost_year(authority, provider)
        )

    def emergency_year(self, need: str) -> float:
        return (
            self.policy.weeks_per_year * self.instance.placement_types[need].emergency_weekly_price
        )

    # -- capacity seen by the coalition

    def _seen_share(self, provider: str) -> float:
        """In-house provision: whole if its owner is a member, none otherwise (a coalition
        without the owner has no in-house provision of it to share); others: the scale."""
        p = self.instance.providers[provider]
        if p.kind == "in_house":
            return 1.0 if p.owner in self.members else 0.0
        return self.capacity_scale

    def offer_capacity(self, provider: str, placement_type: str) -> float:
        return self.offers[(provider, placement_type)].capacity * self._seen_share(provider)

    def max_places(self, provider: str) -> float | None:
        limit = self.instance.providers[provider].max_places
        return None if limit is None else limit * self._seen_share(provider)

    def provider_capacity(self, provider: str) -> float:
        offered = sum(self.offer_capacity(p, t) for (p, t) in self.offers if p == provider)
        limit = self.max_places(provider)
        return offered if limit is None else min(offered, limit)

    # -- eligibility

    def ineligibility(
        self, authority: str, provider: str, placement_type: str, need: str
    ) -> str | None:
        """Why (a, p, t, n) may not carry places, or None if it may."""
        p = self.instance.providers[provider]
        if authority not in self.members:
            return f"authority {authority} is not a member of this run"
        if (provider, placement_type) not in self.offers:
            return f"{provider} has no {placement_type} offer"
        if (need, placement_type) not in self.allowed:
            return f"need {need} may not be served by a {placement_type} place (no substitution)"
        if not rating_allowed(p.rating, self.policy.min_rating):
            return f"{provider} is rated {p.rating}, below min_rating {self.policy.min_rating}"
        if p.kind == "in_house" and p.owner != authority and not self.policy.share_in_house:
            return f"in-house provider {provider} serves {authority}, not its owner {p.owner}"
        return None

    # -- tiers

    def tier_group(self, provider: str, placement_type: str) -> TierGroup | None:
        """The tier group whose scope holds offer (p, t), if the provider has tiers for it."""
        tiers = [t for t in self.instance.tiers if t.provider == provider]
        if any(t.placement_type is None for t in tiers):
            return (provider, None)
        if any(t.placement_type == placement_type for t in tiers):
            return (provider, placement_type)
        return None

    def offers_in_scope(self, group: TierGroup) -> list[Offer]:
        provider, scope = group
        return [
            o
            for (p, t), o in self.offers.items()
            if p == provider and (scope is None or t == scope)
        ]

    def local_target(self, authority: str) -> float:
        own = self.instance.authorities[authority].min_local_share
        return self.policy.min_local_share if own is None else own

    def member_demand(self, authority: str) -> float:
        return sum(v for (a, _), v in self.demand.items() if a == authority)
