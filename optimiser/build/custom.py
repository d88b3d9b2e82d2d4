"""`optimise build`: an instance for any set of English authorities, built like the shipped ones.

Authorities are chosen by name (as in ``england_authorities.csv``, ignoring case and the full
stop of "St. Helens"), by GSS code (E08000025) or by DfE code (330), or as a whole region
(``--region "West Midlands"``; "London" is Inner and Outer London). The demand, the market,
the assumptions and PROVENANCE.md are those of the shipped regions (``region.build_tables``);
a council's own demand (`optimise demand`'s demand.csv) may replace the DfE-based rows of the
authorities it covers, and a price list the assumed base weekly prices.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from optimiser.build import sources
from optimiser.build.assumptions import TYPES, Assumptions
from optimiser.build.region import Region, build_tables
from optimiser.build.write import write_instance_folder
from optimiser.errors import InputError, Problem, Problems

#: the raw public files, beside the package in the project's tree
DEFAULT_SOURCES = Path(__file__).resolve().parents[2] / "instances" / "sources"
#: regions that are the union of others in the authorities file
REGION_GROUPS = {"London": ("Inner London", "Outer London")}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", "and")).strip()


def pick_authorities(table: pd.DataFrame, wanted: list[str]) -> list[str]:
    """Names of the authorities ``wanted`` (names or codes), in the order given."""
    by_key = {}
    for row in table.itertuples():
        for k in (row.name, row.gss_code, str(row.dfe_code)):
            by_key[_key(k)] = row.name
    names, problems = [], Problems()
    for given in wanted:
        name = by_key.get(_key(given))
        if name is None:
            close = difflib.get_close_matches(given, list(table["name"]), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            problems.append(Problem("--authorities", f"unknown authority {given!r} (give a "
                                                     f"name, GSS code or DfE code){hint}"))
        elif name not in names:
            names.append(name)
    if problems:
        raise InputError(problems)
    return names


def region_authorities(table: pd.DataFrame, region: str) -> tuple[str, list[str]]:
    """(the region's name as spelled in the data, its authorities' names)."""
    known = sorted(set(table["region"])) + sorted(REGION_GROUPS)
    match = next((r for r in known if _key(r) == _key(region)), None)
    if match is None:
        raise InputError(Problem("--region", f"unknown region {region!r}; the regions are "
                                             f"{', '.join(known)}"))
    parts = REGION_GROUPS.get(match, (match,))
    return match, list(table[table["region"].isin(parts)]["name"])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "instance"


def custom_region(names: list[str], label: str, command: str) -> Region:
    """A Region of ``names`` with one consortium, ``label``, of them all."""
    return Region(
        slug=_slug(label), name=label,
        description=(f"{len(names)} English authorities ({', '.join(names)}) and the providers "
                     "registered in them, built like the shipped North West instance (see its "
                     "PROVENANCE.md): demand from DfE looked-after counts split by the national "
                     "placement mix; supply from the Ofsted register plus each authority's "
                     "in-house fostering and a local supported-accommodation market."),
        authorities=tuple(names), consortia={label: tuple(names)},
        notes=("Providers outside these authorities are not added; distances are great-circle "
               "x road_factor between authority centres (homes' addresses are redacted).",),
        rebuild=(f"Built with `{command}` from the raw public files in `instances/sources/`; "
                 "the build is deterministic: the same command gives the same files."))


def read_own_demand(path: Path, names: list[str], table: pd.DataFrame) -> pd.DataFrame:
    """A demand.csv from `optimise demand`: authority, placement_type, places, sd."""
    file = str(path)
    if not path.is_file():
        raise InputError(Problem(file, "file not found"))
    frame = pd.read_csv(path, dtype={"authority": str, "placement_type": str})
    missing = [c for c in ("authority", "placement_type", "places") if c not in frame.columns]
    if missing:
        raise InputError(Problem(file, f"missing column(s) {', '.join(missing)}", row=1))
    gss = set(table[table["name"].isin(names)]["gss_code"])
    problems = Problems(Problem(file, f"authority {a!r} is not one of the instance's "
                                      "authorities (their GSS codes)", row=i + 2,
                                column="authority")
                        for i, a in enumerate(frame["authority"]) if a not in gss)
    problems += (Problem(file, f"placement type {t!r} is not one of the built instance's "
                               f"({', '.join(TYPES)})", row=i + 2, column="placement_type")
                 for i, t in enumerate(frame["placement_type"]) if t not in TYPES)
    if problems:
        raise InputError(problems)
    return frame


def read_prices(path: Path, assumptions: Assumptions) -> dict[str, float]:
    """A price list: rows of (price, weekly_price), price one of the ``weekly_price`` keys of
    the assumptions; the base weekly prices with the list's in place of the assumed ones."""
    file = str(path)
    if not path.is_file():
        raise InputError(Problem(file, "file not found"))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("price", "weekly_price") if c not in frame.columns]
    if missing:
        raise InputError(Problem(file, f"missing column(s) {', '.join(missing)}", row=1))
    prices, problems = dict(assumptions.weekly_price), Problems()
    for number, (key, value) in enumerate(zip(frame["price"], frame["weekly_price"]), start=2):
        key = key.strip()
        if key not in prices:
            problems.append(Problem(file, f"unknown price {key!r}; the prices are "
                                          f"{', '.join(assumptions.weekly_price)}",
                                    row=number, column="price"))
            continue
        try:
            prices[key] = float(value)
        except ValueError:
            prices[key] = -1.0
        if not prices[key] > 0:
            problems.append(Problem(file, f"{value!r} is not a price in £ a week", row=number,
                                    column="weekly_price"))
    if problems:
        raise InputError(problems)
    return prices


def build_custom(out: Path, authorities: list[str] | None = None, region: str | None = None,
                 name: str | None = None, own_demand: Path | None = None,
                 folder: Path = DEFAULT_SOURCES, command: str = "optimise build",
                 price_list: Path | None = None) -> Path:
    """Write the instance of ``authorities`` or ``region`` into ``out``; return the folder."""
    if bool(authorities) == bool(region):
        raise InputError(Problem("--authorities/--region", "give one of them"))
    if not (folder / "england_authorities.csv").is_file():
        raise InputError(Problem(str(folder), "the public source files are not here (give "
                                              "--sources, the project's instances/sources)"))
    table = sources.authorities(folder)
    if region:
        label, names = region_authorities(table, region)
    else:
        names, label = pick_authorities(table, authorities), "Consortium"
    built_region = custom_region(names, name or label, command)
    overlay = read_own_demand(own_demand, names, table) if own_demand else None
    assumptions = Assumptions()
    if price_list:
        assumptions = replace(assumptions, weekly_price=read_prices(price_list, assumptions))
        built_region = replace(built_region, notes=built_region.notes + (
            f"Weekly prices are the user's price list ({price_list.name}) where it gives one: "
            "the `weekly_price` assumption below shows the prices used.",))
    try:
        built = build_tables(built_region, folder, assumptions, overlay)
    except ValueError as error:  # an authority the DfE data has no count for
        raise InputError(Problem(str(folder), str(error))) from None
    return write_instance_folder(built, assumptions, out)
