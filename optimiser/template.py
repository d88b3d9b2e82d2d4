"""`optimise init DIR [--xlsx]`: a template instance for a commissioning team to fill in.

Everything comes from ``optimiser.schema``, the one definition of the instance format: each
table's columns (in the row model's order), what each means, its type, default and range, the
drop-down lists of enumerated columns (a field typed by an Enum or a Literal, and booleans),
and the policy keys with their defaults. A column added to the schema appears in the template
with no change here.

**Why the template holds example rows.** It must validate as it is, so a team can check its
set-up (and the tool) before typing anything, and see what a filled row looks like. An instance
needs at least one placement type, authority, demand row, provider and offer, so each of those
tables has one row, named "EXAMPLE ... (replace)" so it cannot pass for real data; the
optional tables (tiers, distances, substitutions, consortia) have their header row only, and
every policy key is listed blank (its default applies).

Two forms:

* CSV (default): ``instance.yaml`` naming one CSV file per table, every policy key listed as a
  comment with its default and meaning, and ``INSTRUCTIONS.md`` describing every column;
* workbook (``--xlsx``): ``DIR/<DIR name>.xlsx`` with an ``instructions`` sheet first (the
  loader skips it), one sheet per table with its header (a comment on each header cell gives
  the column's meaning), drop-down lists and number checks on the cells, and a ``policy`` sheet
  of key/value rows. Its bytes are deterministic (``optimiser.reports.xlsx.stable_zip``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from optimiser.schema import TABLES, Policy, Row

#: rows of the data validations and comments laid on each sheet
TEMPLATE_ROWS = 1000

#: the minimal valid content (see the module docstring); columns not given are left blank
EXAMPLE_ROWS: dict[str, list[dict[str, object]]] = {
    "placement_types": [{"id": "foster_standard", "name": "EXAMPLE standard fostering (replace)",
                         "specialist": "false", "emergency_weekly_price": 1500,
                         "case_management_weekly": 100}],
    "authorities": [{"id": "LA1", "name": "EXAMPLE authority (replace)", "region": "Example",
                     "lat": 53.48, "lon": -2.24}],
    "demand": [{"authority": "LA1", "placement_type": "foster_standard", "places": 10}],
    "providers": [{"id": "P1", "name": "EXAMPLE provider (replace)", "kind": "independent",
                   "lat": 53.55, "lon": -2.30, "rating": "good"}],
    "offers": [{"provider": "P1", "placement_type": "foster_standard", "capacity": 12,
                "weekly_price": 850}],
}

HOW_TO = (
    ("Fill each table (a sheet of the workbook, or a CSV file) with one row per item, keeping "
    "the column names of its first row. Replace the EXAMPLE rows. Blank cells take the "
    "default; unknown columns are an error."),
    ("Ids link the tables: demand.authority is an authorities id, offers.provider a providers "
    "id, and so on. Money is £; places are the average number of children in placement over "
    "the year (they may be fractions)."),
    ("Check your work with: optimise validate <this file>. Every problem is listed with its "
    "sheet, row and column."),
)


# --------------------------------------------------------------------------- columns

@dataclass(frozen=True)
class ColumnDoc:
    """One column (or policy key) as the schema defines it."""

    name: str
    kind: str  # number | whole number | text | true or false | choice
    choices: tuple[str, ...]
    required: bool
    default: object
    bounds: tuple[tuple[float, bool] | None, tuple[float, bool] | None]  # (value, strict)
    meaning: str

    @property
    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "blank"
        return _text(self.default)

    @property
    def rule(self) -> str:
        """The type and range in words: 'number >= 0 and <= 1'."""
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        (low, high), parts = self.bounds, [self.kind]
        if low is not None:
            parts.append(f"{'>' if low[1] else '>='} {_text(low[0])}")
        if high is not None:
            parts.append(f"{'and ' if low is not None else ''}{'<' if high[1] else '<='} "
                         f"{_text(high[0])}")
        return " ".join(parts)


def _text(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:.0e}"
    return str(value)


def _base(annotation: object) -> object:
    """The annotation without its ``| None``."""
    if get_origin(annotation) in (Union, UnionType):
        kept = [a for a in get_args(annotation) if a is not NoneType]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _choices(annotation: object) -> tuple[str, ...]:
    base = _base(annotation)
    if isinstance(base, type) and issubclass(base, Enum):
        return tuple(str(m.value) for m in base)
    if get_origin(base) is Literal:
        return tuple(str(a) for a in get_args(base))
    if base is bool:
        return ("true", "false")
    return ()


def _kind(annotation: object) -> str:
    base = _base(annotation)
    if _choices(annotation):
        return "true or false" if base is bool else "choice"
    return {float: "number", int: "whole number"}.get(base, "text")


def _bounds(field: FieldInfo):
    low = high = None
    for rule in field.metadata:
        for name, strict, is_low in (("ge", False, True), ("gt", True, True),
                                     ("le", False, False), ("lt", True, False)):
            if hasattr(rule, name):
                bound = (float(getattr(rule, name)), strict)
                low, high = (bound, high) if is_low else (low, bound)
    return low, high


def column_docs(model: type[Row]) -> list[ColumnDoc]:
    """Every field of a row model (a table's columns, or the policy keys), in order."""
    return [ColumnDoc(name, _kind(f.annotation), _choices(f.annotation), f.is_required(),
                      None if f.is_required() else f.default, _bounds(f), f.description or "")
            for name, f in model.model_fields.items()]


def _example(table: str) -> list[dict[str, object]]:
    rows = EXAMPLE_ROWS.get(table, [])
    known = set(TABLES[table].row.model_fields)
    for row in rows:
        unknown = set(row) - known
        if unknown:  # the schema changed under the example: fail loudly, not silently
            raise ValueError(f"template example of {table} has unknown columns {unknown}")
    return rows


# --------------------------------------------------------------------------- CSV form

def _csv(table: str) -> str:
    import csv

    columns = list(TABLES[table].row.model_fields)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in _example(table):
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def _manifest(name: str) -> str:
    lines = [
        "# optimise instance template: replace the EXAMPLE rows of each CSV file with your own.",
        "# INSTRUCTIONS.md describes every column. Check with: optimise validate <this folder>",
        f"name: {json.dumps(name)}",
        "description: >",
        "  Describe the consortium, its sources and its assumptions here.",
        "tables:",
        *[f"  {table}: {table}.csv{'' if spec.required else '  # optional'}"
          for table, spec in TABLES.items()],
        "policy:",
        "  # every key is optional; uncomment a line to change it (defaults shown)",
        *[f"  # {d.name}: {'' if d.default is None else d.default_text}  # {d.meaning}"
          for d in column_docs(Policy)],
    ]
    return "\n".join(lines) + "\n"


def _instructions_markdown() -> str:
    lines = ["# Filling in this instance", ""]
    for paragraph in HOW_TO:
        lines += [paragraph, ""]
    for table, spec in TABLES.items():
        lines += [f"## {table} ({'required' if spec.required else 'optional'})", "",
                  "| column | type | default | meaning |", "|---|---|---|---|"]
        lines += [f"| {d.name} | {d.rule} | {d.default_text} | {d.meaning} |"
                  for d in column_docs(spec.row)]
        lines.append("")
    lines += ["## policy (instance.yaml)", "", "| key | type | default | meaning |",
              "|---|---|---|---|"]
    lines += [f"| {d.name} | {d.rule} | {d.default_text} | {d.meaning} |"
              for d in column_docs(Policy)]
    return "\n".join(lines) + "\n"


def csv_template(name: str) -> dict[str, str]:
    """The CSV form's files: name -> text."""
    files = {f"{table}.csv": _csv(table) for table in TABLES}
    files["instance.yaml"] = _manifest(name)
    files["INSTRUCTIONS.md"] = _instructions_markdown()
    return files


# --------------------------------------------------------------------------- workbook form

def workbook_template() -> bytes:
    """The workbook form's bytes."""
    from openpyxl import Workbook

    from optimiser.reports.xlsx import stable_zip

    book = Workbook()
    _instructions_sheet(book.active)
    for table, spec in TABLES.items():
        _table_sheet(book.create_sheet(table), table, column_docs(spec.row))
    _policy_sheet(book.create_sheet("policy"))
    book.properties.creator = "optimise"
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue())


def _header(ws, names: list[str], notes: list[str] | None = None) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    from optimiser.reports.xlsx import HEADER_FILL

    ws.append(names)
    for i, cell in enumerate(ws[1]):
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        if notes and notes[i]:
            cell.comment = Comment(notes[i], "optimise", width=300, height=110)
    ws.freeze_panes = "A2"


def _instructions_sheet(ws) -> None:
    from openpyxl.styles import Alignment, Font

    ws.title = "instructions"
    ws.append(["optimise instance template"])
    ws["A1"].font = Font(bold=True, size=14)
    for line in HOW_TO:
        ws.append([line])
    ws.append([])
    for table, spec in TABLES.items():
        ws.append([f"{table} ({'required' if spec.required else 'optional'})"])
        ws.cell(ws.max_row, 1).font = Font(bold=True, size=12)
        _doc_rows(ws, column_docs(spec.row), "column")
    ws.append(["policy (sheet policy: a key per row, blank value = default)"])
    ws.cell(ws.max_row, 1).font = Font(bold=True, size=12)
    _doc_rows(ws, column_docs(Policy), "key")
    for column, width in zip("ABCD", (28, 34, 14, 90)):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_col=4, max_col=4):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")


def _doc_rows(ws, docs: list[ColumnDoc], first: str) -> None:
    from openpyxl.styles import Font

    ws.append([first, "type", "default", "meaning"])
    for cell in ws[ws.max_row]:
        cell.font = Font(italic=True)
    for d in docs:
        ws.append([d.name, d.rule, d.default_text, d.meaning])
        for cell in ws[ws.max_row]:
            cell.data_type = "s"  # a rule such as ">= 0" is text, not a formula
    ws.append([])


def _table_sheet(ws, table: str, docs: list[ColumnDoc]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    _header(ws, [d.name for d in docs],
            [f"{d.meaning} ({d.rule}; {d.default_text})" for d in docs])
    example = Font(italic=True, color="7F7F7F")
    for row in _example(table):
        ws.append([row.get(d.name) for d in docs])
        for cell in ws[ws.max_row]:
            cell.font = example
    for i, doc in enumerate(docs, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(doc.name) + 4)
        _validate(ws, doc, f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")


def _validate(ws, doc: ColumnDoc, cells: str) -> None:
    """A drop-down for enumerated columns, a number check for bounded ones."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if doc.choices:
        check = DataValidation(type="list", formula1=f'"{",".join(doc.choices)}"',
                               allow_blank=True)
    elif doc.kind in ("number", "whole number") and any(doc.bounds):
        check = _number_check(doc)
    else:
        return
    check.error, check.errorTitle, check.showErrorMessage = doc.rule, doc.name, True
    check.prompt, check.promptTitle, check.showInputMessage = doc.meaning[:255], doc.name, True
    ws.add_data_validation(check)
    check.add(cells)


def _number_check(doc: ColumnDoc):
    """Excel has no operator mixing a strict and a loose bound: between uses the loose form;
    the loader still applies the exact rule."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind = "whole" if doc.kind == "whole number" else "decimal"
    low, high = doc.bounds
    if low is not None and high is not None:
        return DataValidation(type=kind, operator="between", formula1=_text(low[0]),
                              formula2=_text(high[0]), allow_blank=True)
    if low is not None:
        return DataValidation(type=kind, operator="greaterThan" if low[1]
                              else "greaterThanOrEqual", formula1=_text(low[0]), allow_blank=True)
    return DataValidation(type=kind, operator="lessThan" if high[1] else "lessThanOrEqual",
                          formula1=_text(high[0]), allow_blank=True)


def _policy_sheet(ws) -> None:
    docs = column_docs(Policy)
    _header(ws, ["key", "value"], ["policy key (see the instructions sheet)",
                                   "blank: the default applies"])
    for row, doc in enumerate(docs, start=2):
        ws.append([doc.name, None])
        if doc.choices or any(doc.bounds):
            _validate(ws, doc, f"B{row}")
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 24


# --------------------------------------------------------------------------- init

def write_template(folder: Path, xlsx: bool = False, overwrite: bool = False) -> Path:
    """Write the template into ``folder`` (atomically); return the file to validate: the
    workbook, or the folder holding instance.yaml."""
    from optimiser.generate import check_destination
    from optimiser.writers import write_folder

    folder = Path(folder)
    check_destination(folder, overwrite)
    name = folder.resolve().name or "instance"
    if xlsx:
        workbook = f"{name}.xlsx"
        write_folder(folder, {workbook: workbook_template()})
        return folder / workbook
    write_folder(folder, csv_template(name))
    return folder
