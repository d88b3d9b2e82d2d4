"""Every result file's columns are declared once (optimiser.columns): the tables, the writers'
rounding and report.xlsx's number formats and headers all come from that declaration."""

from __future__ import annotations

import pandas as pd
import pytest

from optimiser import (
    columns,
    compare,
    guarantee,
    investment,
    outputs,
    scenarios,
    stress,
    sufficiency,
)
from optimiser.reports import xlsx
from optimiser.writers import csv_text

KINDS = {columns.PLACES, columns.MONEY, columns.WEEKLY_PRICE, columns.PERCENT, columns.SHARE,
         columns.INDEX, columns.KM, columns.COUNT, columns.TEXT, columns.FLAG}


@pytest.mark.parametrize("file", list(columns.FILES.values()), ids=list(columns.FILES))
def test_every_declared_column_has_a_known_kind_and_a_meaning(file):
    assert file.columns and len(set(file.names)) == len(file.names)
    for column in file.columns:
        assert column.kind in KINDS, column
        assert column.meaning.strip(), column


def test_the_tables_columns_are_the_declarations():
    assert outputs.ASSIGNMENT_COLUMNS == columns.ASSIGNMENT.names
    assert (outputs.AUTHORITY_COLUMNS, outputs.PROVIDER_COLUMNS, outputs.GAP_COLUMNS,
            sufficiency.SUFFICIENCY_COLUMNS, investment.INVESTMENT_COLUMNS,
            stress.STRESS_COLUMNS, compare.COMPARE_COLUMNS, compare.MEMBER_COLUMNS,
            compare.SHAPLEY_COLUMNS) == tuple(columns.FILES[n].names for n in (
                "authorities.csv", "providers.csv", "gaps.csv", "sufficiency.csv",
                "investment.csv", "stress.csv", "compare.csv", "members.csv", "shapley.csv"))
    assert (guarantee.GUARANTEE_COLUMNS, guarantee.contract_forms.CONTRACT_FORM_COLUMNS,
            scenarios.SCENARIO_COLUMNS) == tuple(columns.FILES[n].names for n in (
                "guarantee.csv", "contract_forms.csv", "scenarios.csv"))


def test_guarantees_files_are_rounded_by_their_declared_kinds():
    row = dict.fromkeys(columns.GUARANTEE.names)
    row.update(option="none", guaranteed_places=2.1234567891, discount_pct=7.1234567891,
               contracts=2, expected_cost=1234.5678, saving=-0.004, p_void=0.123456789,
               break_even_discount_pct=3.3333333333)
    line = csv_text(pd.DataFrame([row]), columns.GUARANTEE).splitlines()[1]
    assert line == ("none,,,,,2.123457,7.123457,,2,,,1234.57,,,0.0,,,,,,,0.123457,,,,,,"
                    "3.333333")
    assert columns.CONTRACT_FORMS.rounded({"provider_margin_pct": 0.12345678,
                                           "against_block": -0.001, "form": "block"}) == {
        "provider_margin_pct": 0.123457, "against_block": 0.0, "form": "block"}


def test_the_writer_rounds_each_column_by_its_declared_kind():
    row = dict.fromkeys(columns.STRESS.names, "x")
    row.update(annual_cost=1234.5678, cost_change=-0.004, cost_change_pct=12.3456789123,
               unmet=1.23456789, unmet_change=0.0000001, local_share=0.1234567891,
               local_share_change=None, standalone_cost=2000.0, saving=765.4322)
    line = csv_text(pd.DataFrame([row]), columns.STRESS).splitlines()[1]
    assert line == "x,x,x,x,1234.57,0.0,12.345679,1.234568,0.0,0.123457,,2000.0,765.43,x"


def test_a_table_not_declared_yet_is_rounded_by_its_columns_kind_in_runs_files():
    table = pd.DataFrame([{"saving": 1.23456, "discount_pct": 1.23456789, "places": 1e-7,
                           "distance_km": 1.23456, "p_void": 0.123456789}])
    assert csv_text(table).splitlines()[1] == "1.23,1.234568,0.0,1.235,0.123456789"


def test_a_name_with_two_kinds_is_refused(monkeypatch):
    twice = columns._file("x.csv", ("saving", columns.PERCENT, "not money"))
    monkeypatch.setitem(columns.FILES, "x.csv", twice)
    with pytest.raises(ValueError, match="saving is money and percent"):
        columns.kind_by_name()


def test_report_xlsx_formats_and_headers_follow_the_declaration():
    assert xlsx.FORMATS["shapley_saving"] == xlsx.MONEY
    assert xlsx.FORMATS["weekly_price"] == xlsx.WEEKLY
    assert xlsx.FORMATS["saving_pct"] == xlsx.POINTS
    assert xlsx.FORMATS["local_share_alone"] == xlsx.SHARE
    assert xlsx.FORMATS["distance_km"] == xlsx.PLACES
    assert xlsx.FORMATS["saving_pct_rank"] == xlsx.WHOLE
    assert xlsx.FORMATS["need_distance"] == xlsx.INDEX
    # guarantee's sheets keep their formats for now: its workbook stays byte for byte
    assert "p_void" not in xlsx.FORMATS and "option" not in xlsx.TEXT
    for name, kind in columns.kind_by_name(columns.FORMATTED).items():
        if name not in xlsx.AS_GENERAL:
            assert xlsx.FORMATS.get(name) == xlsx.KIND_FORMATS.get(kind), name
        assert (name in xlsx.TEXT) == (kind == columns.TEXT), name
    assert xlsx.plain("saving_per_place_year") == "Saving per place a year"
    assert xlsx.plain("price_assumed_weekly") == "Weekly price assumed"
