"""Shared test helpers: write small instances to disk in the SPEC's directory format."""

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
