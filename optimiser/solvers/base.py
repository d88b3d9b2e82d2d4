"""One interface for every solver back-end: a program in, a typed result out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from optimiser.program import LinearProgram

Status = Literal["optimal", "feasible", "infeasible", "error"]


@dataclass(frozen=True)
class SolverOptions:
    """What every back-end honours: a time limit, a relative MIP gap, one thread."""

    time_limit_s: float = 120.0
    mip_gap: float = 1e-4
    threads: int = 1


@dataclass(frozen=True)
class SolverResult:
    """The outcome of one solve.

    ``status``: ``optimal`` (proven within the gap), ``feasible`` (a plan, stopped by a limit
    before proof), ``infeasible``, or ``error`` (no plan: the message says why).
    ``gap`` is relative, |objective - bound| / |objective|; 0 for a proven LP.
    """

    solver: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    values: np.ndarray | None
    message: str = ""

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible") and self.values is not None


class Solver(Protocol):
    name: str

    def solve(self, program: LinearProgram, options: SolverOptions) -> SolverResult: ...


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Gap as HiGHS and CBC define it, with the denominator floored to avoid 0/0."""
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-10)


def trivial_result(program: LinearProgram, solver: str) -> SolverResult:
    """A program with no variables: nothing to decide, objective is the constant."""
    objective = program.objective_constant
    lower, upper = program.bounds_lower, program.bounds_upper
    feasible = bool(np.all(lower <= 1e-9) and np.all(upper >= -1e-9))
    return SolverResult(
        solver=solver,
        status="optimal" if feasible else "infeasible",
        objective=objective if feasible else None,
        bound=objective if feasible else None,
        gap=0.0 if feasible else None,
        seconds=0.0,
        values=np.zeros(0) if feasible else None,
        message="" if feasible else "constant constraints violated",
    )
