"""report.html: content, escaping, determinism, and the page as a real browser shows it.

The browser tests drive Debian's headless Chromium through chromedriver (selenium). They are
skipped only when Chromium is not installed; `.ci/run` installs it. The North West report comes
from one shared run per session (``north_west_results`` in conftest.py).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")

#: the window the page is rendered in, and the least a full North West page must measure
WINDOW = (1200, 900)
MIN_REPORT_HEIGHT = 4000
NETWORK = ("http", "https", "ws", "wss", "ftp")


def run_example(out: Path, *args: str):
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--out", str(out), "--quiet",
                                       *args])
    assert result.exit_code == 0, result.output
    return out


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    # without the networking switches, this machine's closed network fills the log with
    # refused connections from Chromium's own background services
    for switch in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                   f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(switch)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(driver, path: Path) -> tuple[list[dict], list[str]]:
    """Load ``path``; return the console messages, and every URL requested for the page or
    over the network by anything (the browser's own first tab loads chrome:// and data:
    resources, which are not the page's)."""
    driver.get_log("browser"), driver.get_log("performance")  # drop earlier pages' entries
    uri = path.resolve().as_uri()
    driver.get(uri)
    assert driver.execute_script("return document.readyState") == "complete"
    console = driver.get_log("browser")
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        if message["params"].get("documentURL") == uri or url.split(":")[0] in NETWORK:
            requests.append(url)
    return console, requests


def full_screenshot(driver, png: Path) -> tuple[int, int]:
    """The whole page (not only the window) as a PNG; its size in pixels."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": WINDOW[0], "height": height, "scale": 1}})
    png.write_bytes(base64.b64decode(shot["data"]))
    from PIL import Image

    with Image.open(png) as image:
        return image.size


def ink_share(png: Path) -> tuple[float, int]:
    """Share of pixels that are not white, and how many distinct colours the page shows."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").resize((image.width // 4, image.height // 4))
        pixels = list(small.get_flattened_data())
    ink = sum(1 for p in pixels if sum(p) < 3 * 245)
    return ink / len(pixels), len(set(pixels))


@needs_chromium
def test_north_west_report_renders_in_chromium(browser, north_west_results, tmp_path):
    console, _ = open_page(browser, north_west_results / "report.html")
    assert console == [], console  # no error, no warning, nothing at all
    assert browser.title == "North West: consortium plan"
    # every chart drew at a real size, and every section is there
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('figure svg')]"
        ".map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
    assert len(sizes) == 5  # map, savings, local share, gaps, providers
    assert all(w > 600 and h > 200 for w, h in sizes), sizes
    sections = browser.execute_script(
        "return [...document.querySelectorAll('section')].map(s => s.id)")
    assert sections == ["headline", "map", "savings", "local", "gaps", "providers",
                        "investment", "policy"]
    png = tmp_path / "north-west-report.png"
    width, height = full_screenshot(browser, png)
    assert width == WINDOW[0] and height > MIN_REPORT_HEIGHT
    ink, colours = ink_share(png)
    assert 0.03 < ink < 0.6, ink  # neither blank nor a solid block
    assert colours > 200  # charts, not a page of plain text


@needs_chromium
def test_report_makes_no_network_request(browser, north_west_results, tmp_path):
    report = north_west_results / "report.html"
    _, requests = open_page(browser, report)
    # the page itself, and the heat map's picture embedded in it as a data: URL
    assert [u for u in requests if not u.startswith("data:")] == [report.resolve().as_uri()]
    # the check sees a request when a page makes one (loopback discard port: refused at once)
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><title>c</title><img src="http://127.0.0.1:9/x.png">')
    _, requests = open_page(browser, control)
    assert "http://127.0.0.1:9/x.png" in requests


#: anything a page could fetch: remote src/href/url(), scripts, stylesheets, imports, frames
FETCHES = [
    re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""",
               re.IGNORECASE),
    re.compile(r"""url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE),
    re.compile(r"<\s*(?:script|iframe|object|embed|link|base)\b", re.IGNORECASE),
    re.compile(r"@import", re.IGNORECASE),
]


def fetches(text: str) -> list[str]:
    return [m.group(0) for pattern in FETCHES for m in pattern.finditer(text)]


def test_report_html_fetches_nothing(north_west_results, tmp_path):
    text = (north_west_results / "report.html").read_text(encoding="utf-8")
    assert fetches(text) == []
    assert "default-src 'none'" in text  # the browser would refuse any fetch anyway
    # the scan finds what it looks for
    assert len(fetches('<img src="https://x.org/a.png"><link rel="stylesheet" href="//x/c.css">'
                       "<style>@import 'x.css'; b{background:url(http://x/i.png)}</style>"
                       '<script src="a.js"></script>')) == 6


@needs_chromium
def test_compare_report_renders_in_chromium(browser, compare_results):
    console, requests = open_page(browser, compare_results / "report.html")
    assert console == [], console
    assert [u for u in requests if not u.startswith("data:")] == [
        (compare_results / "report.html").resolve().as_uri()]
    assert browser.title == "example: memberships compared"


# --------------------------------------------------------------------------- content

def text_of(page: str) -> str:
    """The page's visible words, tags dropped and entities decoded (SVG drawings removed)."""
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_example_report_states_the_hand_computed_figures(tmp_path):
    """tests/test_example.py derives the optimum by hand: £3,456,060 against £3,727,615
    alone (figures of README's worked example), F1's 15% guarantee tier with 2 void places."""
    out = run_example(tmp_path / "r")
    words = text_of((out / "report.html").read_text(encoding="utf-8"))
    assert "would spend £3,456,060 a year" in words
    assert "against £3,727,615 if each commissioned alone" in words
    assert "a saving of £271,555 (7.3%)" in words
    assert "49 of 49 places are placed" in words
    assert "15% off from 22.0 places (guaranteed; 2.0 void)" in words
    assert "Guarantees leave 2.0 places paid for but not used (void), costing £70,720" in words
    assert "no coordinates" in words  # the example lists distances only: no map
    for name in ("Northtown", "Easton", "Westby", "Smallham", "Northern Fostering Agency"):
        assert name in words
    # no timing anywhere: the page depends on the plan only
    assert re.search(r"\d s\b", words) is None


def test_report_is_byte_identical_across_runs(tmp_path):
    one, two = run_example(tmp_path / "one"), run_example(tmp_path / "two")
    for name in ("report.html", "report.xlsx"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_no_report_writes_none(tmp_path):
    out = run_example(tmp_path / "r", "--no-report")
    assert not (out / "report.html").exists() and not (out / "report.xlsx").exists()
    assert (out / "summary.json").exists()


HOSTILE = '<b>Bad & "Co"</b> $5 <script>alert(1)</script>'


def test_instance_text_is_escaped(tmp_path):
    """Names from the instance never become markup: tags, ampersands, quotes and $ (which
    matplotlib would read as mathematics) are shown as typed."""
    folder = tmp_path / "instance"
    shutil.copytree(EXAMPLE, folder)
    providers = folder / "providers.csv"
    providers.write_text(providers.read_text().replace(
        "Northern Fostering Agency", '"' + HOSTILE.replace('"', '""') + '"'))
    authorities = folder / "authorities.csv"
    authorities.write_text(authorities.read_text().replace("Smallham", '"Small<ham> & $x$"'))
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(tmp_path / "r"),
                                       "--quiet", "--no-investment"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<b>Bad" not in page and "Small<ham>" not in page
    assert html.escape(HOSTILE, quote=True) in page
    assert "Small&lt;ham&gt; &amp; $x$" in page
    assert HOSTILE in text_of(page)


# --------------------------------------------------------------------------- compare

@pytest.fixture(scope="module")
def compare_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "r"
    result = CliRunner().invoke(main, ["compare", str(EXAMPLE), "--out", str(out), "--quiet",
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    return out


def test_compare_report_shows_each_option_and_the_core(compare_results):
    """README's compare example: the North pair's £131k saving is split equally by Shapley
    (£65,731 each) while the plan gives Easton £96k; the least core is non-empty."""
    words = text_of((compare_results / "report.html").read_text(encoding="utf-8"))
    assert "North pair: who gains what" in words and "Whole region: who gains what" in words
    assert "Northtown £65,731 £35,337 £65,731" in words
    assert "Easton £65,731 £96,126" in words
    assert "every group of members pays at least £65,731 less" in words
    assert "2.0% (£35k) · low saving" in words  # Northtown in the North pair, flagged


# --------------------------------------------------------------------------- guarantee

@pytest.fixture(scope="module")
def guarantee_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("guarantee") / "r"
    result = CliRunner().invoke(main, ["guarantee", str(EXAMPLE), "--sweep", "--scenarios",
                                       "40", "--workers", "1", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_guarantee_report_states_the_recommendation(guarantee_results):
    import csv

    import openpyxl

    from optimiser.reports.formats import money

    summary = json.loads((guarantee_results / "guarantee_summary.json").read_text())
    with open(guarantee_results / "guarantee.csv", encoding="utf-8") as handle:
        options = list(csv.DictReader(handle))
    best = next(o for o in options if o["recommended"] == "true")
    assert best["option"] == summary["recommended"]
    page = (guarantee_results / "report.html").read_text(encoding="utf-8")
    words = text_of(page)
    assert f"The recommended option, {best['option']}," in words
    assert f"it saves {money(float(best['saving']))} a year on average" in words
    assert fetches(page) == [] and 'src="data:image/png;base64,' in page  # the chart, inside
    book = openpyxl.load_workbook(guarantee_results / "report.xlsx")
    assert book.sheetnames == ["Summary", "Options", "Contract forms", "Scenarios", "Policy"]
    header = [c.value for c in book["Options"][1]]
    from optimiser.reports.xlsx import plain

    expected = [plain(c) for c in options[0]]  # in plain English, the provider's name added
    expected.insert(expected.index("Provider") + 1, "Provider name")
    assert header == expected
    assert [r[0] for r in book["Options"].iter_rows(min_row=2, values_only=True)] == [
        o["option"] for o in options]


@needs_chromium
def test_guarantee_report_renders_in_chromium(browser, guarantee_results):
    console, requests = open_page(browser, guarantee_results / "report.html")
    assert console == [], console
    assert [u for u in requests if not u.startswith("data:")] == [
        (guarantee_results / "report.html").resolve().as_uri()]
    width = browser.execute_script("return document.querySelector('figure img').naturalWidth")
    assert width > 400  # the embedded chart decoded


def test_a_formula_like_name_reads_as_typed_in_the_page(tmp_path):
    """The CSV files neutralise `=...` for spreadsheets ('=...); the page shows the name."""
    folder = tmp_path / "instance"
    shutil.copytree(EXAMPLE, folder)
    authorities = folder / "authorities.csv"
    authorities.write_text(authorities.read_text().replace("Smallham", "=Smallham+1"))
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(tmp_path / "r"),
                                       "--quiet", "--no-investment"])
    assert result.exit_code == 0, result.output
    assert "'=Smallham+1" in (tmp_path / "r" / "authorities.csv").read_text()
    words = text_of((tmp_path / "r" / "report.html").read_text(encoding="utf-8"))
    assert "=Smallham+1" in words and "'=Smallham+1" not in words
