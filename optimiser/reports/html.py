"""The page skeleton of every report.html: sections, tables, figures, key-figure cards and CSS.

A report is a title and a list of :class:`Section`; each command's report module only builds
its sections (``run_report``, ``compare_report``, ``guarantee_report``). The page is one
self-contained file: charts are inline SVG, the CSS is inline, there is no script and no font
or image to fetch, and a Content-Security-Policy of ``default-src 'none'`` makes the browser
refuse any request the page might still make. Every text that comes from an instance or a
result file goes through :func:`html.escape` here (names may hold ``<``, ``&`` or quotes), so
the report modules pass plain text and never HTML, except the ready-made pieces this module
returns (:class:`Markup`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class Markup(str):
    """HTML built by this module (already escaped); any other ``str`` is text to escape."""


def esc(text: object) -> Markup:
    """Escape plain text; pass :class:`Markup` through unchanged."""
    if isinstance(text, Markup):
        return text
    return Markup(html.escape(str(text), quote=True))


def join(parts: Iterable[object]) -> Markup:
    return Markup("".join(esc(p) for p in parts))


def tag(name: str, content: object = "", **attributes: str) -> Markup:
    """``<name a="v">content</name>``; attribute values are escaped, ``class_`` -> class."""
    attrs = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"'
                    for k, v in attributes.items() if v is not None)
    return Markup(f"<{name}{attrs}>{esc(content)}</{name}>")


def image(source: str, alt: str, width: int) -> Markup:
    """``<img>`` of an embedded picture (``source`` a data: URL: nothing is fetched)."""
    if not source.startswith("data:"):
        raise ValueError("reports embed their pictures: give a data: URL")
    return Markup(f'<img src="{esc(source)}" alt="{esc(alt)}" width="{width}">')


def paragraph(*sentences: object, class_: str | None = None) -> Markup:
    """One paragraph of plain sentences (joined by spaces)."""
    return tag("p", join(_spaced(sentences)), class_=class_)


def _spaced(parts: Sequence[object]) -> list[object]:
    spaced: list[object] = []
    for i, part in enumerate(parts):
        spaced += ([" "] if i else []) + [part]
    return spaced


def strong(text: object) -> Markup:
    return tag("strong", text)


def bullets(items: Iterable[object]) -> Markup:
    return tag("ul", join(tag("li", item) for item in items))


@dataclass(frozen=True)
class Column:
    """A table column: its heading, whether it holds numbers (right-aligned), a tooltip."""

    label: str
    numeric: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Cell:
    """A table cell with a CSS class (e.g. ``flag``) or an inline background shade."""

    text: object
    class_: str | None = None
    shade: str | None = None


def table(columns: Sequence[Column], body: Iterable[Sequence[object]], caption: str | None = None,
          note: str | None = None) -> Markup:
    """A table of already formatted cells (text or :class:`Cell`)."""
    head = join(tag("th", c.label, class_="num" if c.numeric else None, title=c.note)
                for c in columns)
    lines = [tag("tr", join(_cell(cell, column) for cell, column in zip(row, columns)))
             for row in body]
    parts = [tag("caption", caption) if caption else "", tag("thead", tag("tr", head)),
             tag("tbody", join(lines))]
    wrapped = tag("div", tag("table", join(parts)), class_="table")
    return join([wrapped, paragraph(note, class_="note") if note else ""])


def _cell(cell: object, column: Column) -> Markup:
    classes = ["num"] if column.numeric else []
    style = None
    if isinstance(cell, Cell):
        classes += [cell.class_] if cell.class_ else []
        style = f"background:{cell.shade}" if cell.shade else None
        cell = cell.text
    return tag("td", cell, class_=" ".join(classes) or None, style=style)


_XML_PROLOGUE = re.compile(r"^\s*<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)


def figure(svg: str, caption: object, label: str, max_width: int | None = None) -> Markup:
    """An inline SVG chart (``charts.svg``) with its caption; ``label`` names it for readers
    of assistive technology and for tests. Charts fill the column, or ``max_width`` pixels."""
    body = Markup(_XML_PROLOGUE.sub("", svg))
    style = None if max_width is None else f"max-width:{max_width}px"
    return tag("figure", join([body, tag("figcaption", caption)]), aria_label=label,
               style=style)


@dataclass(frozen=True)
class Card:
    """A key figure: its value large, its label and a line of explanation small."""

    label: str
    value: str
    detail: str = ""
    tone: str = ""  # "" | "good" | "warn" | "bad"


def cards(items: Sequence[Card]) -> Markup:
    return tag("div", join(
        tag("div", join([tag("div", c.label, class_="label"), tag("div", c.value, class_="value"),
                         tag("div", c.detail, class_="detail")]),
            class_=f"card {c.tone}".strip())
        for c in items), class_="cards")


@dataclass(frozen=True)
class Section:
    """One part of a report: a heading, then its content in order."""

    id: str
    title: str
    parts: list[Markup] = field(default_factory=list)


def page(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    """The whole report.html."""
    toc = tag("nav", tag("ol", join(tag("li", tag("a", s.title, href=f"#{s.id}"))
                                    for s in sections)), aria_label="Contents")
    body = join(tag("section", join([tag("h2", s.title), *s.parts]), id=s.id) for s in sections)
    header = tag("header", join([tag("h1", title), paragraph(subtitle, class_="sub"), toc]))
    document = join([
        Markup("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"),
        Markup('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
               'style-src \'unsafe-inline\'; img-src data:">\n'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">\n'),
        tag("title", title), Markup("\n"), tag("style", Markup(CSS)),
        Markup("\n</head>\n<body>\n"), header, tag("main", body),
        tag("footer", paragraph(footer)), Markup("\n</body>\n</html>\n"),
    ])
    return str(document)


CSS = """
:root { --ink: #1b2733; --muted: #5b6770; --line: #d5dbe0; --accent: #1f5f8b;
        --good: #2e7d32; --warn: #b26a00; --bad: #b3261e; --paper: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px 32px 48px; color: var(--ink);
       background: var(--paper); font: 15px/1.5 "Segoe UI", Arial, "Liberation Sans",
       "Helvetica Neue", sans-serif; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--accent); }
h3 { font-size: 17px; margin: 22px 0 8px; }
p { margin: 8px 0; max-width: 75ch; }
.sub { color: var(--muted); margin-top: 0; }
nav ol { margin: 10px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap;
         gap: 4px 18px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr));
         gap: 12px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-left: 5px solid var(--accent); border-radius: 4px;
        padding: 10px 14px; break-inside: avoid; }
.card.good { border-left-color: var(--good); }
.card.warn { border-left-color: var(--warn); }
.card.bad { border-left-color: var(--bad); }
.card .label { font-size: 13px; color: var(--muted); text-transform: uppercase;
               letter-spacing: 0.04em; }
.card .value { font-size: 26px; font-weight: 600; }
.card .detail { font-size: 13px; color: var(--muted); }
figure { margin: 14px 0; break-inside: avoid; }
figure svg, figure img { display: block; width: 100%; height: auto; }
figure img { max-width: 800px; }
figcaption { font-size: 13px; color: var(--muted); max-width: 85ch; }
.table { overflow-x: auto; margin: 10px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: #eef2f5; font-weight: 600; }
th[title] { text-decoration: underline dotted; cursor: help; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.flag { color: var(--bad); font-weight: 600; }
td.warn { color: var(--warn); font-weight: 600; }
.note { font-size: 13px; color: var(--muted); }
.alert { border-left: 5px solid var(--warn); background: #fff6e5; padding: 6px 12px; }
footer { margin-top: 40px; border-top: 1px solid var(--line); color: var(--muted);
         font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
