"""Limits: time limits, demand that cannot be met, and constraints that cannot all hold.

- a time limit with a plan found: exit 0, status ``feasible`` and its gap; with none found:
  exit 1 with the reason, and no results;
- unmet demand is feasible (bought at the emergency price) but named: which authority and
  type, how many places, and the eligible capacity against the demand;
- hard constraints that cannot all be met (min_places above capacity, a single provider under
  max_provider_share) still give a plan, because placing nobody meets every constraint; if a
  solver ever says "infeasible", the message names the constraint families involved.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE
from test_solvers import hard_facility_instance

from cli import main
from optimiser import run as run_module
from optimiser.diagnose import blocking_families, infeasibility_reason
from optimiser.generate import write_instance
from optimiser.program import INF, LinearProgram


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# Time limits -----------------------------------------------------------------------------------


def test_cli_time_limit_with_a_plan_exits_0_feasible_with_its_gap(tmp_path):
    # 40 warehouses x 60 customers: HiGHS holds a plan well within 0.5 s but cannot prove it
    # (tests/test_solvers.py measures the same instance at the solver level)
    instance = write_instance(hard_facility_instance(customers=60), tmp_path / "hard")
    out = tmp_path / "r"
    result = invoke("run", instance, "--out", out, "--time-limit", 0.5, "--json",
                    "--no-investment", "--no-report")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "feasible"
    assert 0 < summary["mip_gap"] < 1
    assert any(w.startswith("stopped at the time limit: the plan is within")
               for w in summary["warnings"])
    assert invoke("verify", instance, out).exit_code == 0


@pytest.mark.parametrize("solver, reason", [
    ("highs", "HiGHS found no plan: Time limit reached"),
    ("cbc", "CBC: Not Solved, No Solution Found"),
])
def test_cli_time_limit_without_a_plan_exits_1_with_the_reason(tmp_path, solver, reason):
    """A microsecond is too short for either solver to find any plan, even the example's."""
    out = tmp_path / "r"
    result = invoke("run", EXAMPLE, "--out", out, "--time-limit", 1e-6, "--solver", solver,
                    "--no-report")
    assert result.exit_code == 1, result.output
    assert "no plan: standalone plan of A1 not found: " + reason in result.output
    assert "the time limit is 1e-06 s per solve: raise it with --time-limit" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


# Demand that cannot be met ---------------------------------------------------------------------


def one_type(make_instance, authorities, offers, policy=None, price=2500):
    """Authorities {name: (demand, km to every provider)}, offers {provider: (capacity, £ a
    week)}; one type t with emergency price ``price``; no travel cost unless km > 0."""
    return make_instance({
        "placement_types": [{"id": "t", "emergency_weekly_price": price}],
        "authorities": [{"id": a} for a in authorities],
        "demand": [{"authority": a, "placement_type": "t", "places": d}
                   for a, (d, _) in authorities.items()],
        "providers": [{"id": p} for p in offers],
        "offers": [{"provider": p, "placement_type": "t", "capacity": c, "weekly_price": w}
                   for p, (c, w) in offers.items()],
        "distances": [{"authority": a, "provider": p, "km": km}
                      for a, (_, km) in authorities.items() for p in offers],
    }, policy)


def run_json(instance, tmp_path, *args):
    out = tmp_path / "r"
    result = invoke("run", instance, "--out", out, "--no-investment", "--no-report", *args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text()), result.output


def test_unmet_demand_names_authority_type_places_and_capacity(make_instance, tmp_path):
    """Bolton needs 4.2 places; the only offer has 1.0 (£1,000 a week, under the £2,500
    emergency price, so it is used): unmet 4.2 - 1.0 = 3.2."""
    instance = one_type(make_instance, {"Bolton": (4.2, 0)}, {"S": (1.0, 1000)})
    summary, screen = run_json(instance, tmp_path)
    message = "unmet demand: Bolton, t: 3.2 places (eligible capacity 1.0 of 4.2 demanded)"
    assert message in summary["warnings"]
    assert summary["totals"]["unmet"] == pytest.approx(3.2)
    assert "warning: " + message in " ".join(screen.split())


def test_unmet_demand_where_members_share_the_capacity(make_instance, tmp_path):
    """A and B need 2 places each; S has 3. Without individual rationality the plan gives A
    (0 km) its 2 and B (100 km: £5,000 a year more travel per place) the last 1, so B has 1
    unmet although S alone could hold B's 2."""
    instance = one_type(make_instance, {"A": (2, 0), "B": (2, 100)}, {"S": (3, 1000)},
                        {"individual_rationality": False})
    summary, _ = run_json(instance, tmp_path)
    assert [w for w in summary["warnings"] if w.startswith("unmet")] == [
        ("unmet demand: B, t: 1.0 places (eligible capacity 3.0 of 2.0 demanded, shared by 4.0 "
        "places of t demanded by all members)")]


def test_unmet_demand_by_choice_when_places_cost_more_than_an_emergency_one(make_instance,
                                                                            tmp_path):
    """S charges £3,000 a week against the £2,500 emergency price: both places go unmet."""
    instance = one_type(make_instance, {"A": (2, 0)}, {"S": (5, 3000)})
    summary, _ = run_json(instance, tmp_path)
    assert summary["warnings"] == [
        ("unmet demand: A, t: 2.0 places (eligible capacity 5.0 of 2.0 demanded: held back by "
        "min_places, max_places or max_provider_share, or dearer than an emergency place)")]
    assert summary["totals"]["annual_cost"] == pytest.approx(2 * 52 * 2500)


def test_no_unmet_warning_when_all_demand_is_placed(tmp_path):
    summary, _ = run_json(EXAMPLE, tmp_path)
    assert not [w for w in summary["warnings"] if w.startswith("unmet")]


# Hard constraints that cannot all hold -----------------------------------------------------------


@pytest.mark.parametrize("provider, policy", [
    ({"id": "S", "min_places": 10}, {}),  # min_places 10, but only 5 places offered
    ({"id": "S"}, {"max_provider_share": 0.1}),  # one provider may take 10% of what it takes
])
def test_constraints_that_cannot_all_hold_leave_the_provider_unused(make_instance, tmp_path,
                                                                    provider, policy):
    """A needs 6 places; S offers 5 at £500 a week but cannot be used: S's min_places (10)
    exceeds its capacity, or S, the only provider, may hold at most 10% of the places placed,
    so x_S <= 0.1 x_S. The plan places nobody: 6 x 52 x £1,000 = £312,000, exit 0."""
    instance = make_instance({
        "placement_types": [{"id": "t", "emergency_weekly_price": 1000}],
        "authorities": [{"id": "A", "lat": 53.5, "lon": -2.2}],
        "demand": [{"authority": "A", "placement_type": "t", "places": 6}],
        "providers": [{**provider, "lat": 53.5, "lon": -2.2}],
        "offers": [{"provider": "S", "placement_type": "t", "capacity": 5, "weekly_price": 500}],
    }, policy)
    summary, _ = run_json(instance, tmp_path)
    assert summary["status"] == "optimal"
    assert summary["totals"]["annual_cost"] == pytest.approx(312_000)
    assert summary["totals"]["unmet"] == pytest.approx(6)
    assert any(w.startswith("unmet demand: A, t: 6.0 places (eligible capacity 5.0 of 6.0")
               for w in summary["warnings"])


def test_blocking_families_of_a_small_program():
    """x in [0, 10]; capacity: x <= 3; min_places: x >= 5; other: y <= 100. Dropping either of
    the first two leaves a plan (x = 5, or x = 3); dropping `other` does not."""
    program = LinearProgram()
    x, y = program.add_variables("x", 2, 0.0, 10.0)
    program.add_terms(program.add_rows("capacity", 1, -INF, 3.0), [x], [1.0])
    program.add_terms(program.add_rows("min_places", 1, 5.0, INF), [x], [1.0])
    program.add_terms(program.add_rows("other", 1, -INF, 100.0), [y], [1.0])
    assert blocking_families(program) == ["capacity", "min_places"]
    assert infeasibility_reason(program).startswith(
        "it has a plan without any one of: offer capacity (capacity), provider min_places "
        "(min_places)")


def test_infeasible_consortium_model_names_the_family_and_exits_1(monkeypatch, tmp_path):
    """Should a solver call the consortium model infeasible (it never is: see the module
    docstring), the message names the families. Forced here by demanding 1e9 places of every
    offer's capacity row, which the placement bounds cannot give."""
    real = run_module.solver_for

    def breaking(instance):
        solve = real(instance)

        def wrapped(program):
            if "individual_rationality" in program.row_blocks:  # the consortium, not a baseline
                position = list(program.row_blocks).index("capacity")
                program.row_lower[position] = np.full(len(program.row_lower[position]), 1e9)
            return solve(program)

        return wrapped

    monkeypatch.setattr(run_module, "solver_for", breaking)
    out = tmp_path / "r"
    result = invoke("run", EXAMPLE, "--out", out, "--no-report")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert ("no plan: highs: the model is infeasible (Infeasible): it has a plan without any "
            "one of: offer capacity (capacity);") in text
    assert not out.exists()
