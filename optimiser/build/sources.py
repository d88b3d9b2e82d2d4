"""Readers of the raw public files in ``instances/sources`` (see its README for provenance).

This is the one place that knows the files' quirks: DfE suppression codes, the abolished
Cumbria and Northamptonshire rows, Ofsted's table starting on line 4, and Ofsted's spelling of
authority names and its pre-2023 authorities.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SUPPRESSED = ("c", "z", "x", "low", "k", "u")

#: Ofsted's names for authorities -> the names in england_authorities.csv
OFSTED_ALIASES = {
    "Bournemouth, Christchurch & Poole": "Bournemouth, Christchurch and Poole",
    "Bristol": "City of Bristol",
    "Dorset": "Dorset Council",
    "Durham": "County Durham",
    "Southend on Sea": "Southend-on-Sea",
    "St Helens": "St. Helens",
}

#: The 2023 register still files providers under Cumbria, split in April 2023 into Cumberland
#: (Allerdale, Carlisle, Copeland) and Westmorland and Furness (Barrow, Eden, South Lakeland).
#: Homes' addresses are redacted, so each goes by its parliamentary constituency; Penrith and
#: The Border is mostly Eden, hence Westmorland and Furness.
CUMBRIA_BY_CONSTITUENCY = {
    "Carlisle": "Cumberland",
    "Copeland": "Cumberland",
    "Workington": "Cumberland",
    "Barrow and Furness": "Westmorland and Furness",
    "Penrith and The Border": "Westmorland and Furness",
    "Westmorland and Lonsdale": "Westmorland and Furness",
}

RATINGS = {
    "Outstanding": "outstanding",
    "Good": "good",
    "Requires improvement to be good": "requires_improvement",
    "Inadequate": "inadequate",
}


def number(value: object) -> float | None:
    """A DfE figure, or None where it is suppressed (never zero: the README's rule)."""
    text = str(value).strip()
    if text in SUPPRESSED or text == "" or text == "nan":
        return None
    return float(text.replace(",", ""))


def authorities(sources: Path) -> pd.DataFrame:
    """The 153 English children's services authorities (2024 boundaries)."""
    return pd.read_csv(sources / "england_authorities.csv", dtype={"dfe_code": str})


def looked_after(sources: Path, year: int) -> pd.DataFrame:
    """Children looked after at 31 March of ``year`` per authority, by GSS code.

    Cumbria (909) and Northamptonshire (928) have ``z`` in the years their successors report:
    rows are matched on the successors' GSS codes, so the abolished rows simply drop out, and
    an authority with no count is an error (not a zero).
    """
    table = pd.read_csv(sources / "dfe_cla_by_la_2020_2024.csv", encoding="utf-8-sig",
                        dtype=str)
    table = table[(table["time_period"] == str(year))
                  & (table["geographic_level"] == "Local authority")
                  & (table["population_count"] == "Children looked after at 31 March each year")]
    table = table.assign(children=table["number"].map(number))
    return table[["new_la_code", "la_name", "children"]].rename(
        columns={"new_la_code": "gss_code"})


def leaving_care(sources: Path, year: int) -> pd.DataFrame:
    """Children ceasing to be looked after in the year to 31 March of ``year`` per authority
    (DfE, same file as :func:`looked_after`), by GSS code: the flow that, beside the stock,
    gives the mean time in care (Little's law)."""
    table = pd.read_csv(sources / "dfe_cla_by_la_2020_2024.csv", encoding="utf-8-sig",
                        dtype=str)
    table = table[(table["time_period"] == str(year))
                  & (table["geographic_level"] == "Local authority")
                  & (table["population_count"] == "Children ceasing to be looked after each year")]
    table = table.assign(leaving=table["number"].map(number))
    return table[["new_la_code", "leaving"]].rename(columns={"new_la_code": "gss_code"})


def national_placements(sources: Path, year: int) -> dict[str, float]:
    """England's looked-after children at 31 March by placement (DfE characteristic -> count)."""
    table = pd.read_csv(sources / "dfe_national_cla_by_characteristics.csv",
                        encoding="utf-8-sig", dtype=str)
    table = table[(table["time_period"] == str(year)) & (table["cla_group"] == "Placement")]
    return {row.characteristic: number(row.number) for row in table.itertuples()}


def national_providers(sources: Path, year: int) -> pd.DataFrame:
    """England's looked-after children by placement type and provider (own LA, private...)."""
    table = pd.read_csv(sources / "dfe_national_cla_by_provider_type_and_locality.csv",
                        encoding="utf-8-sig", dtype=str)
    table = table[table["time_period"] == str(year)]
    return table.assign(children=table["number"].map(number))[
        ["placement_type", "placement_provider", "children"]]


def new_placements_within_20_miles(sources: Path, year: int) -> pd.DataFrame:
    """Per authority: share of new placements (with a known distance) within 20 miles."""
    table = pd.read_csv(sources / "dfe_la_new_placements_location.csv", dtype=str)
    table = table[(table["time_period"] == str(year))
                  & (table["geographic_level"] == "Local authority")]
    table = table.assign(children=table["number"].map(number))
    wide = table.pivot_table(index="new_la_code", columns="characteristic", values="children",
                             aggfunc="sum")
    near = (wide["Placed inside LA boundary less than 20 miles from home"]
            + wide["Placed outside LA boundary less than 20 miles from home"])
    known = wide["Total new placements"] - wide["Distance not known or not recorded"]
    return (near / known).rename("share_within_20_miles").rename_axis("gss_code").reset_index()


def ofsted_register(sources: Path) -> pd.DataFrame:
    """The Ofsted register at 31 March 2023, with each provider's authority as of 2024.

    Columns: urn, provision, name, authority (2024 name), sector, places, short_breaks,
    owner, rating (as in docs/model.md section 3; ``unrated`` where never fully inspected).
    """
    table = pd.read_csv(sources / "ofsted_providers_2023-03-31.csv", skiprows=3,
                        encoding="utf-8-sig", dtype=str)
    # suspended providers cannot take placements; blank rows are the sheet's footnotes
    table = table[table["Registration status"] == "Active"]
    authority = table["Local authority"].replace(OFSTED_ALIASES)
    cumbria = authority == "Cumbria"
    authority = authority.where(
        ~cumbria, table["Parliamentary constituency"].map(CUMBRIA_BY_CONSTITUENCY))
    rating = table["Overall experiences and progress of children and young people"]
    return pd.DataFrame({
        "urn": table["URN"],
        "provision": table["Provision type"].replace({"Children's Home": "Children's home"}),
        "name": table["Name"],
        "authority": authority,
        "sector": table["Sector"],
        "places": pd.to_numeric(table["Places"], errors="coerce").fillna(0.0),
        # the column holds its own title where true, and is blank otherwise
        "short_breaks": table["Short-break-only children's home"].notna(),
        "owner": table["Organisation which owns the provider"].fillna(table["Name"]),
        "rating": rating.map(RATINGS).fillna("unrated"),
    }).reset_index(drop=True)
