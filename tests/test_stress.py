"""`optimise stress`: scenarios as pure transformations, hand-computed consequences, the worst
case, parallel workers, bad options and the command end to end.

The tiny market below, worked by hand (52 weeks, no travel or case-management cost, every
distance 0 km so every placement is local):

    demand: A1 4 foster_standard (sd 1) + 2 residential; A2 2 foster_standard (8 places)
    C  independent    foster_standard  10 places at £500/wk  = £26,000 a place a year
    H  in-house of A1 foster_standard  10 places at £700/wk  = £36,400 (A1 only)
    R  independent    residential      10 places at £4,000/wk = £208,000
    emergency: foster_standard £2,000/wk = £104,000; residential £8,000/wk = £416,000
    C also offers a 10% guarantee tier at 20 places, never worth it here (14 void places at
    £23,400 cost more than 10% off 6 places).

Base: everyone's fostering with C, A1's residential with R.
    A1 = 4 * 26,000 + 2 * 208,000 = 520,000;  A2 = 2 * 26,000 = 52,000;  total 572,000.
C fails: A1's four go to its own H (4 * 36,400 = 145,600, +41,600); nobody else can take A2's
    two: emergency, 2 * 104,000 = 208,000 (+156,000, +300%), 2 places unmet, and A2 has nothing
    placed, so its local share is undefined (blank).
R fails: A1's two residential places are emergency ones: 2 * 416,000 = 832,000 (+416,000).
foster_standard +50%: A1 6, A2 3, still all with C (9 of 10 places): A1 +2 * 26,000 = +52,000,
    A2 +1 * 26,000 = +26,000; residential untouched.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main
from optimiser.errors import InputError, SolveError
from optimiser.loading import load_instance
from optimiser.stress import (
    STRESS_COLUMNS,
    DemandShock,
    fail_providers,
    largest_providers,
    parse_demand_shock,
    scale_demand,
    stress,
    stress_files,
    stress_summary,
    stress_table,
)
from optimiser.writers import csv_text

W = 52
TINY = {
    "placement_types": [
        {"id": "foster_standard", "emergency_weekly_price": 2000},
        {"id": "residential", "emergency_weekly_price": 8000},
    ],
    "authorities": [
        {"id": "A1", "name": "Northtown", "lat": 53.0, "lon": -2.0},
        {"id": "A2", "name": "Smallham", "lat": 53.0, "lon": -2.0},
    ],
    "demand": [
        {"authority": "A1", "placement_type": "foster_standard", "places": 4, "sd": 1},
        {"authority": "A1", "placement_type": "residential", "places": 2, "sd": None},
        {"authority": "A2", "placement_type": "foster_standard", "places": 2, "sd": 0.5},
    ],
    "providers": [
        {"id": "C", "kind": "independent", "owner": None, "rating": "good",
         "lat": 53.0, "lon": -2.0},
        {"id": "H", "kind": "in_house", "owner": "A1", "rating": "good",
         "lat": 53.0, "lon": -2.0},
        {"id": "R", "kind": "independent", "owner": None, "rating": "good",
         "lat": 53.0, "lon": -2.0},
    ],
    "offers": [
        {"provider": "C", "placement_type": "foster_standard", "capacity": 10,
         "weekly_price": 500},
        {"provider": "H", "placement_type": "foster_standard", "capacity": 10,
         "weekly_price": 700},
        {"provider": "R", "placement_type": "residential", "capacity": 10,
         "weekly_price": 4000},
    ],
    "tiers": [
        {"provider": "C", "placement_type": None, "min_places": 20, "discount_pct": 10,
         "guarantee": "true"},
    ],
}
POLICY = {"travel_cost_per_km_year": 0}


@pytest.fixture
def tiny(make_instance):
    return load_instance(make_instance(TINY, POLICY, name="tiny"))


def rows_of(table):
    """{(scenario, authority or ''): row dict}"""
    return {(r["scenario"], "" if pd_blank(r["authority"]) else r["authority"]): r
            for r in table.to_dict("records")}


def test_base_plan_is_the_hand_plan(tiny):
    rows = rows_of(stress_table(stress(tiny, demand=["+0%"])))
    assert rows[("base", "A1")]["annual_cost"] == pytest.approx(4 * W * 500 + 2 * W * 4000)
    assert rows[("base", "A2")]["annual_cost"] == pytest.approx(2 * W * 500)
    assert rows[("base", "")]["annual_cost"] == pytest.approx(572_000)
    assert rows[("demand+0%", "")]["cost_change"] == pytest.approx(0, abs=0.01)


def test_cheap_provider_fails_children_move_to_dearer_or_emergency(tiny):
    outcome = stress(tiny, fail=["C"])
    rows = rows_of(stress_table(outcome))
    a1, a2, total = (rows[("fail:C", a)] for a in ("A1", "A2", ""))
    assert a1["annual_cost"] == pytest.approx(4 * W * 700 + 2 * W * 4000)  # 561,600
    assert a1["cost_change"] == pytest.approx(41_600)
    assert a1["cost_change_pct"] == pytest.approx(8.0)
    assert a1["unmet_change"] == pytest.approx(0)
    assert a1["local_share"] == pytest.approx(1.0) and a1["local_share_change"] == 0
    assert a2["annual_cost"] == pytest.approx(2 * W * 2000)  # 208,000
    assert a2["cost_change"] == pytest.approx(156_000)
    assert a2["cost_change_pct"] == pytest.approx(300.0)
    assert a2["unmet"] == pytest.approx(2) and a2["unmet_change"] == pytest.approx(2)
    assert pd_blank(a2["local_share"]) and pd_blank(a2["local_share_change"])
    assert total["cost_change"] == pytest.approx(197_600)
    assert total["cost_change_pct"] == pytest.approx(100 * 197_600 / 572_000, rel=1e-6)
    assert total["unmet_change"] == pytest.approx(2)
    # savings are against each member alone in the same stressed market: here nobody gains
    assert a2["standalone_cost"] == pytest.approx(208_000) and a2["saving"] == pytest.approx(0)
    assert all(r["status"] == "optimal" for r in rows.values())


def pd_blank(value) -> bool:
    return value is None or bool(pd.isna(value))


def test_failed_provider_loses_its_offers_and_tiers_and_nothing_else(tiny):
    failed = fail_providers(tiny, ["C"])
    assert [o.provider for o in failed.offers] == ["H", "R"]
    assert failed.tiers == ()
    assert "C" in failed.providers  # ids stay valid
    assert failed.demand == tiny.demand and failed.policy == tiny.policy
    assert [o.provider for o in tiny.offers] == ["C", "H", "R"] and len(tiny.tiers) == 1


def test_demand_shock_plus_50_percent_on_one_type(tiny):
    rows = rows_of(stress_table(stress(tiny, demand=["+50%:foster_standard"])))
    name = "demand+50%:foster_standard"
    assert rows[(name, "A1")]["cost_change"] == pytest.approx(2 * W * 500)  # 52,000
    assert rows[(name, "A2")]["cost_change"] == pytest.approx(1 * W * 500)  # 26,000
    assert rows[(name, "")]["cost_change"] == pytest.approx(78_000)
    assert rows[(name, "")]["unmet_change"] == pytest.approx(0)


def test_scoped_shocks_touch_only_their_scope(tiny):
    by_type = scale_demand(tiny, DemandShock(50.0, placement_type="foster_standard"))
    by_authority = scale_demand(tiny, DemandShock(-10.0, authority="A2"))
    both = scale_demand(tiny, DemandShock(100.0, "foster_standard", "A1"))
    def places(inst):
        return {(d.authority, d.placement_type): (d.places, d.sd) for d in inst.demand}

    assert places(by_type) == {("A1", "foster_standard"): (6, 1.5),
                               ("A1", "residential"): (2, None),
                               ("A2", "foster_standard"): (3, 0.75)}
    assert places(by_authority) == {("A1", "foster_standard"): (4, 1),
                                    ("A1", "residential"): (2, None),
                                    ("A2", "foster_standard"): (pytest.approx(1.8),
                                                                pytest.approx(0.45))}
    assert places(both) == {("A1", "foster_standard"): (8, 2), ("A1", "residential"): (2, None),
                            ("A2", "foster_standard"): (2, 0.5)}
    assert places(tiny)[("A1", "foster_standard")] == (4, 1)  # the base is untouched
    rows = rows_of(stress_table(stress(tiny, demand=["+50%:A2"])))
    assert rows[("demand+50%:A2", "A1")]["cost_change"] == pytest.approx(0, abs=0.01)
    assert rows[("demand+50%:A2", "A2")]["cost_change"] == pytest.approx(W * 500)


def test_parse_demand_shocks(tiny):
    assert parse_demand_shock("+20%", tiny) == DemandShock(20.0)
    assert parse_demand_shock("-10%", tiny) == DemandShock(-10.0)
    assert parse_demand_shock("15.5%", tiny) == DemandShock(15.5)
    assert parse_demand_shock("+20%:residential", tiny) == DemandShock(20.0, "residential")
    assert parse_demand_shock("+20%:A2", tiny) == DemandShock(20.0, authority="A2")
    assert parse_demand_shock("+20%:A2:residential", tiny) == DemandShock(20.0, "residential",
                                                                          "A2")
    assert parse_demand_shock("+20%:A2", tiny).name == "demand+20%:A2"


def test_n_minus_1_picks_the_largest_providers_of_the_base_plan(tiny):
    # base places: C 6, R 2, H 0
    outcome = stress(tiny, n_minus_1=2)
    assert [s.name for s in outcome.scenarios] == ["n-1:C", "n-1:R"]
    assert [s.kind for s in outcome.scenarios] == ["n-1", "n-1"]
    assert "6.0 places in the base plan" in outcome.scenarios[0].detail
    rows = rows_of(stress_table(outcome))
    assert rows[("n-1:R", "A1")]["cost_change"] == pytest.approx(2 * W * (8000 - 4000))
    assert rows[("n-1:R", "A2")]["cost_change"] == pytest.approx(0, abs=0.01)
    summary = stress_summary(outcome, stress_table(outcome))
    assert summary["worst_case"]["scenario"] == "n-1:R"  # +416,000 against +197,600
    assert summary["worst_case"]["cost_change"] == pytest.approx(416_000)
    worst = {m["authority"]: m["scenario"] for m in summary["member_worst_case"]}
    assert worst == {"A1": "n-1:R", "A2": "n-1:C"}
    assert summary["scenarios"][0]["worst_member"]["authority"] == "A2"


def test_n_minus_1_beyond_the_providers_used_warns(tiny):
    outcome = stress(tiny, n_minus_1=5)
    assert [s.name for s in outcome.scenarios] == ["n-1:C", "n-1:R"]
    assert any("only 2 providers have places" in w for w in outcome.warnings)


def test_largest_providers_break_ties_by_id():
    places = {"R": 6.0, "C": 6.0, "H": 1.0, "B": 0.5}
    assert largest_providers(places, 2) == ["C", "R"]
    assert largest_providers(places, 3) == ["C", "R", "H"]


def test_joint_failure_is_one_scenario(tiny):
    outcome = stress(tiny, fail=["C", "R", "C"])
    assert [s.name for s in outcome.scenarios] == ["fail:C+R"]
    rows = rows_of(stress_table(outcome))
    assert rows[("fail:C+R", "")]["cost_change"] == pytest.approx(41_600 + 156_000 + 416_000)


@pytest.mark.parametrize("options, message", [
    ({"fail": ["C", "ZZ"]}, "unknown providers: ZZ"),
    ({"demand": ["+20"]}, "expected a percentage"),
    ({"demand": ["20 percent"]}, "expected a percentage"),
    ({"demand": ["+%"]}, "expected a percentage"),
    ({"demand": ["-150%"]}, "between -100% and +1000%"),
    ({"demand": ["+20%:nowhere"]}, "unknown placement type or authority 'nowhere'"),
    ({"demand": ["+20%:A1:A2"]}, "at most one placement type and one authority"),
    ({"demand": ["+20%:"]}, "empty scope"),
    ({"demand": ["+20%", "+20.0%"]}, "scenario given twice"),
    ({}, "give at least one scenario"),
])
def test_bad_options_are_input_errors_before_any_solve(tiny, monkeypatch, options, message):
    def no_solve(*args, **kwargs):
        raise AssertionError("solved before checking the options")

    monkeypatch.setattr("optimiser.stress.analysis.run", no_solve)
    with pytest.raises(InputError, match=message.replace("+", r"\+")):
        stress(tiny, **options)


def test_workers_give_identical_results_in_order(tiny):
    options = {"fail": ["C"], "n_minus_1": 2, "demand": ["+50%:foster_standard", "-10%"]}
    one = stress(tiny, **options)
    two = stress(tiny, workers=2, **options)
    assert [s.name for s in two.scenarios] == ["fail:C", "n-1:C", "n-1:R",
                                               "demand+50%:foster_standard", "demand-10%"]
    assert csv_text(stress_table(one)) == csv_text(stress_table(two))


def test_scenarios_run_on_the_common_pool_of_the_executor(tiny, monkeypatch):
    """Stress has no process pool of its own: with workers its scenarios go through
    ``optimiser.executor`` (the pool every command shares: spawned, Ctrl-C-safe workers)."""
    from optimiser import executor

    pooled = []
    real = executor.TaskPool._map_local

    def spy(pool, function, tasks, tick):
        pooled.append((function.__name__, len(tasks), pool.workers))
        return real(pool, function, tasks, tick)

    monkeypatch.setattr(executor.TaskPool, "_map_local", spy)
    outcome = stress(tiny, n_minus_1=2, demand=["+10%"], workers=2)
    assert pooled == [("solve_scenario", 3, 2)]
    assert [s.name for s in outcome.scenarios] == ["n-1:C", "n-1:R", "demand+10%"]


def test_progress_is_reported_for_the_base_and_every_scenario(tiny):
    calls = []
    stress(tiny, n_minus_1=2, demand=["+10%"], progress=lambda *c: calls.append(c))
    assert calls[0] == (0, 4, "")
    assert calls[1] == (1, 4, "base")
    assert [c[0] for c in calls[1:]] == [1, 2, 3, 4] and calls[-1][1] == 4


def test_scenario_without_a_plan_is_reported_not_raised(tiny, monkeypatch):
    from optimiser import figures
    from optimiser.stress import analysis as module

    real = module.run

    def failing(instance, members=None, consortium=None):
        if len(instance.offers) < 3:  # every failure scenario
            raise SolveError("highs: the model is infeasible (test)")
        return real(instance, members, consortium)

    monkeypatch.setattr(module, "run", failing)
    monkeypatch.setattr(figures, "run", failing)  # each scenario is planned there
    outcome = stress(tiny, fail=["R"], demand=["+10%"])
    assert outcome.failed == ["fail:R"]
    rows = rows_of(stress_table(outcome))
    assert rows[("fail:R", "")]["status"] == "infeasible"
    assert pd_blank(rows[("fail:R", "")]["annual_cost"])
    summary = stress_summary(outcome, stress_table(outcome))
    assert summary["worst_case"]["scenario"] == "demand+10%"
    assert "infeasible" in summary["scenarios"][0]["message"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_stress_example_end_to_end_through_the_cli(tmp_path):
    out = tmp_path / "r"
    result = invoke("stress", EXAMPLE, "--n-1", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [".optimise-results", "stress.csv",
                                                     "stress_summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # nothing half-written left
    lines = (out / "stress.csv").read_text().splitlines()
    assert lines[0] == ",".join(STRESS_COLUMNS)
    assert len(lines) == 1 + 3 * 5  # base + 2 scenarios, each a consortium row and 4 members
    summary = json.loads((out / "stress_summary.json").read_text())
    assert [s["name"] for s in summary["scenarios"]] == ["n-1:F1", "n-1:F2"]  # 20 and 11 places
    assert summary["worst_case"]["scenario"] == "n-1:F1"
    assert summary["base"]["totals"]["annual_cost"] == pytest.approx(3_456_060, abs=0.01)
    # the screen names scenarios by provider name; the files keep the ids
    assert "Worst case: n-1: Northern Fostering Agency" in result.output
    # the base rows are `optimise run`'s figures
    run_out = tmp_path / "run"
    assert invoke("run", EXAMPLE, "--out", run_out).exit_code == 0
    authorities = {line.split(",")[0]: float(line.split(",")[6]) for line in
                   (run_out / "authorities.csv").read_text().splitlines()[1:]}
    base = {line.split(",")[3]: float(line.split(",")[4]) for line in lines[1:6]
            if line.split(",")[3]}
    assert base == authorities


def test_cli_json_and_members(tmp_path):
    result = invoke("stress", EXAMPLE, "--consortium", "North pair", "--demand", "+20%:A2",
                    "--fail", "F2", "--out", tmp_path / "r", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["members"] == ["A1", "A2"]
    assert [s["name"] for s in summary["scenarios"]] == ["fail:F2", "demand+20%:A2"]


@pytest.mark.parametrize("args, message", [
    ([], "give at least one scenario"),
    (["--fail", "ZZ"], "unknown providers: ZZ"),
    (["--demand", "20"], "expected a percentage such as +20% or -10%"),
    (["--demand", "+20%:nowhere"], "unknown placement type or authority 'nowhere'"),
    (["--demand", "+1e9%"], "expected a percentage"),
    (["--n-1", "2", "--members", "A1,ZZ"], "unknown authorities: ZZ"),
    (["--n-1", "2", "--set", "no_such_key=1"], "no_such_key"),
])
def test_cli_bad_options_exit_2_with_a_message(tmp_path, args, message):
    out = tmp_path / "r"
    result = invoke("stress", EXAMPLE, "--out", out, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_n_minus_1_must_be_positive(tmp_path):
    result = invoke("stress", EXAMPLE, "--n-1", "0", "--out", tmp_path / "r")
    assert result.exit_code == 2


def test_files_are_deterministic(tiny):
    options = {"n_minus_1": 1, "demand": ["-10%:A1"]}
    first = stress_files(stress(tiny, **options))
    second = stress_files(stress(tiny, **options))
    assert first["stress.csv"] == second["stress.csv"]


def test_cli_scenario_without_a_plan_writes_files_and_exits_1(tmp_path, monkeypatch):
    from optimiser import figures
    from optimiser.stress import analysis as module

    real = module.run

    def failing(instance, members=None, consortium=None):
        if not any(o.provider == "F2" for o in instance.offers):
            raise SolveError("highs: the model is infeasible (test)")
        return real(instance, members, consortium)

    monkeypatch.setattr(module, "run", failing)
    monkeypatch.setattr(figures, "run", failing)  # each scenario is planned there
    out = tmp_path / "r"
    # one worker: the patched run solves in this process, not in a spawned one
    result = invoke("stress", EXAMPLE, "--fail", "F2", "--demand", "+10%", "--out", out,
                    "--workers", "1")
    assert result.exit_code == 1, result.output
    assert "no plan" in result.output and "fail:F2" in result.output
    summary = json.loads((out / "stress_summary.json").read_text())
    assert summary["failed"] == ["fail:F2"]
    assert summary["worst_case"]["scenario"] == "demand+10%"
