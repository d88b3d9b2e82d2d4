"""Read an instance from a folder, a YAML manifest or an Excel workbook (SPEC section 3).

Each source kind has one reader that turns its files into raw rows (every cell normalised, every
row numbered as the user sees it) and collects the problems it meets while reading; the rules
themselves are checked in ``optimiser.validation``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import yaml
from openpyxl.utils.exceptions import InvalidFileException

from optimiser.errors import InputError, Problem
from optimiser.records import Instance
from optimiser.schema import TABLES
from optimiser.validation import (
    PolicyEntry,
    RawInstance,
    RawRow,
    RawTable,
    build_instance,
    show,
    suggestion,
)

MANIFEST = "instance.yaml"
MANIFEST_KEYS = ("name", "description", "tables", "policy")
POLICY_SHEET = "policy"
POLICY_COLUMNS = ("key", "value")
IGNORED_SHEETS = {"instructions", "readme", "notes"}
OVERRIDE_FILE = "--set"


def load_instance(path: str | Path, policy_overrides: dict[str, str] | None = None) -> Instance:
    """Load and validate the instance at ``path``; ``policy_overrides`` are ``--set`` pairs.

    Raises :class:`InputError` listing every problem found.
    """
    raw = _read(Path(path))
    raw.source = str(path)
    raw.policy += _override_entries(policy_overrides or {})
    return build_instance(raw)


def _read(path: Path) -> RawInstance:
    if path.is_dir():
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise InputError(Problem(str(path), f"no {MANIFEST} in this folder"))
        return read_manifest(manifest)
    if not path.exists():
        raise InputError(Problem(str(path), "no such file or folder"))
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_manifest(path)
    if path.suffix.lower() == ".xlsx":
        return read_workbook(path)
    raise InputError(Problem(
        str(path),
        "not an instance: give a folder holding instance.yaml, a .yaml manifest "
        "or an .xlsx workbook",
    ))


def _override_entries(overrides: dict[str, str]) -> list[PolicyEntry]:
    entries = []
    for key, value in overrides.items():
        cell = normalise(value)
        # a blank --set is more likely a shell quoting slip than a wish for the default
        entries.append(PolicyEntry(
            key, value if cell is None else cell, OVERRIDE_FILE,
            key_column=key, value_column=key,
        ))
    return entries


# Cells ----------------------------------------------------------------------------------------

#: Stands for a formula cell whose value Excel never saved (openpyxl cannot compute it).
UNCACHED_FORMULA = object()
UNSAVED_FORMULA = "a formula with no saved value: save the workbook in Excel first"


def normalise(value: object) -> object:
    """A cell as the schema expects it: ``None`` if blank, whole floats as ints.

    Whole floats become ints because Excel stores every number as a float, so an id typed as
    12 would otherwise read as "12.0".
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def grid_table(
    name: str,
    file: str,
    grid: list[list[object]],
    problems: list[Problem],
    sheet: str | None = None,
    numbers: list[int] | None = None,
) -> RawTable | None:
    """A table from rows of cells whose first row is the header; ``None`` if unusable.

    ``numbers`` are the rows' numbers as the user sees them (default 1, 2, ...); rows may be
    ragged: a cell beyond the header is a value in a column with no name.
    """
    def problem(row: int | None, column: str | None, message: str) -> Problem:
        return Problem(file, message, sheet, row, column)

    grid = [[normalise(v) if v is not UNCACHED_FORMULA else v for v in row] for row in grid]
    if not any(v is not None for row in grid for v in row):
        problems.append(problem(None, None, "empty: no header row and no data"))
        return None
    width = max(len(row) for row in grid)
    header = _header(grid[0] + [None] * (width - len(grid[0])), problem, problems)
    if header is None:
        return None
    numbers = numbers or list(range(1, len(grid) + 1))
    rows = []
    for number, values in zip(numbers[1:], grid[1:]):
        row = _grid_row(number, header, values, problem, problems)
        if row is not None:
            rows.append(row)
    return RawTable(name, file, rows, columns=tuple(c for c in header if c), sheet=sheet)


def _header(
    cells: list[object],
    problem: Callable[[int | None, str | None, str], Problem],
    problems: list[Problem],
) -> list[str] | None:
    """The column names in row 1 (blank ones as ""), or ``None`` if they are unusable."""
    for position, value in enumerate(cells, start=1):
        if value is UNCACHED_FORMULA:
            problems.append(problem(1, f"#{position}", UNSAVED_FORMULA))
            return None
    header = ["" if v is None else str(v) for v in cells]
    if not any(header):
        problems.append(problem(1, None, "row 1 must hold the column names, but it is blank"))
        return None
    first: dict[str, int] = {}
    duplicates = []
    for position, column in enumerate(header, start=1):
        if column in first:
            message = f"duplicate column name (also column {first[column]})"
            duplicates.append(problem(1, column, message))
        elif column:
            first[column] = position
    problems += duplicates
    # with two columns of one name, no cell can be trusted to the right one
    return None if duplicates else header


def _grid_row(
    number: int,
    header: list[str],
    values: list[object],
    problem: Callable[[int | None, str | None, str], Problem],
    problems: list[Problem],
) -> RawRow | None:
    """One data row's cells by column; ``None`` for a fully blank row (skipped)."""
    if all(v is None for v in values):
        return None
    cells = {}
    for position, (column, value) in enumerate(zip(header, values), start=1):
        if value is UNCACHED_FORMULA:
            problems.append(problem(number, column or f"#{position}", UNSAVED_FORMULA))
        elif value is not None and not column:
            problems.append(problem(
                number, f"#{position}", f"value {show(value)} in a column with no name in row 1",
            ))
        elif value is not None:
            cells[column] = value
    return RawRow(number, cells)


def inline_table(name: str, file: str, items: list, problems: list[Problem]) -> RawTable:
    """A table given in the manifest as a list of mappings; rows are 1-based item numbers."""
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            message = f"must be a mapping of column: value, got {show(item)}"
            problems.append(Problem(file, message, row=number))
            continue
        cells = {str(k): normalise(v) for k, v in item.items()}
        rows.append(RawRow(number, {k: v for k, v in cells.items() if v is not None}))
    return RawTable(name, file, rows)


# CSV ------------------------------------------------------------------------------------------


def _inside(folder: Path, given: str) -> Path | str:
    """The CSV path resolved inside ``folder``, or why it is refused."""
    if "\0" in given:
        return "is not a usable path (it holds a NUL character)"
    relative = Path(given)
    if relative.is_absolute() or relative.drive or given.startswith(("/", "\\")):
        return "must be a path relative to the manifest, not an absolute path"
    try:
        resolved = (folder / relative).resolve()
        # resolve() follows symlinks, so a link pointing out of the folder is caught too
        if not resolved.is_relative_to(folder.resolve()):
            return "must stay inside the instance folder"
        if resolved.is_dir():
            return "is a folder, not a CSV file"
    except (OSError, RuntimeError) as error:  # a name too long, a symlink loop
        return f"is not a usable path ({getattr(error, 'strerror', None) or error})"
    return folder / relative


#: byte-order marks of encodings a spreadsheet may save text in, other than UTF-8
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "save it as CSV UTF-8"


def _csv_text(data: bytes, file: str, problems: list[Problem]) -> str | None:
    """The file's text, UTF-8 with or without a byte-order mark; ``None`` (with the reason
    added to ``problems``) for any other encoding or for binary data.

    UTF-16 and UTF-32 are refused rather than decoded: they are what Excel's "Unicode Text"
    writes, which is tab-separated, so decoding would only trade this clear message for a
    confusing one. A NUL byte never occurs in text a user means as CSV (it is how UTF-16
    without a byte-order mark shows), so it is refused rather than read into an id.
    """
    for bom, encoding in _OTHER_BOMS:
        if data.startswith(bom):
            problems.append(Problem(file, f"{encoding} text, not UTF-8: {SAVE_AS_UTF8}"))
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(Problem(file, f"not UTF-8 text (byte {error.start}): {SAVE_AS_UTF8}"))
        return None
    if "\0" in text:
        problems.append(Problem(
            file, f"holds a NUL character (byte {data.index(0)}): not a text CSV file "
            f"(UTF-16 text, or binary data); {SAVE_AS_UTF8}",
        ))
        return None
    return text


def read_csv_table(
    name: str, folder: Path, given: str, manifest: str, problems: list[Problem]
) -> RawTable | None:
    """One table from a CSV file named in the manifest; ``None`` if it cannot be read."""
    path = _inside(folder, given)
    if isinstance(path, str):
        # a path is quoted whole unless absurdly long: the user needs to see which it is
        shown = repr(given) if len(given) <= 260 else show(given)
        problems.append(Problem(manifest, f"table {name}: {shown} {path}"))
        return None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(given, f"file not found (table {name} in {manifest})"))
        return None
    except OSError as error:
        problems.append(Problem(given, f"cannot be read: {error.strerror or error}"))
        return None
    text = _csv_text(data, given, problems)
    if text is None:
        return None
    # Python's csv module, not pandas: pandas' C parser splits a quoted cell at a lone
    # carriage return, shifting every later cell of the row into the wrong column
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    grid, numbers, last = [], [], 0
    try:
        for cells in reader:
            grid.append(cells)
            numbers.append(last + 1)  # the line the row starts on (a cell may span lines)
            last = reader.line_num
    except csv.Error as error:
        problems.append(Problem(given, f"cannot be read as CSV: {error}", row=reader.line_num))
        return None
    return grid_table(name, given, grid, problems, numbers=numbers)


# Manifest -------------------------------------------------------------------------------------


class ManifestLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only: no ``!!python/...`` tags, which it refuses) that
    also refuses aliases (``*name``).

    An alias is a reference, so a few lines of nested aliases ("billion laughs") stand for
    billions of values: loading is quick, but anything that walks or prints the result (a
    report quoting the value, say) never ends. A manifest has no need of them.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in a manifest: "
                "write the value out", event.start_mark,
            )
        return super().compose_node(parent, index)


def _yaml_document(manifest: Path) -> dict:
    """The manifest's mapping, or an :class:`InputError` (nothing else can be read without it)."""
    file = manifest.name
    try:
        text = manifest.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(Problem(file, f"not UTF-8 text (byte {error.start})")) from None
    except OSError as error:
        raise InputError(Problem(file, f"cannot be read: {error.strerror}")) from None
    try:
        document = yaml.load(text, Loader=ManifestLoader)  # a SafeLoader: plain data only
    except RecursionError:
        raise InputError(Problem(file, "YAML nested too deeply to read")) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise InputError(Problem(file, f"YAML syntax error{where}: {reason}")) from None
    if document is None:
        raise InputError(Problem(file, "empty manifest"))
    if not isinstance(document, dict):
        raise InputError(Problem(
            file, f"must be a mapping with keys {', '.join(MANIFEST_KEYS)}, "
            f"got {type(document).__name__}",
        ))
    return document


def _manifest_text(document: dict, key: str, file: str, problems: list[Problem]) -> str | None:
    value = document.get(key)
    if value is None or not isinstance(value, str | int | float | dt.date):
        if value is not None:
            problems.append(Problem(file, f"{key} must be text", column=key))
        return None
    return str(value).strip() or None


def _manifest_tables(document: dict, raw: RawInstance, folder: Path) -> None:
    tables = document.get("tables") or {}
    if not isinstance(tables, dict):
        message = "tables must be a mapping of table: CSV path or list of rows"
        raw.problems.append(Problem(raw.file, message, column="tables"))
        return
    for name, given in tables.items():
        name = str(name)
        if name not in TABLES:
            message = f"unknown table {show(name)}{suggestion(name, TABLES)}"
            raw.problems.append(Problem(raw.file, message, column="tables"))
            continue
        table = _manifest_table(name, given, raw, folder)
        if table is None:
            raw.unreadable.add(name)
        else:
            raw.tables[name] = table


def _manifest_table(name: str, given: object, raw: RawInstance, folder: Path) -> RawTable | None:
    if isinstance(given, str):
        return read_csv_table(name, folder, given, raw.file, raw.problems)
    if isinstance(given, list):
        return inline_table(name, f"{raw.file} ({name})", given, raw.problems)
    raw.problems.append(Problem(
        raw.file, f"table {name} must be a CSV path or a list of mappings, got {show(given)}",
        column="tables",
    ))
    return None


def _manifest_policy(document: dict, file: str, problems: list[Problem]) -> list[PolicyEntry]:
    policy = document.get("policy") or {}
    if not isinstance(policy, dict):
        problems.append(Problem(file, "policy must be a mapping of key: value", column="policy"))
        return []
    entries = []
    for key, value in policy.items():
        cell = normalise(value)
        if cell is not None:
            key = str(key)
            entries.append(PolicyEntry(key, cell, file, key_column=key, value_column=key))
    return entries


def read_manifest(manifest: Path) -> RawInstance:
    """An instance described by a YAML manifest (tables as CSV paths or inline lists)."""
    file = manifest.name
    document = _yaml_document(manifest)
    # a manifest called instance.yaml says nothing: the folder's name is the better default
    stem = manifest.parent.resolve().name if manifest.name == MANIFEST else manifest.stem
    raw = RawInstance(name=stem, source=str(manifest), file=file)
    for key in document:
        if key not in MANIFEST_KEYS:
            raw.problems.append(Problem(
                file, f"unknown key {show(str(key))}{suggestion(str(key), MANIFEST_KEYS)}; "
                f"allowed: {', '.join(MANIFEST_KEYS)}", column=str(key),
            ))
    raw.name = _manifest_text(document, "name", file, raw.problems) or raw.name
    raw.description = _manifest_text(document, "description", file, raw.problems) or ""
    _manifest_tables(document, raw, manifest.parent)
    raw.policy = _manifest_policy(document, file, raw.problems)
    return raw


# Workbook -------------------------------------------------------------------------------------


def _open_workbook(path: Path) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
    """The workbook twice: with cached values, and with formulas (to spot unsaved ones)."""
    try:
        return (
            openpyxl.load_workbook(path, data_only=True),
            openpyxl.load_workbook(path, data_only=False),
        )
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise InputError(Problem(path.name, f"not a readable .xlsx workbook: {error}")) from None
    except Exception as error:  # noqa: BLE001
        # a damaged part (XML that does not parse, a number that is not one...) surfaces as
        # whatever openpyxl's reader happens to raise; each is the file's fault, not ours
        raise InputError(Problem(
            path.name, f"not a readable .xlsx workbook (damaged: {type(error).__name__}: "
            f"{show(str(error))}); open it in Excel and save it again",
        )) from None


def _sheet_grid(values, formulas) -> list[list[object]]:
    """The sheet's cells, with formulas Excel never computed marked as such."""
    return [
        [UNCACHED_FORMULA if v is None and c.data_type == "f" else v for v, c in zip(row, cells)]
        for row, cells in zip(values.iter_rows(values_only=True), formulas.iter_rows())
    ]


def _sheet_policy(table: RawTable, problems: list[Problem]) -> list[PolicyEntry]:
    """Policy entries from the ``policy`` sheet's key and value columns."""
    def problem(row: int | None, column: str | None, message: str) -> Problem:
        return Problem(table.file, message, table.sheet, row, column)

    columns = table.columns or ()
    problems += [
        problem(1, c, "unknown column: the policy sheet has columns key, value")
        for c in columns
        if c not in POLICY_COLUMNS
    ]
    problems += [
        problem(1, c, "required column is missing") for c in POLICY_COLUMNS if c not in columns
    ]
    entries, first = [], {}
    for row in table.rows:
        key, value = row.cells.get("key"), row.cells.get("value")
        if key is None:
            problems.append(problem(row.number, "key", "a key is required (the cell is blank)"))
            continue
        key = str(key)
        if key in first:
            message = f"duplicate of row {first[key]} (key {show(key)})"
            problems.append(problem(row.number, "key", message))
        elif value is not None:  # a blank value leaves the default
            first[key] = row.number
            entries.append(
                PolicyEntry(key, value, table.file, table.sheet, row.number, "key", "value")
            )
    return entries


def _merged_cells(sheet, grid: list[list[object]], file: str) -> list[Problem]:
    """Merged cells are refused: Excel keeps the value in the first cell only, so the other
    rows of a merged block would silently read as blank."""
    problems = []
    header = grid[0] if grid else []
    for merged in sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        column = header[merged.min_col - 1] if merged.min_col <= len(header) else None
        problems.append(Problem(
            file, f"merged cells {merged.coord}: unmerge them and give every cell its value",
            sheet.title, merged.min_row,
            str(column) if column not in (None, UNCACHED_FORMULA) else f"#{merged.min_col}",
        ))
    return problems


def read_workbook(path: Path) -> RawInstance:
    """An instance as an .xlsx workbook: one sheet per table, sheet ``policy`` for the policy."""
    file = path.name
    values, formulas = _open_workbook(path)
    raw = RawInstance(name=path.stem, source=str(path), file=file)
    for sheet in values.worksheets:
        name = sheet.title.strip()
        if name.lower() in IGNORED_SHEETS:
            continue
        if name != POLICY_SHEET and name not in TABLES:
            hint = suggestion(name, [*TABLES, POLICY_SHEET])
            message = f"unknown sheet {show(name)}{hint}"
            raw.problems.append(Problem(file, message, sheet=sheet.title))
            continue
        grid = _sheet_grid(sheet, formulas[sheet.title])
        raw.problems += _merged_cells(sheet, grid, file)
        table = grid_table(name, file, grid, raw.problems, sheet=sheet.title)
        if name == POLICY_SHEET:
            raw.policy = _sheet_policy(table, raw.problems) if table else []
        elif table is None:
            raw.unreadable.add(name)
        else:
            raw.tables[name] = table
    return raw
