"""HiGHS in-process through highspy: the default back-end.

The whole matrix is handed over at once (``passModel``), so no term-by-term building happens
on this path. HiGHS is run with a fixed random seed and one thread, which makes its branch and
bound deterministic: the same program gives the same plan, byte for byte.
"""

from __future__ import annotations

import ctypes
import os
import time

import highspy
import numpy as np

from optimiser.program import LinearProgram
from optimiser.solvers.base import (
    SolverOptions,
    SolverResult,
    relative_gap,
    trivial_result,
)

_STATUS = highspy.HighsModelStatus
# Statuses where HiGHS stopped at a limit: a plan may exist but is not proven optimal.
_LIMITS = {
    _STATUS.kTimeLimit,
    _STATUS.kIterationLimit,
    _STATUS.kSolutionLimit,
    _STATUS.kInterrupt,
    _STATUS.kObjectiveBound,
    _STATUS.kObjectiveTarget,
    _STATUS.kMemoryLimit,
}
_FEASIBLE_SOLUTION = 2  # HiGHS' kSolutionStatusFeasible

#: MIP options set on every solve. The large-neighbourhood heuristics (RINS, RENS and the
#: root reduced-cost sub-MIP) spent 75-90% of HiGHS' time on the North West's consortium
#: models (12.0 s of the reference solve, 3.3 s with them off, same optimum and bound within
#: the gap): the tight multiple-choice tiers make rounding the LP good enough, so the sub-MIPs
#: rarely find better plans than the root's own heuristics. Measured in
#: ``benchmarks/bench_run.py`` (OR-Library, generated and real instances).
#:
#: Presolve's "parallel rows and columns" rule (bit 13 of ``presolve_rule_off``) is off: with it,
#: HiGHS 1.15 returned a worse plan as "optimal" on a 44-row maxmin first stage (random
#: instance 71 of ``tests/test_cross_solver.py``: common saving share 1.80% against 4.58%,
#: which CBC and HiGHS without presolve find; switching off that rule alone gives 4.58%). The
#: rule made no measurable difference to the time on the North West, England baselines or
#: the OR-Library instances.
#:
#: Restarts are off: after each round of root cuts that fixes some binaries HiGHS presolves and
#: starts the root again, and on these models the restarts cost more than they save (North West
#: whole run 6.6 s -> 5.5 s, solver time 4.1 s -> 2.9 s, and a plan £65k cheaper within the
#: same 1e-4 gap;
#: England's relaxation 130 s -> 119 s; OR-Library cap41-134 6.6 s -> 6.2 s in all; generated
#: instances unchanged; ``benchmarks/bench_run.py``).
#:
#: Branching trusts pseudo-costs from the first observation (``mip_pscost_minreliable`` 0; by
#: default a column is strong-branched until it has 8): on the facility-location instances
#: strong branching took half the LP iterations and found little (OR-Library cap41-134 3.9 s
#: -> 2.7 s of solver time, cap114 1.54 s -> 0.85 s, all at the published optima; 5 of the 12
#: capa/b/c variants optimal within 60 s instead of 2); the North West, England and generated
#: instances were unchanged (their trees have a few dozen nodes).
MIP_OPTIONS = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "presolve_rule_off": 2**13,
    "mip_allow_restart": False,
    "mip_pscost_minreliable": 0,
}


def _highs_lp(program: LinearProgram) -> highspy.HighsLp:
    matrix = program.matrix()
    lp = highspy.HighsLp()
    lp.num_col_ = program.num_cols
    lp.num_row_ = program.num_rows
    lp.col_cost_ = program.cost
    lp.offset_ = program.objective_constant
    lp.col_lower_ = np.where(np.isinf(program.col_lower), -highspy.kHighsInf, program.col_lower)
    lp.col_upper_ = np.where(np.isinf(program.col_upper), highspy.kHighsInf, program.col_upper)
    lp.row_lower_ = np.where(np.isinf(program.bounds_lower), -highspy.kHighsInf,
                             program.bounds_lower)
    lp.row_upper_ = np.where(np.isinf(program.bounds_upper), highspy.kHighsInf,
                             program.bounds_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    if program.is_mip:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in program.integrality
        ]
    return lp


def _run_interruptibly(highs: highspy.Highs) -> None:
    """Run HiGHS in highspy's solver thread, waiting in short steps, so that Ctrl-C reaches
    Python at once rather than when a long solve ends: the solve is cancelled (HiGHS stops at
    its next check, within a fraction of a second) and KeyboardInterrupt goes on up, so the
    command leaves no results folder. The solve itself is the same single-threaded one."""
    highs.HandleUserInterrupt = True  # cancelSolve is heard through HiGHS' interrupt callbacks
    highs.startSolve()
    try:
        _wait(highs)
    except KeyboardInterrupt:
        highs.cancelSolve()
        _wait(highs)
        raise


def _wait(highs: highspy.Highs) -> None:
    """Until the solver thread is done, in steps short enough for Ctrl-C to be heard."""
    done = False
    while not done:
        done = highs.wait(0.1)[0]


_banner_silenced = False


def new_highs() -> highspy.Highs:
    """A silent ``Highs`` object.

    HiGHS 1.16 prints a two-line banner ("Running HiGHS ... Copyright") to the process's
    standard output when the first ``Highs`` of a process is made, before any option can be
    set. That text would corrupt ``--json`` and break the progress bars, in the main process
    and in every worker. The first construction in each process therefore runs with file
    descriptor 1 pointed at ``/dev/null`` (C stdio flushed before it is restored, so nothing
    buffered leaks later); later ones print nothing anyway.
    """
    global _banner_silenced
    if _banner_silenced:
        highs = highspy.Highs()
    else:
        highs = _constructed_without_stdout()
        _banner_silenced = True
    highs.setOptionValue("output_flag", False)
    return highs


def _constructed_without_stdout() -> highspy.Highs:
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            try:
                return highspy.Highs()
            finally:
                libc.fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class HighsSolver:
    name = "highs"

    def solve(self, program: LinearProgram, options: SolverOptions) -> SolverResult:
        if program.num_cols == 0:
            return trivial_result(program, self.name)
        highs = new_highs()
        highs.setOptionValue("time_limit", float(options.time_limit_s))
        highs.setOptionValue("mip_rel_gap", float(program.gap(options.mip_gap)))
        highs.setOptionValue("threads", int(options.threads))
        highs.setOptionValue("random_seed", 0)
        for option, value in MIP_OPTIONS.items():
            highs.setOptionValue(option, value)
        started = time.perf_counter()
        highs.passModel(_highs_lp(program))
        if program.start is not None and program.is_mip:
            cols, values = program.start
            highs.setSolution(len(cols), np.asarray(cols, dtype=np.int32),
                              np.asarray(values, dtype=float))
        _run_interruptibly(highs)
        seconds = time.perf_counter() - started
        return self._result(highs, program.is_mip, seconds)

    def _result(self, highs: highspy.Highs, is_mip: bool, seconds: float) -> SolverResult:
        status = highs.getModelStatus()
        info = highs.getInfo()
        has_solution = info.primal_solution_status == _FEASIBLE_SOLUTION
        values = np.array(highs.getSolution().col_value) if has_solution else None
        objective = info.objective_function_value if has_solution else None
        bound = info.mip_dual_bound if is_mip else objective
        text = highs.modelStatusToString(status)
        if status == _STATUS.kOptimal:
            return SolverResult(self.name, "optimal", objective, bound,
                                relative_gap(objective, bound) if is_mip else 0.0,
                                seconds, values, text)
        if status in _LIMITS and has_solution:
            return SolverResult(self.name, "feasible", objective, bound,
                                relative_gap(objective, bound), seconds, values,
                                f"stopped: {text}")
        if status in (_STATUS.kInfeasible, _STATUS.kUnboundedOrInfeasible):
            return SolverResult(self.name, "infeasible", None, None, None, seconds, None, text)
        return SolverResult(self.name, "error", None, None, None, seconds, None,
                            f"HiGHS found no plan: {text}")
