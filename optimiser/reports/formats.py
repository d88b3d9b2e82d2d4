"""Reading result files back, and writing their figures in plain words.

Reports are built from the very text of the result files (as the screen summary is), so a
report can never disagree with the CSV and JSON beside it. Cells are read with :func:`rows`
and :func:`number`; figures are written for people with the formatters below (pounds with
thousands separators, millions where a headline needs them, percentages with one decimal).
"""

from __future__ import annotations

import csv
import io
import math

#: the default local radius is 20 miles (docs/model.md section 2); reports give both units
KM_PER_MILE = 1.609344


def rows(text: str) -> list[dict[str, str]]:
    """A CSV result file's rows, as text by column. Text the CSV writer neutralised for
    spreadsheets (``'=...``: ``optimiser.writers.neutralise``) is given back as typed: a page
    runs no formulas, and its reader should see the name itself."""
    from optimiser.writers import restore

    return [{k: restore(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def number(cell: str | None) -> float | None:
    """A numeric cell, or ``None`` when blank (an undefined ratio)."""
    if cell is None or cell == "":
        return None
    return float(cell)


def value(cell: str | None) -> float:
    """A numeric cell, blank read as 0 (for sums and bar lengths)."""
    found = number(cell)
    return 0.0 if found is None else found


def _minus(amount: float, text: str) -> str:
    """``text`` (money without a sign) with a minus when ``amount`` is negative and the text
    shows a figure other than zero: -£3, never -£0 (-0.5 shows as £0, as -0.4 does)."""
    return ("-" if amount < 0 and any(c in "123456789" for c in text) else "") + text


def money(amount: float | None) -> str:
    """£1,234,567 (whole pounds; minus before the sign)."""
    if amount is None:
        return "–"
    return _minus(amount, f"£{abs(round(amount)):,}")


def money_short(amount: float | None) -> str:
    """£45.8m, £250k, £900: for headlines and chart labels."""
    if amount is None:
        return "–"
    size = abs(amount)
    if round(size, -5) >= 1e6:
        text = f"£{size / 1e6:,.1f}m"
    elif round(size, -2) >= 1e4:
        text = f"£{size / 1e3:,.0f}k"
    elif round(size) >= 1e3:
        text = f"£{size / 1e3:,.1f}k"
    else:
        text = f"£{size:,.0f}"
    return _minus(amount, text)


def money_millions(amount: float | None) -> str:
    """£36.25m: millions to two decimals, for screen columns of costs (minus before the sign:
    -£1.23m)."""
    if amount is None:
        return "–"
    return _minus(amount, f"£{abs(amount) / 1e6:,.2f}m")


def shown(value: float, digits: int = 0) -> float:
    """``value`` as it is shown with ``digits`` decimals, a zero without its sign: noise such
    as -0.0004 shows as 0.0, never -0.0, and a real negative keeps its minus."""
    rounded = round(value, digits)
    return rounded if rounded != 0 else 0.0


def pct(points: float | None, digits: int = 1) -> str:
    """A percentage given as 0-100 points (saving_pct, discount_pct): 3.2%."""
    if points is None or not math.isfinite(points):
        return "–"
    return f"{shown(points, digits):,.{digits}f}%"


def share(fraction: float | None, digits: int = 1) -> str:
    """A share given as a 0-1 fraction (local_share, utilisation): 91.1%."""
    return "–" if fraction is None else pct(100 * fraction, digits)


def places(count: float | None, digits: int = 1) -> str:
    """Places, one decimal by default: 14,602.9."""
    if count is None:
        return "–"
    return f"{shown(count, digits):,.{digits}f}"


def whole(count: float | None) -> str:
    """A count of places rounded to whole places: 14,603."""
    return places(count, 0)


def distance(km: float) -> str:
    """32.2 km (20 miles)."""
    return f"{km:,.1f} km ({km / KM_PER_MILE:,.0f} miles)"


def signed(value: float, digits: int = 1, suffix: str = "") -> str:
    """A change with its sign: +1,227.9, -3.2, and 0.0 (no sign) where it rounds to zero."""
    change = shown(value, digits)
    return f"{'+' if change > 0 else ''}{change:,.{digits}f}{suffix}"


def money_compact(amount: float | None, sign: bool = False) -> str:
    """Money for narrow screen tables: £36.2m from £1m (to £0.1m), £362k below (to £1k),
    £0 below £500. ``sign``: a change, +£362k or -£1.2m (never a sign on £0)."""
    if amount is None:
        return "–"
    tenths_m, thousands = round(abs(amount) / 1e5), round(abs(amount) / 1e3)
    if tenths_m >= 10:
        text = f"£{tenths_m / 10:,.1f}m"
    elif thousands >= 1:
        text = f"£{thousands:,}k"
    else:
        return "£0"
    return ("-" if amount < 0 else "+" if sign else "") + text


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """1 place, 2 places, 1 consortium, 3 consortia: the word agrees with the count."""
    word = singular if count == 1 else plural or singular + "s"
    return f"{count:,} {word}"
