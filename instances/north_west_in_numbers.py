"""Print the README's "North West in numbers" from a results folder of `optimise run`.

    optimise run instances/north-west
    python instances/north_west_in_numbers.py results/north-west

(``results/north-west`` is where `optimise run instances/north-west` writes by default.)

Each authority's share of children placed within 20 miles in the plan (``local_share``:
local_radius_km is 32.19 km = 20 miles) beside the DfE 2024 share of new placements within 20
miles among those with a known distance, and the sufficiency gaps by placement type.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from optimiser.build.sources import new_placements_within_20_miles

USAGE = ("give one results folder: python instances/north_west_in_numbers.py RESULTS "
         "(e.g. results/north-west)")


def main(results: Path) -> None:
    summary = json.loads((results / "summary.json").read_text())
    totals = summary["totals"]
    print(f"Plan: annual cost £{totals['annual_cost'] / 1e6:,.1f}m against "
          f"£{totals['standalone_cost'] / 1e6:,.1f}m alone: saving "
          f"£{totals['saving'] / 1e6:,.1f}m ({totals['saving_pct']:.1f}%); "
          f"{totals['placed']:,.0f} of {totals['demand']:,.0f} places placed, "
          f"{totals['unmet']:,.0f} unmet; {100 * totals['local_share']:.1f}% within 20 miles.\n")
    members = pd.read_csv(results / "authorities.csv")
    dfe = new_placements_within_20_miles(HERE / "sources", 2024)
    table = members.merge(dfe, left_on="authority", right_on="gss_code", how="left")
    print("| authority | saving % | within 20 miles, plan | within 20 miles, DfE 2024 "
          "(new placements) |")
    print("|---|---:|---:|---:|")
    for row in table.itertuples():
        print(f"| {row.name} | {row.saving_pct:.1f}% | {100 * row.local_share:.1f}% | "
              f"{100 * row.share_within_20_miles:.1f}% |")
    gaps = pd.read_csv(results / "gaps.csv").groupby("placement_type")[
        ["demand", "local_capacity", "placed_local", "placed_out_of_area", "unmet"]].sum()
    print("\n| placement type | demand | placed within 20 miles | placed further | unmet |")
    print("|---|---:|---:|---:|---:|")
    for placement_type, row in gaps.iterrows():
        print(f"| {placement_type} | {row.demand:,.0f} | {row.placed_local:,.0f} | "
              f"{row.placed_out_of_area:,.0f} | {row.unmet:,.0f} |")


def missing(results: Path) -> str | None:
    """Why ``results`` cannot be read as a run's results folder, or None."""
    if not results.is_dir():
        return (f"no results folder {results}: run `optimise run instances/north-west` first "
                "(it writes results/north-west), or give the folder of your run")
    absent = [name for name in ("summary.json", "authorities.csv", "gaps.csv")
              if not (results / name).is_file()]
    if absent:
        return (f"{results} is not a results folder of `optimise run` "
                f"(no {', '.join(absent)})")
    return None


if __name__ == "__main__":
    problem = USAGE if len(sys.argv) != 2 else missing(Path(sys.argv[1]))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    main(Path(sys.argv[1]))
