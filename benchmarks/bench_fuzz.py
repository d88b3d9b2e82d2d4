"""Fuzz the `optimise` command: broken instances and odd options never reach a traceback, and
no file outside a case's own area changes.

Hypothesis draws each case: the example instance (``instances/example``) written as CSV files
and a manifest, as one manifest with every table inline, or as an .xlsx workbook; then broken
in up to four ways (a cell: text, blank, huge, negative, NaN, inf, TRUE, yes, a formula, 40,000
characters...; a table's structure: missing, extra, renamed or duplicate columns, ragged,
duplicate or deleted rows; a file's bytes: Latin-1, UTF-16/32, byte-order marks, NUL, junk,
truncated, empty, a folder, a named pipe, a sparse file over the size limit, missing; the
manifest: duplicate keys, unknown keys, policy keys with any value, paths out of the folder,
aliases, python tags, truncation; a workbook: hidden sheets, formulas without a value, merged
cells, renamed, removed and unknown sheets, truncated or damaged zips). Then it runs the
command in-process (click's CliRunner): mostly ``validate``; one case in eight a real ``run``
with ``--no-report --quiet`` and fuzzed ``--set``, ``--members``, ``--consortium``,
``--time-limit``, ``--voice``, ``--solver``, ``--out`` (new, nested, empty, an earlier results
folder, a folder of the user's, the instance's folder, a file, ``.``, ``..``) and ``--log``.

A case fails if the command raises anything but a clean exit (a traceback), takes over 120 s,
or if any file that existed before it changed or went, other than inside the earlier results
folder it was told to replace. Each case has its own folder under one temporary root, which
also holds a bystander folder of files no case may touch; the repository's example is
watched too.

    python benchmarks/bench_fuzz.py                  # 10,000 cases
    python benchmarks/bench_fuzz.py --cases 500 --seed 7

``tests/test_fuzz.py`` runs 200 cases in CI.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openpyxl
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import IllegalCharacterError

from cli import main
from optimiser.schema import Policy

EXAMPLE = ROOT / "instances" / "example"
DOCUMENT = yaml.safe_load((EXAMPLE / "instance.yaml").read_text(encoding="utf-8"))
TABLES = tuple(DOCUMENT["tables"])
GRIDS: dict[str, list[list[str]]] = {
    name: list(csv.reader(io.StringIO((EXAMPLE / path).read_text(encoding="utf-8"))))
    for name, path in DOCUMENT["tables"].items()
}
CASE_SECONDS = 120
MARKER = ".optimise-results"  # what optimiser.destination leaves in a folder it wrote


# Values -------------------------------------------------------------------------------------------

TEXTS = [
    "", " ", "\t", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e309", "-1e308",
    "1" + "0" * 400, "-1", "-0", "0", "0.5", "1e-320", "1e7", "1e12", "99.99", "150", "100",
    "TRUE", "FALSE", "true", "yes", "no", "on", "None", "null", "#N/A", "#DIV/0!", "=1+1",
    "+1", "@SUM(A1)", "1,000", "£500", "50%", "0x1A", "1_000", "١٢", "１２", "é",
    "\U0001f4a5",
    "a\nb", "a\rb", '"', "'", "\x07", "[red]x[/red]", "A1", "A5", "F1", "H1", "R2",
    "foster_standard", "residential", "in_house", "voluntary", "outstanding", "inadequate",
    "Whole region", "x" * 300, "n" * 40_000,
]
TEXT = st.one_of(
    st.sampled_from(TEXTS), st.text(max_size=10), st.integers(-10**20, 10**20).map(str),
    st.floats().map(repr),
)
TYPED = st.one_of(  # cells of a workbook or an inline YAML table
    TEXT, st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(),
    st.dates(), st.datetimes().map(lambda d: d.replace(microsecond=0)),
)
YAML_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=3),
    max_leaves=8,
)
POLICY_KEYS = [*Policy.model_fields, "vioce", "time_limit", "", "policy"]


# Edits --------------------------------------------------------------------------------------------

STRUCTURE = ("drop_column", "add_column", "rename_header", "duplicate_header", "duplicate_row",
             "delete_row", "long_row", "short_row", "header_only", "empty", "swap_columns")
BYTES = ("latin-1", "utf-16", "utf-16-le", "utf-32", "utf-8-sig", "bom_twice", "crlf", "cr",
         "nul", "junk", "truncate", "empty", "whitespace", "directory", "fifo", "missing",
         "oversized", "symlink_out")
MANIFEST = ("duplicate_key", "unknown_key", "policy", "escape", "truncate", "alias", "python_tag",
            "bom", "latin-1", "utf-16", "empty", "not_a_mapping", "replace")
WORKBOOK = ("hidden", "very_hidden", "formula", "merge", "rename_sheet", "remove_sheet",
            "unknown_sheet", "truncate", "damage_part", "policy_row")
ESCAPES = ["../outside.csv", "/etc/hostname", "..", ".", "", " ", "sub/../../x.csv", "link.csv",
           "x" * 300, "nul\0.csv", "C:\\x.csv", "demand.csv/"]


@st.composite
def cell_edit(draw) -> tuple:
    table = draw(st.sampled_from(TABLES))
    grid = GRIDS[table]
    return ("cell", table, draw(st.integers(0, len(grid) - 1)),
            draw(st.integers(0, len(grid[0]) - 1)), draw(TYPED))


@st.composite
def structure_edit(draw) -> tuple:
    table = draw(st.sampled_from(TABLES))
    grid = GRIDS[table]
    return ("structure", draw(st.sampled_from(STRUCTURE)), table,
            draw(st.integers(1, max(1, len(grid) - 1))), draw(st.integers(0, len(grid[0]) - 1)),
            draw(st.sampled_from(["", "x", "name", "id", "places", "Places", " capacity"])))


@st.composite
def bytes_edit(draw) -> tuple:
    return ("bytes", draw(st.sampled_from(BYTES)), draw(st.sampled_from(TABLES)),
            draw(st.binary(max_size=40)), draw(st.integers(0, 400)))


@st.composite
def manifest_edit(draw) -> tuple:
    return ("manifest", draw(st.sampled_from(MANIFEST)), draw(st.integers(0, 10**6)),
            draw(st.sampled_from(POLICY_KEYS)), draw(YAML_VALUE), draw(st.sampled_from(ESCAPES)),
            draw(st.sampled_from(TABLES)))


@st.composite
def workbook_edit(draw) -> tuple:
    return ("workbook", draw(st.sampled_from(WORKBOOK)),
            draw(st.sampled_from([*TABLES, "policy"])), draw(st.integers(1, 8)),
            draw(st.integers(1, 6)), draw(st.integers(0, 10**6)), draw(TYPED),
            draw(st.sampled_from(POLICY_KEYS)))


SOURCE_EDITS = {
    "folder": st.one_of(cell_edit(), structure_edit(), bytes_edit(), manifest_edit()),
    "inline": st.one_of(cell_edit(), structure_edit(), manifest_edit()),
    "workbook": st.one_of(cell_edit(), structure_edit(), workbook_edit()),
}
VALID_OUTS = [None, "out", "a/b/c", "empty", "previous"]
OUTS = [*VALID_OUTS, "mine", "instance", "file", ".", "..", "", "notes.txt/x"]
SET_VALUES = st.one_of(st.sampled_from(["", "0", "1", "-1", "nan", "inf", "1e309", "true",
                                        "yes", "equal", "maxmin", "highs", "cbc", "good", "x=y",
                                        "0.5", "1e-9", "52", "1e6", "shared", "full"]), TEXT)

VALID_SETTINGS = {
    "voice": ["equal", "maxmin"], "integer_places": ["true", "false"], "min_rating": ["good"],
    "min_local_share": ["0.5"], "individual_rationality": ["false"], "share_in_house": ["true"],
    "max_provider_share": ["0.5"], "time_limit_s": ["30"], "baseline_capacity": ["full"],
    "local_radius_km": ["10"], "breakdown_cost": ["5000"],
}


@st.composite
def run_options(draw, hostile: bool) -> list[str]:
    """Options of a run: any, or if not ``hostile`` only valid ones (so that many runs solve)."""
    options = ["--no-report", "--quiet"]
    if draw(st.booleans()):
        options.append("--no-investment")
    for _ in range(draw(st.integers(0, 2))):
        if hostile:
            key, value = draw(st.sampled_from(POLICY_KEYS)), draw(SET_VALUES)
            options += ["--set", f"{key}={value}" if draw(st.integers(0, 9)) else key]
        else:
            key = draw(st.sampled_from(sorted(VALID_SETTINGS)))
            options += ["--set", f"{key}={draw(st.sampled_from(VALID_SETTINGS[key]))}"]
    if draw(st.integers(0, 3)) == 0:
        members = ["A1", "A2", "A3", "A4", "Northtown", "easton"]
        members += ["A9", "", " ", "A1,A1"] if hostile else []
        options += ["--members", ",".join(draw(st.lists(st.sampled_from(members), max_size=4)))]
    if draw(st.integers(0, 5)) == 0:
        named = ["Whole region", "North pair"] + (["x", ""] if hostile else [])
        options += ["--consortium", draw(st.sampled_from(named))]
    limits = ["0.5", "30", "1e-6"]
    limits += ["0", "-1", "nan", "inf", "1e300", "x", ""] if hostile else []
    if draw(st.integers(0, 3)) == 0:
        options += ["--time-limit", draw(st.sampled_from(limits))]
    if draw(st.integers(0, 3)) == 0:
        voices = ["volume", "equal", "maxmin"] + (["loud", ""] if hostile else [])
        options += ["--voice", draw(st.sampled_from(voices))]
    if draw(st.integers(0, 4)) == 0:
        solvers = ["highs", "highs", "cbc", "ortools"] + (["x"] if hostile else [])
        options += ["--solver", draw(st.sampled_from(solvers))]
    if draw(st.integers(0, 9)) == 0:
        options.append("--json")
    return options


@dataclass(frozen=True)
class Case:
    source: str  # folder, inline or workbook
    edits: tuple
    command: str  # validate or run
    options: tuple[str, ...]
    out: str | None
    log: str | None


@st.composite
def cases(draw) -> Case:
    source = draw(st.sampled_from(["folder", "folder", "inline", "workbook"]))
    # Hypothesis favours simple values (0, the first choice): a residue spreads them out
    command = "run" if draw(st.integers(0, 10**6)) % 8 == 3 else "validate"
    if command == "validate":
        edits = tuple(draw(st.lists(SOURCE_EDITS[source], max_size=4)))
        log = draw(st.sampled_from([None, None, None, "new.log", "input"]))
        return Case(source, edits, command, (), None, log)
    # half the runs are calm (one odd cell at most, valid options), so that many solve
    hostile = draw(st.booleans())
    edits = tuple(draw(st.lists(SOURCE_EDITS[source] if hostile else cell_edit(), max_size=1)))
    out = draw(st.sampled_from(OUTS if hostile else VALID_OUTS))
    logs = [None, "new.log", "input", "in_out"] if hostile else [None, "new.log"]
    options = tuple(draw(run_options(hostile)))
    return Case(source, edits, command, options, out, draw(st.sampled_from(logs)))


# Writing a case's instance ------------------------------------------------------------------------


def _grids() -> dict[str, list[list[object]]]:
    return {name: [list(row) for row in grid] for name, grid in GRIDS.items()}


def _apply_cell(grids: dict, edit: tuple) -> None:
    _, table, row, column, value = edit
    grid = grids[table]
    if row < len(grid) and column < len(grid[row]):
        grid[row][column] = value


def _apply_structure(grids: dict, edit: tuple) -> None:
    _, op, table, row, column, text = edit
    grid = grids[table]
    if not grid or not grid[0]:
        return  # emptied by an earlier edit
    row, column = min(row, len(grid) - 1), min(column, len(grid[0]) - 1)
    if op == "drop_column":
        for cells in grid:
            del cells[column:column + 1]
    elif op == "add_column":
        for number, cells in enumerate(grid):
            cells.append(text if number == 0 else "1")
    elif op == "rename_header":
        grid[0][column] = text
    elif op == "duplicate_header":
        grid[0][column] = grid[0][0]
    elif op == "duplicate_row":
        grid.append(list(grid[row]))
    elif op == "delete_row" and len(grid) > 1:
        del grid[row]
    elif op == "long_row":
        grid[row].append(text or "x")
    elif op == "short_row":
        del grid[row][column:]
    elif op == "header_only":
        del grid[1:]
    elif op == "empty":
        grid.clear()
    elif op == "swap_columns":
        for cells in grid:
            if len(cells) > column:
                cells[0], cells[column] = cells[column], cells[0]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _csv_bytes(grid: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[_text(v) for v in row] for row in grid])
    return buffer.getvalue().encode("utf-8", "surrogatepass")


def _typed(text: object) -> object:
    if not isinstance(text, str):
        return text
    try:
        return float(text) if text else None
    except ValueError:
        return text


def _manifest_document(grids: dict, inline: bool) -> dict:
    document = {"name": "fuzz", "tables": {}, "policy": dict(DOCUMENT["policy"])}
    for name, grid in grids.items():
        if inline:
            header = [_text(c) for c in grid[0]] if grid else []
            document["tables"][name] = [
                {column: _typed(v) for column, v in zip(header, row) if v not in (None, "")}
                for row in grid[1:]
            ]
        else:
            document["tables"][name] = f"{name}.csv"
    return document


def _manifest_text(document: dict, edits: list[tuple], folder: Path) -> bytes:
    for edit in edits:
        _, op, number, key, value, escape, table = edit
        if op == "policy" and isinstance(document.setdefault("policy", {}), dict):
            document["policy"][key] = value
        elif op == "unknown_key":
            document[key or "extra"] = value
        elif op == "escape" and isinstance(document.get("tables"), dict):
            document["tables"][table] = escape
        elif op == "replace":
            document[("name", "description", "tables", "policy")[number % 4]] = value
    try:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        text = yaml.safe_dump({"name": "fuzz"})
    for edit in edits:
        text = _manifest_bytes_edit(text, edit)
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def _duplicate_a_key(text: str, number: int) -> str:
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    if not keyed:
        return text + "name: again\n"
    at = keyed[number % len(keyed)]
    line = lines[at]
    indent = line[:len(line) - len(line.lstrip(" -"))].replace("-", " ")
    key = line.lstrip(" -").split(":", 1)[0]
    return "".join(lines[:at + 1]) + f"{indent}{key}: 1\n" + "".join(lines[at + 1:])


def _manifest_bytes_edit(text: str | bytes, edit: tuple) -> str | bytes:
    op, number = edit[1], edit[2]
    if isinstance(text, bytes):
        return text
    if op == "duplicate_key":
        return _duplicate_a_key(text, number)
    if op == "truncate":
        return text[:number % (len(text) + 1)]
    if op == "alias":
        return "a: &a [x, x, x]\n" + text.replace("name: fuzz", "name: *a", 1)
    if op == "python_tag":
        return text.replace("name: fuzz", "name: !!python/object/apply:os.system ['true']", 1)
    if op == "bom":
        return codecs.BOM_UTF8 + text.encode("utf-8", "surrogatepass")
    if op in ("latin-1", "utf-16"):
        return (text + "description: é\n").encode(op, "replace")
    if op == "empty":
        return ""
    if op == "not_a_mapping":
        return "- " + text.replace("\n", "\n  ")
    return text


def _write_table_bytes(folder: Path, name: str, data: bytes, edit: tuple | None) -> None:
    path = folder / f"{name}.csv"
    if edit is None:
        path.write_bytes(data)
        return
    _, op, _, junk, cut = edit
    text = data.decode("utf-8", "surrogatepass")
    if op in ("latin-1", "utf-16", "utf-16-le", "utf-32"):
        path.write_bytes((text + "é\n").encode(op, "replace"))
    elif op == "utf-8-sig":
        path.write_bytes(codecs.BOM_UTF8 + data)
    elif op == "bom_twice":
        path.write_bytes(codecs.BOM_UTF8 * 2 + data)
    elif op == "crlf":
        path.write_bytes(data.replace(b"\n", b"\r\n"))
    elif op == "cr":
        path.write_bytes(data.replace(b"\n", b"\r"))
    elif op == "nul":
        path.write_bytes(data[:cut] + b"\0" + data[cut:])
    elif op == "junk":
        path.write_bytes(junk)
    elif op == "truncate":
        path.write_bytes(data[:cut])
    elif op == "empty":
        path.write_bytes(b"")
    elif op == "whitespace":
        path.write_bytes(b" \n\t\n")
    elif op == "directory":
        path.mkdir()
    elif op == "fifo":
        os.mkfifo(path)
    elif op == "oversized":  # sparse: the size is what counts, no disk is used
        with open(path, "wb") as handle:
            handle.truncate(100_000_001)
    elif op == "symlink_out":
        path.symlink_to(folder.parent.parent / "bystander" / "notes.txt")
    elif op != "missing":
        path.write_bytes(data)


def write_folder(folder: Path, grids: dict, edits: list[tuple], inline: bool) -> Path:
    folder.mkdir()
    manifest = folder / "instance.yaml"
    manifest_edits = [e for e in edits if e[0] == "manifest"]
    manifest.write_bytes(_manifest_text(_manifest_document(grids, inline), manifest_edits, folder))
    if not inline:
        broken = {e[2]: e for e in edits if e[0] == "bytes"}
        for name, grid in grids.items():
            _write_table_bytes(folder, name, _csv_bytes(grid), broken.get(name))
    return folder


def _sheet_value(value: object) -> object:
    """The value as a cell, less the control characters no .xlsx can hold (openpyxl refuses)."""
    value = _typed(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _workbook(grids: dict) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, grid in grids.items():
        sheet = book.create_sheet(name)
        for row in grid:
            sheet.append([_sheet_value(v) for v in row])
    policy = book.create_sheet("policy")
    policy.append(["key", "value"])
    for key, value in DOCUMENT["policy"].items():
        policy.append([key, value])
    return book


def _apply_workbook_edit(book: openpyxl.Workbook, edit: tuple) -> None:
    _, op, name, row, column, number, value, key = edit
    if name not in book.sheetnames:
        return
    sheet = book[name]
    if op == "hidden":
        sheet.sheet_state = "hidden"
    elif op == "very_hidden":
        sheet.sheet_state = "veryHidden"
    elif op == "formula":
        sheet.cell(row, column).value = "=A2*2"
    elif op == "merge":
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + 1, end_column=column)
    elif op == "rename_sheet":
        sheet.title = (_text(value)[:31] or "x").replace("/", "").replace(":", "") or "x"
    elif op == "remove_sheet":
        book.remove(sheet)
    elif op == "unknown_sheet":
        book.create_sheet(f"extra{number % 100}")["A1"] = "x"
    elif op == "policy_row" and "policy" in book.sheetnames:
        book["policy"].append([key, value])


def _damage(data: bytes, edit: tuple) -> bytes:
    op, number = edit[1], edit[5]
    if op == "truncate":
        return data[:number % (len(data) + 1)]
    if op == "damage_part":
        try:
            source = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return data  # truncated by an earlier edit already
        names = source.namelist()
        target = names[number % len(names)]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as rebuilt:
            for name in names:
                rebuilt.writestr(name, b"<x>" + bytes([number % 256]) if name == target
                                 else source.read(name))
        return out.getvalue()
    return data


def write_workbook(path: Path, grids: dict, edits: list[tuple]) -> Path:
    book = _workbook(grids)
    for edit in edits:
        if edit[0] == "workbook":
            try:
                _apply_workbook_edit(book, edit)
            except (ValueError, TypeError, KeyError, IllegalCharacterError):
                pass  # openpyxl refuses the edit itself: no workbook can hold it
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except (ValueError, TypeError, IllegalCharacterError):
        book = _workbook(_grids())  # openpyxl cannot write a value: the unbroken workbook
        buffer = io.BytesIO()
        book.save(buffer)
    data = buffer.getvalue()
    for edit in edits:
        if edit[0] == "workbook":
            data = _damage(data, edit)
    path.write_bytes(data)
    return path


def write_instance(area: Path, case: Case) -> Path:
    grids = _grids()
    for edit in case.edits:
        if edit[0] == "cell":
            _apply_cell(grids, edit)
        elif edit[0] == "structure":
            _apply_structure(grids, edit)
    if case.source == "workbook":
        (area / "instance").mkdir()
        return write_workbook(area / "instance" / "book.xlsx", grids, list(case.edits))
    return write_folder(area / "instance", grids, list(case.edits), case.source == "inline")


# Running a case and its invariants ----------------------------------------------------------------


def snapshot(*roots: Path) -> dict[Path, tuple]:
    """Every file under ``roots`` (links not followed), with what would show a change."""
    found = {}
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                found[path] = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)
    return found


def prepare_area(area: Path, previous: Path) -> None:
    """A case's own folder: besides the instance, a file and a folder of the user's, an empty
    folder and an earlier results folder (which a run may replace)."""
    area.mkdir()
    (area / "notes.txt").write_text("the user's own notes\n")
    (area / "mine").mkdir()
    (area / "mine" / "letter.txt").write_text("the user's own letter\n")
    (area / "empty").mkdir()
    shutil.copytree(previous, area / "previous")


def command_line(case: Case, instance: Path, area: Path) -> list[str]:
    args = [case.command, str(instance), *case.options]
    outs = {"instance": str(area / "instance"), "file": str(area / "notes.txt")}
    if case.out is not None:
        args += ["--out", outs.get(case.out, case.out)]
    logs = {"new.log": str(area / "new.log"), "in_out": str(area / "previous" / "x.log"),
            "input": str(instance if instance.is_file() else instance / "instance.yaml")}
    if case.log is not None:
        args += ["--log", logs[case.log]]
    return args


class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` of the command hides it."""


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout


@dataclass
class Tally:
    cases: int = 0
    commands: Counter = field(default_factory=Counter)
    exit_codes: Counter = field(default_factory=Counter)  # (command, exit code)
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    damage: list[str] = field(default_factory=list)  # files changed or gone outside results
    harness: list[str] = field(default_factory=list)  # cases the fuzzer failed to write

    @property
    def failures(self) -> int:
        return len(self.tracebacks) + len(self.hangs) + len(self.damage)


def _allowed(path: Path, replaced: Path | None) -> bool:
    """A change a command may make: inside the earlier results folder it was told to replace."""
    return replaced is not None and replaced in path.parents


def run_case(case: Case, root: Path, number: int, previous: Path, tally: Tally) -> None:
    area = root / f"case{number}"
    try:
        _run_case(case, root, area, number, previous, tally)
    finally:
        shutil.rmtree(area, ignore_errors=True)


def _run_case(case: Case, root: Path, area: Path, number: int, previous: Path,
              tally: Tally) -> None:
    prepare_area(area, previous)
    watched = (root / "bystander", EXAMPLE)
    try:
        instance = write_instance(area, case)
    except OSError:
        return  # the file system refused the broken file itself (a name too long, say)
    except Exception:  # noqa: BLE001
        # the fuzzer's own fault, not the command's: noted, and the run goes on
        tally.harness.append(f"{case!r}"[:2000] + "\n" + traceback.format_exc())
        return
    before = snapshot(area, *watched)
    args = command_line(case, instance, area)
    replaced = area / "previous" if case.out == "previous" else None
    here = os.getcwd()
    os.chdir(area)
    timed = threading.current_thread() is threading.main_thread()  # signals need it
    if timed:
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(CASE_SECONDS)
    described = f"case {number}: optimise {' '.join(map(repr, args))}\n  {case!r}"[:3000]
    try:
        result = CliRunner().invoke(main, args)
    except CaseTimeout:
        tally.hangs.append(described)
        result = None
    finally:
        if timed:
            signal.alarm(0)
        os.chdir(here)
    tally.cases += 1
    tally.commands[case.command] += 1
    if result is not None:
        tally.exit_codes[case.command, result.exit_code] += 1
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(result.exception))
            tally.tracebacks.append(f"{described}\n{trace}")
    after = snapshot(area, *watched)
    for path, state in before.items():
        if after.get(path) != state and not _allowed(path, replaced):
            what = "gone" if path not in after else "changed"
            tally.damage.append(f"{described}\n  {path} {what}")
    for path in after.keys() - before.keys():
        if area not in path.parents:
            tally.damage.append(f"{described}\n  {path} written outside the case's folder")


def previous_results(root: Path) -> Path:
    """A results folder optimise wrote (the example's), for cases that replace one."""
    folder = root / "previous-results"
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--out", str(folder), "--no-report",
                                       "--quiet", "--no-investment"])
    assert result.exit_code == 0, result.output
    assert (folder / MARKER).exists(), f"no {MARKER} in an optimise results folder"
    return folder


def fuzz(cases_wanted: int, seed: int, root: Path,
         progress: Callable[[Tally], None] | None = None) -> Tally:
    """Run ``cases_wanted`` cases under ``root``; Hypothesis is re-seeded if it stops short."""
    tally = Tally()
    (root / "bystander").mkdir()
    (root / "bystander" / "notes.txt").write_text("nobody's results\n")
    previous = previous_results(root)
    attempt = 0
    while tally.cases < cases_wanted:
        wanted = cases_wanted - tally.cases

        @hypothesis_seed(seed + attempt)
        @settings(max_examples=wanted, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=cases())
        def one(case: Case) -> None:
            if tally.cases >= cases_wanted:
                return
            run_case(case, root, tally.cases, previous, tally)
            if progress is not None:
                progress(tally)

        one()
        attempt += 1
    return tally


def summary(tally: Tally, seconds: float) -> str:
    totals = Counter()
    for (_, code), count in tally.exit_codes.items():
        totals[code] += count
    codes = "  ".join(f"{code}: {count:,}" for code, count in sorted(totals.items()))
    by_command = "; ".join(
        f"{name} " + ", ".join(f"{code}: {count:,}" for (n, code), count
                               in sorted(tally.exit_codes.items()) if n == name)
        for name in sorted(tally.commands))
    commands = ", ".join(f"{name} {count:,}" for name, count in sorted(tally.commands.items()))
    return "\n".join([
        f"cases run: {tally.cases:,} ({commands})",
        f"tracebacks: {len(tally.tracebacks)}",
        f"hangs (over {CASE_SECONDS} s): {len(tally.hangs)}",
        f"deleted/changed files outside result folders: {len(tally.damage)}",
        f"wall time: {seconds:.1f} s ({1000 * seconds / max(tally.cases, 1):.0f} ms a case)",
        f"exit codes: {codes} ({by_command})",
        f"cases the fuzzer could not write (skipped): {len(tally.harness)}",
    ])


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="how many cases")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed")
    args = parser.parse_args()
    started = time.perf_counter()

    def progress(tally: Tally) -> None:
        if tally.cases % 500 == 0:
            print(f"  {tally.cases:,} cases, {tally.failures} failures, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="optimise-fuzz-") as folder:
        tally = fuzz(args.cases, args.seed, Path(folder), progress)
    for failure in [*tally.tracebacks, *tally.hangs, *tally.damage, *tally.harness][:20]:
        print(failure, "\n")
    print(summary(tally, time.perf_counter() - started))
    sys.exit(1 if tally.failures else 0)


if __name__ == "__main__":
    main_()
