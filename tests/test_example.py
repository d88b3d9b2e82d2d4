"""The shipped example's optimum, worked out by hand.

Data (instances/example): W = 52 weeks, travel £50 per km per place per year, case management
£100/wk (foster_standard), £150/wk (foster_specialist), £200/wk (residential). Every distance is
listed. Cost of one place per year = 52 * weekly price * (1 - discount) + 52 * cm + 50 * km.

Foster (standard) need: A1 20, A2 10, A3 8, A4 3 = 41; specialist: A2 2, A4 1; residential:
A1 3, A3 2. Supply of standard foster places: H1 8 (A1's in-house, A1 only), F1 20, F2 11 = 39,
so 2 standard needs overflow, either to S1's specialist places (the substitution) or to
emergency placements at £1,500/wk = £78,000/yr.

1. F1's tier. F1 is the cheapest independent foster place for every authority at any tier, so
   it is full (20 places) whatever tier is taken. Plain 5% tier (15 places): fee 52*800*0.95 =
   39,520. Guarantee 15% tier (22 places): fee 52*800*0.85 = 35,360, saving 20 * 4,160 = 83,200
   a year, for 2 void places at 52*800*0.85 = 35,360 each = 70,720. 83,200 > 70,720: the
   guarantee tier is taken, with 2 void places.
2. H1: A1's 8 places at 31,200 + 5,200 + 50*5 = 36,650 (cheapest of all).
3. The standard foster transport problem, per place per year (F1 at 15%; S1 serving a standard
   need at 52*1100 + 52*150 = 65,000 plus travel):
            F1       F2       S1
     A1   41,060   49,840   66,250
     A2   42,060   48,840   65,600
     A3   43,560   48,590   67,250
     A4   44,560   49,090   66,750
   with F1 20, F2 11, S1 2 (S1 has 6 places, 3 go to the specialist needs, which only it can
   serve below the £130,000/yr emergency price). Over F1, F2 costs A4 4,530, A3 5,030,
   A2 6,780, A1 8,780 more and S1 costs A4 22,190, A2 23,540, A3 23,690, A1 25,190 more.
   Optimal: F2 takes A4 3 + A3 8 (the 11 smallest F2 premiums), S1 takes 2 of A2's, F1 takes
   A1 12 + A2 8. Dual prices prove it optimal and unique: F1's capacity 23,540, F2's 17,210,
   S1's 0; every unused cell then has a strictly positive reduced cost.
4. Residential: R1 (4 places, 52*5000 + 52*200 = 270,400 + travel, contract £20,000/yr),
   R2 (52*5400 + 10,400 = 291,200 + travel). R2 over R1 costs A1 22,300, A3 19,800 more, so R1
   takes A1 3 + A3 1 and R2 A3 1; R1's contract (20,000) is worth it (4 places ~ 80,000 saved).
5. Shared costs: 20,000 contract + 70,720 void = 90,720, split by demand share
   (A1 23, A2 12, A3 10, A4 4 of 49).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main
from optimiser.loading import load_instance
from optimiser.run import run
from optimiser.tables import assignment_table, authority_table

W = 52
SHARED = 20_000 + 2 * W * 800 * 0.85  # R1 contract + F1's 2 void places

# (authority, provider, offer type, need) -> (places, cost of one place per year)
HAND_PLAN = {
    ("A1", "H1", "foster_standard", "foster_standard"): (8, W * 600 + W * 100 + 50 * 5),
    ("A1", "F1", "foster_standard", "foster_standard"): (12, W * 800 * 0.85 + W * 100 + 50 * 10),
    ("A1", "R1", "residential", "residential"): (3, W * 5000 + W * 200 + 50 * 20),
    ("A2", "F1", "foster_standard", "foster_standard"): (8, W * 800 * 0.85 + W * 100 + 50 * 30),
    ("A2", "S1", "foster_specialist", "foster_standard"): (2, W * 1100 + W * 150 + 50 * 12),
    ("A2", "S1", "foster_specialist", "foster_specialist"): (2, W * 1100 + W * 150 + 50 * 12),
    ("A3", "F2", "foster_standard", "foster_standard"): (8, W * 820 + W * 100 + 50 * 15),
    ("A3", "R1", "residential", "residential"): (1, W * 5000 + W * 200 + 50 * 30),
    ("A3", "R2", "residential", "residential"): (1, W * 5400 + W * 200 + 50 * 10),
    ("A4", "F2", "foster_standard", "foster_standard"): (3, W * 820 + W * 100 + 50 * 25),
    ("A4", "S1", "foster_specialist", "foster_specialist"): (1, W * 1100 + W * 150 + 50 * 35),
}
DEMAND = {"A1": 23, "A2": 12, "A3": 10, "A4": 4}
HAND_TOTAL = sum(p * c for p, c in HAND_PLAN.values()) + SHARED


def hand_member_cost(authority: str) -> float:
    own = sum(p * c for (a, *_), (p, c) in HAND_PLAN.items() if a == authority)
    return own + SHARED * DEMAND[authority] / sum(DEMAND.values())


def test_hand_total_is_the_figure_derived_in_the_docstring():
    # 293,200 + 829,200 (F1) + 535,990 (F2) + 262,400 + 66,750 (S1) + 1,377,800 (homes) + 90,720
    assert HAND_TOTAL == pytest.approx(3_456_060.0, abs=1e-6)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_example_optimum_matches_the_hand_computation(solver):
    instance = load_instance(EXAMPLE, {"solver": solver, "mip_gap": "1e-9"})
    outcome = run(instance)
    plan = outcome.plan
    assert plan.result.status == "optimal"
    # The solver's objective carries its feasibility tolerance (CBC: £0.04 in £3.5m); the
    # plan's cost is recomputed from the places and must be exact.
    assert plan.result.objective == pytest.approx(HAND_TOTAL, rel=1e-7)
    assert plan.total_cost == pytest.approx(HAND_TOTAL, rel=1e-9)
    rows = assignment_table(outcome)
    found = {(r.authority, r.provider, r.placement_type, r.need): r.places
             for r in rows.itertuples()}
    assert found == {key: pytest.approx(places) for key, (places, _) in HAND_PLAN.items()}
    for member in DEMAND:
        assert plan.member_cost[member] == pytest.approx(hand_member_cost(member), abs=0.01)
    (tier,) = plan.tiers.itertuples()
    assert (tier.provider, tier.min, tier.discount, tier.void) == ("F1", 22, 15, 2)


def test_smallest_member_standalone_cost_by_hand():
    """A4 alone sees 4/49 of every offer (section 5, shared): F1 80/49, F2 44/49, S1 24/49
    places; no tier is within its reach. S1 goes to its specialist need (saves 130,000 - 66,750
    a place, against 78,000 - 66,750 for a standard need); standard foster fills F2 (49,090),
    then F1 without discount (52*800 + 5,200 + 4,000 = 50,800), the rest emergency."""
    instance = load_instance(EXAMPLE, {"mip_gap": "1e-9"})
    outcome = run(instance)
    specialist = 66_750
    hand = (44 * 49_090 + 80 * 50_800 + 23 * 78_000 + 24 * specialist + 25 * 130_000) / 49
    assert outcome.standalone.cost["A4"] == pytest.approx(hand, abs=0.01)
    assert hand == pytest.approx(262_652.24, abs=0.01)
    saving = authority_table(outcome).set_index("authority").loc["A4", "saving"]
    assert saving == pytest.approx(hand - hand_member_cost("A4"), abs=0.01)


def test_cli_run_writes_the_hand_optimum_and_verifies(tmp_path):
    out = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(EXAMPLE), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(result.stdout)
    assert summary["totals"]["annual_cost"] == pytest.approx(HAND_TOTAL, abs=0.01)
    assert summary["status"] == "optimal"
    assert summary["not_kept_whole"] == []
    assert sorted(p.name for p in out.iterdir()) == [
        ".optimise-results",  # the marker: optimise wrote this folder and may replace it
        "assignment.csv", "authorities.csv", "gaps.csv", "investment.csv", "providers.csv",
        "report.html", "report.xlsx", "sufficiency.csv", "summary.json"]
    verified = runner.invoke(main, ["verify", str(EXAMPLE), str(out)])
    assert verified.exit_code == 0, verified.output
