"""Benchmark of `optimise compare` on the North West: its named consortia end to end, with the
time of exact Shapley on Greater Manchester (10 members, 1,023 coalitions) and of sampled
Shapley on all 24 members, and the sampled estimates' standard errors.

    python benchmarks/bench_compare.py                         # all named consortia
    python benchmarks/bench_compare.py --samples 8 --workers 2
    python benchmarks/bench_compare.py --consortium "Greater Manchester"
    python benchmarks/bench_compare.py --executor dask --address tcp://host:8786

One run of the comparison, so the consortia share one coalition cache: a coalition valued for
one consortium is a cache hit for the next (``coalitions_solved`` per consortium counts the
new solves). The per-consortium times are wall times of its coalition solves (Shapley and
marginal values) and of its core check (least core by constraint generation, and the plan's
blocking coalition). The result files go to ``--out`` (default results/bench-compare).

Sampled Shapley draws blocks of rotations of one order and their reverses
(``optimiser.shapley``); with 24 members a block takes 2 of the 24 rotations, up to 92 new
coalition values of all sizes: on the North West a coalition of 10 members takes about 1 s to
value and one of 23 about 3-7 s. ``--precision``
(e.g. ``5%,£50k``) samples until every member is within it at 95%, ``--time-limit-total``
stops beginning blocks after that many seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console

from optimiser.compare import CORE_JSON, SHAPLEY_CSV, compare, compare_files
from optimiser.executor import ProgressBar
from optimiser.loading import load_instance
from optimiser.writers import write_folder


class LogProgress:
    """The progress bar's interface as log lines (for runs without a terminal): each phase, and
    solves done every ``every`` seconds."""

    def __init__(self, every: float = 60.0):
        self.every, self.started, self.last = every, time.perf_counter(), 0.0
        self.total = self.done = self.hit = 0
        self.text = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._line()

    def _line(self) -> None:
        print(f"[{time.perf_counter() - self.started:7.0f} s] {self.text}: {self.done:,} of "
              f"{self.total:,} solves, {self.hit:,} cache hits", file=sys.stderr, flush=True)

    def plan(self, solves: int) -> None:
        self.total += solves

    def solved(self, count: int = 1) -> None:
        self.done += count
        if time.perf_counter() - self.started - self.last >= self.every:
            self.last = time.perf_counter() - self.started
            self._line()

    def hits(self, count: int) -> None:
        self.hit += count

    def describe(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self._line()


def engine_sample(instance_path: str, consortium: str, count: int, seed: int) -> None:
    """CPU seconds per coalition value, a cold build of S's model against the engine's re-solve
    of the consortium's model, on ``count`` random coalitions of ``consortium`` (interleaved, in
    this process, so both see the same machine load), and the largest relative difference."""
    import random

    from optimiser.coalition_engine import CoalitionEngine
    from optimiser.coalitions import coalition_value
    from optimiser.run import solver_for

    instance = load_instance(instance_path)
    members = tuple(a for a in instance.authorities if a in set(instance.consortium(consortium)))
    solve = solver_for(instance)
    started = time.process_time()
    engine = CoalitionEngine(instance, members)
    build = time.process_time() - started
    rng = random.Random(seed)
    cold = warm = worst = 0.0
    for _ in range(count):
        size = rng.randint(1, len(members))
        coalition = tuple(sorted(rng.sample(members, size), key=members.index))
        started = time.process_time()
        value = coalition_value(instance, coalition, solve).cost
        cold += time.process_time() - started
        started = time.process_time()
        result = solve(engine.program(coalition))
        warm += time.process_time() - started
        worst = max(worst, abs(result.objective - value) / max(abs(value), 1.0))
    print(f"{consortium}: {count} random coalitions, CPU s per value: cold build and solve "
          f"{cold / count:.3f}, engine {warm / count:.3f} (x{cold / warm:.2f}; engine built "
          f"once in {build:.2f} s); largest relative difference {worst:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "instances" / "north-west"))
    parser.add_argument("--consortium", action="append", default=[],
                        help="compare only these named consortia (repeatable)")
    parser.add_argument("--samples", type=int, default=16,
                        help="sampled orders for consortia beyond --exact-max")
    parser.add_argument("--exact-max", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default=None,
                        help="sample until every member is within it at 95%%, e.g. 5%%,£50k")
    parser.add_argument("--time-limit-total", type=float, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--executor", default="local")
    parser.add_argument("--address", default=None)
    parser.add_argument("--out", default=str(ROOT / "results" / "bench-compare"))
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (without a terminal, progress is logged instead)")
    parser.add_argument("--engine-sample", type=int, default=0, metavar="N",
                        help="only time N random coalitions of the (first) --consortium, cold "
                        "against the coalition engine")
    args = parser.parse_args()
    if args.engine_sample:
        engine_sample(args.instance, (args.consortium or ["Greater Manchester"])[0],
                      args.engine_sample, args.seed)
        return

    started = time.perf_counter()
    instance = load_instance(args.instance)
    console = Console(stderr=True)
    progress = (ProgressBar(console, enabled=not args.quiet) if console.is_terminal
                else LogProgress())
    with progress as bar:
        outcome = compare(instance, args.consortium, exact_max=args.exact_max,
                          samples=args.samples, seed=args.seed, workers=args.workers,
                          executor=args.executor, address=args.address, bar=bar,
                          precision=args.precision, time_limit_total=args.time_limit_total)
    files = compare_files(outcome)
    write_folder(Path(args.out), files)
    wall = time.perf_counter() - started
    core = json.loads(files[CORE_JSON])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{core['instance']}: {len(outcome.memberships)} memberships, "
          f"{core['solves']:,} coalition solves, {core['cache_hits']:,} cache hits, "
          f"{core['executor']}; wall {wall:.1f} s (peak RSS of the main process "
          f"{peak_mb:.0f} MB)")
    print(f"{'consortium':<28} {'n':>3} {'method':<14} {'solved':>7} {'Shapley s':>10} "
          f"{'core s':>8} {'epsilon':>14} {'core':>6} {'iter':>5} {'plan blocked by'}")
    for entry in core["consortia"]:
        method = entry["shapley_method"] + (f" ({entry['samples']})" if entry["samples"]
                                            else "")
        blocking = entry["plan_blocking"]
        blocked = ("" if blocking is None else
                   (f"{len(blocking['coalition'])} members, £{blocking['excess']:,.0f}"
                    if entry["plan_blocked"] else "none"))
        eps = "" if entry["epsilon"] is None else f"£{entry['epsilon']:,.0f}"
        print(f"{entry['consortium']:<28} {len(entry['members']):>3} {method:<14} "
              f"{entry['coalitions_solved']:>7,} {entry['shapley_seconds']:>10.1f} "
              f"{entry['core_seconds']:>8.1f} {eps:>14} "
              f"{'empty' if entry['core_empty'] else 'non-empty':>6} "
              f"{entry['iterations'] or 0:>5} {blocked}")

    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(files[SHAPLEY_CSV])))
    for entry in core["consortia"]:
        if entry["shapley_method"] != "sampled":
            continue
        print(f"\n{entry['consortium']}: sampled Shapley saving, {entry['samples']} orders, "
              f"each within {entry['shapley_precision']} (stopped: {entry['shapley_stopped']}; "
              "£ a year; s.e. = standard error, ±95% = half-width of the 95% interval)")
        print(f"{'authority':<28} {'Shapley saving':>15} {'s.e.':>12} {'±95%':>12} "
              f"{'±95%/|saving|':>14} {'plan saving':>14}")
        errors = []
        for r in rows:
            if r["consortium"] != entry["consortium"]:
                continue
            saving, error = float(r["shapley_saving"]), float(r["std_error"])
            half = float(r["half_width_95"])
            errors.append(error)
            ratio = f"{half / abs(saving):.0%}" if saving else ""
            plan = round(float(r["plan_saving"])) + 0  # no "-0"
            print(f"{r['name']:<28} {saving:>15,.0f} {error:>12,.0f} {half:>12,.0f} "
                  f"{ratio:>14} {plan:>14,}")
        print(f"median standard error £{sorted(errors)[len(errors) // 2]:,.0f}, largest "
              f"£{max(errors):,.0f}")
    for warning in core["warnings"]:
        print(f"warning: {warning}")


if __name__ == "__main__":
    main()
