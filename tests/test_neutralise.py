"""Text written to CSV result files cannot run as a spreadsheet formula (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
``'``; numbers are never touched; ``optimise verify`` and the screen read the text back as the
instance has it.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from optimiser.writers import csv_text, neutralise, restore

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("text, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2 Ltd", "'-2 Ltd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-", "'-"),
    ("Northtown", "Northtown"), ("", ""), ("'quoted'", "'quoted'"), ("a=b", "a=b"),
    # already quoted before a formula character: one more quote, so restore() is exact
    ("'=1+1", "''=1+1"),
])
def test_neutralise_and_restore(text, written):
    assert neutralise(text) == written
    assert restore(written) == text


def test_csv_text_neutralises_text_and_leaves_numbers_alone():
    table = pd.DataFrame({"authority": ["-A1", "A2"], "name": [HYPERLINK, "@home"],
                          "saving": [-123.45, 0.5], "rank": [-1, 2]})
    text = csv_text(table)
    assert text == ('authority,name,saving,rank\n'
                    '\'-A1,"\'=HYPERLINK(""http://x"",""y"")",-123.45,-1\n'
                    "A2,'@home,0.5,2\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == "'" + HYPERLINK
    assert float(rows[0]["saving"]) == -123.45


def formula_instance(make_instance):
    """Authorities Hyper (10 places) and -B (10 places) of one type (emergency £1,000 a week);
    provider P '+1' (£100 a week, 10 places) is 0 km from Hyper and 100 km from -B; provider Q
    '-2 Ltd' (£2,000 a week) never pays; R '@SUM(A1)' offers nothing used.

    W = 52, travel £50 per km a year. Alone (shared capacity: each sees 5 of P's 10 places):
      Hyper: 5 x 52 x 100 + 5 x 52,000 = 26,000 + 260,000 = 286,000
      -B:    5 x (5,200 + 50 x 100) + 5 x 52,000 = 51,000 + 260,000 = 311,000
    Together, without individual rationality, every P place goes to Hyper (a place there costs
    5,000 a year less travel): Hyper 10 x 5,200 = 52,000; -B 10 x 52,000 = 520,000.
    Savings: Hyper 286,000 - 52,000 = 234,000; -B 311,000 - 520,000 = -209,000.
    """
    return make_instance({
        "placement_types": [{"id": "t", "emergency_weekly_price": 1000}],
        "authorities": [{"id": "A", "name": HYPERLINK}, {"id": "-B", "name": "@SUM(A1)"}],
        "demand": [{"authority": "A", "placement_type": "t", "places": 10},
                   {"authority": "-B", "placement_type": "t", "places": 10}],
        "providers": [{"id": "P", "name": "+1"}, {"id": "Q", "name": "-2 Ltd"},
                      {"id": "R", "name": "@SUM(A1)"}],
        "offers": [{"provider": "P", "placement_type": "t", "capacity": 10, "weekly_price": 100},
                   {"provider": "Q", "placement_type": "t", "capacity": 5, "weekly_price": 2000},
                   {"provider": "R", "placement_type": "t", "capacity": 0, "weekly_price": 1}],
        "distances": [{"authority": a, "provider": p, "km": km}
                      for a, p, km in (("A", "P", 0), ("-B", "P", 100), ("A", "Q", 0),
                                       ("-B", "Q", 0), ("A", "R", 0), ("-B", "R", 0))],
    }, {"individual_rationality": False}, name="formulas")


def test_run_writes_neutralised_text_exact_numbers_and_verifies(make_instance, tmp_path):
    instance = formula_instance(make_instance)
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", str(instance), "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output

    def rows(name):
        return list(csv.DictReader(io.StringIO((out / name).read_text(encoding="utf-8"))))

    authorities = {row["authority"]: row for row in rows("authorities.csv")}
    assert set(authorities) == {"A", "'-B"}
    assert authorities["A"]["name"] == "'" + HYPERLINK
    assert authorities["'-B"]["name"] == "'@SUM(A1)"
    assert authorities["A"]["saving"] == "234000.0"
    assert authorities["'-B"]["saving"] == "-209000.0"  # a negative number, not neutralised
    assert authorities["'-B"]["standalone_cost"] == "311000.0"
    providers = {row["provider"]: row["name"] for row in rows("providers.csv")}
    assert providers == {"P": "'+1", "Q": "'-2 Ltd", "R": "'@SUM(A1)"}
    assert {row["authority"]: row["unmet"] for row in rows("gaps.csv")} == {"A": "0.0",
                                                                           "'-B": "10.0"}
    # no text cell of any CSV result starts a formula
    for path in out.glob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            for cell in row:
                assert cell[:1] not in "=+@\t\r" or cell == "", (path.name, cell)
                if cell.startswith("-"):
                    float(cell)  # only numbers start with a minus
    summary = json.loads((out / "summary.json").read_text())
    assert summary["members"] == ["A", "-B"]  # JSON is not a spreadsheet: ids as they are
    # the screen shows names as typed, and verify reads the ids back to the instance's
    assert "@SUM(A1)" in result.output and "'@SUM(A1)" not in result.output
    verified = CliRunner().invoke(main, ["verify", str(instance), str(out)])
    assert verified.exit_code == 0, verified.output
