"""Reading the result files (every problem at once) and the policy they were run with."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimiser import outputs
from optimiser.errors import InputError, Problem
from optimiser.loading import MAX_CSV_BYTES, read_bounded
from optimiser.records import Instance
from optimiser.schema import Policy
from optimiser.sufficiency import SUFFICIENCY, SUFFICIENCY_COLUMNS
from optimiser.verify.checker import Checker, fmt
from optimiser.writers import restore

#: policy keys no figure or constraint verify checks depends on: they steer which plan the
#: solver finds (voice, solver, time limit, gap) or are read by `optimise guarantee` alone
PLAN_SEARCH_KEYS = frozenset({
    "voice", "solver", "time_limit_s", "mip_gap",
    "demand_cv", "demand_correlation", "contract_years", "demand_growth_pct",
})
#: summary.json writes numbers to 6 decimals: a policy value within this is the same
POLICY_ROUNDING = 0.5 * 10**-6 + 1e-12


@dataclass(frozen=True)
class ResultRow:
    """One parsed CSV row: text columns as str, flags as bool, numbers as float, blank None."""

    line: int
    cells: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.cells[column]


@dataclass(frozen=True)
class ResultFiles:
    folder: Path
    assignment: list[ResultRow]
    authorities: list[ResultRow]
    providers: list[ResultRow]
    gaps: list[ResultRow]
    summary: dict[str, Any]
    sufficiency: list[ResultRow] | None = None  # None: the folder has no sufficiency.csv


_TEXT_COLUMNS = {"authority", "provider", "placement_type", "need", "name", "kind",
                 "bottleneck"}
_FLAG_COLUMNS = {"local", "contracted", "guarantee"}

_CSV_FILES = {
    outputs.ASSIGNMENT: outputs.ASSIGNMENT_COLUMNS,
    outputs.AUTHORITIES: outputs.AUTHORITY_COLUMNS,
    outputs.PROVIDERS: outputs.PROVIDER_COLUMNS,
    outputs.GAPS: outputs.GAP_COLUMNS,
}

# summary.json keys verify reads, with the sub-keys it needs.
_SUMMARY_NEEDS = {
    "instance": None,
    "status": None,
    "members": None,
    "totals": outputs.TOTALS_KEYS,
    "fairness": ("min_saving_pct", "max_saving_pct", "jain", "gini"),
    "tiers": None,
    "shared_costs": ("contract", "void"),
    "not_kept_whole": None,
    "penalties": ("local_shortfall_places", "local_shortfall_cost"),
    "policy": None,
}
_SUMMARY_TIER_KEYS = (
    "provider",
    "placement_type",
    "min_places",
    "discount_pct",
    "guarantee",
    "volume",
    "void_places",
    "void_cost",
)


def _parse_cell(text: str, column: str) -> tuple[Any, str | None]:
    """The cell's value and, if it cannot be read, what is wrong with it."""
    text = text.strip()
    if column in _TEXT_COLUMNS:
        return restore(text), None  # ids and names as the instance has them
    if text == "":
        return None, None
    if column in _FLAG_COLUMNS:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true", None
        return None, f"{text!r} is not true or false"
    try:
        number = float(text)
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(number):
        return None, f"{text!r} is not a finite number"
    return number, None


def _read_file(path: Path, problems: list[Problem]) -> bytes | None:
    """The bytes of a result file, read the way instance files are (``optimiser.loading``):
    only a regular file (a pipe never ends a read, /dev/zero never ends), at most
    ``MAX_CSV_BYTES``; else ``None``, the reason added to ``problems``."""
    try:
        data = read_bounded(path, MAX_CSV_BYTES, "a result file")
    except FileNotFoundError:
        problems.append(Problem(file=str(path), message="result file missing"))
        return None
    if isinstance(data, str):
        problems.append(Problem(file=str(path), message=data))
        return None
    return data


def _read_csv(path: Path, columns: tuple[str, ...], problems: list[Problem]) -> list[ResultRow]:
    data = _read_file(path, problems)
    if data is None:
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(Problem(file=str(path), message=f"not UTF-8 text: {error}"))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in columns if column not in header]
    if missing:
        problems.append(
            Problem(file=str(path), message=f"missing column(s): {', '.join(missing)}")
        )
        return []
    reader.fieldnames = header
    rows = []
    for line, raw in enumerate(reader, start=2):
        cells = {}
        for column in columns:
            cells[column], error = _parse_cell(raw.get(column) or "", column)
            if error:
                problems.append(Problem(file=str(path), row=line, column=column, message=error))
        rows.append(ResultRow(line, cells))
    return rows


def _read_summary(path: Path, problems: list[Problem]) -> dict[str, Any]:
    data = _read_file(path, problems)
    if data is None:
        return {}
    try:
        summary = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problems.append(Problem(file=str(path), message=f"not valid JSON: {error}"))
        return {}
    if not isinstance(summary, dict):
        problems.append(Problem(file=str(path), message="not a JSON object"))
        return {}
    for key, sub_keys in _SUMMARY_NEEDS.items():
        if key not in summary:
            problems.append(Problem(file=str(path), column=key, message="missing key"))
        elif sub_keys is not None:
            value = summary[key]
            absent = [k for k in sub_keys if not isinstance(value, dict) or k not in value]
            if absent:
                problems.append(
                    Problem(
                        file=str(path), column=key, message=f"missing key(s): {', '.join(absent)}"
                    )
                )
    for key in ("members", "tiers", "not_kept_whole"):
        if key in summary and not isinstance(summary[key], list):
            problems.append(Problem(file=str(path), column=key, message="not a list"))
    for i, tier in enumerate(summary.get("tiers") or []):
        absent = [k for k in _SUMMARY_TIER_KEYS if not isinstance(tier, dict) or k not in tier]
        if absent:
            problems.append(
                Problem(
                    file=str(path),
                    column=f"tiers[{i}]",
                    message=f"missing key(s): {', '.join(absent)}",
                )
            )
    for i, entry in enumerate(summary.get("not_kept_whole") or []):
        if not isinstance(entry, dict) or "authority" not in entry or "excess" not in entry:
            problems.append(
                Problem(
                    file=str(path),
                    column=f"not_kept_whole[{i}]",
                    message="needs authority and excess",
                )
            )
    return summary


def read_results(folder: Path) -> ResultFiles:
    """Parse every result file; all problems (missing files, columns, bad cells) at once."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(Problem(file=str(folder), message="results folder not found"))
    problems: list[Problem] = []
    tables = {
        name: _read_csv(folder / name, columns, problems) for name, columns in _CSV_FILES.items()
    }
    summary = _read_summary(folder / outputs.SUMMARY, problems)
    sufficiency = None
    # optional: written by `optimise run`, not by every API; but anything by that name is read
    # (or refused: a pipe, a device), never passed over as absent
    if os.path.lexists(folder / SUFFICIENCY):
        sufficiency = _read_csv(folder / SUFFICIENCY, SUFFICIENCY_COLUMNS, problems)
    if problems:
        raise InputError(problems)
    return ResultFiles(
        folder=folder,
        assignment=tables[outputs.ASSIGNMENT],
        authorities=tables[outputs.AUTHORITIES],
        providers=tables[outputs.PROVIDERS],
        gaps=tables[outputs.GAPS],
        summary=summary,
        sufficiency=sufficiency,
    )


def policy_as_used(instance: Instance, summary: dict[str, Any]) -> Policy:
    """summary.json's policy, over the instance's for any key it leaves out (values checked as
    the policy table's: an unreadable one is an input error)."""
    reported = summary["policy"]
    if not isinstance(reported, dict):
        raise InputError(Problem(file=outputs.SUMMARY, column="policy", message="not an object"))
    try:
        return Policy.model_validate({**instance.policy.model_dump(), **reported})
    except ValidationError as error:
        raise InputError(
            [
                Problem(
                    file=outputs.SUMMARY,
                    column="policy." + ".".join(str(part) for part in issue["loc"]),
                    message=issue["msg"],
                )
                for issue in error.errors()
            ]
        ) from None


def _same_setting(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return abs(a - b) <= POLICY_ROUNDING * max(1.0, abs(a), abs(b))
    return a == b


def check_policy(
    instance: Instance, file_policy: Policy, summary: dict[str, Any], check: Checker
) -> list[str]:
    """Each key where the run's policy (summary.json) differs from the one verify recomputes
    with (``instance.policy``: the instance file's, ``file_policy``, with verify's ``--set``).

    Returns the accepted overrides; a key figures depend on that differs is a disagreement.
    """
    used = policy_as_used(instance, summary)
    told = instance.policy
    accepted = []
    for key in Policy.model_fields:
        run, expected, own = getattr(used, key), getattr(told, key), getattr(file_policy, key)
        check.count += 1
        if _same_setting(run, expected):
            if not _same_setting(expected, own):
                accepted.append(f"{key}: the run used {fmt(run)}, the instance says {fmt(own)}; "
                                f"given with --set {key}={fmt(expected)}, recomputed with it")
            continue
        says = "the instance says" if _same_setting(expected, own) else "verify --set says"
        if key in PLAN_SEARCH_KEYS:
            accepted.append(f"{key}: the run used {fmt(run)}, {says} {fmt(expected)}; no "
                            "figure verify checks depends on it")
            continue
        check.fail(f"{outputs.SUMMARY} policy {key}: the run used {fmt(run)}, {says} "
                   f"{fmt(expected)}; figures recomputed with {fmt(expected)} (a run made with "
                   f"--set {key}={fmt(run)} verifies with the same --set)")
    return accepted


def members_of(instance: Instance, summary: dict[str, Any]) -> tuple[str, ...]:
    """The run's members; an id the instance lacks means the results belong elsewhere."""
    members = tuple(str(m) for m in summary["members"])
    unknown = [m for m in members if m not in instance.authorities]
    if unknown or not members:
        message = (
            f"members {', '.join(unknown)} are not authorities of this instance"
            if unknown
            else "no members"
        )
        raise InputError(Problem(file=outputs.SUMMARY, column="members", message=message))
    return members
