"""Errors a user can cause, and how they are worded.

Every problem with an input names where it is: the file (and the sheet of a workbook), the row
and the column. Loading collects all problems before raising, so a user fixes a spreadsheet in
one pass rather than one error per run. The CLI turns :class:`InputError` into a message and
exit code 2; nothing else a user does should reach a traceback.

A report lists the first :data:`MAX_SHOWN_PROBLEMS` problems and counts the rest
(:class:`Problems`): a fault in every row of a million-row table would otherwise build, and
print, a million messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: problems listed in full in a report; the rest are counted ("... and 12,345 more problems")
MAX_SHOWN_PROBLEMS = 50


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


class Problems:
    """Problems in the order found: the first :data:`MAX_SHOWN_PROBLEMS` kept, the rest only
    counted, so memory stays bounded whatever the input. Collects like a list (``append``,
    ``+=``); ``len`` is the number found, iteration gives the kept ones."""

    def __init__(self, problems: Iterable[Problem] = ()) -> None:
        self.shown: list[Problem] = []
        self.unshown = 0
        self += problems

    @property
    def full(self) -> bool:
        """True once no further problem will be shown: a caller may skip costly wording."""
        return len(self.shown) >= MAX_SHOWN_PROBLEMS

    def append(self, problem: Problem) -> None:
        if self.full:
            self.unshown += 1
        else:
            self.shown.append(problem)

    def __iadd__(self, problems: Iterable[Problem]) -> Problems:
        for problem in problems:
            self.append(problem)
        return self

    extend = __iadd__

    def __len__(self) -> int:
        return len(self.shown) + self.unshown

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.shown)


class InputError(Exception):
    """Bad input or usage: reported with every problem found (the first
    :data:`MAX_SHOWN_PROBLEMS` in full), exit code 2."""

    def __init__(self, problems: Problems | Iterable[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        collected = problems if isinstance(problems, Problems) else Problems(problems)
        self.problems: list[Problem] = list(collected.shown)
        self.count = len(collected)
        super().__init__(self.report())

    def report(self) -> str:
        lines = [str(p).lstrip(": ") for p in self.problems]
        head = f"{self.count:,} problem{'s' if self.count != 1 else ''} found:"
        report = [head, *("  - " + line for line in lines)]
        unshown = self.count - len(lines)
        if unshown:
            # not "  - ...": each listed line names a file, and this one names none
            report.append(f"  ... and {unshown:,} more problem{'s' if unshown != 1 else ''} "
                          f"(the first {len(lines)} are listed)")
        return "\n".join(report)


class SolveError(Exception):
    """The solver failed or found no plan: reported with its reason, exit code 1."""
