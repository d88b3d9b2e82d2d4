"""`optimise stress` is laid out as `run` is (issue 17): an analysis, its files and its screen,
each its own module, every public name still importable from ``optimiser.stress``, and the
screen's changes written by the product's own formatters."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

from rich.console import Console
from test_import_graph import ROOT, import_graph

from optimiser import stress

PARTS = ("optimiser.stress.analysis", "optimiser.stress.tables", "optimiser.stress.screen")


def test_every_public_name_is_importable_from_the_package():
    for name in stress.__all__:
        assert getattr(stress, name) is not None, name
    for part in PARTS:
        module = importlib.import_module(part)
        public = {n for n, v in vars(module).items() if not n.startswith("_")
                  and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == part}
        assert public <= set(stress.__all__), part
    # what cli.py, the tests and benchmarks/bench_stress.py import from the package
    assert {"stress", "stress_files", "stress_table", "stress_summary", "print_stress",
            "bar_progress", "STRESS_SUMMARY", "STRESS_COLUMNS", "DemandShock", "Scenario",
            "solve_all", "fail_providers", "scale_demand", "parse_demand_shock",
            "largest_providers"} <= set(stress.__all__)


def test_the_parts_read_one_another_not_the_package():
    graph = import_graph()
    for part in PARTS:
        assert not graph.has_edge(part, "optimiser.stress"), part
    assert graph.has_edge("optimiser.stress.tables", "optimiser.stress.analysis")
    assert not graph.has_edge("optimiser.stress.analysis", "optimiser.stress.tables")
    assert not graph.has_edge("optimiser.stress.screen", "optimiser.stress.analysis")


def test_each_part_imports_first_in_a_fresh_interpreter():
    """A loop through the package's ``__init__`` shows only at run time, and only when a part
    is the first thing imported (a spawned worker unpickling a task)."""
    for module in PARTS:
        done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, (module, done.stderr)


def _totals(cost_change: float, pct: float | None, unmet: float, local: float | None) -> dict:
    return {"annual_cost": 1e6 + cost_change, "cost_change": cost_change,
            "cost_change_pct": pct, "unmet": unmet, "unmet_change": unmet,
            "local_share": None, "local_share_change": local, "standalone_cost": 2e6,
            "saving": 1e6}


def _summary() -> str:
    member = {"authority": "A", "name": "Anytown", "cost_change": -1_234_567.0,
              "cost_change_pct": -12.34}
    scenario = {"name": "demand-10%", "label": "demand -10%", "kind": "demand",
                "detail": "demand -10%: 5.0 of 5.0 places in scope", "failed_providers": [],
                "status": "optimal", "message": "", "seconds": 0.1,
                "totals": _totals(-1_234_567.0, -12.34, -0.04, 0.0153),
                "worst_member": member, "not_kept_whole": []}
    undefined = {**scenario, "name": "demand+0%", "label": "demand +0%",
                 "totals": _totals(362_400.0, None, 1234.5, None),
                 "worst_member": {**member, "cost_change": 362_400.0}}
    return json.dumps({
        "instance": "x", "members": ["A"],
        "base": {"status": "optimal", "seconds": 0.1,
                 "totals": {**_totals(0.0, 0.0, 0.0, 0.0), "local_share": 0.5, "demand": 5.0}},
        "scenarios": [scenario, undefined],
        "worst_case": {"scenario": "demand+0%", "label": "demand +0%", "kind": "demand",
                       "detail": "d", **undefined["totals"], "worst_member": None},
        "member_worst_case": [{"authority": "A", "name": "Anytown", "scenario": "demand-10%",
                               "scenario_label": "demand -10%", "cost_change": -1_234_567.0,
                               "cost_change_pct": -12.34, "unmet_change": -0.04}],
        "failed": [], "timings": {"seconds": 0.2, "base_seconds": 0.1, "workers": 1},
        "warnings": []})


def test_the_screen_writes_changes_with_their_signs_and_blanks_the_undefined():
    console = Console(width=160, record=True)
    stress.print_stress(console, _summary())
    shown = console.export_text()
    lines = [line.rstrip() for line in shown.splitlines()]
    # -0.04 places shows as 0.0, without a sign; no base percentage or local share: blank
    assert "demand -10%  -£1.2m    -12.3%       0.0     +1.5  Anytown               -£1.2m" in lines
    assert "demand +0%   +£362k            +1,234.5           Anytown               +£362k" in lines
    assert "Anytown    demand -10%  -£1.2m    -12.3%      0.0" in lines
    assert ("Worst case: demand +0% (d): cost +£362k (), unmet +1,234.5 places, local "
            "share .") in shown


def test_the_screen_makes_no_money_or_signs_of_its_own():
    source = (ROOT / "optimiser" / "stress" / "screen.py").read_text(encoding="utf-8")
    assert 'f"£' not in source and "1e" not in source and ":+" not in source
    assert "value_shown" in source and "money_compact" in source
