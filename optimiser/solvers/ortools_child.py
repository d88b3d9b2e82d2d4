"""The child process of the ortools back-end (see ``optimiser.solvers.ortools``).

Run as a script, ``python ortools_child.py REQUEST.npz RESULT.npz [PARENT_PID]`` (with a
parent's id it ends when that process dies: ``optimiser.parent_watch``): it imports numpy, scipy
and OR-Tools only (never highspy, whose HiGHS library clashes with OR-Tools' own), builds the
program in bulk with the model builder's sparse-data call, solves it with SCIP and saves the
status, objective, bound and values.
"""

from __future__ import annotations

import signal
import sys

import numpy as np
import scipy.sparse as sp

#: OR-Tools' statuses -> ours; anything else is an error
STATUS = {"OPTIMAL": "optimal", "FEASIBLE": "feasible", "INFEASIBLE": "infeasible"}
#: SCIP's primal feasibility tolerance (see ``solve``)
FEASIBILITY_TOLERANCE = 1e-8


def build(request) -> object:
    from ortools.linear_solver.python import model_builder_helper as helper

    model = helper.ModelBuilderHelper()
    matrix = sp.csr_matrix((request["data"], request["indices"], request["indptr"]),
                           shape=tuple(request["shape"]))
    model.fill_model_from_sparse_data(request["col_lower"], request["col_upper"],
                                      request["cost"], request["row_lower"],
                                      request["row_upper"], matrix)
    model.set_objective_offset(float(request["constant"]))
    for column in np.flatnonzero(request["integrality"]):
        model.set_var_integrality(int(column), True)
    for column, value in zip(request["start_cols"], request["start_values"]):
        model.add_hint(int(column), float(value))
    return model


def solve(request) -> dict:
    from ortools.linear_solver.python import model_builder_helper as helper

    model = build(request)
    solver = helper.ModelSolverHelper("scip")
    solver.set_time_limit_in_seconds(float(request["time_limit"]))
    solver.set_solver_specific_parameters("\n".join([
        f"limits/gap = {float(request['mip_gap']):.17g}",
        # single-threaded and seeded, as the other back-ends
        "parallel/maxnthreads = 1",
        "randomization/randomseedshift = 0",
        # SCIP's default 1e-6 let its propagation cut off the optimum of a maxmin first stage
        # (random instance 11 of tests/test_cross_solver.py: common saving share 0.2506
        # claimed optimal against 0.2604, which HiGHS, CBC and SCIP at 1e-8 find; 1e-7 gave
        # 0.2603)
        f"numerics/feastol = {FEASIBILITY_TOLERANCE:g}",
    ]))
    solver.solve(model)
    status = STATUS.get(solver.status().name, "error")
    answer = {"status": status,
              "message": ": ".join(filter(None, (solver.status().name, solver.status_string())))}
    if status in ("optimal", "feasible") and solver.has_solution():
        answer.update(objective=solver.objective_value(),
                      bound=solver.best_objective_bound(),
                      values=np.asarray(solver.variable_values(), dtype=float))
    elif status in ("optimal", "feasible"):
        answer.update(status="error", message="SCIP stopped without a plan")
    return answer


def main(request_path: str, result_path: str) -> None:
    with np.load(request_path) as request:
        answer = solve(request)
    np.savez(result_path, **answer)


if __name__ == "__main__":
    # a child of a pool worker inherits its ignored SIGINT (optimiser.executor): restore the
    # default so that a terminal's Ctrl-C ends it while it loads and builds too (SCIP hears
    # Ctrl-C itself while it solves)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if len(sys.argv) > 3:
        # the package, not highspy: optimiser/__init__ and parent_watch import no solver
        from optimiser.parent_watch import end_with_parent

        end_with_parent(int(sys.argv[3]))
    main(*sys.argv[1:3])
