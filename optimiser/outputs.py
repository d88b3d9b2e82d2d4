"""The result files of `optimise run` (docs/model.md section 7): names, columns and meanings.

Writers and `optimise verify` both read these definitions, so a column is defined once (its kind
and meaning in ``optimiser.columns``).

Conventions (for every CSV): UTF-8, one header row, ``,`` separator, rows in instance order,
booleans as ``true``/``false``, an undefined ratio (e.g. a share of zero placed) left blank.
Places are rounded to 6 decimals, money to 2 (pence), percentages and shares to 6, km to 3.

Cost of one place per year (docs/model.md section 4), for authority a placed with provider p
in offer type t for need n:
    fee      = W * weekly_price[p,t] * (1 - discount_pct/100)
    non_fee  = W * cm[p,t] + travel_cost_per_km_year * km[a,p]
               + breakdown_rate[p,t] * breakdown_cost + extra_cost_year[a,p]
where ``discount_pct`` is that of the tier active for the tier group whose scope holds (p,t),
and 0 if none.
"""

from __future__ import annotations

from optimiser import columns
from optimiser.columns import KM_DP, MONEY_DP, PLACES_DP, RATIO_DP  # noqa: F401 (their home)

ASSIGNMENT = "assignment.csv"
AUTHORITIES = "authorities.csv"
PROVIDERS = "providers.csv"
GAPS = "gaps.csv"
SUMMARY = "summary.json"

#: one row per (authority, provider, offer type, need) with places > 0;
#: annual_cost = places * (fee + non_fee).
ASSIGNMENT_COLUMNS = columns.ASSIGNMENT.names

#: one row per member.
#: annual_cost = sum of its assignment annual_cost + sum_n W*emergency_weekly_price[n]*unmet[n]
#:               + share_a * (contract costs of contracted providers + void payments),
#: share_a = demand_a / demand of all members; local_share = local places / placed;
#: saving = standalone_cost - annual_cost; saving_pct = 100 * saving / standalone_cost.
AUTHORITY_COLUMNS = columns.AUTHORITIES.names

#: one row per provider of the instance.
#: capacity: the offers' total capacity as the coalition sees it (section 5), capped by
#: max_places; contracted: holds a contract (places > 0, or pays its contract cost);
#: tier_min_places: sum of the active tiers' min_places over the provider's tier groups;
#: discount_pct: effective discount = 100 * (list fees - discounted fees) / list fees;
#: guarantee: an active tier is a guarantee; void_places: guaranteed but unused places;
#: annual_fees: discounted fees of its places + void payments.
PROVIDER_COLUMNS = columns.PROVIDERS.names

#: one row per (member, need) with demand > 0. local_capacity: capacity (as the coalition
#: sees it) of every offer eligible for the need within the local radius of the authority,
#: before anyone else uses it.
GAP_COLUMNS = columns.GAPS.names

#: summary.json keys. ``tiers`` lists each tier group's active tier:
#: {provider, placement_type (null: all offers), min_places, discount_pct, guarantee, volume,
#: void_places, void_cost}; ``shared_costs`` {contract, void} are split by demand share;
#: ``not_kept_whole`` lists members whose cost exceeds their standalone cost
#: {authority, excess}; ``penalties`` {local_shortfall_places, local_shortfall_cost};
#: ``investment`` the top rows of investment.csv (``optimiser.investment``), null when the run
#: was made with ``--no-investment`` (verify does not read it); ``membership`` what headings
#: call the members (``--consortium`` NAME, or the ``--members`` chosen), null for all of them.
SUMMARY_KEYS = (
    "instance", "membership", "status", "objective", "mip_gap", "solver", "seconds", "members",
    "totals", "fairness", "tiers", "shared_costs", "not_kept_whole", "penalties", "warnings",
    "policy", "investment",
)
TOTALS_KEYS = (
    "demand", "placed", "unmet", "annual_cost", "standalone_cost", "saving", "saving_pct",
    "local_share",
)
FAIRNESS_KEYS = (
    "min_saving_pct", "max_saving_pct", "jain", "gini", "price_of_fairness",
    "price_of_fairness_pct",
)


def heading(summary: dict) -> str:
    """A run's name on screen and in its reports: the instance, and the membership when one
    was chosen ("North West — Greater Manchester"), so two memberships' results never look
    alike."""
    membership = summary.get("membership")
    return f"{summary['instance']} — {membership}" if membership else summary["instance"]
