"""Assemble one real-data instance: a region's authorities, their demand and their market."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimiser.build import demand as demand_split
from optimiser.build import sources, supply
from optimiser.build.assumptions import TYPES, Assumptions

TYPE_NAMES = {
    "foster_standard": "Fostering", "foster_specialist": "Specialist fostering",
    "parent_child": "Parent and child", "residential": "Children's home",
    "residential_complex": "Complex-needs residential", "supported_16plus": "Supported 16+",
}
SUBSTITUTIONS = (("foster_standard", "foster_specialist"), ("residential", "residential_complex"))


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


@dataclass
class Tables:
    """The SPEC tables of an instance, as data frames in file order, plus provenance facts."""

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


def build_tables(region: Region, folder: Path, assumptions: Assumptions) -> Tables:
    """Every table of ``region``'s instance from the raw files in ``folder``."""
    chosen = _authority_table(sources.authorities(folder), region.authorities)
    demand, _, facts = build_demand(region, chosen, folder, assumptions)
    builder = build_block_market if region.market == "block" else build_supply
    market, supply_facts = builder(region, chosen, demand, folder, assumptions)
    types = pd.DataFrame([{
        "id": t, "name": TYPE_NAMES[t], "specialist": t in ("foster_specialist",
                                                           "residential_complex"),
        "emergency_weekly_price": assumptions.emergency_weekly_price[t],
        "case_management_weekly": assumptions.case_management_weekly[t],
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
    """Complex-needs residential: a guaranteed block plus the spot market around the members.

    Spot: residential special school sites offer all their places as complex residential;
    children's home sites offer ``complex_residential_share`` of theirs (homes take complex
    children at complex prices). Block: one provider at the members' centroid whose price is
    the spot base price, with a guarantee tier of ``thames_valley_block_places`` at a discount
    of ``thames_valley_block_saving_weekly`` a week.
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
    providers, offers = [], []
    for i, site in enumerate(sites.itertuples(), start=1):
        if site.kind == "in_house" and site.authority not in set(members["gss_code"]):
            continue  # another council's own homes are not on this market
        pid = f"S{i:04d}-{site.authority}"
        for placement_type, capacity, price in site_offers(
                site.placement_type, site.kind, site.places, school_share, assumptions):
            if placement_type in region.types and capacity * spot_share > 0:
                offers.append({"provider": pid, "placement_type": placement_type,
                               "capacity": round(capacity * spot_share, 4),
                               "weekly_price": _price(price, pid, assumptions),
                               "breakdown_rate": assumptions.breakdown_rate[placement_type]})
        if offers and offers[-1]["provider"] == pid:
            owner = site.authority if site.kind == "in_house" else None
            providers.append(_provider(
                pid, f"{site.owner_name} ({place.at[site.authority, 'name']})", site.kind,
                owner, place.loc[site.authority], site.rating))
    centre = members[["lat", "lon"]].mean()
    block = pd.Series({"lat": round(centre["lat"], 5), "lon": round(centre["lon"], 5)})
    providers.append(_provider("TV-BLOCK", "Thames Valley complex needs block contract",
                               "independent", None, block, "good"))
    offers.append({"provider": "TV-BLOCK", "placement_type": "residential_complex",
                   "capacity": assumptions.thames_valley_block_capacity, "weekly_price": base,
                   "breakdown_rate": assumptions.breakdown_rate["residential_complex"]})
    discount = 100 * assumptions.thames_valley_block_saving_weekly / base
    tiers = [{"provider": "TV-BLOCK", "min_places": assumptions.thames_valley_block_places,
              "discount_pct": round(discount, 6), "guarantee": True}]
    facts = [("authorities in the spot market area", f"{len(area)}"),
             ("instance authorities' share of the area's looked-after children (spot share)",
              f"{100 * spot_share:.3f}%"),
             ("spot sites", f"{len(providers) - 1}"),
             ("block discount", (f"£{assumptions.thames_valley_block_saving_weekly:,.0f} of "
                                f"£{base:,.0f} a week = {discount:.4f}%"))]
    return ({"providers": pd.DataFrame(providers), "offers": pd.DataFrame(offers),
             "tiers": pd.DataFrame(tiers)}, facts)
