"""What the terminal shows (issue 13): tables that fit 80 and 60 columns (a pipe counts as 80)
without a header, a name or a figure split inside a word, stress changes of 1,000 places and
more, no "-0.0%" nor "-£3", counts that agree with their word, and the help of every option.

Every test runs the installed `optimise` command in a subprocess, as a user meets it.
"""

from __future__ import annotations

import csv
import json
import re

import pytest
from conftest import EXAMPLE, run_optimise, write_instance

#: the long names of real English authorities, one with a comma
AUTHORITIES = {
    "E06000058": "Bournemouth, Christchurch and Poole",
    "E06000064": "Westmorland and Furness",
    "E06000008": "Blackburn with Darwen",
    "E06000050": "Cheshire West and Chester",
}
PROVIDERS = {"P1": "Northern Fostering Agency of Lancashire",
             "P2": "Wessex Children's Homes Partnership"}
#: each authority's foster places; the providers' foster capacity is exactly their sum, so a
#: demand shock of +25% leaves 1,250 more places unmet
FOSTER_PLACES = 1250


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """Four authorities with long names, £50m+ each a year, 5,000 foster places in all."""
    coordinates = [(50.72, -1.88), (54.33, -2.75), (53.70, -2.48), (53.19, -2.89)]
    tables = {
        "placement_types": [
            {"id": "foster_standard", "name": "Standard fostering",
             "emergency_weekly_price": 1500, "case_management_weekly": 100},
            {"id": "residential", "name": "Children's home", "emergency_weekly_price": 8000,
             "case_management_weekly": 200}],
        "authorities": [{"id": a, "name": name, "lat": lat, "lon": lon}
                        for (a, name), (lat, lon) in zip(AUTHORITIES.items(), coordinates)],
        "demand": [row for a in AUTHORITIES for row in (
            {"authority": a, "placement_type": "foster_standard", "places": FOSTER_PLACES,
             "sd": 40},
            {"authority": a, "placement_type": "residential", "places": 90, "sd": 8})],
        "providers": [{"id": p, "name": name, "kind": "independent", "lat": lat, "lon": lon}
                      for (p, name), (lat, lon) in zip(PROVIDERS.items(), coordinates[2:])],
        "offers": [
            {"provider": "P1", "placement_type": "foster_standard", "capacity": 2600,
             "weekly_price": 800},
            {"provider": "P2", "placement_type": "foster_standard", "capacity": 2400,
             "weekly_price": 850},
            {"provider": "P2", "placement_type": "residential", "capacity": 400,
             "weekly_price": 5000}],
        "tiers": [{"provider": "P1", "min_places": 2000, "discount_pct": 4,
                   "guarantee": "true"}],
    }
    return write_instance(tmp_path_factory.mktemp("screen") / "large", tables,
                          name="Long names")


# --------------------------------------------------------------------------- checks

#: a figure as the screen writes it: 1,250.0  £52.4m  +£362k  -3.2%  13.6%  0.06  £9,463, or
#: a whole number (a guarantee option's places: "P1 2000")
FIGURE = re.compile(r"[(]?[+±-]?£?(\d+|\d{1,3}(,\d{3})*(\.\d+)?[mk%]?)[)]?[.,;:]?")


def tokens(text: str) -> set[str]:
    return set(text.split())


def assert_fits(text: str, width: int) -> None:
    """No line wider than the screen, and every figure whole: a figure cut at the edge of
    its column leaves a piece such as "£36,156" or "4k" that is no figure."""
    wide = [line for line in text.splitlines() if len(line) > width]
    assert not wide, f"lines wider than {width}:\n" + "\n".join(wide)
    for token in tokens(text):
        if any(ch.isdigit() for ch in token) and "/" not in token and "e-" not in token:
            # ids and option names hold digits too (E06000058, P1, n-1)
            if re.fullmatch(r"[A-Z]+\d+|n-1:?|\d+(st|nd|rd|th)|2\^n", token):
                continue
            assert FIGURE.fullmatch(token), f"{token!r} is a split figure in:\n{text}"


def assert_whole(text: str, words: list[str]) -> None:
    """Each of ``words`` (headers, names) is on screen as a whole word somewhere."""
    seen = tokens(text)
    missing = [w for w in words if w not in seen]
    assert not missing, f"split or missing: {missing} in:\n{text}"


def name_words(names) -> list[str]:
    return [word for name in names for word in name.split()]


def show(*args, width: int, cwd=None):
    """The command's stdout at ``width`` columns; run in ``cwd`` so that "results written to
    r" stays short."""
    result = run_optimise(*map(str, args), env={"COLUMNS": str(width)}, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


WIDTHS = (80, 60)


# --------------------------------------------------------------------------- item 5

@pytest.mark.parametrize("width", WIDTHS)
def test_run_tables_fit_the_screen(large, tmp_path, width):
    out = show("run", large, "--out", "r", "--no-report", "--quiet", width=width, cwd=tmp_path)
    assert_fits(out, width)
    assert_whole(out, ["authority", "demand", "unmet", "local", "cost", "saving", "type",
                       "capacity", "rank", "week", *name_words(AUTHORITIES.values()),
                       "Standard", "fostering"])
    # money compact: Bournemouth, Christchurch and Poole's annual cost, in £ millions
    authorities = {r["authority"]: r for r in csv.DictReader(
        (tmp_path / "r" / "authorities.csv").open(encoding="utf-8"))}
    cost = float(authorities["E06000058"]["annual_cost"])
    assert 1e7 < cost < 1e9
    assert f"£{cost / 1e6:,.1f}m" in tokens(out)
    assert "1,250.0" in tokens(out)  # each member's demand, whole


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_tables_fit_the_screen(large, tmp_path, width):
    out = show("compare", large, "--out", "c", "--no-report", "--quiet",
               "--workers", "1", "--members", "Pair=Blackburn with Darwen,Bournemouth, "
               "Christchurch and Poole", width=width, cwd=tmp_path)
    assert_fits(out, width)
    assert_whole(out, ["membership", "size", "cost", "saving", "authority", "Shapley",
                       "plan", "marginal", "flags", "alone",
                       *name_words([AUTHORITIES["E06000058"], AUTHORITIES["E06000008"]])])


@pytest.mark.parametrize("width", WIDTHS)
def test_stress_tables_fit_the_screen(large, tmp_path, width):
    out = show("stress", large, "--out", "s", "--quiet", "--workers", "1",
               "--n-1", "1", "--demand", "+25%", width=width, cwd=tmp_path)
    assert_fits(out, width)
    assert_whole(out, ["scenario", "cost", "unmet", "local", "worst-hit", "member",
                       "authority", *name_words(AUTHORITIES.values())])


@pytest.mark.parametrize("width", WIDTHS)
def test_guarantee_table_fits_the_screen(large, tmp_path, width):
    out = show("guarantee", large, "--sweep", "--scenarios", "10", "--out", "g",
               "--no-report", "--quiet", "--workers", "1", width=width, cwd=tmp_path)
    assert_fits(out, width)
    assert_whole(out, ["option", "cost", "saving", "P", "void", "break-even", "none"])


@pytest.mark.parametrize("width", WIDTHS)
def test_validate_fits_the_screen(large, width):
    out = show("validate", large, width=width)
    assert_fits(out, width)
    assert " ".join(out.split()) == ("Long names: valid (4 authorities, 2 providers, 3 "
                                     "offers, 2 placement types)")


# --------------------------------------------------------------------------- item 2

def test_stress_change_of_a_thousand_places_and_more(large, tmp_path):
    """+25% of 5,000 foster places with no spare foster capacity: 1,250 more places unmet,
    which the screen once parsed back from "1,250.0" and ended in a traceback."""
    result = run_optimise("stress", large, "--demand", "+25%:foster_standard", "--out", "s",
                          "--quiet",
                          "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads((tmp_path / "s" / "stress_summary.json").read_text())
    assert summary["scenarios"][0]["totals"]["unmet_change"] == pytest.approx(1250, abs=0.05)
    assert "+1,250.0" in tokens(result.stdout)
    assert "unmet +1,250.0 places" in " ".join(result.stdout.split())


# --------------------------------------------------------------------------- item 10

def test_stress_scenarios_named_by_provider_names_ids_kept_in_the_files(large, tmp_path):
    out = show("stress", large, "--fail", "P1", "--out", "s", "--quiet",
               "--workers", "1", width=120, cwd=tmp_path)
    assert "fail: Northern Fostering Agency of Lancashire" in out
    assert "fail:P1" not in out
    rows = list(csv.DictReader((tmp_path / "s" / "stress.csv").open(encoding="utf-8")))
    assert {r["scenario"] for r in rows} == {"base", "fail:P1"}


def test_zero_shows_without_a_sign(tmp_path):
    """A saving of a few pounds of solver noise below zero shows "£0" and "0.0%", not "-£3"
    and "-0.0%"; a real negative keeps its sign. No solve gives noise on demand, so the
    example's files are edited and printed by the run's screen function."""
    import io

    from rich.console import Console

    from optimiser.display import print_run

    show("run", EXAMPLE, "--out", "r", "--no-report", "--quiet", width=80, cwd=tmp_path)
    files = {name: (tmp_path / "r" / name).read_text(encoding="utf-8") for name in
             ("summary.json", "authorities.csv", "gaps.csv")}
    rows = list(csv.DictReader(io.StringIO(files["authorities.csv"])))
    rows[3].update(saving="-3.2", saving_pct="-1e-06")  # Smallham: noise
    rows[2].update(saving="-7000.0", saving_pct="-0.5")  # Westby: a real loss
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    screen = Console(file=io.StringIO(), width=80)
    print_run(screen, files["summary.json"], text.getvalue(), files["gaps.csv"])
    lines = screen.file.getvalue().splitlines()
    smallham = next(line.split() for line in lines if line.split()[:1] == ["Smallham"])
    westby = next(line.split() for line in lines if line.split()[:1] == ["Westby"])
    assert smallham[-2:] == ["£0", "0.0%"]
    assert westby[-2:] == ["-£7k", "-0.5%"]


def test_formats_round_to_zero_without_a_sign():
    from optimiser.reports.formats import money_compact, pct, places, signed

    assert (money_compact(-3.2), pct(-0.0004), signed(-0.04), places(-0.04)) == (
        "£0", "0.0%", "0.0", "0.0")
    assert (money_compact(-700), pct(-0.06), signed(-0.06)) == ("-£1k", "-0.1%", "-0.1")
    assert (money_compact(36_155_705), money_compact(362_000, sign=True),
            money_compact(999_700)) == ("£36.2m", "+£362k", "£1.0m")
    assert (signed(1227.94), pct(1234.5)) == ("+1,227.9", "1,234.5%")


def test_counts_agree_with_their_word(make_instance):
    folder = make_instance({
        "placement_types": [{"id": "t", "emergency_weekly_price": 1000}],
        "authorities": [{"id": "A", "lat": 53, "lon": -2}],
        "demand": [{"authority": "A", "placement_type": "t", "places": 1}],
        "providers": [{"id": "P", "lat": 53, "lon": -2}],
        "offers": [{"provider": "P", "placement_type": "t", "capacity": 1,
                    "weekly_price": 500}]}, name="one of each")
    out = show("validate", folder, width=80)
    assert out == "one of each: valid (1 authority, 1 provider, 1 offer, 1 placement type)\n"


def test_report_counts_agree_with_their_word(tmp_path):
    """report.html's subtitles: "1 consortium analysed", "1 member authority"."""
    show("compare", EXAMPLE, "--consortium", "Whole region", "--out", "c", "--quiet",
         "--workers", "1", width=80, cwd=tmp_path)
    page = " ".join((tmp_path / "c" / "report.html").read_text(encoding="utf-8").split())
    assert "5 memberships, 1 consortium analysed." in page
    show("run", EXAMPLE, "--members", "A4", "--out", "r", "--quiet", "--no-investment",
         width=80, cwd=tmp_path)
    page = " ".join((tmp_path / "r" / "report.html").read_text(encoding="utf-8").split())
    assert "1 member authority, 6 providers, voice volume." in page


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """Each solving command's --help, on one line."""
    return {command: " ".join(show(command, "--help", width=200).split())
            for command in ("run", "stress", "compare", "guarantee")}


@pytest.mark.parametrize("command", ["run", "stress", "compare", "guarantee"])
def test_help_explains_solver_and_time_limit(helps, command):
    text = helps[command]
    assert "--solver [cbc|highs|ortools]" in text
    assert "highs: HiGHS in-process" in text and "ortools: SCIP through OR-Tools" in text
    assert "(default: the instance's policy time_limit_s, 120 s unless set)" in text


def test_help_explains_voice_and_stress_workers(helps):
    assert "volume: the total (big members dominate)" in helps["run"]
    assert "maxmin: the smallest saving % as large as it can be" in helps["run"]
    assert "(default: all cores)" in helps["stress"] and "default: 1" not in helps["stress"]


def test_stress_uses_every_core_by_default(tmp_path):
    from optimiser.executor import default_workers

    show("stress", EXAMPLE, "--n-1", "1", "--out", "s", "--quiet", width=80, cwd=tmp_path)
    summary = json.loads((tmp_path / "s" / "stress_summary.json").read_text())
    assert summary["timings"]["workers"] == default_workers()


def test_a_folder_holding_only_a_workbook_points_to_it(tmp_path):
    folder = tmp_path / "mine"
    result = run_optimise("init", folder, "--xlsx")
    assert result.returncode == 0, result.stderr
    workbooks = list(folder.glob("*.xlsx"))
    assert len(workbooks) == 1
    result = run_optimise("validate", folder)
    assert result.returncode == 2
    assert f"no instance.yaml in this folder; did you mean {workbooks[0]}?" in \
        " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
