"""The map of a run: authorities, where their children are placed, and the flows between.

No basemap is downloaded: points are drawn on a plain equirectangular projection,
x = lon * cos(mean latitude), y = lat, which keeps distances true to within a few per cent
across a region (and the scale bar, the local radius, is right at the mean latitude).

* Authorities: dark dots, labelled with their names. Labels are placed greedily, largest
  authority first, at the first of several positions around the dot that overlaps no label
  or dot already placed; a label that fits nowhere near goes further out on a leader line.
* Providers: places are summed by location (real instances put every provider at its
  authority's centre, because addresses are redacted), drawn as a pale circle whose area is
  the places the plan uses there.
* Flows: placements summed by (authority, provider location, local or not), drawn from home
  to placement as slightly curved lines (so flows both ways between two places stay apart),
  width by places. Placements at the authority's own location have no line (the circle shows
  them). Above :data:`MAX_FLOWS` flows only the largest are drawn, and the caption says how
  many and what share of the places they carry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import ArrowStyle, FancyArrowPatch

from optimiser.reports.charts import ACCENT, INK, WARN, chart

MAX_FLOWS = 400
#: inches: the map's largest width and height, and the room for the legend on its right
MAP_WIDTH = 6.2
MAP_HEIGHT = 8.0
LEGEND_WIDTH = 2.3
KM_PER_DEGREE = 111.195  # of latitude, on the mean Earth sphere
#: flows below this many places are not drawn (they would be invisible hairlines)
MIN_FLOW_PLACES = 0.05
LOCAL_COLOUR = ACCENT
AWAY_COLOUR = WARN


@dataclass(frozen=True)
class Place:
    name: str
    lon: float
    lat: float
    size: float  # places: an authority's demand, a location's places used


@dataclass(frozen=True)
class Flow:
    origin: tuple[float, float]  # lon, lat of the authority
    target: tuple[float, float]  # lon, lat of the provider location
    places: float
    local: bool


def top_flows(flows: Sequence[Flow]) -> list[Flow]:
    """The flows worth a line: not at home, not negligible, at most :data:`MAX_FLOWS`."""
    moving = [f for f in flows if f.origin != f.target and f.places >= MIN_FLOW_PLACES]
    moving.sort(key=lambda f: (-f.places, f.origin, f.target, f.local))
    return moving[:MAX_FLOWS]


class _Projection:
    def __init__(self, points: Sequence[tuple[float, float]]):
        lats = [lat for _, lat in points]
        self.scale = math.cos(math.radians((min(lats) + max(lats)) / 2))

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return lon * self.scale, lat


@chart
def placement_map(authorities: Sequence[Place], locations: Sequence[Place],
                  flows: Sequence[Flow], radius_km: float) -> Figure:
    """The map (see the module docstring); ``flows`` should come from :func:`top_flows`."""
    points = [(p.lon, p.lat) for p in [*authorities, *locations]]
    project = _Projection(points)
    xs, ys = zip(*(project(*p) for p in points))
    x0, x1, y0, y1 = _extent(xs, ys)
    # the map keeps its aspect within MAP_WIDTH x MAP_HEIGHT; the legend sits to its right
    aspect = (y1 - y0) / (x1 - x0)
    width = min(MAP_WIDTH, MAP_HEIGHT / aspect)
    figure = Figure(figsize=(width + LEGEND_WIDTH, width * aspect))
    axes = figure.add_axes((0, 0, width / (width + LEGEND_WIDTH), 1))
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    axes.set_aspect("equal", adjustable="box")
    axes.set_axis_off()
    _draw_locations(axes, locations, project)
    _draw_flows(axes, flows, project, locations)
    dots = _draw_authorities(axes, authorities, project)
    _label(figure, axes, authorities, project, dots)
    _scale_bar(axes, radius_km, x0, x1, y0, y1)
    _map_legend(axes, locations)
    return figure


def _extent(xs, ys) -> tuple[float, float, float, float]:
    span = max(max(xs) - min(xs), max(ys) - min(ys), 0.05)
    margin = 0.12 * span
    x0, x1 = min(xs) - margin, max(xs) + margin
    y0, y1 = min(ys) - margin, max(ys) + margin
    return x0, x1, y0, y1


def _area(places: float, largest: float, biggest_area: float = 900.0) -> float:
    """Marker area in points^2, proportional to places."""
    return biggest_area * places / largest if largest > 0 else 0.0


def _draw_locations(axes, locations: Sequence[Place], project) -> None:
    largest = max((p.size for p in locations), default=0.0)
    used = [p for p in locations if p.size > 0]
    if not used:
        return
    x, y = zip(*(project(p.lon, p.lat) for p in used))
    axes.scatter(x, y, s=[_area(p.size, largest) for p in used], color="#8fb6d3", alpha=0.45,
                 edgecolors="#5d8fb5", linewidths=0.6, zorder=1)


def _draw_flows(axes, flows: Sequence[Flow], project, locations: Sequence[Place]) -> None:
    """Arrows stop at the edge of the destination's circle, so heads stay readable where
    many flows arrive."""
    largest = max((f.places for f in flows), default=0.0)
    biggest = max((p.size for p in locations), default=0.0)
    radius = {(p.lon, p.lat): math.sqrt(_area(p.size, biggest)) / 2 for p in locations}
    for flow in sorted(flows, key=lambda f: f.places):  # big flows on top
        width = 0.35 + 5.0 * flow.places / largest
        head = ArrowStyle("-|>", head_length=3.0 + 0.7 * width, head_width=1.5 + 0.45 * width)
        arrow = FancyArrowPatch(project(*flow.origin), project(*flow.target),
                                connectionstyle="arc3,rad=0.18", arrowstyle=head,
                                color=LOCAL_COLOUR if flow.local else AWAY_COLOUR,
                                linewidth=width, alpha=0.6, zorder=2, shrinkA=2,
                                shrinkB=3 + radius.get(flow.target, 0.0))
        axes.add_patch(arrow)


def _draw_authorities(axes, authorities: Sequence[Place], project):
    x, y = zip(*(project(a.lon, a.lat) for a in authorities))
    return axes.scatter(x, y, s=22, color=INK, edgecolors="white", linewidths=0.8, zorder=4)


#: label positions tried around a dot, in points: (dx, dy); a leader line from the farther ones
_NEAR = [(6, 0), (-6, 0), (0, 7), (0, -7), (5, 5), (-5, 5), (5, -5), (-5, -5)]
_FAR = [(d * dx, d * dy) for d in (3, 5, 7) for dx, dy in
        [(6, 0), (-6, 0), (0, 5), (0, -5), (5, 4), (-5, 4), (5, -4), (-5, -4)]]


def _label(figure: Figure, axes, authorities: Sequence[Place], project, dots) -> None:
    """Greedy label placement, largest authority first (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    dots = [_dot_box(axes, project(a.lon, a.lat)) for a in authorities]
    labels: list = []
    order = sorted(range(len(authorities)), key=lambda i: (-authorities[i].size, i))
    for i in order:
        place = authorities[i]
        anchor = project(place.lon, place.lat)
        # a label may not sit by another authority's dot, where it would name the wrong one
        taken = labels + [box for j, box in enumerate(dots) if j != i]
        best = None
        for offset in [*_NEAR, *_FAR]:
            text = _text(axes, place.name, anchor, offset)
            box = text.get_window_extent(renderer).expanded(1.04, 1.1)
            overlap = sum(_overlap(box, other) for other in taken)
            inside = axes.bbox.x0 <= box.x0 and box.x1 <= axes.bbox.x1
            if overlap == 0 and inside:
                best = (0, offset, box)
                text.remove()
                break
            score = overlap + (0 if inside else 1e6)
            if best is None or score < best[0]:
                best = (score, offset, box)
            text.remove()
        _, offset, box = best
        _text(axes, place.name, anchor, offset, leader=offset not in _NEAR)
        labels.append(box)


def _text(axes, name: str, anchor, offset, leader: bool = False):
    dx, dy = offset
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
    arrow = {"arrowstyle": "-", "color": INK, "linewidth": 0.8, "shrinkA": 0, "shrinkB": 3}
    return axes.annotate(
        name, anchor, xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=7.5,
        color=INK, zorder=5, arrowprops=arrow if leader else None,
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])


#: pixels around an authority's dot that no other authority's label may touch
DOT_CLEARANCE = 10


def _dot_box(axes, point):
    from matplotlib.transforms import Bbox

    x, y = axes.transData.transform(point)
    return Bbox.from_extents(x - DOT_CLEARANCE, y - DOT_CLEARANCE, x + DOT_CLEARANCE,
                             y + DOT_CLEARANCE)


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _scale_bar(axes, radius_km: float, x0: float, x1: float, y0: float, y1: float) -> None:
    """A bar as long as the local radius (or 20 km if the radius is 0), bottom left."""
    km = radius_km if radius_km > 0 else 20.0
    length = km / KM_PER_DEGREE
    left, bottom = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    axes.plot([left, left + length], [bottom, bottom], color=INK, linewidth=2.5,
              solid_capstyle="butt")
    miles = km / 1.609344
    label = (f"local radius: {km:.1f} km ({miles:.0f} miles)" if radius_km > 0
             else f"{km:.0f} km")
    axes.annotate(label, (left, bottom), xytext=(0, 4), textcoords="offset points",
                  fontsize=7.5, color=INK)


def _map_legend(axes, locations: Sequence[Place]) -> None:
    largest = max((p.size for p in locations), default=0.0)
    handles = [
        Line2D([], [], marker="o", color=INK, markeredgecolor="white", linestyle="",
               markersize=5, label="authority (home)"),
        Line2D([], [], color=LOCAL_COLOUR, linewidth=3, alpha=0.7,
               label="placements within the local radius"),
        Line2D([], [], color=AWAY_COLOUR, linewidth=3, alpha=0.7,
               label="placements further away"),
    ]
    if largest > 0:
        size = _round_places(largest / 2)
        handles.append(Line2D([], [], marker="o", color="#8fb6d3", markeredgecolor="#5d8fb5",
                              alpha=0.6, linestyle="", label=f"{size:,.0f} places used there",
                              markersize=math.sqrt(_area(size, largest))))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                fontsize=8, borderpad=0.8, labelspacing=1.2)


def _round_places(places: float) -> float:
    """A round number of places near ``places`` for the legend's size key."""
    if places <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(places))
    return max(1.0, round(places / magnitude) * magnitude)
