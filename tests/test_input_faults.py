"""Input faults that were silent or ended in a crash or a hang (issue 18, items 4 and 5).

Silent coercions are now errors naming file (sheet), row and column: a true/false value for a
number (Excel TRUE/FALSE, YAML yes/no), a key given twice in YAML. Hidden sheets are read, with
a warning naming them. Inputs are bounded (``optimiser.loading``'s limits, README "Instance
format"): a file too large, a workbook unpacking too large, too many rows, too long a cell, a
named pipe or device; each is refused at once with exit code 2. A report lists the first 50
problems and counts the rest.

What a user sees is tested through the installed command (``run_optimise``); the row limit,
a million rows, is tested in-process with a smaller limit (the real one is a slow test).
"""

from __future__ import annotations

import copy
import os
import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLE, run_optimise
from test_loading import POLICY, SMALL, write_inline_manifest, write_workbook

from optimiser import loading
from optimiser.errors import InputError
from optimiser.loading import load_instance


def copy_example(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    return folder


def refused(*args, timeout: float = 60) -> str:
    """``optimise`` exits 2 without a traceback; its stderr, lines joined (rich may wrap)."""
    result = run_optimise(*args, timeout=timeout)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def report_of(path) -> str:
    with pytest.raises(InputError) as caught:
        load_instance(path)
    return caught.value.report()


# Silent coercions (item 4) -----------------------------------------------------------------------


def test_true_false_in_a_workbook_number_cell_is_refused(tmp_path):
    """Excel's TRUE read as 1 place; now the cell is named. TRUE in a true/false column is fine."""
    tables = copy.deepcopy(SMALL)
    tables["demand"][0]["places"] = True
    tables["offers"][1]["capacity"] = False
    tables["tiers"][0]["guarantee"] = True
    book = write_workbook(tmp_path / "book.xlsx", tables, POLICY)
    shown = refused("validate", book)
    assert shown.startswith("error: 2 problems found:")
    assert ("book.xlsx, sheet demand, row 2, column places: must be a number, got the true/false "
            "value TRUE") in shown
    assert ("book.xlsx, sheet offers, row 3, column capacity: must be a number, got the "
            "true/false value FALSE") in shown


YES_MANIFEST = """\
name: yes and no
tables:
  placement_types: [{id: t, emergency_weekly_price: 1000}]
  authorities: [{id: A, lat: 53.5, lon: -2.2}]
  demand:
    - {authority: A, placement_type: t, places: yes}
  providers: [{id: P, lat: 53.5, lon: -2.2}]
  offers: [{provider: P, placement_type: t, capacity: on, weekly_price: 500}]
policy:
  weeks_per_year: no
  integer_places: yes
"""


def test_yes_no_on_off_for_a_yaml_number_is_refused(tmp_path):
    """YAML 1.1 reads yes/no/on/off as true/false, which pydantic took as 1/0: one place, a
    capacity of one, zero weeks a year. yes for a true/false key (integer_places) is fine."""
    manifest = tmp_path / "yes.yaml"
    manifest.write_text(YES_MANIFEST, encoding="utf-8")
    shown = refused("validate", manifest)
    assert shown.startswith("error: 3 problems found:")
    assert ("yes.yaml (demand), row 1, column places: must be a number, got the true/false value "
            "TRUE (in YAML, yes/no and on/off are true/false values too)") in shown
    assert ("yes.yaml (offers), row 1, column capacity: must be a number, got the true/false"
            in shown)
    assert ("yes.yaml, column weeks_per_year: policy weeks_per_year: must be a number, got the "
            "true/false value FALSE") in shown


DUPLICATES_MANIFEST = """\
name: first
description: a manifest with keys given twice
name: second
tables:
  placement_types: [{id: t, emergency_weekly_price: 1000}]
  authorities: [{id: A, lat: 53.5, lon: -2.2}]
  demand:
    - {authority: A, placement_type: t, places: 3}
    - authority: A
      placement_type: t
      places: 4
      places: 40
  providers: [{id: P, lat: 53.5, lon: -2.2}]
  offers: [{provider: P, placement_type: t, capacity: 5, weekly_price: 500}]
policy:
  voice: equal
  voice: maxmin
"""


def test_a_key_given_twice_in_yaml_is_refused_with_both_lines(tmp_path):
    """PyYAML keeps the last of two equal keys without a word (40 places, not 4; instance
    "second"); now each repeat is named with its line and the first one's."""
    manifest = tmp_path / "twice.yaml"
    manifest.write_text(DUPLICATES_MANIFEST, encoding="utf-8")
    shown = refused("validate", manifest)
    assert shown.startswith("error: 3 problems found:")
    give_once = "YAML would keep only the last value; give each key once"
    assert f"twice.yaml: duplicate key 'name' at line 3, column 1 (also at line 1): {give_once}" \
        in shown
    assert "twice.yaml: duplicate key 'places' at line 12, column 7 (also at line 11)" in shown
    assert "twice.yaml: duplicate key 'voice' at line 17, column 3 (also at line 16)" in shown


def test_yes_and_true_are_one_key_once_read(tmp_path):
    manifest = write_inline_manifest(tmp_path / "m.yaml", SMALL, POLICY)
    text = manifest.read_text(encoding="utf-8").replace("tables:", "true: 1\nyes: 2\ntables:", 1)
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_instance(manifest)
    assert "duplicate key True at line 3, column 1 (also at line 2)" in caught.value.report()


def hide(book: Path, states: dict[str, str]) -> Path:
    workbook = openpyxl.load_workbook(book)
    for sheet, state in states.items():
        workbook[sheet].sheet_state = state
    workbook.save(book)
    return book


def test_hidden_sheets_are_read_with_a_warning_naming_them(tmp_path):
    """Decision: a hidden table sheet is read (what the team planned with is in the file), and
    a warning names it and how it is hidden."""
    book = hide(write_workbook(tmp_path / "book.xlsx", SMALL, POLICY),
                {"tiers": "hidden", "consortia": "veryHidden"})
    result = run_optimise("validate", book)
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stderr.split())
    assert ("warning: book.xlsx, sheet consortia: the sheet is very hidden (Excel's menus cannot "
            "unhide it; a macro or a program hid it): its rows are read all the same; unhide it "
            "to check them") in shown
    assert ("warning: book.xlsx, sheet tiers: the sheet is hidden: its rows are read all the "
            "same") in shown
    instance = load_instance(book)
    assert len(instance.tiers) == 2 and len(instance.consortia) == 2
    assert len(instance.warnings) == 2


def test_an_unknown_hidden_sheet_says_it_is_hidden(tmp_path):
    book = write_workbook(tmp_path / "book.xlsx", SMALL, POLICY)
    workbook = openpyxl.load_workbook(book)
    workbook.create_sheet("old demand")["A1"] = "x"
    workbook["old demand"].sheet_state = "hidden"
    workbook.save(book)
    shown = refused("validate", book)
    assert "book.xlsx, sheet old demand: unknown sheet 'old demand' (hidden in Excel)" in shown


# Limits (item 5) ---------------------------------------------------------------------------------


def test_a_named_pipe_as_a_table_manifest_or_workbook_is_refused_at_once(tmp_path):
    """A FIFO blocked for ever (nobody writes to it); now it is refused before it is opened."""
    folder = copy_example(tmp_path)
    (folder / "demand.csv").unlink()
    os.mkfifo(folder / "demand.csv")
    os.mkfifo(tmp_path / "pipe.yaml")
    os.mkfifo(tmp_path / "pipe.xlsx")
    started = time.perf_counter()
    assert ("demand.csv: is a named pipe (FIFO), not a file saved on disk"
            in refused("validate", folder, timeout=30))
    assert "pipe.xlsx: is a named pipe (FIFO)" in refused("run", tmp_path / "pipe.xlsx",
                                                          "--no-report", timeout=30)
    assert time.perf_counter() - started < 30
    assert "pipe.yaml: is a named pipe (FIFO)" in report_of(tmp_path / "pipe.yaml")


def test_devices_and_folders_are_refused_without_reading(tmp_path):
    """A symlink out of the folder is refused as such; read_bounded itself refuses a device."""
    assert loading.read_bounded(Path("/dev/zero"), 10, "a CSV file") == \
        "is a character device, not a file saved on disk"
    assert loading.read_bounded(tmp_path, 10, "a CSV file") == \
        "is a folder, not a file saved on disk"


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes taking no disk space (its size is all the check looks at)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_files_over_the_size_limits_are_refused_before_reading(tmp_path):
    folder = copy_example(tmp_path)
    sparse(folder / "distances.csv", loading.MAX_CSV_BYTES + 1)
    assert ("distances.csv: is larger than 100 MB, the limit for a CSV file (100,000,001 bytes)"
            in refused("validate", folder))
    manifest = sparse(tmp_path / "big.yaml", loading.MAX_MANIFEST_BYTES + 1)
    assert ("big.yaml: is larger than 10 MB, the limit for a manifest (10,000,001 bytes)"
            in report_of(manifest))
    book = sparse(tmp_path / "big.xlsx", loading.MAX_WORKBOOK_BYTES + 1)
    assert ("big.xlsx: is larger than 100 MB, the limit for a workbook (100,000,001 bytes)"
            in report_of(book))


def test_a_workbook_unpacking_beyond_the_limit_is_refused_before_openpyxl_reads_it(tmp_path):
    """A shared-strings bomb: 1.3 MB on disk, one text of 301 million characters unpacked.
    openpyxl took gigabytes over it; the zip directory's declared sizes refuse it at once."""
    source = write_workbook(tmp_path / "small.xlsx", SMALL, POLICY)
    book = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for part in original.namelist():
            bomb.writestr(part, original.read(part))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                          b'main" count="1" uniqueCount="1"><si><t>')
            for _ in range(301):
                strings.write(b"x" * 1_000_000)
            strings.write(b"</t></si></sst>")
    assert book.stat().st_size < 2_000_000
    started = time.perf_counter()
    shown = refused("validate", book)
    assert "bomb.xlsx: unpacks to 301 MB (an .xlsx file is a zip of XML parts): the limit is " \
        "300 MB" in shown
    assert time.perf_counter() - started < 20


@pytest.fixture
def three_rows(monkeypatch):
    """A table limit of 3 rows, to test the limit of a million in-process and fast."""
    monkeypatch.setattr(loading, "MAX_TABLE_ROWS", 3)


def test_rows_beyond_the_table_limit_in_a_csv_file(make_instance, three_rows):
    """Blank rows do not count; reading stops at the first row over (line 6 here)."""
    tables = copy.deepcopy(SMALL)
    tables["consortia"] += [{"consortium": f"C{n}", "authority": "E08000001"} for n in range(3)]
    folder = make_instance(tables, POLICY)
    text = (folder / "consortia.csv").read_text().replace("\n", "\n\n", 1)  # a blank line 2
    (folder / "consortia.csv").write_text(text)
    report = report_of(folder)
    assert ("consortia.csv, row 6: more than 3 rows: the limit for a table (rows holding a "
            "value); nothing after this row was read") in report
    assert report.startswith("1 problem found:")  # the table is not read, so no other problem


def test_rows_beyond_the_table_limit_in_a_sheet_and_an_inline_table(tmp_path, three_rows):
    tables = copy.deepcopy(SMALL)
    tables["consortia"] += [{"consortium": f"C{n}", "authority": "E08000001"} for n in range(2)]
    book = write_workbook(tmp_path / "book.xlsx", tables, POLICY)
    assert "book.xlsx, sheet consortia, row 5: more than 3 rows" in report_of(book)
    manifest = write_inline_manifest(tmp_path / "m.yaml", tables, POLICY)
    assert "m.yaml (consortia), row 4: more than 3 rows: the limit for a table" in \
        report_of(manifest)
    del tables["consortia"][-1]
    manifest = write_inline_manifest(tmp_path / "m.yaml", tables, POLICY)
    assert len(load_instance(manifest).consortia) == 3  # the limit itself is allowed


@pytest.mark.slow
def test_a_million_and_one_rows_are_refused(tmp_path):
    """The real limit through the command: 11 s, most of it reading a million rows."""
    folder = copy_example(tmp_path)
    (folder / "consortia.csv").write_text("consortium,authority\n" + "c,A1\n" * 1_000_001)
    assert "consortia.csv, row 1000002: more than 1,000,000 rows" in refused("validate", folder)


def test_a_cell_over_the_length_limit_is_named(tmp_path, make_instance):
    """A 40,000-character name loaded; a 200,000-character one (beyond the csv module's own
    cap) stopped the file with the csv module's words."""
    tables = copy.deepcopy(SMALL)
    tables["providers"][0]["name"] = "n" * 40_000
    folder = make_instance(tables, POLICY)
    assert ("providers.csv, row 2, column name: text of more than 32,767 characters (as in "
            "Excel, the limit of a cell)") in refused("validate", folder)
    tables["providers"][0]["name"] = "n" * 200_000
    folder = make_instance(tables, POLICY)
    assert "providers.csv, row 2: cannot be read as CSV: more than 32,767 characters" in \
        report_of(folder)
    manifest = write_inline_manifest(tmp_path / "m.yaml", tables, POLICY)
    assert "m.yaml (providers), row 1, column name: text of more than 32,767 characters" in \
        report_of(manifest)


def test_a_fault_in_every_row_lists_the_first_50_problems_and_counts_the_rest(tmp_path):
    folder = copy_example(tmp_path)
    rows = "".join(f"A1,foster_standard,many{n}\n" for n in range(500))
    (folder / "demand.csv").write_text("authority,placement_type,places\n" + rows)
    result = run_optimise("validate", folder)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 500 problems found:"
    assert lines[1] == "  - demand.csv, row 2, column places: not a number: 'many0'"
    assert lines[50] == "  - demand.csv, row 51, column places: not a number: 'many49'"
    assert lines[51:] == ["  ... and 450 more problems (the first 50 are listed)"]


def test_a_fault_in_every_row_keeps_only_the_shown_problems(tmp_path, make_instance):
    """A million unknown ids among many providers took hours (a did-you-mean each); only the
    50 shown are worded, the rest counted."""
    tables = copy.deepcopy(SMALL)
    tables["providers"] += [{"id": f"Q{n}", "lat": 53.5, "lon": -2.2} for n in range(500)]
    tables["offers"] += [{"provider": f"X{n}", "placement_type": "foster", "capacity": 1,
                          "weekly_price": 1} for n in range(20_000)]
    folder = make_instance(tables, POLICY)
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        load_instance(folder)
    assert time.perf_counter() - started < 20  # 20,000 suggestions among 502 ids: minutes
    assert caught.value.count == 20_000 and len(caught.value.problems) == 50


def zip_with_sheet(source: Path, target: Path, sheet_xml: bytes, part: str) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as rebuilt:
        for name in original.namelist():
            rebuilt.writestr(name, sheet_xml if name == part else original.read(name))
    return target


def sheet_part(book: Path, title: str) -> str:
    workbook = openpyxl.load_workbook(book, read_only=True)
    return workbook[title]._worksheet_path


SHEET = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         b'<dimension ref="A1:B2"/><sheetData>%s</sheetData></worksheet>')


def test_a_row_beyond_excel_last_row_is_refused(tmp_path):
    """A row numbered 5,000,000 (no sheet Excel writes has one) is refused, not read through
    millions of blank rows."""
    book = write_workbook(tmp_path / "book.xlsx", SMALL, POLICY)
    rows = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>consortium</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>authority</t></is></c></row>'
            b'<row r="5000000"><c r="A5000000" t="inlineStr"><is><t>x</t></is></c></row>')
    damaged = zip_with_sheet(book, tmp_path / "far.xlsx", SHEET % rows,
                             sheet_part(book, "consortia"))
    started = time.perf_counter()
    assert "far.xlsx, sheet consortia: a row beyond row 1,048,576, the last of an Excel sheet" in \
        report_of(damaged)
    assert time.perf_counter() - started < 10


def test_a_cell_far_right_and_a_wrong_dimension(tmp_path):
    """A value in column XFD (16,384) is named; the sheet's <dimension> says A1:B2, which
    read-only openpyxl would trust and cut row 3 and column C off."""
    book = write_workbook(tmp_path / "book.xlsx", SMALL, POLICY)
    rows = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>consortium</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>authority</t></is></c></row>'
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>GM</t></is></c>'
            b'<c r="B2" t="inlineStr"><is><t>E08000001</t></is></c>'
            b'<c r="XFD2"><v>7</v></c></row>'
            b'<row r="3"><c r="A3" t="inlineStr"><is><t>GM</t></is></c>'
            b'<c r="B3" t="inlineStr"><is><t>nobody</t></is></c>'
            b'<c r="C3" t="inlineStr"><is><t>stray</t></is></c></row>')
    odd = zip_with_sheet(book, tmp_path / "odd.xlsx", SHEET % rows, sheet_part(book, "consortia"))
    report = report_of(odd)
    assert ("odd.xlsx, sheet consortia, row 2, column #16384: value 7 in a column with no name "
            "in row 1") in report
    assert "odd.xlsx, sheet consortia, row 3, column #3: value 'stray' in a column with no name" \
        in report
    assert "odd.xlsx, sheet consortia, row 3, column authority: unknown authority 'nobody'" in \
        report
