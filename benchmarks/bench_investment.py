"""Benchmark of the sufficiency and investment analyses of `optimise run` on a real instance.

Solves the run (baselines, consortium, reference), then times:

* local sufficiency: the networkx max flows (the consortium's and each member's alone) and the
  minimum-cut bottlenecks, with the flow network's size;
* investment signals: the candidates' fixed-integer LP, one dual solve per candidate, and the
  re-solves of the top 10 with one more place;

and prints, for each of the top signals, the saving per place from the dual, the saving of one
re-solved place, their difference, the finite difference over the first STEP of a place (which
the dual must equal: it is the slope there), and how far the slope holds (the largest step over
which the re-solved saving per place still equals the dual, found by bisection).

    python benchmarks/bench_investment.py                     # instances/north-west, top 10
    python benchmarks/bench_investment.py instances/example --top 10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.investment import STEP, CandidateLP, investment_signals
from optimiser.loading import load_instance
from optimiser.run import run
from optimiser.sufficiency import flow_network, local_flow, local_sufficiency

#: the dual and a re-solve agree when they differ by at most this share of the saving (HiGHS'
#: optimality tolerances on an objective of ~1e9 move it by well under a penny a place)
AGREE = 1e-7


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def slope_holds_to(lp: CandidateLP, i: int, slope: float) -> float:
    """The largest step h in [STEP, 1] whose re-solved saving per place still equals
    ``slope`` (v is convex and piecewise linear: the average slope over [0, h] is the dual's
    until the first breakpoint)."""
    def same(h: float) -> bool:
        saved = lp.resolve(i, h)
        return saved is not None and abs(saved / h - slope) <= AGREE * max(1.0, abs(slope))

    if same(1.0):
        return 1.0
    low, high = STEP, 1.0
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if same(middle) else (low, middle)
    return low


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", default=str(ROOT / "instances" / "north-west"))
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    instance = load_instance(args.instance)
    outcome, run_seconds = timed(lambda: run(instance))
    print(f"{instance.name}: run {run_seconds:.2f} s ({outcome.plan.result.status}, "
          f"objective {outcome.plan.result.objective:,.2f})")

    graph, _ = flow_network(outcome.market)
    flow, joint_seconds = timed(lambda: local_flow(outcome.market))
    sufficiency, sufficiency_seconds = timed(lambda: local_sufficiency(outcome))
    print(f"sufficiency: network {graph.number_of_nodes()} nodes, {graph.number_of_edges()} "
          f"edges; consortium max flow {flow.total:,.4f} of {flow.needs['demand'].sum():,.4f}"
          f" places in {joint_seconds:.3f} s; with {len(sufficiency.alone)} members alone "
          f"and every bottleneck {sufficiency_seconds:.3f} s")

    signals, signal_seconds = timed(lambda: investment_signals(outcome, resolve_top=args.top))
    found = len(signals.table)
    build = signals.seconds - signals.dual_seconds - signals.resolve_seconds
    print(f"investment: {found} candidates in {signal_seconds:.2f} s = {build:.2f} s model "
          f"and LP at 0 + {signals.dual_seconds:.2f} s dual solves + "
          f"{signals.resolve_seconds:.2f} s re-solving the top {args.top}; "
          f"{100 * signal_seconds / run_seconds:.1f}% of the run")
    if signals.warning:
        print(f"warning: {signals.warning}")
    print(f"v(0) = {signals.objective:,.2f} (plan objective "
          f"{outcome.plan.result.objective:,.2f})")

    lp = CandidateLP(outcome)
    index = {(c.authority, c.placement_type): i for i, c in enumerate(lp.found)}
    names = {a: instance.authorities[a].name for a in instance.authorities}
    header = (f"{'rank':>4}  {'authority':<26} {'type':<20} {'dual £/place':>14} "
              f"{'re-solve £':>14} {'difference':>11} {'slope@STEP':>14} {'holds to':>9}  serves")
    print(header)
    agree = 0
    for row in signals.table.head(args.top).itertuples():
        i = index[(row.authority, row.placement_type)]
        dual, resolved = row.saving_per_place_year, row.resolve_saving
        difference = resolved - dual
        agree += abs(difference) <= AGREE * max(1.0, abs(dual))
        first = lp.resolve(i, STEP) / STEP
        holds = slope_holds_to(lp, i, dual) if dual > 0 else 1.0
        print(f"{row.rank:>4}  {names[row.authority][:26]:<26} {row.placement_type:<20} "
              f"{dual:>14,.2f} {resolved:>14,.2f} {difference:>11,.2f} {first:>14,.2f} "
              f"{holds:>9.4f}  {row.serves}")
    print(f"{agree} of {min(args.top, found)} re-solves equal the dual within {AGREE:g} "
          f"relative; the others have a breakpoint within the place (see 'holds to')")


if __name__ == "__main__":
    main()
