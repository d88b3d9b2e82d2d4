"""Writing result folders: deterministic text, and never half-written.

Files are written to a temporary folder beside the destination and moved into place only when
all are complete; an existing results folder is replaced as a whole. Numbers are rounded to the
precision of ``optimiser.outputs`` so the same plan gives the same bytes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from optimiser import outputs

_PLACES = {"places", "demand", "placed", "unmet", "capacity", "tier_min_places", "void_places",
           "local_capacity", "placed_local", "placed_out_of_area", "local_max_consortium",
           "local_max_alone"}
_MONEY = {"annual_cost", "standalone_cost", "saving", "annual_fees", "saving_per_place_year",
          "resolve_saving"}
_RATIO = {"local_share", "saving_pct", "discount_pct", "utilisation", "weekly_price",
          "price_assumed_weekly"}
_KM = {"distance_km"}


def _digits(column: str) -> int | None:
    for names, digits in ((_PLACES, outputs.PLACES_DP), (_MONEY, outputs.MONEY_DP),
                          (_RATIO, outputs.RATIO_DP), (_KM, outputs.KM_DP)):
        if column in names:
            return digits
    return None


def _cell(value: object, digits: int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if digits is not None:
        rounded = round(float(value), digits)
        return repr(0.0 if rounded == 0 else rounded)
    return str(value)


def csv_text(table: pd.DataFrame) -> str:
    """A table as CSV text with the rounding and spelling of ``optimiser.outputs``."""
    columns = list(table.columns)
    digits = [_digits(c) for c in columns]
    lines = [",".join(columns)]
    for row in table.itertuples(index=False):
        lines.append(",".join(_quote(_cell(v, d)) for v, d in zip(row, digits)))
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _json_ready(value: object) -> object:
    """Round floats for stable bytes; NaN/inf become null (JSON has neither)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return 0.0 if round(value, 6) == 0 else round(value, 6)
    return value


def json_text(data: dict) -> str:
    return json.dumps(_json_ready(data), indent=2, ensure_ascii=False) + "\n"


def write_folder(destination: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> text) into ``destination`` atomically; return it."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8", newline="")
        _swap_into_place(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Replace ``destination`` with ``staging``; the old folder goes only once the new is in."""
    if not destination.exists():
        os.replace(staging, destination)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=destination.parent))
    os.replace(destination, retired / "results")
    try:
        os.replace(staging, destination)
    except BaseException:
        os.replace(retired / "results", destination)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def result_files(outcome, sufficiency=None, investment=None) -> dict[str, str]:
    """The five result files of a run (SPEC section 7), as text, plus ``sufficiency.csv`` and
    ``investment.csv`` when given (``optimiser.sufficiency``, ``optimiser.investment``)."""
    from optimiser import tables

    authorities = tables.authority_table(outcome)
    files = {
        outputs.SUMMARY: json_text(tables.summary(outcome, authorities, investment)),
        outputs.ASSIGNMENT: csv_text(tables.assignment_table(outcome)),
        outputs.AUTHORITIES: csv_text(authorities),
        outputs.PROVIDERS: csv_text(tables.provider_table(outcome)),
        outputs.GAPS: csv_text(tables.gap_table(outcome)),
    }
    if sufficiency is not None:
        from optimiser.sufficiency import SUFFICIENCY
        files[SUFFICIENCY] = csv_text(sufficiency.table)
    if investment is not None:
        from optimiser.investment import INVESTMENT
        files[INVESTMENT] = csv_text(investment.table)
    return files
