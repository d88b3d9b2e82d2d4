"""`optimise guarantee` on the screen: printed from the very summary written, so screen and files
never disagree; every figure written by ``optimiser.reports.formats``."""

from __future__ import annotations

import json
from functools import partial

from rich.console import Console
from rich.markup import escape

from optimiser.display import Column, print_table, value_shown
from optimiser.guarantee.analysis import KIND_CANDIDATE, KIND_EXPECTED, MODE_SWEEP
from optimiser.guarantee.contract_forms import CONTRACT_FORMS_CSV
from optimiser.guarantee.files import GUARANTEE_CSV
from optimiser.reports.formats import (
    counted,
    money,
    money_compact,
    money_millions,
    pct,
    share,
)
from optimiser.reports.guarantee_report import bound_above_plan

#: a change of money in a narrow column: +£362k, -£1.2m
_change = partial(money_compact, sign=True)


def _half_width(low: float | None, high: float | None) -> str:
    """" ±£Xk": half a 95% interval (blank when exact, or when it rounds to £0)."""
    half = "" if low is None or high is None else money_compact((high - low) / 2)
    return "" if half in ("", "£0") else f" ±{half}"


def print_guarantee(console: Console, summary_text: str) -> None:
    """The options table and, in the default mode, the SAA statistics: printed from the very
    summary written, so screen and files never disagree."""
    data = json.loads(summary_text)
    settings, timings = data["settings"], data["timings"]
    mode = "sweep" if data["mode"] == MODE_SWEEP else "SAA"
    console.print(
        f"[bold]{escape(data['instance'])}[/bold] guarantee ({mode}): "
        f"{settings['evaluation_scenarios']:,} {settings['scenario_sets']} scenarios, "
        f"{counted(len(data['members']), 'member')}, risk level {settings['risk_level']:g}, "
        f"weight {settings['risk_weight']:g}; {timings['seconds']:.1f} s on "
        f"{escape(str(timings['executor']))}", highlight=False)
    d = data["demand"]
    console.print(
        f"Demand: {d['expected_places']:,.1f} expected places over {d['needs']} needs "
        f"({d['sources']['sd']} with an sd, {d['sources']['cv']} by cv, "
        f"{d['sources']['poisson']} Poisson), correlation {d['correlation']:g}, "
        f"{d['years']} year(s) at {d['growth_pct']:+g}% a year.", highlight=False)
    rows, styles = [], []
    for r in data["options"]:
        if r["expected_cost"] is None:
            rows.append([r["option"], f"{r['failed_scenarios']} failed", *[""] * 6])
            styles.append("yellow")
            continue
        rows.append([
            r["option"] + (" *" if r["recommended"] else ""),
            value_shown(r["expected_cost"], money_millions),
            value_shown(r["saving"], _change) + _half_width(r["saving_ci_low"],
                                                           r["saving_ci_high"]),
            f"{r['expected_void_places']:.2f}", value_shown(r["p_void"], share),
            value_shown(r["p_unmet"], share), value_shown(r["cvar_cost"], money_millions),
            "" if r["break_even_discount_pct"] is None
            else pct(r["break_even_discount_pct"])])
        styles.append("bold" if r["recommended"] else None)
    print_table(console, "Options against the same scenarios (£ a year; saving ± its 95% CI; "
                f"CVaR at {settings['risk_level']:g})", [
                    Column("option", words=True), Column("E cost"), Column("saving"),
                    Column("void", drop=1), Column("P void"), Column("P unmet", drop=2),
                    Column("CVaR", drop=3), Column("break-even")], rows, styles,
                source=GUARANTEE_CSV)
    if data["recommended"]:
        label = "least objective" if data["mode"] == MODE_SWEEP else "chosen by SAA"
        console.print(f"* {label}: [bold]{escape(data['recommended'])}[/bold]",
                      highlight=False)
    for r in data["options"]:
        if r["kind"] in (KIND_EXPECTED, KIND_CANDIDATE):
            contracts = f"; {r['contracts']} contract(s)" if r["contracts"] else ""
            console.print(f"{escape(r['option'])}: {escape(r['commitments'] or 'no guarantee')}"
                          f"{contracts}", highlight=False)
    _print_contract_forms(console, data)
    saa = data["saa"]
    if saa:
        lower, upper, gap = saa["lower_bound"], saa["upper_bound"], saa["gap"]
        console.print(
            f"Objective: lower bound {_money_or_na(lower['estimate'])} "
            f"(95% CI {_interval(lower)}), chosen plan {_money_or_na(upper['estimate'])} "
            f"(95% CI {_interval(upper)}); optimality gap {_money_or_na(gap['estimate'])} "
            f"(95% upper bound {_money_or_na(gap['ci_high'])}).", highlight=False)
        explained = bound_above_plan(saa)
        if explained:
            console.print(explained, highlight=False)
        vss, evpi = data["vss"], data["evpi"]
        console.print(
            f"Value of the stochastic solution {_money_or_na(vss['estimate'])} "
            f"(95% CI {_interval(vss)}); expected value of perfect information "
            f"{_money_or_na(evpi['estimate']) if evpi else 'n/a'}"
            f"{'' if not evpi else ' (95% CI ' + _interval(evpi) + ')'}.", highlight=False)
    for warning in data["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _print_contract_forms(console: Console, data: dict) -> None:
    """The contract forms beside the reference block (``optimiser.guarantee.contract_forms``)."""
    forms = data.get("contract_forms")
    if not forms:
        return
    ref = forms["reference"]
    rows, styles = [], []
    for r in forms["forms"]:
        rows.append([r["form"], value_shown(r["expected_cost"], money_millions)
                     + _half_width(r["expected_cost_ci_low"], r["expected_cost_ci_high"]),
                     value_shown(r["against_block"], _change),
                     value_shown(r["provider_margin"], _change),
                     value_shown(r["p_provider_loss"], share) + (" !" if r["loss_flag"] else "")])
        styles.append("yellow" if r["loss_flag"] else None)
    print_table(console, f"Contract forms for {ref['option']}, provider {ref['provider']} "
                "(same scenarios; £ a year; the provider's margin and share of years at a "
                "loss)", [
                    Column("form", words=True), Column("E cost"), Column("vs block"),
                    Column("margin", drop=1), Column("P loss")], rows, styles,
                source=CONTRACT_FORMS_CSV)
    console.print(
        f"Outcome-linked pays {value_shown(forms['payment_factor'], share)} of the list fee "
        "on average; "
        f"stay: {escape(forms['stay'])}. Soft block reviewed yearly within "
        f"{forms['review']['low']:,} to {forms['review']['high']:,} places"
        + ("" if forms["review"].get("year_correlation") is None else
           f" on a previous year correlated {forms['review']['year_correlation']:.2f} with "
           "it") + "; ! = loss in more than "
        f"{value_shown(forms['provider']['loss_share'], share)} of years.", highlight=False)


def _money_or_na(value: float | None) -> str:
    return value_shown(value, money) or "n/a"


def _interval(e: dict) -> str:
    if e["ci_low"] is None:
        return "n/a"
    return f"{money(e['ci_low'])} to {money(e['ci_high'])}"
