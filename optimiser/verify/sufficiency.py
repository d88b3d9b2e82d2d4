"""sufficiency.csv: local max flows rebuilt with plain augmenting paths."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import partial

from optimiser.sufficiency import FULL_TOLERANCE, NO_LOCAL_OFFER, SCALE, SUFFICIENCY
from optimiser.verify.assignment import Placement
from optimiser.verify.checker import Checker, at
from optimiser.verify.costs import rows_by_key
from optimiser.verify.figures import total
from optimiser.verify.files import ResultRow
from optimiser.verify.market import Market

SINK = ("sink",)
Node = tuple  # ("need", a, n), ("offer", p, t), ("provider", p) or SINK


@dataclass
class LocalNetwork:
    """The local flow network of sufficiency.csv for one coalition, as residual capacities:
    need -> each eligible offer within the local radius (unbounded) -> the provider's
    max_places, where it has one -> sink. There is no source: what a need may still push is its
    demand (in integer units, as the file's definition rounds it) less what it has placed."""

    needs: list[tuple[str, str]]
    units: list[int]
    local_offers: dict[Node, list[Node]]
    residual: dict[Node, dict[Node, float]]
    #: each capacity edge by its tail, in the order the file lists bottlenecks
    labels: dict[Node, str]
    heads: dict[Node, Node]


def local_network(market: Market) -> LocalNetwork:
    needs = [(a, n) for a in market.members for (b, n), d in market.demand.items()
             if b == a and d > 0]
    residual: dict[Node, dict[Node, float]] = defaultdict(dict)
    local_offers: dict[Node, list[Node]] = {}
    used = set()
    # offers with capacity by type (instance order): England has 912 needs and 4,204 offers
    by_type: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for p, t in market.offers:
        if market.offer_capacity(p, t) > 0:
            by_type[t].append((p, t))
    for a, n in needs:
        served_by = [t for t in market.instance.placement_types if (n, t) in market.allowed]
        mine = [(p, t) for t in served_by for (p, t) in by_type[t]
                if market.ineligibility(a, p, t, n) is None and market.is_local(a, p)]
        local_offers[("need", a, n)] = [("offer", p, t) for p, t in mine]
        for p, t in mine:
            residual[("need", a, n)][("offer", p, t)] = math.inf
        used.update(mine)
    labels: dict[Node, str] = {}
    heads: dict[Node, Node] = {}
    for p, t in market.offers:
        if (p, t) not in used:
            continue
        limit = market.max_places(p)
        head = SINK if limit is None else ("provider", p)
        labels[("offer", p, t)], heads[("offer", p, t)] = f"{p}:{t}", head
        residual[("offer", p, t)][head] = round(market.offer_capacity(p, t) * SCALE)
        if head != SINK and head not in labels:
            labels[head], heads[head] = f"{p}:max_places", SINK
            residual[head][SINK] = round(limit * SCALE)
    units = [round(market.demand[key] * SCALE) for key in needs]
    return LocalNetwork(needs, units, local_offers, residual, labels, heads)


def _augmenting_path(residual: dict[Node, dict[Node, float]], start: Node) -> list[Node] | None:
    """A shortest path from ``start`` to the sink along edges with spare capacity."""
    parent: dict[Node, Node | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for head, spare in residual[node].items():
            if spare <= 0 or head in parent:
                continue
            parent[head] = node
            if head == SINK:
                path = [head]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            queue.append(head)
    return None


def priority_split(market: Market, network: LocalNetwork) -> list[int]:
    """Each need's local places (units) when the needs place in turn, each as much as it can
    without taking places from those before it: augmenting paths from the need alone may
    reroute earlier needs' places but never reduce them. The turn: needs fewer placement types
    may serve first, then the network's (the run's) order."""
    residual = network.residual
    servers = defaultdict(int)
    for need, _ in market.allowed:
        servers[need] += 1
    turns = sorted(range(len(network.needs)), key=lambda i: (servers[network.needs[i][1]], i))
    placed = [0] * len(network.needs)
    for i in turns:
        (a, n), units = network.needs[i], network.units[i]
        remaining = units
        while remaining > 0:
            path = _augmenting_path(residual, ("need", a, n))
            if path is None:
                break
            push = min(remaining, *(residual[u][v] for u, v in zip(path, path[1:])))
            for u, v in zip(path, path[1:]):
                residual[u][v] -= push
                residual[v][u] = residual[v].get(u, 0) + push
            remaining -= push
        placed[i] = units - remaining
    return placed


def bottleneck(network: LocalNetwork, need: Node) -> str:
    """The capacity edges leaving what ``need`` still reaches in the residual network, its own
    offers (and their providers' max_places) first."""
    if not network.local_offers[need]:
        return NO_LOCAL_OFFER
    reached = {need}
    queue = deque([need])
    while queue:
        for head, spare in network.residual[queue.popleft()].items():
            if spare > 0 and head not in reached:
                reached.add(head)
                queue.append(head)
    cut = [tail for tail in network.labels
           if tail in reached and network.heads[tail] not in reached]
    own = set(network.local_offers[need])
    own |= {network.heads[offer] for offer in own}
    return ";".join(network.labels[tail] for tail in sorted(cut, key=lambda t: t not in own))


@dataclass(frozen=True)
class LocalMax:
    """One need's local places in a network's priority split, and its bottleneck."""

    places: float
    bottleneck: str


def local_max(market: Market) -> dict[tuple[str, str], LocalMax]:
    network = local_network(market)
    found = {}
    for (a, n), placed in zip(network.needs, priority_split(market, network)):
        places = placed / SCALE
        short = market.demand[(a, n)] - places > FULL_TOLERANCE
        found[(a, n)] = LocalMax(places, bottleneck(network, ("need", a, n)) if short else "")
    return found


def _edge_difference(found: str | None, expected: str) -> str:
    """How two bottleneck lists differ, briefly (a dense area's cut lists hundreds)."""
    mine, theirs = (found or "").split(";"), expected.split(";")
    extra = [e for e in mine if e and e not in theirs]
    missing = [e for e in theirs if e and e not in mine]
    if not extra and not missing:
        return "the same edges in another order"
    parts = []
    for name, edges in (("only in the file", extra), ("only recomputed", missing)):
        if edges:
            more = f" and {len(edges) - 3} more" if len(edges) > 3 else ""
            parts.append(f"{name}: {', '.join(edges[:3])}{more}")
    return "; ".join(parts)


def check_sufficiency(
    market: Market, placements: list[Placement], rows: list[ResultRow], check: Checker
) -> None:
    """sufficiency.csv: demand, the priority split of the coalition's and each member's own
    local max flow, the plan's local places and each short need's bottleneck."""
    together = local_max(market)
    alone: dict[tuple[str, str], LocalMax] = {}
    for a in market.members:
        alone.update(local_max(Market.build(market.instance, market.policy, (a,))))
    by_key = rows_by_key(rows, ("authority", "placement_type"), SUFFICIENCY, together, check,
                          label=lambda k: f"({k[0]}, {k[1]})")
    for (a, n), row in by_key.items():
        where = partial(at, SUFFICIENCY, f"({a}, {n})")
        local = total(x.places for x in placements if x.authority == a and x.need == n and x.local)
        check.places(where("demand"), row["demand"], market.demand[(a, n)])
        check.places(where("local_max_consortium"), row["local_max_consortium"],
                     together[(a, n)].places)
        check.places(where("local_max_alone"), row["local_max_alone"], alone[(a, n)].places)
        check.places(where("placed_local"), row["placed_local"], local)
        expected = together[(a, n)].bottleneck
        found = row["bottleneck"] or ""
        check.require(found == expected,
                      f"{where('bottleneck')}: {_edge_difference(found, expected)}")
