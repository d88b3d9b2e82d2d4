"""`optimise verify`: a hand-computed results folder agrees; each corrupted figure is caught.

The results folders here are written by hand, every figure worked out in this file from the
instance (see the comments), so the test does not lean on verify's own arithmetic nor on the
solver path. The plans are feasible but not necessarily optimal: verify checks figures and
constraints, not optimality.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from optimiser import outputs
from optimiser.errors import InputError
from optimiser.loading import load_instance
from optimiser.schema import Policy
from optimiser.verify import verify_results

# ---------------------------------------------------------------------------------------------
# The instance: 2 authorities on one meridian, 3 providers (P3 in-house, owned by A1),
# 2 placement types with a step-up substitution, a guarantee tier and a plain tier.

W = 52  # weeks_per_year (default)
TRAVEL = 50  # travel_cost_per_km_year (default)
BREAKDOWN_COST = 2000  # policy
R = 6371.0088
# On a meridian the haversine distance is R * (difference of latitude in radians); x road_factor.
KM_A1_P1 = R * math.radians(53.1 - 53.0) * 1.2  # about 13.343 km: local (<= 32.19)
KM_A1_P2 = R * math.radians(54.0 - 53.0) * 1.2  # about 133.43 km: not local
KM_A1_P3 = 0.0  # same point
KM_A2_P1 = 60.0  # listed in distances (with extra_cost_year 1000): not local
KM_A2_P2 = 5.0  # listed: local
KM_A2_P3 = R * math.radians(54.0 - 53.0) * 1.2  # not local (and P3 may not serve A2 anyway)

TABLES = {
    "placement_types": [
        {
            "id": "foster",
            "name": "Fostering",
            "emergency_weekly_price": 2000,
            "case_management_weekly": 100,
        },
        {
            "id": "specialist",
            "specialist": "true",
            "emergency_weekly_price": 4000,
            "case_management_weekly": 200,
        },
    ],
    "authorities": [
        {"id": "A1", "name": "Ashford", "lat": 53.0, "lon": -2.0},
        {"id": "A2", "name": "Brinley", "lat": 54.0, "lon": -2.0, "min_local_share": 0.8},
    ],
    "demand": [
        {"authority": "A1", "placement_type": "foster", "places": 6},
        {"authority": "A1", "placement_type": "specialist", "places": 2},
        {"authority": "A2", "placement_type": "foster", "places": 4.5},
    ],
    "providers": [
        {
            "id": "P1",
            "name": "Hearth Ltd",
            "kind": "independent",
            "lat": 53.1,
            "lon": -2.0,
            "rating": "good",
            "contract_cost_year": 5000,
            "min_places": 2,
        },
        {
            "id": "P2",
            "name": "Kinship Trust",
            "kind": "voluntary",
            "lat": 54.0,
            "lon": -2.0,
            "rating": "outstanding",
        },
        {
            "id": "P3",
            "name": "Ashford Homes",
            "kind": "in_house",
            "owner": "A1",
            "lat": 53.0,
            "lon": -2.0,
            "rating": "requires_improvement",
            "max_places": 2,
        },
    ],
    "offers": [
        {
            "provider": "P1",
            "placement_type": "foster",
            "capacity": 10,
            "weekly_price": 800,
            "breakdown_rate": 0.1,
        },
        {
            "provider": "P1",
            "placement_type": "specialist",
            "capacity": 3,
            "weekly_price": 1500,
            "case_management_weekly": 250,
        },
        {"provider": "P2", "placement_type": "foster", "capacity": 5, "weekly_price": 900},
        {"provider": "P3", "placement_type": "foster", "capacity": 2, "weekly_price": 600},
    ],
    "tiers": [
        # P1: one group over all its offers; guaranteed (take-or-pay)
        {
            "provider": "P1",
            "placement_type": "",
            "min_places": 8,
            "discount_pct": 10,
            "guarantee": "true",
        },
        # P2: a plain tier on its foster offer
        {"provider": "P2", "placement_type": "foster", "min_places": 4, "discount_pct": 5},
    ],
    "distances": [
        {"authority": "A2", "provider": "P1", "km": 60, "extra_cost_year": 1000},
        {"authority": "A2", "provider": "P2", "km": 5},
    ],
    "substitutions": [{"need": "foster", "served_by": "specialist"}],
}
POLICY = {"breakdown_cost": BREAKDOWN_COST, "max_provider_share": 0.7}


@pytest.fixture
def instance_dir(make_instance) -> Path:
    return make_instance(TABLES, POLICY, name="verify test")


def full_policy(**changes) -> dict:
    """The policy as a run writes it into summary.json: every key."""
    return Policy.model_validate({**POLICY, **changes}).model_dump(mode="json")


# ---------------------------------------------------------------------------------------------
# The plan of both members, every figure by hand.


def fairness(pcts: list[float]) -> dict:
    n, mean = len(pcts), sum(pcts) / len(pcts)
    return {
        "min_saving_pct": min(pcts),
        "max_saving_pct": max(pcts),
        "jain": sum(pcts) ** 2 / (n * sum(x * x for x in pcts)),
        "gini": sum(abs(x - y) for x in pcts for y in pcts) / (2 * n * n * mean),
        "price_of_fairness": 0.0,
        "price_of_fairness_pct": 0.0,
    }


def consortium_results(standalone_a1: float = 500_000.0, standalone_a2: float = 280_000.0) -> dict:
    # Per-place yearly costs. P1's guarantee tier is active (chosen), so every P1 place is 10% off.
    fee_p1_foster = W * 800 * 0.9  # 37440
    fee_p1_specialist = W * 1500 * 0.9  # 70200
    fee_p2_foster = W * 900  # 46800: P2's tier (min 4) is not reached, no discount
    fee_p3_foster = W * 600  # 31200
    # non-fee: W*case management + travel*km + breakdown_rate*breakdown_cost + extra_cost_year
    a1_p1_foster = fee_p1_foster + W * 100 + TRAVEL * KM_A1_P1 + 0.1 * BREAKDOWN_COST
    a1_p1_specialist = fee_p1_specialist + W * 250 + TRAVEL * KM_A1_P1  # offer's cm override
    a1_p3_foster = fee_p3_foster + W * 100 + TRAVEL * KM_A1_P3  # 36400
    a2_p1_foster = fee_p1_foster + W * 100 + TRAVEL * KM_A2_P1 + 0.1 * BREAKDOWN_COST + 1000
    a2_p2_foster = fee_p2_foster + W * 100 + TRAVEL * KM_A2_P2  # 52250

    def row(a, p, t, n, places, price, disc, km, unit):
        return {
            "authority": a,
            "provider": p,
            "placement_type": t,
            "need": n,
            "places": places,
            "weekly_price": price,
            "discount_pct": disc,
            "distance_km": round(km, 3),
            "local": km <= 32.19,
            "annual_cost": round(places * unit, 2),
        }

    assignment = [
        row("A1", "P1", "foster", "foster", 3, 800, 10, KM_A1_P1, a1_p1_foster),
        # a foster need placed in a specialist offer (substitution), at that offer's price
        row("A1", "P1", "specialist", "foster", 1, 1500, 10, KM_A1_P1, a1_p1_specialist),
        row("A1", "P1", "specialist", "specialist", 2, 1500, 10, KM_A1_P1, a1_p1_specialist),
        row("A1", "P3", "foster", "foster", 2, 600, 0, KM_A1_P3, a1_p3_foster),
        row("A2", "P1", "foster", "foster", 1, 800, 10, KM_A2_P1, a2_p1_foster),
        row("A2", "P2", "foster", "foster", 3, 900, 0, KM_A2_P2, a2_p2_foster),
    ]
    # P1 volume 3+1+2+1 = 7 < 8: the guarantee leaves 1 void place, paid at the lowest price in
    # scope (800) after the tier's discount.
    void_cost = 1 * W * 800 * 0.9  # 37440
    shared = 5000 + void_cost  # P1's contract cost + the void payment
    # Demand: A1 8, A2 4.5, all members 12.5 -> shares 0.64 and 0.36.
    cost_a1 = (
        3 * a1_p1_foster
        + 1 * a1_p1_specialist
        + 2 * a1_p1_specialist
        + 2 * a1_p3_foster
        + 0.64 * shared
    )
    cost_a2 = (
        1 * a2_p1_foster
        + 3 * a2_p2_foster
        + W * 2000 * 0.5  # 0.5 foster places unmet, bought at the emergency price
        + 0.36 * shared
    )
    saving_a1, saving_a2 = standalone_a1 - cost_a1, standalone_a2 - cost_a2
    pct_a1, pct_a2 = 100 * saving_a1 / standalone_a1, 100 * saving_a2 / standalone_a2

    authorities = [
        {
            "authority": "A1",
            "name": "Ashford",
            "demand": 8,
            "placed": 8,
            "unmet": 0,
            "local_share": 1.0,  # every A1 place is within the radius
            "annual_cost": round(cost_a1, 2),
            "standalone_cost": standalone_a1,
            "saving": round(saving_a1, 2),
            "saving_pct": round(pct_a1, 6),
        },
        {
            "authority": "A2",
            "name": "Brinley",
            "demand": 4.5,
            "placed": 4,
            "unmet": 0.5,
            "local_share": 0.75,  # 3 of 4 at P2 (5 km); the P1 place is 60 km away
            "annual_cost": round(cost_a2, 2),
            "standalone_cost": standalone_a2,
            "saving": round(saving_a2, 2),
            "saving_pct": round(pct_a2, 6),
        },
    ]
    providers = [
        # list fees 52*(800*3 + 1500*1 + 1500*2 + 800*1) = 400400, after 10%: 360360
        {
            "provider": "P1",
            "name": "Hearth Ltd",
            "kind": "independent",
            "contracted": True,
            "places": 7,
            "capacity": 13,
            "utilisation": round(7 / 13, 6),
            "tier_min_places": 8,
            "discount_pct": 10,
            "guarantee": True,
            "void_places": 1,
            "annual_fees": 360360 + void_cost,
        },
        {
            "provider": "P2",
            "name": "Kinship Trust",
            "kind": "voluntary",
            "contracted": True,
            "places": 3,
            "capacity": 5,
            "utilisation": 0.6,
            "tier_min_places": 0,
            "discount_pct": 0,
            "guarantee": False,
            "void_places": 0,
            "annual_fees": 3 * fee_p2_foster,
        },
        {
            "provider": "P3",
            "name": "Ashford Homes",
            "kind": "in_house",
            "contracted": True,
            "places": 2,
            "capacity": 2,  # min(offer capacity 2, max_places 2)
            "utilisation": 1.0,
            "tier_min_places": 0,
            "discount_pct": 0,
            "guarantee": False,
            "void_places": 0,
            "annual_fees": 2 * fee_p3_foster,
        },
    ]
    gaps = [
        # eligible local offers for A1 foster: P1 foster 10, P1 specialist 3 (substitution),
        # P3 foster 2 (own in-house); P2 is 133 km away
        {
            "authority": "A1",
            "placement_type": "foster",
            "demand": 6,
            "local_capacity": 15,
            "placed_local": 6,
            "placed_out_of_area": 0,
            "unmet": 0,
        },
        {
            "authority": "A1",
            "placement_type": "specialist",
            "demand": 2,
            "local_capacity": 3,
            "placed_local": 2,
            "placed_out_of_area": 0,
            "unmet": 0,
        },
        # A2 foster: only P2 (5 km) is local; P3 is in-house for A1 only
        {
            "authority": "A2",
            "placement_type": "foster",
            "demand": 4.5,
            "local_capacity": 5,
            "placed_local": 3,
            "placed_out_of_area": 1,
            "unmet": 0.5,
        },
    ]
    standalone = standalone_a1 + standalone_a2
    cost = cost_a1 + cost_a2
    summary = {
        "instance": "verify test",
        "status": "optimal",
        "objective": 0.0,
        "mip_gap": 0.0,
        "solver": "highs",
        "seconds": 0.1,
        "members": ["A1", "A2"],
        "totals": {
            "demand": 12.5,
            "placed": 12,
            "unmet": 0.5,
            "annual_cost": cost,
            "standalone_cost": standalone,
            "saving": standalone - cost,
            "saving_pct": 100 * (standalone - cost) / standalone,
            "local_share": 11 / 12,
        },
        "fairness": fairness([pct_a1, pct_a2]),
        "tiers": [
            {
                "provider": "P1",
                "placement_type": None,
                "min_places": 8,
                "discount_pct": 10,
                "guarantee": True,
                "volume": 7,
                "void_places": 1,
                "void_cost": void_cost,
            }
        ],
        "shared_costs": {"contract": 5000, "void": void_cost},
        "not_kept_whole": [],
        # A2's target 0.8 x 4 placed = 3.2 local places; it has 3
        "penalties": {"local_shortfall_places": 0.2, "local_shortfall_cost": 0.2 * 10000},
        "warnings": [],
        "policy": full_policy(),
    }
    return {
        outputs.ASSIGNMENT: assignment,
        outputs.AUTHORITIES: authorities,
        outputs.PROVIDERS: providers,
        outputs.GAPS: gaps,
        outputs.SUMMARY: summary,
    }


def write_results(folder: Path, results: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        outputs.ASSIGNMENT: outputs.ASSIGNMENT_COLUMNS,
        outputs.AUTHORITIES: outputs.AUTHORITY_COLUMNS,
        outputs.PROVIDERS: outputs.PROVIDER_COLUMNS,
        outputs.GAPS: outputs.GAP_COLUMNS,
    }
    for name, header in columns.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            for row in results[name]:
                writer.writerow({k: _cell(v) for k, v in row.items()})
    (folder / outputs.SUMMARY).write_text(json.dumps(results[outputs.SUMMARY], indent=2))
    return folder


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def verify(instance_dir: Path, folder: Path, results: dict, **settings: str):
    """verify_results, told ``settings`` as `optimise verify --set KEY=VALUE` tells it."""
    own = load_instance(instance_dir)
    told = load_instance(instance_dir, settings) if settings else own
    return verify_results(told, write_results(folder, results), file_policy=own.policy)


def cli(*args: str):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


# ---------------------------------------------------------------------------------------------
# Agreement


def test_hand_computed_results_agree(instance_dir, tmp_path):
    report = verify(instance_dir, tmp_path / "results", consortium_results())
    assert report.disagreements == []
    assert report.ok and report.checks > 100
    result = cli(instance_dir, tmp_path / "results")
    assert result.exit_code == 0, result.output
    assert f"{report.checks} checks, all agree" in result.output


def test_member_not_kept_whole_is_allowed_when_listed(instance_dir, tmp_path):
    # A2's standalone 270000 is below its cost of 270868.40: an excess of 868.40.
    results = consortium_results(standalone_a2=270_000.0)
    report = verify(instance_dir, tmp_path / "a", results)
    assert any(
        "individual rationality" in d and "authorities.csv row A2" in d
        for d in report.disagreements
    ), report.disagreements

    results[outputs.SUMMARY]["not_kept_whole"] = [{"authority": "A2", "excess": 868.40}]
    assert verify(instance_dir, tmp_path / "b", results).disagreements == []

    results[outputs.SUMMARY]["not_kept_whole"] = [{"authority": "A2", "excess": 500.0}]
    report = verify(instance_dir, tmp_path / "c", results)
    assert any("not_kept_whole[0] (A2) excess: file 500" in d for d in report.disagreements)


def test_individual_rationality_off_does_not_require_listing(instance_dir, tmp_path):
    results = consortium_results(standalone_a2=270_000.0)
    results[outputs.SUMMARY]["policy"] = full_policy(individual_rationality=False)
    told = verify(instance_dir, tmp_path / "r", results, individual_rationality="false")
    assert told.disagreements == []
    assert told.overrides == ["individual_rationality: the run used false, the instance says "
                              "true; given with --set individual_rationality=false, recomputed "
                              "with it"]


def test_concentration_is_checked_at_the_share_the_run_was_given(instance_dir, tmp_path):
    # P1 has 7 of 12 places: over 0.55 x 12 = 6.6
    results = consortium_results()
    results[outputs.SUMMARY]["policy"] = full_policy(max_provider_share=0.55)
    report = verify(instance_dir, tmp_path / "r", results, max_provider_share="0.55")
    assert [d for d in report.disagreements if "concentration" in d] == [
        "providers.csv row P1 column places: concentration: 7 placed, above max_provider_share "
        "0.55 x 12 = 6.6"]


# ---------------------------------------------------------------------------------------------
# One corrupted figure at a time


def _rows(results, name):
    return results[name]


def corrupt_row_cost(r):
    _rows(r, outputs.ASSIGNMENT)[0]["annual_cost"] += 100


def corrupt_member_saving(r):
    _rows(r, outputs.AUTHORITIES)[1]["saving"] += 50


def breach_capacity(r):
    # move a foster place from P1's foster offer into its specialist offer: 4 > capacity 3
    _rows(r, outputs.ASSIGNMENT)[0]["places"] = 2
    _rows(r, outputs.ASSIGNMENT)[1]["places"] = 2


def in_house_serves_non_owner(r):
    _rows(r, outputs.ASSIGNMENT).append(
        {
            "authority": "A2",
            "provider": "P3",
            "placement_type": "foster",
            "need": "foster",
            "places": 0.5,
            "weekly_price": 600,
            "discount_pct": 0,
            "distance_km": 133.434,
            "local": False,
            "annual_cost": round(0.5 * (W * 600 + W * 100 + TRAVEL * KM_A2_P3), 2),
        }
    )


def tier_below_min_places(r):
    # claims P2's plain tier (min 4) with only 3 places placed there
    r[outputs.SUMMARY]["tiers"].append(
        {
            "provider": "P2",
            "placement_type": "foster",
            "min_places": 4,
            "discount_pct": 5,
            "guarantee": False,
            "volume": 3,
            "void_places": 0,
            "void_cost": 0,
        }
    )


def policy_edited(r):
    # the summary claims a stricter share than the instance's 0.7; verify keeps the instance's
    r[outputs.SUMMARY]["policy"] = full_policy(max_provider_share=0.55)


def corrupt_local_share(r):
    _rows(r, outputs.AUTHORITIES)[1]["local_share"] = 0.8


def understate_shortfall(r):
    r[outputs.SUMMARY]["penalties"] = {"local_shortfall_places": 0, "local_shortfall_cost": 0}


def corrupt_gini(r):
    r[outputs.SUMMARY]["fairness"]["gini"] += 0.01


CORRUPTIONS = [
    (corrupt_row_cost, ["assignment.csv row 2 (A1, P1, foster, foster) column annual_cost: file"]),
    (corrupt_member_saving, ["authorities.csv row A2 column saving: file"]),
    (
        breach_capacity,
        ["assignment.csv row offer (P1, specialist) column places: capacity breached"],
    ),
    (
        in_house_serves_non_owner,
        [
            ("assignment.csv row 8 (A2, P3, foster, foster): ineligible: "
            "in-house provider P3 serves A2")
        ],
    ),
    (
        tier_below_min_places,
        ["summary.json tiers[1] volume: tier P2 foster is active", "below min_places 4"],
    ),
    (policy_edited, ["summary.json policy max_provider_share: the run used 0.55, the "
                     "instance says 0.7; figures recomputed with 0.7"]),
    (corrupt_local_share, ["authorities.csv row A2 column local_share: file 0.8, recomputed 0.75"]),
    (understate_shortfall, ["summary.json penalties local_shortfall_places: file 0"]),
    (corrupt_gini, ["summary.json fairness gini: file"]),
]


@pytest.mark.parametrize("corrupt, expected", CORRUPTIONS, ids=[c.__name__ for c, _ in CORRUPTIONS])
def test_each_corruption_is_reported(instance_dir, tmp_path, corrupt, expected):
    results = consortium_results()
    corrupt(results)
    report = verify(instance_dir, tmp_path / "results", results)
    assert not report.ok
    assert any(all(part in d for part in expected) for d in report.disagreements), (
        report.disagreements
    )
    result = cli(instance_dir, tmp_path / "results")
    assert result.exit_code == 1, result.output
    assert expected[0] in result.output


def test_a_lone_figure_change_is_the_only_disagreement(instance_dir, tmp_path):
    # figures are checked against recomputed values, not against each other, so one wrong
    # figure is one disagreement (not a cascade)
    results = consortium_results()
    corrupt_row_cost(results)
    assert len(verify(instance_dir, tmp_path / "r", results).disagreements) == 1


# ---------------------------------------------------------------------------------------------
# A coalition of A1 alone: capacity scaled to its demand share, in-house kept whole


def a1_alone_results() -> dict:
    # D_A1 = 8 of D = 12.5: every capacity is scaled by 0.64 except P3 (in-house of A1):
    # P1 foster 6.4, P1 specialist 1.92, P2 foster 3.2, P3 foster 2 (max_places 2).
    fee_p1_foster, fee_p1_specialist, fee_p3_foster = W * 800, W * 1500, W * 600  # no tier
    a1_p1_foster = fee_p1_foster + W * 100 + TRAVEL * KM_A1_P1 + 0.1 * BREAKDOWN_COST
    a1_p1_specialist = fee_p1_specialist + W * 250 + TRAVEL * KM_A1_P1
    a1_p3_foster = fee_p3_foster + W * 100
    assignment = [
        {
            "authority": "A1",
            "provider": "P1",
            "placement_type": "foster",
            "need": "foster",
            "places": 4,
            "weekly_price": 800,
            "discount_pct": 0,
            "distance_km": round(KM_A1_P1, 3),
            "local": True,
            "annual_cost": round(4 * a1_p1_foster, 2),
        },
        {
            "authority": "A1",
            "provider": "P1",
            "placement_type": "specialist",
            "need": "specialist",
            "places": 1.92,
            "weekly_price": 1500,
            "discount_pct": 0,
            "distance_km": round(KM_A1_P1, 3),
            "local": True,
            "annual_cost": round(1.92 * a1_p1_specialist, 2),
        },
        {
            "authority": "A1",
            "provider": "P3",
            "placement_type": "foster",
            "need": "foster",
            "places": 2,
            "weekly_price": 600,
            "discount_pct": 0,
            "distance_km": 0.0,
            "local": True,
            "annual_cost": round(2 * a1_p3_foster, 2),
        },
    ]
    # 0.08 specialist places unmet at 4000/week; A1 bears all of P1's contract cost (share 1)
    cost = 4 * a1_p1_foster + 1.92 * a1_p1_specialist + 2 * a1_p3_foster + W * 4000 * 0.08 + 5000
    standalone = 470_000.0
    pct = 100 * (standalone - cost) / standalone
    authorities = [
        {
            "authority": "A1",
            "name": "Ashford",
            "demand": 8,
            "placed": 7.92,
            "unmet": 0.08,
            "local_share": 1.0,
            "annual_cost": round(cost, 2),
            "standalone_cost": standalone,
            "saving": round(standalone - cost, 2),
            "saving_pct": round(pct, 6),
        },
    ]
    providers = [
        {
            "provider": "P1",
            "name": "Hearth Ltd",
            "kind": "independent",
            "contracted": True,
            "places": 5.92,
            "capacity": 8.32,
            "utilisation": round(5.92 / 8.32, 6),
            "tier_min_places": 0,
            "discount_pct": 0,
            "guarantee": False,
            "void_places": 0,
            "annual_fees": round(4 * fee_p1_foster + 1.92 * fee_p1_specialist, 2),
        },
        {
            "provider": "P2",
            "name": "Kinship Trust",
            "kind": "voluntary",
            "contracted": False,
            "places": 0,
            "capacity": 3.2,
            "utilisation": 0,
            "tier_min_places": 0,
            "discount_pct": None,  # no fees: the effective discount is undefined
            "guarantee": False,
            "void_places": 0,
            "annual_fees": 0,
        },
        {
            "provider": "P3",
            "name": "Ashford Homes",
            "kind": "in_house",
            "contracted": True,
            "places": 2,
            "capacity": 2,
            "utilisation": 1.0,
            "tier_min_places": 0,
            "discount_pct": 0,
            "guarantee": False,
            "void_places": 0,
            "annual_fees": 2 * fee_p3_foster,
        },
    ]
    gaps = [
        {
            "authority": "A1",
            "placement_type": "foster",
            "demand": 6,
            "local_capacity": 10.32,  # 6.4 + 1.92 + 2
            "placed_local": 6,
            "placed_out_of_area": 0,
            "unmet": 0,
        },
        {
            "authority": "A1",
            "placement_type": "specialist",
            "demand": 2,
            "local_capacity": 1.92,
            "placed_local": 1.92,
            "placed_out_of_area": 0,
            "unmet": 0.08,
        },
    ]
    summary = {
        "instance": "verify test",
        "status": "optimal",
        "objective": 0.0,
        "mip_gap": 0.0,
        "solver": "highs",
        "seconds": 0.1,
        "members": ["A1"],
        "totals": {
            "demand": 8,
            "placed": 7.92,
            "unmet": 0.08,
            "annual_cost": cost,
            "standalone_cost": standalone,
            "saving": standalone - cost,
            "saving_pct": pct,
            "local_share": 1.0,
        },
        "fairness": {
            "min_saving_pct": pct,
            "max_saving_pct": pct,
            "jain": 1.0,
            "gini": 0.0,
            "price_of_fairness": 0.0,
            "price_of_fairness_pct": 0.0,
        },
        "tiers": [],
        "shared_costs": {"contract": 5000, "void": 0},
        "not_kept_whole": [],
        "penalties": {"local_shortfall_places": 0, "local_shortfall_cost": 0},
        # run with --set max_provider_share=1: P1 takes 5.92 of 7.92 places (over the
        # instance's 0.7); verify is told so with --set max_provider_share=1
        "warnings": [],
        "policy": full_policy(max_provider_share=1.0),
    }
    return {
        outputs.ASSIGNMENT: assignment,
        outputs.AUTHORITIES: authorities,
        outputs.PROVIDERS: providers,
        outputs.GAPS: gaps,
        outputs.SUMMARY: summary,
    }


def test_coalition_sees_its_share_of_capacity(instance_dir, tmp_path):
    told = {"max_provider_share": "1"}  # the run's --set
    assert verify(instance_dir, tmp_path / "ok", a1_alone_results(), **told).disagreements == []

    results = a1_alone_results()
    results[outputs.ASSIGNMENT][1]["places"] = 2  # 2 > 1.92 seen, though under the listed 3
    report = verify(instance_dir, tmp_path / "breach", results, **told)
    assert any(
        "offer (P1, specialist) column places: capacity breached" in d for d in report.disagreements
    ), report.disagreements

    results = a1_alone_results()
    results[outputs.SUMMARY]["policy"] = full_policy(
        max_provider_share=1.0, baseline_capacity="full"
    )
    report = verify(instance_dir, tmp_path / "full", results, **told, baseline_capacity="full")
    assert any(
        "providers.csv row P1 column capacity: file 8.32, recomputed 13" in d
        for d in report.disagreements
    ), report.disagreements


# ---------------------------------------------------------------------------------------------
# Unreadable results are input errors (exit 2) naming the file


def test_missing_file_is_an_input_error(instance_dir, tmp_path):
    folder = write_results(tmp_path / "r", consortium_results())
    (folder / outputs.GAPS).unlink()
    with pytest.raises(InputError, match="gaps.csv"):
        verify_results(load_instance(instance_dir), folder)
    result = cli(instance_dir, folder)
    assert result.exit_code == 2
    assert "gaps.csv" in result.output


def test_missing_column_is_an_input_error(instance_dir, tmp_path):
    folder = write_results(tmp_path / "r", consortium_results())
    # drop the utilisation column (no cell of these rows holds a comma)
    lines = (folder / outputs.PROVIDERS).read_text().splitlines()
    drop = lines[0].split(",").index("utilisation")
    kept = [",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines]
    (folder / outputs.PROVIDERS).write_text("\n".join(kept) + "\n")
    with pytest.raises(InputError, match=r"providers.csv.*missing column\(s\): utilisation"):
        verify_results(load_instance(instance_dir), folder)
    assert cli(instance_dir, folder).exit_code == 2


def test_missing_summary_key_is_an_input_error(instance_dir, tmp_path):
    results = consortium_results()
    del results[outputs.SUMMARY]["totals"]
    with pytest.raises(InputError, match="summary.json.*totals"):
        verify(instance_dir, tmp_path / "r", results)


# ---------------------------------------------------------------------------------------------
# Round trip: what `optimise run` writes, verify accepts


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--members", "A1"],
        ["--voice", "maxmin"],
        ["--set", "share_in_house=true", "--set", "baseline_capacity=full"],
        # P1 (good) and P3 (requires improvement) may not be used: providers without fees
        ["--set", "min_rating=outstanding"],
    ],
)
def test_run_output_verifies(instance_dir, tmp_path, options):
    out = tmp_path / "run"
    ran = CliRunner().invoke(main, ["run", str(instance_dir), "--out", str(out), *options])
    assert ran.exit_code == 0, ran.output
    settings = [o for i, o in enumerate(options) if "--set" in options[i - 1:i]]
    told = [arg for setting in settings for arg in ("--set", setting)]
    result = cli(instance_dir, out, *told)
    assert result.exit_code == 0, result.output
