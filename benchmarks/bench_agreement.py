"""Cross-solver agreement: HiGHS against CBC and SCIP (OR-Tools) on many random instances.

Each seed's instance (``tests/random_instances.py``; voice, integer places and individual
rationality varying with the seed) is run to optimality by each solver; the objectives and
standalone costs must agree to 1e-6 relative and every result folder must pass verify
(``tests/agreement.py``). CI runs the first 100 seeds for CBC and 30 for OR-Tools
(``tests/test_cross_solver.py``).

    python benchmarks/bench_agreement.py             # seeds 0..299
    python benchmarks/bench_agreement.py --seeds 1000 --first 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from agreement import SOLVERS, agreement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300, help="how many seeds")
    parser.add_argument("--first", type=int, default=0, help="first seed")
    args = parser.parse_args()
    started = time.perf_counter()
    seconds = {solver: [] for solver in SOLVERS}
    disagreements = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.first, args.first + args.seeds):
            found = agreement(seed, Path(folder))
            for solver, value in found.seconds.items():
                seconds[solver].append(value)
            if not found.ok:
                disagreements.append(found)
                print(f"seed {seed}: {'; '.join(found.problems)}", flush=True)
    total = time.perf_counter() - started
    print(f"{args.seeds} instances (seeds {args.first}-{args.first + args.seeds - 1}), "
          f"{len(disagreements)} disagreements, {total:.1f} s in all")
    for solver, values in seconds.items():
        print(f"  {solver}: run median {statistics.median(values):.3f} s, "
              f"max {max(values):.3f} s, total {sum(values):.1f} s")


if __name__ == "__main__":
    main()
