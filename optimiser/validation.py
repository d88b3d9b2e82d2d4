"""Turn raw table rows into a validated :class:`Instance` (docs/model.md section 3).

Loaders (``optimiser.loading``) read cells and say where each came from; this module checks
every rule and collects every problem before raising a single :class:`InputError`, so a user
fixes a spreadsheet in one pass (the first ``MAX_SHOWN_PROBLEMS`` in full, the rest counted:
see :class:`optimiser.errors.Problems`). Per-cell rules come from the pydantic row models in
``optimiser.schema``; the rules that span rows or tables live here.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import pairwise

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from optimiser.errors import InputError, Problem, Problems
from optimiser.records import Instance
from optimiser.schema import (
    TABLES,
    TRUE_FALSE_NUMBER,
    Kind,
    Policy,
    Row,
    TableSpec,
    required_columns,
)

# Raw input handed over by the loaders ----------------------------------------------------------


@dataclass
class RawRow:
    """One data row: its number as the user sees it and its non-blank cells."""

    number: int
    cells: dict[str, object]


@dataclass
class RawTable:
    """A table as read from a CSV file, a sheet or an inline manifest list.

    ``columns`` is the header row, or ``None`` for an inline table, where each item names its
    own columns (there is no header to check once).
    """

    name: str
    file: str
    rows: list[RawRow]
    columns: tuple[str, ...] | None = None
    sheet: str | None = None


@dataclass
class PolicyEntry:
    """One policy key and value, with where to point a problem with either."""

    key: str
    value: object
    file: str
    sheet: str | None = None
    row: int | None = None
    key_column: str | None = None
    value_column: str | None = None


@dataclass
class RawInstance:
    """Everything a loader read, plus the problems it met while reading."""

    name: str
    source: str
    file: str  # manifest or workbook: where problems about the instance as a whole point
    description: str = ""
    tables: dict[str, RawTable] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # given, but could not be read
    policy: list[PolicyEntry] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    warnings: list[str] = field(default_factory=list)  # met while reading (hidden sheets)


# Checked rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """A row that passed its model, with its row number for later problems."""

    number: int
    row: Row


@dataclass
class Table:
    """A table's raw rows and the records that passed their model."""

    spec: TableSpec
    raw: RawTable
    records: list[Record] = field(default_factory=list)

    def problem(self, number: int | None, column: str | None, message: str) -> Problem:
        return Problem(self.raw.file, message, self.raw.sheet, number, column)

    def raw_values(self, *columns: str) -> set[tuple[str, ...]]:
        """The given columns of every raw row, as text, whether or not the row is valid.

        Used for cross-table checks, so that one bad cell (a wrong rating, say) does not also
        make every reference to that row's id "unknown".
        """
        return {
            tuple(str(row.cells[c]) for c in columns)
            for row in self.raw.rows
            if all(c in row.cells for c in columns)
        }


# Formatting pydantic errors --------------------------------------------------------------------

_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


#: longest value quoted in full in a message; a longer one is cut, with its length
SHOWN_CHARACTERS = 60


def show(value: object) -> str:
    """A value as the user typed it: text quoted, numbers bare; cut if very long (a 5,000-digit
    number or a whole pasted table would otherwise bury the report)."""
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[:SHOWN_CHARACTERS - 10]}... ({len(text):,} characters)"


def _number(limit: object) -> str:
    if isinstance(limit, float) and limit.is_integer():
        return str(int(limit))
    return str(limit)


def _choices(expected: str) -> str:
    # pydantic words them "'a', 'b' or 'c'"; a list reads better in a one-line message
    return expected.replace("'", "").replace(" or ", ", ")


def suggestion(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a likely typo, else ''."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(error: ErrorDetails) -> str:
    """A short message for one pydantic error, naming the offending value."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    got = f", got {show(value)}"
    if kind == "missing":
        return "a value is required (the cell is blank)"
    if kind == "finite_number":
        return f"NaN or infinite numbers are not allowed{got}"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return f"not a number: {show(value)}"
    if kind in _BOUNDS:
        operator, key = _BOUNDS[kind]
        return f"must be {operator} {_number(ctx[key])}{got}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {_choices(str(ctx['expected']))}{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind == TRUE_FALSE_NUMBER:
        shown = "TRUE" if value else "FALSE"
        return (f"must be a number, got the true/false value {shown} (in YAML, yes/no and "
                "on/off are true/false values too)")
    if kind in ("string_type", "string_too_short"):
        return f"must be text{got}"
    return f"{error['msg']}{got}"


# Per-table checks ------------------------------------------------------------------------------


def _header_problems(table: Table) -> tuple[list[Problem], set[str]]:
    """Unknown and missing columns of a table with a header; also the missing ones."""
    columns = table.raw.columns
    if columns is None:
        return [], set()
    fields = table.spec.row.model_fields
    problems = [
        table.problem(1, column, f"unknown column{suggestion(column, fields)}")
        for column in columns
        if column not in fields
    ]
    missing = {c for c in required_columns(table.spec.row) if c not in columns}
    problems += [
        table.problem(1, column, "required column is missing")
        for column in required_columns(table.spec.row)
        if column in missing
    ]
    return problems, missing


def _row_problems(table: Table, row: RawRow, missing: set[str]) -> list[Problem]:
    """Validate one row through its model; keep the record if it passes."""
    fields = table.spec.row.model_fields
    cells = row.cells
    if table.raw.columns is not None:
        # unknown header columns were reported once at row 1, not on every row
        cells = {k: v for k, v in cells.items() if k in fields}
    try:
        table.records.append(Record(row.number, table.spec.row.model_validate(cells)))
        return []
    except ValidationError as error:
        return [
            _cell_problem(table, row.number, detail)
            for detail in error.errors()
            if not (detail["type"] == "missing" and detail["loc"][0] in missing)
        ]


def _cell_problem(table: Table, number: int, detail: ErrorDetails) -> Problem:
    column = str(detail["loc"][0]) if detail["loc"] else None
    if detail["type"] == "extra_forbidden" and column is not None:
        message = f"unknown column{suggestion(column, table.spec.row.model_fields)}"
    else:
        message = describe(detail)
    return table.problem(number, column, message)


def check_table(spec: TableSpec, raw: RawTable, problems: Problems) -> Table:
    """Header and per-cell checks of one table, adding to ``problems``."""
    table = Table(spec, raw)
    header_problems, missing = _header_problems(table)
    problems += header_problems
    for row in raw.rows:
        problems += _row_problems(table, row, missing)
    if spec.required and not raw.rows:
        problems.append(table.problem(None, None, f"required table '{spec.name}' has no rows"))
    return table


def _duplicate_keys(table: Table) -> Iterator[Problem]:
    key = table.spec.key
    first: dict[tuple, int] = {}
    for record in table.records:
        value = tuple(getattr(record.row, c) for c in key)
        if value in first:
            shown = ", ".join(f"{c} {show(v)}" for c, v in zip(key, value) if v is not None)
            yield table.problem(
                record.number, "/".join(key),
                f"duplicate of row {first[value]} ({shown})",
            )
        else:
            first[value] = record.number


# Cross-table checks ----------------------------------------------------------------------------

#: (table, column, referenced table, what the id is called in a message)
REFERENCES = (
    ("demand", "authority", "authorities", "authority"),
    ("demand", "placement_type", "placement_types", "placement type"),
    ("providers", "owner", "authorities", "authority"),
    ("offers", "provider", "providers", "provider"),
    ("offers", "placement_type", "placement_types", "placement type"),
    ("tiers", "provider", "providers", "provider"),
    ("tiers", "placement_type", "placement_types", "placement type"),
    ("distances", "authority", "authorities", "authority"),
    ("distances", "provider", "providers", "provider"),
    ("substitutions", "need", "placement_types", "placement type"),
    ("substitutions", "served_by", "placement_types", "placement type"),
    ("consortia", "authority", "authorities", "authority"),
)


def _unknown_references(tables: dict[str, Table], problems: Problems) -> Iterator[Problem]:
    for name, column, target, noun in REFERENCES:
        if name not in tables or target not in tables:
            continue  # a missing table is reported once, not through every reference to it
        known = {ids[0] for ids in tables[target].raw_values("id")}
        for record in tables[name].records:
            value = getattr(record.row, column)
            if value is not None and value not in known:
                # a suggestion compares with every known id: a million unknown ids among
                # England's 2,196 providers would take hours, so only shown ones get one
                hint = "" if problems.full else suggestion(value, known)
                message = f"unknown {noun} {show(value)}{hint}"
                yield tables[name].problem(record.number, column, message)


def _owners(providers: Table) -> Iterator[Problem]:
    for record in providers.records:
        provider = record.row
        if provider.kind == Kind.in_house.value and provider.owner is None:
            yield providers.problem(
                record.number, "owner", "an in_house provider needs an owner (an authority id)"
            )
        elif provider.kind != Kind.in_house.value and provider.owner is not None:
            yield providers.problem(
                record.number, "owner",
                f"only an in_house provider has an owner, but kind is '{provider.kind}'",
            )


def _half_coordinates(table: Table) -> Iterator[Problem]:
    for record in table.records:
        lat, lon = record.row.lat, record.row.lon
        if (lat is None) != (lon is None):
            blank = "lat" if lat is None else "lon"
            message = "lat and lon go together: give both or neither"
            yield table.problem(record.number, blank, message)


def _uncovered_pairs(tables: dict[str, Table], own: str, other: str) -> Iterator[Problem]:
    """Rows of ``own`` without coordinates lacking a distance to some row of ``other``."""
    if other not in tables:
        return
    distances = tables.get("distances")
    pairs = distances.raw_values("authority", "provider") if distances else set()
    others = {ids[0] for ids in tables[other].raw_values("id")}
    noun = "provider" if other == "providers" else "authority"
    for record in tables[own].records:
        row = record.row
        if row.lat is not None or row.lon is not None:
            continue  # half-given coordinates are reported by _half_coordinates
        lacking = sorted(
            o for o in others
            if ((row.id, o) if own == "authorities" else (o, row.id)) not in pairs
        )
        if lacking:
            listed = ", ".join(lacking[:5])
            if len(lacking) > 5:
                listed += f" and {len(lacking) - 5} more"
            yield tables[own].problem(
                record.number, "lat",
                f"no coordinates and no distances row for {noun} {listed}: give lat and lon, "
                f"or a distances row for every {noun}",
            )


def _coordinates(tables: dict[str, Table]) -> Iterator[Problem]:
    for name in ("authorities", "providers"):
        if name in tables:
            yield from _half_coordinates(tables[name])
    if "authorities" in tables and "providers" in tables:
        yield from _uncovered_pairs(tables, "authorities", "providers")
        yield from _uncovered_pairs(tables, "providers", "authorities")


def _tier_scopes(tiers: Table) -> Iterator[Problem]:
    """One provider's tiers all leave placement_type blank or all name one."""
    first: dict[str, Record] = {}
    for record in tiers.records:
        tier = record.row
        earlier = first.setdefault(tier.provider, record)
        if (earlier.row.placement_type is None) != (tier.placement_type is None):
            blank_row = earlier.number if earlier.row.placement_type is None else record.number
            yield tiers.problem(
                record.number, "placement_type",
                f"tiers of provider {show(tier.provider)} have overlapping scopes: row "
                f"{blank_row} leaves placement_type blank (all its offers) while another names "
                "a type; either all leave placement_type blank or all name a type",
            )


def _tier_discounts(tiers: Table) -> Iterator[Problem]:
    """Within a tier group, the discount must not fall as min_places rises."""
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for record in tiers.records:
        groups[(record.row.provider, record.row.placement_type)].append(record)
    for records in groups.values():
        ordered = sorted(records, key=lambda r: r.row.min_places)
        for lower, higher in pairwise(ordered):
            if higher.row.discount_pct < lower.row.discount_pct:
                yield tiers.problem(
                    higher.number, "discount_pct",
                    f"discount falls as volume rises: {_number(higher.row.discount_pct)}% at "
                    f"{_number(higher.row.min_places)} places, but row {lower.number} gives "
                    f"{_number(lower.row.discount_pct)}% at {_number(lower.row.min_places)} places",
                )


def _tier_offers(tables: dict[str, Table]) -> Iterator[Problem]:
    """A tier naming a type must match an offer of its provider of that type."""
    if "offers" not in tables or "placement_types" not in tables:
        return
    offered = tables["offers"].raw_values("provider", "placement_type")
    types = {ids[0] for ids in tables["placement_types"].raw_values("id")}
    tiers = tables["tiers"]
    for record in tiers.records:
        tier = record.row
        if tier.placement_type in types and (tier.provider, tier.placement_type) not in offered:
            yield tiers.problem(
                record.number, "placement_type",
                f"provider {show(tier.provider)} has no offer of {show(tier.placement_type)}",
            )


def _tiers(tables: dict[str, Table]) -> Iterator[Problem]:
    if "tiers" in tables:
        yield from _tier_scopes(tables["tiers"])
        yield from _tier_discounts(tables["tiers"])
        yield from _tier_offers(tables)


def _payment_schedule(tables: dict[str, Table]) -> Iterator[Problem]:
    """An outcome-linked schedule starts at month 0, and its own stay distribution (if any)
    is given on every band and sums to 1."""
    table = tables.get("payment_schedule")
    if table is None or not table.records:
        return
    first = min(table.records, key=lambda r: r.row.from_months)
    if first.row.from_months != 0:
        yield table.problem(first.number, "from_months", "the first band must start at 0 "
                            f"months (a child's first day), got {first.row.from_months:g}")
    given = [r for r in table.records if r.row.stay_share is not None]
    if given and len(given) != len(table.records):
        missing = next(r for r in table.records if r.row.stay_share is None)
        yield table.problem(missing.number, "stay_share", "give stay_share on every band or "
                            "on none (blank: an exponential stay with mean mean_stay_years)")
    elif given and abs(sum(r.row.stay_share for r in given) - 1.0) > 1e-6:
        total = sum(r.row.stay_share for r in given)
        yield table.problem(given[-1].number, "stay_share", "the bands' stay_share must sum "
                            f"to 1 (every day of a stay falls in one band), got {total:g}")


def cross_table_problems(tables: dict[str, Table], problems: Problems) -> None:
    """Every rule spanning rows or tables, on the rows that passed their models, added to
    ``problems``."""
    for table in tables.values():
        problems += _duplicate_keys(table)
    problems += _unknown_references(tables, problems)
    if "providers" in tables:
        problems += _owners(tables["providers"])
    problems += _coordinates(tables)
    problems += _tiers(tables)
    problems += _payment_schedule(tables)


# Warnings --------------------------------------------------------------------------------------


def _self_substitutions(table: Table) -> tuple[list[Record], list[str]]:
    """Drop need == served_by rows (a type always serves itself), with a warning each."""
    kept, warnings = [], []
    for record in table.records:
        if record.row.need == record.row.served_by:
            warnings.append(str(table.problem(
                record.number, "served_by",
                f"need and served_by are both {show(record.row.need)}: a type always serves "
                "itself, so this row is ignored",
            )))
        else:
            kept.append(record)
    return kept, warnings


def _unserved_demand(instance: Instance) -> list[str]:
    offered = {offer.placement_type for offer in instance.offers}
    served = offered | {s.need for s in instance.substitutions if s.served_by in offered}
    places: dict[str, float] = defaultdict(float)
    for demand in instance.demand:
        places[demand.placement_type] += demand.places
    # zero demand makes no gap, so it is not worth a warning
    return [
        f"demand of type {show(t)} has no offer: it will be reported as a gap"
        for t, total in places.items()
        if total > 0 and t not in served
    ]


# Policy ----------------------------------------------------------------------------------------


def check_policy(entries: list[PolicyEntry]) -> tuple[Policy, list[Problem]]:
    """Validate policy entries; a later entry for a key (a ``--set``) overrides an earlier one."""
    problems: list[Problem] = []
    chosen: dict[str, PolicyEntry] = {}
    for entry in entries:
        if entry.key in Policy.model_fields:
            chosen[entry.key] = entry
        else:
            hint = suggestion(entry.key, Policy.model_fields)
            problems.append(Problem(
                entry.file, f"unknown policy key {show(entry.key)}{hint}",
                entry.sheet, entry.row, entry.key_column,
            ))
    try:
        return Policy.model_validate({k: e.value for k, e in chosen.items()}), problems
    except ValidationError as error:
        for detail in error.errors():
            entry = chosen[str(detail["loc"][0])]
            problems.append(Problem(
                entry.file, f"policy {entry.key}: {describe(detail)}",
                entry.sheet, entry.row, entry.value_column,
            ))
        return Policy(), problems


# Assembly --------------------------------------------------------------------------------------


def _missing_tables(raw: RawInstance) -> list[Problem]:
    return [
        Problem(raw.file, f"required table '{name}' is missing")
        for name, spec in TABLES.items()
        if spec.required and name not in raw.tables and name not in raw.unreadable
    ]


def _rows(table: Table | None) -> tuple[Row, ...]:
    return tuple(record.row for record in table.records) if table else ()


def _by_id(table: Table | None) -> dict[str, Row]:
    return {row.id: row for row in _rows(table)}


def build_instance(raw: RawInstance) -> Instance:
    """Check every rule of docs/model.md section 3 and build the instance, or raise every
    problem."""
    problems = raw.problems
    problems += _missing_tables(raw)
    tables = {
        name: check_table(TABLES[name], table, problems) for name, table in raw.tables.items()
    }
    cross_table_problems(tables, problems)
    policy, policy_problems = check_policy(raw.policy)
    problems += policy_problems
    if problems:
        raise InputError(problems)

    warnings = list(raw.warnings)
    if "substitutions" in tables:
        tables["substitutions"].records, ignored = _self_substitutions(tables["substitutions"])
        warnings += ignored
    instance = Instance(
        name=raw.name,
        description=raw.description,
        placement_types=_by_id(tables.get("placement_types")),
        authorities=_by_id(tables.get("authorities")),
        demand=_rows(tables.get("demand")),
        providers=_by_id(tables.get("providers")),
        offers=_rows(tables.get("offers")),
        tiers=_rows(tables.get("tiers")),
        distances=_rows(tables.get("distances")),
        substitutions=_rows(tables.get("substitutions")),
        consortia=_rows(tables.get("consortia")),
        payment_schedule=tuple(sorted(_rows(tables.get("payment_schedule")),
                                      key=lambda band: band.from_months)),
        policy=policy,
        source=raw.source,
    )
    return replace(instance, warnings=tuple(warnings + _unserved_demand(instance)))
