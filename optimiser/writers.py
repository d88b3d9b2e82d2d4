"""Writing result folders: deterministic text, and never half-written.

Files are written to a temporary folder beside the destination and moved into place only when
all are complete; an existing results folder is replaced as a whole (which folders a command may
replace, ``optimiser.destination`` decides before it starts). Numbers are rounded to the
precision of ``optimiser.outputs`` so the same plan gives the same bytes.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from optimiser import columns, outputs
from optimiser.columns import DIGITS, RUN_KINDS, OutputFile
from optimiser.errors import InputError, Problem


def _digits(column: str, declared: OutputFile | None) -> int | None:
    if declared is not None:
        return declared.digits()[column]
    return DIGITS.get(RUN_KINDS.get(column))


#: First characters that make Excel, LibreOffice or Google Sheets read a text cell as a formula
#: (OWASP, "CSV Injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` made safe to open in a spreadsheet: a leading ``'`` when it would start a
    formula, so ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)`` and shows as typed.

    Every text cell of every CSV result file goes through this (``csv_text``); numbers never
    do, so a negative saving stays ``-123.45``. Use it for any text written to a spreadsheet
    (CSV or Excel). Text already starting with quotes before such a character gets one more,
    so :func:`restore` gives back exactly the original text.
    """
    return "'" + text if text.lstrip("'")[:1] in FORMULA_STARTS else text


def restore(text: str) -> str:
    """The text :func:`neutralise` was given (for readers of the result files)."""
    if text.startswith("'") and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text


def _cell(value: object, digits: int | None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if digits is not None:
        rounded = round(float(value), digits)
        return repr(0.0 if rounded == 0 else rounded)
    return neutralise(value) if isinstance(value, str) else str(value)


def csv_text(table: pd.DataFrame, declared: OutputFile | None = None) -> str:
    """A table as CSV text with the spelling of ``optimiser.outputs``, each column rounded by
    its kind in ``declared`` (``optimiser.columns``; a table not declared yet, by the kind its
    column's name has in run's files); text cells are neutralised (:func:`neutralise`)."""
    names = list(table.columns)
    digits = [_digits(c, declared) for c in names]
    lines = [",".join(names)]
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


def write_folder(destination: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (name -> text, or bytes for binary files such as report.xlsx) into
    ``destination`` atomically; return it. Folders and files get the modes the user's umask
    gives, as any program's would. The current folder, or one holding it, is refused
    (:class:`InputError`): it cannot be swapped out from under the shell standing in it."""
    destination = Path(destination)
    _refuse_the_current_folder(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = None
    try:
        with interrupts_deferred():  # the hidden folder exists only once it is known here
            staging = _hidden_folder(destination.parent, f".{destination.name}.")
        for name, text in files.items():
            if isinstance(text, bytes):
                (staging / name).write_bytes(text)
            else:
                (staging / name).write_text(text, encoding="utf-8", newline="")
        with interrupts_deferred():
            _swap_into_place(staging, destination)
    except BaseException:  # Ctrl-C included: the hidden folder goes, the old results stay
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _refuse_the_current_folder(destination: Path) -> None:
    here, target = Path.cwd().resolve(), destination.resolve()
    if target == here or target in here.parents:
        raise InputError(Problem("", f"{destination} is the current folder or holds it, "
                                 "which cannot be replaced: give a new folder's name"))


def _hidden_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/<prefix><random>``, made as ``mkdir`` makes folders: mode 0777
    less the umask (``tempfile.mkdtemp`` would make it 0700, and the results with it, so
    colleagues sharing a server could not open them)."""
    for _ in range(100):
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"no free name for a hidden folder in {parent}")


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block is done, then raise it.

    Swapping folders is two renames and a removal: cut between them, it could leave neither
    the old results nor the new at ``destination``, or a stray hidden folder beside it. Only the
    main thread can set signal handlers; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if previous is signal.default_int_handler:
            raise KeyboardInterrupt
        if callable(previous):
            previous(signal.SIGINT, None)


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Replace ``destination`` with ``staging``; the old folder goes only once the new is in."""
    if not destination.exists():
        os.replace(staging, destination)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=destination.parent))
    try:  # the hidden folder goes whichever rename fails, the first one included
        os.replace(destination, retired / "results")
        try:
            os.replace(staging, destination)
        except BaseException:
            os.replace(retired / "results", destination)
            raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def result_files(outcome, sufficiency=None, investment=None) -> dict[str, str]:
    """The five result files of a run (docs/model.md section 7), as text, plus
    ``sufficiency.csv`` and ``investment.csv`` when given (``optimiser.sufficiency``,
    ``optimiser.investment``)."""
    from optimiser import tables

    authorities = tables.authority_table(outcome)
    files = {
        outputs.SUMMARY: json_text(tables.summary(outcome, authorities, investment)),
        outputs.ASSIGNMENT: csv_text(tables.assignment_table(outcome), columns.ASSIGNMENT),
        outputs.AUTHORITIES: csv_text(authorities, columns.AUTHORITIES),
        outputs.PROVIDERS: csv_text(tables.provider_table(outcome), columns.PROVIDERS),
        outputs.GAPS: csv_text(tables.gap_table(outcome), columns.GAPS),
    }
    if sufficiency is not None:
        from optimiser.sufficiency import SUFFICIENCY
        files[SUFFICIENCY] = csv_text(sufficiency.table, columns.SUFFICIENCY)
    if investment is not None:
        from optimiser.investment import INVESTMENT
        files[INVESTMENT] = csv_text(investment.table, columns.INVESTMENT)
    return files
