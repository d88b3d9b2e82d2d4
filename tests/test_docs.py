"""docs/model.md, the model's specification, ships with the product and cannot drift silently.

(a) No user-facing text or docstring cites the old "SPEC", which the repository does not ship.
(b) Every "docs/model.md section N" citation names a section that exists.
(c) The doc's tables of instance columns and policy keys are the schema's (name, type, default
    and meaning, in order), and its lists of result-file columns are the writers' own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_optimise

from optimiser import columns, guarantee, outputs
from optimiser.schema import TABLES, Policy
from optimiser.template import ColumnDoc, column_docs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "model.md"

#: the stress command's option placeholder (``--demand SPEC``), not a citation
NOT_A_CITATION = 'metavar="SPEC"'
SPEC_CITATION = re.compile(r"\bSPEC\b")
#: "docs/model.md section 5", "docs/model.md sections 4-5", split over a line break or not
DOC_CITATION = re.compile(r"docs/model\.md\s+sections?\s+(\d+(?:\.\d+)?)"
                          r"(?:\s*(?:-|–|and|to)\s*(\d+(?:\.\d+)?))?")
#: a citation within the doc itself: "section 5", "sections 4-6", "section 3.1"
OWN_CITATION = re.compile(r"\bsections?\s+(\d+(?:\.\d+)?)"
                          r"(?:\s*(?:-|–|and|to)\s*(\d+(?:\.\d+)?))?")

#: the result files' columns as the code defines them, by their label in the doc: every file
#: declared in ``optimiser.columns`` (guarantee's included), then the summaries' keys
OUTPUT_COLUMNS = {
    **{name: file.names for name, file in columns.FILES.items()},
    "summary.json": outputs.SUMMARY_KEYS,
    "summary.json totals": outputs.TOTALS_KEYS,
    "summary.json fairness": outputs.FAIRNESS_KEYS,
    "guarantee_summary.json": guarantee.SUMMARY_KEYS,
}


def product_texts() -> list[Path]:
    """The files whose text a user reads: the code's messages, help and docstrings, and README."""
    files = [ROOT / "cli.py", ROOT / "README.md"]
    for package in ("optimiser", "models"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def spec_citations(path: Path, root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}:{number}: {line.strip()}"
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if SPEC_CITATION.search(line) and NOT_A_CITATION not in line]


def sections(doc: str) -> set[str]:
    """Numbers of the doc's sections ("## 5. ...") and subsections ("### 3.1 ...")."""
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.?\s", doc, flags=re.MULTILINE))


def cited(pattern: re.Pattern, text: str) -> list[str]:
    return [number for match in pattern.finditer(text) for number in match.groups() if number]


def markdown_table_after(doc: str, heading: str) -> list[list[str]]:
    """The cells of each body row of the first table after the heading line starting ``heading``."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    first = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[first + 2:]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def schema_row(doc: ColumnDoc) -> list[str]:
    """A column as the doc's tables give it: name, type, default, meaning."""
    return [doc.name, doc.rule, doc.default_text, doc.meaning]


def test_no_product_text_cites_the_unshipped_spec():
    found = [hit for path in product_texts() for hit in spec_citations(path)]
    assert found == [], "cite docs/model.md and its section instead:\n" + "\n".join(found)


def test_the_spec_check_catches_a_citation(tmp_path):
    cites = tmp_path / "cites.py"
    cites.write_text('"""Fair voice (SPEC section 6)."""\n'
                     'click.option("--demand", metavar="SPEC")\n'
                     "SPECIAL_SCHOOLS = ()\n")
    assert spec_citations(cites, tmp_path) == ['cites.py:1: """Fair voice (SPEC section 6)."""']


def test_every_citation_names_a_section_of_the_doc():
    doc = DOC.read_text(encoding="utf-8")
    known = sections(doc)
    assert {str(n) for n in range(1, 10)} <= known
    tests = [p for p in sorted((ROOT / "tests").glob("*.py")) if p != Path(__file__).resolve()]
    texts = product_texts() + tests  # this file cites missing sections on purpose
    citations = {path: cited(DOC_CITATION, path.read_text(encoding="utf-8")) for path in texts}
    citations[DOC] = cited(OWN_CITATION, doc)
    assert sum(len(numbers) for numbers in citations.values()) > 100  # the check has teeth
    missing = [f"{path.relative_to(ROOT)}: section {n}"
               for path, numbers in citations.items() for n in numbers if n not in known]
    assert missing == [], "no such section in docs/model.md:\n" + "\n".join(missing)


def test_a_citation_of_a_missing_section_is_caught():
    doc = DOC.read_text(encoding="utf-8")
    text = "see docs/model.md section 4, docs/model.md sections 5-12 and docs/model.md\nsection 3.9"
    assert cited(DOC_CITATION, text) == ["4", "5", "12", "3.9"]
    assert [n for n in cited(DOC_CITATION, text) if n not in sections(doc)] == ["12", "3.9"]


@pytest.mark.parametrize("table", list(TABLES))
def test_the_doc_lists_every_column_of_each_table_as_the_schema_defines_it(table):
    doc = DOC.read_text(encoding="utf-8")
    listed = markdown_table_after(doc, f"#### `{table}`")
    expected = [schema_row(d) for d in column_docs(TABLES[table].row)]
    assert listed == expected, (
        f"docs/model.md section 3.1, table {table}, should read:\n"
        + "\n".join(f"| {' | '.join(row)} |" for row in expected))


def test_the_doc_lists_every_policy_key_as_the_schema_defines_it():
    doc = DOC.read_text(encoding="utf-8")
    listed = markdown_table_after(doc, "### 3.2 Policy keys")
    expected = [schema_row(d) for d in column_docs(Policy)]
    assert listed == expected, (
        "docs/model.md section 3.2 should read:\n"
        + "\n".join(f"| {' | '.join(row)} |" for row in expected))


def test_the_defaults_in_the_doc_are_the_schemas():
    doc = DOC.read_text(encoding="utf-8")
    policy = {row[0]: row[2] for row in markdown_table_after(doc, "### 3.2 Policy keys")}
    assert (policy["local_radius_km"], policy["max_provider_share"], policy["voice"]) == (
        "32.19", "1", "volume")
    providers = {row[0]: row[2] for row in markdown_table_after(doc, "#### `providers`")}
    assert (providers["kind"], providers["rating"], providers["owner"]) == (
        "independent", "unrated", "blank")


@pytest.mark.parametrize("label", list(OUTPUT_COLUMNS))
def test_the_doc_lists_every_result_file_column_as_the_code_writes_it(label):
    doc = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^(?:Columns|Keys) \(`{re.escape(label.split()[0])}`"
                      rf"{re.escape(label[len(label.split()[0]):])}\): (.*)$", doc, re.MULTILINE)
    assert match, f"docs/model.md has no line 'Columns (`{label}`): ...'"
    assert re.findall(r"`([^`]+)`", match.group(1)) == list(OUTPUT_COLUMNS[label])


def test_a_template_cites_the_doc_for_the_voices(tmp_path):
    folder = tmp_path / "template"
    made = run_optimise("init", folder, timeout=120)
    assert made.returncode == 0, made.stderr
    manifest = (folder / "instance.yaml").read_text(encoding="utf-8")
    instructions = (folder / "INSTRUCTIONS.md").read_text(encoding="utf-8")
    assert "# voice: volume  # volume, equal or maxmin (docs/model.md section 6)" in manifest
    assert ("| voice | one of: volume, equal, maxmin | volume | volume, equal or maxmin "
            "(docs/model.md section 6) |") in instructions
    assert "SPEC" not in manifest + instructions
