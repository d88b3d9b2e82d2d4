"""`optimise compare`: the cost game's oracles worked by hand, Shapley exact and sampled, the
core check, voice risk, the executors (local pool, Dask) and the command end to end.

**The empty-core oracle** (the issue's example). Three authorities A, B, C each need 10
foster places. One week a year (``weeks_per_year: 1``, so £ a year = £ a week), no travel or
case-management cost. Block provider K offers 20 places at £1,000 with a 30% tier at 20 places
(£700 a place); a spot provider S offers 100 places at £1,000. Capacity rule ``full``: every
coalition sees all of it (docs/model.md section 5). Then

    c({a})  = 10 x 1,000                 = 10,000   (10 places cannot reach K's tier)
    c(pair) = 20 x 700                   = 14,000   (K's tier, K full)
    c(N)    = 20 x 700 + 10 x 1,000      = 24,000   (K has only 20 places)

Shapley (cost game), by symmetry: 24,000 / 3 = 8,000 each; savings game: 10,000 - 8,000 =
2,000 each. Core: x_a + x_b <= 14,000 for the three pairs sums to 2 x 24,000 <= 42,000: false,
so the core is empty. Least core: x_a + x_b <= 14,000 + eps with x(N) = 24,000 gives
x_c >= 10,000 - eps for every c, so 24,000 >= 30,000 - 3 eps: eps = 2,000 and x = (8,000 x 3).
Marginal value c(N - a) - c(N) = 14,000 - 24,000 = -10,000; marginal saving 10,000 - 10,000 = 0.

Why not ``shared`` here: under ``shared`` a coalition with a third of the demand sees a third of
every capacity, so a coalition of identical members can always scale a smaller coalition's plan
up (the same tiers reached, the same fixed costs): c(S)/|S| never rises with |S|. With c(pair) =
14,000 that caps c(N) at 21,000, and 24,000 is out of reach.

**The non-empty-core oracle**, under ``shared`` (the default). K offers 30 places at £1,000 with
tiers 30% at 20 places and 40% at 30 places; S offers 100 at £1,000. A single authority sees
10 of K's places, a pair 20, all three 30:

    c({a})  = 10 x 1,000 = 10,000;  c(pair) = 20 x 700 = 14,000;  c(N) = 30 x 600 = 18,000

Shapley 6,000 each (saving 4,000). Least core: pairs 12,000 <= 14,000 + eps and singles 6,000 <=
10,000 + eps: eps = -2,000 (the core is non-empty) at x = (6,000 x 3). The plan pays each
member 6,000 (one price for all 30 places), so no coalition blocks it: the most violated
coalition is a pair, excess 12,000 - 14,000 = -2,000.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main
from optimiser import executor as executor_module
from optimiser.compare import (
    COMPARE_CSV,
    CORE_JSON,
    MEMBERS_CSV,
    SHAPLEY_CSV,
    CoalitionCache,
    all_coalitions,
    choose_memberships,
    compare,
    compare_files,
    exact_shapley,
    need_distance,
    shapley_parts,
    solver_margin,
)
from optimiser.errors import InputError
from optimiser.executor import TaskPool, map_tasks
from optimiser.generate import generate_instance
from optimiser.loading import load_instance
from optimiser.shapley import block_means, block_orders, estimate, order_parts

AUTHORITIES = [{"id": a, "name": a, "lat": 53.0, "lon": -2.0} for a in ("A", "B", "C")]
PROVIDERS = [{"id": p, "kind": "independent", "rating": "good", "lat": 53.0, "lon": -2.0}
             for p in ("K", "S")]
DEMAND = [{"authority": a, "placement_type": "foster_standard", "places": 10}
          for a in ("A", "B", "C")]
TYPES = [{"id": "foster_standard", "emergency_weekly_price": 5000}]
POLICY = {"weeks_per_year": 1, "travel_cost_per_km_year": 0, "mip_gap": 0}

EMPTY_CORE = {
    "placement_types": TYPES, "authorities": AUTHORITIES, "demand": DEMAND,
    "providers": PROVIDERS,
    "offers": [
        {"provider": "K", "placement_type": "foster_standard", "capacity": 20,
         "weekly_price": 1000},
        {"provider": "S", "placement_type": "foster_standard", "capacity": 100,
         "weekly_price": 1000},
    ],
    "tiers": [{"provider": "K", "placement_type": None, "min_places": 20, "discount_pct": 30}],
    "consortia": [{"consortium": "All three", "authority": a} for a in ("A", "B", "C")],
}
NON_EMPTY_CORE = {
    **EMPTY_CORE,
    "offers": [
        {"provider": "K", "placement_type": "foster_standard", "capacity": 30,
         "weekly_price": 1000},
        {"provider": "S", "placement_type": "foster_standard", "capacity": 100,
         "weekly_price": 1000},
    ],
    "tiers": [{"provider": "K", "placement_type": None, "min_places": 20, "discount_pct": 30},
              {"provider": "K", "placement_type": None, "min_places": 30, "discount_pct": 40}],
}


@pytest.fixture
def empty_core(make_instance):
    return load_instance(make_instance(EMPTY_CORE, {**POLICY, "baseline_capacity": "full"},
                                       name="empty core"))


@pytest.fixture
def non_empty_core(make_instance):
    return load_instance(make_instance(NON_EMPTY_CORE, POLICY, name="non-empty core"))


def game_of(outcome, name):
    return next(g for g in outcome.games if g.membership.name == name)


def stable(files: dict[str, str]) -> dict[str, object]:
    """The files without wall-clock times and the executor's description."""
    core = json.loads(files[CORE_JSON])
    for key in ("seconds", "executor", "workers"):
        core.pop(key)
    for entry in core["consortia"]:
        entry.pop("shapley_seconds")
        entry.pop("core_seconds")
    return {**{k: v for k, v in files.items() if k != CORE_JSON}, CORE_JSON: core}


# --------------------------------------------------------------------------- the oracles

def test_empty_core_oracle(empty_core):
    outcome = compare(empty_core, workers=1)
    game = game_of(outcome, "All three")
    with TaskPool(1, shared=empty_core) as pool:
        cache = CoalitionCache(empty_core, pool)
        assert cache.costs([("A",), ("B",), ("C",)]) == pytest.approx([10_000] * 3)
        assert cache.costs([("A", "B"), ("A", "C"), ("B", "C")]) == pytest.approx([14_000] * 3)
        assert cache.cost(("A", "B", "C")) == pytest.approx(24_000)
    assert game.method == "exact" and game.std_error is None
    assert game.shapley == pytest.approx({a: 8_000 for a in "ABC"})
    assert game.marginal == pytest.approx({a: -10_000 for a in "ABC"})
    core = game.core
    assert core.core_empty and core.epsilon == pytest.approx(2_000)
    assert core.allocation == pytest.approx({a: 8_000 for a in "ABC"})
    # any split of 24,000 leaves some pair paying at least 16,000 > 14,000: the plan is blocked
    assert len(game.blocking) == 2 and game.blocking_excess >= 2_000 - 1e-6
    summary = json.loads(compare_files(outcome)[CORE_JSON])["consortia"][0]
    assert summary["core_empty"] and summary["plan_blocked"]
    assert summary["epsilon"] == pytest.approx(2_000)


def test_non_empty_core_oracle(non_empty_core):
    outcome = compare(non_empty_core, workers=1)
    game = game_of(outcome, "All three")
    assert game.grand == pytest.approx(18_000)
    assert game.alone == pytest.approx({a: 10_000 for a in "ABC"})
    assert game.shapley == pytest.approx({a: 6_000 for a in "ABC"})
    assert game.marginal == pytest.approx({a: 14_000 - 18_000 for a in "ABC"})
    assert not game.core.core_empty and game.core.epsilon == pytest.approx(-2_000)
    allocation = game.core.allocation
    assert sum(allocation.values()) == pytest.approx(18_000)
    for coalition in all_coalitions(game.members)[:-1]:  # every proper coalition
        c = 10_000 if len(coalition) == 1 else 14_000
        assert sum(allocation[a] for a in coalition) <= c + 1e-6  # a core allocation
    assert len(game.blocking) == 2 and game.blocking_excess == pytest.approx(-2_000)
    shapley = compare_files(outcome)[SHAPLEY_CSV].splitlines()
    assert shapley[1].startswith("All three,A,A,10000.0,6000.0,4000.0,,exact,,-4000.0,6000.0,"
                                 "6000.0,6000.0,4000.0")


def test_exact_shapley_of_a_hand_game():
    # c({1}) = 4, c({2}) = 6, c({1,2}) = 8: phi_1 = (4 + 8 - 6) / 2 = 3, phi_2 = (6 + 8 - 4) / 2
    assert exact_shapley(("1", "2"), [4, 6, 8]) == pytest.approx([3, 5])


def test_the_solver_margin_of_a_hand_game():
    """Gaps g({1}) = 0.4, g({2}) = 0.6, g({1,2}) = 0.8: saving_1 = c1 - phi_1 =
    (c1 + c2 - c12) / 2 moves by (e1 + e2 - e12) / 2, between -0.4 and 0.5; so does saving_2."""
    gaps = [0.4, 0.6, 0.8]
    joined, before = shapley_parts(("1", "2"), gaps)
    assert joined == pytest.approx([0.6, 0.7]) and before == pytest.approx([0.3, 0.2])
    assert solver_margin(joined, before, np.array([0.4, 0.6])) == pytest.approx([0.5, 0.5])


def test_the_solver_margin_is_the_worst_case_over_every_value_within_its_gap():
    """Three members: every corner of the box c(S) - g(S) <= true c(S) <= c(S) (the saving
    is linear in the values, so its extremes are at corners) moves each saving by at most
    the margin, and some corner reaches it."""
    members = ("1", "2", "3")
    costs = np.array([5.0, 7.0, 10.0, 4.0, 8.0, 9.0, 13.0])  # all_coalitions order
    gaps = np.array([0.5, 0.2, 0.3, 0.1, 0.4, 0.6, 0.7])
    alone_at = [0, 1, 3]  # masks 1, 2, 4 - 1
    saving = costs[alone_at] - exact_shapley(members, costs)
    worst = np.zeros(3)
    for corner in itertools.product((0.0, 1.0), repeat=7):
        true = costs - gaps * np.array(corner)
        moved = saving - (true[alone_at] - exact_shapley(members, true))
        worst = np.maximum(worst, np.abs(moved))
    margin = solver_margin(*shapley_parts(members, gaps), gaps[alone_at])
    assert margin == pytest.approx(worst)


def permutations(n: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` independent orders: the ``permutation`` estimator's blocks 0..count-1."""
    return [block_orders(n, k, seed, "permutation")[0] for k in range(count)]


def sampled_shapley(members, orders, cost) -> tuple[np.ndarray, np.ndarray]:
    """Mean marginal cost over independent orders and its standard error (one order a
    block: ``optimiser.shapley.estimate``)."""
    found = estimate([block_means(members, [order], cost) for order in orders], 1)
    return found.phi, found.std_error


def test_permutations_depend_only_on_seed_and_index():
    first, more = permutations(10, 5, 7), permutations(10, 20, 7)
    assert all((a == b).all() for a, b in zip(first, more))
    assert not all((a == b).all() for a, b in zip(first, permutations(10, 5, 8)))


@pytest.fixture(scope="module")
def ten():
    """A generated 10-member instance and c(S) of all its 1,023 coalitions (2 processes)."""
    instance = generate_instance(10, 8, 1, 1)
    members = tuple(instance.authorities)
    with TaskPool(2, shared=instance) as pool:
        cache = CoalitionCache(instance, pool)
        cache.within = members  # the engine compare() values them with
        costs = cache.costs(all_coalitions(members))
    return instance, members, cache, costs


def test_sampled_shapley_converges_to_the_exact_one(ten):
    _instance, members, cache, costs = ten
    exact = exact_shapley(members, costs)
    assert exact.sum() == pytest.approx(costs[-1])  # efficiency
    estimate, error = sampled_shapley(members, permutations(10, 200, 0), cache.known)
    assert estimate.sum() == pytest.approx(costs[-1])  # efficiency holds per order
    assert (error > 0).all()
    assert (np.abs(estimate - exact) <= 3 * error).all()
    # more orders, smaller errors
    _, fewer = sampled_shapley(members, permutations(10, 50, 0), cache.known)
    assert error.mean() < fewer.mean()


def test_compare_beyond_exact_max_samples_with_standard_errors(ten, monkeypatch):
    instance, members, cache, _ = ten
    outcome = compare(instance, ad_hoc=[f"ten={','.join(members)}"], exact_max=4, samples=12,
                      seed=3, workers=2)
    game = game_of(outcome, "ten")
    # 12 orders round up to two whole blocks of the 10 rotations of one order and its reverse
    assert game.method == "sampled" and game.samples == 40
    assert game.estimator == "rotation-antithetic"
    assert set(game.std_error) == set(members)
    assert sum(game.shapley.values()) == pytest.approx(game.grand)
    blocks = [block_orders(10, k, 3) for k in range(2)]
    means = np.array([block_means(members, b, cache.known) for b in blocks])
    assert [game.shapley[a] for a in members] == pytest.approx(list(means.mean(axis=0)))
    error = means.std(axis=0, ddof=1) / np.sqrt(2)
    assert [game.std_error[a] for a in members] == pytest.approx(list(error))
    # two blocks: Student's t with one degree of freedom, 12.71 standard errors
    assert [game.half_width[a] for a in members] == pytest.approx(list(12.7062 * error),
                                                                  rel=1e-4)
    table = compare_files(outcome)[SHAPLEY_CSV]
    assert ",sampled,40," in table
    # the solver's margin estimated over the same 40 orders from each value's own gap
    gap = {k: abs(v.cost) * (v.gap or 0.0) for k, v in cache.values.items()}
    orders = [o for b in blocks for o in b]
    joined, before = order_parts(members, orders, lambda c: gap[c] if c else 0.0)
    expected = solver_margin(joined, before, np.array([gap[(a,)] for a in members]))
    assert [game.solver_margin[a] for a in members] == pytest.approx(list(expected))
    assert expected.max() > 0  # MILP values proven to a gap, not to the penny


# --------------------------------------------------------------------------- memberships

def test_memberships_named_ad_hoc_and_alone():
    instance = load_instance(EXAMPLE)
    chosen = choose_memberships(instance)
    assert [m.name for m in chosen] == ["Whole region", "North pair", "Northtown alone",
                                        "Easton alone", "Westby alone", "Smallham alone"]
    chosen = choose_memberships(instance, ad_hoc=["South=A3,A4"])
    assert [(m.name, m.kind, m.members) for m in chosen] == [
        ("South", "ad-hoc", ("A3", "A4")), ("Westby alone", "alone", ("A3",)),
        ("Smallham alone", "alone", ("A4",))]
    for bad, message in [(["x"], "NAME=a,b,c"), (["S=A1,ZZ"], "unknown authorities"),
                         (["S=A1,A1"], "listed twice"),
                         (["North pair=A1,A2"], "used twice")]:
        with pytest.raises(InputError, match=message):
            choose_memberships(instance, ["North pair"], bad)
    with pytest.raises(InputError, match="unknown consortium"):
        choose_memberships(instance, ["Nowhere"])


def test_voice_risk_and_member_figures():
    instance = load_instance(EXAMPLE)
    outcome = compare(instance, workers=1)
    members = [line.split(",") for line in
               compare_files(outcome)[MEMBERS_CSV].splitlines()]
    header, rows = members[0], [dict(zip(members[0], r)) for r in members[1:]]
    assert header[:3] == ["membership", "kind", "authority"]
    pair = {r["authority"]: r for r in rows if r["membership"] == "North pair"}
    # North pair saves 5.37%; Northtown's 2.05% is below half of it, Easton's 13.3% is not
    assert pair["A1"]["flags"] == "low_saving" and pair["A2"]["flags"] == ""
    assert pair["A2"]["saving_pct_rank"] == "1" and pair["A1"]["saving_pct_rank"] == "2"
    # each member's figures alone appear as their own memberships, saving nothing
    alone = [r for r in rows if r["kind"] == "alone"]
    assert len(alone) == 4 and all(float(r["saving"]) == 0 for r in alone)
    # need mix: Smallham's demand is 3 standard + 1 specialist foster (see the example)
    assert need_distance(instance, "A4", ("A4",)) == 0
    assert 0 < need_distance(instance, "A4", ("A1", "A2", "A3", "A4")) < 1


# --------------------------------------------------------------------------- executors

def _square(shared, x):
    return shared * x * x


def test_map_tasks_returns_results_in_task_order():
    seen = []
    assert map_tasks(_square, [(i,) for i in range(7)], workers=2, shared=3,
                     progress=seen.append) == [3 * i * i for i in range(7)]
    assert sorted(seen) == list(range(7))
    assert map_tasks(_square, [(i,) for i in range(3)], workers=1, shared=1) == [0, 1, 4]


def test_local_pool_with_two_workers_equals_one():
    instance = load_instance(EXAMPLE)
    one = compare_files(compare(instance, workers=1))
    two = compare_files(compare(instance, workers=2))
    assert stable(one) == stable(two)


def test_dask_cluster_gives_the_local_pool_results():
    distributed = pytest.importorskip("distributed")
    instance = load_instance(EXAMPLE)
    local = compare_files(compare(instance, workers=2))
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        remote = compare_files(compare(instance, workers=2, executor="dask",
                                       address=cluster.scheduler_address))
    assert stable(remote) == stable(local)
    assert json.loads(remote[CORE_JSON])["executor"].startswith("dask (tcp://")


def test_executor_errors_are_input_errors(monkeypatch):
    with pytest.raises(InputError, match="--executor dask"):
        TaskPool(1, "local", "tcp://127.0.0.1:1")
    with pytest.raises(InputError, match="unknown executor"):
        TaskPool(1, "ray")
    monkeypatch.setattr(executor_module, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        TaskPool(1, "dask", "tcp://127.0.0.1:1")


def test_missing_dask_is_an_input_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(InputError, match=r"optimise\[dask\]"):
        TaskPool(1, "dask")


# --------------------------------------------------------------------------- the command

def test_cli_end_to_end_on_the_example(tmp_path):
    out = tmp_path / "compare"
    result = CliRunner().invoke(main, ["compare", str(EXAMPLE), "--out", str(out),
                                       "--workers", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".optimise-results", COMPARE_CSV, MEMBERS_CSV, SHAPLEY_CSV, CORE_JSON, "report.html",
         "report.xlsx"])
    assert "Whole region" in result.output and "least-core epsilon" in result.output
    compare_rows = (out / COMPARE_CSV).read_text(encoding="utf-8").splitlines()
    assert compare_rows[0].startswith("membership,kind,members,size")
    assert len(compare_rows) == 1 + 6
    result = CliRunner().invoke(main, ["compare", str(EXAMPLE), "--out", str(out), "--json",
                                       "--consortium", "North pair", "--members",
                                       "South=A3,A4", "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    core = json.loads(result.output)
    assert [c["consortium"] for c in core["consortia"]] == ["North pair", "South"]


@pytest.mark.parametrize("args, message", [
    (["--consortium", "Nowhere"], "unknown consortium"),
    (["--members", "A1,A2"], "NAME=a,b,c"),
    (["--exact-max", "30"], "--exact-max"),
    (["--samples", "0"], "--samples"),
    (["--address", "tcp://127.0.0.1:1"], "--executor dask"),
])
def test_cli_bad_options_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(main, ["compare", str(EXAMPLE), "--out",
                                       str(tmp_path / "out"), "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()
