"""Contract forms beside the block (`optimise guarantee`, docs/model.md section 9.4): hand-worked
oracles for outcome-linked payment, the soft block and provider viability; bad inputs; the
forms on the Thames Valley case as a user sees them.

**The tiny case** (BLOCK below). One authority; provider B lists 5 places at £1,000 a week
with a guarantee tier of 5 places at 10% off, so it is a block: swept with ``--places B=0..12``,
guaranteeing N places buys N places at £900 a week, paid used or not; spot places S at £1,200.
No travel, case-management or breakdown costs, W = 52 weeks. Four scenarios, in order, with
10, 6, 6 and 10 children (weights 1/4), so C(N, d) = W (900 N + 1200 (d - N)^+).

E[C(N)] / W = 900 N + 1200 E[(d - N)^+]: N = 5: 4500 + 1200 (5+1+1+5)/4 = 8100; N = 6:
5400 + 1200 (4+0+0+4)/4 = 7800; N = 7: 6300 + 1200 (3+0+0+3)/4 = 8100. The block recommended is
N = 6, E[C] = 52 x 7800 = £405,600.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_optimise
from scipy import stats

from optimiser.guarantee import (
    GUARANTEE_SUMMARY,
    Settings,
    guarantee,
    option_rows,
    summary,
)
from optimiser.guarantee.contract_forms import (
    CONTRACT_FORM_COLUMNS,
    CONTRACT_FORMS_CSV,
    payment_factor,
    reviewed_guarantees,
    schedule,
)
from optimiser.loading import load_instance
from optimiser.market import build_market
from optimiser.scenarios import (
    PREVIOUS_YEAR_STREAM,
    ScenarioSet,
    demand_model,
    draw,
    previous_years,
    year_to_year_correlation,
)

W = 52
BLOCK = {
    "placement_types": [{"id": "t", "emergency_weekly_price": 5000}],
    "authorities": [{"id": "A", "lat": 53.0, "lon": -2.0}],
    "demand": [{"authority": "A", "placement_type": "t", "places": 8}],
    "providers": [{"id": "B", "lat": 53.0, "lon": -2.0, "rating": "good"},
                  {"id": "S", "lat": 53.0, "lon": -2.0, "rating": "good"}],
    "offers": [{"provider": "B", "placement_type": "t", "capacity": 5, "weekly_price": 1000},
               {"provider": "S", "placement_type": "t", "capacity": 200, "weekly_price": 1200}],
    "tiers": [{"provider": "B", "placement_type": "t", "min_places": 5, "discount_pct": 10,
               "guarantee": "true"}],
}
POLICY = {"travel_cost_per_km_year": 0, "mip_gap": 1e-9, "mean_stay_years": 2,
          "provider_margin": 0.25, "provider_fixed_cost_share": 0.5}
YEARS = np.array([[10.0], [6.0], [6.0], [10.0]])


def four_years() -> ScenarioSet:
    return ScenarioSet(YEARS, np.full(4, 0.25), np.ones(4, dtype=np.int64), True, "four")


def forms_of(instance) -> dict:
    outcome = guarantee(instance, settings=Settings(sweep=True, places="B=0..12"), workers=1,
                        scenario_sets={"evaluation": four_years()})
    assert outcome.recommended == "B 6"
    data = summary(outcome, option_rows(outcome))
    return data


def test_outcome_linked_payment_by_hand(make_instance):
    """Kansas's schedule: 100% of the fee for months 0-6 of a stay, 66% for 6-12, then 50%;
    stays exponential with mean mu = 2 years, so the share of a caseload's days in
    [a, e) years is exp(-a/2) - exp(-e/2):

        0-6 months:  1 - exp(-0.25)          = 1 - 0.778801 = 0.221199
        6-12 months: exp(-0.25) - exp(-0.5)  = 0.778801 - 0.606531 = 0.172270
        12+ months:  exp(-0.5)               = 0.606531

    f = 1 x 0.221199 + 0.66 x 0.172270 + 0.5 x 0.606531 = 0.221199 + 0.113698 + 0.303265
      = 0.638163. With 10% of the fee paid only on an outcome of probability 0.5:
    f x (1 - 0.1 x (1 - 0.5)) = 0.638163 x 0.95 = 0.606255. B's list fee is £1,000 x 52 =
    £52,000 a place-year: the expected payment is 52,000 x 0.6062547 = £31,525.24 a
    place-year. The block's six places, all used in every scenario, then cost
    6 x £31,525.24 = £189,151.46 a year, and the
    rest (4, 0, 0, 4 spot places at £62,400) is as under the block: 62,400 x 2 = £124,800."""
    instance = load_instance(make_instance(BLOCK, {**POLICY, "outcome_share": 0.1,
                                                   "outcome_probability": 0.5}))
    bands, mu, _ = schedule(instance)
    assert mu == 2
    assert [round(b.stay_share, 6) for b in bands] == [0.221199, 0.17227, 0.606531]
    factor = payment_factor(bands, 0.1, 0.5)
    assert factor == pytest.approx(0.606255, abs=5e-7)
    assert 52_000 * factor == pytest.approx(31_525.24, abs=0.01)
    forms = {r["form"]: r for r in forms_of(instance)["contract_forms"]["forms"]}
    outcome = forms["outcome-linked"]
    assert outcome["expected_cost"] == pytest.approx(6 * 52_000 * factor + 124_800, abs=0.01)
    assert outcome["provider_revenue"] == pytest.approx(6 * 52_000 * factor, abs=0.01)


def test_a_users_own_stay_distribution_replaces_the_exponential(make_instance):
    """stay_share 0.2, 0.2, 0.6 over the bands: f = 0.2 + 0.66 x 0.2 + 0.5 x 0.6 = 0.632."""
    schedule_rows = [{"from_months": 0, "share_of_fee": 1, "stay_share": 0.2},
                     {"from_months": 12, "share_of_fee": 0.5, "stay_share": 0.6},
                     {"from_months": 6, "share_of_fee": 0.66, "stay_share": 0.2}]
    instance = load_instance(make_instance({**BLOCK, "payment_schedule": schedule_rows}, POLICY))
    bands, _, source = schedule(instance)
    assert [b.from_months for b in bands] == [0, 6, 12]
    assert [b.to_months for b in bands] == [6, 12, None]
    assert payment_factor(bands, 0.0, 0.5) == pytest.approx(0.632, abs=1e-12)
    assert "own stay_share" in source


def test_soft_block_review_by_hand(make_instance):
    """The block of N = 6 with a yearly review within 20%: G in ceil(4.8)..floor(7.2) = 5..7.
    The use reviewed is the places B fills under a guarantee at the top of the band (7), i.e.
    min(d, 7) the year before. Years in order:

        year 0 (d = 10): signed, G = 6:             W (900 x 6 + 1200 x 4) = W x 10,200
        year 1 (d = 6):  last year's use 7, G = 7:  W (900 x 7)            = W x 6,300
        year 2 (d = 6):  last year's use 6, G = 6:  W (900 x 6)            = W x 5,400
        year 3 (d = 10): last year's use 6, G = 6:  W (900 x 6 + 1200 x 4) = W x 10,200

    E[C] = W x 32,100 / 4 = W x 8,025 = £417,300, £11,700 more than the block's £405,600 (the
    years are independent draws, so last year's use says nothing of this year's); the mean
    guarantee is (6 + 7 + 6 + 6) / 4 = 6.25 places."""
    assert list(reviewed_guarantees(np.array([7.0, 6, 6, 7]), 6, 5, 7, 1)) == [6, 7, 6, 6]
    # a contract of two years: every other scenario is a signing year at N
    assert list(reviewed_guarantees(np.array([7.0, 6, 6, 7]), 6, 5, 7, 2)) == [6, 7, 6, 6]
    assert list(reviewed_guarantees(np.array([7.0, 7, 7, 7]), 6, 5, 7, 2)) == [6, 7, 6, 7]
    data = forms_of(load_instance(make_instance(BLOCK, POLICY)))["contract_forms"]
    assert (data["review"]["low"], data["review"]["high"], data["review"]["method"]) == (
        5, 7, "solved")
    forms = {r["form"]: r for r in data["forms"]}
    assert forms["block"]["expected_cost"] == pytest.approx(W * 7800, abs=0.01)
    soft = forms["soft block"]
    assert soft["expected_cost"] == pytest.approx(W * 8025, abs=0.01)
    assert soft["against_block"] == pytest.approx(11_700, abs=0.01)
    assert soft["guaranteed_places"] == 6.25


def forms_on(instance, previous: np.ndarray) -> dict:
    """The contract forms on the four years, each paired with its own previous year."""
    previous_year = ScenarioSet(previous, np.full(4, 0.25), np.ones(4, dtype=np.int64), True,
                                "previous year")
    outcome = guarantee(instance, settings=Settings(sweep=True, places="B=0..12"), workers=1,
                        scenario_sets={"evaluation": four_years(),
                                       "previous year": previous_year})
    assert outcome.recommended == "B 6"
    return summary(outcome, option_rows(outcome))["contract_forms"]


def test_soft_block_reviewed_on_each_years_own_previous_year_by_hand(make_instance):
    """The paired construction: year k is reviewed on its own previous year, not on
    scenario k - 1. The use read is min(d_prev, 7) (a guarantee at the top of the band, 7), so
    G = clip(min(d_prev, 7), 5, 7); a year costs W (900 G + 1200 (d - G)^+).

    Demand persists fully (rho = 1: each previous year is the year itself, 10, 6, 6, 10):
        G = 7, 6, 6, 7: W (9,900 + 5,400 + 5,400 + 9,900) / 4 = W x 7,650 = £397,800,
        £7,800 less than the block's £405,600; mean guarantee 6.5 places. The review tracks
        demand, so the soft block beats the fixed block.
    Previous years 9, 7, 5, 10:
        G = 7, 7, 5, 7: W (9,900 + 6,300 + (4,500 + 1,200) + 9,900) / 4 = W x 7,950
        = £413,400, £7,800 more than the block; mean guarantee 6.5 places."""
    instance = load_instance(make_instance(BLOCK, POLICY))
    tracking = forms_on(instance, YEARS)
    assert (tracking["review"]["previous_year"], tracking["review"]["low"],
            tracking["review"]["high"]) == ("paired", 5, 7)
    soft = {r["form"]: r for r in tracking["forms"]}["soft block"]
    assert (soft["expected_cost"], soft["against_block"], soft["guaranteed_places"]) == (
        pytest.approx(W * 7650, abs=0.01), pytest.approx(-7_800, abs=0.01), 6.5)
    other = forms_on(instance, np.array([[9.0], [7.0], [5.0], [10.0]]))
    soft = {r["form"]: r for r in other["forms"]}["soft block"]
    assert (soft["expected_cost"], soft["against_block"], soft["guaranteed_places"]) == (
        pytest.approx(W * 7950, abs=0.01), pytest.approx(7_800, abs=0.01), 6.5)


def test_the_previous_year_is_correlated_exp_minus_one_over_the_mean_stay(make_instance):
    """rho = exp(-1/mu) (M/M/inf): 2.469928 years gives 0.667. With rho = 0 the previous
    years are exactly an independent draw (stream PREVIOUS_YEAR_STREAM): the independent-years
    construction; with rho = 1 each is the year itself; the marginals never change."""
    assert year_to_year_correlation(2.469928) == pytest.approx(0.667063, abs=1e-6)
    assert year_to_year_correlation(0.01) < 1e-40
    instance = load_instance(make_instance(
        {**BLOCK, "demand": [{"authority": "A", "placement_type": "t", "places": 8, "sd": 4}]},
        POLICY))
    model = demand_model(build_market(instance, ["A"]))
    this_year = draw(model, 2000, 0)
    independent = draw(model, 2000, 0, PREVIOUS_YEAR_STREAM)
    assert np.array_equal(previous_years(model, 2000, 0, 0.0).demand, independent.demand)
    assert np.array_equal(previous_years(model, 2000, 0, 1.0).demand, this_year.demand)
    persisting = previous_years(model, 2000, 0, 0.667).demand[:, 0]
    assert np.corrcoef(persisting, this_year.demand[:, 0])[0, 1] == pytest.approx(0.66, abs=0.05)
    assert persisting.mean() == pytest.approx(8, abs=0.3)
    assert persisting.std() == pytest.approx(4, abs=0.3)


def test_soft_block_without_persistence_is_the_independent_years_figure(make_instance):
    """Poisson(8) demand, the block of 6 reviewed within 5..7 on min(d_prev, 7). Independent
    years (mu = 0.01 years, rho = exp(-100)): E[C] = sum_a sum_b p(a) p(b) W (900 G(a)
    + 1200 (b - G(a))^+) with G(a) = clip(min(a, 7), 5, 7) = £430,879 (a review that follows
    noise costs more than the block's £427,462). With mu = 50 years (rho = 0.98) the review
    tracks the year: with rho = 1 it would be sum_b p(b) W (900 G(b) + 1200 (b - G(b))^+) =
    £407,801."""
    count = 1000
    d = np.arange(60)
    p = stats.poisson.pmf(d, 8)
    g = np.clip(np.minimum(d, 7), 5, 7)

    def cost(guarantee_, demand):
        return W * (900 * guarantee_ + 1200 * np.maximum(demand - guarantee_, 0))

    independent = float(p @ cost(g[:, None], d[None, :]) @ p)
    tracking = float(p @ cost(g, d))
    assert (round(independent), round(tracking)) == (430_879, 407_801)
    soft = {}
    for mu in (0.01, 50):
        instance = load_instance(make_instance(BLOCK, {**POLICY, "mean_stay_years": mu}))
        outcome = guarantee(instance, settings=Settings(sweep=True, places="B=5..7",
                                                        scenarios=count), workers=1)
        assert outcome.recommended == "B 6"
        data = summary(outcome, option_rows(outcome))["contract_forms"]
        soft[mu] = {r["form"]: r for r in data["forms"]}["soft block"]
    low, high = soft[0.01]["expected_cost_ci_low"], soft[0.01]["expected_cost_ci_high"]
    assert low < independent < high
    assert not low < tracking < high
    assert soft[50]["against_block"] < 0 < soft[0.01]["against_block"]
    assert soft[50]["expected_cost"] < soft[0.01]["expected_cost"] - 10_000


def test_provider_viability_by_hand(make_instance):
    """B's cost of a place-year is £52,000 x (1 - 0.25) = £39,000, half of it fixed for every
    place held open: cost = 39,000 (0.5 held + 0.5 used).

    block (N = 6, 6 used every year): revenue 6 x 46,800 = 280,800; cost 39,000 x 6 = 234,000;
      margin £46,800 every year, never a loss.
    soft block: revenue 280,800, 327,600 (G = 7, one void), 280,800, 280,800: mean 292,500;
      held 6, 7, 6, 6 and used 6: cost 234,000, 253,500, 234,000, 234,000: mean 238,875;
      margin £53,625.
    outcome-linked (f = 0.6381628, no outcome share): revenue 6 x 52,000 f = 199,106.80;
      cost 234,000: margin -£34,893.20 every year, so a loss in 100% of years: flagged (more
      than provider_loss_share, 10%).
    spot: the same six places at the list fee: 312,000 - 234,000 = £78,000; the consortium
      pays the model's no-guarantee cost, 52 x 1,200 x 8 = £499,200."""
    data = forms_of(load_instance(make_instance(BLOCK, POLICY)))
    forms = {r["form"]: r for r in data["contract_forms"]["forms"]}
    assert data["contract_forms"]["provider"]["cost_year"] == 39_000
    expected = {"block": (280_800, 234_000, 46_800, 0.0),
                "soft block": (292_500, 238_875, 53_625, 0.0),
                "spot (no contract)": (312_000, 234_000, 78_000, 0.0)}
    for form, (revenue, cost, margin, p_loss) in expected.items():
        row = forms[form]
        assert (row["provider_revenue"], row["provider_cost"], row["provider_margin"],
                row["p_provider_loss"], row["loss_flag"]) == pytest.approx(
            (revenue, cost, margin, p_loss, False), abs=0.01), form
    outcome = forms["outcome-linked"]
    assert outcome["provider_margin"] == pytest.approx(-34_893.20, abs=0.01)
    assert outcome["p_provider_loss"] == 1.0 and outcome["loss_flag"] is True
    assert forms["spot (no contract)"]["expected_cost"] == pytest.approx(W * 1200 * 8, abs=0.01)
    assert any("outcome-linked: provider B makes a loss in 100.0% of scenarios" in w
               for w in data["warnings"])


def test_no_single_guarantee_means_no_contract_forms(make_instance):
    tables = {**BLOCK, "tiers": []}
    tables.pop("tiers")
    instance = load_instance(make_instance(tables, POLICY))
    outcome = guarantee(instance, settings=Settings(sweep=True), workers=1,
                        scenario_sets={"evaluation": four_years()})
    assert summary(outcome, option_rows(outcome))["contract_forms"] is None


# --------------------------------------------------------------------------- bad input

SCHEDULE = [{"from_months": 0, "share_of_fee": 1}, {"from_months": 6, "share_of_fee": 0.66}]


@pytest.mark.parametrize("schedule_rows, policy, where, message", [
    ([{"from_months": -1, "share_of_fee": 1}], {}, "payment_schedule.csv, row 2, column "
     "from_months", ">= 0"),
    ([{"from_months": 0, "share_of_fee": 1.5}], {}, "payment_schedule.csv, row 2, column "
     "share_of_fee", "<= 1"),
    ([{"from_months": 3, "share_of_fee": 1}], {}, "payment_schedule.csv, row 2, column "
     "from_months", "the first band must start at 0 months"),
    ([{**SCHEDULE[0], "stay_share": 0.4}, SCHEDULE[1]], {}, "payment_schedule.csv, row 3, "
     "column stay_share", "give stay_share on every band or on none"),
    ([{**SCHEDULE[0], "stay_share": 0.4}, {**SCHEDULE[1], "stay_share": 0.4}], {},
     "payment_schedule.csv, row 3, column stay_share", "must sum to 1"),
    ([SCHEDULE[0], SCHEDULE[0]], {}, "payment_schedule.csv", "duplicate"),
    (None, {"mean_stay_years": 0}, "mean_stay_years", "> 0"),
    (None, {"outcome_share": -0.1}, "outcome_share", ">= 0"),
    (None, {"outcome_probability": 2}, "outcome_probability", "<= 1"),
    (None, {"review_band": 1.5}, "review_band", "<= 1"),
    (None, {"provider_margin": 1}, "provider_margin", "< 1"),
    (None, {"provider_fixed_cost_share": 2}, "provider_fixed_cost_share", "<= 1"),
    (None, {"provider_loss_share": -1}, "provider_loss_share", ">= 0"),
])
def test_bad_contract_form_inputs_exit_2_naming_file_row_and_column(
        make_instance, tmp_path, schedule_rows, policy, where, message):
    tables = dict(BLOCK)
    if schedule_rows is not None:
        tables["payment_schedule"] = schedule_rows
    folder = make_instance(tables, {**POLICY, **policy})
    if policy:  # a policy key is a column of instance.yaml's policy
        where = f"instance.yaml, column {where}: policy {where}"
    result = run_optimise("guarantee", folder, "--sweep", "--scenarios", "2", "--out",
                          tmp_path / "g", "--quiet")
    text = re.sub(r"\s+", " ", result.stderr + result.stdout)
    assert result.returncode == 2, text
    assert where in text and message.lower() in text.lower(), text
    assert "Traceback" not in text


# --------------------------------------------------------------------------- as a user sees it

def test_thames_valley_shows_the_contract_forms(tmp_path):
    """The default mode on the real instance, on small samples: the four forms beside the
    block on screen and in the files; the outcome-linked schedule (61.5% of the fee with
    Thames Valley's stays) leaves the provider loss-making in every year, and says so."""
    out = tmp_path / "tv"
    result = run_optimise("guarantee", REPO / "instances" / "thames-valley", "--scenarios", "5",
                          "--replications", "2", "--evaluation-scenarios", "20", "--workers",
                          "1", "--out", out, env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    screen = re.sub(r"\s+", " ", result.stdout)
    assert "Contract forms for" in screen
    for form in ("block", "soft block", "outcome-linked", "spot (no contract)"):
        assert f" {form} " in screen
    assert "contract form outcome-linked: provider TV-BLOCK makes a loss in 100.0%" in screen
    table = pd.read_csv(out / CONTRACT_FORMS_CSV)
    assert tuple(table.columns) == CONTRACT_FORM_COLUMNS
    assert list(table["form"]) == ["block", "soft block", "outcome-linked",
                                   "spot (no contract)"]
    summary_ = json.loads((out / GUARANTEE_SUMMARY).read_text())
    forms = summary_["contract_forms"]
    assert forms["mean_stay_years"] == pytest.approx(3080 / 1247, abs=1e-6)
    assert forms["payment_factor"] == pytest.approx(0.6147, abs=1e-3)
    # the soft block is reviewed on each year's own previous year, rho = exp(-1 / 2.4699)
    assert (forms["review"]["previous_year"], forms["review"]["year_correlation"]) == (
        "paired", 0.667063)
    assert "16 to 20 places on a previous year correlated 0.67 with it" in screen
    assert table.set_index("form").loc["outcome-linked", "loss_flag"]
    report = re.sub(r"\s+", " ", (out / "report.html").read_text())
    assert "Contract forms" in report and "outcome-linked (provider at risk)" in report
    assert "a year and the year before are correlated 0.67" in report
    assert math.isfinite(table["expected_cost"].sum())
    # a finance officer's words: abbreviations spelt out, percentages as the table has them
    assert "CVaR (conditional value at risk): the average cost of the worst 10% of years" in (
        report)
    assert "value of the stochastic solution (VSS)" in report
    assert "expected value of perfect information (EVPI)" in report
    assert "(the sample average approximation, SAA)" in report
    best = next(r for r in summary_["options"] if r["recommended"])
    shown = f"{100 * best['p_void']:.1f}%"
    assert f"paid for but unused in {shown} of years" in report


def test_options_at_one_point_share_one_chart_label():
    """The default mode's chart labels each option's point; a candidate that is the
    expected-value plan sits on it, and two labels there overprinted each other."""
    from optimiser.guarantee import point_labels

    labels = point_labels(np.array([0.0, 20.0, 20.0]), np.array([0.0, 150.123, 150.123]),
                          ["none", "expected-value plan", "candidate 1"])
    assert labels == {(0.0, 0.0): "none", (20.0, 150.123): "expected-value plan = candidate 1"}
