"""The one definition of every instance table's columns and of the policy keys.

Each table row is a pydantic model: a field's annotation gives its type, its default (or
``required``), its range (``ge``/``gt``/``le``/``lt``) and its ``description`` the meaning from
docs/model.md section 3. Loading, validation, the docs and any template derive from these
models, so a column is described here and nowhere else.

Rules that involve more than one row or table (unknown ids, duplicate keys, tier monotonicity,
in-house owners...) live in ``optimiser.validation``.

Numbers are bounded above by generous finite limits so that a typo such as ``1e30`` places is
reported rather than passed to the solver, where it would wreck the numerics. A true/false value
(an Excel TRUE/FALSE cell, YAML's ``yes``/``no``) is no number: pydantic would read it as 1/0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Generous sanity limits: far above any real English figure, far below float trouble.
MAX_PLACES = 1e7
MAX_WEEKLY_PRICE = 1e7
MAX_YEARLY_MONEY = 1e12
MAX_KM = 1e5


class Kind(str, Enum):
    independent = "independent"
    voluntary = "voluntary"
    in_house = "in_house"


class Rating(str, Enum):
    outstanding = "outstanding"
    good = "good"
    requires_improvement = "requires_improvement"
    inadequate = "inadequate"
    unrated = "unrated"


#: Ofsted judgements from best to worst; ``unrated`` is outside the order (always allowed).
RATING_ORDER = ("outstanding", "good", "requires_improvement", "inadequate")


def rating_allowed(rating: str, min_rating: str) -> bool:
    """True if a provider with ``rating`` may be used under policy ``min_rating``."""
    if rating == Rating.unrated.value:
        return True
    return RATING_ORDER.index(rating) <= RATING_ORDER.index(min_rating)


#: pydantic error type of a true/false value given for a number (``optimiser.validation``
#: words it)
TRUE_FALSE_NUMBER = "true_false_number"
_NUMBERS = (float, int, float | None, int | None)


class Row(BaseModel):
    """Common configuration: unknown columns are errors, NaN and inf are refused, and so is
    a true/false value for a number."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        use_enum_values=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _true_false_is_no_number(cls, value: object, info: ValidationInfo) -> object:
        # pydantic's lax mode reads True as 1.0, so "places: yes" would plan one place
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation in _NUMBERS:
            raise PydanticCustomError(TRUE_FALSE_NUMBER, "a true/false value is not a number")
        return value


Id = str


def _name_defaults_to_id(row: BaseModel) -> BaseModel:
    if not row.name:
        object.__setattr__(row, "name", row.id)
    return row


class PlacementType(Row):
    id: Id = Field(min_length=1, description="placement type id, unique")
    name: str | None = Field(None, description="display name; defaults to id")
    specialist: bool = Field(False, description="a specialist placement type")
    emergency_weekly_price: float = Field(
        gt=0, le=MAX_WEEKLY_PRICE,
        description="£/week for a place no framework provider can give (unregistered or "
        "emergency spot); unmet demand is bought at this price and reported as a gap",
    )
    case_management_weekly: float = Field(
        0.0, ge=0, le=MAX_WEEKLY_PRICE, description="LA social-work cost per place per week"
    )

    _default_name = model_validator(mode="after")(_name_defaults_to_id)


class Authority(Row):
    id: Id = Field(min_length=1, description="authority id, unique (e.g. ONS code)")
    name: str | None = Field(None, description="display name; defaults to id")
    region: str | None = Field(None, description="region, free text")
    lat: float | None = Field(None, ge=-90, le=90, description="latitude, degrees")
    lon: float | None = Field(None, ge=-180, le=180, description="longitude, degrees")
    min_local_share: float | None = Field(
        None, ge=0, le=1,
        description="target share of its placed demand that is local; defaults to policy",
    )

    _default_name = model_validator(mode="after")(_name_defaults_to_id)


class Demand(Row):
    authority: Id = Field(min_length=1, description="authority id")
    placement_type: Id = Field(min_length=1, description="placement type id (the need)")
    places: float = Field(ge=0, le=MAX_PLACES, description="expected places")
    sd: float | None = Field(
        None, ge=0, le=MAX_PLACES,
        description="standard deviation of places, used by `guarantee`",
    )


class Provider(Row):
    id: Id = Field(min_length=1, description="provider id, unique")
    name: str | None = Field(None, description="display name; defaults to id")
    kind: Kind = Field(Kind.independent, description="independent, voluntary or in_house")
    owner: Id | None = Field(None, description="owning authority id; required iff kind = in_house")
    lat: float | None = Field(None, ge=-90, le=90, description="latitude, degrees")
    lon: float | None = Field(None, ge=-180, le=180, description="longitude, degrees")
    rating: Rating = Field(Rating.unrated, description="latest Ofsted judgement")
    contract_cost_year: float = Field(
        0.0, ge=0, le=MAX_YEARLY_MONEY,
        description="fixed £/year of holding a contract with this provider",
    )
    min_places: float = Field(
        0.0, ge=0, le=MAX_PLACES, description="if used at all, at least this many places in total"
    )
    max_places: float | None = Field(
        None, gt=0, le=MAX_PLACES, description="total places across all types"
    )

    _default_name = model_validator(mode="after")(_name_defaults_to_id)


class Offer(Row):
    provider: Id = Field(min_length=1, description="provider id")
    placement_type: Id = Field(min_length=1, description="placement type id")
    capacity: float = Field(ge=0, le=MAX_PLACES, description="places available to the consortium")
    weekly_price: float = Field(
        ge=0, le=MAX_WEEKLY_PRICE, description="£/week per place before discount"
    )
    case_management_weekly: float | None = Field(
        None, ge=0, le=MAX_WEEKLY_PRICE,
        description="override of the placement type's case management cost",
    )
    breakdown_rate: float = Field(
        0.0, ge=0, le=1, description="expected placement breakdowns per place per year"
    )


class Tier(Row):
    provider: Id = Field(min_length=1, description="provider id")
    placement_type: Id | None = Field(
        None, description="placement type id, or blank: the scope is all the provider's offers"
    )
    min_places: float = Field(
        gt=0, le=MAX_PLACES, description="volume in scope that unlocks the tier"
    )
    discount_pct: float = Field(
        gt=0, lt=100, description="% off weekly_price of every place in scope"
    )
    guarantee: bool = Field(
        False, description="the consortium pays for min_places even if it uses fewer"
    )


class Distance(Row):
    authority: Id = Field(min_length=1, description="authority id")
    provider: Id = Field(min_length=1, description="provider id")
    km: float = Field(
        ge=0, le=MAX_KM,
        description="road distance; missing pairs use great-circle km x road_factor",
    )
    extra_cost_year: float = Field(
        0.0, ge=0, le=MAX_YEARLY_MONEY,
        description="any other £/place/year specific to the pair",
    )


class Substitution(Row):
    need: Id = Field(min_length=1, description="placement type id of the need")
    served_by: Id = Field(
        min_length=1, description="placement type id whose offers may serve that need"
    )


class PaymentBand(Row):
    from_months: float = Field(
        ge=0, le=600,
        description="outcome-linked payment: the band runs from this many months of a child's "
        "stay to the next band's start (the last band has no end); the first band starts at 0",
    )
    share_of_fee: float = Field(
        ge=0, le=1, description="share of the fee paid for a place-year in this band"
    )
    stay_share: float | None = Field(
        None, ge=0, le=1,
        description="your own length-of-stay distribution: the share of placed children's "
        "days that fall in this band; give it on every row (summing to 1) or on none (blank: "
        "an exponential stay with mean `mean_stay_years`)",
    )


class Membership(Row):
    consortium: str = Field(min_length=1, description="consortium name")
    authority: Id = Field(min_length=1, description="member authority id")


Voice = Literal["volume", "equal", "maxmin"]


class Policy(Row):
    """Policy keys (docs/model.md section 3); every key optional."""

    model_config = ConfigDict(**{**Row.model_config, "coerce_numbers_to_str": False})

    weeks_per_year: float = Field(52.0, gt=0, le=53, description="weeks in the planning year")
    local_radius_km: float = Field(
        32.19, ge=0, le=MAX_KM, description="a placement within this distance is local (20 miles)"
    )
    road_factor: float = Field(
        1.2, ge=1, le=10, description="road km per great-circle km, for pairs without a distance"
    )
    travel_cost_per_km_year: float = Field(
        50.0, ge=0, le=MAX_YEARLY_MONEY,
        description="£ per km of distance per place per year (visits, family time, staff time)",
    )
    breakdown_cost: float = Field(
        0.0, ge=0, le=MAX_YEARLY_MONEY,
        description="£ per breakdown (re-placement, social-work time)",
    )
    min_local_share: float = Field(
        0.0, ge=0, le=1, description="default local target for every authority"
    )
    local_shortfall_penalty_year: float = Field(
        10000.0, ge=0, le=MAX_YEARLY_MONEY,
        description="£ per place below the local target; a steering weight, reported apart "
        "from real spend",
    )
    min_rating: Literal["outstanding", "good", "requires_improvement", "inadequate"] = Field(
        "requires_improvement",
        description="providers rated below are not used; unrated providers are allowed",
    )
    share_in_house: bool = Field(False, description="in-house provision may serve other members")
    max_provider_share: float = Field(
        1.0, gt=0, le=1,
        description="no independent or voluntary provider takes more than this share of the "
        "consortium's places",
    )
    voice: Voice = Field("volume", description="volume, equal or maxmin (docs/model.md section 6)")
    individual_rationality: bool = Field(
        True, description="no member pays more than its standalone cost"
    )
    baseline_capacity: Literal["shared", "full"] = Field(
        "shared", description="capacity a coalition sees: its demand share (shared) or all (full)"
    )
    integer_places: bool = Field(False, description="places are whole numbers")
    solver: Literal["highs", "cbc", "ortools"] = Field(
        "highs", description="highs (HiGHS in-process), cbc (PuLP's bundled CBC) or ortools "
        "(SCIP through OR-Tools, the ortools extra)"
    )
    time_limit_s: float = Field(120.0, gt=0, le=1e6, description="solver time limit, seconds")
    mip_gap: float = Field(0.0001, ge=0, lt=1, description="relative MIP gap")
    # `optimise guarantee`: how demand varies (optimiser.scenarios)
    demand_cv: float | None = Field(
        None, ge=0, le=10,
        description="guarantee: coefficient of variation (sd / expected places) of demand rows "
        "without an sd; blank: Poisson (variance = mean)",
    )
    demand_correlation: float = Field(
        0.0, ge=0, le=1,
        description="guarantee: correlation of the shared regional factor: the latent normal "
        "correlation of any two demand rows of authorities in the same region (0: independent)",
    )
    contract_years: int = Field(
        1, ge=1, le=25,
        description="guarantee: contract horizon in years; scenarios are spread evenly over them",
    )
    demand_growth_pct: float = Field(
        0.0, ge=-50, le=100,
        description="guarantee: yearly growth of expected demand (and of its sd) over the "
        "contract years, % a year",
    )
    # `optimise guarantee`: contract forms beside the block (optimiser/guarantee/contract_forms.py)
    mean_stay_years: float | None = Field(
        None, gt=0, le=50,
        description="guarantee: mean length of a child's stay, years, for outcome-linked "
        "payment (an exponential stay) and the soft block's year-to-year correlation of demand, "
        "exp(-1 / mean stay); blank: England's time in care, 83,630 looked after / "
        "33,620 leaving a year = 2.4875 (DfE 2024)",
    )
    outcome_share: float = Field(
        0.0, ge=0, le=1,
        description="guarantee: share of the outcome-linked fee paid only on a good outcome "
        "(0: none)",
    )
    outcome_probability: float = Field(
        0.5, ge=0, le=1,
        description="guarantee: probability of that outcome (an assumption: no source)",
    )
    review_band: float = Field(
        0.2, ge=0, le=1,
        description="guarantee: a soft block's yearly review may re-set the guaranteed places "
        "within this share of the signed volume, either way",
    )
    provider_margin: float = Field(
        0.226, ge=-1, lt=1,
        description="guarantee: provider's operating margin at list price and full use (CMA "
        "2022: 22.6% for the largest children's homes providers, 19.4% for fostering agencies)",
    )
    provider_fixed_cost_share: float = Field(
        1.0, ge=0, le=1,
        description="guarantee: share of a place's cost the provider bears whether the place is "
        "used or not (staffing; 1: a place held open costs as much as a used one)",
    )
    provider_loss_share: float = Field(
        0.1, ge=0, le=1,
        description="guarantee: a contract form is flagged when the provider makes a loss in "
        "more than this share of years",
    )


@dataclass(frozen=True)
class TableSpec:
    """How a table sits in an instance: its row model, key columns and whether required."""

    name: str
    row: type[Row]
    key: tuple[str, ...]
    required: bool


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("placement_types", PlacementType, ("id",), True),
        TableSpec("authorities", Authority, ("id",), True),
        TableSpec("demand", Demand, ("authority", "placement_type"), True),
        TableSpec("providers", Provider, ("id",), True),
        TableSpec("offers", Offer, ("provider", "placement_type"), True),
        TableSpec("tiers", Tier, ("provider", "placement_type", "min_places"), False),
        TableSpec("distances", Distance, ("authority", "provider"), False),
        TableSpec("substitutions", Substitution, ("need", "served_by"), False),
        TableSpec("consortia", Membership, ("consortium", "authority"), False),
        TableSpec("payment_schedule", PaymentBand, ("from_months",), False),
    )
}


def required_columns(row: type[Row]) -> list[str]:
    """Columns a table must have: the fields without a default."""
    return [name for name, field in row.model_fields.items() if field.is_required()]
