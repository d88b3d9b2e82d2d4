"""`optimise verify` recomputes with the instance's policy, never summary.json's (issue 18,
item 3).

A run made with ``--set KEY=VALUE`` verifies with the same ``--set``, which is then listed as an
override; without it, or for a summary.json edited afterwards, each key figures depend on is a
disagreement (exit 1). Keys that only steer which plan is found (voice, solver, limits) are
listed and accepted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLE, run_optimise


@pytest.fixture(scope="module")
def one_week(tmp_path_factory) -> Path:
    """The example run with --set weeks_per_year=1: every fee is a week's."""
    out = tmp_path_factory.mktemp("one-week") / "results"
    ran = run_optimise("run", EXAMPLE, "--out", out, "--quiet", "--set", "weeks_per_year=1")
    assert ran.returncode == 0, ran.stderr
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plain") / "results"
    ran = run_optimise("run", EXAMPLE, "--out", out, "--quiet", "--no-report")
    assert ran.returncode == 0, ran.stderr
    return out


def test_a_run_with_set_does_not_verify_against_the_instance(one_week):
    verified = run_optimise("verify", EXAMPLE, one_week)
    assert verified.returncode == 1, verified.stdout
    lines = verified.stdout.splitlines()
    assert "all agree" not in verified.stdout
    assert lines[1] == (
        "  - summary.json policy weeks_per_year: the run used 1, the instance says 52; figures "
        "recomputed with 52 (a run made with --set weeks_per_year=1 verifies with the same "
        "--set)")
    # and the figures themselves: A1's 8 places at H1 (£600 a week, £100 case management,
    # 5 km at £50) cost 8 x (700 + 250) = 7,600 for one week, 293,200 for 52
    assert ("  - assignment.csv row 2 (A1, H1, foster_standard, foster_standard) column "
            "annual_cost: file 7600, recomputed 293200") in lines


def test_the_same_set_verifies_as_an_override(one_week):
    verified = run_optimise("verify", EXAMPLE, one_week, "--set", "weeks_per_year=1")
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.splitlines() == [
        "the run's policy differs from the instance's (summary.json policy):",
        "  override weeks_per_year: the run used 1, the instance says 52; given with --set "
        "weeks_per_year=1, recomputed with it",
        "367 checks, all agree (with the 1 policy override(s) above)",
    ]


def test_a_set_the_run_did_not_have_disagrees(plain):
    verified = run_optimise("verify", EXAMPLE, plain, "--set", "weeks_per_year=1")
    assert verified.returncode == 1
    assert ("  - summary.json policy weeks_per_year: the run used 52, verify --set says 1; "
            "figures recomputed with 1") in verified.stdout


@pytest.mark.parametrize("key, value, message", [
    ("min_rating", "inadequate",
     "summary.json policy min_rating: the run used inadequate, the instance says "
     "requires_improvement; figures recomputed with requires_improvement"),
    ("individual_rationality", False,
     "summary.json policy individual_rationality: the run used false, the instance says true"),
    ("local_radius_km", 100.0,
     "summary.json policy local_radius_km: the run used 100, the instance says 32.19"),
])
def test_an_edited_summary_policy_is_a_disagreement(plain, tmp_path, key, value, message):
    folder = shutil.copytree(plain, tmp_path / "edited")
    summary = json.loads((folder / "summary.json").read_text())
    summary["policy"][key] = value
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    verified = run_optimise("verify", EXAMPLE, folder)
    assert verified.returncode == 1, verified.stdout
    assert "all agree" not in verified.stdout
    assert message in verified.stdout


def test_plan_search_settings_are_listed_and_accepted(tmp_path):
    out = tmp_path / "results"
    ran = run_optimise("run", EXAMPLE, "--out", out, "--quiet", "--no-report",
                       "--voice", "maxmin", "--time-limit", "30")
    assert ran.returncode == 0, ran.stderr
    verified = run_optimise("verify", EXAMPLE, out)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.splitlines() == [
        "the run's policy differs from the instance's (summary.json policy):",
        "  override voice: the run used maxmin, the instance says volume; no figure verify "
        "checks depends on it",
        "  override time_limit_s: the run used 30, the instance says 120; no figure verify "
        "checks depends on it",
        "477 checks, all agree (with the 2 policy override(s) above)",
    ]


def test_an_unreadable_set_is_bad_input(plain):
    verified = run_optimise("verify", EXAMPLE, plain, "--set", "weeks_per_year=often")
    assert verified.returncode == 2
    assert "weeks_per_year" in verified.stderr + verified.stdout
    assert "Traceback" not in verified.stderr
