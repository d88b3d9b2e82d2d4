"""Benchmark of `optimise run`: wall time, peak memory, model size, objective, gap, and the ratio
to reference solves measured in the same process.

Cases: the shipped example (whole `run`: baselines, reference, main solve) and the OR-Library
capacitated warehouse instances cap41-cap134 (consortium solve, published optimum checked).
References: the CBC back-end on the same program, and the term-by-term big-M PuLP model
(``models/reference.py``) solved by CBC.

    python benchmarks/bench_run.py                # example + cap41..cap134, both references
    python benchmarks/bench_run.py --no-reference # production path only

Peak memory is the process's maximum resident set (``ru_maxrss``), which only grows: it is the
peak of the whole benchmark up to that case.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.voices import solve_consortium  # noqa: E402
from optimiser.loading import load_instance  # noqa: E402
from optimiser.market import build_market  # noqa: E402
from optimiser.orlib import read_cap  # noqa: E402
from optimiser.plan import read_plan  # noqa: E402
from optimiser.run import run, solver_for  # noqa: E402

CAP_DIR = ROOT / "tests" / "data" / "orlib-cap"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def bench_example() -> dict:
    instance = load_instance(ROOT / "instances" / "example")
    outcome, seconds = timed(lambda: run(instance))
    return {"case": "example (whole run)", "seconds": seconds,
            "objective": outcome.plan.result.objective, "gap": outcome.plan.result.gap,
            "status": outcome.plan.result.status, "expected": 3_456_060.0,
            **outcome.plan.model.program.size()}


def bench_real(name: str, time_limit: float | None) -> dict:
    """A whole `run` of a shipped real-data instance (baselines, main and reference solves)."""
    overrides = {} if time_limit is None else {"time_limit_s": str(time_limit)}
    instance = load_instance(ROOT / "instances" / name, overrides)
    outcome, seconds = timed(lambda: run(instance))
    result = outcome.plan.result
    return {"case": f"{name} (whole run)", "seconds": seconds, "solve_seconds": result.seconds,
            "objective": outcome.plan.total_cost, "gap": result.gap, "status": result.status,
            "expected": None, "peak_mb": peak_mb(), **outcome.plan.model.program.size()}


def bench_cap(name: str, optimum: float, references: bool) -> dict:
    instance = read_cap(CAP_DIR / f"{name}.txt")
    (model, result), build_and_solve = timed(
        lambda: solve_consortium(build_market(instance), solver_for(instance)))
    row = {"case": name, "seconds": build_and_solve, "solve_seconds": result.seconds,
           "objective": read_plan(model, result).total_cost, "gap": result.gap,
           "status": result.status, "expected": optimum, **model.program.size()}
    if references:
        cbc = instance.with_policy(solver="cbc")
        _, row["cbc_seconds"] = timed(
            lambda: solve_consortium(build_market(cbc), solver_for(cbc)))
        row["bigm_pulp_seconds"] = _reference_seconds(instance)
    return row


def _reference_seconds(instance) -> float | None:
    try:
        from models.reference import solve_reference
    except ImportError:
        return None
    _, seconds = timed(lambda: solve_reference(instance))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-reference", action="store_true", help="skip reference solves")
    parser.add_argument("--cases", help="comma-separated cap names (default: all cap41-134)")
    parser.add_argument("--real", default="", help="comma-separated shipped instances to run "
                        "whole, e.g. north-west,thames-valley,england")
    parser.add_argument("--time-limit", type=float, help="per-solve limit for --real runs")
    args = parser.parse_args()
    optima = {r["instance"]: float(r["optimal_cost"])
              for r in csv.DictReader(open(CAP_DIR / "optima.csv"))}
    names = args.cases.split(",") if args.cases else [n for n in optima if "_" not in n]
    rows = [bench_example()]
    rows += [bench_real(name, args.time_limit) for name in filter(None, args.real.split(","))]
    started = time.perf_counter()
    for name in names:
        rows.append(bench_cap(name, optima[name], not args.no_reference))
        rows[-1]["peak_mb"] = peak_mb()
    cap_total = time.perf_counter() - started
    print_table(rows)
    caps = [r for r in rows if r["case"].startswith("cap")]
    if caps:
        worst = max(caps, key=lambda r: r["seconds"])
        print(f"\ncap set: {len(caps)} instances, {cap_total:.1f} s in all (with references), "
              f"production path {sum(r['seconds'] for r in caps):.1f} s, slowest {worst['case']} "
              f"{worst['seconds']:.2f} s; peak memory {peak_mb():.0f} MB")
        for key in ("cbc_seconds", "bigm_pulp_seconds"):
            ratios = [r[key] / r["seconds"] for r in caps if r.get(key)]
            if ratios:
                print(f"{key.replace('_seconds', '')} reference / production: median "
                      f"{sorted(ratios)[len(ratios) // 2]:.1f}x, min {min(ratios):.1f}x, "
                      f"max {max(ratios):.1f}x")


def print_table(rows: list[dict]) -> None:
    columns = ["case", "status", "seconds", "solve_seconds", "cbc_seconds", "bigm_pulp_seconds",
               "rows", "columns", "nonzeros", "integers", "objective", "expected", "gap",
               "peak_mb"]
    print("\t".join(columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if value is None:
                value = ""
            if isinstance(value, float):
                value = f"{value:.6g}" if column not in ("objective", "expected") else f"{value:.3f}"
            cells.append(str("" if value is None else value))
        print("\t".join(cells))
    bad = [r["case"] for r in rows if r["expected"] is not None
           and abs(r["objective"] - r["expected"]) > 1e-6 * abs(r["expected"])]
    print("all objectives match their expected optimum" if not bad
          else f"MISMATCH against the expected optimum: {', '.join(bad)}")


if __name__ == "__main__":
    main()
