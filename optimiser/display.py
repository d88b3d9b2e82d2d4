"""The on-screen summary of a run: totals, each member's saving and local share, gaps."""

from __future__ import annotations

import json

from rich import box
from rich.console import Console
from rich.table import Table

from optimiser.writers import restore

#: the screen shows the largest gaps; gaps.csv has them all
MAX_GAP_ROWS = 12


def _table(title: str, columns: tuple[str, ...], text: tuple[str, ...] = ("authority",),
           no_wrap: tuple[str, ...] = ()) -> Table:
    """A compact table: ``text`` columns left-aligned, numbers right-aligned, long cells folded."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, justify="left" if column in text else "right",
                         overflow="fold", no_wrap=column in no_wrap)
    return table


def _money(value: float | None) -> str:
    return "" if value is None else f"£{value:,.0f}"


def _thousands(value: float) -> str:
    return f"£{round(value / 1000):,}k"  # round() gives an int: no "-0"


def _pct(value: float | None, scale: float = 1.0) -> str:
    return "" if value is None else f"{value * scale:.1f}%"


def _number(value: float) -> str:
    return f"{value:,.1f}"


def print_run(console: Console, summary_text: str, authorities_csv: str, gaps_csv: str,
              sufficiency_csv: str | None = None, investment_csv: str | None = None) -> None:
    """Print the summary from the very files written, so screen and files never disagree."""
    import csv
    import io

    summary = json.loads(summary_text)
    totals, fairness = summary["totals"], summary["fairness"]
    gap = "" if summary["mip_gap"] is None else f", gap {summary['mip_gap']:.2g}"
    console.print(
        f"[bold]{summary['instance']}[/bold]: {summary['status']} ({summary['solver']}"
        f"{gap}, {summary['seconds']:.1f} s), {len(summary['members'])} members, voice "
        f"{summary['policy']['voice']}")
    console.print(
        f"Annual cost {_money(totals['annual_cost'])} against {_money(totals['standalone_cost'])}"
        f" alone: saving {_money(totals['saving'])} ({_pct(totals['saving_pct'])}). "
        f"Placed {_number(totals['placed'])} of {_number(totals['demand'])} places, "
        f"{_number(totals['unmet'])} unmet; local share {_pct(totals['local_share'], 100)}.")
    console.print(
        f"Saving % from {_pct(fairness['min_saving_pct'])} to {_pct(fairness['max_saving_pct'])}"
        f"; price of fairness {_money(fairness['price_of_fairness'])}.")
    members = _table("Members (money in £ thousands a year)",
                     ("authority", "demand", "unmet", "local", "cost", "alone", "saving",
                      "saving %"))
    names = {}
    for row in csv.DictReader(io.StringIO(authorities_csv)):
        names[row["authority"]] = restore(row["name"])  # as typed, not as neutralised
        members.add_row(
            names[row["authority"]], _number(float(row["demand"])), _number(float(row["unmet"])),
            _pct(float(row["local_share"]), 100) if row["local_share"] else "",
            _thousands(float(row["annual_cost"])), _thousands(float(row["standalone_cost"])),
            _thousands(float(row["saving"])),
            _pct(float(row["saving_pct"])) if row["saving_pct"] else "")
    console.print(members)
    gaps = [row for row in csv.DictReader(io.StringIO(gaps_csv))
            if float(row["unmet"]) > 0 or float(row["placed_out_of_area"]) > 0]
    gaps.sort(key=lambda row: -(float(row["unmet"]) + float(row["placed_out_of_area"])))
    hidden = max(0, len(gaps) - MAX_GAP_ROWS)
    gaps = gaps[:MAX_GAP_ROWS]
    if gaps:
        table = _table("Sufficiency gaps (unmet or placed out of area)",
                       ("authority", "type", "demand", "local capacity", "out of area",
                        "unmet"), text=("authority", "type"))
        for row in gaps:
            table.add_row(names.get(row["authority"], row["authority"]),
                          restore(row["placement_type"]), _number(float(row["demand"])),
                          _number(float(row["local_capacity"])),
                          _number(float(row["placed_out_of_area"])), _number(float(row["unmet"])))
        console.print(table)
        if hidden:
            console.print(f"... and {hidden} smaller gaps: see gaps.csv")
    if sufficiency_csv is not None:
        _print_sufficiency(console, list(csv.DictReader(io.StringIO(sufficiency_csv))), names)
    if investment_csv is not None:
        _print_investment(console, list(csv.DictReader(io.StringIO(investment_csv))), names)
    for member in summary["not_kept_whole"]:
        console.print(f"[yellow]not kept whole:[/yellow] {member['authority']} pays "
                      f"{_money(member['excess'])} more than alone")
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")


#: the screen lists this many investment signals; investment.csv has them all
MAX_SIGNAL_ROWS = 5
#: places below which a member's local max alone and its local places count as equal (the
#: screen shows one decimal)
SHOWN_PLACES = 0.05


def _print_sufficiency(console: Console, rows: list[dict], names: dict) -> None:
    """Members whose best local placement alone exceeds what the consortium's plan places
    locally for them (sufficiency.csv summed over their needs)."""
    totals: dict[str, list[float]] = {}
    for row in rows:
        sums = totals.setdefault(row["authority"], [0.0, 0.0, 0.0, 0.0])
        for i, column in enumerate(("demand", "local_max_alone", "local_max_consortium",
                                    "placed_local")):
            sums[i] += float(row[column])
    demand, together, placed = (sum(t[i] for t in totals.values()) for i in (0, 2, 3))
    console.print(f"Local sufficiency: at most {_number(together)} of {_number(demand)} places "
                  f"could be placed within the local radius (max flow); the plan places "
                  f"{_number(placed)} there.")
    worse = [(a, t) for a, t in totals.items() if t[1] > t[3] + SHOWN_PLACES]
    if not worse:
        console.print("Every member places at least as much locally in the consortium as it "
                      "could at best alone (sufficiency.csv).")
        return
    table = _table("Local sufficiency: members who could place more locally alone",
                   ("authority", "demand", "local max alone", "local max together",
                    "placed locally"))
    for a, (demand, alone, together, placed) in worse:
        table.add_row(names.get(a, a), _number(demand), _number(alone), _number(together),
                      _number(placed))
    console.print(table)


def _print_investment(console: Console, rows: list[dict], names: dict) -> None:
    """The top investment signals: one more place of a type at a member, £ saved a year."""
    rows = [row for row in rows if float(row["saving_per_place_year"]) > 0][:MAX_SIGNAL_ROWS]
    if not rows:
        console.print("Investment: no new place would lower the consortium's cost "
                      "(investment.csv).")
        return
    table = _table("Where one more place is worth most (£ a year per place)",
                   ("rank", "at", "type", "saving", "re-solved", "£ a week"),
                   text=("at", "type"), no_wrap=("type",))
    for row in rows:
        resolved = row["resolve_saving"]
        table.add_row(row["rank"], names.get(row["authority"], row["authority"]),
                      restore(row["placement_type"]), _money(float(row["saving_per_place_year"])),
                      _money(float(resolved)) if resolved else "",
                      _money(float(row["price_assumed_weekly"])))
    console.print(table)
