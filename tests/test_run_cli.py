"""`optimise run` from the command line: outputs, options, exits, determinism, verification."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE

from cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken)
    offers = (broken / "offers.csv").read_text().replace("F1,foster_standard,20,800",
                                                         "F1,foster_standard,-20,800")
    (broken / "offers.csv").write_text(offers)
    out = tmp_path / "results"
    result = invoke("run", broken, "--out", out)
    assert result.exit_code == 2
    assert "offers.csv, row 3, column capacity" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [broken]  # no temporary folder left behind either


@pytest.mark.parametrize("args, message", [
    (["--set", "voice=loudest"], "--set"),
    (["--set", "no_such_key=1"], "no_such_key"),
    (["--set", "novalue"], "KEY=VALUE"),
    (["--consortium", "Nowhere"], "unknown consortium 'Nowhere'"),
    (["--members", "A1,ZZ"], "unknown authorities: ZZ"),
    (["--members", "A1", "--consortium", "North pair"], "not both"),
])
def test_bad_options_exit_2_with_a_message(tmp_path, args, message):
    result = invoke("run", EXAMPLE, "--out", tmp_path / "r", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args", [
    ["--voice", "volume"], ["--voice", "equal"], ["--voice", "maxmin"],
    ["--consortium", "North pair"], ["--members", "A3,A4"],
    ["--set", "baseline_capacity=full"], ["--set", "share_in_house=true"],
    ["--set", "max_provider_share=0.4", "--set", "min_local_share=0.9"],
    ["--set", "integer_places=true", "--solver", "cbc"],
])
def test_every_run_passes_verify(tmp_path, args):
    out = tmp_path / "r"
    result = invoke("run", EXAMPLE, "--out", out, *args)
    assert result.exit_code == 0, result.output
    # verify takes the run's --set as given, never from summary.json
    told = [arg for flag, value in zip(args, args[1:]) if flag == "--set"
            for arg in (flag, value)]
    verified = invoke("verify", EXAMPLE, out, *told)
    assert verified.exit_code == 0, verified.output


def test_consortium_sees_its_share_of_capacity(tmp_path):
    """North pair = A1 (23 places) + A2 (12): under `shared` it sees 35/49 of every offer
    except A1's own in-house H1, which it keeps whole."""
    out = tmp_path / "r"
    assert invoke("run", EXAMPLE, "--out", out, "--consortium", "North pair").exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["members"] == ["A1", "A2"]
    assert summary["totals"]["demand"] == pytest.approx(35)
    providers = {row.split(",")[0]: row.split(",") for row in
                 (out / "providers.csv").read_text().splitlines()[1:]}
    capacity_column = 5
    assert float(providers["F1"][capacity_column]) == pytest.approx(20 * 35 / 49, abs=1e-6)
    assert float(providers["H1"][capacity_column]) == pytest.approx(8)


def test_same_instance_gives_the_same_files_byte_for_byte(tmp_path):
    """Everything but the wall-clock `seconds` in summary.json is identical."""
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        assert invoke("run", EXAMPLE, "--out", out, "--voice", "maxmin").exit_code == 0
    for name in ("assignment.csv", "authorities.csv", "providers.csv", "gaps.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    one, two = (json.loads((f / "summary.json").read_text()) for f in (first, second))
    one.pop("seconds"), two.pop("seconds")
    assert one == two


def test_existing_results_are_replaced_whole(tmp_path):
    # a results folder optimise wrote is replaced whole: no file of the earlier run stays
    out = tmp_path / "r"
    assert invoke("run", EXAMPLE, "--out", out, "--no-report").exit_code == 0
    assert (out / "investment.csv").exists()
    assert invoke("run", EXAMPLE, "--out", out, "--no-report", "--no-investment").exit_code == 0
    assert not (out / "investment.csv").exists()
    assert (out / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_default_out_is_results_slash_instance_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", EXAMPLE)
    assert result.exit_code == 0
    assert (tmp_path / "results" / "example" / "summary.json").exists()
    assert "Northtown" in result.output and "saving" in result.output


def test_screen_summary_shows_totals_members_and_gaps(tmp_path):
    result = invoke("run", EXAMPLE, "--out", tmp_path / "r")
    assert result.exit_code == 0
    assert "£3,456,060" in result.output  # annual cost
    assert "Smallham" in result.output
    assert "Sufficiency gaps" in result.output  # A4's specialist place is out of area
