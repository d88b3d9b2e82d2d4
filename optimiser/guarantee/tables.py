"""`optimise guarantee`'s result files: guarantee.csv (one row per option), contract_forms.csv,
scenarios.csv, guarantee_summary.json and the chart guarantee.png; every figure as the columns'
declarations round it (``optimiser.columns``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.guarantee import Risk, SecondStage
from optimiser import columns
from optimiser import scenarios as sc
from optimiser.guarantee.analysis import (
    MODE_SWEEP,
    PLACES_TOLERANCE,
    Evaluated,
    GuaranteeOutcome,
    saa_statistics,
)
from optimiser.guarantee.contract_forms import (
    CONTRACT_FORM_COLUMNS,
    CONTRACT_FORMS_CSV,
    contract_forms,
)
from optimiser.guarantee.files import GUARANTEE_CSV, GUARANTEE_PNG, GUARANTEE_SUMMARY
from optimiser.guarantee.statistics import cvar, estimate, weighted_quantile

#: guarantee.csv: one row per option, its columns as declared (``optimiser.columns``); the
#: break-even discount is the package docstring's
GUARANTEE_COLUMNS = columns.GUARANTEE.names
#: guarantee_summary.json: instance, mode (sweep or optimise), members, settings (as used),
#: demand (the demand model), options (guarantee.csv's rows), recommended (option name),
#: saa (default mode: replications [{replication, status, objective, bound, candidate}],
#: lower_bound {estimate, ci_low, ci_high}, upper_bound {...}, gap {estimate, ci_high}),
#: vss and evpi ({estimate, ci_low, ci_high}; default mode), model_size {second_stage,
#: extensive_form: rows, columns, nonzeros, integers}, timings (every key ends in "seconds"),
#: warnings, notes, policy; contract_forms (``optimiser.guarantee.contract_forms``: reference,
#: schedule, stay, mean_stay_years, outcome_share, outcome_probability, payment_factor,
#: review {band, low, high, method, previous_year: paired or consecutive, year_correlation},
#: provider, forms (contract_forms.csv's rows); null when no option commits exactly one guarantee).
SUMMARY_KEYS = (
    "instance", "mode", "members", "settings", "demand", "options", "recommended", "saa", "vss",
    "evpi", "model_size", "timings", "warnings", "notes", "policy", "contract_forms",
)

NOTES = (
    ("Costs are the consortium's total (voice volume); individual rationality is not applied "
     "per scenario (it would need every member's standalone cost in every scenario)."),
    ("Plain (non-guarantee) volume discounts are earned per scenario when the volume reaches "
     "them; only guarantees and contracts are committed in advance."),
    ("Providers' capacities are those the consortium sees at expected demand (docs/model.md "
     "section 5)."),
)


# --------------------------------------------------------------------------- tables and files

def option_rows(outcome: GuaranteeOutcome) -> list[dict]:
    """guarantee.csv's rows (GUARANTEE_COLUMNS), each figure rounded as the file writes it
    (the summary repeats them)."""
    weights = outcome.evaluation.weights
    sampled = outcome.evaluation.sampled
    risk = outcome.settings.risk
    none = outcome.option("none")
    rows = []
    for e in outcome.evaluated:
        row = dict.fromkeys(GUARANTEE_COLUMNS)
        row.update(e.option.describe(outcome.stage))
        row["recommended"] = e.option.name == outcome.recommended
        row["scenarios"] = len(e.statuses)
        row["failed_scenarios"] = e.failed
        if not e.failed and not none.failed:
            row.update(_figures(e, none, weights, sampled, risk, outcome.stage))
        rows.append(columns.GUARANTEE.rounded(row))
    return rows


def _figures(e: Evaluated, none: Evaluated, weights: np.ndarray, sampled: bool, risk: Risk,
             stage: SecondStage) -> dict:
    f = e.figures
    cost = estimate(f.cost, weights, sampled)
    difference = none.figures.cost - f.cost
    saving = estimate(difference, weights, sampled)
    spend = float(np.dot(weights, f.guaranteed_spend))
    break_even = None
    if len(e.option.commitments) == 1 and spend > 0:
        discount = float(stage.commitments.iloc[e.option.commitments[0]]["discount"])
        break_even = discount - 100.0 * saving.estimate / spend
    tail = cvar(f.cost, weights, risk.level)
    money = {
        "expected_cost": cost.estimate, "expected_cost_ci_low": cost.ci_low,
        "expected_cost_ci_high": cost.ci_high, "saving": saving.estimate,
        "saving_ci_low": saving.ci_low, "saving_ci_high": saving.ci_high,
        "saving_p05": weighted_quantile(difference, weights, 0.05),
        "saving_p95": weighted_quantile(difference, weights, 0.95),
        "expected_void_cost": float(np.dot(weights, f.void_cost)), "cvar_cost": tail,
        "objective": (1 - risk.weight) * cost.estimate + risk.weight * tail,
        "expected_penalty": float(np.dot(weights, f.penalty)),
    }
    places = {
        "expected_void_places": float(np.dot(weights, f.void_places)),
        "expected_unmet_places": float(np.dot(weights, f.unmet)),
    }
    ratios = {
        "p_void": float(np.dot(weights, f.void_places > PLACES_TOLERANCE)),
        "p_unmet": float(np.dot(weights, f.unmet > PLACES_TOLERANCE)),
        "break_even_discount_pct": break_even,
    }
    return money | places | ratios


def summary(outcome: GuaranteeOutcome, rows: list[dict]) -> dict:
    forms, _, flags = contract_forms(outcome)
    settings = outcome.settings
    demand = outcome.demand
    policy = outcome.instance.policy
    stats_ = saa_statistics(outcome)
    size = {"second_stage": _template_size(outcome.stage),
            "extensive_form": outcome.extensive_size}
    return {
        "instance": outcome.instance.name,
        "mode": outcome.mode,
        "members": list(outcome.members),
        "settings": {
            "scenarios": settings.scenarios, "seed": settings.seed,
            "replications": settings.replications,
            "evaluation_scenarios": outcome.evaluation.size,
            "risk_level": settings.risk_level, "risk_weight": settings.risk_weight,
            "places": settings.places, "discount": settings.discount,
            "providers": list(settings.providers),
            "range": None if outcome.stage.range_spec is None else {
                "provider": outcome.stage.range_spec.provider,
                "placement_type": outcome.stage.range_spec.placement_type,
                "low": outcome.stage.range_spec.low, "high": outcome.stage.range_spec.high,
                "discount_pct": outcome.stage.range_spec.discount_pct,
                "seen_capacity": outcome.stage.range_spec.seen_capacity,
                "block": outcome.stage.range_spec.block},
            "scenario_sets": "drawn" if outcome.evaluation.sampled else "enumerated",
        },
        "demand": {
            "needs": demand.size,
            "expected_places": float(demand.needs["places"].sum()),
            "planned_places": float(demand.planned.sum()),
            "cv": policy.demand_cv, "correlation": demand.correlation,
            "years": demand.years, "growth_pct": demand.growth_pct,
            "regions": list(demand.regions),
            "sources": {s: int((demand.needs["source"] == s).sum())
                        for s in ("sd", "cv", sc.POISSON)},
        },
        "options": rows,
        "recommended": outcome.recommended,
        "saa": None if stats_ is None else {k: stats_[k] for k in
                                            ("replications", "lower_bound", "upper_bound",
                                             "gap", "wait_and_see")},
        "vss": None if stats_ is None else stats_["vss"],
        "evpi": None if stats_ is None else stats_["evpi"],
        "model_size": size,
        "timings": {"seconds": outcome.seconds, **outcome.timings,
                    "executor": outcome.executor, "workers": outcome.workers},
        "warnings": list(outcome.instance.warnings) + outcome.warnings + flags,
        "notes": list(NOTES),
        "policy": policy.model_dump(mode="json"),
        "contract_forms": forms,
    }


def _template_size(stage: SecondStage) -> dict:
    return {"rows": stage.num_rows, "columns": stage.num_cols,
            "nonzeros": len(stage.coefs), "integers": int(stage.integer.sum())}


def guarantee_files(outcome: GuaranteeOutcome) -> dict[str, str | bytes]:
    """guarantee.csv, scenarios.csv, guarantee_summary.json (text) and guarantee.png (bytes)."""
    from optimiser.writers import csv_text, json_text

    rows = option_rows(outcome)
    names = {a: outcome.instance.authorities[a].name for a in outcome.members}
    scenarios = sc.scenario_table(outcome.demand, outcome.evaluation, names)
    data = summary(outcome, rows)
    forms = (data["contract_forms"] or {}).get("forms", [])
    return {
        GUARANTEE_CSV: csv_text(pd.DataFrame(rows, columns=list(GUARANTEE_COLUMNS)),
                                columns.GUARANTEE),
        CONTRACT_FORMS_CSV: csv_text(pd.DataFrame(forms, columns=list(CONTRACT_FORM_COLUMNS)),
                                     columns.CONTRACT_FORMS),
        sc.SCENARIOS_CSV: csv_text(scenarios, columns.SCENARIOS),
        GUARANTEE_SUMMARY: json_text(data),
        GUARANTEE_PNG: chart(data),
    }


# --------------------------------------------------------------------------- chart

def chart(data: dict) -> bytes:
    """Saving against guaranteed places with its 5-95% band, and the probabilities of any
    void and of unmet demand; PNG bytes without a timestamp or software tag, so the same
    figures give the same bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = [r for r in data["options"] if r["saving"] is not None]
    figure = Figure(figsize=(8, 6), dpi=100)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    ranged = data["mode"] == MODE_SWEEP and data["settings"]["range"] is not None
    x = np.array([r["guaranteed_places"] for r in rows], dtype=float)
    saving = np.array([r["saving"] for r in rows]) / 1000
    low = np.array([r["saving_p05"] for r in rows]) / 1000
    high = np.array([r["saving_p95"] for r in rows]) / 1000
    if ranged:
        order = np.argsort(x, kind="stable")
        top.fill_between(x[order], low[order], high[order], color="tab:blue", alpha=0.2,
                         label="5-95% of scenarios")
        top.plot(x[order], saving[order], color="tab:blue", marker="o", markersize=3,
                 label="expected saving")
    else:
        # a range line and a point, not error bars: with few or skewed scenarios the expected
        # saving can lie outside its own 5-95% range, which error bars cannot draw
        top.vlines(x, low, high, color="tab:blue", alpha=0.5, label="5-95% of scenarios")
        top.plot(x, saving, "o", color="tab:blue", alpha=0.8, label="expected saving")
        middle = (float(x.min()) + float(x.max())) / 2
        for (xi, yi), names in point_labels(x, saving, [r["option"] for r in rows]).items():
            right = xi > middle  # a label right of the rightmost point would leave the axes
            top.annotate(names, (xi, yi), textcoords="offset points",
                         xytext=(-6 if right else 4, 4), ha="right" if right else "left",
                         fontsize=7)
    best = [r for r in rows if r["recommended"]]
    if best:
        top.plot([best[0]["guaranteed_places"]], [best[0]["saving"] / 1000], marker="*",
                 color="tab:red", markersize=12, linestyle="none",
                 label=f"recommended: {best[0]['option']}")
    top.axhline(0.0, color="grey", linewidth=0.8)
    top.set_ylabel("saving against no guarantee\n(£ thousands a year)")
    top.set_title(f"{data['instance']}: guaranteed places under uncertain demand "
                  f"({data['settings']['evaluation_scenarios']:,} scenarios)", fontsize=10)
    top.legend(fontsize=8, loc="best")
    top.grid(alpha=0.3)
    p_void = np.array([r["p_void"] for r in rows])
    p_unmet = np.array([r["p_unmet"] for r in rows])
    order = np.argsort(x, kind="stable")
    style = "-o" if ranged else "o"
    bottom.plot(x[order], p_void[order], style, color="tab:orange", markersize=3,
                label="P(any void place)")
    bottom.plot(x[order], p_unmet[order], style, color="tab:purple", markersize=3,
                label="P(unmet demand)")
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_ylabel("probability")
    bottom.set_xlabel("guaranteed places")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))  # places are whole
    bottom.legend(fontsize=8, loc="best")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def point_labels(x: np.ndarray, y: np.ndarray, names: list[str]) -> dict[tuple[float, float], str]:
    """One label per charted point: options at the same point (a candidate that is the
    expected-value plan) share it, "A = B", since two labels drawn there overprint."""
    labels: dict[tuple[float, float], list[str]] = {}
    for xi, yi, name in zip(x, y, names):
        labels.setdefault((float(xi), round(float(yi), 3)), []).append(name)
    return {point: " = ".join(group) for point, group in labels.items()}


