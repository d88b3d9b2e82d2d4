"""Money in report.html: a minus only before a figure that is not zero once rounded (-£3,
never -£0 nor £-3), in the tables, the sentences and the charts' labels alike.

The charts draw their text as paths; matplotlib keeps each label's text in a comment beside
it (``<!-- £450 (1.1%) -->``), which is what is read here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLE, run_optimise, write_instance

#: a minus before a zero amount, or after the pound sign
WRONG_SIGN = re.compile(r"-£0(?![\d.,])|£-")


def report(instance: Path, out: Path) -> str:
    result = run_optimise("run", instance, "--out", out, "--quiet", "--no-investment")
    assert result.returncode == 0, result.stderr
    return (out / "report.html").read_text(encoding="utf-8")


def labels(html: str) -> list[str]:
    return re.findall(r"<!-- ([^<>]*£[^<>]*) -->", html)


def members_losing(tmp_path: Path, extra_cost_year: float) -> Path:
    """Ashby and Bexley Vale each need one foster place; the two providers have one place
    each. Alone each may count on half of each provider's place (its share of the demand);
    together Ashby takes the far place, ``extra_cost_year`` a year dearer for it, so that
    Bexley Vale avoids a far dearer one: Ashby loses half that extra cost, and individual
    rationality is off."""
    return write_instance(tmp_path / "instance", {
        "placement_types": [{"id": "foster", "name": "Fostering", "specialist": "false",
                             "emergency_weekly_price": 1500, "case_management_weekly": 0}],
        "authorities": [{"id": "A", "name": "Ashby", "region": "R"},
                        {"id": "B", "name": "Bexley Vale", "region": "R"}],
        "demand": [{"authority": a, "placement_type": "foster", "places": 1} for a in "AB"],
        "providers": [{"id": p, "name": f"{name} Fostering", "kind": "independent",
                       "rating": "good", "contract_cost_year": 0}
                      for p, name in (("P1", "Near"), ("P2", "Far"))],
        "offers": [{"provider": p, "placement_type": "foster", "capacity": 1,
                    "weekly_price": 800, "breakdown_rate": 0} for p in ("P1", "P2")],
        "distances": [{"authority": a, "provider": p, "km": 1, "extra_cost_year": extra}
                      for a, p, extra in (("A", "P1", 0), ("A", "P2", extra_cost_year),
                                          ("B", "P1", 0), ("B", "P2", 900))],
    }, policy={"individual_rationality": False}, name="tiny loss")


def test_the_example_report_has_no_misplaced_minus(tmp_path):
    html = report(EXAMPLE, tmp_path / "out")
    assert WRONG_SIGN.search(html) is None
    assert "£100k (13.9%)" in labels(html)  # Easton's bar


@pytest.mark.parametrize("extra, saving, label, cell", [
    (1.0, "-0.5", "£0 (0.0%)", "£0"),  # rounds to nothing: no minus
    (5.2, "-2.6", "-£3 (0.0%)", "-£3"),  # a real loss, rounded: keeps its minus
])
def test_a_tiny_loss_reads_without_a_minus_on_zero(tmp_path, extra, saving, label, cell):
    out = tmp_path / "out"
    html = report(members_losing(tmp_path, extra), out)
    ashby = next(line for line in (out / "authorities.csv").read_text().splitlines()
                 if line.startswith("A,"))
    assert ashby.split(",")[8] == saving  # the loss the report has to show
    assert WRONG_SIGN.search(html) is None, WRONG_SIGN.search(html)
    assert label in labels(html), labels(html)
    assert f'<td class="num">{cell}</td><td class="num">0.0%</td>' in html
    worse = ["1 member(s) would pay more than alone: Ashby.",
             f"Ashby pays {cell[1:]} a year more than it would alone"]
    assert [text in html for text in worse] == [cell != "£0"] * 2  # nothing said of £0
