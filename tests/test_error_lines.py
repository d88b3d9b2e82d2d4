"""Input errors (exit 2) fit the terminal: lines are broken between words at its width
(``COLUMNS``, 80 when not a terminal), continuations indented under the problem's text, and a
file's name (spaces and all), "row N" and "column C" are never split."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE, run_optimise, unwrapped

#: a data return as a commissioning team files it, two folders deep (46 characters)
DEEP = "returns 2024-25/south_east/demand_forecast.csv"


def instance_with_bad_demand(tmp_path: Path, table: str) -> Path:
    """The example with its demand table at ``table`` and two bad cells in it."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    lines = (folder / "demand.csv").read_text().splitlines()
    header = lines[0].split(",")
    places = header.index("places")
    for row, value in ((1, "many"), (2, "lots of children in need")):
        cells = lines[row].split(",")
        cells[places] = value
        lines[row] = ",".join(cells)
    target = folder / table
    target.parent.mkdir(parents=True, exist_ok=True)
    (folder / "demand.csv").unlink()
    target.write_text("\n".join(lines) + "\n")
    manifest = yaml.safe_load((folder / "instance.yaml").read_text())
    manifest["tables"]["demand"] = table
    (folder / "instance.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder


@pytest.mark.parametrize("columns", [80, 60])
def test_a_long_error_is_wrapped_to_the_terminal_without_splitting_the_file(tmp_path,
                                                                            columns):
    folder = instance_with_bad_demand(tmp_path, DEEP)
    result = run_optimise("validate", folder, env={"COLUMNS": str(columns)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert max(len(line) for line in lines) <= columns, result.stderr
    assert len(lines) > 3  # a problem took more than one line
    starts = [line for line in lines if line.startswith("  - ")]
    assert len(starts) == 2 and all(line.startswith(f"  - {DEEP}, row {row},")
                                    for line, row in zip(starts, (2, 3))), result.stderr
    assert all(line.startswith(("  - ", "    ")) for line in lines[1:]), result.stderr
    assert unwrapped(result.stderr).splitlines() == [
        "error: 2 problems found:",
        f"  - {DEEP}, row 2, column places: not a number: 'many'",
        f"  - {DEEP}, row 3, column places: not a number: 'lots of children in need'"]


def test_a_file_name_longer_than_the_line_runs_over_whole(tmp_path):
    table = "a" * 40 + "/" + "very long name with spaces " * 2 + "demand.csv"
    folder = instance_with_bad_demand(tmp_path, table)
    result = run_optimise("validate", folder)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[1] == f"  - {table},", result.stderr  # over 80, never split
    assert all(len(line) <= 80 for line in lines if table not in line), result.stderr
    assert f"{table}, row 3, column places: not a number: 'lots of children in need'" in \
        unwrapped(result.stderr)
