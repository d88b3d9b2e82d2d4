"""report.html of `optimise compare`: should we join, and who gains what.

Built from compare.csv, members.csv, shapley.csv and core.json as written (``files``); the
instance gives names only. Sections: the headline, the memberships side by side, each
member's saving in each option (the "should we join?" view), then one section per consortium
with its Shapley split, the plan's split and the least core, and a glossary. Timings in
core.json are not shown, so the same comparison gives the same bytes.
"""

from __future__ import annotations

import json

from optimiser.records import Instance
from optimiser.reports import charts
from optimiser.reports import formats as f
from optimiser.reports.html import (
    Card,
    Cell,
    Column,
    Section,
    bullets,
    cards,
    figure,
    join,
    page,
    paragraph,
    strong,
    table,
)
from optimiser.shapley import solver_margin_words

ALONE = "alone"
FLAG_WORDS = {"low_saving": "low saving", "less_local": "less local"}


class CompareFiles:
    def __init__(self, instance: Instance, files: dict[str, str]):
        self.instance = instance
        self.memberships = f.rows(files["compare.csv"])
        self.members = f.rows(files["members.csv"])
        self.shapley = f.rows(files["shapley.csv"])
        self.core = json.loads(files["core.json"])
        self.names = {a: (v.name or a) for a, v in instance.authorities.items()}

    @property
    def groups(self) -> list[dict]:
        """Memberships of two or more members with a plan."""
        return [m for m in self.memberships if m["kind"] != ALONE]


def compare_html(instance: Instance, files: dict[str, str]) -> str:
    """report.html of a comparison."""
    run = CompareFiles(instance, files)
    sections = [headline(run), memberships(run), member_options(run),
                *[consortium(run, entry, i) for i, entry in enumerate(run.core["consortia"])],
                glossary()]
    return page(f"{run.core['instance']}: memberships compared",
                f"{f.counted(len(run.memberships), 'membership')}, "
                f"{f.counted(len(run.core['consortia']), 'consortium', 'consortia')} "
                "analysed. Money is £ a year, in full (fees after discounts, case management, "
                "travel, emergency placements).", sections,
                "Made by optimise from compare.csv, members.csv, shapley.csv and core.json "
                "beside it; report.xlsx holds the same tables.")


def headline(run: CompareFiles) -> Section:
    planned = [m for m in run.groups if m["saving"] != ""]
    parts = []
    if planned:
        best = max(planned, key=lambda m: f.value(m["saving"]))
        blocked = [e["consortium"] for e in run.core["consortia"] if e.get("plan_blocked")]
        empty = [e["consortium"] for e in run.core["consortia"] if e.get("core_empty")]
        parts.append(cards([
            Card("Largest saving", f.money_short(f.value(best["saving"])),
                 f"{best['membership']}: {f.pct(f.number(best['saving_pct']))} of its "
                 "members' standalone cost", "good"),
            Card("Memberships", str(len(run.memberships)),
                 f"{len(run.groups)} consortia or groups, the rest each member alone"),
            Card("Split blocked", str(len(blocked)), "consortia where a group of members "
                 "would pay less on its own than the plan asks", "bad" if blocked else "good"),
            Card("Empty core", str(len(empty)), "consortia where no split keeps every group "
                 "on board", "warn" if empty else "good"),
        ]))
    failed = [m["membership"] for m in run.memberships if m["annual_cost"] == ""]
    if failed:
        parts.append(paragraph(strong("No plan: "), ", ".join(failed) + "."))
    for warning in run.core.get("warnings") or []:
        parts.append(paragraph(strong("Note: "), warning, class_="alert"))
    return Section("headline", "Headline", parts)


def memberships(run: CompareFiles) -> Section:
    planned = [m for m in run.groups if m["saving"] != ""]
    parts = [paragraph("Each membership is planned as a run of the optimiser plans it; its "
                       "saving is against each of its members commissioning alone.")]
    if planned:
        svg = charts.simple_bars(
            "memberships", [m["membership"] for m in planned],
            [f.value(m["saving_pct"]) for m in planned],
            [f"{f.money_short(f.value(m['saving']))} ({f.pct(f.number(m['saving_pct']))})"
             for m in planned], ["" for _ in planned],
            "saving, as a share of the members' standalone cost", percent=True)
        parts.append(figure(svg, "Saving of each consortium or group, % of what its members "
                            "would pay alone; the label gives it in £ a year.",
                            "saving by membership"))
    columns = [Column("membership"), Column("kind"), Column("members", True),
               Column("demand", True), Column("cost", True), Column("alone", True),
               Column("saving", True), Column("saving %", True), Column("unmet", True),
               Column("local", True, "share placed within the local radius"), Column("plan")]
    body = [[m["membership"], m["kind"], m["size"], f.places(f.number(m["demand"])),
             f.money(f.number(m["annual_cost"])), f.money(f.number(m["standalone_cost"])),
             f.money(f.number(m["saving"])), f.pct(f.number(m["saving_pct"])),
             f.places(f.number(m["unmet"])), f.share(f.number(m["local_share"])), m["status"]]
            for m in run.memberships]
    parts.append(table(columns, body))
    return Section("memberships", "Memberships side by side", parts)


def _shade(pct: float | None) -> str | None:
    """Green for a saving, red for a loss, stronger with size (up to 15%)."""
    if pct is None or abs(pct) < 0.05:
        return None
    strength = min(abs(pct) / 15.0, 1.0)
    base = (46, 125, 50) if pct > 0 else (198, 40, 40)
    r, g, b = (round(255 - (255 - c) * (0.15 + 0.45 * strength)) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def member_options(run: CompareFiles) -> Section:
    groups = [m["membership"] for m in run.groups]
    cells = {(r["membership"], r["authority"]): r for r in run.members}
    authorities = list(dict.fromkeys(r["authority"] for r in run.members))
    columns = [Column("authority")] + [Column(g, True) for g in groups]
    body = []
    for a in authorities:
        line: list[object] = [run.names.get(a, a)]
        for g in groups:
            r = cells.get((g, a))
            if r is None:
                line.append("–")
                continue
            pct = f.number(r["saving_pct"])
            flags = [FLAG_WORDS.get(x, x) for x in r["flags"].split(";") if x]
            text = f"{f.pct(pct)} ({f.money_short(f.number(r['saving']))})" if pct is not None \
                else "no plan"
            line.append(Cell(text + (f" · {', '.join(flags)}" if flags else ""),
                             "flag" if flags else None, _shade(pct)))
        body.append(line)
    return Section("options", "Each member in each option", [
        paragraph("Every authority's saving in each membership it belongs to (% of its "
                  "standalone cost, and £ a year); a dash where it is not a member. Flags: "
                  "low saving (below half the membership's saving %), less local (a lower "
                  "local share than alone)."),
        table(columns, body),
    ])


def consortium(run: CompareFiles, entry: dict, number: int) -> Section:
    name = entry["consortium"]
    rows = [r for r in run.shapley if r["consortium"] == name]
    members = {r["authority"]: r for r in run.members if r["membership"] == name}
    labels = [r["name"] for r in rows]
    least = [f.value(r["coalition_cost_alone"]) - f.value(r["least_core_cost"])
             if r["least_core_cost"] else 0.0 for r in rows]
    svg = charts.grouped_bars(
        f"shapley-{number}", labels,
        [("Shapley", charts.ACCENT, [f.value(r["shapley_saving"]) for r in rows]),
         ("in the plan", charts.WARN, [f.value(r["plan_saving"]) for r in rows]),
         ("least core", charts.GREY, least)], "saving, £ a year")
    sampled = bool(rows) and rows[0]["method"] == "sampled"
    reached = entry.get("shapley_precision")
    how = ("exact, over every coalition" if not sampled else
           f"sampled over {rows[0]['samples']} random orders"
           + (f": each within {reached} of the exact value" if reached else ""))
    columns = [Column("authority"), Column("Shapley", True, "fair share of the saving"),
               Column("in the plan", True), Column("least core", True),
               Column("marginal", True, "how much the consortium's saving falls without it"),
               Column("saving %", True, "in the plan"),
               Column("need mix", True, "distance of its needs from the consortium's (0-1)"),
               Column("flags")]
    body = []
    for r, low in zip(rows, least):
        m = members.get(r["authority"], {})
        shapley = f.money(f.number(r["shapley_saving"]))
        if r.get("half_width_95"):
            shapley += f" ± {f.money(f.number(r['half_width_95']))}"
        flags = [FLAG_WORDS.get(x, x) for x in m.get("flags", "").split(";") if x]
        body.append([r["name"], shapley, f.money(f.number(r["plan_saving"])),
                     f.money(low) if r["least_core_cost"] else "–",
                     f.money(f.number(r["marginal_saving"])),
                     f.pct(f.number(m.get("saving_pct"))),
                     "–" if not m.get("need_distance") else f"{float(m['need_distance']):.2f}",
                     Cell(", ".join(flags), "flag" if flags else None)])
    margin = ("" if entry.get("shapley_solver_margin") is None else " " + _sentence(
        solver_margin_words(entry["shapley_method"], entry["shapley_solver_margin"])))
    return Section(f"consortium-{number}", f"{name}: who gains what", [
        paragraph(f"Shapley values {how}.{margin}"),
        figure(svg, "Each member's saving: its Shapley value (a fair share by its "
               "contribution to every group), what the plan gives it, and a least-core split.",
               f"savings of {name}"),
        table(columns, body),
        paragraph(core_sentence(entry)),
    ])


def core_sentence(entry: dict) -> str:
    """The core check of one consortium in plain words."""
    eps = entry.get("epsilon")
    if eps is None:
        return "No core check was made."
    if entry.get("core_empty"):
        text = (f"The core is empty: under any split of the costs some group of members would "
                f"pay at least {f.money(eps)} less on its own.")
    else:
        text = (f"The core is not empty: under a least-core split every group of members pays "
                f"at least {f.money(-eps)} less than it would on its own.")
    blocking = entry.get("plan_blocking")
    if blocking is None:
        return text
    if entry.get("plan_blocked"):
        return text + (f" The plan's own split is blocked: {', '.join(blocking['names'])} would "
                       f"together pay {f.money(blocking['excess'])} less on their own.")
    return text + " No group would pay less on its own than under the plan's split."


def glossary() -> Section:
    return Section("glossary", "Reading this report", [bullets([
        join([strong("Shapley value: "), ("each member's share of the saving, averaged over "
              "every order in which the members could join; it sums to the consortium's "
              "saving.")]),
        join([strong("Least core: "), ("a split of the costs that leaves every group of "
              "members as far as possible from doing better on its own.")]),
        join([strong("Marginal: "), ("how much the consortium's saving falls if the member "
              "leaves.")]),
        join([strong("Need mix: "), ("how different the member's needs are from the "
              "consortium's (0 the same mix of placement types, 1 nothing in common).")]),
    ])])


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
