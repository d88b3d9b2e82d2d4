"""Sampled Shapley estimators (``optimiser.shapley``) on a synthetic cost game: unbiased,
efficient per block, stratified by size (rotations), stopping at a precision or a deadline;
and ``--precision`` / ``--time-limit-total`` as a user sees them."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from conftest import EXAMPLE, run_optimise

from optimiser.compare import all_coalitions, exact_shapley
from optimiser.shapley import (
    ESTIMATORS,
    Precision,
    block_means,
    block_orders,
    half_width_words,
    parse_precision,
    rotations_per_block,
    sample,
)

MEMBERS = tuple("ABCDEFG")
SIZE = dict(zip(MEMBERS, (5.0, 9.0, 2.0, 14.0, 7.0, 3.0, 11.0)))


def cost(coalition) -> float:
    """A concave cost with a fixed charge and a pairwise clash, so marginals vary with size
    and with who is already in."""
    if not coalition:
        return 0.0
    volume = sum(SIZE[a] for a in coalition)
    clash = 4.0 * (("A" in coalition) and ("D" in coalition))
    return 30.0 + 10.0 * volume ** 0.8 + clash


EXACT = exact_shapley(MEMBERS, [cost(s) for s in all_coalitions(MEMBERS)])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_block_is_efficient_and_the_mean_over_seeds_is_unbiased(estimator):
    means = []
    for seed in range(400):
        block = block_means(MEMBERS, block_orders(len(MEMBERS), 0, seed, estimator), cost)
        assert block.sum() == pytest.approx(cost(MEMBERS))  # efficiency per block
        means.append(block)
    means = np.array(means)
    spread = means.std(axis=0, ddof=1) / np.sqrt(len(means))
    assert (np.abs(means.mean(axis=0) - EXACT) <= 4 * spread + 1e-9).all()


@pytest.mark.parametrize("estimator", ["rotation", "rotation-antithetic"])
@pytest.mark.parametrize("rotations", [1, 2, 3])
def test_a_block_of_some_rotations_is_efficient_and_unbiased(estimator, rotations):
    """m of the 7 rotations (what a block takes beyond 11 members): every order is still a
    uniformly random one, so the block mean is unbiased and sums to c(N)."""
    means = []
    for seed in range(400):
        orders = block_orders(len(MEMBERS), 0, seed, estimator, rotations)
        assert len(orders) == rotations * (2 if estimator.endswith("antithetic") else 1)
        block = block_means(MEMBERS, orders, cost)
        assert block.sum() == pytest.approx(cost(MEMBERS))
        means.append(block)
    means = np.array(means)
    spread = means.std(axis=0, ddof=1) / np.sqrt(len(means))
    assert (np.abs(means.mean(axis=0) - EXACT) <= 4 * spread + 1e-9).all()


def test_beyond_eleven_members_a_block_takes_evenly_spaced_rotations():
    # all n rotations while their n(n - 1) windows fit 120 values; then 120 // (2(n - 1))
    assert [rotations_per_block(n) for n in (2, 10, 11, 12, 24, 61, 62)] == \
        [2, 10, 11, 5, 2, 1, 1]
    orders = block_orders(24, 0, 4)
    assert len(orders) == 4  # 2 rotations and their reverses
    first = orders[0]
    assert np.array_equal(orders[1], np.roll(first, -12))  # spaced half the order apart
    assert np.array_equal(orders[2], first[::-1])
    members = tuple(f"M{i:02d}" for i in range(24))
    from optimiser.shapley import block_coalitions
    assert len(block_coalitions(members, orders)) <= 2 * 2 * 23


def test_a_rotation_block_holds_each_member_once_at_every_position():
    orders = block_orders(7, 0, 11, "rotation")
    positions = np.array([np.argsort(order) for order in orders])  # member -> position
    assert all(sorted(column) == list(range(7)) for column in positions.T)
    # so sizes 0 and n - 1 are always in: with two members the estimate is exact
    two = block_means(("A", "B"), block_orders(2, 0, 5, "rotation"), cost)
    assert two == pytest.approx(exact_shapley(("A", "B"), [cost(("A",)), cost(("B",)),
                                                           cost(("A", "B"))]))


def test_rotations_beat_independent_orders_at_equal_orders():
    """Mean squared error over 200 seeds, 4 blocks of 7 rotations against 28 orders, and
    with their reverses (the same coalitions) against 56."""
    def mse(estimator, blocks):
        errors = []
        for seed in range(200):
            found = np.mean([block_means(MEMBERS, block_orders(7, k, seed, estimator), cost)
                             for k in range(blocks)], axis=0)
            errors.append(np.square(found - EXACT).mean())
        return float(np.mean(errors))
    assert mse("rotation", 4) < 0.5 * mse("permutation", 28)
    assert mse("rotation-antithetic", 4) < 0.5 * mse("permutation", 56)


def test_sampling_stops_at_the_precision_or_the_deadline():
    valued = []

    def ensure(coalitions):
        valued.extend(coalitions)

    loose = sample(MEMBERS, ensure, cost, orders=7, seed=0, precision=Precision(pounds=50.0))
    assert loose.stopped == "precision" and loose.estimate.blocks == 2
    assert (loose.estimate.half_width <= 50.0).all()
    tight = sample(MEMBERS, ensure, cost, orders=7, seed=0, precision=Precision(share=0.0001),
                   deadline=time.monotonic())
    assert tight.stopped == "time limit" and tight.estimate.blocks == 2
    fixed = sample(MEMBERS, ensure, cost, orders=30, seed=0)
    # blocks of 14: the 7 rotations of an order and of its reverse
    assert fixed.stopped == "samples" and fixed.estimate.orders == 42
    # the first two blocks are the same draws whichever rule stops sampling
    assert fixed.estimate.phi.shape == (7,)
    assert set(valued) <= set(itertools.chain.from_iterable(
        itertools.combinations(MEMBERS, k) for k in range(1, 8)))


def test_precision_words():
    assert parse_precision("5%,£50k") == Precision(50_000.0, 0.05)
    assert parse_precision("40000") == Precision(40_000.0, 0.0)
    assert parse_precision("£1.5m").pounds == 1_500_000
    assert half_width_words(40_400) == "± £40k at 95%"
    assert Precision(50_000, 0.05).describe() == ("5% of each saving or £50k, whichever is "
                                                  "larger")
    for bad in ("lots", "0%", "-5k", ""):
        with pytest.raises(ValueError):
            parse_precision(bad)


def test_cli_precision_in_words_on_screen_and_in_the_files(tmp_path):
    out = tmp_path / "out"
    result = run_optimise("compare", str(EXAMPLE), "--members", "All=A1,A2,A3,A4",
                          "--exact-max", "2", "--precision", "2%,£20k", "--workers", "1",
                          "--quiet", "--no-report", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    screen = " ".join(result.stdout.split())
    assert "All: Shapley savings from" in screen and "at 95% of the exact value" in screen
    assert "(asked: 2% of each saving or £20k, whichever is larger; reached)" in screen
    import json
    core = json.loads((out / "core.json").read_text())
    entry = next(c for c in core["consortia"] if c["consortium"] == "All")
    assert entry["shapley_stopped"] == "precision" and entry["shapley_estimator"] == (
        "rotation-antithetic")
    assert entry["shapley_precision"].startswith("± £") and entry["shapley_precision"].endswith(
        " at 95%")
    # all four members at once: a wider interval, said beside the per-member one
    assert entry["shapley_precision_joint"].startswith("± £")
    assert f"; all at once within {entry['shapley_precision_joint']}" in screen
    header = (out / "shapley.csv").read_text().splitlines()[0]
    assert header.endswith(",half_width_95,solver_margin")


@pytest.mark.parametrize("args, message", [
    (["--precision", "lots"], "--precision"),
    (["--time-limit-total", "0"], "--time-limit-total"),
])
def test_cli_bad_precision_options_exit_2(tmp_path, args, message):
    result = run_optimise("compare", str(EXAMPLE), "--quiet", "--out", str(tmp_path / "o"),
                          *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_joint_half_width_holds_for_all_members_at_once():
    """Four blocks of three members: each member's 95% half-width is t(0.975, 3) standard
    errors (3.182); the joint one, for all three at once, t(1 - 0.05 / 6, 3) (Bonferroni:
    4.857), so that every member is inside in 95% of repetitions."""
    from optimiser.shapley import estimate

    means = [np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]), np.array([3.0, 4.0, 3.0]),
             np.array([2.0, 4.0, 5.0])]
    found = estimate(means, 6)
    error = np.array(means).std(axis=0, ddof=1) / 2
    assert found.half_width == pytest.approx(3.18245 * error, rel=1e-5)
    assert found.joint_half_width == pytest.approx(4.85666 * error, rel=1e-5)
    assert estimate(means[:1], 6).joint_half_width is None
