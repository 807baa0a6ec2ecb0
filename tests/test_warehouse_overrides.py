"""Maintainer overrides: a waiver releases a quarantined report, a correction makes it pass.

Seed 001 is landed twice under two sources (two reports, same content): one gets a waiver, the
other a correction, so a single build shows both.
"""

from __future__ import annotations

import pandas as pd
import pytest

from extract import parse_document
from orchestration.warehouse.landing import CORRECTION_COLUMNS, WAIVER_COLUMNS, OverrideError, read_overrides, report_id
from tests.warehouse_support import build_warehouse, query, warehouse_paths

WAIVED, CORRECTED = "waived/001.txt", "corrected/001.txt"


UNKNOWN = "0123456789abcdef0123"  # a report_id the warehouse does not hold
CHANGED = "changed/001.txt"  # landed in two versions: a correction of the older takes no effect
TYPO = "R1_balance:legal_servces"  # a waiver of an instance the gate never checks


@pytest.fixture(scope="module")
def built(tmp_path_factory, seeds_dir):
    data = next(seeds_dir.glob("001_*.txt")).read_bytes()
    reports = [parse_document(data, WAIVED), parse_document(data, CORRECTED), parse_document(data, "plain/001.txt"),
               parse_document(data, CHANGED), parse_document(data + b"\n", CHANGED),
               parse_document(next(seeds_dir.glob("000_*.txt")).read_bytes(), "other/000.txt"),
               parse_document(next(seeds_dir.glob("004_*.txt")).read_bytes(), "news/004.txt")]
    waived_id, corrected_id, plain_id, old_id, _, _, news_id = (report_id(r.source, r.content_hash) for r in reports)
    paths = warehouse_paths(
        tmp_path_factory.mktemp("overrides_wh"),
        corrections=f"{corrected_id},applications.total_processed.legal_services,0,"
                    f"(七)总计 has 2 under 法律服务机构 where every row has 0,a maintainer\n"
                    f"{UNKNOWN},applications.granted.total,3,not fetched yet,a maintainer\n"
                    f"{old_id},applications.total_processed.legal_services,0,the page changed since,a maintainer\n",
        waivers=f"{waived_id},*,checked against the signed paper copy,a maintainer\n"
                f"{plain_id},{TYPO},a typo in the instance,a maintainer\n"
                f"{UNKNOWN},*,retired report,a maintainer\n"
                f"{news_id},R1_balance,not a report at all,a maintainer\n",
    )
    result = build_warehouse(reports, paths)
    return paths, waived_id, corrected_id, result


def test_waiver_releases_the_report_and_keeps_the_failures_visible(built):
    paths, waived_id, _, _ = built
    row = query(paths.published, "select gate_status, failed_rules, waived_failures from marts.dim_report "
                                 "where report_id = ?", [waived_id]).iloc[0]
    assert row.gate_status == "passed"
    assert list(row.failed_rules) == []
    assert sorted(row.waived_failures) == [
        "R1_balance:legal_services", "R2_row_total:total_processed", "R3_outcome_total:legal_services"]
    assert query(paths.published, "select count(*) as n from marts.fct_metric where report_id = ?",
                 [waived_id]).n[0] > 0


def test_correction_makes_the_report_pass_with_an_audit_trail(built):
    paths, _, corrected_id, _ = built
    status = query(paths.published, "select gate_status from marts.dim_report where report_id = ?", [corrected_id])
    assert status.gate_status[0] == "passed"
    audit = query(paths.published, "select * from quality.correction_audit where line = 2").iloc[0]
    assert (audit.report_id, audit.metric_key, audit.extracted_value, audit.corrected_value, audit.is_applied) == (
        corrected_id, "applications.total_processed.legal_services", 2, 0, True)
    fact = query(paths.published, "select value, extracted_value, is_corrected from marts.fct_metric "
                                  "where report_id = ? and metric_key = 'applications.total_processed.legal_services'",
                 [corrected_id]).iloc[0]
    assert (fact.value, fact.extracted_value, fact.is_corrected) == (0, 2, True)


def test_the_same_report_without_override_stays_quarantined(built):
    paths, _, _, _ = built
    status = query(paths.published, "select gate_status from marts.dim_report where source_uri = 'plain/001.txt'")
    assert status.gate_status[0] == "quarantined"


def test_overrides_that_take_no_effect_are_warnings_with_file_and_line(built):
    paths, *_, result = built
    warnings = query(paths.published, "select file, line, override, target, problem, message "
                                       "from quality.override_warnings order by file, line")
    assert [(f.split("/")[-1], n, o, t) for f, n, o, t in zip(warnings.file, warnings.line, warnings.override,
                                                              warnings.target)] == [
        ("corrections.csv", 3, "correction", "applications.granted.total"),
        ("corrections.csv", 4, "correction", "applications.total_processed.legal_services"),
        ("waivers.csv", 3, "waiver", TYPO),
        ("waivers.csv", 4, "waiver", "*"),
        ("waivers.csv", 5, "waiver", "R1_balance"),
    ]
    problems = list(warnings.problem)
    assert problems[0].startswith("report not in the warehouse") and problems[3] == problems[0]
    assert problems[1].startswith("report superseded")
    assert problems[2].startswith(f"the gate has no check {TYPO} for this report")
    assert problems[4].startswith("not an annual report")
    assert result.gate["override_warnings"] == list(warnings.message)  # what the run summary prints
    assert result.gate["override_warnings"][0].startswith(f"{paths.corrections_csv}:3: correction ")


def test_warnings_show_in_the_quarantine_and_the_correction_audit(built):
    paths, *_ = built
    held = query(paths.published, "select source_uri, any_value(override_warnings) as warnings from quality.quarantine "
                                  "group by source_uri order by source_uri")
    shown = {uri: list(w) if w is not None else [] for uri, w in zip(held.source_uri, held.warnings)}
    assert [w.split(": ", 1)[0].rsplit("/", 1)[-1] for w in shown[CHANGED]] == ["corrections.csv:4"]
    assert [w.split(": ", 1)[0].rsplit("/", 1)[-1] for w in shown["plain/001.txt"]] == ["waivers.csv:3"]
    audit = query(paths.published, "select line, is_applied, warning from quality.correction_audit order by line")
    assert list(audit.is_applied) == [True, False, False]
    assert pd.isna(audit.warning[0]) and audit.warning[1].startswith("report not in the warehouse")
    assert audit.warning[2].startswith("report superseded")


def test_bad_override_files_are_refused_with_their_line(tmp_path):
    bad = tmp_path / "corrections.csv"
    bad.write_text("report_id,metric_key,corrected_value,reason,corrected_by\n"
                   "abc,applications.granted.total,two,typo,me\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"corrections.csv:2: column corrected_value: 'two' is not a finite"):
        read_overrides(bad, ("report_id", "metric_key", "corrected_value", "reason", "corrected_by"))
    bad.write_text("report_id,metric_key,corrected_value,reason,corrected_by\n"
                   "abc,applications.granted.everyone,1,typo,me\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown metric_key"):
        read_overrides(bad, ("report_id", "metric_key", "corrected_value", "reason", "corrected_by"))
    bad.write_text("report_id,metric_key,corrected_value,reason,corrected_by\n"
                   "abc,applications.granted.total,1,typo,me\n\nabc,applications.granted.total,2,typo,you\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"corrections.csv:4: column metric_key: a second correction .* \(first on line 2\)"):
        read_overrides(bad, ("report_id", "metric_key", "corrected_value", "reason", "corrected_by"))


CORRECTIONS_HEADER = ",".join(CORRECTION_COLUMNS) + "\n"
WAIVERS_HEADER = ",".join(WAIVER_COLUMNS) + "\n"


@pytest.mark.parametrize(("text", "line", "column", "problem"), [
    (CORRECTIONS_HEADER + "abc,applications.granted.total,nan,r,me\n", 2, "corrected_value", "'nan' is not a finite"),
    (CORRECTIONS_HEADER + "abc,applications.granted.total,inf,r,me\n", 2, "corrected_value", "'inf' is not a finite"),
    (CORRECTIONS_HEADER + "\nabc,applications.granted.total,1e400,r,me\n", 3, "corrected_value", "'1e400' is not a finite"),
    (CORRECTIONS_HEADER + "abc,applications.granted.total,1_000,r,me\n", 2, "corrected_value", "'1_000' is not a finite"),
    (CORRECTIONS_HEADER.replace("\n", ",note\n") + "abc,applications.granted.total,1,r,me,x\n", 1, "note",
     "unexpected column(s) 'note'"),
    (CORRECTIONS_HEADER + "abc,applications.granted.total,1,r,me,x\n", 2, "6 (beyond the header)",
     "6 values, the header has 5"),
    (CORRECTIONS_HEADER + "abc,applications.granted.total,1,r\n", 2, "corrected_by", "4 values, the header has 5"),
    ("report_id,metric,corrected_value,reason,corrected_by\n", 1, "metric_key", "missing column(s) metric_key"),
])
def test_malformed_corrections_are_refused_naming_file_line_and_column(tmp_path, text, line, column, problem):
    path = tmp_path / "corrections.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OverrideError) as raised:
        read_overrides(path, CORRECTION_COLUMNS)
    assert isinstance(raised.value, ValueError)
    assert (raised.value.path, raised.value.line, raised.value.column) == (str(path), line, column)
    assert str(raised.value).startswith(f"{path}:{line}: column {column}: ")
    assert problem in str(raised.value)


def test_a_non_utf8_file_is_refused_naming_file_line_and_column(tmp_path):
    path = tmp_path / "waivers.csv"
    path.write_bytes((WAIVERS_HEADER + "abc,*,已核对纸质版,me\n").encode("gbk"))
    with pytest.raises(OverrideError, match=r"waivers.csv:2: column reason: not UTF-8 \(byte 0x"):
        read_overrides(path, WAIVER_COLUMNS)


@pytest.mark.parametrize("rule", ["R9_unknown", "r1_balance", "R1_balance:", "R1"])
def test_a_waiver_of_an_unknown_rule_is_refused(tmp_path, rule):
    path = tmp_path / "waivers.csv"
    path.write_text(WAIVERS_HEADER + f"abc,{rule},why,me\n", encoding="utf-8")
    with pytest.raises(OverrideError, match=rf"waivers.csv:2: column rule: unknown rule '{rule}'"):
        read_overrides(path, WAIVER_COLUMNS)


def test_good_rows_keep_their_line(tmp_path):
    path = tmp_path / "waivers.csv"
    path.write_text("\ufeff" + WAIVERS_HEADER + "abc,*,why,me\n\nabc, R1_balance:legal_services ,why,me\n",
                    encoding="utf-8")
    assert [(r["rule"], r["line"]) for r in read_overrides(path, WAIVER_COLUMNS)] == [
        ("*", 2), ("R1_balance:legal_services", 4)]


def test_a_work_db_from_before_override_lines_gets_the_column(tmp_path):
    """raw.corrections / raw.waivers made before they kept the CSV line are extended, not broken."""
    import duckdb

    from orchestration.warehouse.landing import land

    work_db = tmp_path / "work.duckdb"
    with duckdb.connect(str(work_db)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.waivers (report_id varchar not null, rule varchar not null, "
                    "reason varchar not null, waived_by varchar not null, loaded_from varchar not null)")
    waivers, corrections = tmp_path / "waivers.csv", tmp_path / "corrections.csv"
    waivers.write_text(WAIVERS_HEADER + "abc,*,why,me\n", encoding="utf-8")
    corrections.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    assert land(work_db, [], corrections=corrections, waivers=waivers).waivers == 1
    assert query(work_db, "select report_id, line from raw.waivers").values.tolist() == [["abc", 2]]
