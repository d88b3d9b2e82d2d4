"""The on-screen summary of a run: totals, each member's saving and local share, gaps."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optimiser.outputs import heading
from optimiser.reports.formats import counted, money, money_compact, pct, places
from optimiser.writers import restore

#: the screen shows the largest gaps; gaps.csv has them all
MAX_GAP_ROWS = 12


@dataclass(frozen=True)
class Column:
    """One column of a screen table. A ``words`` column (names) is left-aligned and wraps
    between words, never inside one; any other column holds figures, right-aligned and never
    wrapped. On a screen too narrow for every column, columns with ``drop`` > 0 are left out
    in that order (1 first; the files keep them all); ``least`` widens a words column that
    would read badly one word a line."""

    header: str
    words: bool = False
    drop: int = 0
    least: int = 0


#: screen columns between two table columns: the padding and the divider
GAP = 2


def _widths(column: Column, cells: list[str]) -> tuple[int, int]:
    """The least and the most width ``column`` needs: down to its longest word (header
    included), its figures always whole; at most, every cell and the header on one line."""
    words = [column.header, *cells] if column.words else [column.header]
    least = max([cell_len(word) for text in words for word in text.split()] + [column.least])
    if not column.words:
        least = max([least] + [cell_len(cell) for cell in cells])
    return least, max([least, cell_len(column.header)] + [cell_len(cell) for cell in cells])


def _fit(columns: list[Column], widths: list[tuple[int, int]], room: int) -> list[int]:
    """Indices of the columns shown in ``room`` screen columns: every column when they fit,
    else without droppable ones, in their ``drop`` order (then the rightmost first)."""
    shown = list(range(len(columns)))
    while sum(widths[i][0] for i in shown) + GAP * (len(shown) - 1) > room:
        droppable = [i for i in shown if columns[i].drop]
        if not droppable:
            break
        shown.remove(min(droppable, key=lambda i: (columns[i].drop, -i)))
    return shown


def _allot(columns: list[Column], widths: list[tuple[int, int]], shown: list[int],
           room: int) -> dict[int, int]:
    """Each shown column's width: its least, then the room left widens the names (fewer
    lines a row), then the headers (one line each), left to right."""
    allotted = {i: widths[i][0] for i in shown}
    spare = room - sum(allotted.values()) - GAP * (len(shown) - 1)
    for words in (True, False):
        for i in shown:
            if columns[i].words == words and spare > 0:
                extra = min(spare, widths[i][1] - allotted[i])
                allotted[i] += extra
                spare -= extra
    return allotted


def _wrap_header(header: str, width: int) -> str:
    """A figure column's header on lines of ``width``, broken between words (figure columns
    never wrap, so rich would cut it)."""
    lines: list[str] = []
    for word in header.split():
        if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def print_table(console: Console, title: str, columns: list[Column], rows: list[list[str]],
                styles: list[str | None] | None = None, source: str | None = None) -> None:
    """A table that fits the console's width (a pipe counts as 80 columns): names wrap whole,
    figures and headers are never split; on a narrow screen the droppable columns are left
    out and named below, with ``source``, the file that has them. Cells are plain text (no
    markup)."""
    widths = [_widths(c, [row[i] for row in rows]) for i, c in enumerate(columns)]
    shown = _fit(columns, widths, console.width)
    allotted = _allot(columns, widths, shown, console.width)
    table = Table(title=Text(title, style="table.title"), box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for i in shown:
        column, width = columns[i], allotted[i]
        header = column.header if column.words else _wrap_header(column.header, width)
        table.add_column(header, justify="left" if column.words else "right", width=width,
                         no_wrap=not column.words, overflow="fold")
    for n, row in enumerate(rows):
        table.add_row(*(Text(row[i]) for i in shown), style=styles[n] if styles else None)
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        where = f"; see {source}" if source else ""
        console.print(Text(f"(too narrow for {', '.join(left_out)}{where})"))


def cell_shown(cell: str, shown: Callable[[float], str]) -> str:
    """A numeric cell of a result file in a screen table: blank stays blank (an undefined
    ratio, or no plan), a number is written by ``shown`` (``optimiser.reports.formats``)."""
    return "" if cell == "" else shown(float(cell))


def value_shown(value: float | None, shown: Callable[[float], str]) -> str:
    """A figure of a JSON summary in a screen table: None (undefined) stays blank, a number is
    written by ``shown`` (``optimiser.reports.formats``)."""
    return "" if value is None else shown(value)


def _money(value: float | None) -> str:
    return "" if value is None else money(value)


def _pct(value: float | None, scale: float = 1.0) -> str:
    return "" if value is None else pct(value * scale)


def _number(value: float) -> str:
    return places(value)


def _cell(row: dict, column: str) -> float | None:
    """A numeric cell of a result file, ``None`` when blank (an undefined ratio)."""
    return None if row[column] == "" else float(row[column])


def print_run(console: Console, summary_text: str, authorities_csv: str, gaps_csv: str,
              sufficiency_csv: str | None = None, investment_csv: str | None = None,
              type_names: dict[str, str] | None = None) -> None:
    """Print the summary from the very files written, so screen and files never disagree.
    ``type_names``: placement type names by id (the files hold ids)."""
    import csv
    import io

    from rich.markup import escape

    summary = json.loads(summary_text)
    totals, fairness = summary["totals"], summary["fairness"]
    gap = "" if summary["mip_gap"] is None else f", gap {summary['mip_gap']:.2g}"
    console.print(
        f"[bold]{escape(heading(summary))}[/bold]: {summary['status']} ({summary['solver']}"
        f"{gap}, {summary['seconds']:.1f} s), {counted(len(summary['members']), 'member')}, "
        f"voice {summary['policy']['voice']}")
    console.print(
        f"Annual cost {_money(totals['annual_cost'])} against {_money(totals['standalone_cost'])}"
        f" alone: saving {_money(totals['saving'])} ({_pct(totals['saving_pct'])}). "
        f"Placed {_number(totals['placed'])} of {_number(totals['demand'])} places, "
        f"{_number(totals['unmet'])} unmet; local share {_pct(totals['local_share'], 100)}.",
        highlight=False)
    console.print(
        f"Saving % from {_pct(fairness['min_saving_pct'])} to {_pct(fairness['max_saving_pct'])}"
        f"; price of fairness {_money(fairness['price_of_fairness'])}.", highlight=False)
    authorities = list(csv.DictReader(io.StringIO(authorities_csv)))
    # as typed, not as neutralised for spreadsheets
    names = {row["authority"]: restore(row["name"]) for row in authorities}
    print_table(console, "Members (£ a year)", [
        Column("authority", words=True), Column("demand", drop=2), Column("unmet"),
        Column("local"), Column("cost"), Column("alone", drop=1), Column("saving"),
        Column("saving %")], [
        [names[row["authority"]], _number(float(row["demand"])), _number(float(row["unmet"])),
         _pct(_cell(row, "local_share"), 100), money_compact(float(row["annual_cost"])),
         money_compact(float(row["standalone_cost"])), money_compact(float(row["saving"])),
         _pct(_cell(row, "saving_pct"))] for row in authorities], source="authorities.csv")
    types = type_names or {}
    _print_gaps(console, list(csv.DictReader(io.StringIO(gaps_csv))), names, types)
    if sufficiency_csv is not None:
        _print_sufficiency(console, list(csv.DictReader(io.StringIO(sufficiency_csv))), names)
    if investment_csv is not None:
        _print_investment(console, list(csv.DictReader(io.StringIO(investment_csv))), names,
                          types)
    for member in summary["not_kept_whole"]:
        who = names.get(member["authority"], member["authority"])
        console.print(f"[yellow]not kept whole:[/yellow] {escape(who)} pays "
                      f"{_money(member['excess'])} more than alone", highlight=False)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _type_name(types: dict[str, str], placement_type: str) -> str:
    return types.get(placement_type) or restore(placement_type)


def _print_gaps(console: Console, rows: list[dict], names: dict, types: dict) -> None:
    """The largest gaps (unmet or placed out of area); gaps.csv has them all."""
    gaps = [row for row in rows
            if float(row["unmet"]) > 0 or float(row["placed_out_of_area"]) > 0]
    gaps.sort(key=lambda row: -(float(row["unmet"]) + float(row["placed_out_of_area"])))
    if not gaps:
        return
    print_table(console, "Sufficiency gaps (unmet or placed out of area)", [
        Column("authority", words=True), Column("type", words=True), Column("demand", drop=1),
        Column("local capacity"), Column("out of area"), Column("unmet")], [
        [names.get(row["authority"], row["authority"]),
         _type_name(types, row["placement_type"]), _number(float(row["demand"])),
         _number(float(row["local_capacity"])), _number(float(row["placed_out_of_area"])),
         _number(float(row["unmet"]))] for row in gaps[:MAX_GAP_ROWS]], source="gaps.csv")
    hidden = len(gaps) - MAX_GAP_ROWS
    if hidden > 0:
        console.print(f"... and {counted(hidden, 'smaller gap')}: see gaps.csv")


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
    print_table(console, "Local sufficiency: members who could place more locally alone", [
        Column("authority", words=True), Column("demand"), Column("local max alone"),
        Column("local max together"), Column("placed locally")], [
        [names.get(a, a), _number(demand), _number(alone), _number(together), _number(placed)]
        for a, (demand, alone, together, placed) in worse], source="sufficiency.csv")


def _print_investment(console: Console, rows: list[dict], names: dict, types: dict) -> None:
    """The top investment signals: one more place of a type at a member, £ saved a year."""
    rows = [row for row in rows if float(row["saving_per_place_year"]) > 0][:MAX_SIGNAL_ROWS]
    if not rows:
        console.print("Investment: no new place would lower the consortium's cost "
                      "(investment.csv).")
        return
    print_table(console, "Where one more place is worth most (£ a year per place)", [
        Column("rank"), Column("at", words=True), Column("type", words=True),
        Column("saving"), Column("re-solved", drop=1), Column("£ a week")], [
        [row["rank"], names.get(row["authority"], row["authority"]),
         _type_name(types, row["placement_type"]),
         _money(float(row["saving_per_place_year"])), _money(_cell(row, "resolve_saving")),
         _money(float(row["price_assumed_weekly"]))] for row in rows], source="investment.csv")
