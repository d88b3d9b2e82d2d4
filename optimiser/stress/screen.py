"""`optimise stress` on the screen: printed from the very summary written. Every figure is a
change against the base plan, written by the product's formatters (``optimiser.reports.formats``)
with a blank for a figure the summary leaves undefined (``optimiser.display.value_shown``)."""

from __future__ import annotations

import json
from functools import partial

from rich.markup import escape

from optimiser.display import Column, print_table, value_shown
from optimiser.reports.formats import (
    counted,
    money,
    money_compact,
    places,
    share,
    signed,
)

#: a change of cost in £ a year: +£362k, -£1.2m
_cost = partial(money_compact, sign=True)
#: a change of cost in percent of the base's: +3.2%
_cost_pct = partial(signed, suffix="%")


def _points(fraction: float, suffix: str = "") -> str:
    """A change of a share (a 0-1 fraction) in percentage points: +1.5."""
    return signed(fraction * 100.0, suffix=suffix)


def _scenario_row(s: dict) -> list[str]:
    t, member = s["totals"], s["worst_member"]
    return [s["label"] + ("" if s["status"] == "optimal" else f" ({s['status']})"),
            value_shown(t["cost_change"], _cost), value_shown(t["cost_change_pct"], _cost_pct),
            value_shown(t["unmet_change"], signed), value_shown(t["local_share_change"], _points),
            member["name"], value_shown(member["cost_change"], _cost)]


def print_stress(console, summary_text: str) -> None:
    """Per scenario totals, the worst case highlighted, each member's worst scenario: printed
    from the very summary written, so screen and files never disagree. Scenarios are shown by
    their labels (names); the files name them by ids."""
    summary = json.loads(summary_text)
    base = summary["base"]["totals"]
    timings = summary["timings"]
    console.print(
        f"[bold]{escape(summary['instance'])}[/bold] under stress: "
        f"{counted(len(summary['scenarios']), 'scenario')}, "
        f"{counted(len(summary['members']), 'member')}, {timings['seconds']:.1f} s "
        f"(base {timings['base_seconds']:.1f} s, {counted(timings['workers'], 'worker')})",
        highlight=False)
    console.print(
        f"Base plan: annual cost {money(base['annual_cost'])}, {places(base['unmet'])} of "
        f"{places(base['demand'])} places unmet, local share {share(base['local_share'])}.",
        highlight=False)
    worst = (summary["worst_case"] or {}).get("scenario")
    rows, styles = [], []
    for s in summary["scenarios"]:
        if s["totals"] is None:
            rows.append([s["label"], s["status"], "", "", "", "", ""])
            styles.append("yellow")
            continue
        rows.append(_scenario_row(s))
        styles.append("bold red" if s["name"] == worst else None)
    print_table(console, "Scenarios against the base plan (£ a year; local share in points)", [
        Column("scenario", words=True, least=10), Column("Δ cost"), Column("Δ cost %", drop=1),
        Column("Δ unmet"), Column("Δ local"), Column("worst-hit member", words=True),
        Column("its Δ cost", drop=2)], rows, styles, source="stress.csv")
    if summary["member_worst_case"]:
        print_table(console, "Each member's worst scenario", [
            Column("authority", words=True), Column("scenario", words=True), Column("Δ cost"),
            Column("Δ cost %", drop=1), Column("Δ unmet")], [
            [m["name"], m["scenario_label"], value_shown(m["cost_change"], _cost),
             value_shown(m["cost_change_pct"], _cost_pct), value_shown(m["unmet_change"], signed)]
            for m in summary["member_worst_case"]], source="stress.csv")
    if summary["worst_case"]:
        _print_worst_case(console, summary["worst_case"])
    for failed in summary["failed"]:
        entry = next(s for s in summary["scenarios"] if s["name"] == failed)
        console.print(f"[yellow]no plan:[/yellow] {escape(entry['label'])}: "
                      f"{escape(entry['message'])}", highlight=False)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _print_worst_case(console, w: dict) -> None:
    console.print(
        f"[bold red]Worst case:[/bold red] {escape(w['label'])} ({escape(w['detail'])}): "
        f"cost {value_shown(w['cost_change'], _cost)} "
        f"({value_shown(w['cost_change_pct'], _cost_pct)}), "
        f"unmet {value_shown(w['unmet_change'], signed)} places, local share "
        f"{value_shown(w['local_share_change'], partial(_points, suffix=' pt'))}.",
        highlight=False)
