"""Typed records of a validated instance.

An :class:`Instance` is what every loader (directory, manifest, workbook) produces and what every
model and analysis consumes. It holds validated rows only: by the time one exists, every rule of
docs/model.md section 3 has been checked, so consumers may index by id without defensive checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from optimiser.schema import (
    Authority,
    Demand,
    Distance,
    Membership,
    Offer,
    PaymentBand,
    PlacementType,
    Policy,
    Provider,
    Substitution,
    Tier,
)


@dataclass(frozen=True)
class Instance:
    """A validated consortium framework instance (docs/model.md section 3)."""

    name: str
    description: str
    placement_types: dict[str, PlacementType]
    authorities: dict[str, Authority]
    demand: tuple[Demand, ...]
    providers: dict[str, Provider]
    offers: tuple[Offer, ...]
    tiers: tuple[Tier, ...] = ()
    distances: tuple[Distance, ...] = ()
    substitutions: tuple[Substitution, ...] = ()
    consortia: tuple[Membership, ...] = ()
    payment_schedule: tuple[PaymentBand, ...] = ()
    policy: Policy = field(default_factory=Policy)
    source: str = ""
    warnings: tuple[str, ...] = ()

    def with_policy(self, **changes: object) -> Instance:
        """A copy with some policy keys changed (values validated as the policy table's)."""
        merged = {**self.policy.model_dump(), **changes}
        return replace(self, policy=Policy.model_validate(merged))

    def consortium(self, name: str) -> list[str]:
        """Member ids of a named consortium, in file order."""
        return [m.authority for m in self.consortia if m.consortium == name]

    @property
    def consortium_names(self) -> list[str]:
        return list(dict.fromkeys(m.consortium for m in self.consortia))

    def demand_of(self, authority: str) -> float:
        return sum(d.places for d in self.demand if d.authority == authority)

    @property
    def total_demand(self) -> float:
        return sum(d.places for d in self.demand)
