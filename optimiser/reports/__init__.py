"""Reports a commissioning team can read and share: report.html and report.xlsx.

Each command's reports are built from its result files as written (``files``: name -> text,
the dict the command hands to ``optimiser.writers.write_folder``) and added to the same dict,
so they are written atomically with the rest and can never disagree with them:

* ``report.html`` (``html`` for the page, ``charts`` and ``placement_map`` for the SVG charts,
  one module per command for its sections): one self-contained page that opens in any
  browser, with no network access, and prints on A4;
* ``report.xlsx`` (``xlsx``): the same tables as formatted sheets, a summary sheet first.

Both are deterministic: the same result files give the same bytes.
"""

from __future__ import annotations

from optimiser.records import Instance

REPORT_HTML = "report.html"
REPORT_XLSX = "report.xlsx"


def run_reports(instance: Instance, files: dict[str, str]) -> dict[str, str | bytes]:
    """report.html and report.xlsx of `optimise run`."""
    from optimiser.reports.run_report import run_html
    from optimiser.reports.xlsx import run_workbook, workbook_names

    return {REPORT_HTML: run_html(instance, files),
            REPORT_XLSX: run_workbook(files, workbook_names(instance))}


def compare_reports(instance: Instance, files: dict[str, str]) -> dict[str, str | bytes]:
    """report.html and report.xlsx of `optimise compare`."""
    from optimiser.reports.compare_report import compare_html
    from optimiser.reports.xlsx import compare_workbook, workbook_names

    return {REPORT_HTML: compare_html(instance, files),
            REPORT_XLSX: compare_workbook(files, workbook_names(instance))}


def guarantee_reports(instance: Instance,
                      files: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """report.html and report.xlsx of `optimise guarantee`."""
    from optimiser.reports.guarantee_report import guarantee_html
    from optimiser.reports.xlsx import guarantee_workbook, workbook_names

    return {REPORT_HTML: guarantee_html(instance, files),
            REPORT_XLSX: guarantee_workbook(files, workbook_names(instance))}
