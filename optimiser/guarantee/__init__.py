"""`optimise guarantee`: guaranteed volumes (block contracts) under uncertain demand.

A guarantee tier (docs/model.md section 3) is a block contract: the consortium pays for its
``min_places`` whether it uses them or not, and every place in scope costs ``discount_pct``
less. Demand is uncertain (``optimiser.scenarios``), so a guarantee too large leaves void
places paid for, and one too small leaves children in dearer or emergency placements. The
two-stage model (``models.guarantee``) commits to guarantees and contracts first and places
children per scenario second; every cost figure is a scenario's annual cost C^s (fees after
discount, non-fee costs, emergency places, contract costs and void payments, plus the local
shortfall penalty when local targets are set: ``expected_penalty`` says how much).

**Two modes.**

* ``--sweep``: each *option* fixes the first stage: no guarantee; each offered guarantee tier
  committed alone (``--provider P`` keeps P's only); or, with ``--places P=LO..HI``, provider
  P's guarantee at each N in LO..HI (N = 0: none) at one discount (P's guarantee tier's, or
  ``--discount``), P able to take at least N places. Contracts (providers with a contract cost
  or minimum) are those of the option's plan on expected demand. Every option is evaluated
  against the same ``--scenarios`` scenarios (common random numbers: the savings' confidence
  intervals come from paired differences), each scenario an independent second-stage solve.
* default: the sample average approximation (SAA) of the two-stage model chooses the
  commitments: ``--replications`` M independent samples of ``--scenarios`` N scenarios, each
  solved as one extensive form; each distinct first stage found is a *candidate*, evaluated
  on an independent ``--evaluation-scenarios`` sample; the chosen plan is the candidate with the
  least estimated objective (ties: the earliest replication's).

**Statistics** (95% confidence; z = 1.96 for the large evaluation sample, Student t with M - 1
degrees of freedom across replications):

* lower bound: the mean of the M replications' optimal objectives (each the solver's proven
  bound, so a time-limited solve stays a valid bound): E[v_N] <= v*, with its t interval;
* upper bound: the chosen plan's objective estimated on the evaluation sample, with its z
  interval;
* optimality gap (Mak, Morton and Wood's multiple replications procedure): for replication m,
  G_m = (objective of the chosen plan on replication m's own scenarios) - v_m >= 0; the gap
  estimate is mean G_m with a one-sided upper confidence bound mean + t * s / sqrt(M);
* VSS, the value of the stochastic solution: the objective of the expected-value plan (the
  deterministic plan on expected demand, i.e. ``optimise run``'s model) minus the chosen plan's,
  both on the evaluation sample; EVPI, the expected value of perfect information: the chosen
  plan's objective minus the wait-and-see objective (each evaluation scenario solved with its
  own first stage), both with paired intervals.

With a risk weight w the objective is (1 - w) E[C] + w CVaR_alpha(C); for a fixed plan it is
the mean of g^s = (1 - w) C^s + w (eta + (C^s - eta)^+ / (1 - alpha)) with eta the sample's
value at risk (the weighted alpha-quantile of C), which is exactly (1 - w) mean + w CVaR of the
sample, so objectives, gaps, VSS and EVPI all use these g^s. With w = 0 they are the textbook
expected-cost definitions.

**Break-even discount** of an option with one guarantee: the discount at which its expected
cost equals no guarantee's with every scenario's placements kept as they are:
delta* = delta - 100 * saving / E[L], L^s the list fees in the guarantee's scope plus its void
places at list price in the scenarios where the guarantee's tier is the one reached. Keeping the
placements can only overstate the cost of a smaller discount, so the true break-even is at
most delta* (equal when the placements do not change, as in a block that is always used first).

**Contract forms.** Beside the recommended block, a soft block (a yearly volume review),
outcome-linked payment and spot buying are costed on the same evaluation sample, with the
provider's margin under each (``contract_forms`` in this package; files contract_forms.csv
and the summary's ``contract_forms``). The only new solves are the soft block's: its reviewing
plan on each evaluation scenario's paired previous year (``optimiser.scenarios``), batched as the
evaluation is.

**Execution.** Scenario solves, replications and plans on expected demand are independent tasks
run through ``optimiser.executor`` (a local pool of spawned processes, or Dask); the template
and every scenario set are sent once per worker. Where the second stage is an LP and the
back-end HiGHS, each worker keeps one HiGHS model of it and a task is a batch of scenarios
under every first stage, re-solved with new bounds from the previous optimum
(``optimiser.recourse``); else each scenario is a fresh solve. A batch starts from a cleared
basis, so results do not depend on the workers, and scenarios are drawn by index
(``optimiser.scenarios``). Where there are no contracts and at most ``MAX_ENUMERATED`` first
stages, the SAA replications and the wait-and-see value are exact by enumeration: every first
stage evaluated on the scenarios, the least objective taken (no extensive-form MIP).

The package is laid out as ``run`` is: ``analysis`` (the settings, the options, the scenario
solves, the sweep, the SAA and its statistics), ``statistics`` (estimates, value at risk and
CVaR, shared with ``contract_forms``: the forms beside the block), ``tables`` (the result files
and the chart; ``files``, their names) and ``screen`` (what ``optimise guarantee`` prints);
every public name of ``analysis``, ``statistics``, ``files``, ``tables`` and ``screen`` is
importable from here.
"""

from optimiser.guarantee.analysis import (
    CHUNK,
    EVALUATION,
    EVALUATION_SCENARIOS,
    EXPECTED,
    KIND_CANDIDATE,
    KIND_EXPECTED,
    KIND_NONE,
    KIND_OFFERED,
    KIND_RANGE,
    MAX_ENUMERATED,
    MAX_RANGE_OPTIONS,
    MAX_REPLICATIONS,
    MODE_OPTIMISE,
    MODE_SWEEP,
    PLACES_TOLERANCE,
    PREVIOUS,
    REPLICATION,
    REPLICATIONS,
    SAA_SCENARIOS,
    SWEEP_SCENARIOS,
    Chunk,
    Context,
    Evaluated,
    GuaranteeOutcome,
    Option,
    Progress,
    Replication,
    Settings,
    check_providers,
    commitment_name,
    evaluate_batch,
    evaluate_chunk,
    every_first_stage,
    guarantee,
    parse_places,
    plan_on_expected,
    replication_name,
    saa_statistics,
    solve_replication,
    sweep_options,
)
from optimiser.guarantee.files import GUARANTEE_CSV, GUARANTEE_PNG, GUARANTEE_SUMMARY
from optimiser.guarantee.screen import print_guarantee
from optimiser.guarantee.statistics import (
    CONFIDENCE,
    Estimate,
    cvar,
    estimate,
    objective_of,
    risk_terms,
    value_at_risk,
    weighted_quantile,
)
from optimiser.guarantee.tables import (
    GUARANTEE_COLUMNS,
    NOTES,
    SUMMARY_KEYS,
    chart,
    guarantee_files,
    option_rows,
    point_labels,
    summary,
)

__all__ = [
    "CHUNK",
    "CONFIDENCE",
    "EVALUATION",
    "EVALUATION_SCENARIOS",
    "EXPECTED",
    "GUARANTEE_COLUMNS",
    "GUARANTEE_CSV",
    "GUARANTEE_PNG",
    "GUARANTEE_SUMMARY",
    "KIND_CANDIDATE",
    "KIND_EXPECTED",
    "KIND_NONE",
    "KIND_OFFERED",
    "KIND_RANGE",
    "MAX_ENUMERATED",
    "MAX_RANGE_OPTIONS",
    "MAX_REPLICATIONS",
    "MODE_OPTIMISE",
    "MODE_SWEEP",
    "NOTES",
    "PLACES_TOLERANCE",
    "PREVIOUS",
    "REPLICATION",
    "REPLICATIONS",
    "SAA_SCENARIOS",
    "SUMMARY_KEYS",
    "SWEEP_SCENARIOS",
    "Chunk",
    "Context",
    "Estimate",
    "Evaluated",
    "GuaranteeOutcome",
    "Option",
    "Progress",
    "Replication",
    "Settings",
    "chart",
    "check_providers",
    "commitment_name",
    "cvar",
    "estimate",
    "evaluate_batch",
    "evaluate_chunk",
    "every_first_stage",
    "guarantee",
    "guarantee_files",
    "objective_of",
    "option_rows",
    "parse_places",
    "plan_on_expected",
    "point_labels",
    "print_guarantee",
    "replication_name",
    "risk_terms",
    "saa_statistics",
    "solve_replication",
    "summary",
    "sweep_options",
    "value_at_risk",
    "weighted_quantile",
]
