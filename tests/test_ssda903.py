"""`optimise demand` from SSDA903 Episodes files, run as a user runs it.

The extract below is small enough to work by hand. Two returns: 2014-15 (1 April 2014 - 31
March 2015) and 2015-16 (1 April 2015 - 31 March 2016, 366 days: February 2016 has 29).

2015-16, the default period:

* child A: fostered from 01/01/2015 to 01/10/2015 (183 days in the period: April-September),
  then in a children's home from 01/10/2015, open (183 days: October-March). The 2014-15
  return has the same foster episode open and coded Q2 (before 2015-16), the 2015-16 one closed
  and coded U4: one copy is kept, the closed one.
* child B: fostered from 01/06/2015, open: 305 days (June-March); the row is repeated, and its
  codes are written " u6" / "pr4".
* child C: placed with parents (P1) from 15/03/2016: 17 days, not commissioned.
* child D: semi-independent living (H5) 01/04/2015 to 31/03/2016: 365 days (DEC is the day
  the child leaves, so 31 March itself is not counted); its placement postcode is withheld.

So foster_standard = (183 + 305) / 366 = 4/3 = 1.3333, residential = 183/366 = 0.5,
supported_16plus = 365/366 = 0.9973. In 2014-15 (365 days) child F was in a children's home
01/04/2014 to 01/10/2014 (183 days: 0.5014 places) and child A fostered from 01/01/2015 (90
days: 0.2466 places).
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_optimise

HEADER = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
          "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]

RETURN_2015 = [
    ["A1001", "01/01/2015", "S", "C2", "N1", "Q2", "PR1", "", "", "", "M14 5AB", "M14 5XY", ""],
    ["F1006", "01/04/2014", "S", "C2", "N1", "K2", "PR4", "01/10/2014", "E13", "", "", "", ""],
]
RETURN_2016 = [
    ["A1001", "2015-01-01", "S", "C2", "N1", "U4", "PR1", "2015-10-01", "X1", "CARPL",
     "M14 5AB", "M14 5XY", ""],
    ["A1001", "01/10/2015", "P", "C2", "N1", "K2", "PR4", "", "", "", "M14 5AB", "LS1 4AP",
     "SC123456"],
    ["B1002", "2015-06-01", "S", "V2", "N4", " u6", "pr4", "", "", "", "M14 5", "M20 2",
     ""],
    ["B1002", "2015-06-01", "S", "V2", "N4", " u6", "pr4", "", "", "", "M14 5", "M20 2",
     ""],
    ["C1003", "15/03/2016", "S", "C1", "N1", "P1", "PR0", "", "", "", "M14 5AB", "M14 5AB",
     ""],
    ["D1004", "01-04-2015", "S", "V2", "N8", "H5", "PR4", "31.03.2016", "E8", "", "",
     "XXXXX", ""],
]
CHILD_LEVEL = ("A1001", "B1002", "C1003", "D1004", "F1006", "M14 5AB", "LS1 4AP", "SC123456",
               "2015-06-01", "01/10/2015")
SECTORS = "sector,lat,lon\nM14 5,53.4480,-2.2200\nM20 2,53.4270,-2.2320\nLS1 4,53.7960,-1.5480\n"


def write_return(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def returns(tmp_path) -> list[Path]:
    return [write_return(tmp_path / "episodes_2015.csv", RETURN_2015),
            write_return(tmp_path / "episodes_2016.csv", RETURN_2016)]


def _rows(path: Path) -> dict[str, dict[str, str]]:
    return {r["placement_type"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}


def test_hand_worked_extract_gives_the_average_places_per_type(returns, tmp_path):
    out = tmp_path / "out"
    result = run_optimise("demand", *returns, "--authority", "E08000003", "--out", out)
    assert result.returncode == 0, result.stderr
    demand = _rows(out / "demand.csv")
    assert {t: float(r["places"]) for t, r in demand.items()} == {
        "foster_standard": 1.3333, "residential": 0.5, "supported_16plus": 0.9973}
    assert {r["authority"] for r in demand.values()} == {"E08000003"}
    summary = _rows(out / "demand_summary.csv")
    assert float(summary["(not commissioned)"]["places"]) == 0.0464  # 17 / 366
    assert float(summary["foster_standard"]["in_house_places"]) == 0.5  # A: 183 / 366
    assert float(summary["foster_standard"]["independent_places"]) == 0.8333  # B: 305 / 366
    # two returns: 2014-15 and 2015-16
    assert summary["residential"]["yearly_places"] == "2014-15: 0.50; 2015-16: 0.50"
    assert summary["foster_standard"]["yearly_places"] == "2014-15: 0.25; 2015-16: 1.33"
    # year-to-year spread of foster: |1.3333 - 0.2466| / sqrt(2) = 0.7684 < sqrt(1.3333)
    assert float(demand["foster_standard"]["sd"]) == 1.1547
    assert summary["foster_standard"]["sd_basis"].startswith("poisson")
    assert "2 duplicate episode record(s) dropped" in result.stdout
    assert "period 01/04/2015 to 31/03/2016 (366 days)" in result.stdout


def test_a_chosen_period_clips_episodes(returns, tmp_path):
    # 1 October 2015 - 31 December 2015, 92 days: A in a home all of it, B fostered all of it
    out = tmp_path / "out"
    result = run_optimise("demand", *returns, "--authority", "X", "--start", "01/10/2015",
                          "--end", "2015-12-31", "--out", out)
    assert result.returncode == 0, result.stderr
    demand = _rows(out / "demand.csv")
    assert {t: float(r["places"]) for t, r in demand.items()} == {
        "foster_standard": 1.0, "residential": 1.0, "supported_16plus": 1.0}


def test_counts_below_five_are_suppressed_and_no_child_level_data_is_written(returns,
                                                                            tmp_path):
    out = tmp_path / "out"
    result = run_optimise("demand", *returns, "--authority", "X", "--out", out)
    assert result.returncode == 0, result.stderr
    summary = _rows(out / "demand_summary.csv")
    # foster: B entered (1), A left for a home (1): both published as "c", as the DfE does
    assert (summary["foster_standard"]["entries"], summary["foster_standard"]["exits"]) == (
        "c", "c")
    assert summary["foster_standard"]["children"] == "c"
    written = result.stdout + result.stderr + "".join(
        p.read_text(encoding="utf-8") for p in out.iterdir())
    for text in CHILD_LEVEL:
        assert text not in written


def test_entry_and_exit_rates_count_moves_between_types(tmp_path):
    # six children start fostering in 2015-16, and five of them move to a home on 01/01/2016
    rows = [[f"K{i}", "01/05/2015", "S", "C2", "N1", "U6", "PR4", "01/01/2016"] for i in range(6)]
    rows[5][7] = ""
    rows += [[f"K{i}", "01/01/2016", "P", "C2", "N1", "K2", "PR4", ""] for i in range(5)]
    path = write_return(tmp_path / "episodes.csv", rows, HEADER[:8])
    out = tmp_path / "out"
    result = run_optimise("demand", path, "--authority", "X", "--out", out)
    assert result.returncode == 0, result.stderr
    summary = _rows(out / "demand_summary.csv")
    assert (summary["foster_standard"]["entries"], summary["foster_standard"]["exits"]) == (
        "6", "5")
    # a year of 366 days is 366 / 365.25 years: 6 / 1.00205 = 5.99
    assert summary["foster_standard"]["entries_per_year"] == "5.99"
    assert summary["residential"]["entries"] == "5"
    assert summary["residential"]["exits"] == "0"
    assert "locality: not derivable (no HOME_POST and PL_POST columns)" in result.stdout


def test_locality_within_20_miles_from_postcode_sectors(returns, tmp_path):
    out = tmp_path / "out"
    result = run_optimise("demand", *returns, "--authority", "X", "--out", out)
    summary = _rows(out / "demand_summary.csv")
    # without a lookup only A's foster placement (same sector) has a known distance
    assert summary["foster_standard"]["within_20_miles_share"] == "1.0"
    assert summary["foster_standard"]["distance_unknown_share"] == "0.625"  # B: 305 of 488
    assert summary["residential"]["within_20_miles_share"] == ""
    assert "without a --postcodes lookup" in result.stdout
    lookup = tmp_path / "sectors.csv"
    lookup.write_text(SECTORS, encoding="utf-8")
    out2 = tmp_path / "out2"
    result = run_optimise("demand", *returns, "--authority", "X", "--postcodes", lookup,
                          "--out", out2)
    assert result.returncode == 0, result.stderr
    summary = _rows(out2 / "demand_summary.csv")
    assert summary["foster_standard"]["within_20_miles_share"] == "1.0"  # M14 5 - M20 2
    assert summary["foster_standard"]["distance_unknown_share"] == "0.0"
    assert summary["residential"]["within_20_miles_share"] == "0.0"  # M14 5 - LS1 4: 35 miles
    assert summary["supported_16plus"]["distance_unknown_share"] == "1.0"  # withheld


def test_malformed_rows_are_named_by_file_row_and_column(tmp_path):
    rows = [
        ["A1", "31/02/2016", "S", "C2", "N1", "U4", "PR1", ""],
        ["", "01/04/2015", "S", "C2", "N1", "U4", "PR1", ""],
        ["A3", "01/04/2015", "S", "C2", "N1", "X9", "PR1", ""],
        ["A4", "01/04/2015", "S", "C2", "N1", "U4", "PR9", ""],
        ["A5", "01/04/2015", "S", "C2", "N1", "U4", "PR1", "01/03/2015"],
        ["A6", "01/04/2015", "S", "C2", "N1", "U4", "PR1", ""],
        ["A6", "01/04/2015", "S", "C2", "N1", "K2", "PR4", ""],
    ]
    path = write_return(tmp_path / "bad.csv", rows, HEADER[:8])
    result = run_optimise("demand", path, "--authority", "X", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err = " ".join(result.stderr.split())
    assert "6 problems found" in err
    assert f"{path}, row 2, column DECOM: DECOM '31/02/2016' is not a date" in err
    assert f"{path}, row 3, column CHILD: CHILD is blank" in err
    assert f"{path}, row 4, column PLACE: PLACE 'X9' is not in the placement mapping" in err
    assert f"{path}, row 5, column PLACE_PROVIDER: PLACE_PROVIDER 'PR9' is not a DfE code" in err
    assert f"{path}, row 6, column DEC: DEC 01/03/2015 is before DECOM 01/04/2015" in err
    assert (f"{path}, row 8, column DECOM: a second, different episode of the same CHILD "
            "starting the same DECOM as row 7") in err
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_an_episodes_table_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("CHILD,SEX,DOB,ETHNIC\nA1,1,01/01/2010,WBRI\n", encoding="utf-8")
    result = run_optimise("demand", path, "--authority", "X")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not an SSDA903 Episodes table: missing column(s) DECOM, PLACE, PLACE_PROVIDER, DEC" \
        in " ".join(result.stderr.split())


def test_a_mapping_file_overrides_the_default(returns, tmp_path):
    # this council sends its own carers' foster placements to a type of its own
    mapping = tmp_path / "mapping.csv"
    default = (REPO / "optimiser" / "data" / "ssda903_placements.csv").read_text()
    mapping.write_text(default + "U4,PR1,foster_in_house,own carers\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_optimise("demand", *returns, "--authority", "X", "--mapping", mapping,
                          "--out", out)
    assert result.returncode == 0, result.stderr
    demand = _rows(out / "demand.csv")
    assert float(demand["foster_in_house"]["places"]) == 0.5  # A: 183 / 366
    assert float(demand["foster_standard"]["places"]) == 0.8333  # B: 305 / 366


def test_merge_into_an_instance_replaces_the_authority_rows(returns, tmp_path):
    instance = tmp_path / "nw"
    shutil.copytree(REPO / "instances" / "north-west", instance)
    before = (instance / "demand.csv").read_text().splitlines()
    result = run_optimise("demand", *returns, "--authority", "E06000006", "--into", instance)
    assert result.returncode == 0, result.stderr
    after = (instance / "demand.csv").read_text().splitlines()
    assert [r for r in after if r.startswith("E06000006,")] == [
        "E06000006,foster_standard,1.3333,1.1547", "E06000006,residential,0.5,0.7071",
        "E06000006,supported_16plus,0.9973,0.9986"]
    others = [r for r in before if not r.startswith("E06000006,")]
    assert [r for r in after if not r.startswith("E06000006,")] == others
    assert run_optimise("validate", instance).returncode == 0


def test_merge_refused_when_the_instance_lacks_the_types(returns, tmp_path):
    instance = tmp_path / "example"
    shutil.copytree(REPO / "instances" / "example", instance)
    before = (instance / "demand.csv").read_text()
    result = run_optimise("demand", *returns, "--authority", "A1", "--into", instance)
    assert result.returncode == 2
    assert "supported_16plus" in result.stderr
    assert "its demand file is unchanged" in " ".join(result.stderr.split())
    assert (instance / "demand.csv").read_text() == before


def _forecast_extract(path: Path) -> Path:
    """2015-16: ten children fostered all year; five more start fostering on 01/10/2015 and
    five others leave it that day (183 days each), so foster places are 10 + 5 = 15 with 5
    entries and 5 exits: arrivals balance departures. Five children enter children's homes
    on 01/10/2015 and none leave: 2.5 places, 5 entries, no exits."""
    rows = [[f"S{i}", "01/01/2015", "S", "C2", "N1", "U4", "PR1", ""] for i in range(10)]
    rows += [[f"N{i}", "01/10/2015", "S", "C2", "N1", "U6", "PR4", ""] for i in range(5)]
    rows += [[f"L{i}", "01/01/2015", "S", "C2", "N1", "U4", "PR1", "01/10/2015"]
             for i in range(5)]
    rows += [[f"H{i}", "01/10/2015", "S", "C2", "N1", "K2", "PR4", ""] for i in range(5)]
    return write_return(path, rows, HEADER[:8])


def test_forecast_projects_the_councils_own_trend(tmp_path):
    path = _forecast_extract(tmp_path / "episodes.csv")
    out = tmp_path / "out"
    result = run_optimise("demand", path, "--authority", "X", "--years", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    with open(out / "forecast.csv", encoding="utf-8") as handle:
        rows = {(r["placement_type"], r["year"]): r for r in csv.DictReader(handle)}
    # foster: balanced flows keep the mean (15) and the Poisson variance (15) every year
    for year in ("1", "2", "3"):
        row = rows[("foster_standard", year)]
        assert (float(row["places"]), float(row["sd"])) == (15.0, 3.873)
        # 15 -+ 1.6449 x sqrt(15), the 90% band
        assert (float(row["low"]), float(row["high"])) == (8.6295, 21.3705)
    # homes: E = 5 entries in 366 days = 5 x 365.25 / 366 a year, no exits: the places grow
    # by E a year from 2.5, and the variance (2.5 at the start) by E
    e = 5 * 365.25 / 366
    means = [2.5 + e, 2.5 + 2 * e, 2.5 + 3 * e]
    for year, mean in enumerate(means, start=1):
        row = rows[("residential", str(year))]
        assert float(row["places"]) == round(mean, 4)
        assert float(row["sd"]) == round(math.sqrt(mean), 4)
    # the contract's demand: a year drawn evenly from the three
    demand = _rows(out / "demand.csv")
    assert float(demand["foster_standard"]["places"]) == 15.0
    assert float(demand["foster_standard"]["sd"]) == 3.873
    contract = sum(means) / 3
    variance = contract + sum((m - contract) ** 2 for m in means) / 3
    assert float(demand["residential"]["places"]) == round(contract, 4)
    assert float(demand["residential"]["sd"]) == round(math.sqrt(variance), 4)
    assert "contract demand over 3 year(s)" in result.stdout


def write_xml_return(path: Path, rows: list[list[str]]) -> Path:
    """``rows`` (in HEADER's order) as the XML return: EXPSSDA903 > CHILD > HEADER > CHILDID,
    CHILD > EPISODE > DECOM, PL, PLACE_PROVIDER, DEC, HOME_POST, PL_POST; one line a tag."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<EXPSSDA903>"]
    at = {name: i for i, name in enumerate(HEADER)}
    children = dict.fromkeys(row[0] for row in rows)
    for child in children:
        lines += ["<CHILD>", "<HEADER>", f"<CHILDID>{child}</CHILDID>", "</HEADER>"]
        for row in (r for r in rows if r[0] == child):
            lines.append("<EPISODE>")
            lines += [f"<{tag}>{row[at[name]]}</{tag}>" for tag, name in (
                ("DECOM", "DECOM"), ("PL", "PLACE"), ("PLACE_PROVIDER", "PLACE_PROVIDER"),
                ("DEC", "DEC"), ("HOME_POST", "HOME_POST"), ("PL_POST", "PL_POST"))]
            lines.append("</EPISODE>")
        lines.append("</CHILD>")
    path.write_text("\n".join(lines + ["</EXPSSDA903>", ""]), encoding="utf-8")
    return path


def test_xml_returns_give_the_same_demand_as_csv(returns, tmp_path):
    xml = [write_xml_return(tmp_path / "return_2015.xml", RETURN_2015),
           write_xml_return(tmp_path / "return_2016.xml", RETURN_2016)]
    for files, out in ((returns, tmp_path / "csv"), (xml, tmp_path / "xml")):
        result = run_optimise("demand", *files, "--authority", "X", "--out", out)
        assert result.returncode == 0, result.stderr
    for name in ("demand.csv", "demand_summary.csv"):
        assert (tmp_path / "xml" / name).read_text() == (tmp_path / "csv" / name).read_text()
    assert float(_rows(tmp_path / "xml" / "demand.csv")["foster_standard"]["places"]) == 1.3333


def test_xml_problems_name_the_line_of_the_episode(tmp_path):
    rows = [["A1", "01/04/2015", "S", "C2", "N1", "U4", "PR1", "", "", "", "", "", ""],
            ["A2", "1st April", "S", "C2", "N1", "U4", "PR1", "", "", "", "", "", ""]]
    path = write_xml_return(tmp_path / "return.xml", rows)
    result = run_optimise("demand", path, "--authority", "X")
    assert result.returncode == 2
    # line 1 declaration, 2 root; child A1 on lines 3-15; A2's EPISODE tag on line 20
    assert f"{path}, row 20, column DECOM: DECOM '1st April' is not a date" in " ".join(
        result.stderr.split())
    path.write_text("<EXPSSDA903>\n<CHILD>\n</EXPSSDA903>\n", encoding="utf-8")
    result = run_optimise("demand", path, "--authority", "X")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}, row 3: not well-formed XML: mismatched tag" in " ".join(
        result.stderr.split())


def test_an_episode_left_open_before_the_next_one_is_cut_there(tmp_path):
    # the 2015 return left K's foster episode open from 01/01/2015 with a DECOM later corrected
    # to 02/01/2015; the 2016 return closes the corrected one on 01/10/2015 and opens a home
    # placement. Without the cut K would be fostered twice over and in a home at once.
    early = write_return(tmp_path / "e2015.csv",
                         [["K", "01/01/2015", "S", "C2", "N1", "U4", "PR1", ""]], HEADER[:8])
    late = write_return(tmp_path / "e2016.csv", [
        ["K", "02/01/2015", "S", "C2", "N1", "U4", "PR1", "01/10/2015"],
        ["K", "01/10/2015", "P", "C2", "N1", "K2", "PR4", ""]], HEADER[:8])
    out = tmp_path / "out"
    result = run_optimise("demand", early, late, "--authority", "X", "--out", out)
    assert result.returncode == 0, result.stderr
    demand = _rows(out / "demand.csv")
    # 2015-16: fostered 1 April - 30 September (183 days), a home from 1 October (183 days)
    assert (float(demand["foster_standard"]["places"]), float(demand["residential"]["places"])
            ) == (0.5, 0.5)
    assert "1 episode(s) open or ending after the child's next episode started" in result.stdout
