"""Assemble one real-data instance: a region's authorities, their demand and their market."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from optimiser.build import demand as demand_split
from optimiser.build import sources, supply
from optimiser.build.assumptions import TYPES, Assumptions

TYPE_NAMES = {
    "foster_standard": "Fostering", "foster_specialist": "Specialist fostering",
    "parent_child": "Parent and child", "residential": "Children's home",
    "residential_complex": "Complex-needs residential", "supported_16plus": "Supported 16+",
    "residential_complex_fit": "Complex-needs residential, fits the block",
}
#: the Thames Valley children whose needs a block home meets (``thames_valley_block_fit_share``)
BLOCK_FIT = "residential_complex_fit"
#: types whose prices and case-management costs are another type's
PRICED_AS = {BLOCK_FIT: "residential_complex"}
SUBSTITUTIONS = (("foster_standard", "foster_specialist"), ("residential", "residential_complex"),
                 (BLOCK_FIT, "residential_complex"))


@dataclass(frozen=True)
class Region:
    """What distinguishes one shipped instance from another."""

    slug: str
    name: str
    description: str
    authorities: tuple[str, ...]  # names as in england_authorities.csv
    consortia: dict[str, tuple[str, ...]]
    types: tuple[str, ...] = TYPES
    market: str = "framework"  # or "block": a guaranteed block plus a spot market
    policy: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: how PROVENANCE.md says the instance is rebuilt
    rebuild: str = ("Rebuild with `python instances/build.py` (from the raw files in "
                    "`instances/sources/`); the build is deterministic and a test checks the "
                    "shipped files are reproduced byte for byte.")


@dataclass
class Tables:
    """The tables of an instance (docs/model.md section 3) as data frames in file order, plus
    provenance facts."""

    region: Region
    tables: dict[str, pd.DataFrame]
    facts: list[tuple[str, str]]  # (what, figure) lines for PROVENANCE.md


def _authority_table(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    chosen = frame[frame["name"].isin(names)]
    missing = sorted(set(names) - set(chosen["name"]))
    if missing:
        raise ValueError(f"unknown authorities: {missing}")
    return chosen.reset_index(drop=True)


def build_demand(region: Region, chosen: pd.DataFrame, folder: Path,
                 assumptions: Assumptions) -> tuple[pd.DataFrame, dict, list]:
    counts = sources.looked_after(folder, assumptions.year)
    children = chosen.merge(counts, on="gss_code", how="left")
    unknown = children[children["children"].isna()]["name"].tolist()
    if unknown:
        raise ValueError(f"no {assumptions.year} looked-after count for {unknown}")
    children = children.rename(columns={"gss_code": "authority"})[["authority", "children"]]
    mix = demand_split.national_mix(sources.national_placements(folder, assumptions.year),
                                    assumptions)
    table = demand_split.split_demand(children, mix)
    table = table[table["placement_type"].isin(region.types)].reset_index(drop=True)
    table["sd"] = table["places"].map(lambda p: round(math.sqrt(p), 4))
    facts = [(f"children looked after at 31 March {assumptions.year} (DfE)",
              f"{children['children'].sum():,.0f}")]
    facts += [(f"national mix: {t}", f"{100 * mix[t]:.3f}%") for t in TYPES]
    return table, mix, facts


def _price(base: float, provider_id: str, assumptions: Assumptions) -> float:
    return round(base * (1 + supply.price_deviation(provider_id, assumptions)), 2)


def _provider(pid, name, kind, owner, place, rating="unrated", contract=0.0) -> dict:
    return {"id": pid, "name": name, "kind": kind, "owner": owner, "lat": place.lat,
            "lon": place.lon, "rating": rating, "contract_cost_year": contract}


def site_offers(placement_type: str, kind: str, places: float, school_share: float,
                assumptions: Assumptions) -> list[tuple[str, float, float]]:
    """(type, capacity, base weekly price) offered by a register site (see the assumptions
    ``complex_residential_share`` and ``special_school_places_rule``)."""
    prices = assumptions.weekly_price
    if placement_type == "parent_child":
        return [("parent_child", places, prices["parent_child_residential"])]
    if placement_type == "residential_complex":
        return [("residential_complex", places * school_share, prices["residential_complex"])]
    complex_share = assumptions.complex_residential_share
    home = prices["residential_in_house"] if kind == "in_house" else prices["residential"]
    return [("residential", places * (1 - complex_share), home),
            ("residential_complex", places * complex_share, prices["residential_complex"])]


def special_school_share(register: pd.DataFrame, folder: Path, assumptions: Assumptions
                         ) -> float:
    """Looked-after children in residential schools (DfE) / registered special school places."""
    children = sources.national_placements(folder, assumptions.year)[
        "7. Total residential schools"]
    places = register[register["provision"].isin(supply.SPECIAL_SCHOOLS)]["places"].sum()
    return float(children / places)


def build_supply(region: Region, chosen: pd.DataFrame, demand: pd.DataFrame, folder: Path,
                 assumptions: Assumptions) -> tuple[dict[str, pd.DataFrame], list]:
    """providers, offers and tiers of the region (see ``optimiser.build.supply``)."""
    register = sources.ofsted_register(folder)
    national = sources.national_providers(folder, assumptions.year)
    places = chosen.set_index("gss_code")
    prices = assumptions.weekly_price
    providers, offers, tiers = [], [], []

    def offer(pid, placement_type, capacity, base):
        if placement_type in region.types and capacity > 0:
            offers.append({"provider": pid, "placement_type": placement_type,
                           "capacity": round(capacity, 4),
                           "weekly_price": _price(base, pid, assumptions),
                           "breakdown_rate": assumptions.breakdown_rate[placement_type]})

    own_share = demand_split.in_house_foster_share(national)
    foster = demand[demand["placement_type"].str.startswith("foster")].groupby("authority")[
        "places"].sum()
    for gss, place in places.iterrows():
        pid = f"IHF-{gss}"
        providers.append(_provider(pid, f"{place['name']} in-house fostering", "in_house", gss,
                                   place))
        offer(pid, "foster_standard",
              foster.get(gss, 0.0) * own_share * assumptions.in_house_capacity_headroom,
              prices["in_house_foster"])
    sites = supply.register_sites(register, chosen, assumptions)
    school_share = special_school_share(register, folder, assumptions)
    for i, site in enumerate(sites.itertuples(), start=1):
        pid = f"S{i:04d}-{site.authority}"
        owner = site.authority if site.kind == "in_house" else None
        providers.append(_provider(pid, f"{site.owner_name} ({places.at[site.authority, 'name']})",
                                   site.kind, owner, places.loc[site.authority], site.rating))
        for placement_type, capacity, base in site_offers(
                site.placement_type, site.kind, site.places, school_share, assumptions):
            offer(pid, placement_type, capacity, base)
        minimum, share, discount = assumptions.home_tier
        if site.kind != "in_house" and site.places >= minimum:
            tiers.append({"provider": pid, "min_places": round(share * site.places, 4),
                          "discount_pct": discount, "guarantee": False})
    ifas = supply.fostering_agencies(register, chosen)
    ifa_places = supply.ifa_places_by_region(
        register, sources.authorities(folder), sources.looked_after(folder, assumptions.year),
        demand_split.ifa_placements(national) * assumptions.ifa_capacity_headroom)
    region_of = dict(zip(chosen["gss_code"], chosen["region"]))
    ifa_base = {"foster_standard": prices["foster_standard"],
                "foster_specialist": prices["foster_specialist"],
                "parent_child": prices["parent_child_foster"]}
    for ifa in ifas.itertuples():
        pid = f"IFA-{ifa.urn}"
        per_ifa = ifa_places[region_of[ifa.authority]]
        providers.append(_provider(pid, ifa.name, supply.KIND_OF_SECTOR.get(ifa.sector,
                                   "independent"), None, places.loc[ifa.authority], ifa.rating,
                                   assumptions.ifa_contract_cost_year))
        for placement_type, share in assumptions.ifa_mix.items():
            offer(pid, placement_type, per_ifa * share, ifa_base[placement_type])
        tiers += [{"provider": pid, "min_places": round(level * per_ifa, 4),
                   "discount_pct": discount, "guarantee": guarantee}
                  for level, discount, guarantee in assumptions.ifa_tiers]
    supported = demand[demand["placement_type"] == "supported_16plus"].set_index("authority")
    for gss, place in places.iterrows():
        if gss in supported.index:
            pid = f"SA-{gss}"
            providers.append(_provider(pid, f"{place['name']} supported accommodation market",
                                       "independent", None, place))
            offer(pid, "supported_16plus",
                  supported.at[gss, "places"] * assumptions.supported_capacity_ratio,
                  prices["supported_16plus"])
    offered = {o["provider"] for o in offers}
    providers = [p for p in providers if p["id"] in offered]
    tiers = [t for t in tiers if t["provider"] in offered]
    homes = sites[sites["placement_type"] == "residential"]
    facts = [
        ("national own-provision share of foster placements", f"{100 * own_share:.2f}%"),
        ("share of residential special school places held by looked-after children",
         f"{100 * school_share:.3f}%"),
        ("IFA registrations in the area", f"{len(ifas)}"),
        *((f"places of one IFA registration, {r}", f"{ifa_places[r]:.2f}")
          for r in sorted(set(chosen["region"]))),
        ("children's home places in the area (register, excluding short breaks)",
         f"{homes['places'].sum():,.0f} in {homes['homes'].sum()} homes, {len(homes)} sites"),
    ]
    return ({"providers": pd.DataFrame(providers), "offers": pd.DataFrame(offers),
             "tiers": pd.DataFrame(tiers)}, facts)


def overlay_demand(demand: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """``demand`` with the rows of every authority in ``own`` replaced by ``own``'s rows (a
    council's demand from its own returns, `optimise demand`), in authority order."""
    own = own.reindex(columns=["authority", "placement_type", "places", "sd"])
    kept = demand[~demand["authority"].isin(set(own["authority"]))]
    order = {a: i for i, a in enumerate(dict.fromkeys(demand["authority"]))}
    merged = pd.concat([kept, own], ignore_index=True)
    return merged.sort_values("authority", key=lambda a: a.map(order), kind="stable"
                              ).reset_index(drop=True)


def build_tables(region: Region, folder: Path, assumptions: Assumptions,
                 own_demand: pd.DataFrame | None = None) -> Tables:
    """Every table of ``region``'s instance from the raw files in ``folder``; ``own_demand``
    replaces the DfE-based demand of the authorities it has rows for, before the supply that
    scales with demand (in-house fostering, supported accommodation) is sized."""
    chosen = _authority_table(sources.authorities(folder), region.authorities)
    demand, _, facts = build_demand(region, chosen, folder, assumptions)
    if own_demand is not None:
        demand = overlay_demand(demand, own_demand)
        facts.append(("authorities whose demand is their own (optimise demand), not DfE's",
                      ", ".join(sorted(set(own_demand["authority"])))))
    if region.market == "block":
        demand = block_fit_demand(demand, assumptions.thames_valley_block_fit_share)
        region, stay_facts = with_mean_stay(region, chosen, folder, assumptions)
        facts += stay_facts
    builder = build_block_market if region.market == "block" else build_supply
    market, supply_facts = builder(region, chosen, demand, folder, assumptions)
    types = pd.DataFrame([{
        "id": t, "name": TYPE_NAMES[t], "specialist": PRICED_AS.get(t, t) in (
            "foster_specialist", "residential_complex"),
        "emergency_weekly_price": assumptions.emergency_weekly_price[PRICED_AS.get(t, t)],
        "case_management_weekly": assumptions.case_management_weekly[PRICED_AS.get(t, t)],
    } for t in region.types])
    authorities = pd.DataFrame({"id": chosen["gss_code"], "name": chosen["name"],
                                "region": chosen["region"], "lat": chosen["lat"],
                                "lon": chosen["lon"]})
    gss = dict(zip(chosen["name"], chosen["gss_code"]))
    consortia = pd.DataFrame([{"consortium": name, "authority": gss[a]}
                              for name, members in region.consortia.items() for a in members])
    substitutions = pd.DataFrame([{"need": n, "served_by": s} for n, s in SUBSTITUTIONS
                                  if n in region.types and s in region.types])
    tables = {"placement_types": types, "authorities": authorities, "demand": demand,
              **market, "substitutions": substitutions, "consortia": consortia}
    return Tables(region, {k: v for k, v in tables.items() if len(v)}, facts + supply_facts)


def with_mean_stay(region: Region, chosen: pd.DataFrame, folder: Path,
                   assumptions: Assumptions) -> tuple[Region, list[tuple[str, str]]]:
    """``region`` with policy ``mean_stay_years`` (outcome-linked payment, `optimise
    guarantee`): the first consortium's mean time in care by Little's law, its children looked
    after at 31 March over the children leaving care in the year, pooled over its members."""
    members = chosen[chosen["name"].isin(next(iter(region.consortia.values())))]["gss_code"]
    stock = sources.looked_after(folder, assumptions.year).set_index("gss_code")["children"]
    flow = sources.leaving_care(folder, assumptions.year).set_index("gss_code")["leaving"]
    looked_after, leaving = stock.reindex(members).sum(), flow.reindex(members).sum()
    years = round(float(looked_after / leaving), 6)
    name = next(iter(region.consortia))
    facts = [(f"{name}: children looked after at 31 March {assumptions.year} / leaving care "
              "in the year (DfE)", f"{looked_after:,.0f} / {leaving:,.0f}"),
             (f"{name}: mean time in care (Little's law; policy mean_stay_years)",
              f"{years:g} years")]
    return replace(region, policy={**region.policy, "mean_stay_years": years}), facts


def block_fit_demand(demand: pd.DataFrame, share: float) -> pd.DataFrame:
    """Each complex-needs row split in two: ``share`` of its places fit the block (type
    BLOCK_FIT), the rest stay ``residential_complex``; the two sum to the row (4 decimals)."""
    rows = []
    for row in demand.itertuples():
        fit = round(row.places * share, 4)
        rest = round(row.places - fit, 4)
        rows += [{"authority": row.authority, "placement_type": BLOCK_FIT, "places": fit},
                 {"authority": row.authority, "placement_type": row.placement_type,
                  "places": rest}]
    table = pd.DataFrame(rows)
    table["sd"] = table["places"].map(lambda p: round(math.sqrt(p), 4))
    return table


def nearby(all_authorities: pd.DataFrame, members: pd.DataFrame, radius_km: float
           ) -> pd.DataFrame:
    """Authorities whose centre is within ``radius_km`` of some member's (members included)."""
    from optimiser.market import great_circle_km

    near = set()
    for member in members.itertuples():
        km = great_circle_km(member.lat, member.lon, all_authorities["lat"],
                             all_authorities["lon"])
        near |= set(all_authorities.loc[km <= radius_km, "gss_code"])
    return all_authorities[all_authorities["gss_code"].isin(near)].reset_index(drop=True)


def build_block_market(region: Region, members: pd.DataFrame, demand: pd.DataFrame,
                       folder: Path, assumptions: Assumptions
                       ) -> tuple[dict[str, pd.DataFrame], list]:
    """Complex-needs residential: a guaranteed block plus the spot market, around the members
    and national.

    Spot: residential special school sites offer all their places as complex residential;
    children's home sites offer ``complex_residential_share`` of theirs (homes take complex
    children at complex prices). Sites within ``thames_valley_spot_radius_km`` are providers
    of their own, seen at the area's share; beyond it, each authority's sites are one pool
    seen at the national share (``thames_valley_national_share``). Block: one provider at the
    members' centroid whose price is the spot base price, offering the block-fit type only,
    with a guarantee tier of ``thames_valley_block_places`` at a discount of
    ``thames_valley_block_saving_weekly`` a week.
    """
    area = nearby(sources.authorities(folder), members, assumptions.thames_valley_spot_radius_km)
    children = sources.looked_after(folder, assumptions.year).set_index("gss_code")["children"]
    spot_share = (children.reindex(members["gss_code"]).sum()
                  / children.reindex(area["gss_code"]).sum())
    register = sources.ofsted_register(folder)
    sites = supply.register_sites(register, area, assumptions)
    school_share = special_school_share(register, folder, assumptions)
    place = area.set_index("gss_code")
    base = assumptions.weekly_price["residential_complex"]
    member_ids = set(members["gss_code"])
    own = sites[(sites["kind"] == "in_house") & sites["authority"].isin(member_ids)]
    providers, offers = [], []
    for i, site in enumerate(own.itertuples(), start=1):  # members' own homes, owner only
        pid = f"S{i:04d}-{site.authority}"
        capacity = _complex_places(site, school_share, assumptions) * spot_share
        if capacity > 0:
            providers.append(_provider(
                pid, f"{site.owner_name} ({place.at[site.authority, 'name']})", site.kind,
                site.authority, place.loc[site.authority], site.rating))
            offers.append(_complex_offer(pid, capacity, base, assumptions))
    near, near_offers = pooled_sites(sites, place, spot_share, "P", school_share, assumptions)
    providers += near
    offers += near_offers
    near_sites = len(providers)
    near_places = sum(o["capacity"] for o in offers)
    pools, pool_offers, national_share = national_pools(members, area, register, school_share,
                                                        folder, assumptions)
    providers += pools
    offers += pool_offers
    centre = members[["lat", "lon"]].mean()
    block = pd.Series({"lat": round(centre["lat"], 5), "lon": round(centre["lon"], 5)})
    providers.append(_provider("TV-BLOCK", "Thames Valley complex needs block contract",
                               "independent", None, block, "good"))
    offers.append({"provider": "TV-BLOCK", "placement_type": BLOCK_FIT,
                   "capacity": assumptions.thames_valley_block_capacity, "weekly_price": base,
                   "breakdown_rate": assumptions.breakdown_rate["residential_complex"]})
    discount = 100 * assumptions.thames_valley_block_saving_weekly / base
    tiers = [{"provider": "TV-BLOCK", "min_places": assumptions.thames_valley_block_places,
              "discount_pct": round(discount, 6), "guarantee": True}]
    facts = [("authorities in the spot market area", f"{len(area)}"),
             ("instance authorities' share of the area's looked-after children (spot share)",
              f"{100 * spot_share:.3f}%"),
             ("spot providers within the radius (members' own homes, and one pool of sites "
              "per authority)", f"{near_sites}"),
             ("complex-needs places the consortium sees within the radius",
              f"{near_places:,.1f}"),
             ("instance authorities' share of England's looked-after children (national "
              "share)", f"{100 * national_share:.3f}%"),
             ("national pools (authorities beyond the radius with usable sites)",
              f"{len(pools)}"),
             ("complex-needs places the consortium sees beyond the radius",
              f"{sum(o['capacity'] for o in pool_offers):,.1f}"),
             ("members' new placements 20 miles or more from home (DfE 2024, all types)",
              f"{100 * far_placements(members, folder, assumptions):.1f}%"),
             ("demand that fits the block (share x complex-needs demand)",
              f"{demand.loc[demand['placement_type'] == BLOCK_FIT, 'places'].sum():,.1f} of "
              f"{demand['places'].sum():,.1f} places"),
             ("block discount", (f"£{assumptions.thames_valley_block_saving_weekly:,.0f} of "
                                f"£{base:,.0f} a week = {discount:.4f}%"))]
    return ({"providers": pd.DataFrame(providers), "offers": pd.DataFrame(offers),
             "tiers": pd.DataFrame(tiers)}, facts)



def _complex_places(site, school_share: float, assumptions: Assumptions) -> float:
    return sum(c for t, c, _ in site_offers(site.placement_type, site.kind, site.places,
                                            school_share, assumptions)
               if t == "residential_complex")


def _complex_offer(pid: str, capacity: float, base: float, assumptions: Assumptions) -> dict:
    return {"provider": pid, "placement_type": "residential_complex",
            "capacity": round(capacity, 4), "weekly_price": _price(base, pid, assumptions),
            "breakdown_rate": assumptions.breakdown_rate["residential_complex"]}


def pooled_sites(sites: pd.DataFrame, place: pd.DataFrame, share: float, prefix: str,
                 school_share: float, assumptions: Assumptions) -> tuple[list[dict], list[dict]]:
    """One spot provider per authority: its independent and voluntary sites rated above
    inadequate pooled at its centre (sites share that location anyway: addresses are
    redacted), their complex-needs places seen at ``share``, priced like a site (a hash of the
    pool's id around the base price)."""
    usable = sites[(sites["kind"] != "in_house") & (sites["rating"] != "inadequate")]
    base = assumptions.weekly_price["residential_complex"]
    providers, offers = [], []
    for gss, group in usable.groupby("authority", sort=False):
        capacity = pd.Series([_complex_places(site, school_share, assumptions)
                              for site in group.itertuples()], index=group.index)
        if round(float(capacity.sum()) * share, 4) <= 0:
            continue
        pid = f"{prefix}-{gss}"
        providers.append(_provider(pid, f"{place.at[gss, 'name']} sites ({len(group)}), pooled",
                                   "independent", None, place.loc[gss],
                                   supply.site_rating(group["rating"], capacity)))
        offers.append(_complex_offer(pid, float(capacity.sum()) * share, base, assumptions))
    return providers, offers


def national_pools(members: pd.DataFrame, area: pd.DataFrame, register: pd.DataFrame,
                   school_share: float, folder: Path, assumptions: Assumptions
                   ) -> tuple[list[dict], list[dict], float]:
    """The pools of every authority beyond the radius, seen at the members' share of
    England's looked-after children (``thames_valley_national_share``)."""
    england = sources.authorities(folder)
    children = sources.looked_after(folder, assumptions.year).set_index("gss_code")["children"]
    share = float(children.reindex(members["gss_code"]).sum() / children.sum())
    far = england[~england["gss_code"].isin(area["gss_code"])].reset_index(drop=True)
    sites = supply.register_sites(register, far, assumptions)
    providers, offers = pooled_sites(sites, far.set_index("gss_code"), share, "N",
                                     school_share, assumptions)
    return providers, offers, share


def far_placements(members: pd.DataFrame, folder: Path, assumptions: Assumptions) -> float:
    """Share of the members' new placements 20 miles or more from home (DfE; each member's
    share weighted by its looked-after children)."""
    within = sources.new_placements_within_20_miles(folder, assumptions.year).set_index(
        "gss_code")["share_within_20_miles"].reindex(members["gss_code"])
    children = sources.looked_after(folder, assumptions.year).set_index("gss_code")[
        "children"].reindex(members["gss_code"])
    return float(1 - (within * children).sum() / children.sum())
