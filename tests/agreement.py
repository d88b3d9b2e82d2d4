"""The solver back-ends against each other on one random instance (a helper of ``test_cross_solver.py`` and
``benchmarks/bench_agreement.py``, not a test file).

``agreement(seed, folder, solvers)`` runs the instance of
``tests/random_instances.random_instance(seed)`` through :func:`optimiser.run.run` once per solver
(HiGHS, CBC and SCIP through OR-Tools by default), to optimality (relative gap 1e-9), writes
both result folders and checks each with :func:`optimiser.verify.verify_results`. The voice,
integer places and individual rationality vary with the seed, so every model path is covered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from random_instances import random_instance

from optimiser.run import run
from optimiser.sufficiency import local_sufficiency
from optimiser.verify import verify_results
from optimiser.writers import result_files, write_folder

SOLVERS = ("highs", "cbc", "ortools")
#: relative tolerance of "the same optimal objective"
RELATIVE = 1e-6
VOICES = ("volume", "equal", "maxmin")


def agreement_policy(seed: int) -> dict:
    return {
        "voice": VOICES[seed % 3],
        "integer_places": seed % 5 == 4,
        "individual_rationality": seed % 7 != 6,
        "mip_gap": 1e-9,
        "time_limit_s": 60,
    }


@dataclass
class Agreement:
    """What one seed gave: objectives and statuses per solver, and any disagreement."""

    seed: int
    objective: dict[str, float | None] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RELATIVE * max(1.0, abs(a), abs(b))


def agreement(seed: int, folder: Path, solvers: tuple[str, ...] = SOLVERS) -> Agreement:
    """Run each solver on the seed's instance; compare each one's objective and standalone
    costs with the first's, and verify every result folder."""
    instance = random_instance(seed)
    instance = instance.with_policy(**agreement_policy(seed))
    found = Agreement(seed)
    baselines = {}
    for solver in solvers:
        started = time.perf_counter()
        outcome = run(instance.with_policy(solver=solver))
        found.seconds[solver] = time.perf_counter() - started
        result = outcome.plan.result
        found.status[solver] = result.status
        found.objective[solver] = result.objective
        baselines[solver] = outcome.standalone.cost
        if result.status != "optimal":
            found.problems.append(f"{solver}: status {result.status} ({result.message})")
        out = write_folder(folder / f"{seed}-{solver}",
                           result_files(outcome, local_sufficiency(outcome)))
        report = verify_results(instance, out)
        if not report.ok:
            found.problems += [f"{solver} verify: {d}" for d in report.disagreements[:3]]
    first = solvers[0]
    for other in solvers[1:]:
        found.problems += _differences(found.objective, baselines, first, other)
    return found


def _differences(objective: dict, baselines: dict, first: str, other: str) -> list[str]:
    """Where ``other`` disagrees with ``first``: the objective, then each standalone cost."""
    mine, theirs = objective[first], objective[other]
    if mine is None or theirs is None or not _close(mine, theirs):
        return [f"objectives differ: {first} {mine!r}, {other} {theirs!r}"]
    return [f"standalone cost of {member} differs: {first} {cost!r}, "
            f"{other} {baselines[other][member]!r}"
            for member, cost in baselines[first].items()
            if not _close(cost, baselines[other][member])]
