"""`optimise run` writes the same bytes whatever PYTHONHASHSEED, and `verify` rebuilds
sufficiency.csv (issue 18, item 2).

The instance is a small generated one (4 authorities, 20 providers, 3 types: about 2 s a run)
where local needs compete for the same offers and a standard foster need may step up to a
specialist place. That is what made sufficiency.csv follow the hash seed: the arbitrary max flow
networkx returned split contested places between needs by the iteration order of its sets of
string-labelled nodes (e.g. LA2 foster_specialist local_max_consortium 0.0 under one seed, 44.0
under another, and report.xlsx with it).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import run_optimise
from test_determinism import files_of

GENERATE = ("generate", "--authorities", "4", "--providers", "20", "--types", "3", "--seed", "0")


@pytest.fixture(scope="module")
def contested(tmp_path_factory) -> Path:
    """The generated instance, written by the installed command."""
    folder = tmp_path_factory.mktemp("contested") / "instance"
    made = run_optimise(*GENERATE, folder)
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def runs(contested, tmp_path_factory) -> dict[str, Path]:
    """One `optimise run` per hash seed, each its own process."""
    root = tmp_path_factory.mktemp("runs")
    folders = {}
    for seed in ("1", "2"):
        out = root / seed
        ran = run_optimise("run", contested, "--out", out, "--quiet",
                           env={"PYTHONHASHSEED": seed})
        assert ran.returncode == 0, ran.stderr
        folders[seed] = out
    return folders


def sufficiency_rows(folder: Path) -> dict[tuple[str, str], dict]:
    with open(folder / "sufficiency.csv", newline="", encoding="utf-8") as handle:
        return {(r["authority"], r["placement_type"]): r for r in csv.DictReader(handle)}


def test_every_result_file_is_the_same_whatever_the_hash_seed(runs):
    one, two = files_of(runs["1"]), files_of(runs["2"])
    assert sorted(one) == sorted(two)
    assert {"sufficiency.csv", "report.xlsx", "report.html", "investment.csv"} <= set(one)
    for name in one:
        assert one[name] == two[name], f"{name} differs between PYTHONHASHSEED=1 and 2"


def test_contested_places_go_first_to_needs_with_no_other_type(runs):
    """LA2's standard foster need (501 places) may step up to P14's specialist places, which
    its specialist need (44) cannot do without: the split serves the specialist need first."""
    rows = sufficiency_rows(runs["1"])
    specialist = rows[("LA2", "foster_specialist")]
    assert [specialist[c] for c in ("demand", "local_max_consortium", "local_max_alone",
                                    "placed_local", "bottleneck")] == [
        "44.0", "44.0", "44.0", "44.0", ""]
    standard = rows[("LA2", "foster_standard")]
    assert (standard["local_max_consortium"], standard["bottleneck"]) == (
        "376.4", "H2:foster_standard;P14:foster_standard;P14:foster_specialist")
    # the total is the (unique) max flow, whatever the split
    assert sum(float(r["local_max_consortium"]) for r in rows.values()) == pytest.approx(916.6)


def test_verify_rebuilds_sufficiency(contested, runs):
    verified = run_optimise("verify", contested, runs["1"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.endswith("checks, all agree\n")
    assert "sufficiency.csv" not in verified.stdout


def _edit_sufficiency(folder: Path, key: tuple[str, str], column: str, value: str) -> None:
    rows = list(csv.DictReader(open(folder / "sufficiency.csv", newline="", encoding="utf-8")))
    with open(folder / "sufficiency.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            if (row["authority"], row["placement_type"]) == key:
                row[column] = value
            writer.writerow(row)


@pytest.mark.parametrize("key, column, value, message", [
    # another split of the same max flow: still not the file's defined one
    (("LA2", "foster_specialist"), "local_max_consortium", "0.0",
     "sufficiency.csv row (LA2, foster_specialist) column local_max_consortium: file 0, "
     "recomputed 44"),
    (("LA3", "residential"), "local_max_alone", "12.5",
     "sufficiency.csv row (LA3, residential) column local_max_alone: file 12.5, "
     "recomputed 11.883219"),
    (("LA1", "residential"), "placed_local", "20.0",
     "sufficiency.csv row (LA1, residential) column placed_local: file 20, recomputed 27.2"),
    (("LA2", "foster_standard"), "bottleneck", "H2:foster_standard",
     "sufficiency.csv row (LA2, foster_standard) column bottleneck: only recomputed: "
     "P14:foster_standard, P14:foster_specialist"),
    (("LA4", "foster_specialist"), "bottleneck", "",
     "sufficiency.csv row (LA4, foster_specialist) column bottleneck: only recomputed: "
     "no local offer"),
])
def test_verify_catches_a_wrong_sufficiency_figure(contested, runs, tmp_path, key, column,
                                                   value, message):
    folder = shutil.copytree(runs["1"], tmp_path / "edited")
    _edit_sufficiency(folder, key, column, value)
    verified = run_optimise("verify", contested, folder)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert verified.stdout.splitlines()[1:] == [f"  - {message}"], verified.stdout
