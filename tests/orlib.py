"""OR-Library capacitated warehouse location instances (Beasley 1988) as consortium instances.

With one placement type, no tiers, contract costs and capacities the model of docs/model.md
section 4 is the capacitated facility location problem with splittable demand, so the
OR-Library ``cap*`` files (and their published optimal costs) test the model and the solvers
end to end.

File format: ``m n``; then m pairs ``capacity fixed_cost``; then for each customer its demand
followed by m numbers, the cost of serving ALL of that customer's demand from each warehouse.
Numbers wrap across lines, so the file is read as one stream of tokens. In ``capa/b/c`` the
capacity field is the literal word ``capacity``: the caller supplies the value.

Mapping (``shared/benchmarks/orlib-cap/README.md``): warehouse j -> provider ``Wj`` with one
offer of its capacity at weekly_price 0 and contract_cost_year = fixed cost; customer i ->
authority ``Ci`` with its demand (customers with zero demand get no demand row); every pair ->
a distance row with km 0 and extra_cost_year = cost / demand (0 for a customer without
demand); every other cost zero (no travel
cost, case management, locality target or individual rationality); voice ``volume``;
mip_gap 1e-9 because the published optima are exact. The optimal annual cost is then the
published optimum.

The emergency price. Unmet demand must never be cheaper than serving it, or the model would be
a different problem. With total capacity >= total demand (checked), integer demands and
integer capacities (checked), a yearly emergency cost E > max fixed cost + max per-unit cost
suffices: take a plan with unmet demand. If an open warehouse has spare room, moving unmet
places there saves at least E - max per-unit cost > 0 each. Otherwise every open warehouse is
full, so the unmet total is D - (capacity open), an integer >= 1, and some closed warehouse has
capacity >= 1 (closed capacity >= D - open capacity); opening it and moving r >= 1 unmet places
there changes the cost by at most f_max + r * (c_max - E) <= f_max + c_max - E < 0. Either way the
plan is not optimal. (A price of only 10 x the per-unit cost would not do: one unit short can
be cheaper to buy at such a price than a warehouse's fixed cost.) We use 10 x (f_max + c_max).

Test and benchmark tooling, not a product module: it lives with the tests (``tests/``), and the
benchmarks put ``tests/`` on their path to use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimiser.errors import InputError, Problem
from optimiser.records import Instance
from optimiser.schema import (
    Authority,
    Demand,
    Distance,
    Offer,
    PlacementType,
    Policy,
    Provider,
)

#: the single placement type of an OR-Library instance
UNIT = "unit"
WEEKS = 52.0


def _problem(path: Path, message: str) -> InputError:
    return InputError(Problem(str(path), message))


def read_cap(path: Path, capacity: float | None = None) -> Instance:
    """The OR-Library file at ``path`` as an :class:`Instance` (see the module docstring).

    ``capacity`` gives every warehouse's capacity where the file holds the word ``capacity``
    (capa/b/c); it is an error if such a file is read without it.
    """
    path = Path(path)
    tokens = path.read_text().split()
    try:
        m, n = int(tokens[0]), int(tokens[1])
        fields = tokens[2:2 + 2 * m]
        raw_capacity, fixed = fields[0::2], np.array(fields[1::2], dtype=float)
        rest = np.array(tokens[2 + 2 * m:], dtype=float)
    except (IndexError, ValueError) as error:
        raise _problem(path, f"not an OR-Library cap file: {error}") from None
    if len(fixed) != m or rest.size != n * (m + 1):
        raise _problem(path, f"expected {m} warehouses and {n} customers x {m + 1} numbers, "
                             f"found {rest.size} numbers after the warehouses")
    if any(c == "capacity" for c in raw_capacity):
        if capacity is None:
            raise _problem(path, "the capacity field reads 'capacity': give the capacity value")
        caps = np.full(m, float(capacity))
    else:
        caps = np.array(raw_capacity, dtype=float)
    rest = rest.reshape(n, m + 1)
    demand, cost = rest[:, 0], rest[:, 1:]
    if not (np.all(demand == np.round(demand)) and np.all(caps == np.round(caps))):
        raise _problem(path, "demands and capacities must be whole numbers (the emergency "
                             "price argument of the module docstring needs it)")
    if caps.sum() < demand.sum():
        raise _problem(path, f"total capacity {caps.sum():g} is below total demand "
                             f"{demand.sum():g}: the instance is infeasible")
    served = demand > 0
    per_unit = np.zeros_like(cost)
    per_unit[served] = cost[served] / demand[served, None]
    emergency_year = 10.0 * (fixed.max() + per_unit.max())

    warehouses = [f"W{j + 1}" for j in range(m)]
    customers = [f"C{i + 1}" for i in range(n)]
    return Instance(
        name=path.stem,
        description=f"OR-Library capacitated warehouse location {path.stem} "
                    f"({m} warehouses x {n} customers)",
        placement_types={
            UNIT: PlacementType(id=UNIT, emergency_weekly_price=emergency_year / WEEKS)},
        authorities={c: Authority(id=c) for c in customers},
        demand=tuple(Demand(authority=customers[i], placement_type=UNIT, places=demand[i])
                     for i in range(n) if served[i]),
        providers={w: Provider(id=w, contract_cost_year=fixed[j])
                   for j, w in enumerate(warehouses)},
        offers=tuple(Offer(provider=w, placement_type=UNIT, capacity=caps[j], weekly_price=0.0)
                     for j, w in enumerate(warehouses)),
        distances=tuple(Distance(authority=customers[i], provider=warehouses[j], km=0.0,
                                 extra_cost_year=per_unit[i, j])
                        for i in range(n) for j in range(m)),
        policy=Policy(weeks_per_year=WEEKS, travel_cost_per_km_year=0.0, min_local_share=0.0,
                      individual_rationality=False, voice="volume", mip_gap=1e-9,
                      time_limit_s=3600.0),
        source=str(path),
    )
