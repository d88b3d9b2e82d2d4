"""Which sampled Shapley estimator: each candidate at equal numbers of coalition values, against
exact Greater Manchester (10 members, 1,023 coalitions) as the ground truth.

    python benchmarks/bench_shapley.py                      # values cached in /tmp
    python benchmarks/bench_shapley.py --budgets 150,300,500 --repeats 100
    python benchmarks/bench_shapley.py --values gm.json --workers 2

The first run values all 1,023 coalitions with the coalition engine (``optimiser.
coalition_engine``, ``--workers`` processes) and caches them to ``--values`` (JSON); later runs
replay every estimator from the file in seconds. For each estimator of ``optimiser.shapley``
and each budget B, repetition r (seed r) draws blocks 0, 1, ... while the distinct coalitions
valued - counting the singletons, the complements N - {a} and N, which ``compare`` values
anyway - stay within B (at least two blocks, for an error estimate). Printed per estimator and
budget: the coalitions used (mean), the RMS error of the Shapley savings against the exact
ones (£), the mean stated 95% half-width, the coverage: the share of (member, repetition)
estimates within their stated 95% interval of the exact value, and the repetitions in which
every member's is; the same for the joint 95% half-width (Bonferroni, which is meant to hold
for all members at once in 95 of 100 repetitions); and the bias: the largest |mean error| of a member over the repetitions
(an unbiased estimator's falls as 1/sqrt(repetitions) with the RMS error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.compare import CoalitionCache, all_coalitions, exact_shapley
from optimiser.executor import TaskPool
from optimiser.loading import load_instance
from optimiser.shapley import (
    ESTIMATORS,
    block_coalitions,
    block_means,
    block_orders,
    estimate,
)

INSTANCE = ROOT / "instances" / "north-west"
CONSORTIUM = "Greater Manchester"


def exact_values(path: Path, workers: int) -> tuple[tuple[str, ...], dict[tuple, float]]:
    """c(S) of every coalition of the consortium: from ``path``, or valued now and saved."""
    if path.exists():
        saved = json.loads(path.read_text())
        return tuple(saved["members"]), {tuple(k.split(";")) if k else (): v
                                         for k, v in saved["values"].items()}
    instance = load_instance(INSTANCE)
    members = tuple(a for a in instance.authorities
                    if a in set(instance.consortium(CONSORTIUM)))
    started = time.perf_counter()
    with TaskPool(workers, shared=instance) as pool:
        cache = CoalitionCache(instance, pool)
        cache.within = members
        cache.ensure(all_coalitions(members))
    seconds = time.perf_counter() - started
    values = {k: v.cost for k, v in cache.values.items()}
    gaps = [v.gap or 0.0 for v in cache.values.values()]
    print(f"valued {len(values) - 1:,} coalitions in {seconds:.1f} s on {workers} workers "
          f"(largest gap {max(gaps):.2e})", file=sys.stderr)
    path.write_text(json.dumps({"members": list(members), "seconds": seconds,
                                "values": {";".join(k): v for k, v in values.items()}}))
    return members, values


def run_estimator(members, cost, estimator: str, budget: int, seed: int,
                  rotations: int | None = None):
    n = len(members)
    always = {members, *((a,) for a in members),
              *(tuple(b for b in members if b != a) for a in members)}
    used = set(always)
    means, block = [], 0
    while True:
        orders = block_orders(n, block, seed, estimator, rotations)
        needed = used | set(block_coalitions(members, orders))
        if len(needed) > budget and len(means) >= 2:
            break
        used = needed
        means.append(block_means(members, orders, cost))
        block += 1
    return estimate(means, len(orders)), len(used)


def candidates(args) -> list[tuple[str, int | None]]:
    """(estimator, rotations per block) pairs: each estimator as ``compare`` draws it, then the
    rotation estimators with each ``--rotations`` count."""
    names = args.estimators.split(",")
    partial = [int(m) for m in args.rotations.split(",") if m.strip()]
    return [(e, None) for e in names] + [(e, m) for m in partial for e in names
                                         if e.startswith("rotation")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=Path, default=Path("/tmp/optimise-gm-coalitions.json"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budgets", default="200,300,500")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--estimators", default=",".join(ESTIMATORS))
    parser.add_argument("--rotations", default="",
                        help="also the rotation estimators with these rotations per block "
                             "(comma-separated, e.g. 2,3,5: a block of m of the n rotations)")
    args = parser.parse_args()
    members, values = exact_values(args.values, args.workers)
    cost = values.__getitem__
    exact = exact_shapley(members, [values[k] for k in all_coalitions(members)])
    alone = np.array([values[(a,)] for a in members])
    saving = alone - exact
    print(f"exact Shapley savings (£k): "
          f"{', '.join(f'{s / 1e3:,.0f}' for s in saving)}")
    print(f"{'estimator':<24} {'budget':>6} {'values':>7} {'blocks':>6} {'RMS error':>10} "
          f"{'half-width':>10} {'covered':>8} {'all in':>7} {'joint':>8} {'all in':>7} "
          f"{'bias':>8}")
    for budget in (int(b) for b in args.budgets.split(",")):
        for estimator, rotations in candidates(args):
            errors, widths, inside, all_inside, counts, blocks = [], [], 0, 0, [], []
            joint_inside, joint_widths = 0, []
            for seed in range(args.repeats):
                found, count = run_estimator(members, cost, estimator, budget, seed, rotations)
                error = found.phi - exact  # the saving's error is minus the cost's
                errors.append(error)
                widths.append(found.half_width)
                hit = np.abs(error) <= found.half_width
                inside += int(hit.sum())
                all_inside += int(hit.all())
                joint_inside += int((np.abs(error) <= found.joint_half_width).all())
                joint_widths.append(found.joint_half_width)
                counts.append(count)
                blocks.append(found.blocks)
            rms = float(np.sqrt(np.mean(np.square(errors))))
            bias = float(np.abs(np.mean(errors, axis=0)).max())  # worst member's mean error
            name = estimator if rotations is None else f"{estimator} m={rotations}"
            print(f"{name:<24} {budget:>6} {np.mean(counts):>7.0f} {np.mean(blocks):>6.1f} "
                  f"{rms:>10,.0f} {np.mean(widths):>10,.0f} "
                  f"{inside / (args.repeats * len(members)):>8.1%} "
                  f"{all_inside:>4}/{args.repeats} {np.mean(joint_widths):>8,.0f} "
                  f"{joint_inside:>4}/{args.repeats} {bias:>8,.0f}", flush=True)


if __name__ == "__main__":
    main()
