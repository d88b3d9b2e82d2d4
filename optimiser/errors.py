"""Errors a user can cause, and how they are worded.

Every problem with an input names where it is: the file (and the sheet of a workbook), the row
and the column. Loading collects all problems before raising, so a user fixes a spreadsheet in
one pass rather than one error per run. The CLI turns :class:`InputError` into a message and
exit code 2; nothing else a user does should reach a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where it is.

    ``row`` is the row as the user sees it: the line number in a CSV file or the row number in
    a sheet (the header is row 1, so the first data row is row 2), or the 1-based position of an
    item in an inline manifest table. ``None`` means the problem concerns the whole file/table.
    """

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class InputError(Exception):
    """Bad input or usage: reported with every problem found, exit code 2."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        lines = [str(p).lstrip(": ") for p in self.problems]
        head = f"{len(lines)} problem{'s' if len(lines) != 1 else ''} found:"
        return "\n".join([head, *("  - " + line for line in lines)])


class SolveError(Exception):
    """The solver failed or found no plan: reported with its reason, exit code 1."""
