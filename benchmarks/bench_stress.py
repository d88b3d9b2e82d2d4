"""Benchmark of `optimise stress --n-1 K`: the base plan, then each of the K largest providers of
the base plan failing alone, each scenario re-planned in full (its standalone baselines, the
consortium, the reference solve). Prints per scenario totals, the worst case and the wall time.

    python benchmarks/bench_stress.py                      # instances/north-west, --n-1 5
    python benchmarks/bench_stress.py --n-1 3 --workers 2 --instance instances/example

Expect about as long per scenario as one `optimise run` of the instance (the North West: about
25 s each on an idle 2-core machine).
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

from optimiser.loading import load_instance
from optimiser.stress import STRESS_SUMMARY, stress, stress_files


def _k(value: float | None) -> str:
    return "" if value is None else f"{value / 1000:+,.0f}k"


def _pt(value: float | None) -> str:
    return "" if value is None else f"{100 * value:+.2f} pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "instances" / "north-west"))
    parser.add_argument("--n-1", dest="k", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--summary", help="also write stress_summary.json here")
    args = parser.parse_args()

    started = time.perf_counter()
    instance = load_instance(args.instance)
    loaded = time.perf_counter() - started
    outcome = stress(instance, n_minus_1=args.k, workers=args.workers)
    files = stress_files(outcome)
    wall = time.perf_counter() - started
    summary = json.loads(files[STRESS_SUMMARY])
    if args.summary:
        Path(args.summary).write_text(files[STRESS_SUMMARY], encoding="utf-8")

    base = summary["base"]["totals"]
    print(f"{summary['instance']}: --n-1 {args.k}, {len(summary['members'])} members, "
          f"{args.workers} worker(s)")
    print(f"base: annual cost £{base['annual_cost']:,.0f}, unmet {base['unmet']:,.1f}, "
          f"local share {100 * base['local_share']:.2f}%, {summary['base']['seconds']:.1f} s")
    header = (f"{'scenario':<16} {'places':>8} {'cost change':>13} {'%':>7} {'unmet':>8} "
              f"{'local':>10} {'worst member':<28} {'status':<9} {'s':>6}")
    print(header)
    print("-" * len(header))
    for s in summary["scenarios"]:
        t = s["totals"]
        carried = f"{sum(p['base_places'] for p in s['failed_providers']):,.1f}"
        if t is None:
            print(f"{s['name']:<16} {carried:>8} {'':>13} {'':>7} {'':>8} {'':>10} {'':<28} "
                  f"{s['status']:<9} {s['seconds']:>6.1f}")
            continue
        w = s["worst_member"]
        worst = f"{w['name']} {_k(w['cost_change'])}"
        print(f"{s['name']:<16} {carried:>8} {_k(t['cost_change']):>13} "
              f"{t['cost_change_pct']:>+6.2f}% {t['unmet_change']:>+8.1f} "
              f"{_pt(t['local_share_change']):>10} {worst:<28} {s['status']:<9} "
              f"{s['seconds']:>6.1f}")
    if summary["worst_case"]:
        w = summary["worst_case"]
        print(f"worst case: {w['scenario']} ({w['detail']}): cost {_k(w['cost_change'])} "
              f"({w['cost_change_pct']:+.2f}%), unmet {w['unmet_change']:+.1f}, local share "
              f"{_pt(w['local_share_change'])}; worst-hit member {w['worst_member']['name']} "
              f"{_k(w['worst_member']['cost_change'])}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wall {wall:.1f} s (loading {loaded:.1f} s, stress {outcome.seconds:.1f} s), "
          f"peak RSS {peak:.0f} MB (this process)")


if __name__ == "__main__":
    main()
