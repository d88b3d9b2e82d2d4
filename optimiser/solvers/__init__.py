"""Solver back-ends behind one interface (``Solver.solve(program, options) -> SolverResult``)."""

from __future__ import annotations

from optimiser.solvers.base import Solver, SolverOptions, SolverResult
from optimiser.solvers.cbc import CbcSolver
from optimiser.solvers.highs import HighsSolver
from optimiser.solvers.ortools import OrtoolsSolver

SOLVERS: dict[str, type] = {"highs": HighsSolver, "cbc": CbcSolver, "ortools": OrtoolsSolver}


def get_solver(name: str) -> Solver:
    """The back-end called ``name`` (``highs``, ``cbc`` or ``ortools``)."""
    return SOLVERS[name]()


__all__ = ["SOLVERS", "Solver", "SolverOptions", "SolverResult", "get_solver"]
