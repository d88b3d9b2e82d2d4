"""Fuzzing instance files: malformed input never reaches a traceback.

Every example starts from ``instances/example`` and breaks it in one way: a cell (wrong type,
blank, NaN, inf, huge, negative, text, control characters), a table's structure (duplicate or
deleted rows, renamed, dropped or extra columns, ragged rows), a file's bytes (latin-1, UTF-16
with and without a byte-order mark, UTF-32, a UTF-8 BOM, CRLF, NUL bytes, binary junk,
truncation, emptiness), the manifest (truncated YAML, python tags, alias bombs, paths leaving the
folder, random YAML values anywhere) or a workbook (formulas, merged cells, empty, missing and
header-only sheets, odd cell types, truncated files). ``optimise validate`` runs in-process on
each, and must exit 0 (the input is still valid) or 2 with a report whose every line names a
file of the instance; where the break is certain to be an error of one cell, the report must
name that file (sheet), row and column.

Examples are derandomised so CI is reproducible; ``pytest tests/test_fuzz.py
--hypothesis-show-statistics`` prints how many each test ran (README "Trust" has the total).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
import traceback
import zipfile
from pathlib import Path

import openpyxl
import yaml
from click.testing import CliRunner
from conftest import EXAMPLE, unwrapped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from optimiser.schema import TABLES, required_columns

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MANIFEST_TEXT = (EXAMPLE / "instance.yaml").read_text(encoding="utf-8")
TABLE_NAMES = tuple(name for name in TABLES if (EXAMPLE / f"{name}.csv").exists())
GRIDS: dict[str, list[list[str]]] = {
    name: list(csv.reader(io.StringIO((EXAMPLE / f"{name}.csv").read_text(encoding="utf-8"))))
    for name in TABLE_NAMES
}
FILES = {"instance.yaml", *(f"{name}.csv" for name in TABLE_NAMES)}
PROBLEM_LINE = re.compile(r"^  - (.*)$", re.MULTILINE)


# Running the CLI and the invariants ------------------------------------------------------------


def validate(path: Path):
    return CliRunner().invoke(main, ["validate", str(path)])


def check(result, files, where: tuple[str, ...] = ()) -> int:
    """Exit 0 or 2, never a traceback; on 2 every problem names one of ``files`` (a set, or a
    test of a name), and each ``where`` text (file, row, column of a certain error) is in the
    report."""
    named = files.__contains__ if isinstance(files, set) else files
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"crash:\n{trace}\noutput:\n{result.output}")
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        problems = PROBLEM_LINE.findall(result.output)
        assert problems, result.output
        for problem in problems:
            assert named(problem.split(":")[0].split(",")[0].split(" (")[0]), problem
        for text in where:
            assert text in unwrapped(result.output), f"{text!r} not in:\n{result.output}"
    else:
        assert not where, f"expected {where} but it validated:\n{result.output}"
    return result.exit_code


def write_folder(folder: Path, grids: dict[str, list[list[str]]],
                 manifest: str = MANIFEST_TEXT) -> Path:
    for name, grid in grids.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(grid)
    (folder / "instance.yaml").write_text(manifest, encoding="utf-8")
    return folder


def copy_grids() -> dict[str, list[list[str]]]:
    return {name: [list(row) for row in grid] for name, grid in GRIDS.items()}


def test_the_unbroken_example_validates(tmp_path):
    assert check(validate(write_folder(tmp_path, copy_grids())), FILES) == 0


# Values ------------------------------------------------------------------------------------------

SPECIAL = [
    "", " ", "\t", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e309",
    "1" + "0" * 400, "-" + "9" * 400, "9" * 5000, "-1", "-0.5", "-0", "0", "1e-320", "0x1A",
    "1_000", "1,5", "1.5.2", "١٢", "１２", "true", "FALSE", "yes", "None", "null", "#N/A",
    "#DIV/0!", "=1+1", "+1", "@SUM(A1)", "\x00", "a\x00b", "é", "\U0001f4a5", "a\nb", "a\rb",
    '"', "'", "A1", "F1", "H1", "foster_standard", "residential", "in_house", "voluntary",
    "outstanding", "inadequate", "3.5", "100", "1e7", "1e12", "99.99", "150", "0.0001",
    "[red]x[/red]", "{}", "x" * 300,
]
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=12),
    st.integers(-10**20, 10**20).map(str),
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(str),
)


def certainly_bad_number(text: str) -> bool:
    """No reading of ``text`` gives a finite number within every column's limits."""
    try:
        number = float(text.strip())
    except ValueError:
        return bool(text.strip())
    return not math.isfinite(number) or abs(number) > 1e12


def _numeric(table: str, column: str) -> bool:
    field = TABLES[table].row.model_fields.get(column)
    return field is not None and field.annotation in (float, float | None)


@st.composite
def cell_edits(draw) -> list[tuple[str, int, int, str]]:
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(TABLE_NAMES))
        grid = GRIDS[table]
        edits.append((table, draw(st.integers(1, len(grid) - 1)),
                      draw(st.integers(0, len(grid[0]) - 1)), draw(VALUES)))
    return edits


def line_of(grid: list[list[str]], row: int) -> int:
    """The file line row ``row`` of ``grid`` starts on: cells may hold line breaks."""
    return 1 + row + sum(len(re.findall(r"\r\n|\r|\n", cell)) for cells in grid[:row]
                         for cell in cells)


def expected_locations(grids, edits) -> tuple[str, ...]:
    """Cells whose new value is an error of that cell whatever else happened."""
    where = []
    for table, row, col, value in edits:
        if any("\x00" in cell for cells in grids[table] for cell in cells):
            where.append(f"{table}.csv: holds a NUL character")
            continue  # the whole file is refused: no cell of it is read
        cells = grids[table][row]
        column = cells and grids[table][0][col]
        if cells[col] != value or not any(c.strip() for c in cells):
            continue  # overwritten by a later edit, or the row is blank and skipped
        blank = not value.strip()
        required = column in required_columns(TABLES[table].row)
        if (_numeric(table, column) and certainly_bad_number(value)) or (blank and required):
            where.append(f"{table}.csv, row {line_of(grids[table], row)}, column {column}")
    return tuple(where)


@settings(FUZZ, max_examples=1500)
@given(edits=cell_edits())
def test_cell_values(edits):
    grids = copy_grids()
    for table, row, col, value in edits:
        grids[table][row][col] = value
    with tempfile.TemporaryDirectory() as folder:
        check(validate(write_folder(Path(folder), grids)), FILES,
              expected_locations(grids, edits))


# Table structure -------------------------------------------------------------------------------

STRUCTURE = ("duplicate_row", "delete_row", "rename_header", "drop_column", "add_column",
             "long_row", "short_row", "swap_columns", "copy_id", "header_only", "blank_lines",
             "reverse_rows")


@st.composite
def structure_edits(draw):
    table = draw(st.sampled_from(TABLE_NAMES))
    grid = GRIDS[table]
    return (draw(st.sampled_from(STRUCTURE)), table,
            draw(st.integers(1, len(grid) - 1)), draw(st.integers(0, len(grid[0]) - 1)),
            draw(st.one_of(st.sampled_from(["", "Places", "capacity ", "nme", "name", "id", "x"]),
                           st.text(max_size=8))))


def restructure(grid: list[list[str]], op: str, row: int, col: int, text: str):
    """The table after ``op`` and the location of the error it certainly causes, if any."""
    name_of = grid[0][col]
    if op == "duplicate_row":
        grid.append(list(grid[row]))
        return f", row {len(grid)}, column "
    if op == "delete_row":
        del grid[row]
    elif op == "rename_header":
        grid[0][col] = text
    elif op == "drop_column":
        for cells in grid:
            del cells[col]
    elif op == "add_column":
        for number, cells in enumerate(grid):
            cells.append(text if number == 0 else "1")
    elif op == "long_row":
        grid[row].append(text.strip() or "x")
        return f", row {row + 1}, column #{len(grid[0]) + 1}: value "
    elif op == "short_row":
        del grid[row][col:]
    elif op == "swap_columns":
        for cells in grid:
            cells[0], cells[col] = cells[col], cells[0]
    elif op == "copy_id":
        grid[row][0] = grid[1 if row > 1 else -1][0]
    elif op == "header_only":
        del grid[1:]
    elif op == "blank_lines":
        grid.insert(row, [])
        grid.insert(row, [""] * len(grid[0]))
    elif op == "reverse_rows":
        grid[1:] = grid[:0:-1]
    return name_of


@settings(FUZZ, max_examples=500)
@given(edit=structure_edits())
def test_table_structure(edit):
    op, table, row, col, text = edit
    grids = copy_grids()
    certain = restructure(grids[table], op, row, col, text)
    where = ()
    if op in ("duplicate_row", "long_row"):
        where = (f"{table}.csv{certain}",)
    elif op == "drop_column" and certain in required_columns(TABLES[table].row):
        where = (f"{table}.csv, row 1, column {certain}: required column is missing",)
    elif op == "header_only" and TABLES[table].required:
        where = (f"{table}.csv: required table '{table}' has no rows",)
    with tempfile.TemporaryDirectory() as folder:
        code = check(validate(write_folder(Path(folder), grids)), FILES, where)
    if op in ("swap_columns", "reverse_rows", "blank_lines"):
        assert code == 0  # column order, row order and blank lines do not matter


# Bytes of one table file -----------------------------------------------------------------------

ENCODINGS = ("latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "utf-8-sig",
             "crlf", "nul", "junk", "truncate", "empty", "bom_only", "whitespace", "directory",
             "missing")


@st.composite
def byte_edits(draw):
    return (draw(st.sampled_from(ENCODINGS)), draw(st.sampled_from(TABLE_NAMES)),
            draw(st.binary(max_size=64)), draw(st.integers(0, 400)))


def table_bytes(table: str, op: str, junk: bytes, cut: int) -> bytes | None:
    """The file's new bytes (``None``: no file at all, or a folder in its place)."""
    grid = copy_grids()[table]
    text = "\n".join(",".join(cells) for cells in grid) + "\n"
    accented = text.replace(grid[1][0], grid[1][0] + "é", 1)
    if op == "utf-8-sig":
        return text.encode(op)
    if op in ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        return accented.encode(op)
    return {
        "crlf": text.replace("\n", "\r\n").encode(),
        "nul": text.encode()[:cut] + b"\x00" + text.encode()[cut:],
        "junk": junk,
        "truncate": text.encode()[:cut],
        "empty": b"",
        "bom_only": b"\xef\xbb\xbf",
        "whitespace": b" \n\t\n",
    }.get(op)


@settings(FUZZ, max_examples=400)
@given(edit=byte_edits())
def test_file_bytes(edit):
    op, table, junk, cut = edit
    with tempfile.TemporaryDirectory() as folder:
        folder = write_folder(Path(folder), copy_grids())
        path = folder / f"{table}.csv"
        data = table_bytes(table, op, junk, cut)
        if data is None:
            path.unlink()
            if op == "directory":
                path.mkdir()
        else:
            path.write_bytes(data)
        code = check(validate(folder), FILES)
        text = validate(folder).output
    if op in ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "nul",
              "empty", "bom_only", "directory", "missing"):
        assert code == 2 and f"{table}.csv" in text, text
    if op in ("utf-8-sig", "crlf"):
        assert code == 0, text  # Excel's "CSV UTF-8" (a BOM) and Windows line ends load fine


# The manifest ----------------------------------------------------------------------------------

BOMB = "".join(f"{a}: &{a} [{', '.join([f'*{p}' if p else 'x'] * 9)}]\n"
               for p, a in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh"))

#: manifest table paths leaving the folder (or unusable): refused, naming the manifest
ESCAPING = ["../../etc/passwd", "/etc/passwd", "../outside.csv", "data/../../outside.csv",
            "link.csv", "dirlink/demand.csv", ".", "..", "nul\0.csv", "x" * 5000,
            "\\\\server\\share\\demand.csv", "/"]
ESCAPES = [*ESCAPING, "~/demand.csv", "C:\\demand.csv", "", " ", "demand.csv/",
           "./demand.csv", "%2e%2e/etc/passwd", "file:///etc/passwd"]

MANIFEST_EDITS = ("truncate", "append_junk", "python_tag", "bomb", "escape", "replace_node",
                  "inline_table", "bytes")

YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=12,
)
PYTHON_TAGS = ["!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system",
               "!!python/object/new:os.system [echo]", "!!python/module:os",
               "!!python/tuple [1, 2]"]


@st.composite
def manifest_edits(draw):
    return (draw(st.sampled_from(MANIFEST_EDITS)), draw(st.integers(0, len(MANIFEST_TEXT))),
            draw(st.text(max_size=40)), draw(st.sampled_from(ESCAPES)),
            draw(st.sampled_from(TABLE_NAMES)), draw(YAML_VALUES), draw(st.sampled_from(PYTHON_TAGS)),
            draw(st.sampled_from(["name", "description", "tables", "policy", "voice", "mip_gap",
                                  "table", "row"])),
            draw(st.binary(max_size=40)))


def _document() -> dict:
    return yaml.safe_load(MANIFEST_TEXT)


def edited_manifest(folder: Path, edit) -> tuple[str | bytes, tuple[str, ...]]:
    op, cut, junk, escape, table, value, tag, key, raw = edit
    if op == "truncate":
        return MANIFEST_TEXT[:cut], ()
    if op == "append_junk":
        return MANIFEST_TEXT[:cut] + junk + MANIFEST_TEXT[cut:], ()
    if op == "bytes":
        return MANIFEST_TEXT.encode()[:cut] + raw, ()
    if op == "python_tag":
        return MANIFEST_TEXT.replace("name: example", f"name: {tag}"), ("instance.yaml",)
    if op == "bomb":
        target = {"name": "name: *h", "tables": f"tables:\n  {table}: *h",
                  "policy": "policy:\n  voice: *h"}.get(key, "description: *h")
        return BOMB + target + "\n", ("instance.yaml",)
    if op == "escape":
        outside = folder.parent / f"{folder.name}-outside"
        outside.mkdir(exist_ok=True)
        (outside / "demand.csv").write_text((folder / "demand.csv").read_text())
        (folder / "link.csv").symlink_to(outside / "demand.csv")
        (folder / "dirlink").symlink_to(outside, target_is_directory=True)
        document = _document()
        document["tables"][table] = escape
        where = (f"instance.yaml: table {table}: ",) if escape in ESCAPING else ()
        return yaml.safe_dump(document), where
    document = _document()
    if op == "inline_table":
        rows = [dict(zip(GRIDS[table][0], cells)) for cells in GRIDS[table][1:]]
        rows[cut % len(rows)][GRIDS[table][0][cut % len(GRIDS[table][0])]] = value
        document["tables"][table] = rows
    elif key in ("name", "description", "tables", "policy"):
        document[key] = value
    elif key in ("voice", "mip_gap"):
        document["policy"][key] = value
    elif key == "table":
        document["tables"][table] = value
    else:
        document["tables"][table] = [value]
    return yaml.safe_dump(document, allow_unicode=True), ()


@settings(FUZZ, max_examples=600)
@given(edit=manifest_edits())
def test_manifest(edit):
    with tempfile.TemporaryDirectory() as parent:
        folder = Path(parent) / "instance"
        folder.mkdir()
        write_folder(folder, copy_grids())
        text, where = edited_manifest(folder, edit)
        manifest = folder / "instance.yaml"
        if isinstance(text, bytes):
            manifest.write_bytes(text)
        else:
            manifest.write_text(text, encoding="utf-8")
        # a file named by the (broken) manifest is named as given, e.g. a truncated path
        code = check(validate(folder), lambda name: name in FILES or name in str(text), where)
    if edit[0] in ("python_tag", "bomb") or (edit[0] == "escape" and edit[3] in ESCAPING):
        assert code == 2


# Workbooks -------------------------------------------------------------------------------------

WORKBOOK_EDITS = ("formula", "merge", "empty_sheet", "remove_sheet", "header_only", "cell_type",
                  "unknown_sheet", "policy", "rename_sheet", "error_cell")
CELL_TYPES = st.one_of(
    st.sampled_from([True, False, None, 0, -1, 10**400 // 10**390, 1e308, -1e308, 2.5]),
    st.datetimes().map(lambda d: d.replace(microsecond=0)), st.dates(), st.times(),
    st.text(max_size=10).filter(lambda t: not t.startswith("=")),
)


def example_workbook() -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, grid in GRIDS.items():
        sheet = workbook.create_sheet(name)
        for cells in grid:
            sheet.append([_typed(c) for c in cells])
    policy = workbook.create_sheet("policy")
    policy.append(["key", "value"])
    for key, value in _document()["policy"].items():
        policy.append([key, value])
    return workbook


def _typed(text: str) -> object:
    try:
        return float(text) if text else None
    except ValueError:
        return text


@st.composite
def workbook_edits(draw):
    sheet = draw(st.sampled_from([*TABLE_NAMES, "policy"]))
    rows = len(GRIDS[sheet]) if sheet in GRIDS else 3
    columns = len(GRIDS[sheet][0]) if sheet in GRIDS else 2
    return (draw(st.sampled_from(WORKBOOK_EDITS)), sheet, draw(st.integers(1, rows)),
            draw(st.integers(1, columns)), draw(st.integers(1, 3)), draw(CELL_TYPES),
            draw(st.sampled_from(["=B2*2", "=SUM(A1:A3)", "=1/0", '=HYPERLINK("x")', "=NOW()"])),
            draw(st.text(max_size=12)))


def edit_workbook(workbook: openpyxl.Workbook, edit) -> tuple[str, ...]:
    """Apply ``edit``; the texts a report must hold when the edit is a certain error."""
    op, name, row, col, span, value, formula, text = edit
    sheet = workbook[name]
    letter = openpyxl.utils.get_column_letter(col)
    header = sheet.cell(1, col).value
    if op == "formula":
        sheet.cell(row, col).value = formula  # openpyxl saves formulas without a value
        where = f"sheet {name}, row {row}, column {header if row > 1 else '#' + str(col)}"
        return (where, "a formula with no saved value")
    if op == "merge":
        sheet.merge_cells(f"{letter}{row}:{letter}{row + span}")
        return (f"sheet {name}", "merged")
    if op == "empty_sheet":
        sheet.delete_rows(1, sheet.max_row)
        return (f"sheet {name}: empty",)
    if op == "remove_sheet":
        workbook.remove(sheet)
        return (f"required table '{name}' is missing",) if TABLES.get(name, None) and \
            TABLES[name].required else ()
    if op == "header_only":
        sheet.delete_rows(2, sheet.max_row)
        return (f"required table '{name}' has no rows",) if name in TABLES and \
            TABLES[name].required else ()
    if op == "cell_type":
        sheet.cell(row, col).value = value
    elif op == "error_cell":
        sheet.cell(row, col).value = "#DIV/0!"
        sheet.cell(row, col).data_type = "e"
    elif op == "unknown_sheet":
        workbook.create_sheet(text or "extra")["A1"] = "x"
    elif op == "policy":
        workbook["policy"].append([text, value])
    elif op == "rename_sheet":
        sheet.title = (text or name.upper())[:31].replace("/", "").replace(":", "") or "x"
    return ()


@settings(FUZZ, max_examples=120)
@given(edit=workbook_edits())
def test_workbook(edit):
    workbook = example_workbook()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "example.xlsx"
        try:
            where = edit_workbook(workbook, edit)
            workbook.save(path)
        except (ValueError, TypeError, openpyxl.utils.exceptions.IllegalCharacterError):
            return  # openpyxl itself refuses to write this value: no such workbook can exist
        check(validate(path), {"example.xlsx"}, where)


@settings(FUZZ, max_examples=60)
@given(cut=st.integers(0, 10**6), junk=st.binary(max_size=32), member=st.integers(0, 30))
def test_workbook_bytes(cut, junk, member):
    """Truncated or corrupted .xlsx files (a zip of XML parts) are refused, never a crash."""
    buffer = io.BytesIO()
    example_workbook().save(buffer)
    data = buffer.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "example.xlsx"
        if member % 2:
            path.write_bytes(data[:cut % len(data)] + junk)
        else:
            path.write_bytes(_corrupt_member(data, member // 2, junk))
        check(validate(path), {"example.xlsx"})


def _corrupt_member(data: bytes, index: int, junk: bytes) -> bytes:
    """The workbook with one of its XML parts replaced by junk."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    target = names[index % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rebuilt:
        for name in names:
            rebuilt.writestr(name, junk if name == target else source.read(name))
    return out.getvalue()


def test_fuzz_file_names_are_the_instance_files():
    # the invariant "every problem names a file of the instance" needs the real file list
    assert FILES == {"instance.yaml", *(p.name for p in EXAMPLE.glob("*.csv"))}
    assert os.path.basename(str(EXAMPLE / "instance.yaml")) in FILES


def test_the_fuzz_benchmark_in_small(tmp_path):
    """``benchmarks/bench_fuzz.py`` in small: 200 of its cases (validate, and real runs with
    odd options and --out folders), none with a traceback or a hang, none changing a file
    outside its own folder or the results folder it was told to replace (README "Trust" has
    the 10,000-case figures)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "bench_fuzz", EXAMPLE.parents[1] / "benchmarks" / "bench_fuzz.py")
    bench = sys.modules.setdefault("bench_fuzz", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(bench)
    tally = bench.fuzz(200, seed=0, root=tmp_path)
    assert tally.cases == 200
    assert tally.tracebacks == [] and tally.hangs == [] and tally.damage == []
    assert tally.harness == []  # every drawn case could be written
    assert set(tally.commands) == {"validate", "run"}
    assert {code for _, code in tally.exit_codes} <= {0, 1, 2}
