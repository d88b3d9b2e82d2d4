"""report.html of `optimise run`: the plan in plain words and pictures, for a commissioning team.

Built from the run's result files (``files``: name -> text, as written) and the instance (for
names, coordinates, targets and policy meanings only; every figure comes from the files).
Sections, in the order a cabinet member or a finance board reads them: the headline, the map
of placements, each member's saving, local placement against target, sufficiency gaps,
providers and their volume tiers, where one more place would save most, and the policy with
the price of fairness. No timing is shown, so the same plan gives the same bytes.
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict

from optimiser import outputs
from optimiser.records import Instance
from optimiser.reports import charts
from optimiser.reports import formats as f
from optimiser.reports.html import (
    Card,
    Cell,
    Column,
    Markup,
    Section,
    bullets,
    cards,
    figure,
    join,
    page,
    paragraph,
    strong,
    table,
    tag,
)
from optimiser.reports.placement_map import Flow, Place, placement_map, top_flows

#: a member's saving below this (in £) counts as worse off than alone (rounding is pence)
WORSE_OFF = -0.5
#: gaps table and providers table lengths (every row is in the CSV files and report.xlsx)
MAX_GAP_ROWS = 15
MAX_PROVIDER_BARS = 25
MAX_TIER_ROWS = 40
MAX_SIGNAL_ROWS = 10
#: the map's width on screen, in pixels (its labels stay the size of the page's text)
MAP_WIDTH = 900
#: below this many places a figure counts as zero on the page (shown with one decimal)
SHOWN = 0.05

VOICES = {
    "volume": "the plan minimises the consortium's total cost, so each member weighs by its "
              "spend and the biggest members weigh most",
    "equal": "each member has one voice: the plan minimises the sum of members' costs relative "
             "to what each would pay alone",
    "maxmin": "the plan first makes the smallest saving % as large as it can be, then "
              "minimises the total cost keeping every member at least that saving",
}


class RunFiles:
    """The run's result files, parsed once."""

    def __init__(self, instance: Instance, files: dict[str, str]):
        self.instance = instance
        self.summary = json.loads(files[outputs.SUMMARY])
        self.authorities = f.rows(files[outputs.AUTHORITIES])
        self.providers = f.rows(files[outputs.PROVIDERS])
        self.gaps = f.rows(files[outputs.GAPS])
        self.assignment = f.rows(files[outputs.ASSIGNMENT])
        self.sufficiency = f.rows(files["sufficiency.csv"]) if "sufficiency.csv" in files \
            else None
        self.investment = f.rows(files["investment.csv"]) if "investment.csv" in files else None
        self.names = {r["authority"]: r["name"] for r in self.authorities}
        self.totals = self.summary["totals"]
        self.policy = self.summary["policy"]

    def type_name(self, type_id: str) -> str:
        found = self.instance.placement_types.get(type_id)
        return found.name if found is not None and found.name else type_id

    @property
    def radius(self) -> str:
        return f.distance(self.policy["local_radius_km"])


def run_html(instance: Instance, files: dict[str, str]) -> str:
    """report.html of a run."""
    run = RunFiles(instance, files)
    sections = [headline(run), placement_map_section(run), savings(run), locality(run),
                gaps(run), providers(run), investment(run), policy(run)]
    title = f"{outputs.heading(run.summary)}: consortium plan"
    members = len(run.summary["members"])
    subtitle = (f"{f.counted(members, 'member authority', 'member authorities')}, "
                f"{f.counted(len(run.providers), 'provider')}, voice "
                f"{run.policy['voice']}. Money is £ a year, in full: fees after volume "
                "discounts, social-work case management, travel and emergency placements.")
    return page(title, subtitle, [s for s in sections if s is not None], footer(files))


def footer(files: dict[str, str]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        made_by = f"optimise {version('optimise')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        made_by = "optimise"
    listed = ", ".join(sorted(n for n in files if not n.startswith("report.")))
    return (f"Made by {made_by} from the result files beside it ({listed}); report.xlsx holds "
            "the same tables. `optimise verify` recomputes every figure from the instance.")


# --------------------------------------------------------------------------- headline

def headline(run: RunFiles) -> Section:
    t = run.totals
    saving, unmet = f.shown(t["saving"]), t["unmet"]  # a saving of £0 is neither good nor bad
    figures = [
        Card("Saving a year", f.money_short(saving), f"against {f.money_short(t['standalone_cost'])}"
             " commissioning alone", "good" if saving > 0 else "bad" if saving < 0 else ""),
        Card("Saving", f.pct(t["saving_pct"]), "of what the members would pay alone"),
        Card("Members", f"{len(run.summary['members'])}", "authorities commissioning together"),
        Card("Unmet places", f.whole(unmet), f"of {f.whole(t['demand'])} places: bought as "
             "emergency placements", "warn" if unmet >= SHOWN else "good"),
        Card("Placed locally", f.share(t["local_share"]),
             f"of placed children, within {run.radius}"),
    ]
    parts = [cards(figures), paragraph(*_headline_sentences(run))]
    parts += _alerts(run)
    return Section("headline", "Headline", parts)


def _headline_sentences(run: RunFiles) -> list[str]:
    t, fairness = run.totals, run.summary["fairness"]
    members = len(run.summary["members"])
    sentences = [
        (f"Commissioning together, the {members} members would spend "
        f"{f.money(t['annual_cost'])} a year on placements, against "
        f"{f.money(t['standalone_cost'])} if each commissioned alone: "
        f"{'a saving' if f.shown(t['saving']) >= 0 else 'an extra cost'} of "
        f"{f.money(abs(t['saving']))} ({f.pct(abs(t['saving_pct'] or 0))})."),
        (f"{f.whole(t['placed'])} of {f.whole(t['demand'])} places are placed with framework "
        f"providers; {f.whole(t['unmet'])} cannot be, and are bought as emergency placements."),
    ]
    if fairness["min_saving_pct"] is not None:
        low = _who(run, fairness["min_saving_pct"])
        high = _who(run, fairness["max_saving_pct"])
        sentences.append(f"Members' savings range from {f.pct(fairness['min_saving_pct'])} "
                         f"({low}) to {f.pct(fairness['max_saving_pct'])} ({high}).")
    sentences.append(_status_sentence(run.summary))
    return sentences


def _who(run: RunFiles, pct: float) -> str:
    found = [r["name"] for r in run.authorities
             if r["saving_pct"] and abs(float(r["saving_pct"]) - pct) < 1e-6]
    if len(found) > 3:
        return f"{', '.join(found[:3])} and {len(found) - 3} more"
    return ", ".join(found)


def _status_sentence(summary: dict) -> str:
    gap = summary.get("mip_gap")
    if summary["status"] == "optimal":
        return "The solver proved this plan optimal" + (
            f" (within {100 * gap:.2g}% of the best possible)." if gap else ".")
    return (f"The solver stopped at its time limit: this plan is {summary['status']}, within "
            f"{100 * (gap or 0):.2g}% of the best possible.")


def _alerts(run: RunFiles) -> list[Markup]:
    notes = [f"{run.names.get(m['authority'], m['authority'])} pays {f.money(m['excess'])} a "
             "year more than it would alone: the consortium cannot keep it whole."
             for m in run.summary["not_kept_whole"] if m["excess"] > -WORSE_OFF]  # not "£0"
    notes += list(run.summary["warnings"])
    penalties = run.summary.get("penalties") or {}
    if (penalties.get("local_shortfall_places") or 0) >= SHOWN:
        notes.append(f"{f.places(penalties['local_shortfall_places'])} places fall short of "
                     "members' local targets.")
    if not notes:
        return []
    return [tag("div", join([strong("Please note"), bullets(notes)]), class_="alert")]


# --------------------------------------------------------------------------- map

def placement_map_section(run: RunFiles) -> Section:
    instance = run.instance
    homes = {a: (p.lon, p.lat) for a, p in instance.authorities.items()
             if p.lon is not None and p.lat is not None and a in run.names}
    sites = {p: (v.lon, v.lat) for p, v in instance.providers.items()
             if v.lon is not None and v.lat is not None}
    if len(homes) < 2:
        return Section("map", "Map of placements", [paragraph(
            "The instance gives no coordinates for its authorities (its distances are "
            "listed instead), so there is no map.")])
    flows, used, missing = _flows(run, homes, sites)
    drawn = top_flows(flows)
    authorities = [Place(run.names[a], lon, lat, f.value(r["demand"]))
                   for r in run.authorities for a in [r["authority"]] if a in homes
                   for lon, lat in [homes[a]]]
    locations = [Place("", lon, lat, places) for (lon, lat), places in sorted(used.items())]
    svg = placement_map("map", authorities, locations, drawn, run.policy["local_radius_km"])
    return Section("map", "Map of placements", [
        paragraph("Where each member's children are placed. Arrows run from the member's "
                  "area to the provider's, wider for more places; blue ones stay within the "
                  f"local radius ({run.radius}), orange ones go further. Circles show how many "
                  "places the plan uses at each location."),
        figure(svg, _map_caption(flows, drawn, missing), "map of placements", MAP_WIDTH),
    ])


def _flows(run: RunFiles, homes: dict, sites: dict):
    """Placements summed by (home, provider location, local); places used by location; and
    the places whose authority or provider has no coordinates."""
    flows: dict[tuple, float] = defaultdict(float)
    used: dict[tuple, float] = defaultdict(float)
    missing = 0.0
    for row in run.assignment:
        home, site = homes.get(row["authority"]), sites.get(row["provider"])
        places = f.value(row["places"])
        if home is None or site is None:
            missing += places
            continue
        flows[(home, site, row["local"] == "true")] += places
        used[site] += places
    return ([Flow(h, s, p, local) for (h, s, local), p in sorted(flows.items())], used, missing)


def _map_caption(flows: list[Flow], drawn: list[Flow], missing: float) -> str:
    moving = [x for x in flows if x.origin != x.target]
    total = sum(x.places for x in moving)
    text = (f"{len(drawn)} of {len(moving)} flows between different locations are drawn"
            if len(drawn) < len(moving) else f"All {len(moving)} flows between different "
            "locations are drawn")
    if total > 0:
        text += f", carrying {f.share(sum(x.places for x in drawn) / total)} of those places"
    text += (". Placements at the member's own location have no line. Positions are "
             "latitude and longitude (no base map); distances in the plan are road distances.")
    if missing >= SHOWN:
        text += f" {f.places(missing)} places have no coordinates and are not drawn."
    return text


# --------------------------------------------------------------------------- savings

def _tones(run: RunFiles) -> dict[str, str]:
    """'bad' if worse off than alone, 'warn' if below the consortium's saving %."""
    average = run.totals["saving_pct"]
    tones = {}
    for r in run.authorities:
        saving, pct = f.value(r["saving"]), f.number(r["saving_pct"])
        if saving < WORSE_OFF:
            tones[r["authority"]] = "bad"
        elif average is not None and pct is not None and pct < average - 1e-6:
            tones[r["authority"]] = "warn"
        else:
            tones[r["authority"]] = ""
    return tones


def savings(run: RunFiles) -> Section:
    rows = sorted(run.authorities, key=lambda r: -(f.number(r["saving_pct"]) or 0.0))
    tones = _tones(run)
    average = run.totals["saving_pct"]
    svg = charts.saving_bars(
        "savings", [r["name"] for r in rows], [f.value(r["saving_pct"]) for r in rows],
        [f"{f.money_short(f.value(r['saving']))} ({f.pct(f.number(r['saving_pct']))})"
         for r in rows], [tones[r["authority"]] for r in rows], average,
        [("", "at or above the consortium's saving %"), ("warn", "below it"),
         ("bad", "worse off than alone")])
    below = [r["name"] for r in rows if tones[r["authority"]] == "warn"]
    worse = [r["name"] for r in rows if tones[r["authority"]] == "bad"]
    text = [(f"Bars are each member's saving as a share of what it would pay alone, so small "
            f"members show as clearly as large ones; the dashed line is the consortium's "
            f"saving, {f.pct(average)}.")]
    if worse:
        text.append(f"{len(worse)} member(s) would pay more than alone: {', '.join(worse)}.")
    else:
        text.append("No member pays more than it would alone.")
    if below:
        text.append(f"{len(below)} member(s) save less than the consortium's average.")
    zero = [r["name"] for r in rows if abs(f.value(r["saving"])) <= 0.5]
    if zero and run.policy["individual_rationality"]:
        text.append(f"{len(zero)} member(s) save nothing: the plan holds them at exactly their "
                    "standalone cost (the rule that no member pays more than alone binds), "
                    "because their capacity saves more elsewhere.")
    return Section("savings", "Saving per member", [
        paragraph(*text),
        figure(svg, "Saving per member, % of its standalone cost; the label gives the saving "
               "in £ a year.", "saving per member"),
        _member_table(run, rows, tones),
    ])


def _member_table(run: RunFiles, rows: list[dict], tones: dict[str, str]) -> Markup:
    columns = [Column("authority"), Column("demand", True, "places needed"),
               Column("unmet", True, "places no framework provider can give"),
               Column("cost in the plan", True),
               Column("cost alone", True, "standalone cost (docs/model.md section 5)"),
               Column("saving", True), Column("saving %", True), Column("")]
    labels = {"bad": "worse off than alone", "warn": "below average", "": ""}
    body = [[r["name"], f.places(f.number(r["demand"])), f.places(f.number(r["unmet"])),
             f.money(f.number(r["annual_cost"])), f.money(f.number(r["standalone_cost"])),
             f.money(f.number(r["saving"])), f.pct(f.number(r["saving_pct"])),
             Cell(labels[tones[r["authority"]]], "flag" if tones[r["authority"]] == "bad"
                  else "warn")] for r in rows]
    return table(columns, body)


# --------------------------------------------------------------------------- locality

def _target(run: RunFiles, authority: str) -> float:
    found = run.instance.authorities.get(authority)
    if found is not None and found.min_local_share is not None:
        return found.min_local_share
    return run.policy["min_local_share"]


def locality(run: RunFiles) -> Section:
    rows = sorted(run.authorities, key=lambda r: -(f.number(r["local_share"]) or 0.0))
    shares = [f.number(r["local_share"]) for r in rows]
    targets = [_target(run, r["authority"]) for r in rows]
    missed = [(s or 0.0) < t - 1e-6 for s, t in zip(shares, targets)]
    svg = charts.local_bars(
        "local", [r["name"] for r in rows], shares, targets,
        ["bad" if m else "" for m in missed], run.totals["local_share"],
        [("", "local share")] + ([("bad", "below its local target")] if any(missed) else []))
    text = [(f"The share of each member's placed children placed within {run.radius} of home "
            "(the distance DfE statistics use).")]
    if any(t > 0 for t in targets):
        names = [r["name"] for r, m in zip(rows, missed) if m]
        text.append(f"{len(names)} member(s) are below their local target"
                    + (f": {', '.join(names)}." if names else "."))
    else:
        text.append("No local target is set (policy min_local_share is 0 and no member sets "
                    "its own), so locality only enters the plan through travel costs.")
    return Section("local", "Local placement", [
        paragraph(*text),
        figure(svg, "Local share per member; black ticks mark local targets where set; the "
               "dashed line is the consortium's local share.", "local share per member"),
    ])


# --------------------------------------------------------------------------- gaps

def gaps(run: RunFiles) -> Section:
    types = list(dict.fromkeys(r["placement_type"] for r in run.gaps))
    if not types:
        return Section("gaps", "Sufficiency gaps", [paragraph("The members record no need.")])
    cells = {(r["authority"], r["placement_type"]): r for r in run.gaps}
    members = [r["authority"] for r in run.authorities]
    shades, texts = [], []
    for a in members:
        shades.append([_gap_share(cells.get((a, t))) for t in types])
        texts.append([_gap_text(cells.get((a, t))) for t in types])
    svg = charts.heatmap("gaps", [run.names[a] for a in members],
                         [textwrap.fill(run.type_name(t), 16) for t in types], shades, texts,
                         "share of the need placed out of area or not met")
    out_of_area = sum(f.value(r["placed_out_of_area"]) for r in run.gaps)
    text = [(f"A sufficiency gap is need that is placed out of area (beyond {run.radius}) or "
            f"not met at all. In this plan {f.whole(out_of_area)} places are out of area and "
            f"{f.whole(run.totals['unmet'])} are not met.")]
    if run.sufficiency is not None:
        text.append(_max_flow_sentence(run.sufficiency))
    return Section("gaps", "Sufficiency gaps", [
        paragraph(*text),
        figure(svg, "Each cell: places out of area or not met for that member and placement "
               "type, with the places not met at all below; colour: their share of the need. "
               "Blank: no gap; grey with a dash: no need of that type.", "sufficiency gaps by authority and type"),
        _gap_table(run),
    ])


def _gap_share(row: dict | None) -> float | None:
    if row is None or f.value(row["demand"]) <= 0:
        return None
    gap = f.value(row["placed_out_of_area"]) + f.value(row["unmet"])
    return min(1.0, gap / f.value(row["demand"]))


def _gap_text(row: dict | None) -> str:
    if row is None or f.value(row["demand"]) <= 0:
        return "–"
    gap = f.value(row["placed_out_of_area"]) + f.value(row["unmet"])
    unmet = f.value(row["unmet"])
    if gap < SHOWN:
        return ""
    text = f.whole(gap) if gap >= 0.5 else f.places(gap)
    return text + (f"\n{f.whole(unmet) if unmet >= 0.5 else f.places(unmet)} unmet"
                   if unmet >= SHOWN else "")


def _max_flow_sentence(sufficiency: list[dict]) -> str:
    demand = sum(f.value(r["demand"]) for r in sufficiency)
    most = sum(f.value(r["local_max_consortium"]) for r in sufficiency)
    placed = sum(f.value(r["placed_local"]) for r in sufficiency)
    return (f"With every local place used as well as possible, at most {f.whole(most)} of "
            f"{f.whole(demand)} places could be local (a maximum flow over local capacity); "
            f"the plan places {f.whole(placed)} locally.")


def _gap_table(run: RunFiles) -> Markup:
    rows = [r for r in run.gaps
            if f.value(r["unmet"]) + f.value(r["placed_out_of_area"]) >= SHOWN]
    rows.sort(key=lambda r: (-(f.value(r["unmet"]) + f.value(r["placed_out_of_area"])),
                             r["authority"], r["placement_type"]))
    columns = [Column("authority"), Column("placement type"), Column("need", True),
               Column("local capacity", True, "eligible capacity within the local radius, "
                      "before anyone else uses it"),
               Column("placed locally", True), Column("out of area", True),
               Column("not met", True)]
    body = [[run.names.get(r["authority"], r["authority"]), run.type_name(r["placement_type"]),
             f.places(f.number(r["demand"])), f.places(f.number(r["local_capacity"])),
             f.places(f.number(r["placed_local"])), f.places(f.number(r["placed_out_of_area"])),
             Cell(f.places(f.number(r["unmet"])), "flag" if f.value(r["unmet"]) >= SHOWN
                  else None)] for r in rows[:MAX_GAP_ROWS]]
    if not body:
        return paragraph("Every need is placed locally.")
    hidden = len(rows) - len(body)
    note = f"The {len(body)} largest of {len(rows)} gaps; gaps.csv has them all." if hidden \
        else None
    return table(columns, body, "Largest gaps (places)", note)


# --------------------------------------------------------------------------- providers

def _tiers(run: RunFiles) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for tier in run.summary.get("tiers") or []:
        found[tier["provider"]].append(tier)
    return found


def _tier_text(tiers: list[dict], run: RunFiles) -> str:
    parts = []
    for t in tiers:
        scope = "" if t["placement_type"] is None else f" on {run.type_name(t['placement_type'])}"
        text = f"{f.pct(t['discount_pct'], 0)} off{scope} from {f.places(t['min_places'])} places"
        if t["guarantee"]:
            text += " (guaranteed" + (f"; {f.places(t['void_places'])} void)"
                                      if t["void_places"] >= SHOWN else ")")
        parts.append(text)
    return "; ".join(parts)


def providers(run: RunFiles) -> Section:
    tiers = _tiers(run)
    used = [r for r in run.providers if f.value(r["places"]) >= SHOWN]
    framework = [r for r in used if r["kind"] != "in_house"]
    in_house = sum(f.value(r["places"]) for r in used if r["kind"] == "in_house")
    placed = sum(f.value(r["places"]) for r in used)
    void = sum(f.value(r["void_places"]) for r in run.providers)
    shared = run.summary.get("shared_costs") or {}
    text = [f"The plan uses {len(used)} of {len(run.providers)} providers. "
            f"{len(tiers)} reached a volume discount tier"
            + (f", {sum(any(t['guarantee'] for t in v) for v in tiers.values())} of them a "
               "guaranteed (block) tier" if tiers else "") + "."]
    if placed > 0:
        text.append(f"In-house services take {f.whole(in_house)} places "
                     f"({f.share(in_house / placed)} of those placed).")
    if void >= SHOWN:
        text.append(f"Guarantees leave {f.places(void)} places paid for but not used "
                    f"(void), costing {f.money(shared.get('void'))} a year, shared by demand.")
    parts = [paragraph(*text)]
    if framework:
        parts.append(_provider_chart(run, framework, tiers))
    parts.append(_tier_table(run, tiers))
    return Section("providers", "Providers and volume tiers", parts)


def _provider_chart(run: RunFiles, framework: list[dict], tiers: dict) -> Markup:
    ranked = sorted(framework, key=lambda r: (-f.value(r["places"]), r["provider"]))
    chosen = ranked[:MAX_PROVIDER_BARS]
    chosen += [r for r in ranked[MAX_PROVIDER_BARS:] if f.value(r["void_places"]) >= SHOWN]
    tones = [("#6a3d9a" if any(t["guarantee"] for t in tiers[r["provider"]]) else charts.ACCENT)
             if r["provider"] in tiers else charts.GREY for r in chosen]
    notes = [f"{f.places(f.number(r['places']))} of {f.places(f.number(r['capacity']))}"
             + (f" · {_tier_text(tiers[r['provider']], run)}" if r["provider"] in tiers else "")
             for r in chosen]
    svg = charts.provider_bars(
        "providers", [_short(r["name"]) for r in chosen], [f.value(r["places"]) for r in chosen],
        [f.value(r["capacity"]) for r in chosen], [f.value(r["void_places"]) for r in chosen],
        notes, tones, [(charts.GREY, "no tier reached"), (charts.ACCENT, "discount tier"),
                       ("#6a3d9a", "guaranteed tier")])
    shown = (f"The {len(chosen)} largest of {len(framework)} independent and voluntary "
             "providers used" if len(chosen) < len(framework) else
             f"All {len(framework)} independent and voluntary providers used")
    return figure(svg, f"{shown}: places used against capacity, and the volume tier reached "
                  "(discount off the weekly price of every place in its scope). "
                  "providers.csv lists every provider.", "providers' volumes and tiers")


def _short(name: str, width: int = 34) -> str:
    return name if len(name) <= width else name[:width - 1].rstrip() + "…"


def _tier_table(run: RunFiles, tiers: dict) -> Markup:
    rows = [r for r in run.providers if r["provider"] in tiers]
    rows.sort(key=lambda r: (-f.value(r["places"]), r["provider"]))
    if not rows:
        return paragraph("No provider reached a volume tier.")
    columns = [Column("provider"), Column("kind"), Column("places", True),
               Column("capacity", True), Column("used", True, "utilisation of capacity"),
               Column("tier reached"), Column("void", True, "guaranteed places not used"),
               Column("fees a year", True, "after discount, void payments included")]
    body = [[r["name"], r["kind"].replace("_", "-"), f.places(f.number(r["places"])),
             f.places(f.number(r["capacity"])), f.share(f.number(r["utilisation"]), 0),
             _tier_text(tiers[r["provider"]], run),
             Cell(f.places(f.number(r["void_places"])),
                  "flag" if f.value(r["void_places"]) >= SHOWN else None),
             f.money(f.number(r["annual_fees"]))] for r in rows[:MAX_TIER_ROWS]]
    note = (f"The {len(body)} largest of {len(rows)}; providers.csv has them all."
            if len(rows) > len(body) else None)
    return table(columns, body, "Providers with a volume tier", note)


# --------------------------------------------------------------------------- investment

def investment(run: RunFiles) -> Section | None:
    if run.investment is None:
        return None
    rows = [r for r in run.investment if f.value(r["saving_per_place_year"]) > 0]
    if not rows:
        return Section("investment", "Where one more place would save most", [paragraph(
            "No extra place of any type at any member would lower the consortium's cost.")])
    columns = [Column("rank", True), Column("at"), Column("placement type"),
               Column("saving a year", True, "from the plan's dual prices"),
               Column("confirmed", True, "re-solved with one more place"),
               Column("assumed price a week", True, "median weekly price of the type")]
    body = [[r["rank"], run.names.get(r["authority"], r["authority"]),
             run.type_name(r["placement_type"]), f.money(f.number(r["saving_per_place_year"])),
             f.money(f.number(r["resolve_saving"])), f.money(f.number(r["price_assumed_weekly"]))]
            for r in rows[:MAX_SIGNAL_ROWS]]
    return Section("investment", "Where one more place would save most", [
        paragraph("What the consortium would save each year from one more place of a type "
                  "located at a member, at the type's median price: a guide for "
                  "commissioning new provision or in-house capacity."),
        table(columns, body, note="investment.csv has every member and type."),
    ])


# --------------------------------------------------------------------------- policy

def policy(run: RunFiles) -> Section:
    from optimiser.schema import Policy

    fairness, pol = run.summary["fairness"], run.policy
    rational = ("on: no member may pay more than it would alone"
                if pol["individual_rationality"] else "off: a member may pay more than alone")
    text = [paragraph(strong("Voice: "), f"{pol['voice']}: {VOICES.get(pol['voice'], '')}.",
                      f"Individual rationality {rational}."),
            paragraph(strong("Price of fairness: "), _fairness_sentence(fairness)),
            paragraph(_spread_sentence(fairness))]
    columns = [Column("policy key"), Column("value used"), Column("default"), Column("meaning")]
    body = []
    for key, field in Policy.model_fields.items():
        value, default = pol.get(key), field.default
        changed = value != default
        body.append([Cell(key, "warn" if changed else None), _policy_value(value),
                     _policy_value(default), field.description or ""])
    return Section("policy", "Policy and the price of fairness", [
        *text, table(columns, body, note="Keys in amber differ from the default.")])


def _fairness_sentence(fairness: dict) -> str:
    price = fairness["price_of_fairness"]
    if price is None:
        return "not computed."
    pct = fairness["price_of_fairness_pct"]
    return (f"{f.money(price)} a year ({f.pct(pct, 3 if pct is not None and abs(pct) < 0.1 else 1)}"
            " of the total): what these rules cost the consortium as a whole, against the "
            "cheapest plan for the consortium (voice volume, no individual rationality).")


def _spread_sentence(fairness: dict) -> str:
    jain, gini = fairness["jain"], fairness["gini"]
    parts = ["How evenly the savings are shared:"]
    if jain is not None:
        parts.append(f"Jain's index of saving % is {jain:.2f} (1 means every member saves the "
                     "same %, lower means less even)")
    if gini is not None:
        parts.append(f"{'and ' if jain is not None else ''}the Gini coefficient is {gini:.2f} "
                     "(0 means equal shares)")
    return " ".join(parts) + "." if len(parts) > 1 else ""


def _policy_value(value: object) -> str:
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    return str(value)
