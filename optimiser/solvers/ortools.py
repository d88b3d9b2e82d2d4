"""SCIP through OR-Tools' model builder: the third back-end, run in a child process.

Why a child process: OR-Tools' wheel ships its own ``libhighs.so.1``, an older HiGHS than
highspy's under the same library name, and a process can hold only one of them (whichever is
loaded second fails with an undefined symbol). So the program goes to a fresh interpreter
that never imports highspy: the parent saves its arrays to a ``.npz`` file, runs
``optimiser/solvers/ortools_child.py`` as a script (a script does not import its package, whose
``__init__`` loads HiGHS) and reads the plan back from another ``.npz``. Like CBC through PuLP
it is an out-of-process solver; Ctrl-C reaches the child too (same process group), and the
temporary folder goes with the ``with`` block either way.

SCIP runs single-threaded with its default random seed, so it is deterministic. OR-Tools
reports a solve ended by SCIP's gap limit as optimal and one ended by the time limit with an
incumbent as feasible, which is what our statuses mean.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from optimiser.errors import InputError, Problem
from optimiser.program import LinearProgram
from optimiser.solvers.base import (
    SolverOptions,
    SolverResult,
    relative_gap,
    trivial_result,
)

CHILD = Path(__file__).with_name("ortools_child.py")
#: seconds the child may take beyond the time limit (start-up, building, writing) before it
#: is stopped
GRACE_S = 60.0


def available() -> bool:
    """True if OR-Tools is installed (the ``ortools`` extra)."""
    from importlib.util import find_spec

    return find_spec("ortools") is not None


def save_request(program: LinearProgram, options: SolverOptions, path: Path) -> None:
    """The program's arrays and the options, as the child reads them."""
    matrix = program.matrix().tocsr()
    start_cols, start_values = (program.start if program.start is not None and program.is_mip
                                else (np.zeros(0, dtype=np.int64), np.zeros(0)))
    np.savez(path, col_lower=program.col_lower, col_upper=program.col_upper,
             integrality=program.integrality, cost=program.cost,
             constant=program.objective_constant, row_lower=program.bounds_lower,
             row_upper=program.bounds_upper, data=matrix.data, indices=matrix.indices,
             indptr=matrix.indptr, shape=np.array(matrix.shape),
             time_limit=float(options.time_limit_s),
             mip_gap=float(program.gap(options.mip_gap)),
             start_cols=np.asarray(start_cols, dtype=np.int64),
             start_values=np.asarray(start_values, dtype=float))


def run_child(request: Path, answer: Path, timeout: float) -> str | None:
    """Solve ``request`` in a fresh interpreter, the plan to ``answer``; the failure, if any.
    ``-P`` keeps the script's folder off sys.path, where ortools.py would shadow the ortools
    package."""
    try:
        done = subprocess.run([sys.executable, "-P", str(CHILD), str(request), str(answer),
                               str(os.getpid())],
                              check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "OR-Tools did not stop at its time limit"
    if done.returncode != 0 or not answer.exists():
        return "OR-Tools failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1]
    return None


class OrtoolsSolver:
    name = "ortools"

    def solve(self, program: LinearProgram, options: SolverOptions) -> SolverResult:
        if program.num_cols == 0:
            return trivial_result(program, self.name)
        if not available():
            raise InputError(Problem("solver", "the ortools back-end needs OR-Tools: "
                                     "pip install 'optimise[ortools]'"))
        with tempfile.TemporaryDirectory(prefix="optimise-ortools-") as folder:
            request, answer = Path(folder) / "request.npz", Path(folder) / "result.npz"
            save_request(program, options, request)
            started = time.perf_counter()
            failure = run_child(request, answer, options.time_limit_s + GRACE_S)
            seconds = time.perf_counter() - started
            if failure is not None:
                return SolverResult(self.name, "error", None, None, None, seconds, None,
                                    failure)
            with np.load(answer) as found:
                return self._result(found, program.is_mip, seconds, options.time_limit_s)

    def _result(self, found, is_mip: bool, seconds: float, time_limit: float) -> SolverResult:
        status, message = str(found["status"]), str(found["message"])
        if status not in ("optimal", "feasible"):
            if status == "error" and seconds >= time_limit:
                message = f"no plan found within the time limit ({message})"
            return SolverResult(self.name, status, None, None, None, seconds, None,
                                f"SCIP: {message}")
        objective = float(found["objective"])
        bound = float(found["bound"]) if is_mip else objective
        gap = relative_gap(objective, bound) if is_mip else 0.0
        return SolverResult(self.name, status, objective, bound, gap, seconds,
                            np.array(found["values"]), message)
