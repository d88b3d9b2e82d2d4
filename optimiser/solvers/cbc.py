"""CBC through PuLP's bundled binary: the zero-install fallback back-end.

PuLP (3.x) reports ``LpStatusOptimal`` even when CBC stopped at its time limit with an
incumbent, so the status is read from ``sol_status`` (optimal vs integer-feasible) instead.
PuLP does not return CBC's best bound either; it is read from CBC's log. The log's final
``Result - ...`` line says whether the search completed; only when it stopped on a limit is the
final ``Lower bound:`` the bound (the ``best possible`` lines printed while branching are stale
node bounds, and reading them would report proven optima as merely feasible).
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pulp

from optimiser.program import LinearProgram
from optimiser.solvers.base import (
    SolverOptions,
    SolverResult,
    relative_gap,
    trivial_result,
)

_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_LOWER_BOUND = re.compile(r"^Lower bound:\s+(-?[\d.eE+-]+)", re.MULTILINE)


def status_from_pulp(status: int, sol_status: int, is_mip: bool) -> str:
    """Map PuLP's two status codes to ours; ``sol_status`` decides (see module docstring)."""
    if sol_status == pulp.LpSolutionOptimal and status == pulp.LpStatusOptimal:
        return "optimal"
    if sol_status == pulp.LpSolutionIntegerFeasible:
        return "feasible"
    if sol_status == pulp.LpSolutionInfeasible or status == pulp.LpStatusInfeasible:
        return "infeasible"
    return "error"


def _pulp_problem(program: LinearProgram) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    problem = pulp.LpProblem("optimise", pulp.LpMinimize)
    lower, upper, integer = program.col_lower, program.col_upper, program.integrality
    # PuLP 3.3 attaches variables to their problem (LpVariable(...) alone is deprecated).
    make = getattr(problem, "add_variable", None) or pulp.LpVariable
    columns = [
        make(
            f"c{j}",
            lowBound=None if np.isinf(lower[j]) else float(lower[j]),
            upBound=None if np.isinf(upper[j]) else float(upper[j]),
            cat=pulp.LpInteger if integer[j] else pulp.LpContinuous,
        )
        for j in range(program.num_cols)
    ]
    cost = program.cost
    problem += pulp.LpAffineExpression(
        [(columns[j], float(cost[j])) for j in np.flatnonzero(cost)],
        constant=program.objective_constant,
    )
    rows = program.matrix().tocsr()
    row_lower, row_upper = program.bounds_lower, program.bounds_upper
    for i in range(program.num_rows):
        span = slice(rows.indptr[i], rows.indptr[i + 1])
        expression = pulp.LpAffineExpression(
            [(columns[j], float(v)) for j, v in zip(rows.indices[span], rows.data[span])]
        )
        lo, hi = row_lower[i], row_upper[i]
        if lo == hi:
            problem += expression == float(lo), f"r{i}"
            continue
        if np.isfinite(lo):
            problem += expression >= float(lo), f"r{i}_lo"
        if np.isfinite(hi):
            problem += expression <= float(hi), f"r{i}_hi"
    return problem, columns


def stopped_on_limit(log: str) -> bool:
    """True if CBC's log says a limit (time, nodes, solutions) ended the search."""
    results = _RESULT.findall(log)
    return bool(results) and results[-1].strip().startswith("Stopped")


def _bound_from_log(log: str) -> float | None:
    matches = _LOWER_BOUND.findall(log)
    return float(matches[-1]) if matches else None


def _bundled_cbc(options: SolverOptions, log_path: Path) -> pulp.PULP_CBC_CMD:
    with warnings.catch_warnings():
        # PuLP 3.x warns that the bundled CBC leaves in PuLP 4; pyproject pins pulp < 4.
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=float(options.time_limit_s),
            gapRel=float(options.mip_gap),
            threads=int(options.threads),
            logPath=str(log_path),
            keepFiles=False,
        )


class CbcSolver:
    name = "cbc"

    def solve(self, program: LinearProgram, options: SolverOptions) -> SolverResult:
        if program.num_cols == 0:
            return trivial_result(program, self.name)
        problem, columns = _pulp_problem(program)
        with tempfile.TemporaryDirectory(prefix="optimise-cbc-") as folder:
            log_path = Path(folder) / "cbc.log"
            command = _bundled_cbc(replace(options, mip_gap=program.gap(options.mip_gap)),
                                   log_path)
            started = time.perf_counter()
            problem.solve(command)
            seconds = time.perf_counter() - started
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
        return self._result(problem, columns, program.is_mip, options, log, seconds)

    def _result(self, problem: pulp.LpProblem, columns: list[pulp.LpVariable], is_mip: bool,
                options: SolverOptions, log: str, seconds: float) -> SolverResult:
        status = status_from_pulp(problem.status, problem.sol_status, is_mip)
        if status not in ("optimal", "feasible"):
            message = (f"CBC: {pulp.LpStatus[problem.status]}, "
                       f"{pulp.LpSolution[problem.sol_status]}")
            return SolverResult(self.name, status, None, None, None, seconds, None, message)
        values = np.array([column.varValue or 0.0 for column in columns])
        objective = float(pulp.value(problem.objective))
        if is_mip and stopped_on_limit(log):
            status = "feasible"  # whatever PuLP's status says (see module docstring)
            bound = _bound_from_log(log)
            gap = relative_gap(objective, bound)
        else:
            bound, gap = objective, 0.0
        return SolverResult(self.name, status, objective, bound, gap, seconds, values,
                            pulp.LpSolution[problem.sol_status])
