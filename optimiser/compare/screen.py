"""`optimise compare` on the screen: printed from the very files written."""

from __future__ import annotations

import csv
import io
import json

from rich.markup import escape

from optimiser.compare.analysis import LOW_SAVING_FRACTION
from optimiser.compare.tables import COMPARE_CSV, CORE_JSON, MEMBERS_CSV, SHAPLEY_CSV
from optimiser.display import Column, cell_shown, print_table
from optimiser.reports.formats import counted, money, money_compact, pct, places, share
from optimiser.shapley import solver_margin_words


def print_compare(console, files: dict[str, str]) -> None:
    """Memberships side by side, then per consortium its members' Shapley saving beside the
    plan's, the least core and the flags: printed from the very files written."""
    summary = json.loads(files[CORE_JSON])
    console.print(f"[bold]{escape(summary['instance'])}[/bold]: "
                  f"{counted(summary['solves'], 'coalition solve')}, "
                  f"{counted(summary['cache_hits'], 'cache hit')}, "
                  f"{summary['seconds']:.1f} s on {escape(summary['executor'])}", highlight=False)
    rows = []
    for row in csv.DictReader(io.StringIO(files[COMPARE_CSV])):
        if row["annual_cost"] == "":
            rows.append([row["membership"], row["size"], row["status"], "", "", "", "", ""])
            continue
        rows.append([row["membership"], row["size"], *(
            cell_shown(row[c], money_compact) for c in ("annual_cost", "standalone_cost", "saving")),
            cell_shown(row["saving_pct"], pct), places(float(row["unmet"])),
            cell_shown(row["local_share"], share)])
    print_table(console, "Memberships (£ a year)", [
        Column("membership", words=True), Column("size"), Column("cost"),
        Column("alone", drop=1), Column("saving"), Column("saving %"), Column("unmet", drop=2),
        Column("local")], rows, source=COMPARE_CSV)
    members = {(r["membership"], r["authority"]): r
               for r in csv.DictReader(io.StringIO(files[MEMBERS_CSV]))}
    shapley = list(csv.DictReader(io.StringIO(files[SHAPLEY_CSV])))
    for entry in summary["consortia"]:
        _print_consortium(console, entry, [r for r in shapley
                                           if r["consortium"] == entry["consortium"]], members)
        if entry.get("shapley_precision"):
            console.print(_precision_line(entry, summary["options"]), highlight=False)
        if entry.get("shapley_solver_margin") is not None:
            console.print(solver_margin_line(entry), highlight=False)
        console.print(_core_line(entry), soft_wrap=False)
    console.print("Shapley: each member's Shapley value of the savings game; plan: its saving "
                  "in the plan; least core: its saving under a least-core split; marginal: "
                  "how much the consortium's saving falls without it; need mix: distance of "
                  "its needs from the consortium's (0 same, 1 disjoint). Flags: low saving "
                  f"(below {LOW_SAVING_FRACTION:.0%} of the consortium's saving %), less local "
                  "(a lower local share than alone).")
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _print_consortium(console, entry: dict, rows: list[dict], members: dict) -> None:
    """One consortium's members: Shapley saving (± its standard error when sampled), the
    plan's, the least core's, the marginal saving, saving %, need mix and flags."""
    name = entry["consortium"]
    sampled = bool(rows) and rows[0]["method"] == "sampled"
    how = f"sampled, {rows[0]['samples']} orders" if sampled else "exact"
    table = []
    for r in rows:
        m = members.get((name, r["authority"]), {})
        least = ("" if r["least_core_cost"] == "" else money_compact(
            float(r["coalition_cost_alone"]) - float(r["least_core_cost"])))
        table.append([r["name"], *(cell_shown(r[c], money_compact) for c in (
                          "shapley_saving", "half_width_95", "plan_saving")),
                      least, cell_shown(r["marginal_saving"], money_compact),
                      cell_shown(m.get("saving_pct", ""), pct),
                      "" if not m.get("need_distance") else f"{float(m['need_distance']):.2f}",
                      m.get("flags", "").replace("_", " ").replace(";", ", ")])
    columns = [Column("authority", words=True), Column("Shapley"),
               Column("± 95%", drop=3), Column("plan"), Column("least core", drop=2),
               Column("marginal"), Column("saving %"), Column("need mix", drop=1),
               Column("flags", words=True, least=10)]
    if not sampled:
        del columns[2]
        table = [row[:2] + row[3:] for row in table]
    print_table(console, f"{name}: saving by Shapley ({how}), in the plan and in the least "
                "core (£ a year)", columns, table, source=f"{SHAPLEY_CSV} and {MEMBERS_CSV}")


def _precision_line(entry: dict, options: dict) -> str:
    """How precise a sampled Shapley split is, in words: "... within ± £40k at 95%"."""
    text = (f"{escape(entry['consortium'])}: Shapley savings from {entry['samples']:,} sampled "
            f"orders, each within {entry['shapley_precision']} of the exact value")
    if entry.get("shapley_precision_joint"):
        text += f"; all at once within {entry['shapley_precision_joint']}"
    asked = options.get("precision")
    if asked is None:
        return text + "."
    verdict = {"precision": "reached", "time limit": "not reached by the time limit"}.get(
        entry["shapley_stopped"], "not reached")
    return text + f" (asked: {asked}; {verdict})."


def solver_margin_line(entry: dict) -> str:
    """What the solver's gap can do to the Shapley savings, in words (screen)."""
    return (f"{escape(entry['consortium'])}: "
            + solver_margin_words(entry["shapley_method"], entry["shapley_solver_margin"]))


def _core_line(entry: dict) -> str:
    name = escape(entry["consortium"])
    if entry["epsilon"] is None:
        return f"{name}: no core check."
    eps = entry["epsilon"]
    if entry["core_empty"]:
        text = (f"{name}: the core is [bold]empty[/bold]: under any split some group would "
                f"pay at least {money(eps)} less on its own (least-core epsilon).")
    else:
        text = (f"{name}: the core is non-empty: under a least-core split every group pays "
                f"at least {money(-eps)} less than on its own (least-core epsilon "
                f"{money(eps)}).")
    blocking = entry["plan_blocking"]
    if blocking is None:
        return text
    if entry["plan_blocked"]:
        who = ", ".join(escape(n) for n in blocking["names"])
        return (text + f" The plan's own split is [bold]blocked[/bold]: {who} would together "
                f"pay {money(blocking['excess'])} less on their own.")
    return text + " No group would pay less on its own than under the plan's split."
