"""Solver back-ends behind one interface (``Solver.solve(program, options) -> SolverResult``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from optimiser.program import LinearProgram
from optimiser.solvers.base import Solver, SolverOptions, SolverResult
from optimiser.solvers.cbc import CbcSolver
from optimiser.solvers.highs import HighsSolver
from optimiser.solvers.ortools import OrtoolsSolver

if TYPE_CHECKING:
    from optimiser.records import Instance

SOLVERS: dict[str, type] = {"highs": HighsSolver, "cbc": CbcSolver, "ortools": OrtoolsSolver}


def get_solver(name: str) -> Solver:
    """The back-end called ``name`` (``highs``, ``cbc`` or ``ortools``)."""
    return SOLVERS[name]()



def solver_for(instance: Instance) -> Callable[[LinearProgram], SolverResult]:
    """A function solving a program with the instance's solver, time limit and gap."""
    policy = instance.policy
    options = SolverOptions(time_limit_s=policy.time_limit_s, mip_gap=policy.mip_gap)
    solver = get_solver(policy.solver)

    def solve(program: LinearProgram) -> SolverResult:
        return solver.solve(program, options)

    return solve


__all__ = ["SOLVERS", "Solver", "SolverOptions", "SolverResult", "get_solver", "solver_for"]
