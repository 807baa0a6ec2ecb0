"""The O(change) publish (issue #11): a publish after a few reports changed updates a copy of the previous
published file instead of copying the whole work DB, and the file it publishes equals a whole copy row for
row, whatever changed in between; anything beyond rows (a view, a column, the storage version) is copied
whole. The end-to-end case (a real refresh with 1 % changed) is in tests/test_incremental_dbt.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.publish import copy_database, publish

STORAGE = "v1.0.0"


def make_work_db(path: Path, reports: int = 50) -> Path:
    """A small work DB shaped like the real one: report tables, a table without report_id, a view, comments."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts; create schema raw; create schema reference; create schema quality")
        conn.execute(f"create table marts.dim_report as select 'r' || range as report_id, range % 7 as year, "
                     f"['a', 'b'] as failed_rules from range({reports})")
        conn.execute(f"create table marts.fct_metric as select 'r' || (range // 4) as report_id, 'm' || (range % 4) "
                     f"as metric_key, range * 1.5 as value from range({reports * 4})")
        conn.execute("create table raw.cells as select report_id, metric_key, value::varchar as raw_text from marts.fct_metric")
        conn.execute("create table reference.metric_dictionary as select 'm' || range as metric_key, range as max_value "
                     "from range(4)")
        conn.execute("create view marts.report_years as select year, count(*) as n from marts.dim_report group by year")
        conn.execute("create view marts.report_metrics as select report_id, count(*) as n from marts.fct_metric group by all")
        conn.execute("comment on table marts.fct_metric is '指标 / metrics'")
        conn.execute("comment on column marts.fct_metric.value is '数值 / value'")
    return path


def change_a_few_reports(work: Path) -> None:
    """What an incremental refresh does to the work DB: reports added, removed and changed, a small
    table rebuilt with one value changed."""
    with duckdb.connect(str(work)) as conn:
        conn.execute("delete from marts.fct_metric where report_id in ('r1', 'r2')")
        conn.execute("delete from raw.cells where report_id = 'r1'")
        conn.execute("delete from marts.dim_report where report_id = 'r1'")
        conn.execute("insert into marts.dim_report values ('new1', 3, []), ('new2', 4, ['c'])")
        conn.execute("insert into marts.fct_metric values ('new1', 'm0', 7), ('new1', 'm1', 8), ('r2', 'm0', 9)")
        conn.execute("insert into raw.cells values ('new1', 'm0', '7'), ('new1', 'm0', '7')")  # a duplicate row too
        conn.execute("update marts.dim_report set failed_rules = ['z'] where report_id = 'r5'")
        conn.execute("update reference.metric_dictionary set max_value = 99 where metric_key = 'm2'")


def tables(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as conn:
        names = conn.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        return {f"{s}.{n}": sorted(conn.execute(f'select * from "{s}"."{n}"').fetchall(), key=repr) for s, n in names}


def definitions(db: Path) -> list:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("select schema_name, table_name, column_name, data_type, comment, is_nullable, column_default "
                            "from duckdb_columns() order by all").fetchall() + conn.execute(
            "select schema_name, table_name, comment, sql from duckdb_tables() order by all").fetchall() + conn.execute(
            "select schema_name, view_name, sql from duckdb_views() where not internal order by all").fetchall()


def assert_equals_a_whole_copy(work: Path, published: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.duckdb"
    whole.unlink(missing_ok=True)
    copy_database(work, whole, STORAGE)
    assert tables(published) == tables(whole)
    assert definitions(published) == definitions(whole)
    with duckdb.connect(str(published), read_only=True) as conn:  # a BI reader queries every view as before
        for schema, view in conn.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall():
            conn.execute(f'select count(*) from "{schema}"."{view}"').fetchall()


def last_publish(work: Path) -> str:
    return json.loads((work.parent / "publish.state.json").read_text())["last"]


def test_a_few_changed_reports_update_the_previous_file_to_equal_a_whole_copy(tmp_path):
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE)
    assert last_publish(work) == "copied"  # nothing to start from
    change_a_few_reports(work)
    with duckdb.connect(str(work)) as conn:  # what the alerts create after the first publish
        conn.execute("create table quality.alert_log (report_id varchar not null, rule varchar default 'x')")
        conn.execute("insert into quality.alert_log values ('r3', 'R1'), ('r4', null)")
        conn.execute("comment on table quality.alert_log is 'alerted'")
        conn.execute("comment on column quality.alert_log.rule is '规则 / rule'")
    said: list[str] = []
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert last_publish(work) == "updated", said
    assert any("new tables: quality.alert_log" in m for m in said), said
    assert any("updated a copy of the previous file" in m and "reference.metric_dictionary" in m for m in said), said
    # each report counted once however many tables hold its rows (r1, r2, r5, new1, new2 and the alerted r3, r4)
    assert any("7 reports' rows replaced in 4 tables (most: marts.dim_report 4, marts.fct_metric 3, quality.alert_log 2, "
               "raw.cells 2)" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select tags['storage_version'] from duckdb_databases() "
                            "where database_name = current_database()").fetchall()[0][0].startswith(STORAGE)
        assert conn.execute("select sum(n) from marts.report_years").fetchall() == \
            conn.execute("select count(*) from marts.dim_report").fetchall()

    # nothing changed since: the file is published again as it is
    said.clear()
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("0 reports' rows replaced in 0 tables, 0 tables replaced whole" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_rows_a_reader_wrote_into_the_published_file_are_undone(tmp_path):
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE)
    with duckdb.connect(str(published)) as conn:  # a reader that opened it read-write (DuckDB's default)
        conn.execute("insert into marts.dim_report values ('stray', 1, [])")
        conn.execute("delete from marts.fct_metric where report_id = 'r3'")
        conn.execute("update reference.metric_dictionary set max_value = -1")
    publish(work, published, storage_version=STORAGE)
    assert last_publish(work) == "updated"
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_an_update_reads_the_rows_the_last_publish_recorded_unless_the_file_was_written_since(tmp_path):
    """The previous file's rows are not hashed again when it is the file the last publish wrote: that publish
    recorded their digests; a reader's write to it (a checkpoint) makes the next publish hash them again."""
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE)
    said: list[str] = []
    publish(work, published, log=said.append, storage_version=STORAGE)  # the first update hashes both sides
    assert any("(its rows hashed)" in m for m in said), said
    change_a_few_reports(work)
    said.clear()
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("(its rows as the last publish recorded them)" in m and "tables replaced whole (reference.metric_dictionary)"
               in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)

    with duckdb.connect(str(published)) as conn:  # a reader that opened it read-write, the sizes unchanged
        conn.execute("update marts.dim_report set year = year + 1 where report_id = 'r7'")
        conn.execute("update reference.metric_dictionary set max_value = -1 where metric_key = 'm0'")
    said.clear()
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("(its rows hashed)" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)
    said.clear()
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("(its rows as the last publish recorded them): 0 reports' rows replaced in 0 tables" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_a_changed_definition_or_storage_version_is_copied_whole(tmp_path):
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE)
    with duckdb.connect(str(work)) as conn:  # a changed model (dbt project) and a new column (landing)
        conn.execute("create or replace view marts.report_years as select year, count(*) as n, 1 as version "
                     "from marts.dim_report group by year")
        conn.execute("alter table raw.cells add column page integer")
    said: list[str] = []
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert last_publish(work) == "copied" and any("copying the whole database" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select max(version) from marts.report_years").fetchall() == [(1,)]

    publish(work, published, storage_version=STORAGE)
    assert last_publish(work) == "updated"
    publish(work, published, storage_version="v1.2.0")  # another storage format: every block is rewritten
    assert last_publish(work) == "copied"
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select tags['storage_version'] from duckdb_databases() "
                            "where database_name = current_database()").fetchall()[0][0].startswith("v1.2.0")


def test_a_work_db_made_in_the_published_format_is_published_as_its_bytes(tmp_path):
    """From empty there is nothing to update: a work DB already in the published storage format (the refresh
    makes it so: ``create_database``) is copied byte for byte, not re-encoded table by table; one in another
    format, or mostly free blocks, is still copied relation by relation (re-encoded, compacted)."""
    from orchestration.warehouse.db import create_database

    work, published = tmp_path / "work" / "w.duckdb", tmp_path / "wh" / "disclosure.duckdb"
    create_database(work, STORAGE)
    make_work_db(work)
    said: list[str] = []
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("copied the work DB's file whole" in m for m in said), said
    assert published.read_bytes() == work.read_bytes()
    assert last_publish(work) == "copied"
    assert_equals_a_whole_copy(work, published, tmp_path)
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select tags['storage_version'] from duckdb_databases() "
                            "where database_name = current_database()").fetchall()[0][0].startswith(STORAGE)
    change_a_few_reports(work)  # the next publish updates that copy as it updates any other
    publish(work, published, storage_version=STORAGE)
    assert last_publish(work) == "updated"
    assert_equals_a_whole_copy(work, published, tmp_path)

    said.clear()
    published.unlink()
    publish(work, published, log=said.append, storage_version="v1.2.0")  # not the work DB's format
    assert any("copied the work DB's relations whole into storage version v1.2.0" in m for m in said), said

    with duckdb.connect(str(work)) as conn:  # space a dropped table left: compacted, not copied
        conn.execute("create table raw.scratch as select range as i, md5(range::varchar) as s from range(300000)")
        conn.execute("checkpoint")
        conn.execute("drop table raw.scratch")
        conn.execute("checkpoint")
    said.clear()
    published.unlink()
    publish(work, published, log=said.append, storage_version=STORAGE)
    assert any("copied the work DB's relations whole into storage version" in m for m in said), said
    assert published.stat().st_size < work.stat().st_size
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_the_parquet_export_rewrites_only_the_years_that_changed(tmp_path):
    from orchestration.warehouse.export import export_parquet

    work = make_work_db(tmp_path / "work" / "w.duckdb")
    with duckdb.connect(str(work)) as conn:
        conn.execute("insert into marts.dim_report values ('no_year', null, [])")
    published, parquet = tmp_path / "wh" / "disclosure.duckdb", tmp_path / "parquet"
    publish(work, published, parquet_dir=parquet, storage_version=STORAGE)
    folder = parquet / "marts.dim_report"
    inodes = {p.relative_to(folder): p.stat().st_ino for p in folder.rglob("*.parquet")}
    assert len(inodes) == 8  # years 0 to 6 and the rows without one
    assert all(p.name.startswith("year=") for p in folder.iterdir())  # the folder holds the years alone

    with duckdb.connect(str(work)) as conn:  # year 5 changes (r5 is in it), the rest stands
        conn.execute("update marts.dim_report set failed_rules = ['z'] where report_id = 'r5'")
    publish(work, published, parquet_dir=parquet, storage_version=STORAGE)
    now = {p.relative_to(folder): p.stat().st_ino for p in folder.rglob("*.parquet")}
    assert now.keys() == inodes.keys()
    assert {str(p.parent) for p in now if now[p] != inodes[p]} == {"year=5"}  # only that year was written again

    whole = tmp_path / "whole"
    export_parquet(published, whole)
    with duckdb.connect() as conn:
        def read(path: Path) -> list:
            return sorted(conn.execute(f"select * from read_parquet('{path}/**/*.parquet', hive_partitioning = true)")
                          .fetchall(), key=repr)
        assert read(folder) == read(whole / "marts.dim_report")
        assert len(read(folder)) == 51


def test_a_state_cut_short_by_a_crash_means_a_whole_copy(tmp_path):
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE)
    state = work.parent / "publish.state.json"
    state.write_text(state.read_text()[:20])  # killed while writing it
    publish(work, published, storage_version=STORAGE)
    assert last_publish(work) == "copied"
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_the_publish_copies_within_its_memory_limit(tmp_path):
    """The copy runs under DISCLOSURE_DUCKDB_MEMORY's limit (unlimited, DuckDB took 4.7 GB publishing 100k
    reports): a limit far too small fails the publish, the published file stays as it was, and a modest one
    is enough, spilling beside the work DB."""
    work, published = make_work_db(tmp_path / "work" / "w.duckdb", reports=200_000), tmp_path / "wh" / "disclosure.duckdb"
    publish(work, published, storage_version=STORAGE, memory_limit="64MB")
    before = tables(published)
    change_a_few_reports(work)
    (work.parent / "publish.state.json").unlink()  # a whole copy again
    with pytest.raises(duckdb.OutOfMemoryException):
        publish(work, published, storage_version=STORAGE, memory_limit="1MB")
    assert tables(published) == before
    publish(work, published, storage_version=STORAGE, memory_limit="64MB")
    assert_equals_a_whole_copy(work, published, tmp_path)


def test_tables_kept_by_report_hash_only_the_reports_added_while_the_build_inputs_hold(tmp_path):
    """A 1 % publish costs 1 % (issue #11): in a table whose rows under a report_id never change (landed
    reports, dbt's models kept incremental by report) only the reports added since the last publish are
    hashed, while the inputs of the last complete dbt build are those of the last publish; other inputs
    (a correction, a new parser) compare every report again."""
    work, published = make_work_db(tmp_path / "work" / "w.duckdb"), tmp_path / "wh" / "disclosure.duckdb"
    record = work.parent / "dbt_built.inputs.sha256"  # landing.dbt_build_record: the last complete build's inputs
    record.write_text("inputs-1")
    publish(work, published, storage_version=STORAGE, by_report=["raw.cells"])
    publish(work, published, storage_version=STORAGE, by_report=["raw.cells"])  # records the rows' digests
    change_a_few_reports(work)  # raw.cells: r1 removed, new1 added (2 rows)
    said: list[str] = []
    publish(work, published, log=said.append, storage_version=STORAGE, by_report=["raw.cells"])
    with duckdb.connect(str(work), read_only=True) as conn:
        others = conn.execute("select (select count(*) from marts.dim_report) + (select count(*) from marts.fct_metric) "
                              "+ (select count(*) from reference.metric_dictionary)").fetchall()[0][0]
    assert any(f"; {others + 2:,} rows hashed" in m and "raw.cells 2" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)

    with duckdb.connect(str(work)) as conn:  # a new correction: rows change under their report_id
        conn.execute("update raw.cells set raw_text = 'corrected' where report_id = 'r3'")
    record.write_text("inputs-2")
    said.clear()
    publish(work, published, log=said.append, storage_version=STORAGE, by_report=["raw.cells"])
    with duckdb.connect(str(work), read_only=True) as conn:
        cells = conn.execute("select count(*) from raw.cells").fetchall()[0][0]
    assert any(f"; {others + cells:,} rows hashed" in m and "raw.cells 1" in m for m in said), said
    assert_equals_a_whole_copy(work, published, tmp_path)
