"""The installed command as a user meets it: stdout and stderr of a real subprocess."""

from __future__ import annotations

import json

from conftest import EXAMPLE, run_optimise


def test_json_on_stdout_parses_and_nothing_else_reaches_it(tmp_path):
    """HiGHS 1.16 prints a banner to stdout when a process makes its first solver object;
    with ``--json`` stdout must hold the summary and nothing else."""
    result = run_optimise("run", EXAMPLE, "--json", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "optimal"
    assert round(summary["totals"]["annual_cost"]) == 3_456_060
    assert "HiGHS" not in result.stdout + result.stderr


def test_screen_output_has_no_solver_banner(tmp_path):
    result = run_optimise("run", EXAMPLE, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Running HiGHS" not in result.stdout + result.stderr
    assert "Copyright" not in result.stdout + result.stderr
