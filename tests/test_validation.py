"""Every validation rule of docs/model.md section 3: each bad input is named by file, row and
column, all problems are reported at once, and ``validate`` exits 2 without a traceback."""

from __future__ import annotations

import copy

import pytest
from test_loading import (
    POLICY,
    SMALL,
    assert_rejected,
    problems_of,
    validate_cli,
    write_inline_manifest,
)

from optimiser.loading import load_instance


def changed(**edits) -> dict[str, list[dict]]:
    """SMALL with edits: ``table=[(index, {column: value}), ...]``, or ``table=None`` to drop it.

    An index equal to the table's length appends a row; a value of ``...`` removes the column
    from that row.
    """
    tables = copy.deepcopy(SMALL)
    for table, row_edits in edits.items():
        if row_edits is None:
            del tables[table]
            continue
        for index, cells in row_edits:
            if index == len(tables[table]):
                tables[table].append({})
            row = tables[table][index]
            for column, value in cells.items():
                if value is ...:
                    row.pop(column, None)
                else:
                    row[column] = value
    return tables


# Per-cell values -------------------------------------------------------------------------------

CELL_CASES = {
    "negative": (
        {"offers": [(0, {"capacity": "-3"})]},
        "offers.csv, row 2, column capacity: must be >= 0, got '-3'",
    ),
    "not_a_number": (
        {"demand": [(1, {"places": "abc"})]},
        "demand.csv, row 3, column places: not a number: 'abc'",
    ),
    "nan": (
        {"offers": [(2, {"weekly_price": "NaN"})]},
        "offers.csv, row 4, column weekly_price: NaN or infinite numbers are not allowed, got 'NaN'",
    ),
    "infinite": (
        {"distances": [(0, {"km": "-inf"})]},
        "distances.csv, row 2, column km: NaN or infinite numbers are not allowed, got '-inf'",
    ),
    "not_positive": (
        {"placement_types": [(1, {"emergency_weekly_price": 0})]},
        "placement_types.csv, row 3, column emergency_weekly_price: must be > 0, got '0'",
    ),
    "above_one": (
        {"authorities": [(0, {"min_local_share": 1.5})]},
        "authorities.csv, row 2, column min_local_share: must be <= 1, got '1.5'",
    ),
    "discount_100": (
        {"tiers": [(1, {"discount_pct": 100})]},
        "tiers.csv, row 3, column discount_pct: must be < 100, got '100'",
    ),
    "absurdly_large": (
        {"demand": [(0, {"places": "1e30"})]},
        "demand.csv, row 2, column places: must be <= 10000000, got '1e30'",
    ),
    "bad_kind": (
        {"providers": [(0, {"kind": "private"})]},
        ("providers.csv, row 2, column kind: must be one of independent, voluntary, in_house, "
        "got 'private'"),
    ),
    "bad_boolean": (
        {"tiers": [(0, {"guarantee": "maybe"})]},
        "tiers.csv, row 2, column guarantee: must be true or false, got 'maybe'",
    ),
    "blank_required_cell": (
        {"offers": [(1, {"weekly_price": None})]},
        "offers.csv, row 3, column weekly_price: a value is required (the cell is blank)",
    ),
    "blank_id": (
        {"providers": [(1, {"id": "  "})]},
        "providers.csv, row 3, column id: a value is required (the cell is blank)",
    ),
}


@pytest.mark.parametrize("edits, expected", CELL_CASES.values(), ids=CELL_CASES.keys())
def test_bad_cell_value(make_instance, edits, expected):
    assert_rejected(make_instance(changed(**edits)), expected)


def test_unknown_column_is_named_once_in_the_header(make_instance):
    folder = make_instance(changed(offers=[(0, {"capcity": 5}), (1, {"capcity": 1})]))
    assert problems_of(folder).startswith("1 problem found:")  # not one per row
    assert_rejected(folder, "offers.csv, row 1, column capcity: unknown column (did you mean 'capacity'?)")


def test_missing_required_column_is_named_once(make_instance):
    folder = make_instance(changed(demand=[(i, {"places": ...}) for i in range(3)]))
    report = problems_of(folder)
    assert report.startswith("1 problem found:")
    assert_rejected(folder, "demand.csv, row 1, column places: required column is missing")


def test_inline_table_problems_name_manifest_table_and_item(tmp_path):
    tables = changed(offers=[(1, {"capcity": 3, "capacity": ...}), (2, {"weekly_price": -1})])
    path = write_inline_manifest(tmp_path / "m.yaml", tables)
    assert_rejected(
        path,
        "m.yaml (offers), row 2, column capcity: unknown column (did you mean 'capacity'?)",
        "m.yaml (offers), row 2, column capacity: a value is required",
        "m.yaml (offers), row 3, column weekly_price: must be >= 0, got -1",
    )


# Tables ----------------------------------------------------------------------------------------


def test_required_table_missing(make_instance):
    assert_rejected(make_instance(changed(offers=None)), "instance.yaml: required table 'offers' is missing")


def test_required_table_without_rows(make_instance):
    folder = make_instance(SMALL)
    (folder / "demand.csv").write_text("authority,placement_type,places\n")
    assert_rejected(folder, "demand.csv: required table 'demand' has no rows")


def test_optional_tables_may_be_absent_or_empty(make_instance):
    folder = make_instance(changed(tiers=None, substitutions=None, consortia=None))
    (folder / "consortia.csv").write_text("consortium,authority\n")
    manifest = folder / "instance.yaml"
    manifest.write_text(manifest.read_text() + "  consortia: consortia.csv\n")
    instance = load_instance(folder)
    assert instance.tiers == () and instance.substitutions == () and instance.consortia == ()


# Duplicate keys --------------------------------------------------------------------------------

DUPLICATE_CASES = {
    "placement_type_id": (
        {"placement_types": [(2, {**SMALL["placement_types"][0], "name": "again"})]},
        "placement_types.csv, row 4, column id: duplicate of row 2 (id 'foster')",
    ),
    "demand_pair": (
        {"demand": [(3, {"authority": "E08000002", "placement_type": "foster", "places": 1})]},
        ("demand.csv, row 5, column authority/placement_type: duplicate of row 3 "
        "(authority 'E08000002', placement_type 'foster')"),
    ),
    "tier_key": (
        {"tiers": [(2, {"provider": "P1", "placement_type": "foster", "min_places": 30.0,
                        "discount_pct": 6})]},
        ("tiers.csv, row 4, column provider/placement_type/min_places: duplicate of row 3 "
        "(provider 'P1', placement_type 'foster', min_places 30.0)"),
    ),
    "distance_pair": (
        {"distances": [(2, {"authority": "E08000001", "provider": "P2", "km": 4})]},
        "distances.csv, row 4, column authority/provider: duplicate of row 2",
    ),
}


@pytest.mark.parametrize("edits, expected", DUPLICATE_CASES.values(), ids=DUPLICATE_CASES.keys())
def test_duplicate_key(make_instance, edits, expected):
    assert_rejected(make_instance(changed(**edits)), expected)


# References ------------------------------------------------------------------------------------

REFERENCE_CASES = {
    "demand.authority": ("demand", 0, "authority", "E08000009", "unknown authority 'E08000009'"),
    "demand.placement_type": ("demand", 2, "placement_type", "residentail",
                              "unknown placement type 'residentail' (did you mean 'residential'?)"),
    "providers.owner": ("providers", 1, "owner", "E9", "unknown authority 'E9'"),
    "offers.provider": ("offers", 2, "provider", "P3", "unknown provider 'P3'"),
    "offers.placement_type": ("offers", 0, "placement_type", "fostering",
                              "unknown placement type 'fostering' (did you mean 'foster'?)"),
    "tiers.provider": ("tiers", 1, "provider", "P9", "unknown provider 'P9'"),
    "tiers.placement_type": ("tiers", 0, "placement_type", "parent_child",
                             "unknown placement type 'parent_child'"),
    "distances.authority": ("distances", 1, "authority", "X", "unknown authority 'X'"),
    "distances.provider": ("distances", 0, "provider", "P7", "unknown provider 'P7'"),
    "substitutions.need": ("substitutions", 0, "need", "secure", "unknown placement type 'secure'"),
    "substitutions.served_by": ("substitutions", 0, "served_by", "secure",
                                "unknown placement type 'secure'"),
    "consortia.authority": ("consortia", 1, "authority", "Bury", "unknown authority 'Bury'"),
}


@pytest.mark.parametrize("table, index, column, value, message", REFERENCE_CASES.values(),
                         ids=REFERENCE_CASES.keys())
def test_unknown_id(make_instance, table, index, column, value, message):
    folder = make_instance(changed(**{table: [(index, {column: value})]}))
    assert_rejected(folder, f"{table}.csv, row {index + 2}, column {column}: {message}")


def test_tier_of_a_type_its_provider_does_not_offer(make_instance):
    folder = make_instance(changed(tiers=[(0, {"provider": "P2"}), (1, {"provider": "P2"})],
                                   offers=[(2, {"placement_type": "residential"})]))
    assert_rejected(folder, "tiers.csv, row 2, column placement_type: provider 'P2' has no offer of 'foster'")


# Providers -------------------------------------------------------------------------------------


def test_in_house_provider_without_owner(make_instance):
    folder = make_instance(changed(providers=[(1, {"owner": None})]))
    assert_rejected(folder, "providers.csv, row 3, column owner: an in_house provider needs an owner")


def test_owner_on_an_independent_provider(make_instance):
    folder = make_instance(changed(providers=[(0, {"owner": "E08000002"})]))
    assert_rejected(
        folder,
        "providers.csv, row 2, column owner: only an in_house provider has an owner, but kind is 'independent'",
    )


# Coordinates -----------------------------------------------------------------------------------


def test_lat_without_lon(make_instance):
    folder = make_instance(changed(providers=[(0, {"lon": None})], authorities=[(1, {"lat": None})]))
    assert_rejected(
        folder,
        "providers.csv, row 2, column lon: lat and lon go together: give both or neither",
        "authorities.csv, row 3, column lat: lat and lon go together",
    )


def test_provider_without_coordinates_needs_a_distance_from_every_authority(make_instance):
    folder = make_instance(changed(distances=[(1, {"provider": "P1"})]))
    assert_rejected(
        folder,
        "providers.csv, row 3, column lat: no coordinates and no distances row for authority "
        "E08000002: give lat and lon, or a distances row for every authority",
    )


def test_authority_without_coordinates_needs_a_distance_to_every_provider(make_instance):
    folder = make_instance(changed(authorities=[(0, {"lat": None, "lon": None})]))
    assert_rejected(folder, "authorities.csv, row 2, column lat: no coordinates and no distances row for provider P1")
    covered = changed(authorities=[(0, {"lat": None, "lon": None})],
                      distances=[(2, {"authority": "E08000001", "provider": "P1", "km": 9})])
    assert load_instance(make_instance(covered)).authorities["E08000001"].lat is None


# Tiers -----------------------------------------------------------------------------------------


def test_tiers_of_one_provider_with_overlapping_scopes(make_instance):
    folder = make_instance(changed(tiers=[(1, {"placement_type": None})]))
    assert_rejected(
        folder,
        "tiers.csv, row 3, column placement_type: tiers of provider 'P1' have overlapping scopes: "
        "row 3 leaves placement_type blank",
    )


def test_discount_falling_as_volume_rises(make_instance):
    folder = make_instance(changed(tiers=[(2, {"provider": "P1", "placement_type": "foster",
                                              "min_places": 20, "discount_pct": 1.5})]))
    # row 4 sorts between rows 2 and 3 and gives less than row 2's lower volume
    assert_rejected(
        folder,
        "tiers.csv, row 4, column discount_pct: discount falls as volume rises: 1.5% at 20 places, "
        "but row 2 gives 2% at 10 places",
    )


def test_equal_discounts_and_separate_groups_are_fine(make_instance):
    tables = changed(tiers=[(1, {"discount_pct": 2}),
                            (2, {"provider": "P1", "placement_type": "residential",
                                 "min_places": 1, "discount_pct": 1})])
    assert len(load_instance(make_instance(tables)).tiers) == 3


# Warnings --------------------------------------------------------------------------------------


def test_substitution_of_a_type_by_itself_is_a_warning(make_instance):
    folder = make_instance(changed(substitutions=[(1, {"need": "foster", "served_by": "foster"})]))
    instance = load_instance(folder)
    assert instance.warnings == (
        ("substitutions.csv, row 3, column served_by: need and served_by are both 'foster': "
        "a type always serves itself, so this row is ignored"),
    )
    assert len(instance.substitutions) == 1


def test_demand_nobody_offers_is_a_warning_and_validate_passes(make_instance):
    folder = make_instance(changed(offers=[(1, {"placement_type": "foster", "provider": "P3"})],
                                   providers=[(2, {**SMALL["providers"][0], "id": "P3"})]))
    instance = load_instance(folder)
    assert instance.warnings == ("demand of type 'residential' has no offer: it will be reported as a gap",)
    result = validate_cli(folder)
    assert result.exit_code == 0, result.output
    assert "warning: demand of type 'residential' has no offer: it will be reported as a gap" in result.output
    assert "valid (2 authorities, 3 providers, 3 offers, 2 placement types)" in result.output


def test_demand_served_through_a_substitution_is_no_warning(make_instance):
    tables = changed(offers=[(1, {"placement_type": "foster", "provider": "P3"})],
                     providers=[(2, {**SMALL["providers"][0], "id": "P3"})],
                     substitutions=[(0, {"need": "residential", "served_by": "foster"})])
    assert load_instance(make_instance(tables)).warnings == ()


# Policy ----------------------------------------------------------------------------------------


def test_manifest_policy_unknown_key_and_bad_value(make_instance):
    folder = make_instance(SMALL, {**POLICY, "local_radius": 30, "weeks_per_year": -52,
                                   "integer_places": "sometimes"})
    assert_rejected(
        folder,
        "instance.yaml, column local_radius: unknown policy key 'local_radius' (did you mean 'local_radius_km'?)",
        "instance.yaml, column weeks_per_year: policy weeks_per_year: must be > 0, got -52",
        "instance.yaml, column integer_places: policy integer_places: must be true or false, got 'sometimes'",
    )


# Everything at once ----------------------------------------------------------------------------


def test_all_problems_are_reported_together(make_instance):
    tables = changed(
        placement_types=[(0, {"emergency_weekly_price": "lots"})],
        demand=[(0, {"authority": "E08000099"})],
        providers=[(1, {"owner": None}), (0, {"rating": "excellent"})],
        offers=[(1, {"capacity": -1})],
        tiers=[(1, {"discount_pct": 1})],
        consortia=[(0, {"authority": "nowhere"})],
    )
    folder = make_instance(tables, {"solver": "gurobi"})
    expected = [
        "placement_types.csv, row 2, column emergency_weekly_price: not a number: 'lots'",
        "demand.csv, row 2, column authority: unknown authority 'E08000099'",
        "providers.csv, row 3, column owner: an in_house provider needs an owner",
        "providers.csv, row 2, column rating: must be one of",
        "offers.csv, row 3, column capacity: must be >= 0, got '-1'",
        "tiers.csv, row 3, column discount_pct: discount falls as volume rises",
        "consortia.csv, row 2, column authority: unknown authority 'nowhere'",
        "instance.yaml, column solver: policy solver: must be one of highs, cbc, ortools, got 'gurobi'",
    ]
    assert problems_of(folder).startswith(f"{len(expected)} problems found:")
    assert_rejected(folder, *expected)


def test_values_that_look_like_markup_are_reported_verbatim(make_instance):
    folder = make_instance(changed(consortia=[(0, {"authority": "[/x]"})]))
    assert_rejected(folder, "consortia.csv, row 2, column authority: unknown authority '[/x]'")
