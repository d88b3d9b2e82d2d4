"""Read an instance from a folder, a YAML manifest or an Excel workbook (docs/model.md
section 3).

Each source kind has one reader that turns its files into raw rows (every cell normalised, every
row numbered as the user sees it) and collects the problems it meets while reading; the rules
themselves are checked in ``optimiser.validation``.

Inputs are bounded (README, "Instance format": limits), each limit checked before or while
reading, so an oversized or hostile file is refused at once with exit code 2 instead of
exhausting memory or time. Every limit is far above England's instance (largest file 214 KB,
largest table 4,205 rows, longest cell 143 characters; as one workbook 0.3 MB, 2.4 MB
unpacked; as a manifest with every table inline 1.2 MB):

- a CSV file at most :data:`MAX_CSV_BYTES`, a manifest :data:`MAX_MANIFEST_BYTES`, a workbook
  :data:`MAX_WORKBOOK_BYTES` on disk and :data:`MAX_WORKBOOK_UNPACKED_BYTES` unpacked (the sizes
  its zip directory declares, checked before openpyxl reads a byte of XML: a 1 MB file can
  unpack to gigabytes);
- at most :data:`MAX_TABLE_ROWS` rows holding a value per table (blank rows do not count;
  reading stops at the first row over);
- at most :data:`MAX_CELL_CHARACTERS` characters in a cell (Excel's own limit);
- only regular files: a named pipe (FIFO) or a device is refused, never opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import operator
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import yaml
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.cell_range import CellRange

from optimiser.errors import InputError, Problem, Problems
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

# Limits (see the module docstring) -------------------------------------------------------------

MAX_CSV_BYTES = 100_000_000
#: PyYAML reads about 0.25 MB a second, so 10 MB is 40 s or so
MAX_MANIFEST_BYTES = 10_000_000
MAX_WORKBOOK_BYTES = 100_000_000
MAX_WORKBOOK_UNPACKED_BYTES = 300_000_000
MAX_TABLE_ROWS = 1_000_000
#: as in Excel, which cannot hold more in a cell
MAX_CELL_CHARACTERS = 32_767
#: the rows of an Excel sheet: a row numbered beyond is no sheet Excel wrote
EXCEL_ROWS = 1_048_576


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
            # suggested, not loaded: the one workbook may be no instance (a run's report.xlsx)
            workbooks = sorted(path.glob("*.xlsx"))
            hint = f"; did you mean {workbooks[0]}?" if len(workbooks) == 1 else ""
            raise InputError(Problem(str(path), f"no {MANIFEST} in this folder{hint}"))
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


# Files ----------------------------------------------------------------------------------------

_SPECIAL_FILES = (
    (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f}".removesuffix(".0") + " MB"


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode cannot be read as one, or ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "not a regular file")
    return f"is {kind}, not a file saved on disk"


def read_bounded(path: Path, limit: int, what: str) -> bytes | str:
    """The bytes of the regular file ``path``, or why they are refused (a pipe or device, over
    ``limit`` bytes, unreadable). ``what`` names the kind of file in the message. Raises
    ``FileNotFoundError``.

    A named pipe or device is refused before it is opened for reading: reading a FIFO with no
    writer blocks for ever, and /dev/zero never ends. It is opened non-blocking all the same
    and checked again once open, in case another file was swapped in between; and at most
    ``limit`` + 1 bytes are read, in case the file grows meanwhile.
    """
    try:
        reason = _not_regular(os.stat(path).st_mode)
        if reason:
            return reason
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            info = os.fstat(handle.fileno())
            reason = _not_regular(info.st_mode)
            if reason:
                return reason
            size = info.st_size
            if size <= limit:
                data = handle.read(limit + 1)
                size = len(data)
    except FileNotFoundError:
        raise
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if size > limit:
        return f"is larger than {_megabytes(limit)}, the limit for {what} ({size:,} bytes)"
    return data


# Cells and tables -----------------------------------------------------------------------------

#: Stands for a formula cell whose value Excel never saved (openpyxl cannot compute it).
UNCACHED_FORMULA = object()
UNSAVED_FORMULA = "a formula with no saved value: save the workbook in Excel first"
TOO_LONG = f"more than {MAX_CELL_CHARACTERS:,} characters (as in Excel, the limit of a cell)"


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


def _too_long(value: object) -> bool:
    return isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS


class TableUnreadable(Exception):
    """A table cannot be read on; why is already among the problems."""


def numbered_table(
    name: str,
    file: str,
    rows: Iterable[tuple[int, Sequence[object]]],
    problems: Problems,
    sheet: str | None = None,
) -> RawTable | None:
    """A table from rows of cells, each with its number as the user sees it, the first row
    the header; ``None`` if unusable. Rows are read one at a time, and reading stops at the
    first row over :data:`MAX_TABLE_ROWS`.

    Rows may be ragged: a cell beyond the header is a value in a column with no name. A fully
    blank row is skipped and does not count towards the limit.
    """
    def problem(row: int | None, column: str | None, message: str) -> Problem:
        return Problem(file, message, sheet, row, column)

    rows = iter(rows)
    _, first = next(rows, (1, ()))
    header = _header([normalise(v) for v in first], problem, problems)
    if header is None:
        if any(not _blank(cells) for _, cells in rows):
            problems.append(problem(1, None, "row 1 must hold the column names, but it is blank"))
        else:
            problems.append(problem(None, None, "empty: no header row and no data"))
        return None
    if not header:
        return None
    table = []
    for number, cells in rows:
        row = _data_row(number, header, cells, problem, problems)
        if row is None:
            continue
        if len(table) == MAX_TABLE_ROWS:
            problems.append(problem(number, None, f"more than {MAX_TABLE_ROWS:,} rows: the "
                                    "limit for a table (rows holding a value); nothing after "
                                    "this row was read"))
            raise TableUnreadable(name)
        table.append(row)
    return RawTable(name, file, table, columns=tuple(c for c in header if c), sheet=sheet)


def _blank(cells: Sequence[object]) -> bool:
    return all(normalise(v) is None for v in cells)


def _header(
    cells: list[object],
    problem: Callable[[int | None, str | None, str], Problem],
    problems: Problems,
) -> list[str] | None:
    """The column names in row 1 (blank ones as ""): ``None`` if row 1 is blank, ``[]`` if the
    names are unusable (the problems added)."""
    for position, value in enumerate(cells, start=1):
        if value is UNCACHED_FORMULA:
            problems.append(problem(1, f"#{position}", UNSAVED_FORMULA))
            return []
        if _too_long(value):
            problems.append(problem(1, f"#{position}", f"column name of {TOO_LONG}"))
            return []
    header = ["" if v is None else str(v) for v in cells]
    if not any(header):
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
    return [] if duplicates else header


def _data_row(
    number: int,
    header: list[str],
    values: Sequence[object],
    problem: Callable[[int | None, str | None, str], Problem],
    problems: Problems,
) -> RawRow | None:
    """One data row's cells by column; ``None`` for a fully blank row (skipped)."""
    width = len(header)
    # a sheet row reaches its last cell, which may be far right (column XFD is 16,384): the
    # cells beyond the header are looked at only if one holds something (counted in C)
    if len(values) > width:
        beyond = values[width:]
        if beyond.count(None) == len(beyond):
            values = values[:width]
    values = [normalise(v) for v in values]
    if values.count(None) == len(values):
        return None
    cells = {}
    for position, (column, value) in enumerate(zip(header, values), start=1):
        if value is None:
            continue
        if value is UNCACHED_FORMULA:
            problems.append(problem(number, column or f"#{position}", UNSAVED_FORMULA))
        elif not column:
            problems.append(_unnamed(problem, number, position, value))
        elif _too_long(value):
            problems.append(problem(number, column, f"text of {TOO_LONG}"))
        else:
            cells[column] = value
    beyond = values[width:]
    for position in itertools.compress(itertools.count(width + 1),
                                       map(operator.is_not, beyond, itertools.repeat(None))):
        problems.append(_unnamed(problem, number, position, values[position - 1]))
    return RawRow(number, cells)


def _unnamed(problem: Callable[[int | None, str | None, str], Problem], number: int,
             position: int, value: object) -> Problem:
    if value is UNCACHED_FORMULA:
        return problem(number, f"#{position}", UNSAVED_FORMULA)
    return problem(number, f"#{position}", f"value {show(value)} in a column with no name in row 1")


def inline_table(name: str, file: str, items: list, problems: Problems) -> RawTable | None:
    """A table given in the manifest as a list of mappings; rows are 1-based item numbers."""
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            message = f"must be a mapping of column: value, got {show(item)}"
            problems.append(Problem(file, message, row=number))
            continue
        cells = {}
        for key, value in item.items():
            column, value = str(key), normalise(value)
            if _too_long(value):
                problems.append(Problem(file, f"text of {TOO_LONG}", row=number, column=column))
            elif value is not None:
                cells[column] = value
        if len(rows) == MAX_TABLE_ROWS:
            problems.append(Problem(file, f"more than {MAX_TABLE_ROWS:,} rows: the limit for a "
                                    "table", row=number))
            return None
        rows.append(RawRow(number, cells))
    return RawTable(name, file, rows)


# CSV ------------------------------------------------------------------------------------------


def _inside(folder: Path, given: str) -> Path | str:
    """The CSV path resolved inside ``folder``, or why it is refused."""
    if "\0" in given:
        return "is not a usable path (it holds a NUL character)"
    if not given.strip():
        return "is blank: give the path of a CSV file"
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


def _csv_text(data: bytes, file: str, problems: Problems) -> str | None:
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


def _csv_rows(text: str, file: str, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV text, each with the line it starts on (a cell may span lines)."""
    # Python's csv module, not pandas: pandas' C parser splits a quoted cell at a lone
    # carriage return, shifting every later cell of the row into the wrong column
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last = 0
    try:
        for cells in reader:
            yield last + 1, cells
            last = reader.line_num
    except csv.Error as error:
        # the csv module's own cap on a cell (131,072 characters) is above ours
        reason = TOO_LONG if "field limit" in str(error) else error
        message = f"cannot be read as CSV: {reason}"
        problems.append(Problem(file, message, row=reader.line_num))
        raise TableUnreadable(file) from None


def read_csv_table(
    name: str, folder: Path, given: str, manifest: str, problems: Problems
) -> RawTable | None:
    """One table from a CSV file named in the manifest; ``None`` if it cannot be read."""
    path = _inside(folder, given)
    if isinstance(path, str):
        # a path is quoted whole unless absurdly long: the user needs to see which it is
        shown = repr(given) if len(given) <= 260 else show(given)
        problems.append(Problem(manifest, f"table {name}: {shown} {path}"))
        return None
    try:
        data = read_bounded(path, MAX_CSV_BYTES, "a CSV file")
    except FileNotFoundError:
        problems.append(Problem(given, f"file not found (table {name} in {manifest})"))
        return None
    if isinstance(data, str):
        problems.append(Problem(given, data))
        return None
    text = _csv_text(data, given, problems)
    if text is None:
        return None
    try:
        return numbered_table(name, given, _csv_rows(text, given, problems), problems)
    except TableUnreadable:
        return None


# Manifest -------------------------------------------------------------------------------------


class ManifestLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only: no ``!!python/...`` tags, which it refuses) that
    also refuses aliases (``*name``) and notes duplicate keys.

    An alias is a reference, so a few lines of nested aliases ("billion laughs") stand for
    billions of values: loading is quick, but anything that walks or prints the result (a
    report quoting the value, say) never ends. A manifest has no need of them.

    A key given twice in one mapping would keep its last value without a word (PyYAML's way),
    so ``duplicates`` lists each (key, first place, second place) for the caller to refuse.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[object, yaml.Mark, yaml.Mark]] = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in a manifest: "
                "write the value out", event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            first: dict[object, yaml.Mark] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a list or mapping as a key: PyYAML refuses it itself
                key = self.construct_object(key_node)
                # yes and true (or 1 and 1.0) are the same key once read, as in Python
                earlier = first.setdefault(key, key_node.start_mark)
                if earlier is not key_node.start_mark:
                    self.duplicates.append((key, earlier, key_node.start_mark))
        return super().construct_mapping(node, deep)


def _duplicate_key_problems(
    file: str, duplicates: list[tuple[object, yaml.Mark, yaml.Mark]]
) -> list[Problem]:
    return [
        Problem(file, f"duplicate key {show(key)} at line {again.line + 1}, column "
                f"{again.column + 1} (also at line {first.line + 1}): YAML would keep only the "
                "last value; give each key once")
        for key, first, again in duplicates
    ]


def _yaml_document(manifest: Path) -> dict:
    """The manifest's mapping, or an :class:`InputError` (nothing else can be read without it)."""
    file = manifest.name
    data = read_bounded(manifest, MAX_MANIFEST_BYTES, "a manifest")
    if isinstance(data, str):
        raise InputError(Problem(file, data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(Problem(file, f"not UTF-8 text (byte {error.start})")) from None
    loader = None
    try:
        loader = ManifestLoader(text)  # a SafeLoader: plain data only; checks characters
        document = loader.get_single_data()
    except RecursionError:
        raise InputError(Problem(file, "YAML nested too deeply to read")) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise InputError(Problem(file, f"YAML syntax error{where}: {reason}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.duplicates:
        raise InputError(_duplicate_key_problems(file, loader.duplicates))
    if document is None:
        raise InputError(Problem(file, "empty manifest"))
    if not isinstance(document, dict):
        raise InputError(Problem(
            file, f"must be a mapping with keys {', '.join(MANIFEST_KEYS)}, "
            f"got {type(document).__name__}",
        ))
    return document


def _manifest_text(document: dict, key: str, file: str, problems: Problems) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    # yes/no read as true/false in YAML: "name: yes" is more likely a slip than a name
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        problems.append(Problem(file, f"{key} must be text", column=key))
        return None
    if _too_long(value):
        problems.append(Problem(file, f"{key}: text of {TOO_LONG}", column=key))
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


def _manifest_policy(document: dict, file: str, problems: Problems) -> list[PolicyEntry]:
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


@contextmanager
def _readable(file: str) -> Iterator[None]:
    """openpyxl's (and zipfile's) errors on a damaged workbook, as a problem of the file."""
    try:
        yield
    except (InputError, TableUnreadable):
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise InputError(Problem(file, f"not a readable .xlsx workbook: {error}")) from None
    except Exception as error:  # noqa: BLE001
        # a damaged part (XML that does not parse, a number that is not one...) surfaces as
        # whatever openpyxl's reader happens to raise; each is the file's fault, not ours
        raise InputError(Problem(
            file, f"not a readable .xlsx workbook (damaged: {type(error).__name__}: "
            f"{show(str(error))}); open it in Excel and save it again",
        )) from None


def _workbook_bytes(path: Path) -> bytes:
    """The workbook's bytes, once its size and its zip's declared unpacked size are known to be
    within the limits (zipfile never unpacks a part beyond the size its directory declares)."""
    file = path.name
    data = read_bounded(path, MAX_WORKBOOK_BYTES, "a workbook")
    if isinstance(data, str):
        raise InputError(Problem(file, data))
    with _readable(file), zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(part.file_size for part in archive.infolist())
    if unpacked > MAX_WORKBOOK_UNPACKED_BYTES:
        raise InputError(Problem(
            file, f"unpacks to {_megabytes(unpacked)} (an .xlsx file is a zip of XML parts): "
            f"the limit is {_megabytes(MAX_WORKBOOK_UNPACKED_BYTES)}",
        ))
    return data


def _open_workbook(data: bytes, file: str, data_only: bool) -> openpyxl.Workbook:
    """The workbook in openpyxl's read-only mode: its sheets are parsed row by row as they are
    read, never held whole (a full load takes about 25 times the XML's size in memory)."""
    with _readable(file):
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)


_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_FORMULA = re.compile(_PREFIX + rb"f[\s/>]")
_MERGED = re.compile(_PREFIX + rb"mergeCell\b[^>]*?\bref=\"([^\"]*)\"")
_CHUNK = 1 << 20


def _scan_sheet(sheet, file: str) -> tuple[bool, list[CellRange]]:
    """Whether the sheet holds a formula, and its merged ranges: read-only openpyxl gives
    neither, so the sheet's XML is searched for them in one pass."""
    formulas, merged, carried = False, {}, b""
    with _readable(file):
        # openpyxl's own way to the sheet's part of the zip
        with sheet._get_source() as source:
            while chunk := source.read(_CHUNK):
                text = carried + chunk
                formulas = formulas or _FORMULA.search(text) is not None
                merged.update(dict.fromkeys(_MERGED.findall(text)))
                carried = text[-256:]  # a tag cut between two chunks is whole in the next
        ranges = [CellRange(ref.decode("ascii")) for ref in merged]
    return formulas, sorted(ranges, key=lambda r: (r.min_row, r.min_col))


def _sheet_rows(values, formulas, file: str) -> Iterator[tuple[int, Sequence[object]]]:
    """The sheet's rows, numbered from 1, with formulas Excel never computed marked as such
    (``formulas``: the same sheet read with formulas, or ``None`` if it holds none)."""
    # the <dimension> a program writes may be wrong; trusted, it would cut cells off
    values.reset_dimensions()
    rows = values.iter_rows(values_only=True)
    if formulas is not None:
        formulas.reset_dimensions()
        rows = map(_mark_uncached, rows, formulas.iter_rows())
    with _readable(file):
        for number, cells in enumerate(rows, start=1):
            if number > EXCEL_ROWS:
                raise InputError(Problem(
                    file, f"a row beyond row {EXCEL_ROWS:,}, the last of an Excel sheet: "
                    "open the workbook in Excel and save it again", values.title,
                ))
            yield number, cells


def _mark_uncached(values: Sequence[object], cells: Sequence) -> list[object]:
    return [
        UNCACHED_FORMULA if v is None and getattr(c, "data_type", None) == "f" else v
        for v, c in itertools.zip_longest(values, cells)
    ]


def _sheet_policy(table: RawTable, problems: Problems) -> list[PolicyEntry]:
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


def _merged_cells(sheet, ranges: list[CellRange], file: str) -> list[Problem]:
    """Merged cells are refused: Excel keeps the value in the first cell only, so the other
    rows of a merged block would silently read as blank."""
    if not ranges:
        return []
    with _readable(file):
        header = next(sheet.iter_rows(max_row=1, values_only=True), ())
    problems = []
    for merged in ranges:
        column = header[merged.min_col - 1] if merged.min_col <= len(header) else None
        problems.append(Problem(
            file, f"merged cells {merged.coord}: unmerge them and give every cell its value",
            sheet.title, merged.min_row,
            str(column) if column is not None else f"#{merged.min_col}",
        ))
    return problems


def _hidden(sheet) -> str:
    """'' for a visible sheet, else how it is hidden, for a message."""
    if sheet.sheet_state == "veryHidden":
        return "very hidden (Excel's menus cannot unhide it; a macro or a program hid it)"
    return "hidden" if sheet.sheet_state == "hidden" else ""


def read_workbook(path: Path) -> RawInstance:
    """An instance as an .xlsx workbook: one sheet per table, sheet ``policy`` for the policy.

    A hidden sheet is read like any other, with a warning naming it: what the team planned
    with is in the file, seen or not, and skipping it would change the plan without a word.
    """
    file = path.name
    data = _workbook_bytes(path)
    values = _open_workbook(data, file, data_only=True)
    formulas = None  # the workbook read again with its formulas, once a sheet holds one
    raw = RawInstance(name=path.stem, source=str(path), file=file)
    for sheet in values.worksheets:
        name, hidden = sheet.title.strip(), _hidden(sheet)
        if name.lower() in IGNORED_SHEETS:
            continue
        if name != POLICY_SHEET and name not in TABLES:
            hint = suggestion(name, [*TABLES, POLICY_SHEET])
            where = f" ({hidden} in Excel)" if hidden else ""
            message = f"unknown sheet {show(name)}{where}{hint}"
            raw.problems.append(Problem(file, message, sheet=sheet.title))
            continue
        if hidden:
            raw.warnings.append(str(Problem(
                file, f"the sheet is {hidden}: its rows are read all the same; unhide it to "
                "check them", sheet.title,
            )))
        has_formulas, merged = _scan_sheet(sheet, file)
        if has_formulas and formulas is None:
            formulas = _open_workbook(data, file, data_only=False)
        raw.problems += _merged_cells(sheet, merged, file)
        rows = _sheet_rows(sheet, formulas[sheet.title] if has_formulas else None, file)
        try:
            table = numbered_table(name, file, rows, raw.problems, sheet=sheet.title)
        except TableUnreadable:
            table = None
        if name == POLICY_SHEET:
            raw.policy = _sheet_policy(table, raw.problems) if table else []
        elif table is None:
            raw.unreadable.add(name)
        else:
            raw.tables[name] = table
    return raw
