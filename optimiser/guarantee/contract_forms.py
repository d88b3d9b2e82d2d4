"""Contract forms beside the block, for `optimise guarantee` (docs/model.md section 9.4).

The *reference block* is the recommended option when it commits one guarantee (else the
single guarantee with the least objective): provider P guarantees N places in its scope at
discount d, list fee F a place-year (the scope's lowest), block price p = F (1 - d/100). Every
form is costed on the very scenarios the block was, with no fresh solve but the soft block's
one per scenario on its previous year:

* **block**: the option as evaluated; the consortium pays C^s.
* **soft block**: the guarantee is reviewed every year: G = clip(round(use the year before),
  ceil(N (1 - b)), floor(N (1 + b))), b = ``review_band``; the use is P's places used under a
  guarantee at the top of the band (a full block's own use would understate the need, and the
  guarantee could then only ratchet down). The year before is *paired*: every evaluation
  scenario k (this year) has its own previous year, drawn with latent correlation
  rho = exp(-1/mu) to it (mu = ``mean_stay_years``: children stay, so demand persists;
  ``optimiser.scenarios``, "The previous year"), and the use there is one more solve per
  scenario, under the reviewing plan (:func:`review_of`), on the kept models. With
  ``contract_years`` H > 1 a scenario in the contract's first year is the signing year, at N.
  Where no previous years are given (a test's own evaluation set), the scenarios in order are
  the years of one contract instead, scenario k reviewed on scenario k - 1 (independent
  years, rho = 0; :func:`reviewed_guarantees`). A year at G costs what the option
  "P guarantees G places" costs in that scenario, taken from the options evaluated on the
  kept models (a ``--places`` range, clipped to it). Without such options (offered tiers
  only), the block's placements are kept and only the payment changes: the consortium pays
  for max(G, used) places instead of max(N, used), G at most the places P holds (N for a
  block), which can only overstate the cost of a smaller guarantee; the use reviewed is then
  the block's own.
* **outcome-linked payment**: no guarantee, the same placements, each paid at the list fee
  times the schedule's expected share
  f = sum_b share_b P(band b) x (1 - s (1 - q)),
  P(band [a, e)) = exp(-a/mu) - exp(-e/mu): the share of a steady-state caseload's days spent
  between a and e into a stay of exponential length with mean mu (``mean_stay_years``), or the
  bands' own ``stay_share``; s = ``outcome_share`` of the fee paid only on an outcome of
  probability q = ``outcome_probability``. Void places are not paid for.
* **spot (no contract)**: the consortium's cost is the model's no-guarantee option; the
  provider's figures are those of selling the block's placements at list price.

Provider viability: P's cost of a place-year is F (1 - m), m = ``provider_margin``; of a place
it holds open for the consortium, share phi = ``provider_fixed_cost_share`` of that is paid
whether used or not. So its cost is F (1 - m) (phi held + (1 - phi) used), held = max(guarantee,
used) (N for the outcome-linked and spot forms too: the same home is kept open), and its margin
the payments less that cost, per scenario. A form is flagged when P makes a loss in more than
``provider_loss_share`` of the scenarios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from models.guarantee import ScenarioFigures
from optimiser.columns import CONTRACT_FORMS, rounded
from optimiser.guarantee.statistics import estimate, objective_of

if TYPE_CHECKING:
    from models.guarantee import FirstStage
    from optimiser.guarantee.analysis import GuaranteeOutcome
    from optimiser.records import Instance

CONTRACT_FORMS_CSV = "contract_forms.csv"

#: outcome-linked payment by default (the issue's Kansas schedule): 100% of the fee for the
#: first 6 months of a stay, 66% for the next 6, then 50% (the "lower share", a choice)
DEFAULT_SCHEDULE = ((0.0, 1.0), (6.0, 0.66), (12.0, 0.5))
#: England, DfE "Children looked after in England" 2024: at 31 March / ceasing in the year
ENGLAND_LOOKED_AFTER, ENGLAND_LEAVING = 83_630, 33_620
ENGLAND_MEAN_STAY_YEARS = ENGLAND_LOOKED_AFTER / ENGLAND_LEAVING

FORM_BLOCK, FORM_SOFT, FORM_OUTCOME, FORM_SPOT = (
    "block", "soft block", "outcome-linked", "spot (no contract)")

#: contract_forms.csv: one row per contract form for the reference block's provider, every
#: figure over the evaluation sample; its columns as declared (``optimiser.columns``)
CONTRACT_FORM_COLUMNS = CONTRACT_FORMS.names


@dataclass(frozen=True)
class Band:
    """One band of an outcome-linked schedule: from..to months (to None: no end)."""

    from_months: float
    to_months: float | None
    share_of_fee: float
    stay_share: float


def schedule(instance: Instance) -> tuple[list[Band], float, str]:
    """The bands with each one's share of child-days, the mean stay used (years) and where
    the stay distribution comes from."""
    policy = instance.policy
    given = [(b.from_months, b.share_of_fee, b.stay_share) for b in instance.payment_schedule]
    rows = given or [(a, s, None) for a, s in DEFAULT_SCHEDULE]
    mu = mean_stay_years(instance)
    own = bool(rows) and rows[0][2] is not None
    source = ("the schedule's own stay_share" if own else
              f"exponential, mean {mu:.4g} years ("
              + ("policy mean_stay_years" if policy.mean_stay_years else
                 f"England: {ENGLAND_LOOKED_AFTER:,} looked after / {ENGLAND_LEAVING:,} "
                 "leaving, DfE 2024") + ")")
    bands = []
    for i, (start, share, stay) in enumerate(rows):
        end = rows[i + 1][0] if i + 1 < len(rows) else None
        if not own:
            stay = math.exp(-start / 12 / mu) - (0.0 if end is None
                                                   else math.exp(-end / 12 / mu))
        bands.append(Band(start, end, share, stay))
    return bands, mu, source


def mean_stay_years(instance: Instance) -> float:
    """The mean stay, years: the policy's, else England's."""
    return instance.policy.mean_stay_years or ENGLAND_MEAN_STAY_YEARS


def payment_factor(bands: list[Band], outcome_share: float, outcome_probability: float
                   ) -> float:
    """Expected share of the list fee paid per place-year (module docstring: f)."""
    scheduled = sum(b.share_of_fee * b.stay_share for b in bands)
    return scheduled * (1.0 - outcome_share * (1.0 - outcome_probability))


def review_bounds(places: float, band: float) -> tuple[int, int]:
    """Whole places a review may set: ceil(N (1 - b)) .. floor(N (1 + b))."""
    return (math.ceil(places * (1 - band) - 1e-9), math.floor(places * (1 + band) + 1e-9))


def reviewed_guarantees(use: np.ndarray, places: int, low: int, high: int, years: int
                        ) -> np.ndarray:
    """G of every scenario (module docstring: soft block): N in a contract's first year, else
    the previous scenario's ``use`` rounded to whole places and clipped to low..high."""
    count = len(use)
    guarantee = np.empty(count, dtype=np.int64)
    for k in range(count):
        if k == 0 or (years > 1 and k % years == 0):
            guarantee[k] = places
        else:
            guarantee[k] = min(max(int(math.floor(use[k - 1] + 0.5)), low), high)
    return guarantee


def reviewed_on_previous(previous_use: np.ndarray, signing: np.ndarray, places: int,
                         low: int, high: int) -> np.ndarray:
    """G of every scenario (module docstring: soft block): N in a signing year, else the use in
    the scenario's own previous year rounded to whole places and clipped to low..high (an
    unsolved previous year, NaN, leaves N)."""
    reviewed = np.clip(np.floor(np.nan_to_num(previous_use, nan=places) + 0.5), low, high)
    return np.where(signing, places, reviewed).astype(np.int64)


@dataclass(frozen=True)
class Reference:
    """The reference block: provider, scope, N, discount %, list fee F a place-year."""

    option: str
    provider: str
    scope: str | None
    places: int
    discount: float
    list_fee: float
    group: int

    @property
    def price(self) -> float:
        return self.list_fee * (1.0 - self.discount / 100.0)


@dataclass(frozen=True)
class FormFigures:
    """One form's per-scenario figures."""

    form: str
    method: str
    cost: np.ndarray
    revenue: np.ndarray
    held: np.ndarray
    used: np.ndarray
    guaranteed: np.ndarray | None


@dataclass(frozen=True)
class Review:
    """The soft block's review: the places it may set (low..high); ``levels``: figures of P
    guaranteeing G places for each G evaluated (empty: the block's placements are kept); and
    ``reads``, the plan whose use of P's places the review reads (top of the band, or the
    block)."""

    low: int
    high: int
    levels: dict[int, ScenarioFigures]
    reads: FirstStage

    @property
    def solved(self) -> bool:
        return bool(self.levels) and all(g in self.levels
                                         for g in range(self.low, self.high + 1))


def review_of(outcome: GuaranteeOutcome, reference: Reference) -> Review:
    """The soft block's review of ``reference`` (module docstring)."""
    low, high = review_bounds(reference.places, outcome.instance.policy.review_band)
    levels, firsts = levels_of(outcome, reference)
    # solved reviews stay within the evaluated range; kept placements cannot use more than N
    if levels:
        low, high = max(low, min(levels)), min(high, max(levels))
    else:
        high = min(high, reference.places)
    review = Review(low, high, levels, outcome.option(reference.option).option.first)
    return replace(review, reads=firsts[high]) if review.solved else review


def forms(reference: Reference, block: ScenarioFigures, none: ScenarioFigures,
          review: Review, years: int, factor: float,
          previous: tuple[np.ndarray, np.ndarray] | None = None) -> list[FormFigures]:
    """The four forms' per-scenario figures (module docstring). ``previous``: the use the
    review reads in each scenario's paired previous year, and which scenarios are signing
    years; None: the scenarios in order are consecutive years."""
    n, price, fee = reference.places, reference.price, reference.list_fee
    used = block.guaranteed_used
    held = np.maximum(n, used)
    revenue_block = (1.0 - reference.discount / 100.0) * block.guaranteed_spend
    result = [FormFigures(FORM_BLOCK, "solved", block.cost, revenue_block, held, used,
                          np.full(len(used), float(n)))]
    low, high, levels = review.low, review.high, review.levels

    def reviewed(consecutive_use: np.ndarray) -> np.ndarray:
        if previous is None:
            return reviewed_guarantees(consecutive_use, n, low, high, years)
        return reviewed_on_previous(previous[0], previous[1], n, low, high)

    if review.solved:
        # a full block's use understates the need: the review reads the use at the top of
        # the band, the places P would have filled had the guarantee been as large as allowed
        path = reviewed(levels[high].guaranteed_used)
        pick = np.arange(len(path))
        cost = np.array([levels[int(g)].cost[k] for k, g in zip(pick, path)])
        soft_used = np.array([levels[int(g)].guaranteed_used[k] for k, g in zip(pick, path)])
        spend = np.array([levels[int(g)].guaranteed_spend[k] for k, g in zip(pick, path)])
        soft = FormFigures(FORM_SOFT, "solved", cost,
                           (1.0 - reference.discount / 100.0) * spend,
                           np.maximum(path, soft_used), soft_used, path.astype(float))
    else:
        path = reviewed(used)
        paid = np.maximum(path, used)
        cost = block.cost + price * (paid - np.maximum(n, used))
        soft = FormFigures(FORM_SOFT, "placements kept", cost, price * paid, held, used,
                           path.astype(float))
    result.append(soft)
    outcome_revenue = factor * fee * used
    result.append(FormFigures(FORM_OUTCOME, "placements kept",
                              block.cost - revenue_block + outcome_revenue, outcome_revenue,
                              held, used, None))
    result.append(FormFigures(FORM_SPOT, "solved", none.cost, fee * used, held, used, None))
    return result


def provider_margin(figures: FormFigures, list_fee: float, margin: float, fixed: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """P's cost and margin in every scenario (module docstring)."""
    unit = list_fee * (1.0 - margin)
    cost = unit * (fixed * figures.held + (1.0 - fixed) * figures.used)
    return cost, figures.revenue - cost


def reference_block(outcome: GuaranteeOutcome) -> Reference | None:
    """The recommended option if it commits one guarantee, else the single guarantee with the
    least objective; None when no option commits exactly one."""
    singles = [e for e in outcome.evaluated
               if len(e.option.commitments) == 1 and not e.failed]
    if not singles:
        return None
    chosen = next((e for e in singles if e.option.name == outcome.recommended), None)
    if chosen is None:
        chosen = min(singles, key=lambda e: objective_of(outcome, e))
    c = chosen.option.commitments[0]
    row = outcome.stage.commitments.iloc[c]
    return Reference(chosen.option.name, row["provider"], row["scope"], int(round(row["places"])),
                     float(row["discount"]), float(row["void_fee"]), int(row["group"]))


def levels_of(outcome: GuaranteeOutcome, reference: Reference
              ) -> tuple[dict[int, ScenarioFigures], dict[int, FirstStage]]:
    """Figures of a guarantee of G places by P on the evaluation sample, and its first stage,
    for every G evaluated (G = 0: no guarantee), where P's guarantees are a --places range."""
    stage = outcome.stage
    if stage.range_spec is None or stage.range_spec.provider != reference.provider:
        return {}, {}
    commitments = stage.commitments
    by_first = {e.option.first.commit: (e.option.first, e.figures)
                for e in outcome.evaluated if not e.failed}
    by_first.update({first.commit: (first, figures) for first, figures in
                     (outcome.every or {}).items()})
    levels, firsts = {}, {}
    for c, row in commitments.iterrows():
        if row["group"] != reference.group:
            continue
        commit = tuple(int(j == c) for j in range(len(commitments)))
        if commit in by_first:
            g = int(round(row["places"]))
            firsts[g], levels[g] = by_first[commit]
    none = by_first.get((0,) * len(commitments))
    if none is not None and levels:
        firsts[0], levels[0] = none
    return levels, firsts


def contract_forms(outcome: GuaranteeOutcome) -> tuple[dict | None, list[dict], list[str]]:
    """guarantee_summary.json's ``contract_forms``, contract_forms.csv's rows (rounded as the
    file writes them) and the flags (warnings) of the forms that leave the provider
    loss-making too often."""
    reference = reference_block(outcome)
    if reference is None:
        return None, [], []
    instance = outcome.instance
    policy = instance.policy
    weights = outcome.evaluation.weights
    sampled = outcome.evaluation.sampled
    block = outcome.option(reference.option).figures
    none = outcome.option("none").figures
    bands, mu, source = schedule(instance)
    factor = payment_factor(bands, policy.outcome_share, policy.outcome_probability)
    review = review_of(outcome, reference)
    previous = None
    if outcome.previous_year is not None:
        signing = (outcome.evaluation.year == 1) & (policy.contract_years > 1)
        previous = (outcome.previous_year.guaranteed_used, signing)
    figures = forms(reference, block, none, review, policy.contract_years, factor, previous)
    rows, flags = [], []
    for f in figures:
        cost = estimate(f.cost, weights, sampled)
        against = float(np.dot(weights, f.cost - block.cost))
        provider_cost, margin = provider_margin(f, reference.list_fee, policy.provider_margin,
                                                policy.provider_fixed_cost_share)
        revenue = float(np.dot(weights, f.revenue))
        p_loss = float(np.dot(weights, margin < -1e-6))
        flagged = p_loss > policy.provider_loss_share
        mean_margin = float(np.dot(weights, margin))
        rows.append(CONTRACT_FORMS.rounded({
            "form": f.form, "provider": reference.provider, "method": f.method,
            "guaranteed_places": None if f.guaranteed is None else float(
                np.dot(weights, f.guaranteed)),
            "expected_cost": cost.estimate, "expected_cost_ci_low": cost.ci_low,
            "expected_cost_ci_high": cost.ci_high, "against_block": against,
            "provider_revenue": revenue,
            "provider_cost": float(np.dot(weights, provider_cost)),
            "provider_margin": mean_margin,
            "provider_margin_pct": None if revenue <= 0 else mean_margin / revenue,
            "p_provider_loss": p_loss, "loss_flag": flagged,
        }))
        if flagged:
            flags.append(f"contract form {f.form}: provider {reference.provider} makes a loss "
                         f"in {100 * p_loss:.1f}% of scenarios, more than provider_loss_share "
                         f"({100 * policy.provider_loss_share:g}%)")
    data = {
        "reference": {"option": reference.option, "provider": reference.provider,
                      "placement_type": reference.scope, "guaranteed_places": reference.places,
                      "discount_pct": reference.discount,
                      "list_fee_year": rounded(reference.list_fee, 2),
                      "block_price_year": rounded(reference.price, 2)},
        "schedule": [{"from_months": b.from_months, "to_months": b.to_months,
                      "share_of_fee": b.share_of_fee, "stay_share": rounded(b.stay_share, 6)}
                     for b in bands],
        "stay": source, "mean_stay_years": rounded(mu, 6),
        "outcome_share": policy.outcome_share,
        "outcome_probability": policy.outcome_probability,
        "payment_factor": rounded(factor, 6),
        "review": {"band": policy.review_band, "low": review.low, "high": review.high,
                   "method": figures[1].method,
                   "previous_year": "paired" if previous is not None else "consecutive",
                   "year_correlation": rounded(outcome.year_correlation, 6)},
        "provider": {"margin": policy.provider_margin,
                     "fixed_cost_share": policy.provider_fixed_cost_share,
                     "cost_year": rounded(reference.list_fee * (1 - policy.provider_margin), 2),
                     "loss_share": policy.provider_loss_share},
        "forms": rows,
    }
    return data, rows, flags
