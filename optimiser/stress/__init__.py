"""`optimise stress`: re-plan the consortium under provider failures and demand shocks.

The package is laid out as ``run`` is (issue 17): ``analysis`` (the scenarios as data, the shocks,
the solves, :func:`stress` and its progress on the common bar; its docstring says what a scenario
is and what its changes are measured against), ``tables`` (stress.csv and stress_summary.json)
and ``screen`` (what ``optimise stress`` prints, from the very summary written); every public
name of ``analysis``, ``tables`` and ``screen`` is importable from here.
"""

from optimiser.stress.analysis import (
    BASE,
    KIND_DEMAND,
    KIND_FAILURE,
    KIND_N_MINUS_1,
    MAX_PCT,
    MIN_PCT,
    DemandShock,
    Progress,
    Scenario,
    StressOutcome,
    bar_progress,
    check_providers,
    demand_scenario,
    fail_providers,
    failure_scenario,
    largest_providers,
    parse_demand_shock,
    provider_places,
    scale_demand,
    solve_all,
    stress,
)
from optimiser.stress.screen import print_stress
from optimiser.stress.tables import (
    STRESS_COLUMNS,
    STRESS_CSV,
    STRESS_SUMMARY,
    stress_files,
    stress_summary,
    stress_table,
)

__all__ = [
    "BASE",
    "KIND_DEMAND",
    "KIND_FAILURE",
    "KIND_N_MINUS_1",
    "MAX_PCT",
    "MIN_PCT",
    "STRESS_COLUMNS",
    "STRESS_CSV",
    "STRESS_SUMMARY",
    "DemandShock",
    "Progress",
    "Scenario",
    "StressOutcome",
    "bar_progress",
    "check_providers",
    "demand_scenario",
    "fail_providers",
    "failure_scenario",
    "largest_providers",
    "parse_demand_shock",
    "print_stress",
    "provider_places",
    "scale_demand",
    "solve_all",
    "stress",
    "stress_files",
    "stress_summary",
    "stress_table",
]
