"""The coalition-value engine: c(S) for every coalition S of a consortium N from one model.

Every coalition's model (``optimiser.coalitions``: ``volume``, no individual rationality, the
market of docs/model.md section 5) is N's model with numbers changed: the members outside S
have no demand, and the capacities, the bounds derived from them and the tier groups' ranges
are the ones S sees. So the engine builds N's model once per worker process (building, in
pandas, took an eighth of each value's CPU time on Greater Manchester: 0.413 s a value cold,
0.358 s from the engine; ``benchmarks/bench_compare.py --engine-sample``) and, for each S,
changes

* bounds: non-members' placements and unmet places fixed at 0, their demand and locality rows
  emptied; each arc's upper bound min(d, cap_S, max_places_S); capacity and max_places rows at
  the capacity S sees (``optimiser.market.provider_scale``); contracts and tier groups S has no
  arc to fixed at "none" (S's model has no such variables);
* coefficients that are S's numbers in S's model: the contract link x <= upper * o, the tier
  range V <= U_g z, the spend copies' S <= Smax z and the fee range fmin V <= S <= fmax V of
  each group, all recomputed from S's arcs exactly as ``models.framework`` computes them.

What remains is S's own model plus columns fixed at zero, so c(S) is the same optimum (the
solver's presolve removes the fixed columns); ``tests/test_coalition_engine.py`` checks it
against a fresh build. Warm starts were measured and left out: on Greater Manchester the root
heuristics already find the plan a warm start would give, and the time goes into proving the
bound (a start from S's tier and contract choices made S + {a} 0.8x to 1.3x as fast, no gain).
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from models.framework import FrameworkModel, build_framework_model, set_objective
from optimiser.market import build_market, capacity_factor, provider_scale
from optimiser.program import LinearProgram
from optimiser.records import Instance

Coalition = tuple[str, ...]
#: a tier group's ranges as S sees them, in this order: the largest volume U_g, the fee range
#: fmin_g and fmax_g, and the largest spend Smax (one cost holder: fmax_g * min(reach, U_g))
VOLUME, FEE_MIN, FEE_MAX, SPEND = range(4)


class CoalitionEngine:
    """N's consortium model, built once; :meth:`program` gives coalition S's (see module)."""

    def __init__(self, instance: Instance, members: Coalition) -> None:
        self.instance = instance
        self.members = tuple(members)
        market = build_market(instance, list(self.members))
        model = build_framework_model(market, integer_places=instance.policy.integer_places,
                                      tracked=())
        set_objective(model, np.ones(len(model.holder_share)))
        self.model: FrameworkModel = model
        self._index_rows()

    # -- reading N's model once

    def _index_rows(self) -> None:
        model, program = self.model, self.model.program
        arcs = model.arcs
        self.arc_of_x = {int(c): i for i, c in enumerate(arcs["x"])}
        self.arc_member = arcs["authority"].to_numpy()
        self.arc_provider = arcs["provider"].to_numpy()
        self.arc_type = arcs["placement_type"].to_numpy()
        self.arc_places = model.needs["places"].to_numpy()[arcs["need_row"].to_numpy()]
        self.arc_group = arcs["group"].to_numpy()
        self.arc_fee = arcs["fee_year"].to_numpy()
        self.arc_need = arcs["need_row"].to_numpy()
        self.tier_of_z = {int(z): i for i, z in enumerate(model.tiers["z"])}
        self.tier_of_v = {int(v): i for i, v in enumerate(model.tiers["volume"])}
        matrix = sp.csr_matrix(program.matrix())
        self.matrix = matrix
        listed = {(o.provider, o.placement_type): o.capacity for o in self.instance.offers}
        self.arc_listed = np.array([listed[(p, t)] for p, t in zip(self.arc_provider,
                                                                   self.arc_type)])
        self.provider_max = {p.id: (np.inf if p.max_places is None else p.max_places)
                             for p in self.instance.providers.values()}
        self.arc_max = np.array([self.provider_max[p] for p in self.arc_provider])
        self._index_coefficients()

    def _rows(self, block: str) -> np.ndarray:
        program = self.model.program
        if block not in program.row_blocks:
            return np.zeros(0, dtype=np.int64)
        return np.arange(program.num_rows)[program.row_blocks[block]]

    def _row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        m = self.matrix
        return m.indices[m.indptr[row]:m.indptr[row + 1]], m.data[m.indptr[row]:m.indptr[row + 1]]

    def _index_coefficients(self) -> None:
        """Where S's numbers go: per capacity row its arc, per max_places row its provider, per
        contract row its arc and o column, per tier-range entry its group and which range."""
        self.capacity_arc = np.array([self.arc_of_x[int(self._row(r)[0][0])]
                                      for r in self._rows("capacity")], dtype=np.int64)
        self.max_places_provider = [self.arc_provider[self.arc_of_x[int(self._row(r)[0][0])]]
                                    for r in self._rows("max_places")]
        contract = [], [], [], []
        for row in self._rows("contract"):
            cols, data = self._row(row)
            for c, value in zip(cols, data):
                if int(c) in self.arc_of_x:
                    contract[1].append(self.arc_of_x[int(c)])
                else:
                    contract[0].append(row)
                    contract[2].append(int(c))
                    contract[3].append(value)
        self.contract_rows, self.contract_arcs, self.contract_cols, self.contract_coef = (
            np.array(v) for v in contract)
        tiers = self.model.tiers
        rules = {"tier_upper": (self.tier_of_z, VOLUME), "spend_upper": (self.tier_of_z, SPEND),
                 "spend_low": (self.tier_of_v, FEE_MIN), "spend_high": (self.tier_of_v, FEE_MAX)}
        ranges = [], [], [], [], []
        for block, (column_of, which) in rules.items():
            for row in self._rows(block):
                cols, data = self._row(row)
                for c, value in zip(cols, data):
                    tier = column_of.get(int(c))
                    if tier is not None:
                        for part, item in zip(ranges, (row, int(c), int(tiers["group"].iat[tier]),
                                                       which, value)):
                            part.append(item)
        self.range_rows, self.range_cols, self.range_groups, self.range_which, \
            self.range_coef = (np.array(v) for v in ranges)

    # -- coalition S

    def program(self, coalition: Coalition) -> LinearProgram:
        """Coalition S's model: N's program with S's bounds and coefficients (see module)."""
        instance, model = self.instance, self.model
        inside = set(coalition)
        factor = capacity_factor(instance, list(coalition))
        scale = {p.id: provider_scale(p.kind, p.owner, inside, factor)
                 for p in instance.providers.values()}
        arc_scale = np.array([scale[p] for p in self.arc_provider])
        cap = self.arc_listed * arc_scale
        # a provider without a maximum has none in any coalition (inf, never inf * 0)
        max_places = self.arc_max.copy()
        finite = np.isfinite(max_places)
        max_places[finite] *= arc_scale[finite]
        active = np.isin(self.arc_member, list(inside)) & (cap > 0)
        upper = np.where(active, np.minimum(np.minimum(self.arc_places, cap), max_places), 0.0)
        program = _copy_program(model.program)
        program.upper[list(program.blocks).index("x")] = upper
        if self.capacity_arc.size:
            program.row_bounds("capacity")[1][:] = cap[self.capacity_arc]
        if self.max_places_provider:
            program.row_bounds("max_places")[1][:] = [self.provider_max[p] * scale[p]
                                                        for p in self.max_places_provider]
        self._demand(program, inside)
        rows, cols, delta = self._contracts(program, active, upper)
        more = self._tiers(program, active, cap, max_places)
        program.add_terms(np.concatenate([rows, more[0]]), np.concatenate([cols, more[1]]),
                          np.concatenate([delta, more[2]]))
        return program

    def _demand(self, program: LinearProgram, inside: set[str]) -> None:
        needs, model = self.model.needs, self.model
        outside = ~needs["authority"].isin(inside).to_numpy()
        lower, upper = program.row_bounds("demand")
        lower[outside] = 0.0
        upper[outside] = 0.0
        u_block = list(program.blocks).index("u")
        program.upper[u_block] = np.where(outside, 0.0, program.upper[u_block])
        if "locality" in program.row_blocks:
            targeted = np.flatnonzero(model.shortfall >= 0)
            lower, _ = program.row_bounds("locality")
            lower[np.array([model.members[i] not in inside for i in targeted], dtype=bool)] = 0.0

    def _contracts(self, program: LinearProgram, active: np.ndarray, upper: np.ndarray):
        """x <= upper_S * o on S's arcs; a contract S has no arc to is not signed."""
        contract = self.model.contract
        used = set(self.arc_provider[active])
        unused = [int(o) for p, o in zip(contract["provider"], contract["o"]) if p not in used]
        if unused:
            program.fix(unused, 0.0)
        if self.contract_rows.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        keep = active[self.contract_arcs]
        delta = -upper[self.contract_arcs] - self.contract_coef
        return self.contract_rows[keep], self.contract_cols[keep], delta[keep]

    def _tiers(self, program: LinearProgram, active: np.ndarray, cap: np.ndarray,
               max_places: np.ndarray):
        """The groups' ranges from S's arcs (``models.framework._group_bounds`` and
        ``_largest_member_spend``); a group S has no arc in takes "no tier"."""
        tiers = self.model.tiers
        bounds = {}
        for g in np.unique(self.arc_group[self.arc_group >= 0]):
            held = active & (self.arc_group == g)
            if not held.any():
                continue
            offers = {(p, t): c for p, t, c in zip(self.arc_provider[held], self.arc_type[held],
                                                   cap[held])}
            reach = float(sum(dict(zip(self.arc_need[held], self.arc_places[held])).values()))
            volume = min(float(sum(offers.values())), float(max_places[held][0]), reach)
            fees = self.arc_fee[held]
            bounds[int(g)] = (volume, float(fees.min()), float(fees.max()),
                              float(fees.max()) * min(reach, volume))
        dropped = tiers[~tiers["group"].isin(list(bounds))]
        if len(dropped):
            program.fix(dropped["z"].to_numpy(), (dropped["k"] == 0).to_numpy(dtype=float))
        if self.range_rows.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        kept = np.array([g in bounds for g in self.range_groups], dtype=bool)
        target = np.array([bounds[g][w] if k else 0.0 for g, w, k in
                           zip(self.range_groups, self.range_which, kept)])
        delta = -target - self.range_coef
        return self.range_rows[kept], self.range_cols[kept], delta[kept]


def _copy_program(program: LinearProgram) -> LinearProgram:
    """A copy whose bounds can be changed and terms added without touching the original."""
    copied = copy.copy(program)
    copied.lower = [a.copy() for a in program.lower]
    copied.upper = [a.copy() for a in program.upper]
    copied.row_lower = [a.copy() for a in program.row_lower]
    copied.row_upper = [a.copy() for a in program.row_upper]
    copied.entries = list(program.entries)
    copied.fixed = list(program.fixed)
    copied.objective_terms = list(program.objective_terms)
    return copied


# -- one engine per worker process --------------------------------------------------------

_ENGINES: dict[tuple[int, Coalition], tuple[Instance, CoalitionEngine]] = {}
#: engines kept per process (one per consortium asked for; each holds one model)
ENGINES_KEPT = 4


def engine_for(instance: Instance, members: Coalition) -> CoalitionEngine:
    """This process's engine for consortium ``members`` of ``instance``, built on first use
    (the instance object itself is kept with it, so its id is not reused)."""
    key = (id(instance), tuple(members))
    found = _ENGINES.get(key)
    if found is not None and found[0] is instance:
        return found[1]
    if len(_ENGINES) >= ENGINES_KEPT:
        _ENGINES.pop(next(iter(_ENGINES)))
    engine = CoalitionEngine(instance, tuple(members))
    _ENGINES[key] = (instance, engine)
    return engine
