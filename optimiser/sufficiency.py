"""Local sufficiency, independent of prices: how much demand could be placed locally at all.

For one coalition's market (``optimiser.market``) the flow network is

    source --d[a,n]--> (a, n) --inf--> offer (p, t) --cap[p,t]--> provider p --max_places[p]--> sink

with one need node per member and need with demand, an arc (a, n) -> (p, t) for every eligible
*local* assignment (``arcs.local``: within ``local_radius_km`` of a), the offer's capacity as the
coalition sees it (docs/model.md section 5), and a provider node only where a provider has a
finite ``max_places`` (otherwise the offer goes straight to the sink). Eligibility (ratings,
in-house rules, substitutions) is the model's own, because the arcs are the market's.

Its maximum flow is the most demand that could be placed locally by any plan, whatever the
prices: the model's x restricted to local arcs is a flow in this network (demand, capacity and
max_places rows are the network's capacities), so every plan's local placement is at most the
max flow, and with zero prices, a large local shortfall penalty and a local target of 1 the
model reaches it (``tests/test_sufficiency.py``). The model's other rows (contract minimums,
concentration, tiers) can only lower what a plan places locally.

Which figures are unique:

* the total max flow of a market is unique; so is therefore ``local_max_alone`` summed over an
  authority's needs (the max flow of ``build_market(instance, [a])``, the capacity it would see
  commissioning alone);
* how a max flow splits between needs is not unique when needs compete for the same offers. The
  split reported is the *priority* split: each need places locally the most it can once the
  needs before it have placed theirs, i.e. the k-th need gets f(1..k) - f(1..k-1), where f(S)
  is the max flow of needs S. The order (:func:`priority`): needs fewer placement types may
  serve first (a need's own type and its substitutions), so a need that could step up to a
  specialist place never takes it from a need that has no other; then members in the run's
  order, each one's needs in demand-file order. The needs' local placements form a
  polymatroid, so this greedy split is its unique base maximising sum_k (K - k) x_k: the max
  flow of least cost when the source arc of the k-th need costs k, which
  ``networkx.max_flow_min_cost`` finds. Being the unique optimum, the split does not depend on
  how networkx walks its sets and dicts (an arbitrary max flow did: its split changed with
  PYTHONHASHSEED).

The bottleneck of a need is read from a minimum cut: in the residual network of the max flow,
the nodes the need's unplaced demand can still reach (not through the source) are on the source
side of the minimum cut; the capacity edges leaving that set are saturated and cut it off from
the sink. Given the split, that set is the same in every flow with that split (it is the
canonical minimum cut of the network where every other need's source arc carries exactly its
share), so the bottleneck is as unique as the split. Those are the offers (``provider:type``) and
provider totals (``provider:max_places``) whose capacity limits this need's local placement;
more capacity there is what could raise it. The need's own local offers are listed first, then
those of other needs it competes with (more capacity there would let them move and free one of
its own offers), each group in the order the network is built (offers in instance order, a
provider's ``max_places`` after its first offer). In a dense area the cut is large (up to 463
offers for a North West need, 663 in England): it is listed in full. A need with no eligible
local offer at all gets ``no local offer``; a need placed in full has no bottleneck (blank).

Capacities are scaled to integers (``SCALE`` = 1e9 units per place, rounded): networkx's
algorithms compare residual capacities exactly, which floats do not survive. The rounding moves a
flow by at most 5e-10 places per edge in the cut, far below the 1e-6 places of the result files.
A demand below half a unit (5e-10 places) rounds to nothing: it has no source arc, places
nothing locally and is "placed in full" (no bottleneck), being within ``FULL_TOLERANCE`` of it.
``optimise verify`` rebuilds all of this with its own augmenting paths (``optimiser.verify``).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from optimiser import columns
from optimiser.market import Market, build_market, service_pairs

#: integer units per place in the flow network (see module docstring)
SCALE = 10**9

SOURCE = "source"
SINK = "sink"

#: a need whose local max flow is within this of its demand (places) is placed in full
FULL_TOLERANCE = 1e-6

#: bottleneck text of a need with no eligible offer within the local radius
NO_LOCAL_OFFER = "no local offer"

SUFFICIENCY = "sufficiency.csv"
#: one row per (member, need) with demand > 0, in instance order.
#: local_max_consortium: the need's local placement in the priority split of a max flow of the
#: run's market (module docstring; the total over all rows is the max flow); local_max_alone:
#: the same for the authority's own market commissioning alone;
#: placed_local: the plan's local places; bottleneck: ';'-separated provider:type (or
#: provider:max_places) edges of the minimum cut that limit the need, blank if placed in full.
SUFFICIENCY_COLUMNS = columns.SUFFICIENCY.names


@dataclass(frozen=True)
class LocalFlow:
    """The local max flow of one market: total, per need, and each short need's bottleneck."""

    members: tuple[str, ...]
    total: float  # places: the max flow (unique)
    needs: pd.DataFrame  # authority, need, demand, local_max, bottleneck (tuple of edge labels)

    def of(self, authority: str) -> float:
        """The authority's local placement in this flow."""
        return float(self.needs.loc[self.needs["authority"] == authority, "local_max"].sum())


@dataclass(frozen=True)
class LocalSufficiency:
    """The consortium's local max flow and each member's alone, with the plan's placements."""

    consortium: LocalFlow
    alone: dict[str, LocalFlow]
    table: pd.DataFrame  # SUFFICIENCY_COLUMNS
    seconds: float

    def by_authority(self) -> pd.DataFrame:
        """Per member: demand, local max alone (unique), in the consortium's flow, and placed
        locally by the plan."""
        sums = self.table.groupby("authority", sort=False)[
            ["demand", "local_max_consortium", "local_max_alone", "placed_local"]].sum()
        return sums.reset_index()


def _units(places: float) -> int:
    return round(float(places) * SCALE)


def priority(market: Market) -> list[int]:
    """Rank of each of ``market.needs`` in the priority split (module docstring): fewest
    placement types that may serve it first, then the market's order."""
    servers = service_pairs(market.instance)["need"].value_counts()
    order = sorted(range(len(market.needs)),
                   key=lambda i: (servers.get(market.needs["need"].iat[i], 1), i))
    ranks = [0] * len(order)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return ranks


def flow_network(market: Market) -> tuple[nx.DiGraph, dict]:
    """The network of the module docstring, and the label of every capacity edge (tail node ->
    ``provider:type`` or ``provider:max_places``). The source arc of a need costs its rank in
    the priority split (``weight``, module docstring)."""
    graph = nx.DiGraph()
    needs = market.needs
    for a, n, d, rank in zip(needs["authority"], needs["need"], needs["places"],
                             priority(market)):
        if _units(d) > 0:  # below half a unit: nothing to place (module docstring)
            graph.add_edge(SOURCE, ("need", a, n), capacity=_units(d), weight=rank)
    local = market.arcs[market.arcs["local"]]
    for a, n, p, t in zip(local["authority"], local["need"], local["provider"],
                          local["placement_type"]):
        graph.add_edge(("need", a, n), ("offer", p, t))  # no capacity attribute: infinite
    used = set(zip(local["provider"], local["placement_type"]))
    limits = market.providers.set_index("provider")["max_places"]
    labels = {}
    offers = market.offers
    for p, t, capacity in zip(offers["provider"], offers["placement_type"], offers["capacity"]):
        if (p, t) not in used:
            continue
        limit = float(limits[p])
        head = SINK if not np.isfinite(limit) else ("provider", p)
        graph.add_edge(("offer", p, t), head, capacity=_units(capacity))
        labels[("offer", p, t)] = f"{p}:{t}"
        if head != SINK and not graph.has_edge(head, SINK):
            graph.add_edge(head, SINK, capacity=_units(limit))
            labels[head] = f"{p}:max_places"
    return graph, labels


def local_flow(market: Market) -> LocalFlow:
    """The local max flow of ``market`` and its priority split (see the module docstring)."""
    graph, labels = flow_network(market)
    needs = market.needs
    rows = pd.DataFrame({"authority": needs["authority"].to_numpy(),
                         "need": needs["need"].to_numpy(),
                         "demand": needs["places"].to_numpy(dtype=float)})
    nodes = [("need", a, n) for a, n in zip(rows["authority"], rows["need"])]
    if not graph.has_node(SINK) or not graph.has_node(SOURCE):  # nothing can flow
        flow = {node: {} for node in graph}
    else:
        flow = nx.max_flow_min_cost(graph, SOURCE, SINK)
    placed = [flow.get(SOURCE, {}).get(node, 0) / SCALE for node in nodes]
    rows["local_max"] = placed
    rows["bottleneck"] = [
        _bottleneck(graph, flow, labels, node) if d - f > FULL_TOLERANCE else ()
        for node, d, f in zip(nodes, rows["demand"], placed)]
    return LocalFlow(market.members, sum(flow.get(SOURCE, {}).values()) / SCALE, rows)


def _bottleneck(graph: nx.DiGraph, flow: dict, labels: dict, start) -> tuple[str, ...]:
    """Labels of the saturated capacity edges leaving the set ``start`` reaches in the residual
    network of ``flow`` (never through the source): the need's own local offers first, then
    those it reaches by displacing other needs, each group in the order the network was built."""
    if not graph.has_node(start) or graph.out_degree(start) == 0:
        return (NO_LOCAL_OFFER,)
    reached = _residual_reach(graph, flow, start)
    cut = [node for node in labels if node in reached
           and any(head not in reached for head in graph[node])]
    own = set(graph[start])
    own |= {head for offer in own for head in graph[offer]}  # their providers' max_places
    return tuple(labels[node] for node in sorted(cut, key=lambda node: node not in own))


def _residual_reach(graph: nx.DiGraph, flow: dict, start) -> set:
    """The nodes ``start`` reaches in the residual network (not through the source): along an
    edge with spare capacity, or back along one that carries flow."""
    reached = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        forward = (head for head, edge in graph[node].items()
                   if flow[node][head] < edge.get("capacity", float("inf")))
        backward = (tail for tail in graph.pred[node] if flow[tail][node] > 0)
        for other in (*forward, *backward):
            if other != SOURCE and other not in reached:
                reached.add(other)
                queue.append(other)
    return reached


def local_sufficiency(outcome) -> LocalSufficiency:
    """Sufficiency of a run (``optimiser.run.RunOutcome``): the consortium's local max flow,
    each member's alone (on the market its standalone baseline saw), the plan's local places."""
    started = time.perf_counter()
    market, plan = outcome.market, outcome.plan
    consortium = local_flow(market)
    alone = {}
    for a in market.members:
        baseline = outcome.standalone.plans.get(a)
        own = baseline.model.market if baseline is not None else build_market(
            outcome.instance, [a])
        alone[a] = local_flow(own)
    table = sufficiency_table(consortium, alone, plan.needs)
    return LocalSufficiency(consortium, alone, table, time.perf_counter() - started)


def sufficiency_table(consortium: LocalFlow, alone: dict[str, LocalFlow],
                      plan_needs: pd.DataFrame) -> pd.DataFrame:
    """sufficiency.csv: one row per (member, need) with demand, in the consortium's order."""
    alone_max = {}
    for flow in alone.values():
        alone_max.update({(a, n): f for a, n, f in zip(
            flow.needs["authority"], flow.needs["need"], flow.needs["local_max"])})
    placed = {(a, n): f for a, n, f in zip(plan_needs["authority"], plan_needs["need"],
                                          plan_needs["placed_local"])}
    rows = consortium.needs
    return pd.DataFrame({
        "authority": rows["authority"],
        "placement_type": rows["need"],
        "demand": rows["demand"],
        "local_max_consortium": rows["local_max"],
        "local_max_alone": [alone_max.get((a, n), 0.0)
                            for a, n in zip(rows["authority"], rows["need"])],
        "placed_local": [placed.get((a, n), 0.0)
                         for a, n in zip(rows["authority"], rows["need"])],
        "bottleneck": [";".join(b) for b in rows["bottleneck"]],
    }, columns=list(SUFFICIENCY_COLUMNS)).reset_index(drop=True)
