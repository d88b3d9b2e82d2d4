"""Members by name (issue 13 item 6): `--members Bolton,Bury` as well as ids, in any case, in
run, compare, stress and guarantee; a near miss suggests the name meant, a name two
authorities share lists both. Through the installed command, as a user types it."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import EXAMPLE, run_optimise

EXAMPLE_IDS = {"Northtown": "A1", "Easton": "A2", "Westby": "A3", "Smallham": "A4"}


def refused(*args: str) -> str:
    """The one-line reason of a refused command (exit 2, no traceback)."""
    result = run_optimise(*map(str, args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def shared_names(tmp_path_factory):
    """Two authorities called Bury, and one whose name holds a comma."""
    from conftest import write_instance

    authorities = {"B1": "Bury", "B2": "bury", "C1": "Bournemouth, Christchurch and Poole"}
    return write_instance(tmp_path_factory.mktemp("names") / "shared", {
        "placement_types": [{"id": "t", "emergency_weekly_price": 1000}],
        "authorities": [{"id": a, "name": n, "lat": 53, "lon": -2}
                        for a, n in authorities.items()],
        "demand": [{"authority": a, "placement_type": "t", "places": 2} for a in authorities],
        "providers": [{"id": "P", "lat": 53, "lon": -2}],
        "offers": [{"provider": "P", "placement_type": "t", "capacity": 10,
                    "weekly_price": 500}]}, name="shared names")


def test_run_takes_names_in_any_case_and_ids_mixed(tmp_path):
    result = run_optimise("run", EXAMPLE, "--members", "northtown, EASTON,A4", "--json",
                          "--no-report", "--no-investment", "--out", tmp_path / "r")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["members"] == ["A1", "A2", "A4"]


def test_a_name_with_a_comma_is_one_member(shared_names, tmp_path):
    result = run_optimise("run", shared_names, "--members",
                          "Bournemouth, Christchurch and Poole,B1", "--json", "--no-report",
                          "--no-investment", "--out", tmp_path / "r")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["members"] == ["C1", "B1"]


def test_compare_membership_by_names(tmp_path):
    result = run_optimise("compare", EXAMPLE, "--members", "Pair=Westby,smallham", "--json",
                          "--no-report", "--quiet", "--workers", "1", "--out", tmp_path / "c")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "c" / "compare.csv").open(encoding="utf-8")))
    assert rows[0]["membership"] == "Pair" and rows[0]["members"] == "A3;A4"


def test_stress_members_by_names(tmp_path):
    result = run_optimise("stress", EXAMPLE, "--members", "Northtown,Easton", "--demand", "+10%",
                          "--json", "--quiet", "--workers", "1", "--out", tmp_path / "s")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["members"] == ["A1", "A2"]


@pytest.mark.parametrize("command", [
    ["run"], ["stress", "--n-1", "1"], ["guarantee", "--sweep"]])
def test_a_near_miss_suggests_the_name(command, tmp_path):
    message = refused(command[0], EXAMPLE, *command[1:], "--members", "Northtwn,A2",
                      "--out", tmp_path / "r")
    assert "--members: unknown authorities: Northtwn (did you mean Northtown?)" in message


def test_compare_near_miss_names_the_membership(tmp_path):
    message = refused("compare", EXAMPLE, "--members", "Pair=Westbyy,A4", "--out", tmp_path / "c")
    assert "--members: Pair: unknown authorities: Westbyy (did you mean Westby?)" in message


def test_nothing_close_is_refused_without_a_guess(tmp_path):
    message = refused("run", EXAMPLE, "--members", "A1,Zzyzx", "--out", tmp_path / "r")
    assert message.endswith("--members: unknown authorities: Zzyzx")


def test_a_shared_name_lists_the_candidates(shared_names, tmp_path):
    message = refused("run", shared_names, "--members", "BURY,C1", "--out", tmp_path / "r")
    assert "'BURY' could be any of Bury (B1), bury (B2): give the id" in message
    # the ids themselves are exact
    result = run_optimise("run", shared_names, "--members", "B2,C1", "--json", "--no-report",
                          "--no-investment", "--out", tmp_path / "ok")
    assert json.loads(result.stdout)["members"] == ["B2", "C1"]


def test_the_same_member_by_name_and_id_is_listed_twice(tmp_path):
    message = refused("run", EXAMPLE, "--members", "Easton,A2", "--out", tmp_path / "r")
    assert "--members: an authority is listed twice: Easton" in message


def test_help_says_names_are_taken():
    for command in ("run", "stress", "guarantee", "compare"):
        text = " ".join(run_optimise(command, "--help").stdout.split())
        assert "authority ids or names" in text, command
