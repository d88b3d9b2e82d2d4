"""Benchmark of `optimise guarantee`: the Thames Valley block swept over 0..30 guaranteed places
against 500 demand scenarios (31 options x 500 = 15,500 second-stage solves), and optionally
the default mode (SAA replications, evaluation, gap, VSS and EVPI).

    python benchmarks/bench_guarantee.py                       # the sweep, all cores
    python benchmarks/bench_guarantee.py --saa                 # and the default mode
    python benchmarks/bench_guarantee.py --scenarios 100 --workers 1

Prints the options table, the wall time, peak memory (this process and the largest worker),
the model sizes, and the ratio of the wall time to a reference: the same number of scenario
solves at the speed of one fresh solve (build, solve, read) measured alone in this process,
divided among the workers (below 1: faster than building each scenario's program).

``--against-fresh N`` also runs the sweep on N scenarios both ways, the kept models of
``optimiser.recourse`` and every scenario built and solved afresh (the method before them,
forced with ``OPTIMISE_GUARANTEE_FRESH``), checks that they give the same options table, and
prints the ratio of their wall times.

    python benchmarks/bench_guarantee.py --saa --against-fresh 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.guarantee import build_extensive_form
from optimiser.executor import default_workers
from optimiser.guarantee import (
    GUARANTEE_SUMMARY,
    Settings,
    guarantee,
    guarantee_files,
)
from optimiser.loading import load_instance
from optimiser.recourse import FRESH_ENV
from optimiser.solvers import SolverOptions, get_solver

REFERENCE_SOLVES = 40


def reference_solve_seconds(outcome) -> float:
    """Median seconds of one scenario solve (build, solve, read) of the recommended option,
    alone in this process."""
    from models.guarantee import scenario_figures

    stage = outcome.stage
    first = outcome.option(outcome.recommended).option.first
    policy = outcome.instance.policy
    solver = get_solver(policy.solver)
    options = SolverOptions(time_limit_s=policy.time_limit_s, mip_gap=policy.mip_gap)
    times = []
    for k in range(REFERENCE_SOLVES):
        started = time.perf_counter()
        row = k % outcome.evaluation.size
        form = build_extensive_form(stage, outcome.evaluation.demand[row:row + 1], np.ones(1),
                                    fixed=first)
        scenario_figures(form, solver.solve(form.program, options).values)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _k(value) -> str:
    return "" if value is None else f"{value / 1000:+,.0f}k"


def print_options(summary: dict) -> None:
    header = (f"{'option':<16} {'E cost':>12} {'saving':>10} {'95% CI':>21} {'void':>6} "
              f"{'P void':>7} {'P unmet':>8} {'CVaR':>12} {'break-even':>10}")
    print(header)
    print("-" * len(header))
    for r in summary["options"]:
        if r["expected_cost"] is None:
            print(f"{r['option']:<16} failed in {r['failed_scenarios']} scenarios")
            continue
        ci = (f"{_k(r['saving_ci_low'])}..{_k(r['saving_ci_high'])}"
              if r["saving_ci_low"] is not None else "")
        even = ("" if r["break_even_discount_pct"] is None
                else f"{r['break_even_discount_pct']:.2f}%")
        print(f"{r['option'] + (' *' if r['recommended'] else ''):<16} "
              f"{_pounds(r['expected_cost']):>12} {_k(r['saving']):>10} {ci:>21} "
              f"{r['expected_void_places']:>6.2f} {100 * r['p_void']:>6.1f}% "
              f"{100 * r['p_unmet']:>7.1f}% {_pounds(r['cvar_cost']):>12} {even:>10}")


def _pounds(value: float) -> str:
    return f"£{value:,.0f}"


def against_fresh(instance, places: str, scenarios: int, workers: int) -> None:
    """The sweep on ``scenarios`` scenarios with kept models and afresh: same table, ratio."""
    settings = Settings(sweep=True, places=places, scenarios=scenarios)
    walls, tables = {}, {}
    for method in ("kept", "fresh"):
        if method == "fresh":
            os.environ[FRESH_ENV] = "1"
        try:
            started = time.perf_counter()
            outcome = guarantee(instance, settings=settings, workers=workers)
            walls[method] = time.perf_counter() - started
        finally:
            os.environ.pop(FRESH_ENV, None)
        summary = json.loads(guarantee_files(outcome)[GUARANTEE_SUMMARY])
        tables[method] = [(r["option"], round(r["expected_cost"] or 0, 0),
                           round(r["expected_void_places"] or 0, 3), round(r["p_void"] or 0, 3))
                          for r in summary["options"]]
    same = tables["kept"] == tables["fresh"]
    print(f"\n== sweep {places} on {scenarios} scenarios, {workers} worker(s): kept "
          f"{walls['kept']:.1f} s, fresh {walls['fresh']:.1f} s, ratio "
          f"{walls['fresh'] / walls['kept']:.1f}x; same table (cost to the pound, void places, "
          f"P void): {same}")


def run_case(instance, settings: Settings, workers: int, label: str) -> None:
    started = time.perf_counter()
    outcome = guarantee(instance, settings=settings, workers=workers)
    files = guarantee_files(outcome)
    wall = time.perf_counter() - started
    summary = json.loads(files[GUARANTEE_SUMMARY])
    solves = _solves(summary)
    reference = reference_solve_seconds(outcome)
    print(f"\n== {label}: {summary['instance']}, {len(summary['members'])} members, "
          f"{summary['settings']['evaluation_scenarios']} evaluation scenarios, "
          f"{outcome.workers} worker(s) ==")
    print_options(summary)
    print(f"recommended: {summary['recommended']}")
    if summary["saa"]:
        saa = summary["saa"]
        print(f"SAA lower bound £{saa['lower_bound']['estimate']:,.0f} "
              f"[{saa['lower_bound']['ci_low']:,.0f}, {saa['lower_bound']['ci_high']:,.0f}]; "
              f"upper bound £{saa['upper_bound']['estimate']:,.0f} "
              f"[{saa['upper_bound']['ci_low']:,.0f}, {saa['upper_bound']['ci_high']:,.0f}]; "
              f"gap £{saa['gap']['estimate']:,.0f} (95% upper bound "
              f"£{saa['gap']['ci_high']:,.0f})")
        for name in ("vss", "evpi"):
            e = summary[name]
            print(f"{name.upper()} £{e['estimate']:,.0f} [{e['ci_low']:,.0f}, "
                  f"{e['ci_high']:,.0f}]")
    size = summary["model_size"]
    print(f"model: one scenario {size['second_stage']['rows']:,} rows x "
          f"{size['second_stage']['columns']:,} columns, {size['second_stage']['nonzeros']:,} "
          f"non-zeros, {size['second_stage']['integers']} integers"
          + ("" if not size["extensive_form"] else
             f"; SAA extensive form {size['extensive_form']['rows']:,} rows x "
             f"{size['extensive_form']['columns']:,} columns, "
             f"{size['extensive_form']['nonzeros']:,} non-zeros, "
             f"{size['extensive_form']['integers']} integers"))
    timings = {k: round(v, 1) for k, v in summary["timings"].items() if k.endswith("seconds")}
    print(f"timings (s): {timings}")
    ideal = solves * reference / max(outcome.workers, 1)
    print(f"wall {wall:.1f} s for {solves:,} scenario solves; reference {reference * 1000:.1f} "
          f"ms per solve alone -> ideal {ideal:.1f} s on {outcome.workers} worker(s); "
          f"ratio {wall / ideal:.2f}")


def _solves(summary: dict) -> int:
    """Scenario solves of the run (the sweep's options x scenarios; in the default mode the
    plans evaluated, the gap's and the wait-and-see solves)."""
    n = summary["settings"]["evaluation_scenarios"]
    options = summary["options"]
    if summary["mode"] == "sweep":
        return len(options) * n
    saa = summary["settings"]
    if summary["model_size"]["extensive_form"] is None:  # replications by enumeration
        span = saa["range"]
        firsts = 2 if span is None else span["high"] - max(span["low"], 1) + 2
        return firsts * (saa["replications"] * saa["scenarios"] + n) + (
            saa["replications"] * saa["scenarios"])
    distinct = len({(o["commitments"], o["contracts"]) for o in options})
    return distinct * n + saa["replications"] * saa["scenarios"] + n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "instances" / "thames-valley"))
    parser.add_argument("--places", default="TV-BLOCK=0..30")
    parser.add_argument("--scenarios", type=int, default=500)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--saa", action="store_true",
                        help="also the default (SAA) mode, without and with --places")
    parser.add_argument("--against-fresh", type=int, default=0, metavar="N",
                        help="also time the sweep on N scenarios against fresh solves")
    args = parser.parse_args()

    started = time.perf_counter()
    instance = load_instance(args.instance)
    print(f"loaded {instance.name} in {time.perf_counter() - started:.1f} s")
    run_case(instance, Settings(sweep=True, places=args.places, scenarios=args.scenarios),
             args.workers, f"sweep {args.places}")
    if args.saa:
        run_case(instance, Settings(), args.workers, "default mode (SAA, defaults)")
        run_case(instance, Settings(places=args.places), args.workers,
                 f"default mode (SAA) with --places {args.places}")
    if args.against_fresh:
        against_fresh(instance, args.places, args.against_fresh, args.workers)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak RSS {own:.0f} MB (this process), {workers:.0f} MB (largest worker)")


if __name__ == "__main__":
    main()
