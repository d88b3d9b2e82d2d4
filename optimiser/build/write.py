"""Write a built instance: CSV tables, ``instance.yaml`` and ``PROVENANCE.md``, deterministically."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import yaml

from optimiser.build.assumptions import Assumptions
from optimiser.build.region import Tables
from optimiser.writers import write_folder

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(DfE, Ofsted); local authority names, codes and locations: mySociety, CC-BY-4.0.")

SOURCES = (
    ("england_authorities.csv", ("mySociety UK local authority names and codes (CC-BY-4.0); "
     "counties' coordinates population-weighted")),
    ("dfe_cla_by_la_2020_2024.csv", "DfE, Children looked after in England (OGL v3.0)"),
    ("dfe_national_cla_by_characteristics.csv", "DfE, same release: England by placement"),
    ("dfe_national_cla_by_provider_type_and_locality.csv",
     "DfE, same release: England by placement provider"),
    ("dfe_la_new_placements_location.csv",
     "DfE, same release: new placements within 20 miles (for comparison only)"),
    ("ofsted_providers_2023-03-31.csv",
     "Ofsted, Children's social care data in England, providers at 31 March 2023 (OGL v3.0)"),
)


def csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV with booleans spelled true/false and blanks for missing values."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].map({True: "true", False: "false"})
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def manifest_text(built: Tables) -> str:
    region = built.region
    manifest = {"name": region.name, "description": region.description,
                "tables": {name: f"{name}.csv" for name in built.tables}}
    if region.policy:
        manifest["policy"] = region.policy
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)


def provenance_text(built: Tables, assumptions: Assumptions) -> str:
    region = built.region
    lines = [f"# {region.name}: provenance", "", region.description.strip(), "",
             region.rebuild, "", "## Sources", "",
             "| file | source and licence |", "|---|---|"]
    lines += [f"| `{f}` | {s} |" for f, s in SOURCES]
    lines += ["", ATTRIBUTION, "", "## Figures derived from the sources", "",
              "| what | figure |", "|---|---|"]
    lines += [f"| {what} | {figure} |" for what, figure in built.facts]
    if region.notes:
        lines += ["", "## Notes on this instance", ""] + [f"- {n}" for n in region.notes]
    lines += ["", "## Assumptions", "",
              ("Every figure not in the sources is an assumption, listed here with its value "
              "(generated from `optimiser/build/assumptions.py`)."), "",
              "| name | value | unit | reason |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {value} | {unit} | {reason} |"
              for name, value, unit, reason in assumptions.rows()]
    sizes = ", ".join(f"{name} {len(frame)}" for name, frame in built.tables.items())
    lines += ["", f"Table sizes (rows): {sizes}.", ""]
    return "\n".join(lines)


def write_instance_folder(built: Tables, assumptions: Assumptions, out: Path) -> Path:
    files = {f"{name}.csv": csv_text(frame) for name, frame in built.tables.items()}
    files["instance.yaml"] = manifest_text(built)
    files["PROVENANCE.md"] = provenance_text(built, assumptions)
    return write_folder(out, files)
