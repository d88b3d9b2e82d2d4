"""Local sufficiency (max flow, minimum cut) and investment signals (duals, re-solves)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE, run_optimise
from random_instances import random_instance

from cli import main
from models.voices import solve_consortium
from optimiser.investment import STEP, candidate_market, candidates, investment_signals
from optimiser.loading import load_instance
from optimiser.market import build_market
from optimiser.records import Instance
from optimiser.run import run, solver_for
from optimiser.schema import (
    Authority,
    Demand,
    Distance,
    Offer,
    PlacementType,
    Policy,
    Provider,
    Substitution,
)
from optimiser.sufficiency import NO_LOCAL_OFFER, local_flow, local_sufficiency


def tiny(demand: dict[str, float], offers: list[tuple[str, float, float]],
         km: dict[tuple[str, str], float], policy: dict | None = None,
         max_places: dict[str, float] | None = None) -> Instance:
    """One placement type T (emergency £2,000 a week, case management £100 a week); every
    distance listed, so nobody needs coordinates."""
    providers = sorted({p for p, _, _ in offers})
    max_places = max_places or {}
    return Instance(
        name="tiny", description="",
        placement_types={"T": PlacementType(id="T", emergency_weekly_price=2000,
                                            case_management_weekly=100)},
        authorities={a: Authority(id=a) for a in demand},
        demand=tuple(Demand(authority=a, placement_type="T", places=d)
                     for a, d in demand.items()),
        providers={p: Provider(id=p, max_places=max_places.get(p)) for p in providers},
        offers=tuple(Offer(provider=p, placement_type="T", capacity=c, weekly_price=w)
                     for p, c, w in offers),
        distances=tuple(Distance(authority=a, provider=p, km=km.get((a, p), 200.0))
                        for a in demand for p in providers),
        policy=Policy(**{"baseline_capacity": "full", **(policy or {})}),
    )


# -- (a) the max flow and its bottleneck, by hand -------------------------------------------

#: A (9 places) has one local offer, P1 (5 places, 10 km), which B (3 places) could also use
#: (20 km); B has its own local P3 (10 places, 5 km); C (2 places) has nothing within 20 miles;
#: P2 is big and far from everyone. The max flow is unique: A takes all of P1 (5), B places its
#: 3 at P3 (taking P1 would cost A a place), C none: 8 in all. A's bottleneck is P1's capacity.
HAND = {
    "demand": {"A": 9, "B": 3, "C": 2},
    "offers": [("P1", 5, 900), ("P2", 50, 1000), ("P3", 10, 850)],
    "km": {("A", "P1"): 10, ("B", "P1"): 20, ("B", "P3"): 5},
}


def test_max_flow_and_bottleneck_by_hand():
    flow = local_flow(build_market(tiny(**HAND)))
    assert flow.total == pytest.approx(8, abs=1e-9)
    needs = flow.needs.set_index("authority")
    assert needs.loc["A", "local_max"] == pytest.approx(5, abs=1e-9)
    assert needs.loc["B", "local_max"] == pytest.approx(3, abs=1e-9)
    assert needs.loc["C", "local_max"] == 0
    assert needs.loc["A", "bottleneck"] == ("P1:T",)
    assert needs.loc["B", "bottleneck"] == ()  # placed in full
    assert needs.loc["C", "bottleneck"] == (NO_LOCAL_OFFER,)


def test_a_provider_total_is_its_own_layer():
    """P1 offers 5 places but takes at most 4 in all: A's bottleneck is P1's max_places."""
    flow = local_flow(build_market(tiny(**HAND, max_places={"P1": 4})))
    assert flow.total == pytest.approx(7, abs=1e-9)
    needs = flow.needs.set_index("authority")
    assert needs.loc["A", "local_max"] == pytest.approx(4, abs=1e-9)
    assert needs.loc["A", "bottleneck"] == ("P1:max_places",)


def test_competing_needs_list_the_whole_cut_own_offers_first():
    """Shrink P3 to 1 place: B now needs P1 too, so A and B compete for it. P1 (5) and P3 (1)
    are both full; 6 places for 12 of demand. A comes first (priority split): all of P1; B
    then has P3's one place. B's unplaced demand reaches P1 and, through it, A: the cut is
    P1 and P3, both B's own."""
    case = {**HAND, "offers": [("P1", 5, 900), ("P2", 50, 1000), ("P3", 1, 850)]}
    flow = local_flow(build_market(tiny(**case)))
    assert flow.total == pytest.approx(6, abs=1e-9)
    needs = flow.needs.set_index("authority")
    assert needs.loc["A", "local_max"] == pytest.approx(5, abs=1e-9)
    assert needs.loc["B", "local_max"] == pytest.approx(1, abs=1e-9)
    assert needs.loc["A", "bottleneck"] == ("P1:T",)
    assert needs.loc["B", "bottleneck"] == ("P1:T", "P3:T")
    # members in the other order: B first takes 3 (P3's 1 and 2 of P1), A the other 3 of P1,
    # and A's unplaced demand now reaches P3 through B
    flow = local_flow(build_market(tiny(**case), ["B", "A", "C"]))
    needs = flow.needs.set_index("authority")
    assert (needs.loc["B", "local_max"], needs.loc["A", "local_max"]) == (3, 3)
    assert needs.loc["A", "bottleneck"] == ("P1:T", "P3:T")


def test_a_need_with_no_other_type_comes_first():
    """A's standard need S (listed first, 3 places) may step up to a specialist place; its
    specialist need X (2) may not. The only local offer is P1's 2 specialist places: X gets
    them, whatever the order of the demand rows, and S's bottleneck is P1's specialist offer."""
    instance = Instance(
        name="steps", description="",
        placement_types={t: PlacementType(id=t, emergency_weekly_price=2000,
                                          case_management_weekly=100) for t in ("S", "X")},
        authorities={"A": Authority(id="A")},
        demand=(Demand(authority="A", placement_type="S", places=3),
                Demand(authority="A", placement_type="X", places=2)),
        providers={"P1": Provider(id="P1")},
        offers=(Offer(provider="P1", placement_type="X", capacity=2, weekly_price=900),),
        distances=(Distance(authority="A", provider="P1", km=5),),
        substitutions=(Substitution(need="S", served_by="X"),),
        policy=Policy(),
    )
    flow = local_flow(build_market(instance))
    needs = flow.needs.set_index("need")
    assert (needs.loc["S", "local_max"], needs.loc["X", "local_max"]) == (0, 2)
    assert needs.loc["S", "bottleneck"] == ("P1:X",)
    assert needs.loc["X", "bottleneck"] == ()


def test_demand_below_half_a_flow_unit_runs_and_verifies(tmp_path):
    """4e-10 places rounds to no flow unit (1e-9 places): it used to crash `run` with a
    KeyError in the max flow, though `validate` passed. It is demand like any other, shown as
    0.0 at the result files' 6 decimals, and places nothing locally."""
    instance = shutil.copytree(EXAMPLE, tmp_path / "instance")
    with open(instance / "demand.csv", "a", encoding="utf-8") as handle:
        handle.write("A4,residential,4e-10,\n")
    assert run_optimise("validate", instance).returncode == 0
    out = tmp_path / "results"
    ran = run_optimise("run", instance, "--out", out, "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    rows = (out / "sufficiency.csv").read_text().splitlines()
    assert "A4,residential,0.0,0.0,0.0,0.0," in rows
    assert "A4,residential,0.0,0.0,0.0,0.0,0.0" in (out / "gaps.csv").read_text().splitlines()
    verified = run_optimise("verify", instance, out)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.endswith("checks, all agree\n")


def test_sufficiency_of_a_run_reports_alone_and_the_plan():
    """Commissioning alone under `shared`, A sees 9/14 of P1; in the consortium all of it.
    The plan places A's 5 locally, like the max flow: P1 saves A 14,700 a place against P2,
    and B is better off at P3 (49,650 a place against 53,000 at P1)."""
    instance = tiny(**HAND, policy={"baseline_capacity": "shared"})
    outcome = run(instance)
    sufficiency = local_sufficiency(outcome)
    table = sufficiency.table.set_index("authority")
    assert list(sufficiency.table.columns) == [
        "authority", "placement_type", "demand", "local_max_consortium", "local_max_alone",
        "placed_local", "bottleneck"]
    assert table.loc["A", "local_max_consortium"] == pytest.approx(5)
    assert table.loc["A", "local_max_alone"] == pytest.approx(5 * 9 / 14)
    assert table.loc["B", "local_max_alone"] == pytest.approx(3)  # (5 + 10) x 3/14 > 3
    assert table.loc["A", "placed_local"] == pytest.approx(5, abs=1e-6)
    assert table.loc["A", "bottleneck"] == "P1:T"
    assert table.loc["C", "bottleneck"] == NO_LOCAL_OFFER
    assert sufficiency.seconds < 5


# -- (b) acceptance: with locality all that matters, the model reaches the max flow -----------

def locality_only(seed: int) -> Instance:
    """A random instance where only unmet places (emergency) and non-local places (the
    penalty, far above any emergency price) cost anything."""
    instance = random_instance(seed, contract_costs=False, tiers=False, vary_policy=False,
                               policy={"min_local_share": 1.0,
                                       "local_shortfall_penalty_year": 1e8,
                                       "travel_cost_per_km_year": 0.0,
                                       "individual_rationality": False,
                                       "mip_gap": 1e-9})
    return replace(
        instance,
        placement_types={t: p.model_copy(update={"case_management_weekly": 0.0})
                         for t, p in instance.placement_types.items()},
        providers={p: v.model_copy(update={"min_places": 0.0})  # max_places stay
                   for p, v in instance.providers.items()},
        offers=tuple(o.model_copy(update={"weekly_price": 0.0, "case_management_weekly": 0.0})
                     for o in instance.offers),
        distances=tuple(d.model_copy(update={"extra_cost_year": 0.0})
                        for d in instance.distances),
    )


@pytest.mark.parametrize("seed", range(20))
def test_model_local_placement_equals_the_max_flow(seed):
    instance = locality_only(seed)
    members = list(instance.authorities)
    if seed % 3 == 2:  # a coalition: capacities scaled by its share of demand
        members = members[:2]
    market = build_market(instance, members)
    model, result = solve_consortium(market, solver_for(instance), "volume")
    assert result.status == "optimal"
    local = model.arcs["local"].to_numpy(dtype=bool)
    placed_local = float(result.values[model.arcs["x"].to_numpy()[local]].sum())
    assert placed_local == pytest.approx(local_flow(market).total, abs=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_no_plan_places_more_locally_than_the_max_flow(seed):
    """Any policy, any prices: the max flow bounds the plan's local places."""
    outcome = run(random_instance(seed))
    sufficiency = local_sufficiency(outcome)
    placed = float(outcome.plan.needs["placed_local"].sum())
    assert placed <= sufficiency.consortium.total + 1e-5
    for a, flow in sufficiency.alone.items():
        alone = outcome.standalone.plans[a].needs["placed_local"].sum()
        assert alone <= flow.total + 1e-5


# -- (c) investment signals: duals against hand values and re-solves -----------------------

def one_short(demand_a: float) -> Instance:
    """A needs ``demand_a`` places; its only offer, P1 (£1,000 a week, 10 km), has 2. P2 has
    no capacity, but its price counts for the median: (1,000 + 1,400) / 2 = £1,200 a week."""
    return tiny(demand={"A": demand_a}, offers=[("P1", 2, 1000), ("P2", 0, 1400)],
                km={("A", "P1"): 10, ("A", "P2"): 10})


#: a child in an emergency placement (52 x 2,000) placed instead at the candidate at A
#: (52 x 1,200 fee + 52 x 100 case management, no travel at distance 0)
HAND_SAVING = 52 * 2000 - 52 * 1200 - 52 * 100


def test_one_more_place_saves_the_emergency_cost_less_the_new_place():
    outcome = run(one_short(3.5))  # 1.5 places unmet
    signals = investment_signals(outcome)
    (row,) = signals.table.to_dict("records")
    assert (row["authority"], row["placement_type"], row["serves"]) == ("A", "T", "A:T")
    assert row["price_assumed_weekly"] == 1200
    assert HAND_SAVING == 36_400
    assert row["saving_per_place_year"] == pytest.approx(HAND_SAVING, abs=1e-4)
    assert row["resolve_saving"] == pytest.approx(HAND_SAVING, abs=1e-4)
    assert signals.objective == pytest.approx(outcome.plan.result.objective, rel=1e-9)


def test_less_than_a_place_to_move_the_resolve_says_so():
    """0.4 places unmet: the slope is the same, but one place saves only 0.4 of it."""
    signals = investment_signals(run(one_short(2.4)))
    (row,) = signals.table.to_dict("records")
    assert row["saving_per_place_year"] == pytest.approx(HAND_SAVING, abs=1e-4)
    assert row["resolve_saving"] == pytest.approx(0.4 * HAND_SAVING, abs=1e-4)


def test_nothing_unmet_and_nothing_cheaper_saves_nothing():
    signals = investment_signals(run(one_short(2)))
    (row,) = signals.table.to_dict("records")
    # P1 costs 52,000 + 5,200 + 500 travel; the candidate 62,400 + 5,200: no saving
    assert row["saving_per_place_year"] == 0
    assert row["serves"] == ""


def test_degenerate_example_duals_are_the_slope_of_one_more_place():
    """instances/example is degenerate (offers filled to the last place): the duals at 0
    price a lost place, up to 65,000 a year; read just above 0 they match the re-solves."""
    outcome = run(load_instance(EXAMPLE))
    signals = investment_signals(outcome, resolve_top=100)
    table = signals.table.set_index(["authority", "placement_type"])
    assert signals.priced_bound[("A2", "foster_specialist")] > 60_000  # the degenerate dual
    assert table.loc[("A2", "foster_specialist"), "saving_per_place_year"] == pytest.approx(600)
    for row in signals.table.itertuples():
        assert row.resolve_saving == pytest.approx(row.saving_per_place_year, abs=1e-3)
    assert list(signals.table["saving_per_place_year"]) == sorted(
        signals.table["saving_per_place_year"], reverse=True)


@pytest.mark.parametrize("seed", range(6))
def test_one_place_never_saves_more_than_its_slope(seed):
    """v is convex in the capacity: re-solving with one place confirms at most the dual."""
    outcome = run(random_instance(seed, policy={"mip_gap": 1e-9}))
    signals = investment_signals(outcome)
    assert signals.warning is None
    resolved = signals.table.dropna(subset=["resolve_saving"])
    for row in resolved.itertuples():  # tolerances: HiGHS' on the objective, ours on duals
        slack = 1e-6 * max(1.0, abs(row.saving_per_place_year)) + 1e-9 * abs(signals.objective)
        assert row.resolve_saving <= row.saving_per_place_year + slack
        assert row.resolve_saving >= -slack


def test_savings_are_real_pounds_when_members_are_not_kept_whole():
    """With full capacity and travel at £2,000 a km, three members are not kept whole (their
    excess is priced at 1,000 per pound in the objective). The signals hold each member's excess
    at the plan's and count real spend only. Smallham's specialist need (35 km from S1: 52 x
    1,250 + 70,000 = 135,000 a year) is cheaper left to an emergency placement (130,000); a
    specialist place at Smallham (52 x 1,100 + 52 x 150 = 65,000) saves 130,000 - 65,000."""
    outcome = run(load_instance(EXAMPLE, {"baseline_capacity": "full",
                                          "travel_cost_per_km_year": "2000"}))
    assert max(outcome.plan.excess.values()) > 0
    signals = investment_signals(outcome)
    top = signals.table.iloc[0]
    assert (top["authority"], top["placement_type"]) == ("A4", "foster_specialist")
    assert top["saving_per_place_year"] == pytest.approx(65_000, abs=1e-3)
    assert top["resolve_saving"] == pytest.approx(65_000, abs=1e-3)


def test_candidates_without_coordinates_serve_their_own_authority_only():
    """No authority of HAND has coordinates (every distance is listed): a new provider's
    distance to the others is unknown, so a candidate at A serves A alone, at 0 km."""
    instance = tiny(**HAND)
    found = candidates(instance, list(instance.authorities))
    assert [(c.authority, c.placement_type, c.weekly_price) for c in found] == [
        ("A", "T", 900), ("B", "T", 900), ("C", "T", 900)]  # median of 900, 1000, 850
    arcs = candidate_market(instance, tuple(instance.authorities), found).arcs
    new = arcs[arcs["provider"].isin([c.provider for c in found])]
    assert sorted(zip(new["provider"], new["authority"], new["km"])) == [
        ("new:A:T", "A", 0.0), ("new:B:T", "B", 0.0), ("new:C:T", "C", 0.0)]
    assert new["local"].all()


def test_step_is_small():
    assert 0 < STEP <= 1e-3


# -- (d) through the command line ------------------------------------------------------------

def test_cli_run_writes_sufficiency_and_investment_and_verifies(tmp_path):
    out = tmp_path / "r"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "sufficiency.csv").read_text().splitlines()[0] == (
        "authority,placement_type,demand,local_max_consortium,local_max_alone,placed_local,"
        "bottleneck")
    lines = (out / "investment.csv").read_text().splitlines()
    assert lines[0] == ("rank,authority,placement_type,saving_per_place_year,exact,"
                        "resolve_saving,price_assumed_weekly,serves")
    assert lines[1].startswith("1,A4,foster_standard,19050.0,true,19050.0,800.0,")
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["investment"]) == 10
    assert summary["investment"][0]["saving_per_place_year"] == pytest.approx(19_050)
    assert "Where one more place is worth most" in result.output
    verified = runner.invoke(main, ["verify", str(EXAMPLE), str(out)])
    assert verified.exit_code == 0, verified.output


def test_cli_no_investment(tmp_path):
    out = tmp_path / "r"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(EXAMPLE), "--out", str(out), "--no-investment"])
    assert result.exit_code == 0, result.output
    assert (out / "sufficiency.csv").exists()
    assert not (out / "investment.csv").exists()
    assert json.loads((out / "summary.json").read_text())["investment"] is None
    verified = runner.invoke(main, ["verify", str(EXAMPLE), str(out)])
    assert verified.exit_code == 0, verified.output


def test_same_run_gives_the_same_new_files(tmp_path):
    runner = CliRunner()
    for name in ("one", "two"):
        assert runner.invoke(main, ["run", str(EXAMPLE), "--out", str(tmp_path / name),
                                    "--voice", "maxmin"]).exit_code == 0
    for name in ("sufficiency.csv", "investment.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_equal_voice_signals_use_the_volume_objective_over_the_plans_integers():
    """Whatever the voice, the signals price places in £ (the volume objective) over the plan's
    tiers and contracts: v(0) is at most the plan's total cost (equal weights may have paid
    more for fairness)."""
    outcome = run(load_instance(EXAMPLE, {"voice": "equal"}))
    signals = investment_signals(outcome)
    assert signals.objective <= outcome.plan.total_cost * (1 + 1e-9)
    assert np.all(np.diff(signals.table["saving_per_place_year"].to_numpy()) <= 0)


def test_only_candidates_that_can_reach_the_top_are_solved_and_the_top_is_unchanged():
    """Candidates are solved in falling order of their upper bound s and solving stops once no
    candidate left can enter the top: the top's savings equal solving every candidate, and
    every candidate left unsolved carries its bound, at least its exact saving."""
    from optimiser.investment import CandidateLP, _exact_savings

    outcome = run(load_instance(EXAMPLE))
    lp = CandidateLP(outcome)
    bound = lp.priced_bound()
    every, every_exact, _, _ = _exact_savings(lp, bound, top=len(bound))
    assert every_exact.all()
    for top in (1, 2, 3):
        saving, exact, _, _ = _exact_savings(lp, bound, top=top)
        kth = sorted(every, reverse=True)[top - 1]
        assert set(np.flatnonzero(every >= kth)) <= set(np.flatnonzero(exact))
        assert saving[exact] == pytest.approx(every[exact], abs=1e-6)
        assert (saving[~exact] >= every[~exact] - 1e-6).all()
        assert (saving[~exact] <= kth + 1e-6).all()
    assert not _exact_savings(lp, bound, top=1)[1].all(), "the example should prune some"
