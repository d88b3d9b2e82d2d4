"""HiGHS and CBC agree: on random instances both reach the same optimal objective (1e-6
relative), the same standalone costs, and both result folders pass `optimise verify`.

CI runs ``CI_SEEDS`` seeds (about 1 s each: two full runs, each with its baselines and
reference, and two verifications); ``python benchmarks/bench_agreement.py`` runs 300 and prints
the count, the disagreements and the timings (README "Trust").
"""

from __future__ import annotations

import pytest
from agreement import agreement

CI_SEEDS = 100
#: seeds where a solver is known to return a wrong "optimal" (the test fails if that is fixed).
#: Seed 71 was one, for HiGHS 1.15's presolve (maxmin's first stage: theta* 0.01796 claimed
#: optimal against 0.04580); ``optimiser.solvers.highs.MIP_OPTIONS`` switches off the presolve
#: rule behind it, and the seed now agrees.
KNOWN: dict[int, str] = {}


@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(reason=KNOWN[seed], strict=True))
    if seed in KNOWN else seed for seed in range(CI_SEEDS)])
def test_highs_and_cbc_agree_and_both_verify(seed, tmp_path):
    found = agreement(seed, tmp_path)
    assert found.ok, found.problems
    assert found.status == {"highs": "optimal", "cbc": "optimal"}
