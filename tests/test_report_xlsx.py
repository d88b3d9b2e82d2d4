"""report.xlsx: read back with openpyxl, every sheet equals its CSV file cell for cell."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main
from optimiser.reports.xlsx import NAME_COLUMNS, plain

RUN_SHEETS = ["Summary", "Authorities", "Providers", "Assignment", "Gaps", "Sufficiency",
              "Investment", "Tiers", "Policy"]
CSV_OF = {"Authorities": "authorities.csv", "Providers": "providers.csv",
          "Assignment": "assignment.csv", "Gaps": "gaps.csv", "Sufficiency": "sufficiency.csv",
          "Investment": "investment.csv"}


def same(cell: object, text: str) -> bool:
    """A workbook cell holds the CSV's value: the same number, boolean, text or blank."""
    if cell is None:
        return text == ""
    if isinstance(cell, bool):
        return text == ("true" if cell else "false")
    if isinstance(cell, (int, float)):
        return text != "" and float(text) == cell
    return cell == text


def assert_sheet_equals_csv(sheet, text: str) -> None:
    expected = list(csv.reader(io.StringIO(text)))
    got = [list(row) for row in sheet.iter_rows(values_only=True)]
    # the names the workbook sets beside ids are no CSV column
    added = {plain(c) for c in NAME_COLUMNS.values()}
    got = [[v for v, h in zip(row, got[0]) if h not in added] for row in got]
    assert got[0] == [plain(c) for c in expected[0]]  # the header, in plain English
    assert len(got) == len(expected)
    for number, (row, line) in enumerate(zip(got[1:], expected[1:]), start=2):
        for column, cell, value in zip(expected[0], row, line):
            assert same(cell, value), (sheet.title, number, column, cell, value)


def formats(sheet) -> dict[str, str]:
    """Number format of each column, read on its first data row."""
    header = [c.value for c in sheet[1]]
    return {name: sheet.cell(2, i).number_format for i, name in enumerate(header, start=1)}


@pytest.fixture(scope="module")
def example_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xlsx") / "r"
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_example_workbook_round_trips(example_results):
    book = openpyxl.load_workbook(example_results / "report.xlsx")
    assert book.sheetnames == RUN_SHEETS
    for title, file in CSV_OF.items():
        assert_sheet_equals_csv(book[title], (example_results / file).read_text("utf-8"))
        assert book[title].freeze_panes == "A2"
    summary = json.loads((example_results / "summary.json").read_text())
    figures = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    for key, value in summary["totals"].items():
        assert figures[plain(key)] == value, key
    for key, value in summary["fairness"].items():
        assert figures[plain(key)] == value, key
    assert figures["Annual cost"] == pytest.approx(3_456_060.0, abs=0.01)  # the hand optimum
    tiers = [list(r) for r in book["Tiers"].iter_rows(min_row=2, values_only=True)]
    assert tiers == [["F1", "Northern Fostering Agency", None, 22.0, 15.0, True, 20.0, 2.0,
                      70720.0]]
    policy = {k: v for k, v in book["Policy"].iter_rows(min_row=2, values_only=True)}
    assert policy == summary["policy"]


def test_numbers_display_in_pounds_and_percent(example_results):
    book = openpyxl.load_workbook(example_results / "report.xlsx")
    authorities = formats(book["Authorities"])
    assert authorities["Annual cost"] == authorities["Saving"] == "£#,##0;-£#,##0"
    # saving_pct is 0-100 in the CSV and stays so: a literal % sign, no scaling
    assert authorities["Saving %"] == '0.0"%"'
    assert authorities["Local share"] == "0.0%"  # a 0-1 share: Excel's own percent
    assert authorities["Demand"] == "#,##0.0"
    assert formats(book["Assignment"])["Weekly price"] == "£#,##0.00;-£#,##0.00"
    # ids stay text even where they look like numbers, and columns are wide enough to read
    assert book["Authorities"]["A2"].data_type == "s"
    assert book["Authorities"].column_dimensions["B"].width >= len("Northtown")


def test_north_west_workbook_round_trips(north_west_results):
    book = openpyxl.load_workbook(north_west_results / "report.xlsx")
    assert book.sheetnames == RUN_SHEETS
    for title, file in CSV_OF.items():
        assert_sheet_equals_csv(book[title], (north_west_results / file).read_text("utf-8"))
    assert book["Assignment"].max_row == 1 + len(
        (north_west_results / "assignment.csv").read_text().splitlines()[1:])


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    folder = tmp_path / "instance"
    shutil.copytree(EXAMPLE, folder)
    formula = '=HYPERLINK("http://127.0.0.1/","click")'
    providers = folder / "providers.csv"
    providers.write_text(providers.read_text().replace(
        "Northern Fostering Agency", '"' + formula.replace('"', '""') + '"'))
    authorities = folder / "authorities.csv"
    authorities.write_text(authorities.read_text().replace("Smallham", "+Smallham")
                           .replace("Westby", "@Westby"))
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(out), "--quiet",
                                       "--no-investment"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out / "report.xlsx")
    names = {c.value: c for c in book["Providers"]["B"][1:]}
    cell = next(c for v, c in names.items() if "HYPERLINK" in v)
    assert cell.data_type == "s"  # text, not a formula
    csv_names = [r["name"] for r in csv.DictReader(io.StringIO(
        (out / "providers.csv").read_text("utf-8")))]
    assert cell.value in csv_names  # and the CSV's very value
    authority_names = {c.value for c in book["Authorities"]["B"][1:]}
    assert any("Smallham" in n for n in authority_names)
    with zipfile.ZipFile(out / "report.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)


def test_headers_in_plain_english_with_names_beside_ids(example_results):
    """Issue 13: a reader of report.xlsx sees "Annual cost", not annual_cost, and the
    authority's and provider's names beside their ids."""
    book = openpyxl.load_workbook(example_results / "report.xlsx")
    assignment = book["Assignment"]
    header = [c.value for c in assignment[1]]
    assert header[:5] == ["Authority", "Authority name", "Provider", "Provider name",
                          "Placement type"]
    assert "Distance (km)" in header and "Annual cost" in header
    assert [c.value for c in assignment[2]][:4] == ["A1", "Northtown", "H1",
                                                   "Northtown in-house fostering"]
    assert [c.value for c in book["Gaps"][1]][:2] == ["Authority", "Authority name"]
    labels = [row[0] for row in book["Summary"].iter_rows(min_row=2, values_only=True)]
    assert {"MIP gap", "Saving %", "Local radius (km)", "Price of fairness"} <= set(labels)
    for sheet in book.worksheets:
        headers = [c.value for c in sheet[1]]
        assert not any("_" in h for h in headers), (sheet.title, headers)
    assert not any("_" in label for label in labels)
