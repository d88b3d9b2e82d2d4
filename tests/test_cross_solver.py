"""The back-ends agree: on random instances HiGHS, CBC and SCIP (through OR-Tools) reach the
same optimal objective (1e-6 relative), the same standalone costs, and every result folder
passes `optimise verify`.

CI runs ``CI_SEEDS`` seeds for HiGHS against CBC (about 1 s each: two full runs, each with its
baselines and reference, and two verifications) and the first ``CI_SEEDS_ORTOOLS`` of them for
HiGHS against OR-Tools (whose every solve starts a child process, about 0.3 s); ``python
benchmarks/bench_agreement.py`` runs 300 seeds with all three and prints the count, the
disagreements and the timings (README "Trust").
"""

from __future__ import annotations

import pytest
from agreement import agreement

CI_SEEDS = 100
CI_SEEDS_ORTOOLS = 30
#: seeds where a solver is known to return a wrong "optimal" (the test fails if that is fixed).
#: Seed 71 was one, for HiGHS 1.15's presolve (maxmin's first stage: theta* 0.01796 claimed
#: optimal against 0.04580); ``optimiser.solvers.highs.MIP_OPTIONS`` switches off the presolve
#: rule behind it, and the seed now agrees.
KNOWN: dict[int, str] = {}


@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(reason=KNOWN[seed], strict=True))
    if seed in KNOWN else seed for seed in range(CI_SEEDS)])
def test_highs_and_cbc_agree_and_both_verify(seed, tmp_path):
    found = agreement(seed, tmp_path, ("highs", "cbc"))
    assert found.ok, found.problems
    assert found.status == {"highs": "optimal", "cbc": "optimal"}


@pytest.mark.parametrize("seed", range(CI_SEEDS_ORTOOLS))
def test_highs_and_ortools_agree_and_both_verify(seed, tmp_path):
    found = agreement(seed, tmp_path, ("highs", "ortools"))
    assert found.ok, found.problems
    assert found.status == {"highs": "optimal", "ortools": "optimal"}
