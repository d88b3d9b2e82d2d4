"""The names of `optimise guarantee`'s result files, apart from the analysis: the report reads
them (``optimiser.reports.guarantee_report``) without importing what plans (``optimiser.run``
imports the reports)."""

GUARANTEE_CSV = "guarantee.csv"
GUARANTEE_SUMMARY = "guarantee_summary.json"
GUARANTEE_PNG = "guarantee.png"
