"""Demand projections from a council's own entry and exit rates (`optimise demand --years N`).

**Projection.** Per type, from the period's average places P0, entries E a year and exits X a
year (``optimiser.episode_demand``): each place ends at the rate q = X / P0 a year (at most 1)
and E children arrive a year, so year y's places are

    m_y = m_{y-1} + E - q m_{y-1}     (m_0 = P0)

which tends to E / q, the level at which arrivals and departures balance. Arrivals are
Poisson and each placement ends within a year with chance q, so the variance grows as

    v_y = (1 - q)^2 v_{y-1} + E + q (1 - q) m_{y-1}     (v_0 = sd^2, the observed spread)

**For guarantee.** A guarantee's scenario is "a year of the contract" (``optimiser.scenarios``):
over N years the demand of a scenario is a mixture of the N years' distributions, with mean
the average of the m_y and variance the average of the v_y plus the variance of the m_y (the
trend). demand.csv is written with these two moments as ``places`` and ``sd``, so `optimise
guarantee` (with its default ``demand_growth_pct`` 0: the trend is already in the rows) sizes
a block on the council's own trend; forecast.csv has each year with a 90% band (normal
approximation, not below zero).
"""

from __future__ import annotations

import math

import pandas as pd

from optimiser.episode_demand import Observed

#: z of the 5% and 95% quantiles of a normal distribution
Z90 = 1.6448536269514722
FORECAST_COLUMNS = ("placement_type", "year", "places", "sd", "low", "high")


def project(places: float, sd: float, entries: float, exits: float, years: int
            ) -> list[tuple[float, float]]:
    """(mean, sd) of each year 1..``years`` (rates a year; see the module docstring)."""
    q = min(1.0, exits / places) if places > 0 else 1.0
    mean, variance, out = places, sd * sd, []
    for _ in range(years):
        mean, variance = (mean + entries - q * mean,
                          (1 - q) ** 2 * variance + entries + q * (1 - q) * mean)
        out.append((mean, math.sqrt(variance)))
    return out


def contract_moments(yearly: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean and sd of demand in a year drawn evenly from the contract's years."""
    means = [m for m, _ in yearly]
    mean = sum(means) / len(means)
    variance = (sum(s * s for _, s in yearly) / len(yearly)
                + sum((m - mean) ** 2 for m in means) / len(means))
    return mean, math.sqrt(variance)


def forecast(observed: Observed, years: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(demand rows for the contract, forecast table per type and year)."""
    rate = observed.rates.set_index("placement_type")
    demand_rows, table = [], []
    for row in observed.demand.itertuples():
        kind = row.placement_type
        yearly = project(row.places, row.sd, float(rate.at[kind, "entries_per_year"]),
                         float(rate.at[kind, "exits_per_year"]), years)
        table += [{"placement_type": kind, "year": y, "places": round(m, 4), "sd": round(s, 4),
                   "low": round(max(0.0, m - Z90 * s), 4), "high": round(m + Z90 * s, 4)}
                  for y, (m, s) in enumerate(yearly, start=1)]
        mean, sd = contract_moments(yearly)
        demand_rows.append({"authority": row.authority, "placement_type": kind,
                            "places": round(mean, 4), "sd": round(sd, 4)})
    return (pd.DataFrame(demand_rows, columns=list(observed.demand.columns)),
            pd.DataFrame(table, columns=list(FORECAST_COLUMNS)))



def forecast_lines(rows: pd.DataFrame, years: int) -> list[str]:
    """The screen's lines for the contract's demand."""
    from optimiser.reports.formats import places

    lines = [f"contract demand over {years} year(s), from the entry and exit rates "
             "(demand.csv; each year in forecast.csv):"]
    lines += [f"  {r.placement_type:<22}{places(r.places, 2):>8} places, sd {places(r.sd, 2)}"
              for r in rows.itertuples()]
    return lines
