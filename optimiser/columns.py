"""Every result file's columns, declared once: name, kind and meaning.

The writers round each column by its kind (``optimiser.writers.csv_text``), report.xlsx formats
it by its kind (``optimiser.reports.xlsx``), the ``*_COLUMNS`` tuples of the modules that build
the tables are these declarations' names, and docs/model.md's "Columns (`x.csv`)" lines are
checked against them (tests/test_docs.py).

Kinds and their precision: places (6 decimals), money in £ (2: pence), weekly price in £ (6),
percent as 0-100 points (6), share as a 0-1 fraction (6), index in 0-1 (6), km (3); counts,
text and flags (``true``/``false``) are written as they are.

Declared so far: run's files (assignment, authorities, providers, gaps, sufficiency,
investment), stress's and compare's. guarantee's tables (guarantee.csv, contract_forms.csv,
scenarios.csv) still round by column name (:data:`RUN_KINDS`), as do the demand files of
``optimise demand``; an :class:`OutputFile` holds them as it holds these.
"""

from __future__ import annotations

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

RUN_FILES = (ASSIGNMENT, AUTHORITIES, PROVIDERS, GAPS, SUFFICIENCY, INVESTMENT)
#: every declared file by name
FILES: dict[str, OutputFile] = {f.name: f for f in (*RUN_FILES, STRESS, COMPARE, MEMBERS,
                                                    SHAPLEY)}

#: kind by column name over run's files: how tables not declared yet (guarantee's, the demand
#: files) are rounded, as every table was before the declarations
RUN_KINDS: dict[str, str] = {c.name: c.kind for f in RUN_FILES for c in f.columns}


def headers() -> dict[str, str]:
    """The declared headers by column name (columns whose words make their header have none)."""
    return {c.name: c.header for f in FILES.values() for c in f.columns if c.header}


def kind_by_name() -> dict[str, str]:
    """Every declared column's kind by its name (report.xlsx formats columns by name);
    a name declared with two kinds is an error."""
    kinds: dict[str, str] = {}
    for file in FILES.values():
        for c in file.columns:
            if kinds.setdefault(c.name, c.kind) != c.kind:
                raise ValueError(f"{c.name} is {kinds[c.name]} and {c.kind}")
    return kinds
