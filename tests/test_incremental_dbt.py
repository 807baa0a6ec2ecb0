"""Incremental dbt (issue #11): a refresh where a few sources changed, were added or removed builds only
those reports, yet publishes exactly what a build from empty of the same sources publishes; a change to
the overrides (or the models, the parser) rebuilds everything.

Each test runs the real `disclosure refresh` (through Dagster, real dbt and DuckDB) on generated pages in a
folder, like a user would."""

import json
import os
import re
from pathlib import Path

import duckdb
import pytest

from orchestration.assets import DBT_PROJECT, by_report_models
from orchestration.warehouse.landing import CORRECTION_COLUMNS
from orchestration.warehouse.report_ids import REPORT_TABLES
from tests.corpus import generate
from tests.test_publish_incremental import assert_equals_a_whole_copy
from tests.test_refresh import refresh

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # three to four real refreshes each

# every relation the contract names, the marts and quality views built from them, and the incremental models
RELATIONS = ("marts.dim_report", "marts.fct_metric", "marts.dim_agency", "marts.dim_metric", "quality.rule_results",
             "marts.agency_year", "marts.dim_agency_name", "marts.coverage_gaps", "quality.quarantine",
             "quality.batch_counts", "quality.correction_audit",
             *(f"intermediate.{m}" for m in ("int_corrected_cells", "int_metric_values", "int_report_completeness",
                                             "int_applications_by_applicant", "int_applications_by_row",
                                             "int_active_disclosure", "int_review_litigation", "int_narrative_claims")))
# provenance of when (and how often) a source was landed: differs by construction between the two histories
HISTORY_COLUMNS = {"landed_at", "source_version", "recorded_at", "checked_at"}


def run(folder: Path, root: Path, expect: int = 0, **env: str) -> str:
    environment = {**os.environ, "DAGSTER_HOME": str(root / "dagster_home"), "DISCLOSURE_LOCK_TIMEOUT": "600",
                   "DISCLOSURE_MAX_QUARANTINE_SHARE": "1", **env}
    for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_PARQUET_DIR",
                "DISCLOSURE_WEBHOOKS", "DISCLOSURE_SMTP_HOST", "DISCLOSURE_SOURCES"):
        if var not in env:
            environment.pop(var, None)
    proc = refresh(environment, "--sources", str(folder), "--warehouse", str(root / "wh" / "disclosure.duckdb"))
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc.stdout


def rows(root: Path, relation: str) -> list[tuple]:
    """Every row of ``relation`` in the published file (history columns left out, and the reports of retired
    sources: only a history that listed them has them), sorted."""
    with duckdb.connect(str(root / "wh" / "disclosure.duckdb"), read_only=True) as con:
        schema, name = relation.split(".")
        columns = [c for (c,) in con.execute("select column_name from duckdb_columns() where schema_name = ? "
                                             "and table_name = ? order by column_index", [schema, name]).fetchall()
                   if c not in HISTORY_COLUMNS]
        current = "where gate_status <> 'retired'" if relation == "marts.dim_report" else ""
        data = con.execute(f"select {', '.join(columns)} from {relation} {current}").fetchall()
    return sorted(data, key=repr)


def built_incrementally(root: Path, model: str = "int_corrected_cells") -> bool:
    """Whether the last build of ``model`` was incremental: its compiled SQL reads its own rows."""
    compiled = next((root / "wh" / "work" / "dbt_target" / "compiled").rglob(f"{model}.sql"))
    return "where not exists (select 1 from" in compiled.read_text()


def assert_no_scan_of_held_rows_per_row(root: Path) -> None:
    """No incremental model asks ``x not in (select report_id from <a big table>)``: DuckDB runs it as a mark
    join over every row that table holds, with null semantics (45 s of a 1 %-changed refresh at 100k
    reports for int_metric_values alone); an anti join (``not exists``) takes 0.3 s."""
    logs = (root / "wh" / "work" / "dbt_target").glob("dbt.log*")  # dbt starts a new file every 10 MB
    executed = [json.loads(line)["data"].get("sql") or "" for log in logs for line in log.read_text().splitlines()
                if '"SQLQuery"' in line]
    assert any("not exists (select 1 from" in sql for sql in executed)  # the log holds the statements, hooks too
    for sql in executed:
        assert "not in (select report_id from" not in " ".join(sql.split()), sql


def last_tool_log(root: Path) -> str:
    """The last refresh's tool log: dbt's line per node."""
    return max((root / "wh" / "logs").glob("refresh-*.log"), key=lambda p: p.stat().st_mtime_ns).read_text()


@pytest.fixture(scope="module")
def pages():
    return generate(36, seed=11, inconsistent_share=0.3)


def documents(tmp_path: Path, pages) -> Path:
    """A folder of ``pages``, as a user's documents."""
    folder = tmp_path / "documents"
    folder.mkdir()
    for i, doc in enumerate(pages):
        (folder / f"{i:03d}_{doc.name}").write_bytes(doc.data)
    return folder


def test_a_refresh_with_a_few_sources_changed_added_removed_equals_a_build_from_empty(tmp_path, pages):
    folder = documents(tmp_path, pages[:30])
    incremental = tmp_path / "incremental"
    run(folder, incremental)
    assert not built_incrementally(incremental)  # the first build is full
    docs_page = incremental / "wh" / "dbt_docs" / "static_index.html"
    docs_generated = docs_page.stat().st_mtime_ns

    # changed: new bytes of the same report, another report's content (its verdict may change); added; removed
    changed = sorted(folder.iterdir())
    changed[0].write_bytes(changed[0].read_bytes() + b"\n<!-- changed -->\n")
    changed[1].write_bytes(pages[31].data)
    changed[2].unlink()
    for i, doc in enumerate(pages[32:35]):
        (folder / f"new_{i}_{doc.name}").write_bytes(doc.data)
    run(folder, incremental)
    assert built_incrementally(incremental)
    assert_no_scan_of_held_rows_per_row(incremental)
    assert "OK created sql incremental model marts.fct_metric" in last_tool_log(incremental)  # every phase ran
    assert docs_page.stat().st_mtime_ns == docs_generated  # same dbt project and relations: the docs site stands
    compiled_fct = next((incremental / "wh" / "work" / "dbt_target" / "compiled").rglob("fct_metric_build_reports.sql")).read_text()
    assert "except" in compiled_fct  # fct_metric took only the reports it did not hold as they are

    # the publish updated the previous file (only the changed reports' rows), which equals a whole copy of the work DB
    work_db = incremental / "wh" / "work" / "disclosure.duckdb"
    assert json.loads((work_db.parent / "publish.state.json").read_text())["last"] == "updated"
    assert_equals_a_whole_copy(work_db, incremental / "wh" / "disclosure.duckdb", tmp_path)

    # again: that publish recorded its rows' digests and the build's inputs hold, so in the tables kept by report
    # (landed reports, dbt's by_report models) only the reports added or removed since are hashed (#11)
    changed[3].write_bytes(changed[3].read_bytes() + b"\n<!-- changed again -->\n")
    said = run(folder, incremental)
    hashed = int(re.search(r"; ([\d,]+) rows hashed", said).group(1).replace(",", ""))
    with duckdb.connect(str(work_db), read_only=True) as con:
        count = lambda relation: con.execute(f"select count(*) from {relation}").fetchall()[0][0]  # noqa: E731
        every = sum(count(f'"{s}"."{t}"') for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
        kept = sum(count(r) for r in [*REPORT_TABLES, *by_report_models(DBT_PROJECT.manifest_path)]
                   if con.execute("select count(*) from duckdb_tables() where schema_name || '.' || table_name = ?", [r]).fetchall()[0][0])
    assert every - kept <= hashed < every - kept + kept // 5, (hashed, every, kept)
    assert_equals_a_whole_copy(work_db, incremental / "wh" / "disclosure.duckdb", tmp_path)

    from_empty = tmp_path / "from_empty"
    run(folder, from_empty)
    for relation in RELATIONS:
        assert rows(incremental, relation) == rows(from_empty, relation), relation
    with duckdb.connect(str(incremental / "wh" / "disclosure.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("select gate_status, count(*) from marts.dim_report group by all").fetchall())
    assert statuses.get("retired") == 1 and statuses.get("passed") and statuses.get("quarantined")


def test_changed_overrides_rebuild_every_model(tmp_path, pages):
    folder = documents(tmp_path, pages[:6])
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(",".join(CORRECTION_COLUMNS) + "\n", encoding="utf-8")
    site = tmp_path / "site"
    run(folder, site, DISCLOSURE_CORRECTIONS=str(corrections))
    (folder / "000_extra.html").write_bytes(pages[7].data)
    run(folder, site, DISCLOSURE_CORRECTIONS=str(corrections))
    assert built_incrementally(site)

    with duckdb.connect(str(site / "wh" / "disclosure.duckdb"), read_only=True) as con:
        report_id, metric_key = con.execute("select report_id, metric_key from marts.fct_metric "
                                            "order by report_id, metric_key limit 1").fetchone()
    corrections.write_text(",".join(CORRECTION_COLUMNS) + f"\n{report_id},{metric_key},12345,typo,test\n", encoding="utf-8")
    run(folder, site, DISCLOSURE_CORRECTIONS=str(corrections))
    assert not built_incrementally(site)  # the corrections changed: every model rebuilt
    with duckdb.connect(str(site / "wh" / "disclosure.duckdb"), read_only=True) as con:
        assert con.execute("select value, is_corrected from intermediate.int_metric_values "
                           "where report_id = ? and metric_key = ?", [report_id, metric_key]).fetchone() == (12345, True)


def test_a_report_re_parsed_under_the_same_id_is_rebuilt(tmp_path, seeds_dir):
    """Landing that replaces a report's rows (another parser version, same content) makes the next build full."""
    from tests.warehouse_support import build_warehouse, query, report_from_truth, seed_truths, warehouse_paths

    truth = next(t for t in seed_truths(seeds_dir).values() if t["document_kind"] == "annual_report")
    key = sorted(truth["cells"])[0]
    paths = warehouse_paths(tmp_path / "wh")
    build_warehouse([report_from_truth(truth, content=b"one page")], paths, publish_=False)
    changed = {**truth, "cells": {**truth["cells"], key: truth["cells"][key] + 1}}
    build_warehouse([report_from_truth(changed, content=b"one page", parser_version="truth-2")], paths, publish_=False)
    values = query(paths.work_db, "select value from intermediate.int_metric_values where metric_key = ?", [key])
    assert values["value"].tolist() == [truth["cells"][key] + 1]


def test_an_incremental_build_tests_the_reports_it_adds_and_a_failure_there_fails_it(tmp_path, pages):
    """The data tests of the models kept incremental by report check only the reports the build adds
    (intermediate.int_build_reports), not every row the models hold; a bad row in such a report still fails
    the step, and the build after one that did not complete rebuilds and tests everything."""
    folder = documents(tmp_path, pages[:8])
    site = tmp_path / "site"
    run(folder, site)
    work_db = site / "wh" / "work" / "disclosure.duckdb"
    with duckdb.connect(str(work_db)) as con:
        bad, unchanged = [r for (r,) in con.execute("select distinct report_id from intermediate.int_metric_values "
                                                    "order by 1 limit 2").fetchall()]
        # a duplicate cell, its value null, in a report this build adds (one model lacks it) and in one it leaves as it is
        con.execute("delete from intermediate.int_report_completeness where report_id = ?", [bad])
        for report_id in (bad, unchanged):
            con.execute("insert into intermediate.int_metric_values select * replace (null::double as value) "
                        "from intermediate.int_metric_values where report_id = ? limit 1", [report_id])
    (folder / "zz_new.html").write_bytes(pages[9].data)
    out = run(folder, site, expect=1)
    assert built_incrementally(site)
    tool_log = last_tool_log(site)
    assert "FAIL 1 unique_combination_int_metric_values_report_id__metric_key" in tool_log, out + tool_log
    # one not_null test for the model's columns (not_null_columns), named for them, found the added report's null
    assert "FAIL 1 not_null_int_metric_values__report_id__metric_key__value" in tool_log, out + tool_log
    compiled = next((site / "wh" / "work" / "dbt_target" / "compiled").rglob(
        "unique_combination_int_metric_values_report_id__metric_key.sql")).read_text()
    assert "int_build_reports" in compiled  # only the added reports were tested: the other duplicate is not seen
    with duckdb.connect(str(work_db), read_only=True) as con:
        assert sorted(r for (r,) in con.execute("select report_id from intermediate.int_build_reports").fetchall()
                      if r in (bad, unchanged)) == [bad]

    run(folder, site)  # after a build that did not complete, every model is rebuilt and every row tested
    assert not built_incrementally(site)
    compiled = next((site / "wh" / "work" / "dbt_target" / "compiled").rglob(
        "unique_combination_int_metric_values_report_id__metric_key.sql")).read_text()
    assert "int_build_reports" not in compiled
