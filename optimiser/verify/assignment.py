"""The plan as the assignment rows give it: active tiers, placements and their costs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from optimiser import outputs
from optimiser.errors import InputError, Problem
from optimiser.schema import Tier
from optimiser.verify.checker import Checker, at, fmt
from optimiser.verify.figures import PLACES_ABS, Figure, places_figure
from optimiser.verify.files import ResultRow
from optimiser.verify.market import Market, TierGroup


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
            f"{where} discount_pct", json_number(entry["discount_pct"], where), tier.discount_pct
        )
        check.same(f"{where} guarantee", entry["guarantee"], tier.guarantee)
        active[group] = ActiveTier(tier, entry, index)
    return active


def _numbers_match(a: float, b: Any) -> bool:
    """Same min_places, allowing for summary.json's rounding to 6 decimals."""
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return False
    return abs(a - b) <= PLACES_ABS


def json_number(value: Any, where: str) -> float | None:
    """A JSON figure: a number, or null for a blank ratio."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            Problem(file=outputs.SUMMARY, column=where, message=f"{value!r} is not a number")
        )
    return float(value)


def summary_figure(summary: dict[str, Any], section: str, key: str) -> tuple[str, float | None]:
    """Where a figure of a summary.json section sits (for messages), and its value."""
    where = f"{outputs.SUMMARY} {section} {key}"
    return where, json_number(summary[section][key], f"{section}.{key}")


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
