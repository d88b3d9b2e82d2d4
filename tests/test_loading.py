"""Loading an instance from a folder, a manifest with inline tables and an Excel workbook.

The file-level problems (unreadable files, bad manifests, bad workbooks) are tested here; the
rules on values, ids and tables are in ``test_validation.py``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import unwrapped

from cli import main
from optimiser.errors import InputError
from optimiser.loading import load_instance

# A small instance touching every table, with blanks, booleans, an in-house provider and a
# provider placed by distances only (no coordinates).
SMALL: dict[str, list[dict]] = {
    "placement_types": [
        {"id": "foster", "name": "Standard fostering", "specialist": False,
         "emergency_weekly_price": 1500, "case_management_weekly": 120},
        {"id": "residential", "name": None, "specialist": True,
         "emergency_weekly_price": 9000, "case_management_weekly": None},
    ],
    "authorities": [
        {"id": "E08000001", "name": "Bolton", "region": "North West", "lat": 53.58, "lon": -2.43,
         "min_local_share": 0.5},
        {"id": "E08000002", "name": "Bury", "region": None, "lat": 53.59, "lon": -2.30,
         "min_local_share": None},
    ],
    "demand": [
        {"authority": "E08000001", "placement_type": "foster", "places": 40.5, "sd": 4},
        {"authority": "E08000002", "placement_type": "foster", "places": 12, "sd": None},
        {"authority": "E08000002", "placement_type": "residential", "places": 2.25, "sd": None},
    ],
    "providers": [
        {"id": "P1", "name": "Acme Fostering", "kind": "independent", "owner": None,
         "lat": 53.5, "lon": -2.2, "rating": "good", "contract_cost_year": 5000,
         "min_places": None, "max_places": 60},
        {"id": "P2", "name": None, "kind": "in_house", "owner": "E08000001",
         "lat": None, "lon": None, "rating": "outstanding", "contract_cost_year": None,
         "min_places": 1, "max_places": None},
    ],
    "offers": [
        {"provider": "P1", "placement_type": "foster", "capacity": 50, "weekly_price": 850.5,
         "breakdown_rate": 0.1},
        {"provider": "P1", "placement_type": "residential", "capacity": 3, "weekly_price": 5000,
         "breakdown_rate": None},
        {"provider": "P2", "placement_type": "foster", "capacity": 10, "weekly_price": 600,
         "breakdown_rate": None},
    ],
    "tiers": [
        {"provider": "P1", "placement_type": "foster", "min_places": 10, "discount_pct": 2,
         "guarantee": False},
        {"provider": "P1", "placement_type": "foster", "min_places": 30, "discount_pct": 5,
         "guarantee": True},
    ],
    "distances": [
        {"authority": "E08000001", "provider": "P2", "km": 3, "extra_cost_year": None},
        {"authority": "E08000002", "provider": "P2", "km": 12.5, "extra_cost_year": 100},
    ],
    "substitutions": [{"need": "foster", "served_by": "residential"}],
    "consortia": [
        {"consortium": "GM", "authority": "E08000001"},
        {"consortium": "GM", "authority": "E08000002"},
    ],
}
POLICY = {"local_radius_km": 30, "voice": "equal", "share_in_house": True}


def write_inline_manifest(path: Path, tables: dict, policy: dict | None = None, **extra) -> Path:
    """A manifest holding every table inline; blank (None) cells are left out of the items."""
    document = {"name": "test", **extra, "tables": {
        name: [{k: v for k, v in row.items() if v is not None} for row in rows]
        for name, rows in tables.items()
    }}
    if policy:
        document["policy"] = policy
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_workbook(path: Path, tables: dict, policy: dict | None = None, extra_sheets=()) -> Path:
    """The instance as an .xlsx workbook: one sheet per table plus ``policy``."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title in extra_sheets:
        workbook.create_sheet(title)["A1"] = "anything at all"
    for name, rows in tables.items():
        sheet = workbook.create_sheet(name)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c) for c in columns])
    if policy:
        sheet = workbook.create_sheet("policy")
        sheet.append(["key", "value"])
        for key, value in policy.items():
            sheet.append([key, value])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def problems_of(path, **kwargs) -> str:
    """The report of the InputError that loading ``path`` must raise."""
    with pytest.raises(InputError) as caught:
        load_instance(path, **kwargs)
    return caught.value.report()


def validate_cli(path) -> object:
    return CliRunner().invoke(main, ["validate", str(path)])


def assert_rejected(path, *expected: str) -> None:
    """Loading fails naming each ``expected`` text, and ``validate`` exits 2 without a traceback."""
    report = problems_of(path)
    for text in expected:
        assert text in report, f"{text!r} not in:\n{report}"
    result = validate_cli(path)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    shown = unwrapped(result.output)
    for text in expected:
        assert text in shown, f"{text!r} not in CLI output:\n{result.output}"


def without_source(instance):
    return dataclasses.replace(instance, source="")


# The three formats -----------------------------------------------------------------------------


def test_folder_manifest_and_workbook_load_to_equal_instances(make_instance, tmp_path):
    folder = make_instance(SMALL, POLICY, name="test")
    manifest = write_inline_manifest(tmp_path / "inline" / "small.yaml", SMALL, POLICY)
    workbook = write_workbook(tmp_path / "book" / "test.xlsx", SMALL, POLICY)

    from_folder = load_instance(folder)
    from_manifest = load_instance(manifest)
    from_workbook = load_instance(workbook)

    assert without_source(from_folder) == without_source(from_manifest)
    assert without_source(from_folder) == without_source(from_workbook)
    assert from_workbook.source == str(workbook)


def test_loaded_instance_has_typed_rows_defaults_and_policy(make_instance):
    instance = load_instance(make_instance(SMALL, POLICY, name="Greater Manchester"))

    assert instance.name == "Greater Manchester"
    assert instance.description == ""
    assert list(instance.authorities) == ["E08000001", "E08000002"]  # file order
    assert instance.placement_types["residential"].name == "residential"  # name defaults to id
    assert instance.placement_types["residential"].case_management_weekly == 0.0
    assert instance.providers["P2"].kind == "in_house" and instance.providers["P2"].owner == "E08000001"
    assert instance.providers["P1"].min_places == 0.0
    assert instance.offers[1].breakdown_rate == 0.0
    assert instance.tiers[1].guarantee is True and instance.tiers[0].guarantee is False
    assert instance.demand[0].places == 40.5 and instance.demand[1].sd is None
    assert instance.policy.local_radius_km == 30 and instance.policy.voice == "equal"
    assert instance.policy.share_in_house is True
    assert instance.policy.weeks_per_year == 52  # untouched keys keep their default
    assert instance.consortium("GM") == ["E08000001", "E08000002"]
    assert instance.warnings == ()


def test_manifest_name_and_description_or_folder_name(tmp_path):
    tables = {k: SMALL[k] for k in ("placement_types", "authorities", "demand", "providers", "offers", "distances")}
    named = write_inline_manifest(tmp_path / "a" / "x.yaml", tables, description="A test.")
    assert load_instance(named).description == "A test."
    unnamed = tmp_path / "north-west" / "instance.yaml"
    write_inline_manifest(unnamed, tables)
    unnamed.write_text(unnamed.read_text().replace("name: test\n", ""))
    assert load_instance(unnamed.parent).name == "north-west"
    assert load_instance(unnamed).name == "north-west"


def test_workbook_whole_float_id_reads_as_text_and_name_is_file_stem(tmp_path):
    tables = {k: [dict(r) for r in v] for k, v in SMALL.items()}
    tables["providers"][0]["id"] = 12.0  # Excel holds every number as a float
    for row in tables["offers"][:2] + tables["tiers"]:
        row["provider"] = 12
    instance = load_instance(write_workbook(tmp_path / "GM framework.xlsx", tables))
    assert list(instance.providers) == ["12", "P2"]
    assert instance.offers[0].provider == "12"
    assert instance.name == "GM framework"


def test_workbook_ignores_instruction_sheets(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL, extra_sheets=("Instructions", "README", "notes"))
    assert len(load_instance(path).providers) == 2


def test_csv_with_bom_blank_lines_and_spaces(make_instance):
    folder = make_instance(SMALL)
    path = folder / "demand.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # a BOM, a fully blank line, a line of empty cells and padded cells all read fine
    text = "\n".join([lines[0], "", lines[1], ",,,", " E08000002 , foster , 12 ,", lines[3]]) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    instance = load_instance(folder)
    assert [d.places for d in instance.demand] == [40.5, 12, 2.25]
    assert instance.demand[1].authority == "E08000002"


def test_blank_lines_keep_file_line_numbers(make_instance):
    folder = make_instance(SMALL)
    path = folder / "demand.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",12,", ",twelve,")
    path.write_text("\n".join([lines[0], "", "", *lines[1:]]) + "\n", encoding="utf-8")
    # the bad row is line 5 of the file once two blank lines sit above it
    assert_rejected(folder, "demand.csv, row 5, column places: not a number: 'twelve'")


def test_csv_paths_may_sit_in_subfolders(make_instance):
    folder = make_instance(SMALL)
    (folder / "data").mkdir()
    (folder / "offers.csv").rename(folder / "data" / "offers.csv")
    manifest = folder / "instance.yaml"
    manifest.write_text(manifest.read_text().replace("offers: offers.csv", "offers: data/offers.csv"))
    assert len(load_instance(folder).offers) == 3


def test_policy_overrides_replace_manifest_values(make_instance):
    folder = make_instance(SMALL, POLICY)
    instance = load_instance(folder, policy_overrides={"voice": "maxmin", "integer_places": "true"})
    assert instance.policy.voice == "maxmin"
    assert instance.policy.integer_places is True
    assert instance.policy.local_radius_km == 30


# Problems with files ---------------------------------------------------------------------------


def test_path_that_is_no_instance(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_rejected(tmp_path / "empty", "no instance.yaml in this folder")
    (tmp_path / "demand.csv").write_text("a,b\n")
    assert_rejected(tmp_path / "demand.csv", "demand.csv: not an instance")


def test_missing_csv_file(make_instance):
    folder = make_instance(SMALL)
    (folder / "offers.csv").unlink()
    assert_rejected(folder, "offers.csv: file not found (table offers in instance.yaml)")


def test_csv_not_utf8(make_instance):
    folder = make_instance(SMALL)
    (folder / "authorities.csv").write_bytes("id,name\nE1,Bolton \xa3\n".encode("latin-1"))
    report = problems_of(folder)
    assert "authorities.csv: not UTF-8 text" in report
    assert "save it as CSV UTF-8" in report
    # unreadable, not missing: no second problem about the table
    assert "required table 'authorities'" not in report
    assert_rejected(folder, "authorities.csv: not UTF-8 text")


def test_empty_csv_file(make_instance):
    folder = make_instance(SMALL)
    (folder / "tiers.csv").write_text("")
    assert_rejected(folder, "tiers.csv: empty: no header row and no data")


def test_duplicate_header_names(make_instance):
    folder = make_instance(SMALL)
    (folder / "offers.csv").write_text(
        "provider,placement_type,capacity,capacity,weekly_price\nP1,foster,5,6,100\n"
    )
    assert_rejected(folder, "offers.csv, row 1, column capacity: duplicate column name (also column 3)")


def test_csv_row_with_too_many_cells(make_instance):
    folder = make_instance(SMALL)
    (folder / "consortia.csv").write_text("consortium,authority\nGM,E08000001,extra\n")
    # as in a workbook: the cell is named, rather than the whole file refused
    assert_rejected(
        folder, "consortia.csv, row 2, column #3: value 'extra' in a column with no name in row 1",
    )


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntables:\n  demand: [a, b\n")
    assert_rejected(path, "bad.yaml: YAML syntax error at line 4")


def test_manifest_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- placement_types.csv\n- demand.csv\n")
    assert_rejected(path, "list.yaml: must be a mapping with keys name, description, tables, policy, got list")
    (tmp_path / "empty.yml").write_text("")
    assert_rejected(tmp_path / "empty.yml", "empty.yml: empty manifest")


def test_manifest_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: Bury \xa3\n".encode("latin-1"))
    assert_rejected(path, "latin.yaml: not UTF-8 text")


def test_manifest_unknown_key(tmp_path):
    path = write_inline_manifest(tmp_path / "m.yaml", SMALL, polcy={"voice": "equal"})
    assert_rejected(path, "m.yaml, column polcy: unknown key 'polcy' (did you mean 'policy'?)")


def test_manifest_unknown_table(tmp_path):
    path = write_inline_manifest(tmp_path / "m.yaml", {**SMALL, "tier": SMALL["tiers"]})
    assert_rejected(path, "m.yaml, column tables: unknown table 'tier' (did you mean 'tiers'?)")


def test_table_neither_path_nor_list_of_mappings(tmp_path):
    path = write_inline_manifest(tmp_path / "m.yaml", SMALL)
    document = yaml.safe_load(path.read_text())
    document["tables"]["tiers"] = {"provider": "P1"}
    document["tables"]["consortia"] = ["GM", {"consortium": "GM", "authority": "E08000001"}]
    path.write_text(yaml.safe_dump(document))
    assert_rejected(
        path,
        "m.yaml, column tables: table tiers must be a CSV path or a list of mappings, got {'provider': 'P1'}",
        "m.yaml (consortia), row 1: must be a mapping of column: value, got 'GM'",
    )


def test_csv_path_absolute_escaping_or_symlinked_out(make_instance, tmp_path):
    folder = make_instance(SMALL)
    outside = tmp_path / "outside.csv"
    outside.write_text((folder / "consortia.csv").read_text())
    (folder / "link.csv").symlink_to(outside)
    manifest = folder / "instance.yaml"
    text = manifest.read_text()
    text = text.replace("offers: offers.csv", f"offers: {folder / 'offers.csv'}")
    text = text.replace("tiers: tiers.csv", "tiers: ../outside.csv")
    text = text.replace("consortia: consortia.csv", "consortia: link.csv")
    manifest.write_text(text)
    assert_rejected(
        folder,
        f"instance.yaml: table offers: '{folder / 'offers.csv'}' must be a path relative to the manifest",
        "instance.yaml: table tiers: '../outside.csv' must stay inside the instance folder",
        "instance.yaml: table consortia: 'link.csv' must stay inside the instance folder",
    )


# Workbooks -------------------------------------------------------------------------------------


def test_workbook_unknown_sheet(tmp_path):
    tables = {("Demand" if k == "demand" else k): v for k, v in SMALL.items()}
    path = write_workbook(tmp_path / "b.xlsx", tables)
    assert_rejected(
        path,
        "b.xlsx, sheet Demand: unknown sheet 'Demand' (did you mean 'demand'?)",
        "b.xlsx: required table 'demand' is missing",
    )


def test_workbook_cell_problem_names_sheet_row_and_column(tmp_path):
    tables = {k: [dict(r) for r in v] for k, v in SMALL.items()}
    tables["offers"][2]["capacity"] = -3
    tables["providers"][1]["rating"] = "Good"
    assert_rejected(
        write_workbook(tmp_path / "b.xlsx", tables),
        "b.xlsx, sheet offers, row 4, column capacity: must be >= 0, got -3",
        "b.xlsx, sheet providers, row 3, column rating: must be one of outstanding, good, "
        "requires_improvement, inadequate, unrated, got 'Good'",
    )


def test_workbook_blank_rows_are_skipped_and_rows_keep_sheet_numbers(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["demand"]
    sheet.insert_rows(3, amount=2)  # rows 3 and 4 are now blank
    sheet["C6"] = "lots"  # the last demand row, once row 4, is now row 6
    workbook.save(path)
    assert_rejected(path, "b.xlsx, sheet demand, row 6, column places: not a number: 'lots'")
    sheet["C6"] = 2.25
    workbook.save(path)
    assert len(load_instance(path).demand) == 3


def test_workbook_formula_without_saved_value(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL)
    workbook = openpyxl.load_workbook(path)
    workbook["offers"]["C3"] = "=B2*2"  # openpyxl saves no computed value
    workbook.save(path)
    assert_rejected(
        path,
        "b.xlsx, sheet offers, row 3, column capacity: a formula with no saved value: "
        "save the workbook in Excel first",
    )


def test_workbook_policy_sheet_problems(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL, {"voice": "loudest", "road_facter": 1.3,
                                                       "time_limit_s": None})
    assert_rejected(
        path,
        "b.xlsx, sheet policy, row 2, column value: policy voice: must be one of volume, equal, "
        "maxmin, got 'loudest'",
        "b.xlsx, sheet policy, row 3, column key: unknown policy key 'road_facter' "
        "(did you mean 'road_factor'?)",
    )


def test_workbook_policy_values(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL, {"integer_places": True, "mip_gap": 0.01,
                                                       "time_limit_s": None})
    policy = load_instance(path).policy
    assert policy.integer_places is True and policy.mip_gap == 0.01 and policy.time_limit_s == 120


def test_workbook_duplicate_policy_key(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL, {"voice": "equal"})
    workbook = openpyxl.load_workbook(path)
    workbook["policy"].append(["voice", "maxmin"])
    workbook.save(path)
    assert_rejected(path, "b.xlsx, sheet policy, row 3, column key: duplicate of row 2 (key 'voice')")


def test_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("id,name\n")
    assert_rejected(path, "fake.xlsx: not a readable .xlsx workbook")


# Policy overrides ------------------------------------------------------------------------------


def test_policy_override_problems_name_set_and_key(make_instance):
    folder = make_instance(SMALL)
    report = problems_of(folder, policy_overrides={"time_limit_s": "soon", "vioce": "equal"})
    assert "--set, column time_limit_s: policy time_limit_s: not a number: 'soon'" in report
    assert "--set, column vioce: unknown policy key 'vioce' (did you mean 'voice'?)" in report


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_inside_folder_is_fine(make_instance):
    folder = make_instance(SMALL)
    (folder / "consortia.csv").rename(folder / "members.csv")
    (folder / "consortia.csv").symlink_to(folder / "members.csv")
    assert len(load_instance(folder).consortia) == 2


# Found by fuzzing (tests/test_fuzz.py): each was a traceback, a hang or a misread ---------------


def _manifest_with(folder: Path, table: str, path: str) -> None:
    manifest = folder / "instance.yaml"
    document = yaml.safe_load(manifest.read_text())
    document["tables"][table] = path
    manifest.write_text(yaml.safe_dump(document))


@pytest.mark.parametrize("path, message", [
    ("nul\0.csv", "is not a usable path (it holds a NUL character)"),  # was ValueError
    ("x" * 5000, "is not a usable path (File name too long)"),  # was OSError from stat()
    (".", "is a folder, not a CSV file"),
    ("\\\\server\\share\\offers.csv", "must be a path relative to the manifest"),
])
def test_unusable_csv_paths_name_the_manifest_and_table(make_instance, path, message):
    folder = make_instance(SMALL)
    _manifest_with(folder, "offers", path)
    assert_rejected(folder, "instance.yaml: table offers: ", message)


def test_yaml_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "m.yaml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    assert_rejected(path, "m.yaml: YAML syntax error at line 1, column 7: could not determine a "
                          "constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'")
    assert not marker.exists()


def test_yaml_alias_bomb_is_refused_at_once(tmp_path):
    """Nine levels of nine aliases stand for 9^9 (387 million) values: printing one in a report
    took 17 s and 226 MB of output at 8 levels before aliases were refused."""
    import time

    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\npolicy:\n  voice: *i\n")
    started = time.perf_counter()
    assert_rejected(path, "bomb.yaml: YAML syntax error at line 2, column 8: aliases (*a) are "
                          "not allowed in a manifest: write the value out")
    assert time.perf_counter() - started < 2


def test_deeply_nested_yaml_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")  # was a RecursionError
    assert_rejected(path, "deep.yaml: YAML nested too deeply to read")


def test_manifest_name_must_be_text(tmp_path):
    path = write_inline_manifest(tmp_path / "m.yaml", SMALL)
    path.write_text(path.read_text().replace("name: test", "name: !!binary aGVsbG8="))
    assert_rejected(path, "m.yaml, column name: name must be text")


@pytest.mark.parametrize("data, message", [
    ("id,name\nE1,Bolton\n".encode("utf-16"), "UTF-16 text, not UTF-8: save it as CSV UTF-8"),
    ("id,name\nE1,Bolton\n".encode("utf-32"), "UTF-32 text, not UTF-8"),
    # ASCII as UTF-16 without a byte-order mark decodes as UTF-8 with a NUL after every
    # letter: it used to load as columns named 'i\x00d\x00'
    ("id,name\nE1,Bolton\n".encode("utf-16-le"), "holds a NUL character (byte 1)"),
    (b"id,name\nE1\x00,Bolton\n", "holds a NUL character (byte 10)"),
])
def test_csv_in_another_encoding_or_with_nul_bytes(make_instance, data, message):
    folder = make_instance(SMALL)
    (folder / "authorities.csv").write_bytes(data)
    assert_rejected(folder, f"authorities.csv: {message}")


def test_carriage_return_inside_a_quoted_cell_stays_in_its_cell(make_instance):
    """pandas' C parser split "North\\rWest" at the carriage return, so the row's later cells
    moved one column left and read as blanks; the csv module keeps the cell whole."""
    folder = make_instance(SMALL)
    path = folder / "authorities.csv"
    text = path.read_text().replace("North West", '"North\rWest"')
    path.write_text(text, newline="")
    instance = load_instance(folder)
    assert instance.authorities["E08000001"].region == "North\rWest"
    assert instance.authorities["E08000001"].lat == 53.58


def test_rows_are_numbered_by_the_line_they_start_on(make_instance):
    folder = make_instance(SMALL)
    path = folder / "demand.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("E08000001", '"E0800\n0001"')  # a cell over two lines
    lines[3] = lines[3].replace("2.25", "lots")
    path.write_text("\n".join(lines) + "\n")
    assert_rejected(folder, "demand.csv, row 5, column places: not a number: 'lots'")


def test_unterminated_quote_names_the_file(make_instance):
    folder = make_instance(SMALL)
    (folder / "consortia.csv").write_text('consortium,authority\n"GM,E08000001\n')
    assert_rejected(folder, "consortia.csv, row 2: cannot be read as CSV: unexpected end of data")


def test_very_long_values_are_cut_in_messages(make_instance):
    folder = make_instance(SMALL)
    path = folder / "demand.csv"
    path.write_text(path.read_text().replace("40.5", "9" * 5000))
    report = problems_of(folder)
    assert "got '" + "9" * 49 + "... (5,002 characters)" in report
    assert len(report) < 300


def test_damaged_workbook_part(tmp_path):
    """A workbook whose core properties are not XML: openpyxl raised ElementTree's
    ParseError, which escaped as a traceback."""
    import zipfile

    path = write_workbook(tmp_path / "b.xlsx", SMALL)
    source = zipfile.ZipFile(path)
    parts = {name: source.read(name) for name in source.namelist()}
    source.close()
    with zipfile.ZipFile(path, "w") as rebuilt:
        for name, data in parts.items():
            rebuilt.writestr(name, b"" if name == "docProps/core.xml" else data)
    assert_rejected(path, "b.xlsx: not a readable .xlsx workbook (damaged: ParseError",
                    "open it in Excel and save it again")


def test_workbook_merged_cells_are_refused(tmp_path):
    path = write_workbook(tmp_path / "b.xlsx", SMALL)
    workbook = openpyxl.load_workbook(path)
    workbook["demand"].merge_cells("A3:A4")  # "one authority for two rows", as people do
    workbook.save(path)
    assert_rejected(path, "b.xlsx, sheet demand, row 3, column authority: merged cells A3:A4: "
                          "unmerge them and give every cell its value")


def test_workbook_formula_reads_the_value_excel_saved(tmp_path):
    """A formula cell reads as the value Excel computed and saved with it (what the user sees);
    only a formula never computed (written by a program, not Excel) is refused."""
    import zipfile

    path = write_workbook(tmp_path / "b.xlsx", SMALL)
    workbook = openpyxl.load_workbook(path)
    workbook["offers"]["C2"] = "=B9*2"
    workbook.save(path)
    source = zipfile.ZipFile(path)
    parts = {name: source.read(name) for name in source.namelist()}
    source.close()
    sheet = next(n for n in parts if n.startswith("xl/worksheets/")
                 and b"B9*2" in parts[n])
    # what Excel writes: the formula and its cached value side by side
    parts[sheet] = parts[sheet].replace(b"<f>B9*2</f><v />", b"<f>B9*2</f><v>44</v>")
    assert b"<v>44</v>" in parts[sheet]
    with zipfile.ZipFile(path, "w") as rebuilt:
        for name, data in parts.items():
            rebuilt.writestr(name, data)
    assert load_instance(path).offers[0].capacity == 44
