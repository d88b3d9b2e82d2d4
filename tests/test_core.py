"""The core and least core (``optimiser.core``): the issue's oracle on a real instance, a
non-empty core, and the separation MILP and constraint generation against enumeration.

Every solve uses mip_gap 1e-9, so c(S) and the separation are exact to rounding and values
can be compared to 1e-6 of c(N).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from random_instances import random_instance

from optimiser.coalitions import canonical, coalition_value
from optimiser.core import (
    CoreResult,
    Separation,
    least_core,
    least_core_by_enumeration,
    most_violated,
    proper_coalitions,
)
from optimiser.generate import generate_instance
from optimiser.records import Instance
from optimiser.schema import (
    Authority,
    Demand,
    Distance,
    Offer,
    PlacementType,
    Policy,
    Provider,
    Tier,
)
from optimiser.solvers import SolverOptions, get_solver

OPTIONS = SolverOptions(time_limit_s=120.0, mip_gap=1e-9)


def solve(program):
    return get_solver("highs").solve(program, OPTIONS)


class Game:
    """c(S) of an instance, cached (as compare caches it)."""

    def __init__(self, instance: Instance, members=None):
        self.instance = instance
        self.members = canonical(instance, members or instance.authorities)
        self.values: dict = {}

    def __call__(self, coalition) -> float:
        key = canonical(self.instance, coalition)
        if key not in self.values:
            self.values[key] = coalition_value(self.instance, key, solve).cost
        return self.values[key]

    @property
    def grand(self) -> float:
        return self(self.members)

    def excess(self, allocation, coalition) -> float:
        return sum(allocation[a] for a in coalition) - self(coalition)

    def largest_excess(self, allocation) -> float:
        """max over every proper coalition of x(S) - c(S), by enumeration."""
        return max(self.excess(allocation, s) for s in proper_coalitions(self.members))


# -- the oracle ----------------------------------------------------------------------


def three_authorities(pair_providers: bool) -> Instance:
    """Three authorities A, B, C needing 10 places each of one type; W = 1 week a year (so a
    place at £1,000 a week costs £1,000); no travel, case-management or contract costs. SPOT
    sells any number of places at £1,000 (capacity 300: every coalition sees plenty).

    ``pair_providers`` (the oracle, core empty): for each pair {i, j} a provider P_ij with 30
    places at £1,000 and one tier, 30% off (£700) once it places 20; anyone outside the pair
    pays £1,000,000 a year extra to use it (extra_cost_year), so only i and j ever do. Under
    ``baseline_capacity: shared`` a coalition of k members sees 30 x 10k / 30 = 10k places of
    every P_ij:
      c({i})   = 10 x 1,000 = 10,000: 10 places of P_ij reach no tier, £1,000 anywhere;
      c({i,j}) = 20 x 700 = 14,000: P_ij takes all 20 of the pair's places and reaches its tier;
      c(N)     = 20 x 700 + 10 x 1,000 = 24,000: a tier needs the whole demand of its pair (20
                 places); two tiers would need 40 places of 30, so one pair gets £700 and the
                 third member pays £1,000.
    Least core: the three pair constraints x_i + x_j <= 14,000 + eps add up to
    2 x 24,000 <= 42,000 + 3 eps, so eps >= 2,000, reached by x = (8,000, 8,000, 8,000)
    (each pair pays 16,000 = 14,000 + 2,000; each single 8,000 <= 10,000 + 2,000), and only
    by it (x_k = 24,000 - (x_i + x_j) >= 8,000 for every k). The core is empty.

    Otherwise (core non-empty): one provider P for everybody, 30 places at £1,000 with tiers
    30% off from 20 places and 35% off from 30: c({i}) = 10,000, c(pair) = 20 x 700 = 14,000,
    c(N) = 30 x 650 = 19,500. The pair constraints summed: 2 x 19,500 <= 42,000 + 3 eps, so
    eps >= -1,000, reached by (6,500, 6,500, 6,500): pairs pay 13,000 = 14,000 - 1,000,
    singles 6,500 <= 10,000 - 1,000. The core is non-empty."""
    authorities = ["A", "B", "C"]
    providers = [Provider(id="SPOT")]
    offers = [Offer(provider="SPOT", placement_type="t", capacity=300, weekly_price=1000)]
    tiers = []
    if pair_providers:
        for pair in ("AB", "BC", "AC"):
            providers.append(Provider(id=f"P{pair}"))
            offers.append(Offer(provider=f"P{pair}", placement_type="t", capacity=30,
                                weekly_price=1000))
            tiers.append(Tier(provider=f"P{pair}", min_places=20, discount_pct=30))
    else:
        providers.append(Provider(id="P"))
        offers.append(Offer(provider="P", placement_type="t", capacity=30, weekly_price=1000))
        tiers += [Tier(provider="P", min_places=20, discount_pct=30),
                  Tier(provider="P", min_places=30, discount_pct=35)]
    distances = [Distance(authority=a, provider=p.id, km=0,
                          extra_cost_year=(1e6 if len(p.id) == 3 and a not in p.id else 0))
                 for a in authorities for p in providers]
    return Instance(
        name="three authorities", description="core oracle",
        placement_types={"t": PlacementType(id="t", emergency_weekly_price=5000)},
        authorities={a: Authority(id=a) for a in authorities},
        demand=tuple(Demand(authority=a, placement_type="t", places=10) for a in authorities),
        providers={p.id: p for p in providers}, offers=tuple(offers), tiers=tuple(tiers),
        distances=tuple(distances),
        policy=Policy(weeks_per_year=1, baseline_capacity="shared"),
    )


def test_oracle_game_values():
    game = Game(three_authorities(pair_providers=True))
    assert [game(s) for s in proper_coalitions(game.members)] == pytest.approx(
        [10_000] * 3 + [14_000] * 3, abs=1e-6)
    assert game.grand == pytest.approx(24_000, abs=1e-6)


@pytest.mark.parametrize("allocation, violation, coalitions", [
    ((8_000, 8_000, 8_000), 2_000, {("A", "B"), ("A", "C"), ("B", "C")}),  # any pair
    ((9_000, 8_000, 7_000), 3_000, {("A", "B")}),  # 17,000 - 14,000; AC 2,000; BC 1,000
    ((20_000, 2_000, 2_000), 10_000, {("A",)}),  # 20,000 - 10,000 beats AB's 22,000 - 14,000
])
def test_oracle_separation_finds_the_most_violated_coalition(allocation, violation,
                                                               coalitions):
    instance = three_authorities(pair_providers=True)
    found = most_violated(instance, ["A", "B", "C"], dict(zip("ABC", allocation)), solve)
    assert found.violation == pytest.approx(violation, abs=1e-6)
    assert found.coalition in coalitions
    assert found.status == "optimal"
    assert found.bound == pytest.approx(violation, abs=1e-2)


def test_oracle_least_core_is_empty_with_epsilon_2000():
    instance = three_authorities(pair_providers=True)
    game = Game(instance)
    result = least_core(instance, ["C", "A", "B"], game, solve)  # any order: instance order
    assert isinstance(result, CoreResult)
    assert result.epsilon == pytest.approx(2_000, abs=1e-6)
    assert result.allocation == pytest.approx({"A": 8_000, "B": 8_000, "C": 8_000}, abs=1e-6)
    assert result.core_empty
    assert len(result.blocking) == 2  # a pair pays 16,000 against 14,000 alone
    assert game.excess(result.allocation, result.blocking) == pytest.approx(2_000, abs=1e-6)
    assert result.epsilon_bound == pytest.approx(2_000, abs=1e-3)
    assert result.iterations == 1 and result.coalitions == 6  # 3 singles + 3 complements
    by_enumeration = least_core_by_enumeration(instance, ["A", "B", "C"], game)
    assert by_enumeration.epsilon == pytest.approx(2_000, abs=1e-6)
    assert by_enumeration.allocation == pytest.approx(result.allocation, abs=1e-6)


def test_non_empty_core():
    instance = three_authorities(pair_providers=False)
    game = Game(instance)
    assert [game(s) for s in proper_coalitions(game.members)] == pytest.approx(
        [10_000] * 3 + [14_000] * 3, abs=1e-6)
    assert game.grand == pytest.approx(19_500, abs=1e-6)
    result = least_core(instance, game.members, game, solve)
    assert result.epsilon == pytest.approx(-1_000, abs=1e-6)
    assert not result.core_empty and result.blocking is None
    assert sum(result.allocation.values()) == pytest.approx(19_500, abs=1e-6)
    # in the core: every coalition pays at most its own cost (here with 1,000 to spare)
    for coalition in proper_coalitions(game.members):
        assert game.excess(result.allocation, coalition) <= -1_000 + 1e-6


def test_a_non_empty_core_on_a_generated_instance():
    """Under ``shared`` the union of standalone plans is feasible for any coalition, so costs
    are subadditive; on this generated instance the core is non-empty with room to spare, and
    the allocation satisfies every one of the 62 coalition constraints."""
    instance = generate_instance(6, 12, 3, 0, size_median=40)
    game = Game(instance)
    result = least_core(instance, game.members, game, solve)
    assert result.epsilon < 0 and not result.core_empty and result.blocking is None
    assert sum(result.allocation.values()) == pytest.approx(game.grand, rel=1e-9)
    assert game.largest_excess(result.allocation) == pytest.approx(result.epsilon,
                                                                   abs=1e-6 * game.grand)


# -- the separation MILP against enumeration ---------------------------------------------------


def cases() -> list[tuple[str, Instance]]:
    """5-7 member instances exercising every constraint family: random ones (in-house
    provision shared or not, local targets, guarantees, concentration, contract costs, min and
    max places) under ``shared``, ``full`` and integer places, and a generated one. Their
    least cores take 3-8 rounds of constraint generation; under ``full`` (every coalition sees
    all capacity) random 0 and 58 have empty cores."""
    return [
        ("random 26", random_instance(26)),
        ("random 0 full", random_instance(0, policy={"baseline_capacity": "full"})),
        ("random 26 integer", random_instance(26, policy={"integer_places": True})),
        ("random 58 full", random_instance(58, policy={"baseline_capacity": "full"})),
        ("generated 7", generate_instance(7, 14, 3, 1, size_median=40)),
    ]


def allocations(game: Game) -> list[dict[str, float]]:
    """Equal shares, shares of the standalone costs, random shares (all summing to c(N))."""
    members, grand = game.members, game.grand
    singles = np.array([game((a,)) for a in members])
    weights = np.random.default_rng(0).random(len(members))
    return [dict(zip(members, np.full(len(members), grand / len(members)))),
            dict(zip(members, grand * singles / singles.sum())),
            dict(zip(members, grand * weights / weights.sum()))]


@pytest.mark.parametrize("name, instance", cases(), ids=[name for name, _ in cases()])
def test_separation_and_least_core_match_enumeration(name, instance):
    game = Game(instance)
    tolerance = 1e-6 * game.grand
    result = least_core(instance, game.members, game, solve)
    for allocation in allocations(game) + [result.allocation]:
        found = most_violated(instance, game.members, allocation, solve)
        violation, coalition = found.violation, found.coalition
        assert violation == pytest.approx(game.largest_excess(allocation), abs=tolerance)
        assert game.excess(allocation, coalition) == pytest.approx(violation, abs=tolerance)
    enumerated = least_core_by_enumeration(instance, game.members, game)
    assert result.epsilon == pytest.approx(enumerated.epsilon, abs=tolerance)
    assert game.largest_excess(result.allocation) == pytest.approx(result.epsilon,
                                                                   abs=tolerance)
    assert result.core_empty == enumerated.core_empty
    assert sum(result.allocation.values()) == pytest.approx(game.grand, abs=tolerance)


def test_with_y_fixed_the_separation_prices_every_coalition_at_c_of_s():
    """The proof's claim, checked directly: fixing y to a coalition's indicator, the
    separation MILP's optimum (allocation 0) is c(S), for all 30 coalitions of a 5-member
    instance with in-house provision shared, local targets, guarantees, concentration and
    contract costs."""
    instance = random_instance(164)
    game = Game(instance)
    separation = Separation(instance, game.members)
    program = separation.model.program
    index = list(program.blocks).index("member")
    for coalition in proper_coalitions(game.members):
        fixed = np.array([1.0 if a in coalition else 0.0 for a in game.members])
        program.lower[index], program.upper[index] = fixed, fixed.copy()
        found = separation.solve(dict.fromkeys(game.members, 0.0), solve)
        assert found.coalition == coalition
        assert found.cost == pytest.approx(game(coalition), abs=1e-6 * game.grand)


def test_random_allocations_on_a_random_instance():
    """Many allocations (not summing to c(N): the separation does not need it) on one model."""
    instance = random_instance(26, policy={"baseline_capacity": "full"})
    game = Game(instance)
    separation = Separation(instance, game.members)
    rng = random.Random(3)
    for _ in range(6):
        allocation = {a: rng.uniform(0, 1.5) * game((a,)) for a in game.members}
        found = separation.solve(allocation, solve)
        assert found.violation == pytest.approx(game.largest_excess(allocation),
                                                abs=1e-6 * game.grand)
        assert found.bound == pytest.approx(found.violation, abs=1e-6 * game.grand)


# -- small games ---------------------------------------------------------------------------


def test_two_members_and_one():
    instance = three_authorities(pair_providers=True)
    game = Game(instance)
    two = least_core(instance, ["A", "B"], game, solve)
    # c(A) = c(B) = 10,000 under the full instance's market; the pair sees 20 of P_AB: 14,000
    assert game(("A", "B")) == pytest.approx(14_000, abs=1e-6)
    assert two.epsilon == pytest.approx(-3_000, abs=1e-6)  # (14,000 - 20,000) / 2
    assert two.allocation == pytest.approx({"A": 7_000, "B": 7_000}, abs=1e-6)
    assert two.coalitions == 2
    one = least_core(instance, ["B"], game, solve)
    assert one.allocation == pytest.approx({"B": 10_000}) and not one.core_empty
    with pytest.raises(ValueError):
        Separation(instance, ["A"])
