"""--log FILE, --quiet and the progress bar of a command's stages."""

from __future__ import annotations

import io
import logging

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE
from rich.console import Console

import cli


def test_log_records_stages_timings_and_outputs(tmp_path):
    log = tmp_path / "optimise.log"
    out = tmp_path / "r"
    result = CliRunner().invoke(cli.main, ["run", str(EXAMPLE), "--out", str(out),
                                           "--log", str(log), "--quiet"])
    assert result.exit_code == 0, result.output
    text = log.read_text(encoding="utf-8")
    for line in ("optimise run", "instance example", "solving: baselines alone",
                 "investment signals: done in", "writing report.html and report.xlsx: done in",
                 f"results written to {out}"):
        assert line in text, line
    # a second command appends; the handler of the first is gone (no line written twice)
    CliRunner().invoke(cli.main, ["validate", str(EXAMPLE), "--log", str(log)])
    text = log.read_text(encoding="utf-8")
    assert text.count("optimise validate") == 1 and text.count("optimise run") == 1
    assert not [h for h in logging.getLogger("optimise").handlers
                if isinstance(h, logging.FileHandler)]


def test_log_records_the_error_of_bad_input(tmp_path):
    log = tmp_path / "optimise.log"
    result = CliRunner().invoke(cli.main, ["run", str(EXAMPLE), "--set", "voice=loud",
                                           "--log", str(log), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    text = log.read_text(encoding="utf-8")
    assert "ERROR input error:" in text and "voice" in text


def test_an_unwritable_log_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli.main, ["validate", str(EXAMPLE), "--log",
                                           str(tmp_path / "no-such-folder" / "x.log")])
    assert result.exit_code == 2
    assert "cannot write" in result.output


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_on_a_terminal_unless_quiet(tmp_path, monkeypatch, quiet):
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, width=100))
    args = ["run", str(EXAMPLE), "--out", str(tmp_path / "r"), "--no-investment"]
    result = CliRunner().invoke(cli.main, args + (["--quiet"] if quiet else []))
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert ("solving: baselines alone" in shown) is not quiet
    assert ("writing report.html" in shown) is not quiet


def test_stress_shows_the_common_bar_on_a_terminal(tmp_path, monkeypatch):
    """Stress draws the same bar as every command (``optimiser.executor.ProgressBar``):
    its scenarios counted as solves, with the time left."""
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, width=120))
    args = ["stress", str(EXAMPLE), "--n-1", "1", "--workers", "1", "--out", str(tmp_path / "s")]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert "stress: solving the base plan" in shown
    assert "solves," in shown and "left" in shown


def test_one_progress_bar_implementation():
    """Only ``optimiser.executor`` builds a rich progress display; every command's bar (stages,
    solves, scenarios) is that one."""
    import ast
    from pathlib import Path

    root = Path(cli.__file__).parent
    builders = sorted(
        str(path.relative_to(root))
        for path in [root / "cli.py", *(root / "optimiser").rglob("*.py")]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "rich.progress"
        and any(alias.name == "Progress" for alias in node.names)
    )
    assert builders == ["optimiser/executor.py"]

