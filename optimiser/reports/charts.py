"""The report's charts: matplotlib figures rendered to inline SVG.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot, so no global backend
or figure registry) under a fixed style (:data:`STYLE`). Output is byte-identical run to run:
``svg.hashsalt`` is fixed, the SVG metadata (date, creator) is dropped, and every id in a chart
is prefixed with the chart's key, because inline SVGs share one id space in the HTML page.
Text is drawn as paths (``svg.fonttype: path``), so no font has to be present where the report
is read, and mathtext is off (``text.parse_math: False``) so a ``$`` in a name stays a ``$``.

Each function takes plain lists prepared by the report modules and returns SVG text.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence

import matplotlib
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.patches import Patch

STYLE = {
    "svg.hashsalt": "optimise-report",
    "svg.fonttype": "path",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.edgecolor": "#8a959d",
    "xtick.color": "#3b4750",
    "ytick.color": "#1b2733",
}

ACCENT = "#1f5f8b"
LIGHT = "#c9dbe8"
GOOD = "#2e7d32"
WARN = "#e09a22"
BAD = "#c62828"
GREY = "#9aa5ad"
INK = "#1b2733"
TONES = {"": ACCENT, "good": GOOD, "warn": WARN, "bad": BAD}

#: figure width in inches; the page scales the SVG to its column (about 1,040 px on screen)
WIDTH = 9.0
#: height of one bar row in inches
ROW = 0.27


def chart(build: Callable[..., Figure]) -> Callable[..., str]:
    """Run a figure builder under :data:`STYLE` and return its SVG, ids prefixed by ``key``."""
    @functools.wraps(build)
    def wrapper(key: str, *args, **kwargs) -> str:
        with matplotlib.rc_context(STYLE):
            figure = build(*args, **kwargs)
            return svg(figure, key)
    return wrapper


_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_IDS = re.compile(r'(\bid="|href="#|url\(#)')


def svg(figure: Figure, key: str) -> str:
    """The figure as SVG text with stable bytes and ids unique to ``key``."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight",
                   pad_inches=0.05)
    text = _METADATA.sub("", buffer.getvalue())
    return _IDS.sub(lambda m: f"{m.group(1)}{key}-", text)


def bar_height(rows: int, extra: float = 0.9) -> float:
    return extra + ROW * max(rows, 1)


def _bar_axes(rows: int, extra: float = 0.9):
    figure = Figure(figsize=(WIDTH, bar_height(rows, extra)))
    axes = figure.add_subplot()
    axes.invert_yaxis()  # first row on top
    axes.tick_params(axis="y", length=0)
    axes.grid(axis="x", color="#e3e8ec", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def _pad_right(axes, values: Sequence[float], low: float = 0.0, room: float = 0.35) -> None:
    """Leave room right of the longest bar for its label."""
    high = max([0.0, *values])
    low = min([low, *values])
    span = (high - low) or 1.0
    axes.set_xlim(low - (0.05 * span if low < 0 else 0), high + room * span)


@chart
def saving_bars(labels: Sequence[str], saving_pct: Sequence[float], notes: Sequence[str],
                tones: Sequence[str], average: float | None, legend: Sequence[tuple[str, str]]
                ) -> Figure:
    """Each member's saving % as a bar (so small members show as clearly as big ones), its
    saving in £ written at the bar's end, the consortium's saving % as a dashed line."""
    figure, axes = _bar_axes(len(labels), 1.2)
    y = range(len(labels))
    axes.barh(y, saving_pct, color=[TONES[t] for t in tones], height=0.7)
    _pad_right(axes, saving_pct, room=0.45)
    for i, (pct, note) in enumerate(zip(saving_pct, notes)):
        axes.annotate(note, (max(pct, 0), i), xytext=(4, 0), textcoords="offset points",
                      va="center", fontsize=8, color=INK)
    axes.set_yticks(list(y), labels)
    axes.axvline(0, color=INK, linewidth=0.8)
    if average is not None:
        axes.axvline(average, color=INK, linestyle="--", linewidth=1)
    axes.xaxis.set_major_formatter(ticker.PercentFormatter(100))
    axes.set_xlabel("saving against commissioning alone, as a share of its standalone cost")
    _legend(axes, legend, dashed="consortium average" if average is not None else None)
    return figure


def _legend(axes, entries: Sequence[tuple[str, str]], dashed: str | None = None,
            marker: str | None = None) -> None:
    from matplotlib.lines import Line2D

    handles = [Patch(color=TONES.get(tone, tone), label=text) for tone, text in entries]
    if dashed:
        handles.append(Line2D([], [], color=INK, linestyle="--", label=dashed))
    if marker:
        handles.append(Line2D([], [], color=INK, marker="|", markersize=12, linestyle="",
                              markeredgewidth=2, label=marker))
    axes.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4,
                frameon=False, fontsize=8)


@chart
def local_bars(labels: Sequence[str], shares: Sequence[float | None],
               targets: Sequence[float], tones: Sequence[str], average: float | None,
               legend: Sequence[tuple[str, str]]) -> Figure:
    """Each member's local share (% of its placed children within the local radius) against
    its target (a black tick, drawn only where a target is set)."""
    figure, axes = _bar_axes(len(labels), 1.2)
    y = list(range(len(labels)))
    values = [100 * (s or 0.0) for s in shares]
    axes.barh(y, values, color=[TONES[t] for t in tones], height=0.7)
    for i, (share, value) in enumerate(zip(shares, values)):
        text = "nothing placed" if share is None else f"{value:.1f}%"
        axes.annotate(text, (value, i), xytext=(4, 0), textcoords="offset points",
                      va="center", fontsize=8, color=INK)
    marked = [(i, 100 * t) for i, t in enumerate(targets) if t > 0]
    if marked:
        axes.scatter([t for _, t in marked], [i for i, _ in marked], marker="|", s=160,
                     color=INK, linewidths=2, zorder=3)
    if average is not None:
        axes.axvline(100 * average, color=INK, linestyle="--", linewidth=1)
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 20, 40, 60, 80, 100], ["0%", "20%", "40%", "60%", "80%", "100%"])
    axes.set_yticks(y, labels)
    axes.set_xlabel("share of placed children within the local radius")
    _legend(axes, legend, dashed="consortium" if average is not None else None,
            marker="local target" if marked else None)
    return figure


@chart
def heatmap(row_labels: Sequence[str], column_labels: Sequence[str],
            shades: Sequence[Sequence[float | None]], texts: Sequence[Sequence[str]],
            colour_label: str) -> Figure:
    """A grid coloured by ``shades`` (0-1; ``None`` greyed out) with a text in each cell."""
    import numpy as np

    rows, columns = len(row_labels), len(column_labels)
    figure = Figure(figsize=(WIDTH, 1.6 + 0.36 * max(rows, 1)))
    axes = figure.add_subplot()
    # no gap (0) is white, below the scale; no need at all (None) is grey
    grid = np.array([[np.nan if v is None else (-1.0 if v <= 0 else v) for v in row]
                     for row in shades], dtype=float)
    cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#e3e7ea", under="white")
    image = axes.imshow(grid.reshape(rows, columns), cmap=cmap, vmin=1e-9, vmax=1,
                        aspect="auto", interpolation="nearest")
    for r in range(rows):
        for c in range(columns):
            dark = not math.isnan(grid[r, c]) and grid[r, c] > 0.55
            axes.text(c, r, texts[r][c], ha="center", va="center", fontsize=7.5,
                      color="white" if dark else INK)
    axes.set_xticks(range(columns), column_labels, rotation=0, fontsize=8)
    axes.xaxis.tick_top()
    axes.set_yticks(range(rows), row_labels)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_xticks([c - 0.5 for c in range(1, columns)], minor=True)
    axes.set_yticks([r - 0.5 for r in range(1, rows)], minor=True)
    axes.grid(which="minor", color="#d5dbe0", linewidth=1.0)
    axes.tick_params(which="minor", length=0)
    bar = figure.colorbar(image, ax=axes, orientation="horizontal", fraction=0.04, pad=0.02,
                          aspect=50)
    bar.set_label(colour_label, fontsize=8)
    bar.ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    return figure


@chart
def provider_bars(labels: Sequence[str], used: Sequence[float], capacity: Sequence[float],
                  void: Sequence[float], notes: Sequence[str], tones: Sequence[str],
                  legend: Sequence[tuple[str, str]]) -> Figure:
    """Providers' places (solid, coloured by the tier reached) against their capacity (pale),
    guaranteed places paid for but not used (hatched red), the tier written at the bar's end."""
    figure, axes = _bar_axes(len(labels), 1.2)
    y = list(range(len(labels)))
    axes.barh(y, capacity, color="#e6ecf0", height=0.75, edgecolor="#b8c3cb", linewidth=0.5)
    axes.barh(y, used, color=[TONES.get(t, t) for t in tones], height=0.75)
    axes.barh(y, void, left=used, color="white", edgecolor=BAD, hatch="////", height=0.75,
              linewidth=0.8)
    ends = [max(c, u + v) for c, u, v in zip(capacity, used, void)]
    _pad_right(axes, ends, room=0.55)
    for i, (end, note) in enumerate(zip(ends, notes)):
        axes.annotate(note, (end, i), xytext=(4, 0), textcoords="offset points", va="center",
                      fontsize=7.5, color=INK)
    axes.set_yticks(y, labels, fontsize=8)
    axes.set_xlabel("places (average children in placement over the year)")
    handles = [Patch(color=TONES.get(t, t), label=text) for t, text in legend]
    handles += [Patch(facecolor="#e6ecf0", edgecolor="#b8c3cb", label="capacity"),
                Patch(facecolor="white", edgecolor=BAD, hatch="////",
                      label="guaranteed, not used (void)")]
    axes.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
                frameon=False, fontsize=8)
    return figure


@chart
def grouped_bars(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]],
                 xlabel: str) -> Figure:
    """Several values per row side by side: ``series`` is (name, colour, values)."""
    count = len(series)
    figure, axes = _bar_axes(len(labels), 1.2 + 0.1 * count)
    height = 0.8 / count
    for k, (name, colour, values) in enumerate(series):
        offsets = [i - 0.4 + height * (k + 0.5) for i in range(len(labels))]
        axes.barh(offsets, values, height=height, color=colour, label=name)
    axes.axvline(0, color=INK, linewidth=0.8)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel(xlabel)
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(_pounds_axis))
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=count, frameon=False,
                fontsize=8)
    return figure


@chart
def simple_bars(labels: Sequence[str], values: Sequence[float], notes: Sequence[str],
                tones: Sequence[str], xlabel: str, percent: bool = False) -> Figure:
    """One bar per row with a note at its end; ``percent``: values are 0-100 points."""
    figure, axes = _bar_axes(len(labels))
    y = list(range(len(labels)))
    axes.barh(y, values, color=[TONES.get(t, t) for t in tones], height=0.7)
    _pad_right(axes, values, room=0.45)
    for i, (value, note) in enumerate(zip(values, notes)):
        axes.annotate(note, (max(value, 0), i), xytext=(4, 0), textcoords="offset points",
                      va="center", fontsize=8, color=INK)
    axes.axvline(0, color=INK, linewidth=0.8)
    axes.set_yticks(y, labels)
    axes.set_xlabel(xlabel)
    if percent:
        axes.xaxis.set_major_formatter(ticker.PercentFormatter(100))
    return figure


def _pounds_axis(amount: float, _position: int) -> str:
    from optimiser.reports.formats import money_short

    return money_short(amount)
