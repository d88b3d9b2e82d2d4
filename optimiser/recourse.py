"""Second-stage solves of `optimise guarantee` on one kept HiGHS model.

A sweep evaluates every option on every scenario: thousands of one-scenario programs that
differ only in bounds (the first stage's y and o, and each scenario's demand rows, locality
targets and the bounds of u and x; ``models.guarantee``). Building and handing each to a new
solver cost more than solving it. Here the one-scenario program is built and passed to HiGHS
once per worker; each solve changes those bounds and re-solves from the previous optimal basis
(dual simplex: a change of bounds keeps the basis dual feasible, so a neighbouring scenario's
optimum is a few pivots away).

Results must not depend on the workers, but a warm start can end at another of several equal
optima. So every batch (a fixed range of scenarios under one first stage, the same whatever
the workers) starts from a cleared basis, and its scenarios are solved in order.

Only a second stage without integer columns is kept this way (HiGHS does not warm-start a
MIP), and only for the HiGHS back-end; otherwise each scenario is a fresh solve
(:func:`fresh_solve`).
"""

from __future__ import annotations

import os
import time

import numpy as np

from models.guarantee import (
    ExtensiveForm,
    FirstStage,
    ScenarioFigures,
    SecondStage,
    build_extensive_form,
    scenario_figures,
)
from optimiser.solvers import SolverOptions, SolverResult, get_solver
from optimiser.solvers.highs import HighsSolver, _highs_lp, new_highs

#: set (to anything) to solve every scenario afresh, as before kept models: for
#: benchmarks/bench_guarantee.py's comparison only (read in every worker, which inherits it)
FRESH_ENV = "OPTIMISE_GUARANTEE_FRESH"


def keeps(stage: SecondStage, solver: str) -> bool:
    """Whether scenario solves of this template can run on a kept model."""
    return (solver == "highs" and not stage.integer[stage.second].any()
            and not os.environ.get(FRESH_ENV))


class KeptRecourse:
    """The one-scenario second stage of ``stage`` held in HiGHS, re-solved per scenario."""

    def __init__(self, stage: SecondStage, options: SolverOptions):
        n_c = len(stage.commitments)
        self.stage = stage
        self.form = build_extensive_form(stage, np.zeros((1, len(stage.needs))), np.ones(1),
                                         fixed=FirstStage((0,) * n_c, None))
        form, readout = self.form, stage.readout
        lp = _highs_lp(form.program)
        lp.integrality_ = []  # y and o are fixed by their bounds; the rest is continuous
        self.highs = new_highs()
        self.highs.setOptionValue("time_limit", float(options.time_limit_s))
        self.highs.setOptionValue("threads", 1)
        self.highs.setOptionValue("random_seed", 0)
        # a warm start skips presolve anyway; without it the cold first solve of a batch
        # starts from the same model, and the dual simplex is the method a change of bounds
        # suits (1.6 ms a solve against 2.2 ms with the defaults, Thames Valley sweep)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("solver", "simplex")
        self.highs.passModel(lp)
        self.options = options
        self.o_lower = stage.col_lower[stage.first]
        self.o_upper = stage.col_upper[stage.first]
        self.u_cols = form.recourse + readout["u"]
        self.x_cols = form.recourse + readout["x"]
        self.x_lower = stage.col_lower[stage.second][readout["x"]]
        self.x_upper = stage.col_upper[stage.second][readout["x"]]
        self.x_need = readout["x_need"]
        self.demand_rows = form.scenario_row + stage.demand_rows
        self.locality_rows = form.scenario_row + stage.locality_rows
        self.locality_upper = stage.row_upper[stage.locality_rows]
        incidence = np.zeros((len(stage.needs), stage.locality_rows.size))
        has = stage.locality_of_need >= 0
        incidence[np.flatnonzero(has), stage.locality_of_need[has]] = 1.0
        self.incidence = incidence
        self.cols = np.concatenate([form.y, form.o, self.u_cols, self.x_cols]).astype(np.int32)
        self.rows = np.concatenate([self.demand_rows, self.locality_rows]).astype(np.int32)

    def restart(self) -> None:
        """Forget the basis: the next solve starts cold, as the first of a batch must."""
        self.highs.clearSolver()

    def solve(self, first: FirstStage, demand: np.ndarray) -> tuple[SolverResult, np.ndarray]:
        """The second stage under ``first`` with one scenario's ``demand`` (per need)."""
        commit = np.asarray(first.commit, dtype=float)
        if first.contract is None or len(first.contract) != len(self.o_lower):
            o_low, o_high = self.o_lower, self.o_upper
        else:
            o_low = o_high = np.asarray(first.contract, dtype=float)
        x_high = np.minimum(self.x_upper, demand[self.x_need])
        lower = np.concatenate([commit, o_low, np.zeros(len(self.u_cols)), self.x_lower])
        upper = np.concatenate([commit, o_high, demand, x_high])
        self.highs.changeColsBounds(len(self.cols), self.cols, lower, upper)
        target = (demand @ self.incidence) * self.stage.locality_target
        row_lower = np.concatenate([demand, target])
        row_upper = np.concatenate([demand, self.locality_upper])
        self.highs.changeRowsBounds(len(self.rows), self.rows, row_lower, row_upper)
        started = time.perf_counter()
        self.highs.run()
        result = HighsSolver()._result(self.highs, False, time.perf_counter() - started)
        if not result.has_plan:
            # a warm start can end "optimal" with a primal residual just above tolerance
            # (2e-7 on a Thames Valley scenario), which HiGHS does not call a solution: the
            # same bounds from a cleared basis settle it
            self.restart()
            self.highs.run()
            result = HighsSolver()._result(self.highs, False, time.perf_counter() - started)
        return result, demand

    def figures(self, values: np.ndarray, demand: np.ndarray) -> ScenarioFigures:
        self.form.demand = demand[None, :]
        return scenario_figures(self.form, values)


_KEPT: dict[int, tuple[SecondStage, KeptRecourse]] = {}


def kept_recourse(stage: SecondStage, options: SolverOptions) -> KeptRecourse:
    """This process's kept model of ``stage`` (built on first use; one template at a time)."""
    held = _KEPT.get(id(stage))
    if held is None or held[0] is not stage:
        _KEPT.clear()
        held = _KEPT[id(stage)] = (stage, KeptRecourse(stage, options))
    return held[1]


def fresh_solve(stage: SecondStage, solver: str, options: SolverOptions,
                first: FirstStage | None, demand: np.ndarray
                ) -> tuple[SolverResult, ExtensiveForm]:
    """One scenario built and solved on its own (wait-and-see, MIP second stages, other
    back-ends)."""
    form = build_extensive_form(stage, demand[None, :], np.ones(1), fixed=first)
    return get_solver(solver).solve(form.program, options), form
