"""A solved plan read back by domain name, with every member's cost recomputed from it.

Places are rounded to the precision the result files carry (``outputs.PLACES_DP``) before any
figure is computed, and unmet places are recomputed as demand minus placed, so every figure in
the files follows exactly from the places in ``assignment.csv`` (``optimise verify`` recomputes
them the same way). Costs are recomputed from the places and the active tiers rather than read
from the solver's ``cost`` variables, which carry the solver's tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.framework import FrameworkModel
from optimiser.outputs import PLACES_DP
from optimiser.solvers.base import SolverResult


@dataclass(frozen=True)
class Plan:
    """Placements, unmet places, active tiers and contracts of one solve, with costs."""

    model: FrameworkModel
    result: SolverResult
    arcs: pd.DataFrame  # market arcs + places, discount_pct, annual_cost
    needs: pd.DataFrame  # authority, need, places, placed, placed_local, unmet, emergency_year
    tiers: pd.DataFrame  # active tiers: group, provider, scope, min, discount, guarantee, volume, void, void_cost
    contracted: frozenset[str]
    member_cost: dict[str, float]
    shortfall: dict[str, float]  # local shortfall places per member
    excess: dict[str, float]  # solver's excess of members with a rationality row (the others
    # are within their standalone cost by construction: models.voices._solve_volume)
    shared_contract: float
    shared_void: float

    @property
    def members(self) -> tuple[str, ...]:
        return self.model.members

    @property
    def total_cost(self) -> float:
        return float(sum(self.member_cost.values()))


def _rounded(values: np.ndarray, columns) -> np.ndarray:
    raw = values[np.asarray(columns, dtype=np.int64)] if len(columns) else np.zeros(0)
    return np.round(np.clip(raw, 0.0, None), PLACES_DP)


def _active_tiers(model: FrameworkModel, values: np.ndarray) -> pd.DataFrame:
    tiers = model.tiers.copy()
    tiers["active"] = values[tiers["z"].to_numpy(dtype=np.int64)] > 0.5 if len(tiers) else []
    active = tiers[tiers["active"] & (tiers["k"] > 0)]
    return active.merge(model.groups, on="group")


def read_plan(model: FrameworkModel, result: SolverResult) -> Plan:
    """The plan in ``result`` (which must hold one), with costs recomputed from places."""
    values = result.values
    market = model.market
    arcs = model.arcs.copy()
    arcs["places"] = _rounded(values, arcs["x"])
    active = _active_tiers(model, values)
    discount = dict(zip(active["group"], active["discount"]))
    arcs["discount_pct"] = arcs["group"].map(discount).fillna(0.0)
    arcs["annual_cost"] = arcs["places"] * (
        arcs["fee_year"] * (1 - arcs["discount_pct"] / 100.0) + arcs["non_fee_year"])
    needs = _need_balance(model, arcs)
    tiers = _tier_volumes(active, arcs)
    contracted = _contracted(model, values, arcs)
    # summed in provider order: a set's order changes with the process' string hashing, and
    # float sums with it, so files would differ in their last digit from run to run
    providers = market.providers
    held = providers["provider"].isin(contracted)
    shared_contract = float(providers.loc[held, "contract_cost_year"].sum())
    shared_void = float(tiers["void_cost"].sum()) if len(tiers) else 0.0
    member_cost = _member_costs(model, arcs, needs, shared_contract + shared_void)
    return Plan(model, result, arcs, needs, tiers, frozenset(contracted), member_cost,
                _shortfall(model, arcs, needs), _excess(model, values),
                shared_contract, shared_void)


def _need_balance(model: FrameworkModel, arcs: pd.DataFrame) -> pd.DataFrame:
    needs = model.needs[["authority", "need", "places", "emergency_year"]].copy()
    placed = arcs.groupby("need_row")["places"].sum()
    local = arcs[arcs["local"]].groupby("need_row")["places"].sum()
    needs["placed"] = placed.reindex(needs.index, fill_value=0.0).to_numpy()
    needs["placed_local"] = local.reindex(needs.index, fill_value=0.0).to_numpy()
    needs["unmet"] = np.round(np.clip(needs["places"] - needs["placed"], 0.0, None), PLACES_DP)
    return needs


def _tier_volumes(active: pd.DataFrame, arcs: pd.DataFrame) -> pd.DataFrame:
    """Volume in scope, void places and void cost of every active tier."""
    volume = arcs[arcs["group"] >= 0].groupby("group")["places"].sum()
    tiers = active[["group", "provider", "scope", "min", "discount", "guarantee",
                    "void_fee"]].copy()
    tiers["volume"] = volume.reindex(tiers["group"], fill_value=0.0).to_numpy()
    short = np.clip(tiers["min"] - tiers["volume"], 0.0, None)
    tiers["void"] = np.where(tiers["guarantee"].astype(bool), np.round(short, PLACES_DP), 0.0)
    tiers["void_cost"] = tiers["void"] * tiers["void_fee"] * (1 - tiers["discount"] / 100.0)
    return tiers.reset_index(drop=True)


def _contracted(model: FrameworkModel, values: np.ndarray, arcs: pd.DataFrame) -> set[str]:
    """Providers holding a contract: o[p] = 1 where modelled, else any place with them."""
    held = {p for p, o in zip(model.contract["provider"], model.contract["o"]) if values[o] > 0.5}
    used = set(arcs.loc[arcs["places"] > 0, "provider"])
    return held | used


def _member_costs(model: FrameworkModel, arcs: pd.DataFrame, needs: pd.DataFrame,
                  shared: float) -> dict[str, float]:
    """cost_a = its assignment costs + emergency cost of its unmet places + share_a * shared."""
    placements = arcs.groupby("authority")["annual_cost"].sum()
    emergency = (needs["unmet"] * needs["emergency_year"]).groupby(needs["authority"]).sum()
    share = model.market.share
    return {a: float(placements.get(a, 0.0) + emergency.get(a, 0.0) + share[a] * shared)
            for a in model.members}


def _shortfall(model: FrameworkModel, arcs: pd.DataFrame, needs: pd.DataFrame) -> dict[str, float]:
    """max(0, m_a * placed_a - local_a): places below each member's local target."""
    placed = needs.groupby("authority")["placed"].sum()
    local = needs.groupby("authority")["placed_local"].sum()
    target = model.market.local_target
    return {a: max(0.0, target[a] * float(placed.get(a, 0.0)) - float(local.get(a, 0.0)))
            for a in model.members}


def _excess(model: FrameworkModel, values: np.ndarray) -> dict[str, float]:
    if model.excess is None:
        return {}
    return {a: float(values[c]) for a, c in zip(model.tracked, model.excess)}
