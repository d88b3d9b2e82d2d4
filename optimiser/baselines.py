"""The standalone baselines of a run (docs/model.md section 5), here or across processes.

Each member's baseline is an independent solve, so a run with many members spreads them over
a local pool of spawned processes (``optimiser.executor``): on England 153 baselines take
about a minute one after another. A small run keeps them here, where starting processes (about
a second each, mostly imports) would cost more than it saves. Either way each baseline is the
same deterministic single-threaded solve, so the costs do not depend on where they ran.
Baselines solved in workers keep their cost and status but not their plan (``plans`` is empty:
the plans are large and only ``optimiser.sufficiency`` looks at them, rebuilding a member's
market when its plan is absent).

The pool spawns its processes (never forks, see ``optimiser.executor``), so a script that calls
``optimiser.run.run`` on 40 or more members must guard its top level with
``if __name__ == "__main__":`` as Python requires for spawned processes; the ``optimise``
command does.
"""

from __future__ import annotations

from models.baseline import Standalone, standalone_costs, standalone_plan
from models.voices import SolveFn
from optimiser.executor import default_workers, map_tasks
from optimiser.records import Instance
from optimiser.solvers import solver_for

#: members from which the baselines are spread over processes (when there are 2+ cores)
PARALLEL_FROM = 40


def baselines(instance: Instance, members: list[str], solve: SolveFn,
              workers: int | None = None) -> Standalone:
    """B_a for every member: here for small runs, in a process pool for large ones."""
    workers = default_workers() if workers is None else workers
    if workers < 2 or len(members) < PARALLEL_FROM:
        return standalone_costs(instance, members, solve)
    results = map_tasks(standalone_task, [(a,) for a in members], workers, shared=instance)
    return Standalone({a: cost for a, (cost, _) in zip(members, results)}, {},
                      {a: status for a, (_, status) in zip(members, results)})


def standalone_task(instance: Instance, authority: str) -> tuple[float, str]:
    """One member's baseline in a worker: (cost, solver status)."""
    plan = standalone_plan(instance, authority, solver_for(instance))
    return plan.member_cost[authority], plan.result.status
