"""Demand per placement type from SSDA903 episodes (``optimiser.ssda903``): what
`optimise demand` computes.

**Places.** An episode occupies its placement from DECOM up to the day before DEC (the child
moves on DEC, when the next episode starts); an open episode (blank DEC) runs to the end of
the period. Each episode is clipped to the period; a type's places are its episode-days in the
period / the days of the period: the average number of children placed on a day.

**Period.** ``--start``/``--end`` (both inclusive), by default the latest collection year of
the files (1 April to 31 March).

**Spread (sd).** Each collection year the files cover gives that year's average places; with
two or more years, ``sd`` is the larger of their sample standard deviation and sqrt(places)
(the Poisson spread the shipped instances use: two or three years can agree closely by
chance, and arrivals of children are at least that variable); with one year, sqrt(places).
``sd_basis`` says which.

**Entries and exits.** An episode enters its type when the child's previous episode was of
another type or did not end the day this one starts (a new period of care); it exits likewise.
Entries (exits) in the period / the period's years are the rates per year.

**Locality.** Of the places with a home and a placement postcode sector: the share within 20
miles. The same sector counts as within; other pairs need a sector lookup (``--postcodes``: a
CSV of sector, lat, lon, e.g. from the ONS postcode directory) and are measured great-circle
between sector centres. Places whose distance cannot be derived (a withheld or blank postcode,
no lookup, a sector missing from it) are counted and reported as such, not guessed.

**Disclosure.** No child identifier, date or postcode leaves this module. Counts of children
and of entries and exits from 1 to 4 are shown as ``c``, as the DfE suppresses them in its
publications (and a rate from such a count likewise); places (averages of children on a day)
are given as computed, since a plan needs them.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError, Problem, Problems
from optimiser.reports.formats import KM_PER_MILE
from optimiser.ssda903 import Episodes, postcode_sector, read_lookup

NOT_COMMISSIONED = "(not commissioned)"
WITHIN_MILES = 20.0
#: DfE's publication rule: counts from 1 to 4 are suppressed
SUPPRESS_BELOW = 5
SUPPRESSED = "c"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def years(self) -> float:
        return self.days / 365.25

    def __str__(self) -> str:
        return f"{self.start:%d/%m/%Y} to {self.end:%d/%m/%Y}"


def collection_period(year: int) -> Period:
    """The return year ending 31 March ``year``."""
    return Period(date(year - 1, 4, 1), date(year, 3, 31))


def suppress(count: int) -> int | str:
    """A count of children as the DfE would publish it."""
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else int(count)


def overlap_days(table: pd.DataFrame, period: Period) -> np.ndarray:
    """Days of each episode inside ``period`` (DEC itself not counted; open episodes run on)."""
    after = period.end + timedelta(days=1)
    starts = table["start"].map(lambda d: max(d, period.start))
    ends = table["end"].map(lambda d: min(d, after) if d is not None else after)
    return np.array([max(0, (e - s).days) for s, e in zip(starts, ends)], dtype=float)


def _type_of(table: pd.DataFrame) -> pd.Series:
    return table["placement_type"].where(table["placement_type"] != "", NOT_COMMISSIONED)


def places_by_type(table: pd.DataFrame, period: Period) -> pd.Series:
    """Average children placed on a day of ``period``, per type."""
    days = pd.Series(overlap_days(table, period), index=table.index)
    return days.groupby(_type_of(table)).sum() / period.days


def _moves(table: pd.DataFrame) -> pd.DataFrame:
    """Whether each episode enters and whether it leaves its type (see the module docstring)."""
    kind = _type_of(table)
    child = table["child"]
    previous_same = (child.shift() == child) & (kind.shift() == kind) & (
        table["end"].shift() == table["start"])
    next_same = (child.shift(-1) == child) & (kind.shift(-1) == kind) & (
        table["start"].shift(-1) == table["end"])
    return pd.DataFrame({"type": kind, "enters": ~previous_same,
                         "leaves": ~next_same & table["end"].notna()})


def _inside(days: pd.Series, period: Period) -> pd.Series:
    return days.map(lambda d: d is not None and period.start <= d <= period.end)


def read_sectors(path: Path) -> dict[str, tuple[float, float]]:
    """Postcode sector -> (lat, lon) from a CSV with columns sector, lat, lon."""
    file = str(path)
    problems, sectors = Problems(), {}
    rows = read_lookup(Path(path), ("sector", "lat", "lon"), "postcode lookup")
    for number, row in enumerate(rows, start=2):
        sector = postcode_sector(row["sector"])
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (TypeError, ValueError):
            problems.append(Problem(file, "lat and lon must be numbers", row=number,
                                    column="lat"))
            continue
        if sector is None:
            problems.append(Problem(file, f"{row['sector']!r} is not a postcode sector",
                                    row=number, column="sector"))
            continue
        sectors[sector] = (lat, lon)
    if problems:
        raise InputError(problems)
    return sectors


def _miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    from optimiser.market import great_circle_km

    return float(great_circle_km(a[0], a[1], b[0], b[1])) / KM_PER_MILE


def within_20_miles(home: str | None, placed: str | None,
                    sectors: dict[str, tuple[float, float]] | None) -> bool | None:
    """True/False where the distance can be derived, else None."""
    if home is None or placed is None:
        return None
    if home == placed:
        return True
    if not sectors or home not in sectors or placed not in sectors:
        return None
    return _miles(sectors[home], sectors[placed]) <= WITHIN_MILES


@dataclass(frozen=True)
class Observed:
    """What `optimise demand` reports: the demand rows, the summary, and notes for the screen."""

    demand: pd.DataFrame  # authority, placement_type, places, sd
    summary: pd.DataFrame  # one row per type, counts suppressed (SUMMARY_COLUMNS)
    notes: list[str]
    #: placement_type, entries_per_year, exits_per_year unsuppressed: for projections only,
    #: never written
    rates: pd.DataFrame


SUMMARY_COLUMNS = (
    "placement_type", "places", "sd", "sd_basis", "in_house_places", "independent_places",
    "other_places", "children", "entries", "entries_per_year", "exits", "exits_per_year",
    "within_20_miles_share", "distance_unknown_share", "yearly_places")


def _yearly(table: pd.DataFrame, years: tuple[int, ...]) -> pd.DataFrame:
    """Average places per type in each collection year covered (types x years)."""
    columns = {y: places_by_type(table, collection_period(y)) for y in years}
    return pd.DataFrame(columns).fillna(0.0)


def _sd(places: float, yearly: pd.Series) -> tuple[float, str]:
    poisson = math.sqrt(places)
    if len(yearly) < 2:
        return poisson, "poisson (one year of data)"
    observed = float(yearly.std(ddof=1))
    if observed >= poisson:
        return observed, f"year-to-year ({len(yearly)} years)"
    return poisson, f"poisson (above the year-to-year {observed:.2f})"


def _locality(part: pd.DataFrame, days: pd.Series,
              sectors: dict | None) -> tuple[float | None, float]:
    near = [within_20_miles(h, p, sectors) for h, p in zip(part["home"], part["placed"])]
    near = pd.Series(near, index=part.index, dtype=object)
    known = near.notna()
    total = days.sum()
    known_days = days[known].sum()
    near_days = days[near.map(lambda v: v is True)].sum()
    share = near_days / known_days if known_days else None
    return share, (total - known_days) / total if total else 0.0


def _rate(count: int, period: Period) -> float | str:
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else round(count / period.years, 2)


def _type_row(kind: str, part: pd.DataFrame, days: pd.Series, moves: pd.DataFrame,
              period: Period, yearly: pd.Series, sectors: dict | None) -> dict:
    places = days.sum() / period.days
    sd, basis = _sd(places, yearly)
    by_provision = days.groupby(part["provision"]).sum() / period.days
    entries = int((moves["enters"] & _inside(part["start"], period)).sum())
    exits = int((moves["leaves"] & _inside(part["end"], period)).sum())
    share, unknown = _locality(part, days, sectors)
    return {
        "placement_type": kind, "places": round(places, 4), "sd": round(sd, 4),
        "sd_basis": basis,
        **{f"{p}_places": round(float(by_provision.get(p, 0.0)), 4)
           for p in ("in_house", "independent", "other")},
        "children": suppress(part.loc[days > 0, "child"].nunique()),
        "entries": suppress(entries), "entries_per_year": _rate(entries, period),
        "exits": suppress(exits), "exits_per_year": _rate(exits, period),
        "within_20_miles_share": None if share is None else round(share, 4),
        "distance_unknown_share": round(unknown, 4),
        "yearly_places": "; ".join(f"{y - 1}-{str(y)[2:]}: {v:.2f}" for y, v in yearly.items()),
        "rates": (entries / period.years, exits / period.years),
    }


def observe(episodes: Episodes, authority: str, period: Period,
            sectors: dict[str, tuple[float, float]] | None = None) -> Observed:
    """Demand rows and the summary of ``episodes`` over ``period`` for ``authority``."""
    table = episodes.table
    days = pd.Series(overlap_days(table, period), index=table.index)
    moves = _moves(table)
    yearly = _yearly(table, episodes.years)
    rows = []
    for kind in sorted(set(moves["type"]) - {NOT_COMMISSIONED}) + [NOT_COMMISSIONED]:
        mask = moves["type"] == kind
        if not mask.any():
            continue
        row_yearly = yearly.loc[kind] if kind in yearly.index else pd.Series(dtype=float)
        rows.append(_type_row(kind, table[mask], days[mask], moves[mask], period, row_yearly,
                              sectors))
    rates = pd.DataFrame([(r["placement_type"], *r.pop("rates")) for r in rows],
                         columns=["placement_type", "entries_per_year", "exits_per_year"])
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    commissioned = summary[(summary["placement_type"] != NOT_COMMISSIONED)
                           & (summary["places"] > 0)]
    demand = pd.DataFrame({"authority": authority,
                           "placement_type": commissioned["placement_type"],
                           "places": commissioned["places"], "sd": commissioned["sd"]})
    return Observed(demand.reset_index(drop=True), summary,
                    _notes(episodes, period, summary, table, sectors), rates)


def _notes(episodes: Episodes, period: Period, summary: pd.DataFrame, table: pd.DataFrame,
           sectors: dict | None) -> list[str]:
    years = ", ".join(f"{y - 1}-{str(y)[2:]}" for y in episodes.years)
    notes = [f"period {period} ({period.days} days); returns covering {years}"]
    if episodes.duplicates:
        notes.append(f"{episodes.duplicates} duplicate episode record(s) dropped "
                     "(the same episode in two returns, or repeated rows)")
    if episodes.overlaps:
        notes.append(f"{episodes.overlaps} episode(s) open or ending after the child's next "
                     "episode started: cut at that start")
    if summary[summary["placement_type"] != NOT_COMMISSIONED]["places"].sum() == 0:
        notes.append("no commissioned placement in the period: demand.csv has no rows")
    if not table["has_postcodes"].any():
        notes.append("locality: not derivable (no HOME_POST and PL_POST columns)")
    elif summary["within_20_miles_share"].isna().all():
        notes.append("locality: no distance could be derived (postcodes withheld, or no "
                      "--postcodes lookup for different sectors)")
    elif not sectors:
        notes.append("locality: without a --postcodes lookup only placements in the child's "
                     "home sector are known to be within 20 miles; the rest count as unknown")
    last = collection_period(max(episodes.years)).end
    if period.end > last:
        notes.append(f"the period ends after the latest return's year: open episodes are "
                     f"taken to continue past {last:%d/%m/%Y}")
    if period.start < collection_period(min(episodes.years)).start:
        notes.append(f"the period starts before the earliest return's year: episodes that "
                     f"ended before {collection_period(min(episodes.years)).start:%d/%m/%Y} "
                     "are not in the files, so places there are undercounted")
    return notes


def _demand_file(instance: Path) -> Path:
    """The CSV file of an instance folder's demand table (named in its instance.yaml)."""
    import yaml

    manifest = instance / "instance.yaml"
    if not instance.is_dir() or not manifest.is_file():
        raise InputError(Problem(str(instance), "--into needs an instance folder with an "
                                                "instance.yaml (CSV tables)"))
    document = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    given = (document.get("tables") or {}).get("demand", "demand.csv")
    if not isinstance(given, str):
        raise InputError(Problem(str(manifest), "the demand table is inline: --into needs it "
                                                "in a CSV file", column="tables.demand"))
    return instance / given


def merged_demand(instance: Path, demand: pd.DataFrame) -> tuple[Path, str, str]:
    """(demand file, its text now, its text with ``demand``'s authority's rows replaced)."""
    path = _demand_file(instance)
    old = path.read_text(encoding="utf-8-sig") if path.is_file() else ""
    table = pd.read_csv(io.StringIO(old), dtype=str, keep_default_na=False) if old else (
        pd.DataFrame(columns=["authority", "placement_type", "places", "sd"]))
    authorities = set(demand["authority"])
    kept = table[~table["authority"].isin(authorities)]
    new = pd.concat([kept, demand.astype(str)], ignore_index=True)
    new = new[list(dict.fromkeys([*table.columns, *demand.columns]))]
    buffer = io.StringIO()
    new.to_csv(buffer, index=False, lineterminator="\n")
    return path, old, buffer.getvalue()


def _day(text: str | None, option: str) -> date | None:
    from optimiser.ssda903 import parse_date

    if text is None:
        return None
    day = parse_date(text)
    if day is None:
        raise InputError(Problem(option, f"{text!r} is not a date (e.g. 31/03/2024)"))
    return day


def choose_period(episodes: Episodes, start: str | None, end: str | None) -> Period:
    """``--start``/``--end``, each by default the latest return's year's bound."""
    latest = collection_period(max(episodes.years))
    period = Period(_day(start, "--start") or latest.start, _day(end, "--end") or latest.end)
    if period.end < period.start:
        raise InputError(Problem("--end", f"{period.end:%d/%m/%Y} is before the start "
                                          f"{period.start:%d/%m/%Y}"))
    return period


def observe_files(paths: list[Path], authority: str, start: str | None = None,
                  end: str | None = None, mapping: Path | None = None,
                  postcodes: Path | None = None) -> Observed:
    """`optimise demand`: read, check and summarise Episodes files for one authority."""
    from optimiser.ssda903 import read_episodes, read_mapping

    if not authority.strip():
        raise InputError(Problem("--authority", "give the authority's id in the instance"))
    episodes = read_episodes(list(paths), read_mapping(mapping))
    sectors = read_sectors(Path(postcodes)) if postcodes else None
    return observe(episodes, authority.strip(), choose_period(episodes, start, end), sectors)


def summary_lines(observed: Observed) -> list[str]:
    """The screen table: one line per type (80 columns), then the notes."""
    from optimiser.reports.formats import places, share

    head = (f"{'placement type':<22}{'places':>8}{'sd':>7}{'in-house':>9}{'indep.':>8}"
            f"{'in/yr':>7}{'out/yr':>7}{'<20mi':>7}")
    lines = [head]
    for row in observed.summary.to_dict("records"):
        rate = {k: row[k] if isinstance(row[k], str) else places(row[k])
                for k in ("entries_per_year", "exits_per_year")}
        local = row["within_20_miles_share"]
        lines.append(
            f"{row['placement_type'][:21]:<22}{places(row['places'], 2):>8}"
            f"{places(row['sd'], 2):>7}{places(row['in_house_places']):>9}"
            f"{places(row['independent_places']):>8}{rate['entries_per_year']:>7}"
            f"{rate['exits_per_year']:>7}{share(None if pd.isna(local) else local, 0):>7}")
    return lines + [f"note: {n}" for n in observed.notes]
