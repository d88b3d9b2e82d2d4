"""`optimise guarantee` is laid out as `run` is (issue 17): an analysis, its files and its screen,
each its own module, the contract forms inside the package without an import loop, and the
screen's money written by the product's own formatters."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

from rich.console import Console
from test_import_graph import ROOT, import_graph

from optimiser import guarantee
from optimiser.display import value_shown
from optimiser.reports.formats import money_millions

PARTS = ("optimiser.guarantee.analysis", "optimiser.guarantee.statistics",
         "optimiser.guarantee.tables", "optimiser.guarantee.files", "optimiser.guarantee.screen")


def test_every_public_name_is_importable_from_the_package():
    for name in guarantee.__all__:
        assert getattr(guarantee, name) is not None, name
    for part in PARTS:
        module = importlib.import_module(part)
        public = {n for n, v in vars(module).items() if not n.startswith("_")
                  and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == part}
        assert public <= set(guarantee.__all__), part
    assert {"guarantee", "guarantee_files", "print_guarantee", "Settings",
            "GUARANTEE_COLUMNS"} <= set(guarantee.__all__)


def test_the_contract_forms_and_the_report_read_the_parts_not_the_package():
    graph = import_graph()
    for module in ("optimiser.guarantee.contract_forms", "optimiser.reports.guarantee_report"):
        assert not graph.has_edge(module, "optimiser.guarantee"), module
    assert graph.has_edge("optimiser.guarantee.contract_forms", "optimiser.guarantee.statistics")
    assert graph.has_edge("optimiser.reports.guarantee_report", "optimiser.guarantee.files")
    assert not graph.has_edge("optimiser.guarantee.statistics", "optimiser.guarantee.analysis")


def test_each_part_imports_first_in_a_fresh_interpreter():
    """A loop through the package's ``__init__`` shows only at run time, and only when a part
    is the first thing imported (a spawned worker, a test importing the contract forms)."""
    for module in (*PARTS, "optimiser.guarantee.contract_forms",
                   "optimiser.reports.guarantee_report"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, (module, done.stderr)


def test_costs_in_millions_keep_their_sign():
    assert money_millions(36_254_321) == "£36.25m"
    assert money_millions(-1_234_567) == "-£1.23m"
    assert money_millions(-2_000) == "£0.00m"  # no minus on a figure shown as zero
    assert value_shown(None, money_millions) == ""


def _summary(expected_cost: float) -> str:
    option = {"option": "none", "kind": "none", "recommended": True, "contracts": 0,
              "commitments": "", "failed_scenarios": 0, "expected_cost": expected_cost,
              "saving": 0.0, "saving_ci_low": 0.0, "saving_ci_high": 0.0,
              "expected_void_places": 0.0, "p_void": 0.0, "p_unmet": 0.25,
              "cvar_cost": expected_cost, "break_even_discount_pct": None}
    return json.dumps({
        "instance": "x", "mode": "sweep", "members": ["A"], "recommended": "none",
        "settings": {"evaluation_scenarios": 10, "scenario_sets": "drawn", "risk_level": 0.9,
                     "risk_weight": 0.0},
        "timings": {"seconds": 0.1, "executor": "local"},
        "demand": {"expected_places": 5.0, "needs": 1, "correlation": 0.0, "years": 1,
                   "growth_pct": 0.0, "sources": {"sd": 0, "cv": 1, "poisson": 0}},
        "options": [option], "contract_forms": None, "saa": None, "warnings": []})


def test_the_screen_shows_a_negative_cost_with_its_minus():
    console = Console(width=120, record=True)
    guarantee.print_guarantee(console, _summary(-1_234_567.0))
    shown = console.export_text()
    assert "-£1.23m" in shown and "£-1.23m" not in shown
    assert "25.0%" in shown  # P unmet, by formats.share


def test_the_screen_makes_no_money_of_its_own():
    source = (ROOT / "optimiser" / "guarantee" / "screen.py").read_text(encoding="utf-8")
    assert 'f"£' not in source and "1e6" not in source
