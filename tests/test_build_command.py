"""`optimise build`: an instance for any English authorities from the shipped public data."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import REPO, run_optimise

SOURCES = REPO / "instances" / "sources"
#: a hand-picked five: by name, GSS code, DfE code, Ofsted's spelling, and lower case
FIVE = "Birmingham,E08000026,335,St Helens,stockport"
FIVE_GSS = ("E08000025", "E08000026", "E08000030", "E08000013", "E08000007")


def _dfe_counts() -> dict[str, float]:
    from optimiser.build.sources import looked_after

    counts = looked_after(SOURCES, 2024)
    return dict(zip(counts["gss_code"], counts["children"]))


def _demand_by_authority(folder: Path) -> dict[str, float]:
    total = defaultdict(float)
    with open(folder / "demand.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            total[row["authority"]] += float(row["places"])
    return dict(total)


def _check_validates_runs_verifies(folder: Path, results: Path) -> None:
    validated = run_optimise("validate", folder)
    assert validated.returncode == 0, validated.stderr
    ran = run_optimise("run", folder, "--out", results, "--quiet", "--no-report")
    assert ran.returncode == 0, ran.stderr
    verified = run_optimise("verify", folder, results)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "all agree" in verified.stdout


def test_five_authorities_build_validate_run_and_verify(tmp_path):
    folder = tmp_path / "five"
    result = run_optimise("build", folder, "--authorities", FIVE, "--name", "Five")
    assert result.returncode == 0, result.stderr
    assert "Five: 5 authorities" in result.stdout
    with open(folder / "authorities.csv", encoding="utf-8") as handle:
        # in the order of the authorities file (GSS code), whatever order they were given in
        assert tuple(r["id"] for r in csv.DictReader(handle)) == tuple(sorted(FIVE_GSS))
    dfe = _dfe_counts()
    demand = _demand_by_authority(folder)
    assert set(demand) == set(FIVE_GSS)
    for gss in FIVE_GSS:
        assert demand[gss] == pytest.approx(dfe[gss], abs=1e-6)
    assert demand["E08000025"] == pytest.approx(2300.0, abs=1e-6)  # Birmingham, DfE 2024
    provenance = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "Built with `optimise build five --authorities" in provenance
    assert "| `specialist_foster_share` | 0.1 |" in provenance
    _check_validates_runs_verifies(folder, tmp_path / "results")
    # deterministic: the same command gives the same bytes
    again = tmp_path / "again" / "five"
    assert run_optimise("build", again, "--authorities", FIVE, "--name", "Five"
                        ).returncode == 0
    for path in sorted(folder.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_own_demand_replaces_the_dfe_rows_of_its_authority(tmp_path):
    own = tmp_path / "demand.csv"
    own.write_text("authority,placement_type,places,sd\n"
                   "E08000007,foster_standard,300.5,20.0\nE08000007,residential,40.25,7.0\n",
                   encoding="utf-8")
    folder = tmp_path / "five"
    result = run_optimise("build", folder, "--authorities", FIVE, "--demand", own)
    assert result.returncode == 0, result.stderr
    with open(folder / "demand.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["authority"] == "E08000007"]
    assert [(r["placement_type"], r["places"], r["sd"]) for r in rows] == [
        ("foster_standard", "300.5", "20.0"), ("residential", "40.25", "7.0")]
    assert _demand_by_authority(folder)["E08000025"] == pytest.approx(2300.0)
    # in-house fostering is sized on the council's own foster demand
    with open(folder / "offers.csv", encoding="utf-8") as handle:
        in_house = {r["provider"]: float(r["capacity"]) for r in csv.DictReader(handle)}
    assert in_house["IHF-E08000007"] == pytest.approx(300.5 * 0.5955 * 1.05, rel=1e-3)
    assert "own (optimise demand), not DfE's | E08000007" in (
        folder / "PROVENANCE.md").read_text(encoding="utf-8")
    assert run_optimise("validate", folder).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--authorities", "Birmingam,Coventry"],
     "--authorities: unknown authority 'Birmingam' (give a name, GSS code or DfE code); did "
     "you mean Birmingham?"),
    (["--region", "Wessex"], "--region: unknown region 'Wessex'; the regions are East Midlands"),
    ([], "--authorities/--region: give one of them"),
])
def test_bad_choices_are_named(tmp_path, args, message):
    result = run_optimise("build", tmp_path / "out", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "out").exists()


def test_own_demand_for_an_authority_outside_the_instance_is_refused(tmp_path):
    own = tmp_path / "demand.csv"
    own.write_text("authority,placement_type,places,sd\nE06000006,foster_standard,3,1\n"
                   "E08000007,foster_in_house,3,1\n", encoding="utf-8")
    result = run_optimise("build", tmp_path / "out", "--authorities", FIVE, "--demand", own)
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert (f"{own}, row 2, column authority: authority 'E06000006' is not one of the "
            "instance's authorities") in err
    assert (f"{own}, row 3, column placement_type: placement type 'foster_in_house' is not one "
            "of the built instance's (foster_standard, foster_specialist") in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_west_midlands_builds_validates_runs_and_verifies(tmp_path):
    """About 30 s: the region's 14 authorities, 312 providers."""
    folder = tmp_path / "wm"
    result = run_optimise("build", folder, "--region", "West Midlands")
    assert result.returncode == 0, result.stderr
    assert "West Midlands: 14 authorities" in result.stdout
    dfe = _dfe_counts()
    demand = _demand_by_authority(folder)
    assert len(demand) == 14
    for gss, places in demand.items():
        assert places == pytest.approx(dfe[gss], abs=1e-6)
    _check_validates_runs_verifies(folder, tmp_path / "results")


def test_a_price_list_replaces_the_assumed_prices(tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("price,weekly_price\nfoster_standard,900\nresidential,5000\n",
                      encoding="utf-8")
    folder = tmp_path / "two"
    result = run_optimise("build", folder, "--authorities", "Walsall,Stockport", "--prices",
                          prices)
    assert result.returncode == 0, result.stderr
    provenance = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "| `weekly_price` | in_house_foster 625, foster_standard 900, " in provenance
    assert "residential 5000, residential_in_house 6123" in provenance
    assert "user's price list (prices.csv)" in provenance
    assert "--prices prices.csv" in provenance
    # an IFA's standard fostering is 900 +- the provider's fixed 15% deviation
    with open(folder / "offers.csv", encoding="utf-8") as handle:
        ifa = [float(r["weekly_price"]) for r in csv.DictReader(handle)
               if r["provider"].startswith("IFA-") and r["placement_type"] == "foster_standard"]
    assert ifa and all(765 <= p <= 1035 for p in ifa)
    assert any(p > 815 * 1.15 for p in ifa)  # beyond the assumed price's range


def test_a_bad_price_list_is_named_by_row_and_column(tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("price,weekly_price\nfoster,900\nresidential,cheap\n", encoding="utf-8")
    result = run_optimise("build", tmp_path / "out", "--authorities", "Walsall", "--prices",
                          prices)
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert f"{prices}, row 2, column price: unknown price 'foster'; the prices are " \
           "in_house_foster, foster_standard" in err
    assert f"{prices}, row 3, column weekly_price: 'cheap' is not a price in £ a week" in err
