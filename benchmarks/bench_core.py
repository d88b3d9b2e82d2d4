"""Benchmark of the least core by constraint generation (``optimiser.core.least_core``).

Cases: the North West instance's Greater Manchester consortium (10 members) and all 24 North
West members. For each: master rounds (= separation MILPs), coalitions valued (c(S) solves),
epsilon and its proven upper bound, whether the core is empty, the blocking coalition, and the
time split into c(S) solves, separation solves and the rest. c(S) values are cached, as
``compare`` does; each case starts from an empty cache.

    python benchmarks/bench_core.py                         # both cases, the instance's policy
    python benchmarks/bench_core.py --cases gm --mip-gap 1e-6 --time-limit 300

``--mip-gap`` and ``--time-limit`` apply to every solve (c(S) and separation); the default is
the instance's policy (mip_gap 1e-4), under which epsilon is exact only to about 1e-4 of c(N)
(``epsilon_bound`` shows by how much).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.coalitions import canonical, coalition_value
from optimiser.core import Separation, least_core
from optimiser.loading import load_instance
from optimiser.run import solver_for

CASES = {"gm": "Greater Manchester", "nw": "North West"}


def bench(instance, consortium: str) -> dict:
    members = canonical(instance, instance.consortium(consortium))
    solve = solver_for(instance)
    clock = {"cost": 0.0, "separation": 0.0, "worst_gap": 0.0}
    cache: dict = {}

    def coalition_cost(coalition):
        key = canonical(instance, coalition)
        if key not in cache:
            started = time.perf_counter()
            value = coalition_value(instance, key, solve)
            clock["cost"] += time.perf_counter() - started
            clock["worst_gap"] = max(clock["worst_gap"], value.gap or 0.0)
            cache[key] = value.cost
        return cache[key]

    def separation_solve(program):
        started = time.perf_counter()
        result = solve(program)
        clock["separation"] += time.perf_counter() - started
        return result

    started = time.perf_counter()
    build = time.perf_counter()
    size = Separation(instance, members).model.program.size()
    build = time.perf_counter() - build
    result = least_core(instance, members, coalition_cost, separation_solve)
    seconds = time.perf_counter() - started
    return {"case": f"{consortium} ({len(members)})", "result": result, "seconds": seconds,
            "build": build, "grand": cache[members], "size": size, **clock}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "instances" / "north-west"))
    parser.add_argument("--cases", default="gm,nw", help="gm (Greater Manchester), nw (all 24)")
    parser.add_argument("--mip-gap", help="overrides the policy's mip_gap for every solve")
    parser.add_argument("--time-limit", help="overrides the policy's time_limit_s")
    args = parser.parse_args()
    overrides = {k: v for k, v in (("mip_gap", args.mip_gap), ("time_limit_s", args.time_limit))
                 if v is not None}
    instance = load_instance(args.instance, overrides)
    print(f"{instance.name}: mip_gap {instance.policy.mip_gap:g}, time limit "
          f"{instance.policy.time_limit_s:g} s, baseline_capacity "
          f"{instance.policy.baseline_capacity}")
    for key in args.cases.split(","):
        row = bench(instance, CASES[key])
        r = row["result"]
        other = row["seconds"] - row["cost"] - row["separation"]
        print(f"\n{row['case']}: c(N) = £{row['grand']:,.0f}")
        print(f"  separation MILP: {row['size']['rows']:,} rows, {row['size']['columns']:,} "
              f"columns, {row['size']['integers']:,} integers (built in {row['build']:.1f} s)")
        print(f"  rounds {r.iterations}, coalitions valued {r.coalitions} "
              f"(of {2 ** len(r.allocation) - 2:,})")
        print(f"  epsilon £{r.epsilon:,.2f} ({100 * r.epsilon / row['grand']:+.5f}% of c(N)), "
              f"bound £{r.epsilon_bound:,.2f}, core {'empty' if r.core_empty else 'non-empty'}"
              + (f", blocking {', '.join(r.blocking)}" if r.blocking else "")
              + f"; last separation {r.separation_status}")
        print(f"  time {row['seconds']:.1f} s: c(S) solves {row['cost']:.1f} s, separation "
              f"{row['separation']:.1f} s, master and building {other:.1f} s; largest c(S) gap "
              f"{row['worst_gap']:.2g}")


if __name__ == "__main__":
    main()
