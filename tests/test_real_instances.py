"""The shipped real-data instances: reproducible, calibrated to their sources, and solvable.

Calibration figures are recomputed here straight from the raw files with the csv module,
independently of ``optimiser.build``.
"""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from conftest import REPO

from cli import main
from optimiser.build.assumptions import Assumptions
from optimiser.build.regions import build_all

INSTANCES = REPO / "instances"
SOURCES = INSTANCES / "sources"
SHIPPED = ("north-west", "thames-valley", "england")
NORTH_WEST = ["Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford", "Stockport",
              "Tameside", "Trafford", "Wigan", "Halton", "Knowsley", "Liverpool", "Sefton",
              "St. Helens", "Wirral", "Lancashire", "Blackburn with Darwen", "Blackpool",
              "Cumberland", "Westmorland and Furness", "Cheshire East",
              "Cheshire West and Chester", "Warrington"]


def rows(name: str, skip: int = 0) -> list[dict]:
    with open(SOURCES / name, encoding="utf-8-sig", newline="") as handle:
        for _ in range(skip):
            next(handle)
        return list(csv.DictReader(handle))


def table(instance: str, name: str) -> list[dict]:
    with open(INSTANCES / instance / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def looked_after_2024() -> dict[str, int]:
    """GSS code -> children looked after at 31 March 2024 (numeric rows only)."""
    return {r["new_la_code"]: int(r["number"]) for r in rows("dfe_cla_by_la_2020_2024.csv")
            if r["time_period"] == "2024" and r["geographic_level"] == "Local authority"
            and r["population_count"] == "Children looked after at 31 March each year"
            and r["number"].isdigit()}


def gss_of(names: list[str]) -> list[str]:
    code = {r["name"]: r["gss_code"] for r in rows("england_authorities.csv")}
    return [code[n] for n in names]


def national_mix() -> dict[str, float]:
    """The six types' shares, from the DfE placement table and the two split assumptions."""
    count = {r["characteristic"]: float(r["number"]) for r in
             rows("dfe_national_cla_by_characteristics.csv")
             if r["time_period"] == "2024" and r["cla_group"] == "Placement"
             and r["number"].replace(".", "").isdigit()}
    a = Assumptions()
    foster, homes = count["1. Total foster placements"], count[
        "4. Total secure homes and children's homes"]
    extra = sum(count[k] for k in ("7. Total residential schools", "6a Residential care homes",
                                   "6b NHS Trust providing medical or nursing care"))
    counts = {
        "foster_standard": foster * (1 - a.specialist_foster_share),
        "foster_specialist": foster * a.specialist_foster_share,
        "parent_child": count["6c Family centre or mother and baby unit"],
        "residential": homes * (1 - a.complex_residential_share),
        "residential_complex": homes * a.complex_residential_share + extra,
        "supported_16plus": count["5. Total independent and semi-independent living "
                                  "arrangements/ supported accommodation"],
    }
    total = sum(counts.values())
    return {t: c / total for t, c in counts.items()}


def demand_by_type(instance: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for r in table(instance, "demand"):
        totals[r["placement_type"]] = totals.get(r["placement_type"], 0.0) + float(r["places"])
    return totals


def test_rebuilding_reproduces_the_shipped_instances_byte_for_byte(tmp_path):
    build_all(SOURCES, tmp_path)
    for name in SHIPPED:
        shipped = sorted(p.name for p in (INSTANCES / name).iterdir())
        rebuilt = sorted(p.name for p in (tmp_path / name).iterdir())
        assert rebuilt == shipped, name
        for file in shipped:
            assert (tmp_path / name / file).read_bytes() == \
                (INSTANCES / name / file).read_bytes(), f"{name}/{file}"


@pytest.mark.parametrize("instance, names, count", [
    ("north-west", NORTH_WEST, 15_093),
    ("england", None, 83_632),  # the data README's sum of the 2024 authority rows
])
def test_total_demand_equals_the_dfe_count(instance, names, count):
    counts = looked_after_2024()
    codes = gss_of(names) if names else [r["id"] for r in table(instance, "authorities")]
    assert sum(counts[c] for c in codes) == count
    assert sum(demand_by_type(instance).values()) == pytest.approx(count, abs=1e-6)
    per_authority: dict[str, float] = {}
    for r in table(instance, "demand"):
        per_authority[r["authority"]] = per_authority.get(r["authority"], 0) + float(r["places"])
    # an authority with no looked-after children (the Isles of Scilly in 2024) has no rows
    assert per_authority == {c: pytest.approx(counts[c], abs=1e-6) for c in codes if counts[c]}


@pytest.mark.parametrize("instance", ["north-west", "england"])
def test_type_split_matches_the_national_mix(instance):
    demand = demand_by_type(instance)
    total = sum(demand.values())
    mix = national_mix()
    assert set(demand) == set(mix)
    for placement_type, share in mix.items():
        # each authority's places are rounded to 4 decimals: at most 0.00005 per row
        assert demand[placement_type] / total == pytest.approx(share, abs=1e-6)


def test_thames_valley_demand_is_the_complex_needs_part_of_the_dfe_count():
    members = ["Buckinghamshire", "Oxfordshire", "Hertfordshire", "Milton Keynes",
               "Bracknell Forest", "Reading", "Bedford"]
    counts = looked_after_2024()
    children = sum(counts[c] for c in gss_of(members))
    demand = demand_by_type("thames-valley")
    assert set(demand) == {"residential_complex", "residential_complex_fit"}
    assert sum(demand.values()) == pytest.approx(
        children * national_mix()["residential_complex"], abs=1e-3)
    # a fifth of it fits the block (thames_valley_block_fit_share)
    assert demand["residential_complex_fit"] / sum(demand.values()) == pytest.approx(0.2,
                                                                                       abs=1e-4)


def north_west_register_homes() -> float:
    """Registered places of active, full-time children's homes filed under a North West
    authority (Ofsted's spellings: 'St Helens', and pre-2023 'Cumbria')."""
    names = set(NORTH_WEST) | {"St Helens", "Cumbria"}
    return sum(float(r["Places"] or 0) for r in rows("ofsted_providers_2023-03-31.csv", skip=3)
               if r["Provision type"] in ("Children's home", "Children's Home")
               and r["Registration status"] == "Active"
               and not r["Short-break-only children's home"]
               and r["Local authority"] in names)


def test_childrens_home_places_equal_the_register_for_the_north_west():
    """Each home site offers its places as residential (82%) and complex residential (18%);
    special schools add complex places only, so the residential offers give the homes' places."""
    register = north_west_register_homes()
    share = Assumptions().complex_residential_share
    residential = sum(float(o["capacity"]) for o in table("north-west", "offers")
                      if o["placement_type"] == "residential")
    assert residential / (1 - share) == pytest.approx(register, abs=0.01)
    assert register == 2276


def test_cumbria_is_split_explicitly():
    counts = looked_after_2024()
    cumberland, westmorland = gss_of(["Cumberland", "Westmorland and Furness"])
    per_authority: dict[str, float] = {}
    for r in table("north-west", "demand"):
        per_authority[r["authority"]] = per_authority.get(r["authority"], 0) + float(r["places"])
    assert per_authority[cumberland] == pytest.approx(counts[cumberland]) == 482
    assert per_authority[westmorland] == pytest.approx(counts[westmorland]) == 246
    # the register's Cumbria homes are given to the successors by constituency
    sites = {p["id"].split("-", 1)[1] for p in table("north-west", "providers")
             if p["id"].startswith("S")}
    assert {cumberland, westmorland} <= sites


def test_provenance_lists_every_assumption_with_its_value():
    for name in SHIPPED:
        text = (INSTANCES / name / "PROVENANCE.md").read_text()
        for assumption, value, _, _ in Assumptions().rows():
            assert f"| `{assumption}` | {value} |" in text, (name, assumption)
        assert "Open Government Licence" in text


def test_thames_valley_provenance_notes_the_inconsistent_saving():
    text = (INSTANCES / "thames-valley" / "PROVENANCE.md").read_text()
    assert "£2.5m" in text and "£0.52m" in text


@pytest.mark.parametrize("instance, args", [
    ("north-west", []),
    ("thames-valley", ["--consortium", "Thames Valley"]),
])
def test_real_instance_runs_and_verifies(tmp_path, instance, args):
    out = tmp_path / instance
    result = CliRunner().invoke(main, ["run", str(INSTANCES / instance), "--out", str(out),
                                       *args])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"
    assert summary["totals"]["saving"] > 0
    verified = CliRunner().invoke(main, ["verify", str(INSTANCES / instance), str(out)])
    assert verified.exit_code == 0, verified.output


def test_thames_valley_takes_its_guaranteed_block(tmp_path):
    """All seven authorities see the block's 20 places (a coalition sees its demand share of
    them, so the six members alone see 18.4 and leave it)."""
    out = tmp_path / "tv"
    CliRunner().invoke(main, ["run", str(INSTANCES / "thames-valley"), "--out", str(out)])
    (tier,) = json.loads((out / "summary.json").read_text())["tiers"]
    assert (tier["provider"], tier["min_places"], tier["guarantee"]) == ("TV-BLOCK", 20, True)
    assert tier["discount_pct"] == pytest.approx(100 * 500 / 9500, abs=1e-5)
