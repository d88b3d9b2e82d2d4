"""report.xlsx: the result tables as formatted sheets, for Excel and LibreOffice.

Every sheet but the summary is one result table, with the CSV file's values under its columns'
keys in plain English (``saving_pct`` -> "Saving %": :func:`plain`), and the authority's or
provider's name beside an id column of a table without names (:func:`with_names`): a
cell holds exactly the CSV's value (a number as the float the CSV spells, ``true``/``false`` as
a boolean, a blank as an empty cell, anything else as text), so the workbook and the CSV files
always agree (``tests/test_report_xlsx.py`` reads both). Only the display is formatted: £ for
money, % for shares and percentages, one decimal for places, frozen header row, filters and
column widths.

Percentages: columns such as ``saving_pct`` hold 0-100 points in the CSV (3.2 means 3.2%); they
keep that value and display with the format ``0.0"%"`` (a literal % sign, no scaling). Shares
such as ``local_share`` hold 0-1 fractions and use Excel's own ``0.0%``.

Text cells are always stored as text, never as formulas: a provider called ``=HYPERLINK(...)``
or ``+44 ...`` stays what it says (openpyxl would otherwise write a string starting with ``=``
as a formula).

Bytes are deterministic: openpyxl stamps the workbook with the time of saving and the zip
entries with the time of writing, so :func:`stable_zip` rewrites both with fixed values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from optimiser import columns, outputs
from optimiser.reports.formats import rows as csv_rows

MONEY = "£#,##0;-£#,##0"
WEEKLY = "£#,##0.00;-£#,##0.00"
POINTS = '0.0"%"'  # 0-100 numbers: the value stays as in the CSV
SHARE = "0.0%"  # 0-1 fractions
PLACES = "#,##0.0"
WHOLE = "0"
INDEX = "0.000"
GENERAL = "General"

#: number format of each kind of column (``optimiser.columns``)
KIND_FORMATS = {columns.MONEY: MONEY, columns.WEEKLY_PRICE: WEEKLY, columns.PERCENT: POINTS,
                columns.SHARE: SHARE, columns.PLACES: PLACES, columns.KM: PLACES,
                columns.COUNT: WHOLE, columns.INDEX: INDEX}
#: declared columns shown as General for now (solver_margin is money; its £ format would
#: change compare's workbook, which issue 17 keeps byte for byte)
AS_GENERAL = {"solver_margin"}
#: number format by column name: every declared result file's columns by their kind, then the
#: keys of summaries and tables not declared there (summary.json, core.json, tiers)
FORMATS: dict[str, str] = {
    **{name: KIND_FORMATS[kind] for name, kind in columns.kind_by_name(columns.FORMATTED).items()
       if kind in KIND_FORMATS and name not in AS_GENERAL},
    **dict.fromkeys((
        "excess", "void_cost", "price_of_fairness", "contract_cost_year", "coalition_cost",
        "standalone_coalition_costs", "epsilon", "epsilon_bound", "blocking_excess",
        "local_shortfall_cost", "shared_contract_costs", "shared_void_costs",
    ), MONEY),
    **dict.fromkeys(("price_of_fairness_pct", "min_saving_pct", "max_saving_pct"), POINTS),
    **dict.fromkeys(("min_places", "volume", "local_shortfall_places"), PLACES),
    **dict.fromkeys(("members_count", "coalitions_solved", "iterations"), WHOLE),
    **dict.fromkeys(("jain", "gini"), INDEX),
}
#: columns that are text even when every value looks like a number (ids, names): the declared
#: text columns, and those of files not declared there
TEXT = {name for name, kind in columns.kind_by_name(columns.FORMATTED).items()
        if kind == columns.TEXT} | {
    "served_by", "owner", "figure", "key", "region", "id"}

#: id columns that get a name column beside them, in a table without a name of its own
NAME_COLUMNS = {"authority": "authority_name", "provider": "provider_name"}
TEXT |= set(NAME_COLUMNS.values())

#: words of column and figure keys written otherwise in a header (the rest: "_" -> " ")
HEADER_WORDS = {"pct": "%", "km": "(km)", "mip": "MIP", "cvar": "CVaR", "saa": "SAA",
                "vss": "VSS", "evpi": "EVPI", "ci": "CI", "std": "standard",
                "p05": "5th percentile", "p50": "median", "p95": "95th percentile"}
#: whole keys whose plain words are not those of their parts: the declared columns' headers,
#: and those of keys not declared there
HEADERS = {**columns.headers(), "p_void": "Probability of void places",
           "p_unmet": "Probability of unmet demand", "jain": "Jain's index",
           "gini": "Gini coefficient", "contract_cost_year": "Contract cost a year"}


def plain(key: str) -> str:
    """A column or figure key in plain English for a sheet's header: saving_pct ->
    "Saving %", local_radius_km -> "Local radius (km)" (the CSV files keep the keys)."""
    if key in HEADERS:
        return HEADERS[key]
    text = " ".join(HEADER_WORDS.get(word, word) for word in key.split("_"))
    return text[:1].upper() + text[1:]


def workbook_names(instance) -> dict[str, dict[str, str]]:
    """Authority and provider names by id, to stand beside the ids in the sheets."""
    return {"authority": {a: x.name for a, x in instance.authorities.items()},
            "provider": {p: x.name for p, x in instance.providers.items()}}


def with_names(header: list[str], records: list[list[str]],
               names: dict[str, dict[str, str]] | None) -> tuple[list[str], list[list[str]]]:
    """A name column after each id column of :data:`NAME_COLUMNS` that ``names`` covers,
    unless the table's next column is already its name."""
    for column, named in NAME_COLUMNS.items():
        if not names or column not in names or column not in header:
            continue
        i = header.index(column) + 1
        if header[i:i + 1] == ["name"]:
            continue
        header = [*header[:i], named, *header[i:]]
        records = [[*r[:i], names[column].get(r[i - 1], ""), *r[i:]] for r in records]
    return header, records


HEADER_FILL = PatternFill("solid", fgColor="DCE6EE")
HEADER_FONT = Font(bold=True)
MAX_WIDTH = 60


@dataclass(frozen=True)
class Sheet:
    """A sheet: its name, header and rows of typed cells (float, int, bool, str or None);
    ``formats`` overrides the number format of a column (by header, else :data:`FORMATS`)."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    formats: dict[str, str] | None = None
    #: one number format per row instead of per column (the summary's label/value sheet)
    row_formats: Sequence[str] | None = None


# --------------------------------------------------------------------------- cells

def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def column_kind(name: str, values: Iterable[str]) -> str:
    """'text', 'bool' or 'number': how a CSV column's cells are stored."""
    filled = [v for v in values if v != ""]
    if name in TEXT:
        return "text"
    if filled and all(v in ("true", "false") for v in filled):
        return "bool"
    if name in FORMATS or (filled and all(_is_number(v) for v in filled)):
        return "number" if all(_is_number(v) for v in filled) else "text"
    return "text"


def typed(text: str, kind: str, fmt: str | None = None) -> object:
    """A CSV cell as the value the workbook holds."""
    if text == "":
        return None
    if kind == "bool":
        return text == "true"
    if kind == "number":
        number = float(text)
        return int(number) if fmt == WHOLE and number.is_integer() else number
    return text


def csv_sheet(name: str, text: str, names: dict[str, dict[str, str]] | None = None) -> Sheet:
    """A result CSV file as a sheet, cell by cell, with ``names`` beside the ids
    (:func:`with_names`)."""
    lines = list(csv.reader(io.StringIO(text)))
    header, records = (lines[0], lines[1:]) if lines else ([], [])
    records = [r + [""] * (len(header) - len(r)) for r in records]
    header, records = with_names(header, records, names)
    kinds = [column_kind(c, (r[i] for r in records)) for i, c in enumerate(header)]
    body = [[typed(r[i], kinds[i], FORMATS.get(c)) for i, c in enumerate(header)]
            for r in records]
    return Sheet(name, header, body)


# --------------------------------------------------------------------------- workbook

def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as an .xlsx file's bytes (deterministic)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        _fill(book.create_sheet(sheet.name[:31]), sheet)
    book.properties.creator = "optimise"
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue())


def _fill(ws, sheet: Sheet) -> None:
    ws.append([plain(str(c)) for c in sheet.header])
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="top")
    formats = [(sheet.formats or {}).get(c, FORMATS.get(c, GENERAL)) for c in sheet.header]
    for r, row in enumerate(sheet.rows, start=2):
        row_format = sheet.row_formats[r - 2] if sheet.row_formats else None
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.number_format = row_format or formats[c - 1]
    ws.freeze_panes = "A2"
    if sheet.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{len(sheet.rows) + 1}"
    _widths(ws, sheet)


def _widths(ws, sheet: Sheet) -> None:
    for c, name in enumerate(sheet.header):
        longest = max([len(plain(str(name))) + 3] + [
            _shown_length(row[c]) for row in sheet.rows[:2000] if c < len(row)])
        ws.column_dimensions[get_column_letter(c + 1)].width = min(MAX_WIDTH, longest + 2)


def _shown_length(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:,.1f}") + 2  # the £ or % and separators
    return len(str(value))


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
FIXED_STAMP = b"2000-01-01T00:00:00Z"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def stable_zip(data: bytes) -> bytes:
    """The .xlsx with fixed document and zip timestamps, so its bytes depend on content only."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _STAMP.sub(rb"\g<1>" + FIXED_STAMP + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


# --------------------------------------------------------------------------- run

#: sheet name of each run result file, in sheet order; other CSV files follow by file name
RUN_SHEETS = {
    outputs.AUTHORITIES: "Authorities", outputs.PROVIDERS: "Providers",
    outputs.ASSIGNMENT: "Assignment", outputs.GAPS: "Gaps", "sufficiency.csv": "Sufficiency",
    "investment.csv": "Investment",
}


def csv_sheets(files: dict[str, str], names: dict[str, str],
               ids: dict[str, dict[str, str]] | None = None) -> list[Sheet]:
    """One sheet per CSV file: those of ``names`` in its order, then any other by name;
    ``ids``: authority and provider names beside their ids (:func:`workbook_names`)."""
    ordered = [n for n in names if n in files]
    ordered += sorted(n for n in files if n.endswith(".csv") and n not in names)
    return [csv_sheet(names.get(n, _sheet_title(n)), files[n], ids) for n in ordered]


def _sheet_title(file: str) -> str:
    return file.rsplit(".", 1)[0].replace("_", " ").capitalize()[:31]


def summary_sheet(figures: Sequence[tuple[str, object, str]]) -> Sheet:
    """The first sheet: (label, value, number format) lines."""
    return Sheet("Summary", ("figure", "value"),
                 [(plain(label), value) for label, value, _ in figures],
                 row_formats=[fmt for _, _, fmt in figures])


def run_summary(summary: dict) -> list[tuple[str, object, str]]:
    t, fair, pol = summary["totals"], summary["fairness"], summary["policy"]
    shared, penalties = summary.get("shared_costs") or {}, summary.get("penalties") or {}
    return [
        ("instance", summary["instance"], GENERAL),
        ("membership", summary.get("membership"), GENERAL),
        ("status", summary["status"], GENERAL), ("solver", summary["solver"], GENERAL), ("mip_gap", summary["mip_gap"], "0.00E+00"),
        ("members", len(summary["members"]), WHOLE),
        ("voice", pol["voice"], GENERAL),
        ("individual_rationality", pol["individual_rationality"], GENERAL),
        ("local_radius_km", pol["local_radius_km"], PLACES),
        *[(k, t[k], FORMATS[k]) for k in outputs.TOTALS_KEYS],
        *[(k, fair[k], FORMATS[k]) for k in outputs.FAIRNESS_KEYS],
        ("shared_contract_costs", shared.get("contract"), MONEY),
        ("shared_void_costs", shared.get("void"), MONEY),
        ("local_shortfall_places", penalties.get("local_shortfall_places"), PLACES),
        ("local_shortfall_cost", penalties.get("local_shortfall_cost"), MONEY),
        ("members_not_kept_whole", len(summary.get("not_kept_whole") or []), WHOLE),
    ]


TIER_COLUMNS = ("provider", "placement_type", "min_places", "discount_pct", "guarantee", "volume",
                "void_places", "void_cost")


def tiers_sheet(summary: dict, ids: dict[str, dict[str, str]] | None = None) -> Sheet:
    """summary.json's active tiers, one row each (the provider's name beside its id)."""
    header, body = with_names(list(TIER_COLUMNS), [[t.get(c) for c in TIER_COLUMNS]
                                                   for t in summary.get("tiers") or []], ids)
    return Sheet("Tiers", header, body)


def policy_sheet(policy: dict) -> Sheet:
    """The policy as used (summary.json); values as JSON has them."""
    return Sheet("Policy", ("key", "value"), [[k, v] for k, v in policy.items()],
                 formats={"value": GENERAL})


def run_workbook(files: dict[str, str], ids: dict[str, dict[str, str]] | None = None) -> bytes:
    """report.xlsx of a run: Summary, then every result table, then tiers and policy."""
    summary = json.loads(files[outputs.SUMMARY])
    sheets = [summary_sheet(run_summary(summary)), *csv_sheets(files, RUN_SHEETS, ids),
              tiers_sheet(summary, ids), policy_sheet(summary["policy"])]
    return workbook_bytes(sheets)


# --------------------------------------------------------------------------- compare

COMPARE_SHEETS = {"compare.csv": "Memberships", "members.csv": "Members",
                  "shapley.csv": "Shapley"}
CORE_COLUMNS = ("consortium", "members", "coalition_cost", "standalone_coalition_costs",
                "epsilon", "core_empty", "plan_blocked", "blocking", "blocking_excess",
                "shapley_method", "samples", "shapley_precision", "coalitions_solved")


def core_sheet(core: dict) -> Sheet:
    """core.json per consortium: the least core and whether the plan's split is blocked."""
    body = []
    for entry in core["consortia"]:
        blocking = entry.get("plan_blocking") or {}
        body.append([
            entry["consortium"], ";".join(entry["members"]), entry["coalition_cost"],
            entry["standalone_coalition_costs"], entry["epsilon"], entry["core_empty"],
            entry["plan_blocked"], ";".join(blocking.get("coalition") or []) or None,
            blocking.get("excess"), entry["shapley_method"], entry["samples"],
            entry.get("shapley_precision"), entry["coalitions_solved"]])
    return Sheet("Core", CORE_COLUMNS, body)


def compare_summary(core: dict, files: dict[str, str]) -> list[tuple[str, object, str]]:
    memberships = csv_rows(files.get("compare.csv", ""))
    return [
        ("instance", core["instance"], GENERAL),
        ("memberships", len(memberships), WHOLE),
        ("consortia analysed", len(core["consortia"]), WHOLE),
        ("coalition solves", core["solves"], WHOLE),
        ("cache hits", core["cache_hits"], WHOLE),
        ("voice", core["policy"]["voice"], GENERAL),
        ("baseline_capacity", core["policy"]["baseline_capacity"], GENERAL),
    ]


def compare_workbook(files: dict[str, str],
                     ids: dict[str, dict[str, str]] | None = None) -> bytes:
    """report.xlsx of a comparison: Summary, Memberships, Members, Shapley, Core, Policy."""
    core = json.loads(files["core.json"])
    sheets = [summary_sheet(compare_summary(core, files)),
              *csv_sheets(files, COMPARE_SHEETS, ids),
              core_sheet(core), policy_sheet(core["policy"])]
    return workbook_bytes(sheets)


# --------------------------------------------------------------------------- guarantee

GUARANTEE_SHEETS = {"guarantee.csv": "Options", "contract_forms.csv": "Contract forms",
                    "scenarios.csv": "Scenarios"}
SAA_COLUMNS = ("replication", "status", "objective", "bound", "candidate")


def guarantee_summary(summary: dict) -> list[tuple[str, object, str]]:
    settings, demand = summary["settings"], summary["demand"]
    figures = [
        ("instance", summary["instance"], GENERAL), ("mode", summary["mode"], GENERAL),
        ("members", len(summary["members"]), WHOLE),
        ("recommended", summary["recommended"], GENERAL),
        ("scenarios", settings["evaluation_scenarios"], WHOLE),
        ("scenario_sets", settings["scenario_sets"], GENERAL),
        ("seed", settings["seed"], WHOLE),
        ("risk_level", settings["risk_level"], GENERAL),
        ("risk_weight", settings["risk_weight"], GENERAL),
        ("expected_places", demand["expected_places"], PLACES),
        ("correlation", demand["correlation"], GENERAL),
        ("years", demand["years"], WHOLE), ("growth_pct", demand["growth_pct"], POINTS),
    ]
    for key in ("vss", "evpi"):
        entry = summary.get(key) or {}
        figures.append((key, entry.get("estimate"), MONEY))
    for key in ("lower_bound", "upper_bound", "gap"):
        entry = (summary.get("saa") or {}).get(key) or {}
        figures.append((f"saa_{key}", entry.get("estimate"), MONEY))
    return figures


def guarantee_workbook(files: dict[str, str | bytes],
                       ids: dict[str, dict[str, str]] | None = None) -> bytes:
    """report.xlsx of a guarantee analysis: Summary, Options, Contract forms, Scenarios, SAA,
    Policy."""
    summary = json.loads(files["guarantee_summary.json"])
    text = {n: v for n, v in files.items() if isinstance(v, str)}
    saa = summary.get("saa") or {}
    sheets = [summary_sheet(guarantee_summary(summary)),
              *csv_sheets(text, GUARANTEE_SHEETS, ids)]
    if saa:
        sheets.append(Sheet("SAA", SAA_COLUMNS, [[r.get(c) for c in SAA_COLUMNS]
                                                 for r in saa.get("replications", [])],
                            formats={"objective": MONEY, "bound": MONEY}))
    sheets.append(policy_sheet(summary["policy"]))
    return workbook_bytes(sheets)
