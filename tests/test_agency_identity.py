"""One agency across its years: a generated corpus of one region over three years
(tests/corpus/agency_years.py) through the real landing, dbt, GX gate and DuckDB. Name variants
resolve to the right agencies, W1/W4/W5 fire exactly where the corpus breaks them, coverage gaps
are listed, what the rule cannot merge is listed for review, and a maintainer's merge joins a renamed body."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from orchestration.warehouse.landing import report_id
from tests.corpus.agency_years import (AGENCIES_AFTER_MERGE, AGENCIES_BY_RULE, BODIES, LATE, MERGE,
                                       agency_year_truths)
from tests.warehouse_support import REPO, build_warehouse, query, report_from_truth, warehouse_paths

CROSS_YEAR = ("W1_continuity", "W4_in_force", "W5_timeliness")
SPLIT = "厦门市发改委"  # a maintainer says it is not 厦门市发展和改革委员会


def _build(root: Path, overrides: str) -> tuple[Path, list]:
    """The corpus built into a work DB under ``root`` with these agency overrides (CSV lines)."""
    cases = agency_year_truths()
    overrides_csv = root / "agency_identity.csv"
    root.mkdir(parents=True, exist_ok=True)
    overrides_csv.write_text("agency_name,action,same_as,reason,decided_by\n" + overrides, encoding="utf-8")
    paths = warehouse_paths(root, agency_overrides=overrides_csv)
    reports = [report_from_truth(truth, source=source) for source, truth, _, _ in cases]
    build_warehouse(reports, paths, publish_=False)
    ids = {source: report_id(source, r.content_hash) for (source, *_), r in zip(cases, reports)}
    return paths.work_db, [(ids[source], *rest) for source, *rest in cases]


@pytest.fixture(scope="module")
def by_rule(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("agency_rule"),  # lines that cannot apply: audited, skipped
                  "某某局,merge,厦门市集美区人民政府,no document names it,test\n"
                  "集美区统计局,split,,first thought,test\n"  # superseded by the next line, which cannot apply
                  "集美区统计局,rename,,a typo,test\n")


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("agency_merge"),
                  f"{MERGE[0]},merge,{MERGE[1]},机构改革更名,test\n{SPLIT},split,,not the same body,test\n")


def _agency_of(db: Path) -> dict[str, str]:
    frame = query(db, "select agency_name, agency_id from marts.dim_agency_name")
    return dict(zip(frame.agency_name, frame.agency_id))


def test_name_variants_resolve_to_one_agency_per_body(by_rule):
    db, _ = by_rule
    agency_of = _agency_of(db)
    assert query(db, "select count(*) as n from marts.dim_agency").n[0] == AGENCIES_BY_RULE
    ids = {}
    for body in BODIES:
        names = set(body.names.values())
        if body.key == "street":
            names.discard("杏林街道办事处")  # names no region: stays apart
        if body.key == "urban":
            names.discard(MERGE[0])  # renamed: stays apart until a maintainer merges it
        assert len({agency_of[n] for n in names}) == 1, body.key
        ids[body.key] = agency_of[next(iter(names))]
    assert len(set(ids.values())) == len(BODIES)  # different bodies never merge (集美区发改局 / 厦门市发改委)


def test_dim_agency_has_division_kind_and_variants(by_rule):
    db, _ = by_rule
    frame = query(db, """select agency_name, province, city, county, township, division_code, agency_kind,
                                name_variants from marts.dim_agency""")
    rows = {name: row for name, row in zip(frame.agency_name, frame.itertuples())}
    office = rows["集美区府办"]  # the name its latest report uses
    assert (office.province, office.city, office.county, office.division_code, office.agency_kind) == (
        "福建省", "厦门市", "集美区", "350211", "government_office")
    assert sorted(office.name_variants) == sorted(BODIES[0].names.values())
    assert rows["集美区政府"].agency_kind == "government"
    assert rows["厦门市发展和改革委员会"].division_code == "350200"
    assert rows["厦门市发展和改革委员会"].county != rows["厦门市发展和改革委员会"].county  # NULL: a city body
    street = rows["厦门市集美区杏林街道办事处"]
    assert (street.agency_kind, street.township, street.division_code) == ("township", "杏林街道", "350211")
    assert rows["集美区统计局"].agency_kind == "department"


def _soft_failures(db: Path) -> dict[str, list[str]]:
    frame = query(db, "select report_id, rule, instance from quality.rule_results where not passed and severity = 'soft'")
    failures = defaultdict(list)
    for rid, rule, instance in zip(frame.report_id, frame.rule, frame.instance):
        if rule in CROSS_YEAR:
            failures[rid].append(f"{rule}:{instance}")
    return failures


def test_cross_year_rules_fire_exactly_where_the_corpus_breaks_them(by_rule):
    db, cases = by_rule
    failures = _soft_failures(db)
    for rid, _, body, expected in cases:
        assert sorted(failures.get(rid, [])) == sorted(expected), (body, rid)
    statuses = set(query(db, "select gate_status from marts.dim_report").gate_status)
    assert statuses == {"passed"}  # soft rules warn, never quarantine


def test_w1_and_w4_compare_across_name_variants(by_rule):
    db, cases = by_rule
    source_of = {rid: (body, truth["year"]) for rid, truth, body, _ in cases}
    w1 = query(db, "select report_id, agency_name, previous_agency_name, carried_over_total, "
                   "previous_carried_forward_total from intermediate.int_continuity")
    row = w1[[source_of[r] == ("development", 2022) for r in w1.report_id]].iloc[0]
    assert (row.agency_name, row.previous_agency_name) == ("厦门市集美区发改局", "集美区发展和改革局")
    assert row.carried_over_total == row.previous_carried_forward_total + 3
    checked = {source_of[r] for r in query(db, "select report_id from quality.rule_results "
                                               "where rule = 'W4_in_force'").report_id}
    expected = {(b.key, y) for b in BODIES for y in b.names if y - 1 in b.names}
    expected -= {("street", 2023), ("urban", 2023)}  # variants the rule left apart: no previous year
    assert checked == expected


def test_timeliness_uses_the_deadline_of_the_agency_kind(by_rule):
    db, cases = by_rule
    source_of = {rid: (body, truth["year"]) for rid, truth, body, _ in cases}
    frame = query(db, "select report_id, lhs, passed from quality.rule_results where rule = 'W5_timeliness'")
    late = {source_of[r]: (None if lhs != lhs else lhs) for r, lhs, ok in zip(frame.report_id, frame.lhs, frame.passed)
            if not ok}
    assert late == LATE  # the government's March reports are on time; a department's February one is not


def test_coverage_lists_last_years_publishers_without_a_report(by_rule, merged):
    gaps = query(by_rule[0], "select agency_name, year, last_report_year, division_code from marts.coverage_gaps")
    assert sorted(zip(gaps.agency_name, gaps.year)) == [
        ("厦门市集美区杏林街道办事处", 2023), ("集美区城市管理局", 2023), ("集美区统计局", 2023)]
    assert set(gaps.division_code) == {"350211"}
    after = query(merged[0], "select agency_name, year from marts.coverage_gaps")
    assert sorted(zip(after.agency_name, after.year)) == [  # the merge closes a gap, the split opens one
        ("厦门市发展和改革委员会", 2022), ("厦门市发改委", 2023), ("厦门市集美区杏林街道办事处", 2023),
        ("集美区统计局", 2023)]


def test_variants_the_rule_cannot_merge_are_listed_for_review(by_rule):
    db, _ = by_rule
    review = query(db, "select agency_name, reason, similar_to from quality.agency_review")
    listed = set(zip(review.agency_name, review.reason))
    assert ("杏林街道办事处", "no_region") in listed
    assert (MERGE[0], "similar_name") in listed and (MERGE[1], "similar_name") in listed
    audit = query(db, "select agency_name, is_applied, problem from quality.agency_override_audit order by override_line")
    assert list(zip(audit.agency_name, audit.is_applied, audit.problem)) == [
        ("某某局", False, "no landed document names this agency"),
        ("集美区统计局", False, "a later line for the same agency_name wins"),
        ("集美区统计局", False, "action must be merge or split")]
    resolved = query(db, "select agency_name, resolved_by from marts.dim_agency_name")
    assert dict(zip(resolved.agency_name, resolved.resolved_by))["集美区统计局"] == "rule"  # the last line decides


def test_maintainer_merge_joins_a_renamed_body_and_split_parts_two(merged, by_rule):
    db, cases = merged
    agency_of = _agency_of(db)
    assert query(db, "select count(*) as n from marts.dim_agency").n[0] == AGENCIES_AFTER_MERGE + 1  # + the split
    assert agency_of[MERGE[0]] == agency_of[MERGE[1]] == _agency_of(by_rule[0])[MERGE[1]]  # the target keeps its id
    assert agency_of[SPLIT] != agency_of["厦门市发展和改革委员会"] == _agency_of(by_rule[0])["厦门市发展和改革委员会"]
    audit = query(db, "select agency_name, is_applied, agency_id_by_rule, agency_id from quality.agency_override_audit "
                      "order by override_line")
    merge = audit.iloc[0]
    assert audit.is_applied.all() and merge.agency_id_by_rule != merge.agency_id == agency_of[MERGE[1]]
    resolved = query(db, "select agency_name, resolved_by from marts.dim_agency_name")
    assert dict(zip(resolved.agency_name, resolved.resolved_by))[SPLIT] == "override_split"
    urban_2023 = next(rid for rid, truth, body, _ in cases if (body, truth["year"]) == ("urban", 2023))
    checks = query(db, "select rule, passed from quality.rule_results where report_id = ? and rule in "
                       "('W1_continuity', 'W4_in_force')", [urban_2023])
    assert len(checks) == 3 and checks.passed.all()  # now compared with 2022, and it carries over
    years = query(db, "select year from marts.agency_year where agency_id = ? order by year", [agency_of[MERGE[1]]])
    assert list(years.year) == [2021, 2022, 2023]  # one line in a chart


def test_agency_year_is_one_line_per_body_across_name_variants(by_rule):
    db, _ = by_rule
    agency_of = _agency_of(db)
    frame = query(db, "select year, agency_name from marts.agency_year where agency_id = ? order by year",
                  [agency_of["厦门市集美区发改局"]])
    assert list(frame.year) == [2021, 2022, 2023]
    assert set(frame.agency_name) == {"集美区发展改革局"}  # dim_agency's name: the latest variant


def test_admin_divisions_seed_is_the_gbt2260_list():
    with (REPO / "dbt_project" / "seeds" / "admin_divisions.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    official = [r for r in rows if r["division_level"] != "zone"]
    assert 3000 < len(official) < 3500
    assert all(len(r["division_code"]) == 6 and r["division_code"].isdigit() for r in rows)
    assert len({r["division_code"] for r in official}) == len(official)
    code = {(r["division_level"], r["division_name"], r["city"]): r["division_code"] for r in official}
    assert code[("county", "集美区", "厦门市")] == "350211"
    assert code[("city", "厦门市", "厦门市")] == "350200"
    assert code[("province", "湖北省", "")] == "420000"
    counties = [r for r in official if r["division_level"] == "county" and r["province"] != r["city"]]
    city_code = {(r["province"], r["city"]): r["division_code"] for r in official if r["division_level"] == "city"}
    assert all(r["division_code"][:4] == city_code[(r["province"], r["city"])][:4] for r in counties)


def test_a_changed_agency_override_changes_the_inputs_fingerprint(tmp_path):
    """An incremental refresh with only agency_identity.csv changed must rebuild, not skip dbt."""
    from orchestration.assets import inputs_fingerprint

    overrides = tmp_path / "agency_identity.csv"
    paths = warehouse_paths(tmp_path, agency_overrides=overrides)
    load: list[dict] = []  # no sources: only the override file differs
    overrides.write_text("agency_name,action,same_as,reason,decided_by\n", encoding="utf-8")
    before = inputs_fingerprint(load, paths, "1")
    overrides.write_text(f"agency_name,action,same_as,reason,decided_by\n{MERGE[0]},merge,{MERGE[1]},更名,test\n",
                         encoding="utf-8")
    assert inputs_fingerprint(load, paths, "1") != before
