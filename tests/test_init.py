"""`optimise init`: templates that validate as they are, follow the schema, and solve once
filled (the example instance typed into the workbook gives the example's hand optimum)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main
from optimiser.schema import TABLES, Kind, Policy, Rating

#: tests/test_example.py works the example's optimum out by hand
HAND_OPTIMUM = 3_456_060.0


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_csv_template_validates_as_is(tmp_path):
    folder = tmp_path / "my-consortium"
    result = invoke("init", folder)
    assert result.exit_code == 0, result.output
    validated = invoke("validate", folder)
    assert validated.exit_code == 0, validated.output
    assert "valid (1 authority, 1 provider, 1 offer, 1 placement type)" in validated.output
    manifest = yaml.safe_load((folder / "instance.yaml").read_text())
    assert manifest["name"] == "my-consortium"
    assert manifest["tables"] == {t: f"{t}.csv" for t in TABLES}
    for table, spec in TABLES.items():
        with open(folder / f"{table}.csv", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == list(spec.row.model_fields)
    # every policy key is offered (commented out, so its default applies)
    text = (folder / "instance.yaml").read_text()
    assert all(f"# {key}:" in text for key in Policy.model_fields)
    assert "| kind | one of: independent, voluntary, in_house | independent |" in (
        folder / "INSTRUCTIONS.md").read_text()


def test_xlsx_template_validates_as_is_and_follows_the_schema(tmp_path):
    result = invoke("init", tmp_path / "nw", "--xlsx")
    assert result.exit_code == 0, result.output
    workbook = tmp_path / "nw" / "nw.xlsx"
    validated = invoke("validate", workbook)
    assert validated.exit_code == 0, validated.output
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == ["instructions", *TABLES, "policy"]
    for table, spec in TABLES.items():
        header = [c.value for c in book[table][1]]
        assert header == list(spec.row.model_fields)
        assert all(c.comment is not None for c in book[table][1])  # each column's meaning
    keys = [r[0] for r in book["policy"].iter_rows(min_row=2, values_only=True)]
    assert keys == list(Policy.model_fields)


def drop_downs(sheet) -> dict[str, str]:
    """Column letter -> the list a cell of that column offers."""
    return {str(v.sqref).split(":")[0].rstrip("0123456789"): v.formula1
            for v in sheet.data_validations.dataValidation if v.type == "list"}


def test_enumerated_columns_offer_their_values(tmp_path):
    invoke("init", tmp_path / "t", "--xlsx")
    book = openpyxl.load_workbook(tmp_path / "t" / "t.xlsx")
    header = [c.value for c in book["providers"][1]]
    lists = drop_downs(book["providers"])
    column = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    assert lists[column["kind"]] == '"' + ",".join(k.value for k in Kind) + '"'
    assert lists[column["rating"]] == '"' + ",".join(r.value for r in Rating) + '"'
    assert set(lists) == {column["kind"], column["rating"]}
    tiers = [c.value for c in book["tiers"][1]]
    assert drop_downs(book["tiers"]) == {
        openpyxl.utils.get_column_letter(tiers.index("guarantee") + 1): '"true,false"'}
    policy = {str(v.sqref): v.formula1
              for v in book["policy"].data_validations.dataValidation if v.type == "list"}
    voice_row = 2 + list(Policy.model_fields).index("voice")
    assert policy[f"B{voice_row}"] == '"volume,equal,maxmin"'


def fill(workbook: Path, instance: Path) -> None:
    """Type an instance's CSV tables and policy into the template, replacing its examples."""
    book = openpyxl.load_workbook(workbook)
    manifest = yaml.safe_load((instance / "instance.yaml").read_text())
    for table in TABLES:
        sheet = book[table]
        header = [c.value for c in sheet[1]]
        sheet.delete_rows(2, sheet.max_row)
        if table not in manifest["tables"]:
            continue
        with open(instance / manifest["tables"][table], encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                sheet.append([row.get(column) or None for column in header])
    rows = {r[0].value: r[1] for r in book["policy"].iter_rows(min_row=2)}
    for key, value in manifest.get("policy", {}).items():
        rows[key].value = value
    book.save(workbook)


def test_filled_template_solves_to_the_examples_optimum(tmp_path):
    invoke("init", tmp_path / "example", "--xlsx")
    workbook = tmp_path / "example" / "example.xlsx"
    fill(workbook, EXAMPLE)
    assert invoke("validate", workbook).exit_code == 0
    results = {}
    for name, source in (("xlsx", workbook), ("csv", EXAMPLE)):
        result = invoke("run", source, "--out", tmp_path / name, "--json", "--no-report",
                        "--no-investment", "--quiet")
        assert result.exit_code == 0, result.output
        results[name] = json.loads(result.output)
    assert results["xlsx"]["totals"]["annual_cost"] == pytest.approx(HAND_OPTIMUM, abs=0.01)
    assert results["xlsx"]["totals"] == results["csv"]["totals"]
    for name in ("assignment.csv", "authorities.csv", "providers.csv"):
        assert (tmp_path / "xlsx" / name).read_text() == (tmp_path / "csv" / name).read_text()


def test_init_refuses_a_folder_in_use(tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = invoke("init", folder)
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert (folder / "notes.txt").read_text() == "mine"  # untouched
    assert invoke("init", folder, "--force").exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["INSTRUCTIONS.md", "instance.yaml", *(f"{t}.csv" for t in TABLES)])
    file = tmp_path / "a-file"
    file.write_text("x")
    assert invoke("init", file).exit_code == 2


def test_workbook_template_bytes_are_stable(tmp_path):
    for name in ("one", "two"):
        invoke("init", tmp_path / name / "same", "--xlsx")
    one, two = (tmp_path / n / "same" / "same.xlsx" for n in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()
