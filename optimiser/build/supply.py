"""Supply: providers, offers and tiers of a region, from the Ofsted register and assumptions.

* In-house fostering: one provider per authority (owned by it), foster_standard places = its
  foster demand x the national own-provision share x headroom; unrated (LA fostering is not
  inspected as a registered provider).
* Children's homes: each owning organisation's homes in one authority are one provider site at
  that authority's centre (addresses are redacted), places as registered, rating the
  places-weighted most common judgement (ties to the worse). Homes owned by a local authority
  are in-house provision of the authority they sit in. Residential special schools (both
  registrations) are ``residential_complex`` sites; residential family centres are
  ``parent_child`` sites.
* Independent fostering agencies: one provider per registration at its authority, capacity
  from the national IFA placements (assumption ``ifa_capacity_headroom``), split by ``ifa_mix``.
* Supported accommodation: a local market per authority (assumption
  ``supported_capacity_ratio``).
"""

from __future__ import annotations

import zlib

import pandas as pd

from optimiser.build.assumptions import Assumptions
from optimiser.schema import RATING_ORDER

HOMES = ("Children's home",)
SPECIAL_SCHOOLS = ("Residential Special School",
                   "Residential special school (registered as a children's home)")
FAMILY_CENTRES = ("Residential Family Centre",)
IFA = "Independent Fostering Agency"
KIND_OF_SECTOR = {"Private": "independent", "Voluntary": "voluntary",
                  "Local Authority": "in_house", "Academy": "independent",
                  "Health Authority": "independent"}


def price_deviation(provider_id: str, assumptions: Assumptions) -> float:
    """A fixed deviation in [-spread, +spread] for ``provider_id`` (stable across rebuilds)."""
    digest = zlib.crc32(f"{assumptions.price_seed}:{provider_id}".encode())
    return assumptions.price_spread * (2 * (digest / 0xFFFFFFFF) - 1)


def site_rating(ratings: pd.Series, places: pd.Series) -> str:
    """The places-weighted most common judgement of a site's homes (ties: the worse)."""
    weights = places.clip(lower=1).groupby(ratings.to_numpy()).sum()
    order = {r: i for i, r in enumerate((*RATING_ORDER, "unrated"))}
    best = weights.max()
    return max((r for r, w in weights.items() if w == best), key=lambda r: order[r])


def register_sites(register: pd.DataFrame, authorities: pd.DataFrame,
                   assumptions: Assumptions) -> pd.DataFrame:
    """Homes, special schools and family centres aggregated into provider sites."""
    usable = register[~register["provision"].isin(assumptions.excluded_provision)
                      & register["authority"].isin(authorities["name"])]
    if assumptions.exclude_short_breaks:
        usable = usable[~usable["short_breaks"]]
    kinds = {**{p: "residential" for p in HOMES},
             **{p: "residential_complex" for p in SPECIAL_SCHOOLS},
             **{p: "parent_child" for p in FAMILY_CENTRES}}
    usable = usable[usable["provision"].isin(kinds)].assign(
        placement_type=lambda t: t["provision"].map(kinds),
        kind=lambda t: t["sector"].map(KIND_OF_SECTOR).fillna("independent"))
    gss = dict(zip(authorities["name"], authorities["gss_code"]))
    sites = []
    keys = ["authority", "owner", "kind", "placement_type"]
    for (authority, owner, kind, placement_type), homes in usable.groupby(keys, sort=True):
        sites.append({
            "authority": gss[authority], "owner_name": owner, "kind": kind,
            "placement_type": placement_type, "places": float(homes["places"].sum()),
            "homes": len(homes), "rating": site_rating(homes["rating"], homes["places"]),
        })
    sites = pd.DataFrame(sites)
    return sites[sites["places"] > 0].reset_index(drop=True)


def fostering_agencies(register: pd.DataFrame, authorities: pd.DataFrame) -> pd.DataFrame:
    """IFA registrations sitting in the region's authorities."""
    gss = dict(zip(authorities["name"], authorities["gss_code"]))
    ifas = register[(register["provision"] == IFA) & register["authority"].isin(gss)]
    return ifas.assign(authority=ifas["authority"].map(gss)).sort_values("urn").reset_index(
        drop=True)


def ifa_places_by_region(register: pd.DataFrame, authorities: pd.DataFrame,
                         children: pd.DataFrame, national_places: float) -> dict[str, float]:
    """Places of one IFA registration in each region: England's IFA places x the region's
    share of looked-after children / the IFA registrations in that region."""
    region = dict(zip(authorities["name"], authorities["region"]))
    children = children.merge(authorities[["gss_code", "region"]], on="gss_code")
    share = children.groupby("region")["children"].sum() / children["children"].sum()
    ifas = register[register["provision"] == IFA]["authority"].map(region).value_counts()
    return {r: float(national_places * share[r] / ifas[r]) for r in share.index if r in ifas}
