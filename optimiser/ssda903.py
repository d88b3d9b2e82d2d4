"""Read and check the Episodes table of SSDA903 returns (the DfE's looked-after children return).

One file per year's return: the Episodes table as CSV, as councils export it (a header row with
at least CHILD, DECOM, PLACE, PLACE_PROVIDER and DEC; HOME_POST and PL_POST are used for
locality when present), or the return's XML (``.xml``: EXPSSDA903 > CHILD > HEADER > CHILDID and
CHILD > EPISODE > DECOM, PL, PLACE_PROVIDER, DEC, HOME_POST, PL_POST).
Column names are matched without regard to case or surrounding spaces; other columns (RNE, LS,
CIN, REASON_PLACE_CHANGE, REC, URN, ...) are ignored.

The quirks of real extracts are handled here, and nowhere else:

* dates in several formats (31/03/2024, 2024-03-31, 31-03-2024, 31.03.2024, 31/03/24, and
  spreadsheet exports with a time of day); day before month, as in every English return;
* a blank DEC is an episode still open at the end of the return's year;
* codes in lower case or with spaces (`` u4``), and codes that changed between years (Q1/Q2
  fostering before 2015-16, U1-U6 after: both are in the default mapping);
* the same episode in two years' returns (an episode open at 31 March appears again the next
  year, usually then with its DEC): one copy is kept, the one with a DEC if only one has it,
  else the one from the later file; exact duplicates within a file are dropped. Two *different*
  episodes of one child starting the same day in one file are an error, as in the DfE's own
  validation. An episode still open (or ending) after the child's next episode starts (a copy
  left open in an earlier return whose DECOM was corrected later, say) is cut at that start,
  and counted, so no child is counted twice on a day.

Every malformed row is a :class:`~optimiser.errors.Problem` naming file, row and column (row 1
is the header); all are collected before :class:`~optimiser.errors.InputError` is raised.

Placement codes map to the instance's placement types through a table (PLACE, PLACE_PROVIDER,
placement_type): the default, ``optimiser/data/ssda903_placements.csv``, lists the PLACE codes
of the DfE's SSDA903 guidance with their descriptions (source and reasons:
``optimiser/data/README.md``); a blank placement_type means the
placement is not one a framework commissions (placed with parents, adoption, secure homes,
temporary moves, ...). PLACE_PROVIDER ``*`` matches any provider; a row naming a provider
(PR0-PR5) wins over ``*``, so a council can send, say, ``U4,PR1`` and ``U4,PR4`` to different
types.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from optimiser.errors import InputError, Problem, Problems

DEFAULT_MAPPING = Path(__file__).resolve().parent / "data" / "ssda903_placements.csv"
REQUIRED = ("CHILD", "DECOM", "PLACE", "PLACE_PROVIDER", "DEC")
OPTIONAL = ("HOME_POST", "PL_POST")
#: PLACE_PROVIDER codes of the DfE guidance: PR0 parents, PR1 own LA, PR2 other LA, PR3 other
#: public, PR4 private, PR5 voluntary/third sector
PROVIDERS = {"PR0": "other", "PR1": "in_house", "PR2": "other", "PR3": "other",
             "PR4": "independent", "PR5": "independent", "": "other"}
ANY = "*"
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d",
                "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
#: postcode values councils use where a postcode is withheld or unknown
WITHHELD_POSTCODES = {"", "XXXXX", "XXXX", "ZZ99", "ZZ99 3CZ", "ZZ993CZ", "NA", "N/A", "UNKNOWN"}


@dataclass(frozen=True)
class Mapping:
    """PLACE and PLACE_PROVIDER codes -> placement type ('' = not commissioned)."""

    types: dict[tuple[str, str], str]
    file: str

    def placement_type(self, place: str, provider: str) -> str | None:
        """The type of a (PLACE, PLACE_PROVIDER) pair, or None when the mapping lacks PLACE."""
        for key in ((place, provider), (place, ANY)):
            if key in self.types:
                return self.types[key]
        return None


def code(value: object) -> str:
    """A code as the guidance spells it: upper case, no spaces."""
    return "".join(str(value or "").split()).upper()


def parse_date(text: str) -> date | None:
    """A return's date in any of :data:`DATE_FORMATS`, or None when it is none of them."""
    text = text.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def postcode_sector(value: object) -> str | None:
    """'M14 5AB', 'm145ab' or 'M14 5' -> 'M14 5'; None where withheld or not a postcode."""
    text = " ".join(str(value or "").upper().split())
    if text in WITHHELD_POSTCODES:
        return None
    compact = text.replace(" ", "")
    if " " in text and len(text.split(" ")[1]) == 1:  # already a sector, "M14 5"
        outward, inward = text.split(" ")
    elif 5 <= len(compact) <= 7:
        outward, inward = compact[:-3], compact[-3:]
    else:
        return None
    if not (2 <= len(outward) <= 4 and outward[0].isalpha() and inward[0].isdigit()):
        return None
    return f"{outward} {inward[0]}"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_lookup(path: Path, columns: tuple[str, ...], what: str, file: str | None = None
                ) -> list[dict[str, str]]:
    """The rows of a small CSV lookup (a mapping, a postcode-sector table), each keyed by
    ``columns`` (matched ignoring case and surrounding spaces), cells stripped. A missing file
    or column is an error naming the file; row numbers of the result start at 2."""
    file = file or str(path)
    if not path.is_file():
        raise InputError(Problem(file, f"{what} not found"))
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    names = {(n or "").strip().lower(): n for n in (reader.fieldnames or [])}
    missing = [c for c in columns if c.lower() not in names]
    if missing:
        raise InputError(Problem(file, f"missing column(s) {', '.join(missing)}: a {what} "
                                       f"has {', '.join(columns)}"))
    return [{c: (row[names[c.lower()]] or "").strip() for c in columns} for row in reader]


def read_mapping(path: Path | None = None) -> Mapping:
    """The placement mapping at ``path`` (default: the shipped DfE-code mapping);
    PLACE_PROVIDER ``*`` (or blank) stands for any provider."""
    path = Path(path) if path else DEFAULT_MAPPING
    file = path.name if path == DEFAULT_MAPPING else str(path)
    rows = read_lookup(path, ("PLACE", "PLACE_PROVIDER", "placement_type"), "mapping file",
                       file)
    problems, types = Problems(), {}
    for number, row in enumerate(rows, start=2):
        place, provider = code(row["PLACE"]), code(row["PLACE_PROVIDER"]) or ANY
        if not place:
            problems.append(Problem(file, "PLACE is blank", row=number, column="PLACE"))
        elif (place, provider) in types:
            problems.append(Problem(file, f"{place},{provider} is mapped twice", row=number,
                                    column="PLACE"))
        else:
            types[(place, provider)] = row["placement_type"]
    if problems:
        raise InputError(problems)
    return Mapping(types, file)


def _columns(header: list[str], file: str) -> dict[str, int]:
    """Position of each required and optional column; an error naming the missing ones."""
    position = {h.strip().upper(): i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in position]
    if missing:
        raise InputError(Problem(file, f"not an SSDA903 Episodes table: missing column(s) "
                                       f"{', '.join(missing)} (found: {', '.join(header)})",
                                 row=1))
    return {c: position[c] for c in REQUIRED + OPTIONAL if c in position}


def _episode(cells: list[str], at: dict[str, int], file: str, number: int, mapping: Mapping,
             problems: Problems) -> dict | None:
    """One data row as an episode, or None (its problems appended)."""
    value = {c: (cells[i] if i < len(cells) else "").strip() for c, i in at.items()}
    found = len(problems)
    child = value["CHILD"]
    if not child:
        problems.append(Problem(file, "CHILD is blank", row=number, column="CHILD"))
    start = parse_date(value["DECOM"])
    if start is None:
        problems.append(Problem(file, f"DECOM {value['DECOM']!r} is not a date (e.g. 31/03/2024)",
                                row=number, column="DECOM"))
    end = parse_date(value["DEC"]) if value["DEC"] else None
    if value["DEC"] and end is None:
        problems.append(Problem(file, f"DEC {value['DEC']!r} is not a date (blank if the "
                                      "episode is open)", row=number, column="DEC"))
    elif end is not None and start is not None and end < start:
        problems.append(Problem(file, f"DEC {value['DEC']} is before DECOM {value['DECOM']}",
                                row=number, column="DEC"))
    place, provider = code(value["PLACE"]), code(value["PLACE_PROVIDER"])
    if provider not in PROVIDERS:
        problems.append(Problem(file, f"PLACE_PROVIDER {value['PLACE_PROVIDER']!r} is not a "
                                      "DfE code (PR0-PR5, or blank)", row=number,
                                column="PLACE_PROVIDER"))
    placement_type = mapping.placement_type(place, provider)
    if placement_type is None:
        problems.append(Problem(file, f"PLACE {value['PLACE']!r} is not in the placement "
                                      f"mapping ({mapping.file}); add it with --mapping FILE",
                                row=number, column="PLACE"))
    if len(problems) > found:
        return None
    return {"child": child, "start": start, "end": end, "place": place, "provider": provider,
            "placement_type": placement_type, "provision": PROVIDERS[provider],
            "home": postcode_sector(value.get("HOME_POST")),
            "placed": postcode_sector(value.get("PL_POST")),
            "has_postcodes": "HOME_POST" in at and "PL_POST" in at,
            "file": file, "row": number}


XML_FIELDS = {"DECOM": "DECOM", "PL": "PLACE", "PLACE": "PLACE",
              "PLACE_PROVIDER": "PLACE_PROVIDER", "DEC": "DEC", "HOME_POST": "HOME_POST",
              "PL_POST": "PL_POST"}


def _xml_rows(path: Path, file: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """An XML return (EXPSSDA903 > CHILD > HEADER > CHILDID, CHILD > EPISODE > DECOM, PL, ...)
    as a header and (line of the EPISODE tag, cells) rows."""
    from xml.parsers import expat

    header = ["CHILD", "DECOM", "PLACE", "PLACE_PROVIDER", "DEC", "HOME_POST", "PL_POST"]
    parser = expat.ParserCreate()
    stack, rows, state = [], [], {"child": "", "episode": None, "text": []}

    def start(name, _attrs):
        stack.append(name)
        state["text"] = []
        if name == "CHILD":
            state["child"] = ""
        elif name == "EPISODE":
            state["episode"] = {"CHILD": state["child"], "line": parser.CurrentLineNumber}

    def end(name):
        text = "".join(state["text"]).strip()
        stack.pop()
        episode = state["episode"]
        if name == "CHILDID" and "HEADER" in stack:
            state["child"] = text
        elif name == "EPISODE" and episode is not None:
            rows.append((episode.pop("line"), [episode.get(c, "") for c in header]))
            state["episode"] = None
        elif episode is not None and name in XML_FIELDS:
            episode[XML_FIELDS[name]] = text
        state["text"] = []

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = lambda data: state["text"].append(data)
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as error:
        raise InputError(Problem(file, f"not well-formed XML: {expat.ErrorString(error.code)}",
                                 row=error.lineno)) from None
    return header, rows


def _csv_rows(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(_read_text(path)))
    header = next(reader, None)
    return header, list(enumerate(reader, start=2))


def read_file(path: Path, order: int, mapping: Mapping, problems: Problems) -> list[dict]:
    """The episodes of one Episodes CSV file, or of an XML return (where a problem's row is
    the line of its EPISODE element); problems appended, never raised per row."""
    file = str(path)
    if not path.is_file():
        problems.append(Problem(file, "file not found"))
        return []
    xml = path.suffix.lower() == ".xml"
    header, rows = _xml_rows(path, file) if xml else _csv_rows(path)
    if not header or (xml and not rows):
        problems.append(Problem(file, "no episodes: the file is empty" if not xml else
                                "no EPISODE elements (an SSDA903 XML return has "
                                "EXPSSDA903 > CHILD > EPISODE)"))
        return []
    at = _columns(header, file)
    episodes = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        episode = _episode(cells, at, file, number, mapping, problems)
        if episode is not None:
            episodes.append({**episode, "order": order})
    return episodes


def _deduplicate(frame: pd.DataFrame, problems: Problems) -> tuple[pd.DataFrame, int]:
    """One episode per (child, start): see the module docstring. Returns it and the number of
    copies dropped."""
    same = ["child", "start", "end", "place", "provider", "file"]
    exact = frame.duplicated(same)
    frame = frame[~exact]
    clash = frame[frame.duplicated(["child", "start", "file"], keep=False)]
    for (_, _, file), rows in clash.groupby(["child", "start", "file"], sort=False):
        first, *others = rows["row"].tolist()
        for row in others:
            problems.append(Problem(file, f"a second, different episode of the same CHILD "
                                          f"starting the same DECOM as row {first}", row=row,
                                    column="DECOM"))
    # a closed copy beats an open one; then the later file (its return is the newer)
    frame = frame.assign(closed=frame["end"].notna()).sort_values(
        ["child", "start", "closed", "order", "row"], kind="stable")
    kept = frame.drop_duplicates(["child", "start"], keep="last").drop(columns="closed")
    return kept.sort_values(["child", "start"], kind="stable").reset_index(drop=True), (
        int(exact.sum()) + len(frame) - len(kept))


@dataclass(frozen=True)
class Episodes:
    """The episodes of all files, one per (child, start), with each file's collection year."""

    table: pd.DataFrame  # child, start, end (None: open), place, provider, placement_type, ...
    years: tuple[int, ...]  # collection years covered, by the year their 31 March falls in
    duplicates: int  # copies dropped
    overlaps: int = 0  # episodes cut short at the start of the child's next episode


def _cut_overlaps(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Each episode ends at the latest when the child's next one starts: an episode left open
    in an earlier return, or with a DEC after the next DECOM, would count the child twice."""
    same_child = table["child"].shift(-1) == table["child"]
    ends, cut = [], 0
    for end, following, same in zip(table["end"], table["start"].shift(-1), same_child):
        if same and (end is None or end > following):
            ends.append(following)
            cut += 1
        else:
            ends.append(end)
    return table.assign(end=pd.Series(ends, index=table.index, dtype=object)), cut


def collection_year(day: date) -> int:
    """The return year a date falls in, named by its 31 March: 2023-04-01 .. 2024-03-31 -> 2024."""
    return day.year + 1 if day.month > 3 else day.year


def read_episodes(paths: list[Path], mapping: Mapping) -> Episodes:
    """Every file's episodes, checked, deduplicated; an InputError listing every bad row."""
    problems = Problems()
    rows, years = [], set()
    for order, path in enumerate(paths):
        found = read_file(Path(path), order, mapping, problems)
        rows += found
        dates = [d for e in found for d in (e["start"], e["end"]) if d is not None]
        if dates:  # a return holds the episodes open during its year: its latest date is in it
            years.add(collection_year(max(dates)))
    if not rows:
        if not problems:
            problems.append(Problem(", ".join(map(str, paths)), "no episodes in the file(s)"))
        raise InputError(problems)
    table, dropped = _deduplicate(pd.DataFrame(rows), problems)
    if problems:
        raise InputError(problems)
    table, overlaps = _cut_overlaps(table)
    return Episodes(table, tuple(sorted(years)), dropped, overlaps)
