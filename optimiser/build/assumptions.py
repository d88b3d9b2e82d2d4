"""Every assumption the real-data instances rest on: a named parameter with its value and reason.

The public data give counts of looked-after children and a register of providers; they do not
give capacities of fostering agencies, prices per provider, volume discounts or case-management
costs. Each such figure is an :class:`Assumption` here, and each instance's PROVENANCE.md lists
them all with value and reason, generated from this module, so the documentation cannot drift
from what the build used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def assumption(value: object, unit: str, reason: str):
    """A dataclass field holding an assumption's value, with its unit and reason as metadata."""
    metadata = {"unit": unit, "reason": reason}
    if isinstance(value, dict):
        return field(default_factory=lambda: dict(value), metadata=metadata)
    return field(default=value, metadata=metadata)


TYPES = ("foster_standard", "foster_specialist", "parent_child", "residential",
         "residential_complex", "supported_16plus")


@dataclass(frozen=True)
class Assumptions:
    """Parameters of the real-data build (PROVENANCE.md renders this table)."""

    year: int = assumption(2024, "year", "the latest year of the DfE looked-after counts")
    specialist_foster_share: float = assumption(
        0.10, "share of foster placements",
        "DfE does not split fostering by need; specialist (enhanced, therapeutic, disability) "
        "fostering is taken as a tenth of foster placements")
    complex_residential_share: float = assumption(
        0.18, "share of children's home placements and places",
        "LGA survey: over 1,500 of about 8,540 children's home placements cost £10,000+ a week "
        "in 2022-23 (17.6%); those, with residential schools, care homes and NHS settings, are "
        "the complex-needs residential demand; on the supply side each children's home offers "
        "this share of its places as complex-needs places, at the complex price")
    spread_unmapped: bool = assumption(
        True, "yes/no",
        "children placed with parents, placed for adoption or in other placements (13% "
        "nationally) need no commissioned placement of the six types; they are spread over the "
        "six types in proportion, so each instance's total demand equals the DfE count it is "
        "built from (acceptance rule), overstating commissioned demand by that share")
    special_school_places_rule: str = assumption(
        "national share held by looked-after children", "rule",
        "most residential special school places are education placements of children who are "
        "not looked after: a school's places count as complex-needs capacity at the national "
        "ratio of looked-after children in residential schools (DfE) to registered residential "
        "special school places (Ofsted), shown above")
    ifa_capacity_headroom: float = assumption(
        1.10, "x placements",
        "IFA places of a region = England's IFA foster placements x the region's share of "
        "England's looked-after children, plus 10% vacancies (approved carers without a "
        "child), shared equally by the IFA registrations in the region. Agencies register "
        "one URN at head office but recruit carers where children are (the North West has "
        "18% of the children and 10% of the registrations), so registrations alone would "
        "misplace capacity; England's total is unchanged")
    in_house_capacity_headroom: float = assumption(
        1.05, "x placements",
        "an authority's in-house fostering = its foster demand x the national own-provision "
        "share of foster placements, plus 5% vacancies")
    supported_capacity_ratio: float = assumption(
        1.10, "x demand",
        "supported accommodation was not Ofsted-registered until April 2023, so the 2023 "
        "register has none: each authority gets a local supported-accommodation market with "
        "110% of its own supported_16plus demand")
    price_spread: float = assumption(
        0.15, "+/- share of the base price",
        "providers' prices vary around the calibrated base; each provider's deviation is "
        "fixed by a hash of its id, so rebuilding gives the same prices")
    weekly_price: dict = assumption(
        {"in_house_foster": 625.0, "foster_standard": 815.0, "foster_specialist": 1100.0,
         "parent_child_foster": 1600.0, "parent_child_residential": 2790.0,
         "residential": 6250.0, "residential_in_house": 6123.0,
         "residential_complex": 9500.0, "supported_16plus": 1200.0},
        "£ per week",
        "data README: in-house fostering fully costed about £600-650; IFA standard about £815 "
        "(range £550-972); parent and child IFA £1,600, residential £2,790; independent "
        "children's home about £6,250; all homes £318,400 a year (£6,123 a week, used for "
        "LA homes); complex-needs residential £6,800-15,000 (£9,500 taken); specialist "
        "fostering and supported 16+ are assumptions (no source figure)")
    emergency_weekly_price: dict = assumption(
        {"foster_standard": 1600.0, "foster_specialist": 2200.0, "parent_child": 4000.0,
         "residential": 12000.0, "residential_complex": 18000.0, "supported_16plus": 3000.0},
        "£ per week",
        "an unmet place is bought as an emergency or unregistered spot placement, about twice "
        "the framework price (over 1,500 placements cost £10,000+ a week in 2022-23)")
    case_management_weekly: dict = assumption(
        {"foster_standard": 150.0, "foster_specialist": 200.0, "parent_child": 250.0,
         "residential": 250.0, "residential_complex": 300.0, "supported_16plus": 150.0},
        "£ per week", "social-work time per child, higher for residential and complex needs")
    breakdown_rate: dict = assumption(
        {"foster_standard": 0.10, "foster_specialist": 0.15, "parent_child": 0.10,
         "residential": 0.20, "residential_complex": 0.25, "supported_16plus": 0.15},
        "breakdowns per place per year", "placement instability, higher in residential care")
    breakdown_cost: float = assumption(
        5000.0, "£ per breakdown", "re-placement and social-work time of one breakdown")
    ifa_mix: dict = assumption(
        {"foster_standard": 0.80, "foster_specialist": 0.17, "parent_child": 0.03},
        "share of an IFA's places", "IFAs mostly offer standard fostering")
    ifa_contract_cost_year: float = assumption(
        5000.0, "£ per year",
        "framework contract management of each fostering agency (no other provider is "
        "charged one)")
    ifa_tiers: tuple = assumption(
        ((0.25, 3.0, False), (0.50, 6.0, False), (0.75, 10.0, True)),
        "(share of capacity, % discount, guarantee)",
        "no framework publishes its discounts: every IFA offers 3% from a quarter of its "
        "capacity, 6% from half, and 10% if the consortium guarantees three quarters")
    home_tier: tuple = assumption(
        (12.0, 0.5, 4.0), "(min site places, share of capacity, % discount)",
        "children's home sites of 12+ places give 4% once half their places are used")
    excluded_provision: tuple = assumption(
        ("Secure children's home", "Boarding School",
         "Further Education College with Residential Accommodation",
         "Voluntary Adoption Agency", "Adoption Support Agency",
         "Residential Holiday Scheme for Disabled Children", "Secure Training Centre"),
        "Ofsted provision types",
        "secure placements are made by court order and commissioned nationally; the others "
        "are not placements for looked-after children")
    exclude_short_breaks: bool = assumption(
        True, "yes/no", "short-break-only children's homes give respite, not placements")
    thames_valley_block_places: float = assumption(
        20.0, "places", "the consortium jointly guaranteed a minimum of 20 places for five years")
    thames_valley_block_saving_weekly: float = assumption(
        500.0, "£ per place per week",
        "reported price reduction of the block: about £500 a week less per placement")
    thames_valley_block_capacity: float = assumption(
        20.0, "places",
        "a block contract buys its guaranteed places: the block homes' other places are sold "
        "to others, so the block offers what it guarantees (a guarantee swept over N places "
        "with --places buys a block of N)")
    thames_valley_spot_radius_km: float = assumption(
        60.0, "km (great circle, between authority centres)",
        "the spot market the councils would otherwise use: providers in any authority whose "
        "centre is within 60 km of a member's")
    thames_valley_spot_share: str = assumption(
        "members' share of the area's children", "rule",
        "spot places around the members also serve every other authority in the area "
        "(London's boroughs among them): the consortium sees the share of each spot provider's "
        "places equal to the instance authorities' share of the looked-after children of the "
        "spot area (the D_M / D rule of docs/model.md section 5, over the wider area the market "
        "serves)")
    thames_valley_national_share: str = assumption(
        "members' share of England's children", "rule",
        "complex-needs children are placed nationally (a third of the members' new "
        "placements of every kind are 20 miles or more from home, DfE 2024, shown above; "
        "complex-needs placements go further): sites beyond the spot "
        "radius serve every authority in England, so the consortium sees the instance "
        "authorities' share of England's looked-after children of each; one authority's sites "
        "are pooled into one provider at its centre (addresses are redacted, so they share a "
        "location anyway), at a price fixed by a hash of the pool's id like a site's")
    thames_valley_block_fit_share: float = assumption(
        0.2, "share of complex-needs demand",
        "a block home meets only the children its registration (category of need, age, sex) "
        "fits: the consortium guaranteed 20 places against about 100 complex-needs children "
        "in care (this instance's demand for the six members is 100.2), so one child in five "
        "is taken to fit the block; the others can use only spot places. Every child that "
        "fits the block can also use a spot place")
    price_seed: str = assumption(
        "optimise-2024", "text", "salt of the hash that fixes each provider's price deviation")

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(name, value, unit, reason) of every assumption, in declaration order."""
        return [(f.name, _show(getattr(self, f.name)), f.metadata["unit"], f.metadata["reason"])
                for f in fields(self)]


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in value.items())
    if isinstance(value, tuple):
        return "; ".join(str(v) for v in value)
    return str(value)
