"""`optimise compare` is laid out as `run` is (issue 17): an analysis, its files and its screen,
each its own module, sharing stress's plan figures through ``optimiser.figures`` rather than
reaching into stress, and writing the screen's figures with the product's own formatters."""

from __future__ import annotations

import importlib
import inspect

from test_import_graph import import_graph

from optimiser import compare
from optimiser.display import cell_shown
from optimiser.reports.formats import money_compact, pct, share

PARTS = ("optimiser.compare.analysis", "optimiser.compare.tables", "optimiser.compare.screen")


def test_every_public_name_is_importable_from_the_package():
    for name in compare.__all__:
        assert getattr(compare, name) is not None, name
    for part in PARTS:
        module = importlib.import_module(part)
        public = {n for n, v in vars(module).items() if not n.startswith("_")
                  and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == part}
        assert public <= set(compare.__all__), part


def test_compare_and_stress_share_the_plan_figures_without_importing_one_another():
    graph = import_graph()
    compare_modules = [m for m in graph if m == "optimiser.compare" or m.startswith(
        "optimiser.compare.")]
    assert set(PARTS) <= set(compare_modules)
    stress_modules = [m for m in graph if m == "optimiser.stress" or m.startswith(
        "optimiser.stress.")]
    for module in compare_modules:
        for stress in stress_modules:
            assert not graph.has_edge(module, stress), module
    assert graph.has_edge("optimiser.compare.analysis", "optimiser.figures")
    assert graph.has_edge("optimiser.stress.analysis", "optimiser.figures")


def test_the_screen_writes_a_cell_with_the_reports_formatters():
    assert cell_shown("", money_compact) == ""
    assert cell_shown("-1234567.5", money_compact) == "-£1.2m"
    assert cell_shown("272341.1", money_compact) == "£272k"
    assert cell_shown("7.34", pct) == "7.3%"
    assert cell_shown("0.9112", share) == "91.1%"
