"""Every result file's columns, declared once: name, kind and meaning.

The writers round each column by its kind (``optimiser.writers.csv_text``), report.xlsx formats
it by its kind (``optimiser.reports.xlsx``), the ``*_COLUMNS`` tuples of the modules that build
the tables are these declarations' names, and docs/model.md's "Columns (`x.csv`)" lines are
checked against them (tests/test_docs.py).

Kinds and their precision: places (6 decimals), money in £ (2: pence), weekly price in £ (6),
percent as 0-100 points (6), share as a 0-1 fraction (6), index in 0-1 (6), km (3); counts,
text and flags (``true``/``false``) are written as they are.

Declared so far: run's files (assignment, authorities, providers, gaps, sufficiency,
investment), stress's, compare's and guarantee's (guarantee.csv, contract_forms.csv,
scenarios.csv). The demand files of ``optimise demand`` still round by column name
(:data:`RUN_KINDS`); an :class:`OutputFile` holds them as it holds these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PLACES_DP = 6
MONEY_DP = 2
RATIO_DP = 6
KM_DP = 3

PLACES = "places"
MONEY = "money"
WEEKLY_PRICE = "weekly price"
PERCENT = "percent"
SHARE = "share"
INDEX = "index"
KM = "km"
COUNT = "count"
TEXT = "text"
FLAG = "flag"

#: decimals each kind is rounded to (kinds absent: written as they are)
DIGITS: dict[str, int] = {PLACES: PLACES_DP, MONEY: MONEY_DP, WEEKLY_PRICE: RATIO_DP,
                          PERCENT: RATIO_DP, SHARE: RATIO_DP, INDEX: RATIO_DP, KM: KM_DP}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    meaning: str
    #: report.xlsx's header when the name's words do not make it (``reports.xlsx.plain``)
    header: str | None = None

    @property
    def digits(self) -> int | None:
        return DIGITS.get(self.kind)


@dataclass(frozen=True)
class OutputFile:
    """A result file: its name and its columns in order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def digits(self) -> dict[str, int | None]:
        return {c.name: c.digits for c in self.columns}

    def rounded(self, row: dict) -> dict:
        """``row`` with each declared column's figure rounded by its kind, as the CSV writes
        it (for summaries that repeat a file's rows: the same figures in both)."""
        digits = self.digits()
        return {k: v if digits.get(k) is None else rounded(v, digits[k]) for k, v in row.items()}


def rounded(value: float | None, digits: int) -> float | None:
    """A figure rounded for a result file: None when undefined (None, NaN, infinite), and a
    zero without its sign."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    result = round(float(value), digits)
    return 0.0 if result == 0 else result


def _file(name: str, *columns: tuple[str, ...]) -> OutputFile:
    return OutputFile(name, tuple(Column(*c) for c in columns))


# ----------------------------------------------------------------------------- optimise run

ASSIGNMENT = _file(
    "assignment.csv",
    ("authority", TEXT, "the member placing"),
    ("provider", TEXT, "the provider placed with"),
    ("placement_type", TEXT, "the offer's type"),
    ("need", TEXT, "the need served (a placement type)"),
    ("places", PLACES, "places a year"),
    ("weekly_price", WEEKLY_PRICE, "the offer's list weekly price"),
    ("discount_pct", PERCENT, "discount of the tier active for the offer, 0 if none"),
    ("distance_km", KM, "authority to provider"),
    ("local", FLAG, "within the authority's local radius"),
    ("annual_cost", MONEY, "places * (fee + non_fee)"),
)
AUTHORITIES = _file(
    "authorities.csv",
    ("authority", TEXT, "the member's id"),
    ("name", TEXT, "the member's name"),
    ("demand", PLACES, "places needed"),
    ("placed", PLACES, "places placed"),
    ("unmet", PLACES, "places not placed (emergency placements)"),
    ("local_share", SHARE, "local places / placed"),
    ("annual_cost", MONEY, "its placements, emergency placements and its share of shared costs"),
    ("standalone_cost", MONEY, "its cost planning alone"),
    ("saving", MONEY, "standalone_cost - annual_cost"),
    ("saving_pct", PERCENT, "100 * saving / standalone_cost"),
)
PROVIDERS = _file(
    "providers.csv",
    ("provider", TEXT, "the provider's id"),
    ("name", TEXT, "the provider's name"),
    ("kind", TEXT, "the provider's kind"),
    ("contracted", FLAG, "holds a contract (places > 0, or pays its contract cost)"),
    ("places", PLACES, "places a year"),
    ("capacity", PLACES, "its offers' capacity as the coalition sees it, capped by max_places"),
    ("utilisation", SHARE, "places / capacity"),
    ("tier_min_places", PLACES, "the active tiers' min_places over its tier groups"),
    ("discount_pct", PERCENT, "100 * (list fees - discounted fees) / list fees"),
    ("guarantee", FLAG, "an active tier is a guarantee"),
    ("void_places", PLACES, "guaranteed but unused places"),
    ("annual_fees", MONEY, "discounted fees of its places + void payments"),
)
GAPS = _file(
    "gaps.csv",
    ("authority", TEXT, "the member"),
    ("placement_type", TEXT, "the need"),
    ("demand", PLACES, "places needed"),
    ("local_capacity", PLACES, "capacity of the offers eligible within the local radius"),
    ("placed_local", PLACES, "places placed locally"),
    ("placed_out_of_area", PLACES, "places placed beyond the local radius"),
    ("unmet", PLACES, "places not placed"),
)
SUFFICIENCY = _file(
    "sufficiency.csv",
    ("authority", TEXT, "the member"),
    ("placement_type", TEXT, "the need"),
    ("demand", PLACES, "places needed"),
    ("local_max_consortium", PLACES, "local places of the need in a max flow of the run's market"),
    ("local_max_alone", PLACES, "the same in the authority's own market alone"),
    ("placed_local", PLACES, "the plan's local places"),
    ("bottleneck", TEXT, "';'-separated edges of the minimum cut limiting the need"),
)
INVESTMENT = _file(
    "investment.csv",
    ("rank", COUNT, "1 = the largest saving"),
    ("authority", TEXT, "where the place would be"),
    ("placement_type", TEXT, "the place's type"),
    ("saving_per_place_year", MONEY, "s(a,t) from the duals", "Saving per place a year"),
    ("exact", FLAG, "saving_per_place_year is the dual at STEP (false: its upper bound)"),
    ("resolve_saving", MONEY, "v(0) - v(1) re-solved with one place (top candidates only)",
     "Saving re-solved"),
    ("price_assumed_weekly", WEEKLY_PRICE, "median weekly price of the type's offers",
     "Weekly price assumed"),
    ("serves", TEXT, "the member and need 'authority:need' taking the place"),
)

# ----------------------------------------------------------------------------- optimise stress

STRESS = _file(
    "stress.csv",
    ("scenario", TEXT, "the scenario's name (base first)"),
    ("kind", TEXT, "base, failure, n-1 or demand"),
    ("detail", TEXT, "what the scenario changes"),
    ("authority", TEXT, "the member (blank: the consortium's row)"),
    ("annual_cost", MONEY, "cost in the scenario"),
    ("cost_change", MONEY, "annual_cost - the base plan's"),
    ("cost_change_pct", PERCENT, "100 * cost_change / the base plan's annual_cost"),
    ("unmet", PLACES, "places not placed"),
    ("unmet_change", PLACES, "unmet - the base plan's"),
    ("local_share", SHARE, "local places / placed"),
    ("local_share_change", SHARE, "local_share - the base plan's"),
    ("standalone_cost", MONEY, "alone in the same scenario's market"),
    ("saving", MONEY, "standalone_cost - annual_cost"),
    ("status", TEXT, "optimal, feasible, infeasible or error"),
)

# ----------------------------------------------------------------------------- optimise compare

COMPARE = _file(
    "compare.csv",
    ("membership", TEXT, "the membership's name"),
    ("kind", TEXT, "consortium, ad-hoc, all or alone"),
    ("members", TEXT, "member ids joined by ';'"),
    ("size", COUNT, "members"),
    ("demand", PLACES, "places needed"),
    ("annual_cost", MONEY, "as in run's summary totals"),
    ("standalone_cost", MONEY, "as in run's summary totals"),
    ("saving", MONEY, "standalone_cost - annual_cost"),
    ("saving_pct", PERCENT, "100 * saving / standalone_cost"),
    ("unmet", PLACES, "places not placed"),
    ("local_share", SHARE, "local places / placed"),
    ("status", TEXT, "the plan's: optimal, feasible, infeasible or error"),
)
MEMBERS = _file(
    "members.csv",
    ("membership", TEXT, "the membership's name"),
    ("kind", TEXT, "the membership's kind"),
    ("authority", TEXT, "the member's id"),
    ("name", TEXT, "the member's name"),
    ("demand", PLACES, "places needed"),
    ("unmet", PLACES, "places not placed"),
    ("local_share", SHARE, "local places / placed"),
    ("local_share_alone", SHARE, "its local share planning alone"),
    ("annual_cost", MONEY, "what it pays in the plan"),
    ("standalone_cost", MONEY, "its cost planning alone"),
    ("saving", MONEY, "standalone_cost - annual_cost"),
    ("saving_pct", PERCENT, "100 * saving / standalone_cost"),
    ("saving_pct_rank", COUNT, "1 = the largest saving % in the membership"),
    ("need_distance", INDEX, "total variation distance of its need mix from the membership's"),
    ("local_target", SHARE, "its local target"),
    ("membership_local_target", SHARE, "the membership's demand-weighted local target"),
    ("flags", TEXT, "low_saving, less_local (';'-joined)"),
)
SHAPLEY = _file(
    "shapley.csv",
    ("consortium", TEXT, "the consortium's name"),
    ("authority", TEXT, "the member's id"),
    ("name", TEXT, "the member's name"),
    ("coalition_cost_alone", MONEY, "c({a})"),
    ("shapley_cost", MONEY, "phi_a of the cost game"),
    ("shapley_saving", MONEY, "c({a}) - phi_a: the Shapley value of the savings game"),
    ("std_error", MONEY, "of the sampled estimate (blank when exact)"),
    ("method", TEXT, "exact or sampled"),
    ("samples", COUNT, "sampled orders (blank when exact)"),
    ("marginal_value", MONEY, "c(N \\ {a}) - c(N)"),
    ("marginal_saving", MONEY, "c({a}) + c(N \\ {a}) - c(N)"),
    ("least_core_cost", MONEY, "the least-core allocation"),
    ("plan_cost", MONEY, "what a pays in the plan"),
    ("plan_saving", MONEY, "standalone_cost - plan_cost"),
    ("half_width_95", MONEY, "95% half-width of the sampled estimate (blank when exact)"),
    ("solver_margin", MONEY, "the most the solver's gap can move the Shapley saving"),
)

# ----------------------------------------------------------------------------- optimise guarantee
# Every figure over the evaluation sample (the sweep's scenarios), weighted by the scenarios'
# probabilities; money in £ a year, places as children in placement at a time.

GUARANTEE = _file(
    "guarantee.csv",
    ("option", TEXT, "its name"),
    ("kind", TEXT, ("none, offered (a guarantee tier of the instance), range (a --places "
                    "level), expected-value (the plan on expected demand) or candidate (an SAA "
                    "replication's plan)")),
    ("recommended", FLAG, "the least objective (sweep) or the chosen candidate (default mode)"),
    ("provider", TEXT, "the guarantee's provider (blank unless the option has one guarantee)"),
    ("placement_type", TEXT, "the guarantee's scope (blank: all the provider's offers)"),
    ("guaranteed_places", PLACES, "the guarantee's places (several: their sum)"),
    ("discount_pct", PERCENT, "the guarantee's discount (blank unless one guarantee)"),
    ("commitments", TEXT, "every guarantee 'provider[:type] N places at D%' joined by '; '"),
    ("contracts", COUNT, "providers contracted (where a contract is modelled)"),
    ("scenarios", COUNT, "in the sample"),
    ("failed_scenarios", COUNT, "without a plan (then the figures are blank)"),
    ("expected_cost", MONEY, "E[C]"),
    ("expected_cost_ci_low", MONEY, "its 95% interval (equal to it for an enumerated sample)"),
    ("expected_cost_ci_high", MONEY, "the interval's top"),
    ("saving", MONEY, "E[C_none - C] against no guarantee (same scenarios, paired)"),
    ("saving_ci_low", MONEY, "its 95% interval"),
    ("saving_ci_high", MONEY, "the interval's top"),
    ("saving_p05", MONEY, "5% quantile of the scenario savings (the risk band)"),
    ("saving_p95", MONEY, "95% quantile of the scenario savings"),
    ("expected_void_places", PLACES, "guaranteed places unused"),
    ("expected_void_cost", MONEY, "their payments"),
    ("p_void", SHARE, "probability of any void place"),
    ("expected_unmet_places", PLACES, "places bought at the emergency price"),
    ("p_unmet", SHARE, "probability of any"),
    ("cvar_cost", MONEY, "CVaR at the risk level: mean of the worst 1 - alpha of the costs"),
    ("objective", MONEY, "(1 - w) expected_cost + w cvar_cost"),
    ("expected_penalty", MONEY, "the local shortfall penalty within expected_cost"),
    ("break_even_discount_pct", PERCENT, ("discount at which the saving is 0, placements "
                                          "kept (blank unless one guarantee)")),
)
CONTRACT_FORMS = _file(
    "contract_forms.csv",
    ("form", TEXT, "block, soft block, outcome-linked or spot (no contract)"),
    ("provider", TEXT, "the reference block's provider"),
    ("method", TEXT, "solved (the model's own solves) or placements kept (repriced)"),
    ("guaranteed_places", PLACES, "N, or the soft block's mean reviewed guarantee (blank: none)"),
    ("expected_cost", MONEY, "the consortium's E[C]"),
    ("expected_cost_ci_low", MONEY, "its 95% interval"),
    ("expected_cost_ci_high", MONEY, "the interval's top"),
    ("against_block", MONEY, "E[C - C_block], paired (negative: cheaper than the block)"),
    ("provider_revenue", MONEY, "the provider's expected payments"),
    ("provider_cost", MONEY, "its expected costs"),
    ("provider_margin", MONEY, "provider_revenue - provider_cost"),
    ("provider_margin_pct", SHARE, "provider_margin / provider_revenue"),
    ("p_provider_loss", SHARE, "share of scenarios with a negative margin"),
    ("loss_flag", FLAG, "p_provider_loss above provider_loss_share"),
)
SCENARIOS = _file(
    "scenarios.csv",
    ("authority", TEXT, "the member (blank: the total row)"),
    ("name", TEXT, "the member's name"),
    ("placement_type", TEXT, "the need"),
    ("region", TEXT, "the need's region"),
    ("expected_places", PLACES, "first contract year's mean"),
    ("sd", PLACES, "first contract year's sd as used"),
    ("distribution", TEXT, "poisson, negative_binomial, binomial or constant"),
    ("planned_places", PLACES, "the mean over the contract's years"),
    ("scenarios", COUNT, "in the evaluation sample"),
    ("sample_mean", PLACES, "the sample's mean count"),
    ("sample_sd", PLACES, "the sample's sd"),
    ("p05", COUNT, "5% quantile of the sample's counts"),
    ("p50", COUNT, "median count"),
    ("p95", COUNT, "95% quantile"),
    ("min", COUNT, "least count"),
    ("max", COUNT, "largest count"),
)

RUN_FILES = (ASSIGNMENT, AUTHORITIES, PROVIDERS, GAPS, SUFFICIENCY, INVESTMENT)
GUARANTEE_FILES = (GUARANTEE, CONTRACT_FORMS, SCENARIOS)
#: every declared file by name
FILES: dict[str, OutputFile] = {f.name: f for f in (*RUN_FILES, STRESS, COMPARE, MEMBERS,
                                                    SHAPLEY, *GUARANTEE_FILES)}
#: the files report.xlsx formats by kind; guarantee's sheets keep their formats for now (by
#: these names), so its workbook stays byte for byte what it was (issue 17)
FORMATTED: tuple[OutputFile, ...] = tuple(f for f in FILES.values()
                                          if f not in GUARANTEE_FILES)

#: kind by column name over run's files: how tables not declared yet (guarantee's, the demand
#: files) are rounded, as every table was before the declarations
RUN_KINDS: dict[str, str] = {c.name: c.kind for f in RUN_FILES for c in f.columns}


def headers() -> dict[str, str]:
    """The declared headers by column name (columns whose words make their header have none)."""
    return {c.name: c.header for f in FILES.values() for c in f.columns if c.header}


def kind_by_name(files: tuple[OutputFile, ...] | None = None) -> dict[str, str]:
    """Every declared column's kind by its name (report.xlsx formats columns by name), over
    ``files`` (default: every declared file); a name declared with two kinds is an error."""
    kinds: dict[str, str] = {}
    for file in FILES.values() if files is None else files:
        for c in file.columns:
            if kinds.setdefault(c.name, c.kind) != c.kind:
                raise ValueError(f"{c.name} is {kinds[c.name]} and {c.kind}")
    return kinds
