"""Each constraint family of docs/model.md section 4 shown binding on a purpose-built tiny
instance.

Every instance has travel cost 0 and W = 52, so one place per year costs 52 x its weekly price;
each expected figure is that arithmetic, written out.
"""

from __future__ import annotations

import pytest

from optimiser.loading import load_instance
from optimiser.run import run
from optimiser.tables import authority_table, summary

W = 52


def offer(provider, price, capacity=100, placement_type="t"):
    return {"provider": provider, "placement_type": placement_type, "capacity": capacity,
            "weekly_price": price}


def build(make_instance, providers, offers, demand, tiers=None, authorities=None,
          km=None, types=("t",), emergency=1000, **policy):
    """A tiny instance: every (authority, provider) pair at ``km[(a, p)]`` (default 0)."""
    authorities = authorities or [{"id": a} for a in sorted({d[0] for d in demand})]
    km = km or {}
    tables = {
        "placement_types": [{"id": t, "emergency_weekly_price": emergency} for t in types],
        "authorities": authorities,
        "demand": [{"authority": a, "placement_type": t, "places": n} for a, t, n in demand],
        "providers": providers,
        "offers": offers,
        "distances": [{"authority": a["id"], "provider": p["id"],
                       "km": km.get((a["id"], p["id"]), 0)}
                      for a in authorities for p in providers],
    }
    if tiers:
        tables["tiers"] = tiers
    settings = {"travel_cost_per_km_year": 0, "individual_rationality": False,
                "mip_gap": 1e-9, **policy}
    return make_instance(tables, settings)


def solve(folder, **overrides):
    return run(load_instance(folder, {k: str(v) for k, v in overrides.items()}))


def places(outcome):
    arcs = outcome.plan.arcs
    used = arcs[arcs["places"] > 0]
    return {(a, p, t): x for a, p, t, x in zip(used["authority"], used["provider"],
                                                 used["placement_type"], used["places"])}


def test_demand_balance_unmet_places_are_bought_at_the_emergency_price(make_instance):
    folder = build(make_instance, [{"id": "P"}], [offer("P", 500, capacity=3)],
                   [("A", "t", 5)])
    outcome = solve(folder)
    assert places(outcome) == {("A", "P", "t"): 3}
    assert outcome.plan.needs["unmet"].sum() == pytest.approx(2)
    assert outcome.plan.total_cost == pytest.approx(3 * W * 500 + 2 * W * 1000)  # 182,000


def test_capacity_of_an_offer_binds(make_instance):
    folder = build(make_instance, [{"id": "P1"}, {"id": "P2"}],
                   [offer("P1", 500, capacity=3), offer("P2", 700)], [("A", "t", 5)])
    outcome = solve(folder)
    assert places(outcome) == {("A", "P1", "t"): 3, ("A", "P2", "t"): 2}
    assert outcome.plan.total_cost == pytest.approx(3 * W * 500 + 2 * W * 700)  # 150,800


def test_max_places_of_a_provider_binds_across_types(make_instance):
    folder = build(make_instance, [{"id": "P1", "max_places": 4}, {"id": "P2"}],
                   [offer("P1", 500), offer("P1", 500, placement_type="u"),
                    offer("P2", 700), offer("P2", 700, placement_type="u")],
                   [("A", "t", 3), ("A", "u", 3)], types=("t", "u"))
    outcome = solve(folder)
    p1 = sum(x for (a, p, t), x in places(outcome).items() if p == "P1")
    assert p1 == pytest.approx(4)
    assert outcome.plan.total_cost == pytest.approx(4 * W * 500 + 2 * W * 700)  # 176,800


@pytest.mark.parametrize("demand, chosen, cost", [
    (2, "P2", 2 * W * 600),                    # 62,400 < 2 x 26,000 + 100,000
    (30, "P1", 30 * W * 500 + 100_000),        # 880,000 < 30 x 31,200 = 936,000
])
def test_contract_cost_is_paid_only_when_worth_it(make_instance, demand, chosen, cost):
    folder = build(make_instance, [{"id": "P1", "contract_cost_year": 100_000}, {"id": "P2"}],
                   [offer("P1", 500), offer("P2", 600)], [("A", "t", demand)])
    outcome = solve(folder)
    assert {p for (_, p, _) in places(outcome)} == {chosen}
    assert outcome.plan.contracted == {chosen}
    assert outcome.plan.total_cost == pytest.approx(cost)


@pytest.mark.parametrize("demand, chosen", [(6, "P2"), (12, "P1")])
def test_provider_min_places_if_used_at_all(make_instance, demand, chosen):
    folder = build(make_instance, [{"id": "P1", "min_places": 10}, {"id": "P2"}],
                   [offer("P1", 500), offer("P2", 600)], [("A", "t", demand)])
    outcome = solve(folder)
    assert {p for (_, p, _) in places(outcome)} == {chosen}
    price = 500 if chosen == "P1" else 600
    assert outcome.plan.total_cost == pytest.approx(demand * W * price)


@pytest.mark.parametrize("demand, chosen, cost", [
    (10, "P1", 10 * W * 1000 * 0.8),   # tier reached: 416,000 < 10 x 52 x 900 = 468,000
    (8, "P2", 8 * W * 900),            # 8 < 10: no tier, P2 cheaper: 374,400
])
def test_plain_tier_needs_the_volume_itself(make_instance, demand, chosen, cost):
    folder = build(make_instance, [{"id": "P1"}, {"id": "P2"}],
                   [offer("P1", 1000), offer("P2", 900)], [("A", "t", demand)],
                   tiers=[{"provider": "P1", "min_places": 10, "discount_pct": 20}])
    outcome = solve(folder)
    assert {p for (_, p, _) in places(outcome)} == {chosen}
    assert outcome.plan.total_cost == pytest.approx(cost)


def test_guarantee_tier_pays_for_void_places(make_instance):
    # 10 used + 1 void at 52 x 1000 x 0.8 = 11 x 41,600 = 457,600 < 10 x 52 x 900 = 468,000
    folder = build(make_instance, [{"id": "P1"}, {"id": "P2"}],
                   [offer("P1", 1000), offer("P2", 900)], [("A", "t", 10)],
                   tiers=[{"provider": "P1", "min_places": 11, "discount_pct": 20,
                           "guarantee": True}])
    outcome = solve(folder)
    assert places(outcome) == {("A", "P1", "t"): 10}
    (tier,) = outcome.plan.tiers.itertuples()
    assert tier.void == pytest.approx(1)
    assert tier.void_cost == pytest.approx(W * 1000 * 0.8)
    assert outcome.plan.total_cost == pytest.approx(11 * W * 1000 * 0.8)


def test_discount_applies_to_each_members_places_in_scope_only(make_instance):
    """Tier scoped to type t at P1: 10 places of t between A (6) and B (4) unlock 20% off;
    A's 2 places of type u at P1 are outside the scope and pay list price."""
    folder = build(make_instance, [{"id": "P1"}, {"id": "P2"}],
                   [offer("P1", 1000), offer("P1", 1000, placement_type="u"),
                    offer("P2", 1100), offer("P2", 1100, placement_type="u")],
                   [("A", "t", 6), ("B", "t", 4), ("A", "u", 2)], types=("t", "u"),
                   tiers=[{"provider": "P1", "placement_type": "t", "min_places": 10,
                           "discount_pct": 20}])
    outcome = solve(folder)
    cost = outcome.plan.member_cost
    assert cost["A"] == pytest.approx(6 * W * 800 + 2 * W * 1000)  # 353,600
    assert cost["B"] == pytest.approx(4 * W * 800)  # 166,400


@pytest.mark.parametrize("penalty, local_places", [(10_000, 0), (20_000, 5)])
def test_locality_target_against_the_shortfall_penalty(make_instance, penalty, local_places):
    """Target 50% local. A local place costs 52 x 300 = 15,600 a year more than a distant one:
    worth buying only when the penalty per place short exceeds that."""
    folder = build(make_instance, [{"id": "L"}, {"id": "F"}],
                   [offer("L", 1100), offer("F", 800)], [("A", "t", 10)],
                   authorities=[{"id": "A", "min_local_share": 0.5}],
                   km={("A", "L"): 10, ("A", "F"): 100},
                   local_shortfall_penalty_year=penalty)
    outcome = solve(folder)
    assert places(outcome).get(("A", "L", "t"), 0) == pytest.approx(local_places)
    short = 5 - local_places
    cost = local_places * W * 1100 + (10 - local_places) * W * 800
    assert outcome.plan.total_cost == pytest.approx(cost)
    assert outcome.plan.result.objective == pytest.approx(cost + short * penalty)
    report = summary(outcome, authority_table(outcome))
    assert report["penalties"]["local_shortfall_places"] == pytest.approx(short)


def test_concentration_caps_independent_providers_not_in_house(make_instance):
    providers = [{"id": "P1"}, {"id": "P2", "kind": "voluntary"},
                 {"id": "H", "kind": "in_house", "owner": "A"}]
    folder = build(make_instance, providers,
                   [offer("P1", 500), offer("P2", 700), offer("H", 900)],
                   [("A", "t", 10)], max_provider_share=0.6)
    outcome = solve(folder)
    assert places(outcome) == {("A", "P1", "t"): 6, ("A", "P2", "t"): 4}
    assert outcome.plan.total_cost == pytest.approx(6 * W * 500 + 4 * W * 700)  # 301,600
    in_house_cheapest = build(make_instance, providers,
                              [offer("P1", 500), offer("P2", 700), offer("H", 400)],
                              [("A", "t", 10)], max_provider_share=0.6)
    assert places(solve(in_house_cheapest)) == {("A", "H", "t"): 10}


def _rationality_instance(make_instance):
    """P1 (500/wk, 10 places) is next to both; P2 (1000/wk) is next to B but 400 km from A
    (travel 50/km/yr: +20,000 a year for A). Emergency places (5,000/wk) are never worth it."""
    return build(make_instance, [{"id": "P1"}, {"id": "P2"}],
                 [offer("P1", 500, capacity=10), offer("P2", 1000)],
                 [("A", "t", 10), ("B", "t", 10)], km={("A", "P2"): 400},
                 emergency=5000, travel_cost_per_km_year=50)


def test_individual_rationality_binds(make_instance):
    """Alone (shared capacity) each sees 5 of P1's 10 places:
    B_A = 5 x 26,000 + 5 x (52,000 + 20,000) = 490,000; B_B = 5 x 26,000 + 5 x 52,000 = 390,000.
    Without the rule, all of P1 goes to A (it saves A 46,000 a place, B only 26,000):
    A 260,000, B 520,000, total 780,000: B pays 130,000 more than alone.
    With it, B must keep k >= 5 of P1's places; the total 780,000 + 20,000 k is least at k = 5:
    A 490,000, B 390,000, total 880,000, so the price of fairness is 100,000."""
    folder = _rationality_instance(make_instance)
    free = solve(folder)
    assert free.plan.member_cost == pytest.approx({"A": 260_000, "B": 520_000})
    fair = solve(folder, individual_rationality="true")
    assert fair.standalone.cost == pytest.approx({"A": 490_000, "B": 390_000})
    assert fair.plan.member_cost == pytest.approx({"A": 490_000, "B": 390_000})
    report = summary(fair, authority_table(fair))
    assert report["fairness"]["price_of_fairness"] == pytest.approx(100_000)
    assert report["fairness"]["price_of_fairness_pct"] == pytest.approx(100 * 100_000 / 780_000)
    assert report["not_kept_whole"] == []


def test_rating_below_minimum_and_foreign_in_house_are_not_used(make_instance):
    providers = [{"id": "Bad", "rating": "inadequate"},
                 {"id": "H", "kind": "in_house", "owner": "B"}, {"id": "P"}]
    folder = build(make_instance, providers,
                   [offer("Bad", 100), offer("H", 200), offer("P", 900)],
                   [("A", "t", 4), ("B", "t", 1)])
    assert places(solve(folder)) == {("A", "P", "t"): 4, ("B", "H", "t"): 1}
    shared = solve(folder, share_in_house="true", min_rating="inadequate")
    assert places(shared) == {("A", "Bad", "t"): 4, ("B", "Bad", "t"): 1}


def test_substitution_lets_a_need_step_up(make_instance):
    tables_folder = build(make_instance, [{"id": "P"}],
                          [offer("P", 900, capacity=3, placement_type="u")],
                          [("A", "t", 2)], types=("t", "u"))
    assert places(solve(tables_folder)) == {}  # no substitution: all unmet at 1000/wk
    (tables_folder / "substitutions.csv").write_text("need,served_by\nt,u\n")
    manifest = (tables_folder / "instance.yaml").read_text()
    (tables_folder / "instance.yaml").write_text(
        manifest.replace("tables:\n", "tables:\n  substitutions: substitutions.csv\n"))
    outcome = solve(tables_folder)
    assert places(outcome) == {("A", "P", "u"): 2}
    assert outcome.plan.total_cost == pytest.approx(2 * W * 900)


def test_voices_on_the_example():
    """maxmin maximises the smallest saving share theta* (no plan gives every member more);
    every voice costs at least the volume optimum; each member under maxmin saves >= theta*."""
    from conftest import EXAMPLE

    outcomes = {v: run(load_instance(EXAMPLE, {"voice": v, "mip_gap": "1e-9"}))
                for v in ("volume", "equal", "maxmin")}

    def saving_shares(outcome):
        return {a: (outcome.standalone.cost[a] - c) / outcome.standalone.cost[a]
                for a, c in outcome.plan.member_cost.items()}

    theta = min(saving_shares(outcomes["maxmin"]).values())
    for voice, outcome in outcomes.items():
        assert min(saving_shares(outcome).values()) <= theta + 1e-6, voice
        assert outcome.plan.total_cost >= outcomes["volume"].plan.total_cost - 0.01
        assert outcome.reference_cost == pytest.approx(3_456_060, abs=0.01)
    # on the example maxmin lifts the smallest saving from 4.53% (Westby) to 4.86%
    assert theta > min(saving_shares(outcomes["volume"]).values()) + 0.003


def test_a_coalition_without_the_owner_sees_none_of_its_in_house_provision(make_instance):
    """A owns H (10 places, 1000/wk); Y charges 2000/wk; A and B need 10 places each, and
    in-house provision may be shared. Alone, A has all of H: B_A = 10 x 52,000 = 520,000;
    B has none of it (it is A's, and A is not in B's coalition): B_B = 10 x 104,000 = 1,040,000.
    Together the plan can only match those, so nobody is left worse off than alone. (Scaling H
    by B's demand share would have given B_B = 5 x 52,000 + 5 x 104,000 = 780,000, an
    'alone' plan that takes 5 of A's places, and reported A as not kept whole.)"""
    folder = build(make_instance, [{"id": "H", "kind": "in_house", "owner": "A"}, {"id": "Y"}],
                   [offer("H", 1000, capacity=10), offer("Y", 2000)],
                   [("A", "t", 10), ("B", "t", 10)], emergency=5000,
                   share_in_house="true", individual_rationality="true")
    outcome = solve(folder)
    assert outcome.standalone.cost == pytest.approx({"A": 520_000, "B": 1_040_000})
    assert outcome.plan.member_cost == pytest.approx({"A": 520_000, "B": 1_040_000})
    assert summary(outcome, authority_table(outcome))["not_kept_whole"] == []
