"""Shared test helpers: write small instances to disk in the directory format of docs/model.md
section 3."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "instances" / "example"


def write_instance(
    folder: Path,
    tables: dict[str, list[dict]],
    policy: dict | None = None,
    name: str = "test instance",
) -> Path:
    """Write ``tables`` as CSV files plus an ``instance.yaml`` manifest; return the folder.

    Columns are the union of the rows' keys, in first-seen order; missing cells are blank.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"name": name, "tables": {}}
    for table, rows in tables.items():
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        manifest["tables"][table] = f"{table}.csv"
    if policy:
        manifest["policy"] = policy
    with open(folder / "instance.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(manifest, handle, sort_keys=False)
    return folder


@pytest.fixture
def make_instance(tmp_path):
    """Factory: ``make_instance(tables, policy=None, name=...)`` -> instance folder."""
    counter = iter(range(10_000))

    def make(tables: dict[str, list[dict]], policy: dict | None = None, name: str = "test"):
        return write_instance(tmp_path / f"instance{next(counter)}", tables, policy, name)

    return make


@pytest.fixture(scope="session")
def north_west_results(tmp_path_factory, worker_id):
    """A full `optimise run` of the North West (about 30 s), made once per test session and
    shared by the xdist workers through a file lock; its folder holds every result file and
    report. Used by the report tests, which need a real plan at real size."""
    import fcntl

    from click.testing import CliRunner

    from cli import main

    # under xdist every worker's basetemp sits in the session's own folder
    root = tmp_path_factory.getbasetemp()
    root = root.parent if worker_id != "master" else root
    folder = root / "north-west-results"
    with open(root / "north-west-results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "summary.json").exists():
            result = CliRunner().invoke(main, ["run", str(REPO / "instances" / "north-west"),
                                               "--out", str(folder), "--quiet"])
            assert result.exit_code == 0, result.output
        fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def unwrapped(text: str) -> str:
    """Error output with its wrapped lines joined back (``cli.wrap_report`` fits them to the
    terminal): a continuation, indented past the line it continues, joins it after one space."""
    lines: list[str] = []
    for line in text.splitlines():
        body = line.lstrip(" ")
        continued = len(line) - len(body) >= 4 or (
            line.startswith("  ") and not body.startswith(("- ", "... ")))
        if lines and continued and body:
            lines[-1] += " " + body
        else:
            lines.append(line)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


#: the installed `optimise` console script of this environment, as a user runs it
OPTIMISE = Path(__import__("sys").executable).with_name("optimise")


def run_optimise(*args: str, cwd: Path | None = None, timeout: float = 600,
                 env: dict | None = None, input: str | None = None):
    """Run the installed ``optimise`` command in a subprocess, as a user would.

    Returns the ``CompletedProcess`` with ``stdout`` and ``stderr`` as text. The terminal width
    is fixed at 80 columns (``COLUMNS``) unless ``env`` says otherwise, so screen tests see what
    a narrow terminal or a pipe shows.
    """
    import os
    import subprocess

    environment = {**os.environ, "COLUMNS": "80", **(env or {})}
    return subprocess.run([str(OPTIMISE), *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout, input=input)
