"""`optimise verify`: recompute every figure of a run's result files from the instance alone.

The result files (``optimiser.outputs``) are read back, every figure is rebuilt from the instance
and the plan's places (no solver), and every constraint of docs/model.md section 4 is checked.

This is deliberately an independent implementation: plain loops over rows, nothing imported from
``models/``, the solver back-ends or ``optimiser.run``. A bug in the vectorised solver path then
shows up as a disagreement here instead of being reproduced.

Two figures cannot be rebuilt without a solver and are taken as given: each member's standalone
cost (a solve per member) and the price of fairness (a second solve). Everything derived from
them (saving, saving %, fairness, individual rationality) is still checked.

The policy is the instance's own, never summary.json's: a results folder cannot vouch for the
rules it is checked against. ``optimise verify --set KEY=VALUE`` states a run's ``--set`` the
same way ``optimise run`` took it. Every key where summary.json's policy differs from the
instance's is named. A key some checked figure depends on (weeks_per_year, min_rating, ...)
must match: the run's value if verify was given it with ``--set`` (an accepted override,
listed), else a disagreement. The keys of :data:`PLAN_SEARCH_KEYS` only steer which plan is
found (voice, solver, limits) or belong to ``optimise guarantee``: a difference there is listed
and accepted, since every figure and constraint is checked all the same.

sufficiency.csv, when the folder has it, is rebuilt too: the local max flows of the coalition
and of each member alone with plain augmenting paths in the priority order the file is defined
by (``optimiser.sufficiency``), the plan's local places, and each short need's bottleneck.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimiser import outputs
from optimiser.errors import InputError, Problem
from optimiser.records import Instance
from optimiser.schema import Distance, Offer, Policy, Tier, rating_allowed
from optimiser.sufficiency import (
    FULL_TOLERANCE,
    NO_LOCAL_OFFER,
    SCALE,
    SUFFICIENCY,
    SUFFICIENCY_COLUMNS,
)
from optimiser.writers import restore

EARTH_RADIUS_KM = 6371.0088

# Absolute tolerances: money is written to the penny, places to 6 decimals, km to 3.
MONEY_ABS = 0.01
PLACES_ABS = 1e-5
KM_ABS = 0.5 * 10**-outputs.KM_DP + 1e-9
# Half a unit in the last written decimal of places: how far a file's places may sit from the
# solver's unrounded value, and so how much every figure rebuilt from them may drift.
PLACES_ROUNDING = 0.5 * 10**-outputs.PLACES_DP
# A standalone cost read back from a file is itself rounded to the penny.
MONEY_ROUNDING = 0.5 * 10**-outputs.MONEY_DP
RATIO_ROUNDING = 0.5 * 10**-outputs.RATIO_DP

RUN_STATUSES_WITH_A_PLAN = ("optimal", "feasible")

#: policy keys no figure or constraint verify checks depends on: they steer which plan the
#: solver finds (voice, solver, time limit, gap) or are read by `optimise guarantee` alone
PLAN_SEARCH_KEYS = frozenset({
    "voice", "solver", "time_limit_s", "mip_gap",
    "demand_cv", "demand_correlation", "contract_years", "demand_growth_pct",
})
#: summary.json writes numbers to 6 decimals: a policy value within this is the same
POLICY_ROUNDING = 0.5 * 10**-6 + 1e-12


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class VerifyReport:
    """How many figures and constraints were checked, every one that disagrees, the policy
    differences accepted (``overrides``) and what was not checked (``notes``)."""

    checks: int = 0
    disagreements: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def lines(self) -> list[str]:
        """What ``optimise verify`` prints: accepted overrides and notes first, then the
        verdict, then every disagreement."""
        lines = []
        if self.overrides:
            lines.append("the run's policy differs from the instance's (summary.json policy):")
            lines += [f"  override {line}" for line in self.overrides]
        lines += self.notes
        if self.ok:
            accepted = (f" (with the {len(self.overrides)} policy override(s) above)"
                        if self.overrides else "")
            return [*lines, f"{self.checks} checks, all agree{accepted}"]
        lines.append(f"{len(self.disagreements)} of {self.checks} checks disagree:")
        return lines + [f"  - {d}" for d in self.disagreements]


# --------------------------------------------------------------------------------------------
# Figures carrying their rounding slack


@dataclass(frozen=True)
class Figure:
    """A recomputed figure and how far it may honestly sit from the one the run computed.

    The run computed its figures from unrounded places; we only see places rounded to 6
    decimals. Rebuilding a £260k-a-year residential cost from places off by 5e-7 moves it by
    13p, which a flat penny tolerance would call a disagreement. So each figure carries the
    worst-case effect of that rounding (first order) and comparisons widen by it.
    """

    value: float
    slack: float = 0.0

    def __add__(self, other: Figure | float) -> Figure:
        other = as_figure(other)
        return Figure(self.value + other.value, self.slack + other.slack)

    __radd__ = __add__

    def __sub__(self, other: Figure | float) -> Figure:
        other = as_figure(other)
        return Figure(self.value - other.value, self.slack + other.slack)

    def __rsub__(self, other: Figure | float) -> Figure:
        return as_figure(other) - self

    def __mul__(self, factor: float) -> Figure:
        return Figure(self.value * factor, self.slack * abs(factor))

    __rmul__ = __mul__


def as_figure(value: Figure | float) -> Figure:
    return value if isinstance(value, Figure) else Figure(float(value))


def places_figure(places: float) -> Figure:
    return Figure(places, PLACES_ROUNDING)


def ratio(numerator: Figure, denominator: Figure) -> Figure | None:
    """numerator / denominator, or None (blank) when the denominator is zero."""
    if denominator.value == 0:
        return None
    value = numerator.value / denominator.value
    slack = (numerator.slack + abs(value) * denominator.slack) / abs(denominator.value)
    return Figure(value, slack)


def total(figures: Iterable[Figure]) -> Figure:
    return sum(figures, Figure(0.0))


def propagate(
    function: Callable[[list[float]], float | None], inputs: list[Figure]
) -> Figure | None:
    """function(inputs) with a slack found by nudging each input by its own slack.

    Used for the fairness indices, whose sensitivity to one member's saving % has no simple
    closed form worth maintaining twice.
    """
    values = [f.value for f in inputs]
    centre = function(values)
    if centre is None:
        return None
    slack = 0.0
    for i, figure in enumerate(inputs):
        moved = []
        for step in (figure.slack, -figure.slack):
            nudged = list(values)
            nudged[i] += step
            result = function(nudged)
            moved.append(0.0 if result is None else abs(result - centre))
        slack += max(moved)
    return Figure(centre, slack)


# --------------------------------------------------------------------------------------------
# Reading the result files


@dataclass(frozen=True)
class ResultRow:
    """One parsed CSV row: text columns as str, flags as bool, numbers as float, blank None."""

    line: int
    cells: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.cells[column]


@dataclass(frozen=True)
class ResultFiles:
    folder: Path
    assignment: list[ResultRow]
    authorities: list[ResultRow]
    providers: list[ResultRow]
    gaps: list[ResultRow]
    summary: dict[str, Any]
    sufficiency: list[ResultRow] | None = None  # None: the folder has no sufficiency.csv


_TEXT_COLUMNS = {"authority", "provider", "placement_type", "need", "name", "kind",
                 "bottleneck"}
_FLAG_COLUMNS = {"local", "contracted", "guarantee"}

_CSV_FILES = {
    outputs.ASSIGNMENT: outputs.ASSIGNMENT_COLUMNS,
    outputs.AUTHORITIES: outputs.AUTHORITY_COLUMNS,
    outputs.PROVIDERS: outputs.PROVIDER_COLUMNS,
    outputs.GAPS: outputs.GAP_COLUMNS,
}

# summary.json keys verify reads, with the sub-keys it needs.
_SUMMARY_NEEDS = {
    "instance": None,
    "status": None,
    "members": None,
    "totals": outputs.TOTALS_KEYS,
    "fairness": ("min_saving_pct", "max_saving_pct", "jain", "gini"),
    "tiers": None,
    "shared_costs": ("contract", "void"),
    "not_kept_whole": None,
    "penalties": ("local_shortfall_places", "local_shortfall_cost"),
    "policy": None,
}
_SUMMARY_TIER_KEYS = (
    "provider",
    "placement_type",
    "min_places",
    "discount_pct",
    "guarantee",
    "volume",
    "void_places",
    "void_cost",
)


def _parse_cell(text: str, column: str) -> tuple[Any, str | None]:
    """The cell's value and, if it cannot be read, what is wrong with it."""
    text = text.strip()
    if column in _TEXT_COLUMNS:
        return restore(text), None  # ids and names as the instance has them
    if text == "":
        return None, None
    if column in _FLAG_COLUMNS:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true", None
        return None, f"{text!r} is not true or false"
    try:
        number = float(text)
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(number):
        return None, f"{text!r} is not a finite number"
    return number, None


def _read_csv(path: Path, columns: tuple[str, ...], problems: list[Problem]) -> list[ResultRow]:
    if not path.is_file():
        problems.append(Problem(file=str(path), message="result file missing"))
        return []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [column for column in columns if column not in header]
        if missing:
            problems.append(
                Problem(file=str(path), message=f"missing column(s): {', '.join(missing)}")
            )
            return []
        reader.fieldnames = header
        rows = []
        for line, raw in enumerate(reader, start=2):
            cells = {}
            for column in columns:
                cells[column], error = _parse_cell(raw.get(column) or "", column)
                if error:
                    problems.append(Problem(file=str(path), row=line, column=column, message=error))
            rows.append(ResultRow(line, cells))
        return rows


def _read_summary(path: Path, problems: list[Problem]) -> dict[str, Any]:
    if not path.is_file():
        problems.append(Problem(file=str(path), message="result file missing"))
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problems.append(Problem(file=str(path), message=f"not valid JSON: {error}"))
        return {}
    if not isinstance(summary, dict):
        problems.append(Problem(file=str(path), message="not a JSON object"))
        return {}
    for key, sub_keys in _SUMMARY_NEEDS.items():
        if key not in summary:
            problems.append(Problem(file=str(path), column=key, message="missing key"))
        elif sub_keys is not None:
            value = summary[key]
            absent = [k for k in sub_keys if not isinstance(value, dict) or k not in value]
            if absent:
                problems.append(
                    Problem(
                        file=str(path), column=key, message=f"missing key(s): {', '.join(absent)}"
                    )
                )
    for key in ("members", "tiers", "not_kept_whole"):
        if key in summary and not isinstance(summary[key], list):
            problems.append(Problem(file=str(path), column=key, message="not a list"))
    for i, tier in enumerate(summary.get("tiers") or []):
        absent = [k for k in _SUMMARY_TIER_KEYS if not isinstance(tier, dict) or k not in tier]
        if absent:
            problems.append(
                Problem(
                    file=str(path),
                    column=f"tiers[{i}]",
                    message=f"missing key(s): {', '.join(absent)}",
                )
            )
    for i, entry in enumerate(summary.get("not_kept_whole") or []):
        if not isinstance(entry, dict) or "authority" not in entry or "excess" not in entry:
            problems.append(
                Problem(
                    file=str(path),
                    column=f"not_kept_whole[{i}]",
                    message="needs authority and excess",
                )
            )
    return summary


def read_results(folder: Path) -> ResultFiles:
    """Parse every result file; all problems (missing files, columns, bad cells) at once."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(Problem(file=str(folder), message="results folder not found"))
    problems: list[Problem] = []
    tables = {
        name: _read_csv(folder / name, columns, problems) for name, columns in _CSV_FILES.items()
    }
    summary = _read_summary(folder / outputs.SUMMARY, problems)
    sufficiency = None
    if (folder / SUFFICIENCY).is_file():  # optional: written by `optimise run`, not by every API
        sufficiency = _read_csv(folder / SUFFICIENCY, SUFFICIENCY_COLUMNS, problems)
    if problems:
        raise InputError(problems)
    return ResultFiles(
        folder=folder,
        assignment=tables[outputs.ASSIGNMENT],
        authorities=tables[outputs.AUTHORITIES],
        providers=tables[outputs.PROVIDERS],
        gaps=tables[outputs.GAPS],
        summary=summary,
        sufficiency=sufficiency,
    )


def policy_as_used(instance: Instance, summary: dict[str, Any]) -> Policy:
    """summary.json's policy, over the instance's for any key it leaves out (values checked as
    the policy table's: an unreadable one is an input error)."""
    reported = summary["policy"]
    if not isinstance(reported, dict):
        raise InputError(Problem(file=outputs.SUMMARY, column="policy", message="not an object"))
    try:
        return Policy.model_validate({**instance.policy.model_dump(), **reported})
    except ValidationError as error:
        raise InputError(
            [
                Problem(
                    file=outputs.SUMMARY,
                    column="policy." + ".".join(str(part) for part in issue["loc"]),
                    message=issue["msg"],
                )
                for issue in error.errors()
            ]
        ) from None


def _same_setting(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return abs(a - b) <= POLICY_ROUNDING * max(1.0, abs(a), abs(b))
    return a == b


def check_policy(
    instance: Instance, file_policy: Policy, summary: dict[str, Any], check: Checker
) -> list[str]:
    """Each key where the run's policy (summary.json) differs from the one verify recomputes
    with (``instance.policy``: the instance file's, ``file_policy``, with verify's ``--set``).

    Returns the accepted overrides; a key figures depend on that differs is a disagreement.
    """
    used = policy_as_used(instance, summary)
    told = instance.policy
    accepted = []
    for key in Policy.model_fields:
        run, expected, own = getattr(used, key), getattr(told, key), getattr(file_policy, key)
        check.count += 1
        if _same_setting(run, expected):
            if not _same_setting(expected, own):
                accepted.append(f"{key}: the run used {fmt(run)}, the instance says {fmt(own)}; "
                                f"given with --set {key}={fmt(expected)}, recomputed with it")
            continue
        says = "the instance says" if _same_setting(expected, own) else "verify --set says"
        if key in PLAN_SEARCH_KEYS:
            accepted.append(f"{key}: the run used {fmt(run)}, {says} {fmt(expected)}; no "
                            "figure verify checks depends on it")
            continue
        check.fail(f"{outputs.SUMMARY} policy {key}: the run used {fmt(run)}, {says} "
                   f"{fmt(expected)}; figures recomputed with {fmt(expected)} (a run made with "
                   f"--set {key}={fmt(run)} verifies with the same --set)")
    return accepted


def members_of(instance: Instance, summary: dict[str, Any]) -> tuple[str, ...]:
    """The run's members; an id the instance lacks means the results belong elsewhere."""
    members = tuple(str(m) for m in summary["members"])
    unknown = [m for m in members if m not in instance.authorities]
    if unknown or not members:
        message = (
            f"members {', '.join(unknown)} are not authorities of this instance"
            if unknown
            else "no members"
        )
        raise InputError(Problem(file=outputs.SUMMARY, column="members", message=message))
    return members


# --------------------------------------------------------------------------------------------
# The market as the coalition sees it (docs/model.md sections 4-5)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


TierGroup = tuple[str, str | None]  # (provider, placement type or None: all its offers)


@dataclass
class Market:
    """Instance facts as the run's coalition sees them, indexed for row-by-row checks."""

    instance: Instance
    policy: Policy
    members: tuple[str, ...]
    offers: dict[tuple[str, str], Offer]
    demand: dict[tuple[str, str], float]
    allowed: set[tuple[str, str]]  # (need, offer type) pairs that may serve each other
    capacity_scale: float
    distances: dict[tuple[str, str], Distance]
    _km: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def build(cls, instance: Instance, policy: Policy, members: tuple[str, ...]) -> Market:
        demand: dict[tuple[str, str], float] = defaultdict(float)
        for row in instance.demand:
            demand[(row.authority, row.placement_type)] += row.places
        allowed = {(t, t) for t in instance.placement_types}
        allowed |= {(s.need, s.served_by) for s in instance.substitutions}
        everyone = sum(demand.values())
        coalition = sum(v for (a, _), v in demand.items() if a in members)
        # Under `shared` a coalition competes in the whole market for its demand share of it.
        scale = 1.0
        if policy.baseline_capacity == "shared" and everyone > 0:
            scale = coalition / everyone
        return cls(
            instance=instance,
            policy=policy,
            members=members,
            offers={(o.provider, o.placement_type): o for o in instance.offers},
            demand=dict(demand),
            allowed=allowed,
            capacity_scale=scale,
            distances={(d.authority, d.provider): d for d in instance.distances},
        )

    # -- distances and costs

    def km(self, authority: str, provider: str) -> float:
        """Listed road distance, else great-circle km times road_factor (cached: gaps ask often)."""
        key = (authority, provider)
        if key not in self._km:
            self._km[key] = self._km_uncached(authority, provider)
        return self._km[key]

    def _km_uncached(self, authority: str, provider: str) -> float:
        listed = self.distances.get((authority, provider))
        if listed is not None:
            return listed.km
        a, p = self.instance.authorities[authority], self.instance.providers[provider]
        if None in (a.lat, a.lon, p.lat, p.lon):
            # Validation forbids this; guard anyway rather than price a trip at nan.
            raise InputError(
                f"no distance for {authority} to {provider}: neither listed nor coordinates"
            )
        return great_circle_km(a.lat, a.lon, p.lat, p.lon) * self.policy.road_factor

    def extra_cost_year(self, authority: str, provider: str) -> float:
        listed = self.distances.get((authority, provider))
        return 0.0 if listed is None else listed.extra_cost_year

    def is_local(self, authority: str, provider: str) -> bool:
        return self.km(authority, provider) <= self.policy.local_radius_km

    def case_management_weekly(self, provider: str, placement_type: str) -> float:
        offer = self.offers[(provider, placement_type)]
        if offer.case_management_weekly is not None:
            return offer.case_management_weekly
        return self.instance.placement_types[placement_type].case_management_weekly

    def list_fee_year(self, provider: str, placement_type: str) -> float:
        return self.policy.weeks_per_year * self.offers[(provider, placement_type)].weekly_price

    def non_fee_year(self, authority: str, provider: str, placement_type: str) -> float:
        """c[a,p,t]: case management, travel, breakdowns and pair-specific costs of one place."""
        policy = self.policy
        offer = self.offers[(provider, placement_type)]
        return (
            policy.weeks_per_year * self.case_management_weekly(provider, placement_type)
            + policy.travel_cost_per_km_year * self.km(authority, provider)
            + offer.breakdown_rate * policy.breakdown_cost
            + self.extra_cost_year(authority, provider)
        )

    def emergency_year(self, need: str) -> float:
        return (
            self.policy.weeks_per_year * self.instance.placement_types[need].emergency_weekly_price
        )

    # -- capacity seen by the coalition

    def _seen_share(self, provider: str) -> float:
        """In-house provision: whole if its owner is a member, none otherwise (a coalition
        without the owner has no in-house provision of it to share); others: the scale."""
        p = self.instance.providers[provider]
        if p.kind == "in_house":
            return 1.0 if p.owner in self.members else 0.0
        return self.capacity_scale

    def offer_capacity(self, provider: str, placement_type: str) -> float:
        return self.offers[(provider, placement_type)].capacity * self._seen_share(provider)

    def max_places(self, provider: str) -> float | None:
        limit = self.instance.providers[provider].max_places
        return None if limit is None else limit * self._seen_share(provider)

    def provider_capacity(self, provider: str) -> float:
        offered = sum(self.offer_capacity(p, t) for (p, t) in self.offers if p == provider)
        limit = self.max_places(provider)
        return offered if limit is None else min(offered, limit)

    # -- eligibility

    def ineligibility(
        self, authority: str, provider: str, placement_type: str, need: str
    ) -> str | None:
        """Why (a, p, t, n) may not carry places, or None if it may."""
        p = self.instance.providers[provider]
        if authority not in self.members:
            return f"authority {authority} is not a member of this run"
        if (provider, placement_type) not in self.offers:
            return f"{provider} has no {placement_type} offer"
        if (need, placement_type) not in self.allowed:
            return f"need {need} may not be served by a {placement_type} place (no substitution)"
        if not rating_allowed(p.rating, self.policy.min_rating):
            return f"{provider} is rated {p.rating}, below min_rating {self.policy.min_rating}"
        if p.kind == "in_house" and p.owner != authority and not self.policy.share_in_house:
            return f"in-house provider {provider} serves {authority}, not its owner {p.owner}"
        return None

    # -- tiers

    def tier_group(self, provider: str, placement_type: str) -> TierGroup | None:
        """The tier group whose scope holds offer (p, t), if the provider has tiers for it."""
        tiers = [t for t in self.instance.tiers if t.provider == provider]
        if any(t.placement_type is None for t in tiers):
            return (provider, None)
        if any(t.placement_type == placement_type for t in tiers):
            return (provider, placement_type)
        return None

    def offers_in_scope(self, group: TierGroup) -> list[Offer]:
        provider, scope = group
        return [
            o
            for (p, t), o in self.offers.items()
            if p == provider and (scope is None or t == scope)
        ]

    def local_target(self, authority: str) -> float:
        own = self.instance.authorities[authority].min_local_share
        return self.policy.min_local_share if own is None else own

    def member_demand(self, authority: str) -> float:
        return sum(v for (a, _), v in self.demand.items() if a == authority)


# --------------------------------------------------------------------------------------------
# Recording checks


def fmt(value: Any) -> str:
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Figure):
        value = value.value
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


class Checker:
    """Counts checks and words each disagreement: file, row, column, file value, recomputed."""

    def __init__(self, tolerance: float):
        self.tolerance = tolerance
        self.count = 0
        self.disagreements: list[str] = []

    def fail(self, message: str) -> None:
        self.disagreements.append(message)

    def require(self, condition: bool, message: str) -> bool:
        self.count += 1
        if not condition:
            self.fail(message)
        return condition

    def _compare(
        self,
        where: str,
        found: Any,
        expected: Figure | float | None,
        absolute: float,
        relative: bool,
    ) -> bool:
        self.count += 1
        if found is None or expected is None:
            agree = found is None and expected is None
        else:
            expected = as_figure(expected)
            tolerance = absolute + expected.slack
            if relative:
                tolerance += self.tolerance * max(abs(found), abs(expected.value))
            agree = abs(found - expected.value) <= tolerance
        if not agree:
            self.fail(f"{where}: file {fmt(found)}, recomputed {fmt(expected)}")
        return agree

    def money(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(where, found, expected, MONEY_ABS, relative=True)

    def places(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(where, found, expected, PLACES_ABS, relative=True)

    def ratio(self, where: str, found: Any, expected: Figure | float | None) -> bool:
        return self._compare(
            where, found, expected, self.tolerance + RATIO_ROUNDING, relative=False
        )

    def km(self, where: str, found: Any, expected: float) -> bool:
        return self._compare(where, found, expected, KM_ABS, relative=True)

    def same(self, where: str, found: Any, expected: Any) -> bool:
        self.count += 1
        if found != expected:
            self.fail(f"{where}: file {fmt(found)}, recomputed {fmt(expected)}")
            return False
        return True


def at(file: str, row: str, column: str | None = None) -> str:
    return f"{file} row {row}" + (f" column {column}" if column else "")


# --------------------------------------------------------------------------------------------
# The plan as the assignment rows give it


@dataclass(frozen=True)
class Placement:
    """A valid assignment row with its recomputed figures."""

    authority: str
    provider: str
    placement_type: str
    need: str
    places: Figure
    local: bool
    list_fees: Figure  # before discount
    fees: Figure  # after discount
    annual_cost: Figure


@dataclass(frozen=True)
class ActiveTier:
    tier: Tier
    reported: dict[str, Any]
    index: int  # position in summary.json tiers


def read_active_tiers(
    market: Market, summary: dict[str, Any], check: Checker
) -> dict[TierGroup, ActiveTier]:
    """summary.json `tiers`, matched to the instance's tiers; one active tier per group at most."""
    active: dict[TierGroup, ActiveTier] = {}
    for index, entry in enumerate(summary["tiers"]):
        where = f"{outputs.SUMMARY} tiers[{index}]"
        provider, scope = entry["provider"], entry["placement_type"] or None
        matches = [
            t
            for t in market.instance.tiers
            if t.provider == provider
            and t.placement_type == scope
            and _numbers_match(t.min_places, entry["min_places"])
        ]
        if not check.require(
            bool(matches),
            f"{where}: provider {provider}, placement_type {scope or 'all offers'}, "
            f"min_places {fmt(entry['min_places'])}: no such tier in the instance",
        ):
            continue
        tier = matches[0]
        group = (tier.provider, tier.placement_type)
        if not check.require(
            group not in active,
            f"{where}: a second active tier for {provider} {scope or 'all offers'}; a tier "
            "group has at most one",
        ):
            continue
        check.ratio(
            f"{where} discount_pct", _number(entry["discount_pct"], where), tier.discount_pct
        )
        check.same(f"{where} guarantee", entry["guarantee"], tier.guarantee)
        active[group] = ActiveTier(tier, entry, index)
    return active


def _numbers_match(a: float, b: Any) -> bool:
    """Same min_places, allowing for summary.json's rounding to 6 decimals."""
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return False
    return abs(a - b) <= PLACES_ABS


def _number(value: Any, where: str) -> float | None:
    """A JSON figure: a number, or null for a blank ratio."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            Problem(file=outputs.SUMMARY, column=where, message=f"{value!r} is not a number")
        )
    return float(value)


def _summary_figure(summary: dict[str, Any], section: str, key: str) -> tuple[str, float | None]:
    """Where a figure of a summary.json section sits (for messages), and its value."""
    where = f"{outputs.SUMMARY} {section} {key}"
    return where, _number(summary[section][key], f"{section}.{key}")


def discount_of(
    market: Market, active: dict[TierGroup, ActiveTier], provider: str, placement_type: str
) -> float:
    group = market.tier_group(provider, placement_type)
    return active[group].tier.discount_pct if group in active else 0.0


def check_assignment(
    market: Market, active: dict[TierGroup, ActiveTier], rows: list[ResultRow], check: Checker
) -> list[Placement]:
    """Every row's own figures and eligibility; the rows that can be priced, recomputed."""
    instance = market.instance
    placements = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        a, p, t, n = row["authority"], row["provider"], row["placement_type"], row["need"]
        label = f"{row.line} ({a}, {p}, {t}, {n})"
        unknown = [
            f"{kind} {value}"
            for kind, value, known in (
                ("authority", a, instance.authorities),
                ("provider", p, instance.providers),
                ("placement type", t, instance.placement_types),
                ("need", n, instance.placement_types),
            )
            if value not in known
        ]
        if not check.require(
            not unknown, f"{at(outputs.ASSIGNMENT, label)}: unknown {', '.join(unknown)}"
        ):
            continue
        if not check.require(
            (p, t) in market.offers,
            f"{at(outputs.ASSIGNMENT, label)}: ineligible: {p} has no {t} offer",
        ):
            continue
        key = (a, p, t, n)
        check.require(
            key not in seen, f"{at(outputs.ASSIGNMENT, label)}: duplicate of row {seen.get(key)}"
        )
        seen.setdefault(key, row.line)
        placements.append(_check_assignment_row(market, active, row, label, check))
    return placements


def _check_assignment_row(
    market: Market, active: dict[TierGroup, ActiveTier], row: ResultRow, label: str, check: Checker
) -> Placement:
    a, p, t, n = row["authority"], row["provider"], row["placement_type"], row["need"]
    where = partial(at, outputs.ASSIGNMENT, label)
    reason = market.ineligibility(a, p, t, n)
    check.require(reason is None, f"{at(outputs.ASSIGNMENT, label)}: ineligible: {reason}")

    found_places = row["places"] if row["places"] is not None else 0.0
    check.require(
        row["places"] is not None and found_places > 0,
        f"{where('places')}: file {fmt(row['places'])}, rows carry places > 0",
    )
    if market.policy.integer_places:
        check.require(
            abs(found_places - round(found_places)) <= PLACES_ABS,
            f"{where('places')}: file {fmt(found_places)}, but policy integer_places wants "
            "a whole number",
        )
    places = places_figure(found_places)
    discount = discount_of(market, active, p, t)
    km = market.km(a, p)
    local = km <= market.policy.local_radius_km

    list_fee = market.list_fee_year(p, t)
    fee = list_fee * (1 - discount / 100)
    unit_cost = fee + market.non_fee_year(a, p, t)

    check.money(where("weekly_price"), row["weekly_price"], market.offers[(p, t)].weekly_price)
    check.ratio(where("discount_pct"), row["discount_pct"], discount)
    check.km(where("distance_km"), row["distance_km"], km)
    check.same(where("local"), row["local"], local)
    check.money(where("annual_cost"), row["annual_cost"], places * unit_cost)
    return Placement(
        authority=a,
        provider=p,
        placement_type=t,
        need=n,
        places=places,
        local=local,
        list_fees=places * list_fee,
        fees=places * fee,
        annual_cost=places * unit_cost,
    )


# --------------------------------------------------------------------------------------------
# Tiers, providers, members, gaps


@dataclass(frozen=True)
class GroupOutcome:
    provider: str
    guarantee: bool
    min_places: float
    void_places: Figure
    void_cost: Figure


def check_tiers(
    market: Market, active: dict[TierGroup, ActiveTier], placements: list[Placement], check: Checker
) -> list[GroupOutcome]:
    """Each active tier: its volume, that the volume unlocks it, its void places and cost."""
    outcomes = []
    for group, chosen in active.items():
        tier, entry = chosen.tier, chosen.reported
        where = partial("{} tiers[{}] {}".format, outputs.SUMMARY, chosen.index)
        scope = {(o.provider, o.placement_type) for o in market.offers_in_scope(group)}
        volume = total(x.places for x in placements if (x.provider, x.placement_type) in scope)
        check.places(where("volume"), _number(entry["volume"], where("volume")), volume)
        void_places = Figure(max(0.0, tier.min_places - volume.value), volume.slack)
        label = f"{tier.provider} {tier.placement_type or 'all offers'}"
        if tier.guarantee:
            # A guarantee is met by paying for the unused places (take-or-pay).
            reached = volume.value + void_places.value >= tier.min_places - PLACES_ABS
        else:
            reached = volume.value >= tier.min_places - PLACES_ABS - volume.slack
            void_places = Figure(0.0)
        check.require(
            reached,
            f"{where('volume')}: tier {label} is active but its volume {fmt(volume)} is below "
            f"min_places {fmt(tier.min_places)}",
        )
        # no offer in scope would leave nothing to pay a void at (validation should prevent it)
        lowest_price = min((o.weekly_price for o in market.offers_in_scope(group)), default=0.0)
        void_price = market.policy.weeks_per_year * lowest_price * (1 - tier.discount_pct / 100)
        void_cost = void_places * void_price
        check.places(
            where("void_places"), _number(entry["void_places"], where("void_places")), void_places
        )
        check.money(where("void_cost"), _number(entry["void_cost"], where("void_cost")), void_cost)
        outcomes.append(
            GroupOutcome(tier.provider, tier.guarantee, tier.min_places, void_places, void_cost)
        )
    return outcomes


def check_providers(
    market: Market,
    placements: list[Placement],
    groups: list[GroupOutcome],
    rows: list[ResultRow],
    check: Checker,
) -> set[str]:
    """providers.csv, and the capacity, min_places and concentration constraints.

    Returns the contracted providers: those with places plus those the file says hold a
    contract anyway (outputs.py: contracted means "places > 0, or pays its contract cost").
    """
    instance = market.instance
    by_id = _rows_by_key(rows, "provider", outputs.PROVIDERS, instance.providers, check)
    placed_total = total(x.places for x in placements)
    contracted = set()
    for provider in instance.providers:
        mine = [x for x in placements if x.provider == provider]
        places = total(x.places for x in mine)
        if places.value > PLACES_ABS:
            contracted.add(provider)
        _check_provider_constraints(market, provider, mine, places, placed_total, check)
        row = by_id.get(provider)
        if row is None:
            continue
        if row["contracted"]:
            contracted.add(provider)
        _check_provider_row(market, provider, mine, places, groups, row, check)
    return contracted


def _check_provider_row(
    market: Market,
    provider: str,
    mine: list[Placement],
    places: Figure,
    groups: list[GroupOutcome],
    row: ResultRow,
    check: Checker,
) -> None:
    p = market.instance.providers[provider]
    where = partial(at, outputs.PROVIDERS, provider)
    capacity = market.provider_capacity(provider)
    list_fees = total(x.list_fees for x in mine)
    fees = total(x.fees for x in mine)
    own_groups = [g for g in groups if g.provider == provider]
    check.same(where("name"), row["name"], p.name)
    check.same(where("kind"), row["kind"], p.kind)
    check.places(where("places"), row["places"], places)
    check.places(where("capacity"), row["capacity"], capacity)
    check.ratio(where("utilisation"), row["utilisation"], ratio(places, Figure(capacity)))
    if places.value > PLACES_ABS:
        check.same(where("contracted"), row["contracted"], True)
    check.places(
        where("tier_min_places"), row["tier_min_places"], sum(g.min_places for g in own_groups)
    )
    effective = ratio(list_fees - fees, list_fees)
    check.ratio(
        where("discount_pct"), row["discount_pct"], None if effective is None else effective * 100
    )
    check.same(where("guarantee"), row["guarantee"], any(g.guarantee for g in own_groups))
    check.places(where("void_places"), row["void_places"], total(g.void_places for g in own_groups))
    check.money(
        where("annual_fees"), row["annual_fees"], fees + total(g.void_cost for g in own_groups)
    )


def _check_provider_constraints(
    market: Market,
    provider: str,
    mine: list[Placement],
    places: Figure,
    placed_total: Figure,
    check: Checker,
) -> None:
    p = market.instance.providers[provider]
    where = at(outputs.ASSIGNMENT, f"provider {provider}", "places")
    for owner, offer_type in market.offers:
        if owner != provider:
            continue
        used = total(x.places for x in mine if x.placement_type == offer_type)
        capacity = market.offer_capacity(provider, offer_type)
        check.require(
            used.value <= capacity + PLACES_ABS + used.slack,
            f"{at(outputs.ASSIGNMENT, f'offer ({provider}, {offer_type})', 'places')}: capacity "
            f"breached: {fmt(used)} placed, capacity seen {fmt(capacity)}",
        )
    limit = market.max_places(provider)
    if limit is not None:
        check.require(
            places.value <= limit + PLACES_ABS + places.slack,
            f"{where}: max_places breached: {fmt(places)} placed, max_places seen {fmt(limit)}",
        )
    if places.value > PLACES_ABS and p.min_places > 0:
        check.require(
            places.value >= p.min_places - PLACES_ABS - places.slack,
            f"{where}: min_places not reached: {fmt(places)} placed, "
            f"min_places {fmt(p.min_places)}",
        )
    if p.kind in ("independent", "voluntary"):
        limit = market.policy.max_provider_share * placed_total
        check.require(
            places.value <= limit.value + PLACES_ABS + places.slack + limit.slack,
            f"{at(outputs.PROVIDERS, provider, 'places')}: concentration: {fmt(places)} "
            f"placed, above max_provider_share {fmt(market.policy.max_provider_share)} "
            f"x {fmt(placed_total)} = {fmt(limit)}",
        )


def _rows_by_key(
    rows: list[ResultRow],
    column: str | tuple[str, ...],
    file: str,
    expected: Iterable[Any],
    check: Checker,
    label: Callable[[Any], str] = str,
) -> dict[Any, ResultRow]:
    """Rows keyed by ``column`` (or a tuple key); reports missing, unexpected and duplicate rows."""
    expected = list(expected)
    key_of = (
        (lambda r: tuple(r[c] for c in column))
        if isinstance(column, tuple)
        else (lambda r: r[column])
    )
    by_key: dict[Any, ResultRow] = {}
    for row in rows:
        key = key_of(row)
        if not check.require(
            key not in by_key, f"{file} line {row.line}: duplicate row {label(key)}"
        ):
            continue
        if not check.require(
            key in expected, f"{file} line {row.line}: unexpected row {label(key)}"
        ):
            continue
        by_key[key] = row
    for key in expected:
        check.require(key in by_key, f"{file}: no row for {label(key)}")
    return by_key


@dataclass(frozen=True)
class MemberOutcome:
    authority: str
    demand: float
    placed: Figure
    local: Figure
    annual_cost: Figure
    standalone_cost: Figure | None
    saving: Figure | None
    saving_pct: Figure | None


def member_costs(
    market: Market, placements: list[Placement], contracted: set[str], groups: list[GroupOutcome]
) -> dict[str, Figure]:
    """cost_a: own places, unmet demand at emergency prices, and its share of shared costs."""
    contract = sum(market.instance.providers[p].contract_cost_year for p in sorted(contracted))
    shared = contract + total(g.void_cost for g in groups)
    coalition = sum(market.member_demand(a) for a in market.members)
    costs = {}
    for a in market.members:
        # With no demand at all there is no share to go by; split evenly (never happens in a
        # real run, but keeps the arithmetic defined).
        share = market.member_demand(a) / coalition if coalition > 0 else 1 / len(market.members)
        own = total(x.annual_cost for x in placements if x.authority == a)
        unmet = total(
            market.emergency_year(n)
            * (d - total(x.places for x in placements if x.authority == a and x.need == n))
            for (b, n), d in market.demand.items()
            if b == a
        )
        costs[a] = own + unmet + share * shared
    return costs


def check_authorities(
    market: Market,
    placements: list[Placement],
    costs: dict[str, Figure],
    rows: list[ResultRow],
    check: Checker,
) -> list[MemberOutcome]:
    by_id = _rows_by_key(rows, "authority", outputs.AUTHORITIES, market.members, check)
    outcomes = []
    for a in market.members:
        mine = [x for x in placements if x.authority == a]
        demand = market.member_demand(a)
        placed = total(x.places for x in mine)
        local = total(x.places for x in mine if x.local)
        row = by_id.get(a)
        standalone = None
        if row is not None and row["standalone_cost"] is not None:
            standalone = Figure(row["standalone_cost"], MONEY_ROUNDING)
        saving = None if standalone is None else standalone - costs[a]
        saving_pct = None if saving is None else ratio(saving, standalone)
        saving_pct = None if saving_pct is None else saving_pct * 100
        outcomes.append(
            MemberOutcome(a, demand, placed, local, costs[a], standalone, saving, saving_pct)
        )
        if row is None:
            continue
        where = partial(at, outputs.AUTHORITIES, a)
        check.same(where("name"), row["name"], market.instance.authorities[a].name)
        check.places(where("demand"), row["demand"], demand)
        check.places(where("placed"), row["placed"], placed)
        check.places(where("unmet"), row["unmet"], demand - placed)
        check.ratio(where("local_share"), row["local_share"], ratio(local, placed))
        check.money(where("annual_cost"), row["annual_cost"], costs[a])
        check.require(
            standalone is not None,
            f"{where('standalone_cost')}: blank, a standalone cost is needed",
        )
        check.money(where("saving"), row["saving"], saving)
        check.ratio(where("saving_pct"), row["saving_pct"], saving_pct)
    return outcomes


def check_demand_balance(market: Market, placements: list[Placement], check: Checker) -> None:
    """placed + unmet = demand for every (member, need), with unmet >= 0."""
    needs = {(a, n) for (a, n) in market.demand if a in market.members}
    needs |= {(x.authority, x.need) for x in placements if x.authority in market.members}
    for a, n in sorted(needs):
        placed = total(x.places for x in placements if x.authority == a and x.need == n)
        demand = market.demand.get((a, n), 0.0)
        check.require(
            demand - placed.value >= -(PLACES_ABS + placed.slack),
            f"{at(outputs.ASSIGNMENT, f'authority {a} need {n}', 'places')}: demand balance: "
            f"{fmt(placed)} placed for a demand of {fmt(demand)} "
            f"(unmet {fmt(demand - placed.value)})",
        )


def check_gaps(
    market: Market, placements: list[Placement], rows: list[ResultRow], check: Checker
) -> None:
    keys = [(a, n) for (a, n), d in market.demand.items() if a in market.members and d > 0]
    keys.sort(key=lambda k: (market.members.index(k[0]), k[1]))
    by_key = _rows_by_key(
        rows,
        ("authority", "placement_type"),
        outputs.GAPS,
        keys,
        check,
        label=lambda k: f"({k[0]}, {k[1]})",
    )
    for (a, n), row in by_key.items():
        where = partial(at, outputs.GAPS, f"({a}, {n})")
        mine = [x for x in placements if x.authority == a and x.need == n]
        demand = market.demand[(a, n)]
        local_capacity = sum(
            market.offer_capacity(p, t)
            for (p, t) in market.offers
            if market.ineligibility(a, p, t, n) is None and market.is_local(a, p)
        )
        check.places(where("demand"), row["demand"], demand)
        check.places(where("local_capacity"), row["local_capacity"], local_capacity)
        check.places(
            where("placed_local"), row["placed_local"], total(x.places for x in mine if x.local)
        )
        check.places(
            where("placed_out_of_area"),
            row["placed_out_of_area"],
            total(x.places for x in mine if not x.local),
        )
        check.places(where("unmet"), row["unmet"], demand - total(x.places for x in mine))


# --------------------------------------------------------------------------------------------
# Summary: locality, individual rationality, totals, fairness


def check_locality(
    market: Market, members: list[MemberOutcome], summary: dict[str, Any], check: Checker
) -> None:
    """local places >= target * placed - shortfall, the shortfall reported in penalties."""
    shortfall = Figure(0.0)
    for m in members:
        gap = market.local_target(m.authority) * m.placed - m.local
        if gap.value > 0:
            shortfall = shortfall + gap
    penalties = summary["penalties"]
    where = f"{outputs.SUMMARY} penalties local_shortfall_places"
    reported = _number(penalties["local_shortfall_places"], where)
    check.require(
        reported is not None and reported >= shortfall.value - PLACES_ABS - shortfall.slack,
        f"{where}: file {fmt(reported)}, but members fall {fmt(shortfall)} places short of their "
        f"local targets",
    )
    if reported is not None:
        check.money(
            f"{outputs.SUMMARY} penalties local_shortfall_cost",
            _number(penalties["local_shortfall_cost"], "penalties.local_shortfall_cost"),
            market.policy.local_shortfall_penalty_year * reported,
        )


def check_individual_rationality(
    market: Market, members: list[MemberOutcome], summary: dict[str, Any], check: Checker
) -> None:
    listed: dict[str, tuple[int, Any]] = {}
    for index, entry in enumerate(summary["not_kept_whole"]):
        listed[str(entry["authority"])] = (index, entry["excess"])
    outcomes = {m.authority: m for m in members}
    for authority, (index, excess) in listed.items():
        where = f"{outputs.SUMMARY} not_kept_whole[{index}] ({authority}) excess"
        m = outcomes.get(authority)
        if not check.require(m is not None, f"{where}: {authority} is not a member of this run"):
            continue
        if m.standalone_cost is None:
            continue
        expected = m.annual_cost - m.standalone_cost
        if check.require(
            expected.value > -(MONEY_ABS + expected.slack),
            f"{where}: listed, but its cost {fmt(m.annual_cost)} does not exceed its standalone "
            f"cost {fmt(m.standalone_cost)}",
        ):
            check.money(where, _number(excess, where), expected)
    if not market.policy.individual_rationality:
        return
    for m in members:
        if m.standalone_cost is None or m.authority in listed:
            continue
        excess = m.annual_cost - m.standalone_cost
        tolerance = MONEY_ABS + check.tolerance * abs(m.standalone_cost.value) + excess.slack
        check.require(
            excess.value <= tolerance,
            f"{at(outputs.AUTHORITIES, m.authority, 'annual_cost')}: individual rationality: cost "
            f"{fmt(m.annual_cost)} exceeds standalone cost {fmt(m.standalone_cost)} by "
            f"{fmt(excess)}, and the member is not in {outputs.SUMMARY} not_kept_whole",
        )


def check_totals(
    market: Market,
    members: list[MemberOutcome],
    contracted: set[str],
    groups: list[GroupOutcome],
    summary: dict[str, Any],
    check: Checker,
) -> None:
    def reported(key: str) -> tuple[str, float | None]:
        return _summary_figure(summary, "totals", key)

    placed = total(m.placed for m in members)
    cost = total(m.annual_cost for m in members)
    standalone = (
        total(m.standalone_cost for m in members)
        if all(m.standalone_cost is not None for m in members)
        else None
    )
    saving = None if standalone is None else standalone - cost
    saving_pct = None if saving is None else ratio(saving, standalone)
    check.places(*reported("demand"), sum(m.demand for m in members))
    check.places(*reported("placed"), placed)
    check.places(*reported("unmet"), sum(m.demand for m in members) - placed)
    check.money(*reported("annual_cost"), cost)
    check.money(*reported("standalone_cost"), standalone)
    check.money(*reported("saving"), saving)
    check.ratio(*reported("saving_pct"), None if saving_pct is None else saving_pct * 100)
    check.ratio(*reported("local_share"), ratio(total(m.local for m in members), placed))

    shared = summary["shared_costs"]
    check.money(
        f"{outputs.SUMMARY} shared_costs contract",
        _number(shared["contract"], "shared_costs.contract"),
        sum(market.instance.providers[p].contract_cost_year for p in sorted(contracted)),
    )
    check.money(
        f"{outputs.SUMMARY} shared_costs void",
        _number(shared["void"], "shared_costs.void"),
        total(g.void_cost for g in groups),
    )


def jain(values: list[float]) -> float | None:
    if not values:
        return None
    squares = sum(x * x for x in values)
    return 1.0 if squares == 0 else sum(values) ** 2 / (len(values) * squares)


def gini(values: list[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    if mean <= 0:
        return None
    spread = sum(abs(x - y) for x in values for y in values)
    return spread / (2 * len(values) ** 2 * mean)


def check_fairness(members: list[MemberOutcome], summary: dict[str, Any], check: Checker,
                   published: list[ResultRow] | None = None) -> None:
    """Fairness of saving % over the members with a standalone cost (saving % defined).

    With ``published`` (authorities.csv, whose saving % are each checked against the
    recomputed ones), the indices are recomputed from its saving %: near zero Jain's index
    jumps between 1 (all exactly 0) and anything at all, and Gini between undefined and
    defined, on noise far inside the saving % tolerance (cross-solver agreement, seed 70: all
    savings 0 in the file, +-1e-6 % recomputed).
    """

    def reported(key: str) -> tuple[str, float | None]:
        return _summary_figure(summary, "fairness", key)

    # the indices take saving % as published (see optimiser.fairness.fairness_figures)
    if published is not None:
        pcts = [Figure(row["saving_pct"]) for row in published if row["saving_pct"] is not None]
    else:
        pcts = [Figure(round(m.saving_pct.value, outputs.RATIO_DP), m.saving_pct.slack)
                for m in members if m.saving_pct is not None]
    lowest = min(pcts, key=lambda f: f.value, default=None)
    highest = max(pcts, key=lambda f: f.value, default=None)
    check.ratio(*reported("min_saving_pct"), lowest)
    check.ratio(*reported("max_saving_pct"), highest)
    check.ratio(*reported("jain"), propagate(jain, pcts) if pcts else None)
    check.ratio(*reported("gini"), propagate(gini, pcts) if pcts else None)


# --------------------------------------------------------------------------------------------
# sufficiency.csv: local max flows rebuilt with plain augmenting paths

SINK = ("sink",)
Node = tuple  # ("need", a, n), ("offer", p, t), ("provider", p) or SINK


@dataclass
class LocalNetwork:
    """The local flow network of sufficiency.csv for one coalition, as residual capacities:
    need -> each eligible offer within the local radius (unbounded) -> the provider's
    max_places, where it has one -> sink. There is no source: what a need may still push is its
    demand (in integer units, as the file's definition rounds it) less what it has placed."""

    needs: list[tuple[str, str]]
    units: list[int]
    local_offers: dict[Node, list[Node]]
    residual: dict[Node, dict[Node, float]]
    #: each capacity edge by its tail, in the order the file lists bottlenecks
    labels: dict[Node, str]
    heads: dict[Node, Node]


def local_network(market: Market) -> LocalNetwork:
    needs = [(a, n) for a in market.members for (b, n), d in market.demand.items()
             if b == a and d > 0]
    residual: dict[Node, dict[Node, float]] = defaultdict(dict)
    local_offers: dict[Node, list[Node]] = {}
    used = set()
    # offers with capacity by type (instance order): England has 912 needs and 4,204 offers
    by_type: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for p, t in market.offers:
        if market.offer_capacity(p, t) > 0:
            by_type[t].append((p, t))
    for a, n in needs:
        served_by = [t for t in market.instance.placement_types if (n, t) in market.allowed]
        mine = [(p, t) for t in served_by for (p, t) in by_type[t]
                if market.ineligibility(a, p, t, n) is None and market.is_local(a, p)]
        local_offers[("need", a, n)] = [("offer", p, t) for p, t in mine]
        for p, t in mine:
            residual[("need", a, n)][("offer", p, t)] = math.inf
        used.update(mine)
    labels: dict[Node, str] = {}
    heads: dict[Node, Node] = {}
    for p, t in market.offers:
        if (p, t) not in used:
            continue
        limit = market.max_places(p)
        head = SINK if limit is None else ("provider", p)
        labels[("offer", p, t)], heads[("offer", p, t)] = f"{p}:{t}", head
        residual[("offer", p, t)][head] = round(market.offer_capacity(p, t) * SCALE)
        if head != SINK and head not in labels:
            labels[head], heads[head] = f"{p}:max_places", SINK
            residual[head][SINK] = round(limit * SCALE)
    units = [round(market.demand[key] * SCALE) for key in needs]
    return LocalNetwork(needs, units, local_offers, residual, labels, heads)


def _augmenting_path(residual: dict[Node, dict[Node, float]], start: Node) -> list[Node] | None:
    """A shortest path from ``start`` to the sink along edges with spare capacity."""
    parent: dict[Node, Node | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for head, spare in residual[node].items():
            if spare <= 0 or head in parent:
                continue
            parent[head] = node
            if head == SINK:
                path = [head]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            queue.append(head)
    return None


def priority_split(market: Market, network: LocalNetwork) -> list[int]:
    """Each need's local places (units) when the needs place in turn, each as much as it can
    without taking places from those before it: augmenting paths from the need alone may
    reroute earlier needs' places but never reduce them. The turn: needs fewer placement types
    may serve first, then the network's (the run's) order."""
    residual = network.residual
    servers = defaultdict(int)
    for need, _ in market.allowed:
        servers[need] += 1
    turns = sorted(range(len(network.needs)), key=lambda i: (servers[network.needs[i][1]], i))
    placed = [0] * len(network.needs)
    for i in turns:
        (a, n), units = network.needs[i], network.units[i]
        remaining = units
        while remaining > 0:
            path = _augmenting_path(residual, ("need", a, n))
            if path is None:
                break
            push = min(remaining, *(residual[u][v] for u, v in zip(path, path[1:])))
            for u, v in zip(path, path[1:]):
                residual[u][v] -= push
                residual[v][u] = residual[v].get(u, 0) + push
            remaining -= push
        placed[i] = units - remaining
    return placed


def bottleneck(network: LocalNetwork, need: Node) -> str:
    """The capacity edges leaving what ``need`` still reaches in the residual network, its own
    offers (and their providers' max_places) first."""
    if not network.local_offers[need]:
        return NO_LOCAL_OFFER
    reached = {need}
    queue = deque([need])
    while queue:
        for head, spare in network.residual[queue.popleft()].items():
            if spare > 0 and head not in reached:
                reached.add(head)
                queue.append(head)
    cut = [tail for tail in network.labels
           if tail in reached and network.heads[tail] not in reached]
    own = set(network.local_offers[need])
    own |= {network.heads[offer] for offer in own}
    return ";".join(network.labels[tail] for tail in sorted(cut, key=lambda t: t not in own))


@dataclass(frozen=True)
class LocalMax:
    """One need's local places in a network's priority split, and its bottleneck."""

    places: float
    bottleneck: str


def local_max(market: Market) -> dict[tuple[str, str], LocalMax]:
    network = local_network(market)
    found = {}
    for (a, n), placed in zip(network.needs, priority_split(market, network)):
        places = placed / SCALE
        short = market.demand[(a, n)] - places > FULL_TOLERANCE
        found[(a, n)] = LocalMax(places, bottleneck(network, ("need", a, n)) if short else "")
    return found


def _edge_difference(found: str | None, expected: str) -> str:
    """How two bottleneck lists differ, briefly (a dense area's cut lists hundreds)."""
    mine, theirs = (found or "").split(";"), expected.split(";")
    extra = [e for e in mine if e and e not in theirs]
    missing = [e for e in theirs if e and e not in mine]
    if not extra and not missing:
        return "the same edges in another order"
    parts = []
    for name, edges in (("only in the file", extra), ("only recomputed", missing)):
        if edges:
            more = f" and {len(edges) - 3} more" if len(edges) > 3 else ""
            parts.append(f"{name}: {', '.join(edges[:3])}{more}")
    return "; ".join(parts)


def check_sufficiency(
    market: Market, placements: list[Placement], rows: list[ResultRow], check: Checker
) -> None:
    """sufficiency.csv: demand, the priority split of the coalition's and each member's own
    local max flow, the plan's local places and each short need's bottleneck."""
    together = local_max(market)
    alone: dict[tuple[str, str], LocalMax] = {}
    for a in market.members:
        alone.update(local_max(Market.build(market.instance, market.policy, (a,))))
    by_key = _rows_by_key(rows, ("authority", "placement_type"), SUFFICIENCY, together, check,
                          label=lambda k: f"({k[0]}, {k[1]})")
    for (a, n), row in by_key.items():
        where = partial(at, SUFFICIENCY, f"({a}, {n})")
        local = total(x.places for x in placements if x.authority == a and x.need == n and x.local)
        check.places(where("demand"), row["demand"], market.demand[(a, n)])
        check.places(where("local_max_consortium"), row["local_max_consortium"],
                     together[(a, n)].places)
        check.places(where("local_max_alone"), row["local_max_alone"], alone[(a, n)].places)
        check.places(where("placed_local"), row["placed_local"], local)
        expected = together[(a, n)].bottleneck
        found = row["bottleneck"] or ""
        check.require(found == expected,
                      f"{where('bottleneck')}: {_edge_difference(found, expected)}")


# --------------------------------------------------------------------------------------------
# Entry point


def verify_results(instance: Instance, results_dir: Path, tolerance: float = 1e-6,
                   file_policy: Policy | None = None) -> VerifyReport:
    """Recompute every figure in ``results_dir`` from ``instance`` alone; check every constraint.

    Figures are recomputed with ``instance.policy``; ``file_policy`` is the instance file's own
    policy when ``instance`` carries ``--set`` overrides (default: ``instance.policy``), so that
    the report can tell the two apart (module docstring).
    ``tolerance`` is the relative tolerance on money and places and the absolute one on ratios
    and percentages, on top of the absolute penny / 1e-5 place allowances and the slack that
    the files' own rounding of places justifies.
    Raises :class:`InputError` when a result file or column is missing or unreadable.
    """
    files = read_results(Path(results_dir))
    summary = files.summary
    check = Checker(tolerance)
    status = summary["status"]
    if not check.require(
        status in RUN_STATUSES_WITH_A_PLAN,
        f"{outputs.SUMMARY} status: {status!r}, the run holds no plan to verify",
    ):
        return VerifyReport(check.count, check.disagreements)

    check.same(f"{outputs.SUMMARY} instance", summary["instance"], instance.name)
    overrides = check_policy(instance, file_policy or instance.policy, summary, check)
    market = Market.build(instance, instance.policy, members_of(instance, summary))
    active = read_active_tiers(market, summary, check)
    placements = check_assignment(market, active, files.assignment, check)
    groups = check_tiers(market, active, placements, check)
    contracted = check_providers(market, placements, groups, files.providers, check)
    costs = member_costs(market, placements, contracted, groups)
    members = check_authorities(market, placements, costs, files.authorities, check)
    check_demand_balance(market, placements, check)
    check_gaps(market, placements, files.gaps, check)
    check_locality(market, members, summary, check)
    check_individual_rationality(market, members, summary, check)
    check_totals(market, members, contracted, groups, summary, check)
    check_fairness(members, summary, check, files.authorities)
    notes = []
    if files.sufficiency is None:
        notes.append(f"{SUFFICIENCY}: not in the results folder, not checked")
    else:
        check_sufficiency(market, placements, files.sufficiency, check)
    return VerifyReport(check.count, check.disagreements, overrides, notes)
