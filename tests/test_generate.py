"""`optimise generate`: seeded synthetic instances that load, solve, verify and look realistic."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from optimiser.errors import InputError
from optimiser.generate import (
    IN_HOUSE_PRICE,
    LAT_RANGE,
    LON_RANGE,
    TYPE_SPECS,
    generate_instance,
    on_land,
    write_instance,
)
from optimiser.loading import load_instance
from optimiser.market import great_circle_km
from optimiser.run import run
from optimiser.verify import verify_results
from optimiser.writers import result_files, write_folder

TYPE_IDS = ["foster_standard", "foster_specialist", "residential", "supported_16plus",
            "parent_child", "residential_complex"]

SIZES = [  # authorities, providers, types, seed
    (1, 1, 1, 0), (1, 1, 6, 3), (3, 3, 6, 1), (2, 9, 2, 4), (5, 20, 6, 2), (12, 8, 3, 7),
    (20, 80, 4, 5), (40, 150, 6, 11), (60, 400, 5, 8),
]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def totals(instance):
    demand, capacity = defaultdict(float), defaultdict(float)
    for row in instance.demand:
        demand[row.placement_type] += row.places
    for offer in instance.offers:
        capacity[offer.placement_type] += offer.capacity
    return demand, capacity


# Loading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorities, providers, types, seed", SIZES)
def test_generated_instances_load_without_problems(tmp_path, authorities, providers, types,
                                                   seed):
    instance = generate_instance(authorities, providers, types, seed)
    loaded = load_instance(write_instance(instance, tmp_path / "instance"))
    assert loaded.warnings == ()
    assert len(loaded.authorities) == authorities
    assert len(loaded.providers) == providers
    assert list(loaded.placement_types) == TYPE_IDS[:types]
    assert {d.placement_type for d in loaded.demand} == set(TYPE_IDS[:types])
    assert len(loaded.demand) == authorities * types
    # the files hold exactly the generated instance: every value is written with its decimals
    for table in ("placement_types", "authorities", "demand", "providers", "offers", "tiers",
                  "substitutions", "consortia"):
        assert getattr(loaded, table) == getattr(instance, table), table


def test_all_six_types_with_substitutions_and_consortia():
    instance = generate_instance(8, 40, 6, seed=1)
    assert {(s.need, s.served_by) for s in instance.substitutions} == {
        ("foster_standard", "foster_specialist"), ("residential", "residential_complex")}
    assert instance.consortium_names == ["Whole consortium", "Northern group", "Southern group"]
    north, south = instance.consortium("Northern group"), instance.consortium("Southern group")
    assert sorted(north + south) == sorted(instance.authorities) and north and south
    assert generate_instance(8, 40, 2, seed=1).substitutions == (
        generate_instance(8, 40, 6, seed=1).substitutions[:1])
    assert generate_instance(8, 40, 1, seed=1).substitutions == ()


def test_bad_arguments_are_input_errors():
    for args in [(0, 5, 3, 0), (3, 0, 3, 0), (3, 5, 0, 0), (3, 5, 7, 0), (3, 5, 3, -1)]:
        with pytest.raises(InputError):
            generate_instance(*args)
    with pytest.raises(InputError, match="unknown setting colour"):
        generate_instance(3, 5, 3, 0, colour="blue")


# Determinism -----------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    first = files_of(write_instance(generate_instance(30, 120, 6, 42), tmp_path / "a"))
    again = files_of(write_instance(generate_instance(30, 120, 6, 42), tmp_path / "b"))
    other = files_of(write_instance(generate_instance(30, 120, 6, 43), tmp_path / "c"))
    assert first == again
    assert set(first) == set(other)
    fixed = {"placement_types.csv", "substitutions.csv"}  # the vocabulary, not drawn
    assert all(first[name] != other[name] for name in first if name not in fixed)
    assert "tiers.csv" in first and "consortia.csv" in first and "distances.csv" not in first


def test_floats_have_fixed_decimals(tmp_path):
    folder = write_instance(generate_instance(5, 20, 6, 0), tmp_path / "i")
    header, *rows = (folder / "offers.csv").read_text().splitlines()
    assert header == "provider,placement_type,capacity,weekly_price,breakdown_rate"
    for row in rows:
        _, _, capacity, price, rate = row.split(",")
        assert len(capacity.split(".")[1]) == 1
        assert len(price.split(".")[1]) == 2
        assert len(rate.split(".")[1]) == 3


# Solving ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(4, 12, 3, 0), (5, 20, 6, 1)])
def test_small_generated_instance_solves_and_verifies(tmp_path, size):
    instance = load_instance(write_instance(generate_instance(*size), tmp_path / "instance"))
    outcome = run(instance)
    files = result_files(outcome)
    summary = json.loads(files["summary.json"])
    assert summary["status"] == "optimal"
    assert summary["totals"]["saving"] > 0  # a consortium with tiers gains something
    report = verify_results(instance, write_folder(tmp_path / "results", files))
    assert report.ok, report.disagreements


def test_one_authority_one_provider_solves():
    outcome = run(generate_instance(1, 1, 1, 0))
    assert json.loads(result_files(outcome)["summary.json"])["status"] == "optimal"


# Realism ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorities, providers, types, seed",
                         SIZES + [(500, 5000, 6, 1), (100, 60, 6, 2)])
def test_totals_and_prices_behave_as_specified(authorities, providers, types, seed):
    instance = generate_instance(authorities, providers, types, seed)
    demand, capacity = totals(instance)
    for t in instance.placement_types:
        assert 0.9 * demand[t] - 1e-6 <= capacity[t] <= 1.3 * demand[t] + 1e-6, t
        assert any(o.placement_type == t for o in instance.offers), t

    in_house = [p for p in instance.providers.values() if p.kind == "in_house"]
    if providers >= authorities:
        assert sorted(p.owner for p in in_house) == sorted(instance.authorities)
    else:
        assert in_house == []

    specs = {t.id: t for t in TYPE_SPECS}
    kinds = {p.id: p.kind for p in instance.providers.values()}
    dearest = defaultdict(float)
    for offer in instance.offers:
        spec = specs[offer.placement_type]
        if kinds[offer.provider] == "in_house" and offer.placement_type == "foster_standard":
            assert IN_HOUSE_PRICE[2] <= offer.weekly_price <= IN_HOUSE_PRICE[3]
        else:
            assert spec.low <= offer.weekly_price <= spec.high, offer
        assert offer.capacity > 0
        dearest[offer.placement_type] = max(dearest[offer.placement_type], offer.weekly_price)
    for t, placement_type in instance.placement_types.items():
        assert placement_type.emergency_weekly_price > dearest[t]
    for row in instance.demand:
        assert row.sd == pytest.approx(np.sqrt(row.places), abs=0.006)


def test_calibrated_price_ranges():
    ranges = {t.id: (t.low, t.typical, t.high) for t in TYPE_SPECS}
    assert ranges["foster_standard"] == (550, 815, 972)
    assert ranges["residential"][1] == 6250
    assert ranges["residential_complex"][::2] == (6800, 15000)
    assert ranges["parent_child"][::2] == (1600, 2790)
    instance = generate_instance(80, 600, 6, 3)
    prices = defaultdict(list)
    for offer in instance.offers:
        if instance.providers[offer.provider].kind != "in_house":
            prices[offer.placement_type].append(offer.weekly_price)
    assert 760 <= np.median(prices["foster_standard"]) <= 870
    assert 5800 <= np.median(prices["residential"]) <= 6700
    assert 1000 <= np.median(prices["supported_16plus"]) <= 1400


def test_geography_is_clustered_in_england_and_providers_near_authorities():
    instance = generate_instance(50, 200, 6, 9)
    a_lat = np.array([a.lat for a in instance.authorities.values()])
    a_lon = np.array([a.lon for a in instance.authorities.values()])
    p_lat = np.array([p.lat for p in instance.providers.values()])
    p_lon = np.array([p.lon for p in instance.providers.values()])
    for lat, lon in ((a_lat, a_lon), (p_lat, p_lon)):
        assert ((LAT_RANGE[0] <= lat) & (lat <= LAT_RANGE[1])).all()
        assert ((LON_RANGE[0] <= lon) & (lon <= LON_RANGE[1])).all()
        assert on_land(lat, lon).all()
    nearest = great_circle_km(p_lat[:, None], p_lon[:, None], a_lat[None, :],
                              a_lon[None, :]).min(axis=1)
    assert 0.75 <= (nearest <= 30.0 + 1e-6).mean() < 1.0  # most near one, some further
    regions = {a.region for a in instance.authorities.values()}
    assert 2 <= len(regions) <= 10  # clustered around a few towns


def test_market_mix():
    instance = generate_instance(60, 300, 6, 4)
    demand, _ = totals(instance)
    assert max(demand, key=demand.get) == "foster_standard"
    providers = list(instance.providers.values())
    kinds = [p.kind for p in providers]
    assert kinds.count("independent") > kinds.count("voluntary") > 0
    ratings = [p.rating for p in providers]
    assert ratings.count("good") + ratings.count("outstanding") > len(ratings) / 2
    assert {"requires_improvement", "inadequate", "unrated"} <= set(ratings)
    assert 0 < sum(p.contract_cost_year > 0 for p in providers) < len(providers) / 4
    assert 0 < sum(p.min_places > 0 for p in providers) < len(providers) / 4
    assert any(t.guarantee for t in instance.tiers) and not all(t.guarantee for t in instance.tiers)


def test_knobs():
    exact = generate_instance(10, 40, 3, 0, capacity_ratio=(1.0, 1.0), in_house=False,
                              name="knobbed")
    demand, capacity = totals(exact)
    assert all(capacity[t] == pytest.approx(demand[t]) for t in demand)
    assert all(p.kind != "in_house" for p in exact.providers.values())
    assert exact.name == "knobbed"


def test_large_instance_is_quick():
    started = time.perf_counter()
    instance = generate_instance(500, 5000, 6, 0)
    assert time.perf_counter() - started < 5
    assert len(instance.providers) == 5000 and len(instance.authorities) == 500


# CLI -------------------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_writes_a_folder_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "generated"
    args = ("generate", "--authorities", 6, "--providers", 25, "--types", 6, "--seed", 5, out)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    written = files_of(out)
    assert written == files_of(write_instance(generate_instance(6, 25, 6, 5), tmp_path / "lib"))
    assert load_instance(out).warnings == ()

    again = invoke("generate", "--seed", 6, out)
    assert again.exit_code == 2
    assert "not empty" in again.output and "--force" in again.output
    assert "Traceback" not in again.output
    assert files_of(out) == written

    forced = invoke("generate", "--seed", 6, "--force", out)
    assert forced.exit_code == 0, forced.output
    assert files_of(out) != written
    assert len(load_instance(out).authorities) == 10  # the defaults


def test_cli_writes_into_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert invoke("generate", "--providers", 5, tmp_path / "empty").exit_code == 0
    assert (tmp_path / "empty" / "instance.yaml").is_file()


@pytest.mark.parametrize("args, message", [
    (["--types", 7], "--types"),
    (["--types", 0], "--types"),
    (["--authorities", 0], "--authorities"),
    (["--providers", -1], "--providers"),
    (["--seed", -3], "--seed"),
])
def test_cli_bad_arguments_exit_2(tmp_path, args, message):
    result = invoke("generate", *args, tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()
