"""Demand by placement type: each authority's looked-after count split by the national mix.

DfE placement categories (England, 31 March) map to the six placement types of docs/model.md
section 2:

| placement type | DfE categories |
|---|---|
| foster_standard, foster_specialist | 1. Total foster placements, split by ``specialist_foster_share`` |
| parent_child | 6c Family centre or mother and baby unit |
| residential, residential_complex | 4. Total secure homes and children's homes, split by ``complex_residential_share``; complex also takes 7. residential schools, 6a residential care homes, 6b NHS trust |
| supported_16plus | 5. Total independent and semi-independent living / supported accommodation |

Everything else (placed for adoption, placed with parents, other placements, young offender
institutions) is spread over the six in proportion (``spread_unmapped``), so the six shares
sum to one and each authority's demand sums to its DfE count.
"""

from __future__ import annotations

import pandas as pd

from optimiser.build.assumptions import TYPES, Assumptions

FOSTER = "1. Total foster placements"
HOMES = "4. Total secure homes and children's homes"
SUPPORTED = "5. Total independent and semi-independent living arrangements/ supported accommodation"
PARENT_CHILD = "6c Family centre or mother and baby unit"
COMPLEX_EXTRA = ("7. Total residential schools", "6a Residential care homes",
                 "6b NHS Trust providing medical or nursing care")


def national_mix(placements: dict[str, float], assumptions: Assumptions) -> dict[str, float]:
    """Share of each placement type in England's looked-after children (sums to 1)."""
    foster = placements[FOSTER]
    homes = placements[HOMES]
    complex_extra = sum(placements[c] or 0.0 for c in COMPLEX_EXTRA)
    counts = {
        "foster_standard": foster * (1 - assumptions.specialist_foster_share),
        "foster_specialist": foster * assumptions.specialist_foster_share,
        "parent_child": placements[PARENT_CHILD],
        "residential": homes * (1 - assumptions.complex_residential_share),
        "residential_complex": homes * assumptions.complex_residential_share + complex_extra,
        "supported_16plus": placements[SUPPORTED],
    }
    total = sum(counts.values())
    return {t: counts[t] / total for t in TYPES}


def split_demand(children: pd.DataFrame, mix: dict[str, float], decimals: int = 4
                 ) -> pd.DataFrame:
    """authority, placement_type, places: each count split by ``mix``.

    Places are rounded to ``decimals`` and the largest type absorbs the rounding, so every
    authority's places sum exactly (to the decimals) to its count.
    """
    rows = []
    largest = max(mix, key=mix.get)
    for authority, count in zip(children["authority"], children["children"]):
        places = {t: round(count * mix[t], decimals) for t in TYPES}
        places[largest] = round(count - sum(v for t, v in places.items() if t != largest),
                                decimals)
        rows += [{"authority": authority, "placement_type": t, "places": places[t]}
                 for t in TYPES if places[t] > 0]
    return pd.DataFrame(rows)


def in_house_foster_share(providers: pd.DataFrame) -> float:
    """National share of foster placements with the authority's own carers (inside and
    outside its boundary)."""
    foster = providers[providers["placement_type"].isin(
        ["2a. Foster placements", "3a. Foster placements"])]
    own = foster[foster["placement_provider"] == "Own provision (by the LA)"]["children"].sum()
    total = foster[foster["placement_provider"] == "All children"]["children"].sum()
    return float(own / total)


def ifa_placements(providers: pd.DataFrame) -> float:
    """National foster placements with private and voluntary providers (the IFAs)."""
    foster = providers[providers["placement_type"].isin(
        ["2a. Foster placements", "3a. Foster placements"])]
    independent = foster["placement_provider"].isin(
        ["Private provision", "Voluntary/third sector provision"])
    return float(foster[independent]["children"].sum())
