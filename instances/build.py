"""Rebuild every shipped real-data instance from the raw public files in instances/sources.

    python instances/build.py [--out instances]

Deterministic: the same raw files give the same bytes (tests/test_real_instances.py checks).
Every assumption is a named parameter in optimiser/build/assumptions.py and is listed, with
its value and reason, in each instance's PROVENANCE.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from optimiser.build.regions import build_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=HERE / "sources")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    for folder in build_all(args.sources, args.out):
        print(f"wrote {folder}")


if __name__ == "__main__":
    main()
