"""report.html of `optimise guarantee`: should we guarantee volumes, and what is the risk.

Built from guarantee.csv, scenarios.csv, guarantee_summary.json and guarantee.png as written
(``files``; the PNG is embedded as a data: URL, so the page stays self-contained). Sections:
the headline (the recommended option against no guarantee), the options with their chart
and table, the SAA statistics (default mode only), the demand model, and the notes. Timings
in the summary are not shown, so the same files give the same bytes.
"""

from __future__ import annotations

import base64
import json

from optimiser.records import Instance
from optimiser.reports import formats as f
from optimiser.reports.html import (
    Card,
    Cell,
    Column,
    Markup,
    Section,
    bullets,
    cards,
    image,
    join,
    page,
    paragraph,
    table,
    tag,
)

#: rows of the demand model table (scenarios.csv has them all)
MAX_DEMAND_ROWS = 40


class GuaranteeFiles:
    def __init__(self, instance: Instance, files: dict[str, str | bytes]):
        from optimiser.guarantee.files import (
            GUARANTEE_CSV,
            GUARANTEE_PNG,
            GUARANTEE_SUMMARY,
        )
        from optimiser.scenarios import SCENARIOS_CSV

        self.instance = instance
        self.summary = json.loads(files[GUARANTEE_SUMMARY])
        self.options = f.rows(files[GUARANTEE_CSV])
        self.demand = f.rows(files[SCENARIOS_CSV]) if SCENARIOS_CSV in files else []
        self.png = files.get(GUARANTEE_PNG)

    @property
    def recommended(self) -> dict | None:
        return next((o for o in self.options if o["recommended"] == "true"), None)


def guarantee_html(instance: Instance, files: dict[str, str | bytes]) -> str:
    """report.html of a guarantee analysis."""
    run = GuaranteeFiles(instance, files)
    sections = [headline(run), options(run), contract_forms(run), saa(run), demand(run),
                notes(run)]
    mode = "a sweep of options" if run.summary["mode"] == "sweep" else \
        "the sample average approximation (SAA)"
    settings = run.summary["settings"]
    return page(f"{run.summary['instance']}: guaranteed volumes under uncertain demand",
                f"{len(run.summary['members'])} members; {mode} over "
                f"{settings['evaluation_scenarios']:,} {settings['scenario_sets']} demand "
                "scenarios. Money is £ a year.", [s for s in sections if s is not None],
                "Made by optimise from guarantee.csv, scenarios.csv, guarantee_summary.json "
                "and guarantee.png beside it; report.xlsx holds the same tables.")


def _interval(row: dict, key: str) -> str:
    low, high = f.number(row[f"{key}_ci_low"]), f.number(row[f"{key}_ci_high"])
    if low is None or high is None or low == high:
        return ""
    return f" (95% interval {f.money(low)} to {f.money(high)})"


def headline(run: GuaranteeFiles) -> Section:
    best = run.recommended
    if best is None or best["expected_cost"] == "":
        return Section("headline", "Headline", [paragraph("No option has a plan in every "
                                                          "scenario; see the options below.")])
    saving = f.value(best["saving"])
    figures = [
        Card("Recommended", best["option"], best["commitments"] or "no guarantee"),
        Card("Expected saving", f.money_short(saving), "a year against no guarantee",
             "good" if saving > 0 else "bad" if saving < 0 else ""),
        Card("Void places", f.places(f.number(best["expected_void_places"])),
             f"expected; paid for but unused in {f.share(f.number(best['p_void']))} of "
             "years", "warn" if f.value(best["expected_void_places"]) > 0 else ""),
        Card("Unmet demand", f.share(f.number(best["p_unmet"])),
             "of years need an emergency placement"),
    ]
    text = [(f"The recommended option, {best['option']}, has the least "
            f"{'expected cost' if run.summary['settings']['risk_weight'] == 0 else 'objective'}"
            f": {f.money(f.number(best['expected_cost']))} a year expected"
            f"{_interval(best, 'expected_cost')}."),
            (f"Against no guarantee it saves {f.money(saving)} a year on average"
            f"{_interval(best, 'saving')}; in 90% of years the saving lies between "
            f"{f.money(f.number(best['saving_p05']))} and "
            f"{f.money(f.number(best['saving_p95']))}.")]
    if best["break_even_discount_pct"]:
        even = f.number(best["break_even_discount_pct"])
        text.append(f"It pays as long as the discount is at least {f.pct(even)} (break-even)."
                    if even > 0 else
                    "It would pay even at the list price, with no discount at all: the "
                    "guaranteed places also spare children dearer spot or emergency "
                    "placements (a negative break-even discount).")
    parts: list[Markup] = [cards(figures), paragraph(*text)]
    for warning in run.summary.get("warnings") or []:
        parts.append(paragraph(warning, class_="alert"))
    return Section("headline", "Headline", parts)


def options(run: GuaranteeFiles) -> Section:
    worst = 1 - run.summary["settings"]["risk_level"]
    parts: list[Markup] = [paragraph(
        "Every option is costed on the same demand scenarios, so differences between options "
        "are not noise of the sample. Void: guaranteed places paid for but not used. CVaR "
        f"(conditional value at risk): the average cost of the worst {f.share(worst, 0)} of "
        "years.")]
    if isinstance(run.png, bytes):
        source = "data:image/png;base64," + base64.b64encode(run.png).decode("ascii")
        caption = ("Expected saving against no guarantee with the 5-95% band of scenarios "
                   "(top); probability of any void place and of unmet demand (bottom).")
        parts.append(tag("figure", join([image(source, "saving against guaranteed places", 800),
                                         tag("figcaption", caption)]),
                         aria_label="guarantee chart"))
    columns = [Column("option"), Column("places", True, "guaranteed places"),
               Column("discount", True),
               Column("expected cost", True), Column("saving", True, "against no guarantee"),
               Column("5-95% of years", True, "the saving's spread over the scenarios"),
               Column("void", True, "expected void places"),
               Column("P(void)", True, "probability of any void place"),
               Column("P(unmet)", True, "probability of any emergency placement"),
               Column("CVaR", True, "mean cost of the worst years"),
               Column("break-even", True, "the least discount at which the guarantee pays")]
    body = []
    for o in run.options:
        band = (f"{f.money_short(f.number(o['saving_p05']))} to "
                f"{f.money_short(f.number(o['saving_p95']))}" if o["saving_p05"] else "–")
        body.append([Cell(o["option"] + (" (recommended)" if o["recommended"] == "true" else ""),
                          "warn" if o["recommended"] == "true" else None),
                     f.places(f.number(o["guaranteed_places"])),
                     f.pct(f.number(o["discount_pct"])),
                     f.money(f.number(o["expected_cost"])), f.money(f.number(o["saving"])),
                     band, f.places(f.number(o["expected_void_places"]), 2),
                     f.share(f.number(o["p_void"])), f.share(f.number(o["p_unmet"])),
                     f.money(f.number(o["cvar_cost"])),
                     f.pct(f.number(o["break_even_discount_pct"]))])
    parts.append(table(columns, body))
    return Section("options", "Options", parts)


def contract_forms(run: GuaranteeFiles) -> Section | None:
    """The forms beside the reference block, costed on the same scenarios, with the provider's
    margin under each (``optimiser.guarantee.contract_forms``)."""
    forms = run.summary.get("contract_forms")
    if not forms:
        return None
    ref, review, provider = forms["reference"], forms["review"], forms["provider"]
    columns = [Column("contract form"), Column("guaranteed places", True),
               Column("expected cost", True, "the consortium's, £ a year"),
               Column("95% interval", True), Column("against the block", True),
               Column("provider's margin", True, "expected payments less costs, £ a year"),
               Column("margin share", True, "margin as a share of the payments"),
               Column("years at a loss", True, "share of scenarios with a negative margin")]
    body = []
    for r in forms["forms"]:
        interval = ("–" if r["expected_cost_ci_low"] is None else
                    f"{f.money(r['expected_cost_ci_low'])} to "
                    f"{f.money(r['expected_cost_ci_high'])}")
        flagged = r["loss_flag"]
        body.append([Cell(r["form"] + (" (provider at risk)" if flagged else ""),
                          "warn" if flagged else None),
                     f.places(r["guaranteed_places"], 2), f.money(r["expected_cost"]),
                     interval, f.money(r["against_block"]), f.money(r["provider_margin"]),
                     f.share(r["provider_margin_pct"]),
                     Cell(f.share(r["p_provider_loss"]), "warn" if flagged else None)])
    stay = ", ".join(_band_text(b) for b in forms["schedule"])
    text = [
        paragraph(f"The reference is {ref['option']}: {ref['provider']} guarantees "
                  f"{ref['guaranteed_places']} places at {f.money(ref['block_price_year'])} a "
                  f"place a year ({f.money(ref['list_fee_year'])} at list price). Each form is "
                  "costed on the same demand scenarios. Block: the guaranteed places are paid "
                  "for whether used or not. Soft block: the guarantee is re-set every year, "
                  f"between {review['low']} and {review['high']} places, to the previous "
                  "year's use" + _persistence(review) + ". Outcome-linked: no guarantee; each child's place is paid at a "
                  "share of the list fee that falls with the length of the stay. Spot: no "
                  "contract at all."),
        paragraph(f"Outcome-linked schedule: {stay}; on average "
                  f"{f.share(forms['payment_factor'])} of the list fee"
                  + (f", with {f.share(forms['outcome_share'], 0)} of it paid only on a good "
                     f"outcome (probability {f.share(forms['outcome_probability'], 0)})"
                     if forms["outcome_share"] else "")
                  + f". Length of stay: {forms['stay']}. This is time in care, used for time "
                  "in a placement: placements are shorter, so the later, lower-paid bands are "
                  "reached less often than assumed and the payment is somewhat understated."),
        table(columns, body),
        paragraph(f"The provider's cost of a place is its list fee less a "
                  f"{f.share(provider['margin'])} margin ({f.money(provider['cost_year'])} a "
                  f"year; Competition and Markets Authority, 2022); "
                  f"{f.share(provider['fixed_cost_share'], 0)} of it is paid for every place "
                  "held open, used or not (staffing). A form is marked when the provider makes "
                  f"a loss in more than {f.share(provider['loss_share'], 0)} of years: a "
                  "provider that loses money may leave the market, as one of Kansas's did."),
    ]
    return Section("contract-forms", "Contract forms", text)


def _persistence(review: dict) -> str:
    """How the soft block's previous year relates to this year (docs/model.md 9.4)."""
    rho = review.get("year_correlation")
    if rho is None:
        return ""
    return (f" (children stay in care for years, so demand persists: a year and the year "
            f"before are correlated {rho:.2f}, exp(-1 / mean stay in years))")


def _band_text(band: dict) -> str:
    """"6-12 months: 66% of the fee (14.9% of days)"."""
    months = (f"{band['from_months']:g}+" if band["to_months"] is None
              else f"{band['from_months']:g}-{band['to_months']:g}")
    return (f"{months} months: {f.share(band['share_of_fee'], 0)} of the fee "
            f"({f.share(band['stay_share'])} of days)")


def saa(run: GuaranteeFiles) -> Section | None:
    stats = run.summary.get("saa")
    if not stats:
        return None
    columns = [Column("figure"), Column("estimate", True), Column("95% interval", True),
               Column("meaning")]

    def line(label: str, entry: dict | None, meaning: str) -> list[object]:
        if not entry:
            return [label, "–", "–", meaning]
        low, high = entry.get("ci_low"), entry.get("ci_high")
        interval = (f"{f.money(low)} to {f.money(high)}" if low is not None
                    else f"up to {f.money(high)}" if high is not None else "–")
        return [label, f.money(entry["estimate"]), interval, meaning]

    body = [
        line("lower bound", stats.get("lower_bound"), "the best expected cost any plan can "
             "reach (mean of the replications' optima)"),
        line("upper bound", stats.get("upper_bound"), "the recommended plan's expected cost, "
             "on an independent sample"),
        line("optimality gap", stats.get("gap"), "how far the recommended plan may be from "
             "the best"),
        line("value of the stochastic solution (VSS)", run.summary.get("vss"),
             "what planning for uncertainty saves against planning for expected demand"),
        line("expected value of perfect information (EVPI)", run.summary.get("evpi"),
             "what knowing each year's demand in advance would save"),
    ]
    parts: list[Markup] = [
        paragraph(f"{len(stats['replications'])} independent samples of scenarios were each "
                  "solved as one model (the sample average approximation, SAA); each distinct "
                  "plan was then costed on a fresh sample."),
        table(columns, body)]
    explained = bound_above_plan(stats)
    if explained:
        parts.append(paragraph(explained))
    return Section("saa", "How good is the recommendation", parts)


def bound_above_plan(stats: dict) -> str | None:
    """Why a lower bound (or its interval) can lie above the recommended plan's cost, when it
    does: both are estimates from samples; the gap is the figure to read."""
    lower, upper = stats.get("lower_bound") or {}, stats.get("upper_bound") or {}
    plan = upper.get("estimate")
    top = lower.get("ci_high") if lower.get("ci_high") is not None else lower.get("estimate")
    if plan is None or top is None or top <= plan:
        return None
    return (f"The lower bound is the average of {len(stats['replications'])} small samples' "
            "optima, so it is uncertain: its interval reaching above the recommended plan's "
            f"cost ({f.money(plan)}) is sampling error, not a plan cheaper than the best. The "
            "optimality gap compares the two on the same scenarios and is the figure to read.")


def demand(run: GuaranteeFiles) -> Section | None:
    if not run.demand:
        return None
    d = run.summary["demand"]
    columns = [Column("authority"), Column("need"), Column("expected", True),
               Column("sd", True), Column("distribution"), Column("5%", True),
               Column("median", True), Column("95%", True)]
    body = [[r["name"] or "all needs", _type_name(run, r["placement_type"]), f.places(f.number(r["expected_places"])),
             f.places(f.number(r["sd"])), r["distribution"], f.places(f.number(r["p05"])),
             f.places(f.number(r["p50"])), f.places(f.number(r["p95"]))]
            for r in run.demand[:MAX_DEMAND_ROWS]]
    note = (f"The first {len(body)} of {len(run.demand)} needs; scenarios.csv has them all."
            if len(run.demand) > len(body) else None)
    return Section("demand", "Demand scenarios", [
        paragraph(f"{f.places(d['expected_places'])} places expected over {d['needs']} needs; "
                  f"correlation {d['correlation']:g} within a region; {d['years']} year(s) at "
                  f"{d['growth_pct']:+g}% a year. The columns 5%, median and 95% are the "
                  "scenarios' spread of places."),
        table(columns, body, note=note)])


def _type_name(run: GuaranteeFiles, type_id: str) -> str:
    found = run.instance.placement_types.get(type_id)
    return found.name if found is not None and found.name else type_id


def notes(run: GuaranteeFiles) -> Section:
    return Section("notes", "Notes", [bullets(run.summary.get("notes") or [])])
