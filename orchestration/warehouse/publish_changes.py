"""An O(change) publish (issue #11): the previous published file, copied, brought to the work DB's rows.

Copying the whole work DB (``COPY FROM DATABASE``) rewrites and recompresses every table each publish,
the largest fixed cost of a refresh where a few reports changed. When the previous published file's
catalog (schemas, tables and columns, views, comments) is the one its last whole copy made and the work
DB's catalog is still the one that copy was made from (the same dbt project and landing), a copy of it
is updated instead: per table, a digest of each report's rows (count and sum of row hashes, grouped by
``report_id``; the whole table for one without it) on both sides names the reports whose rows differ, and
only those rows are deleted and inserted. The result holds exactly the work DB's rows whatever happened
in between (a full dbt refresh, a gate re-run, a reader that wrote rows to the published file): only the
cost depends on how much changed. (The catalogs are compared with those recorded at the whole copy, not
with each other: a copy re-serializes each view's SQL.)

The previous file's side of those digests is read from the record the last publish left
(``publish.digests.duckdb`` beside the work DB: the digests of the rows it published) when the published
file is still the one it wrote (``file_identity``: size, times, inode and DuckDB's headers, whose checkpoint
counter any write that reaches the file changes), instead of hashing every row of the copy again: half
the cost of a publish where few reports changed. Otherwise both sides are hashed, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .db import sql_string

SOURCE, TARGET = "build_source", "build_target"  # the attached work DB and copy, as publish.copy_database names them
# the attached digests of the rows the last publish wrote (read) and of those this one writes (written)
RECORDED, RECORDING = "published_digests", "publish_digests"
DIGESTS_TABLE = "rows"  # relation, report_id (NULL: the whole table), n, h
DUCKDB_HEADERS = 3 * 4096  # DuckDB's main header and its two database headers (with the checkpoint iteration)


def file_identity(path: Path) -> list:
    """What tells a published file from any later write to it: size, modification and change times, inode,
    and a digest of DuckDB's headers (a checkpoint, which any write reaching the file ends with, counts up)."""
    status = path.stat()
    with path.open("rb") as file:
        headers = hashlib.sha256(file.read(DUCKDB_HEADERS)).hexdigest()
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, headers]


@dataclass
class Changes:
    """What ``apply_changes`` did: reports whose rows were replaced per table, tables replaced whole."""

    reports: dict[str, int] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    catalogs: dict[str, dict[str, str]] = field(default_factory=dict)  # both files' catalog_digests after it
    distinct_reports: int = 0  # report_ids whose rows were replaced in any table (a changed page: its old and new id)
    hashed_rows: int = 0  # rows of the work DB hashed to find them (the rest: digests the last publish recorded)

    def summary(self) -> str:
        largest = sorted(self.reports.items(), key=lambda item: (-item[1], item[0]))[:5]
        return (f"{self.distinct_reports} reports' rows replaced in {len(self.reports)} tables"
                + (f" (most: {', '.join(f'{t} {n}' for t, n in largest)})" if largest else "")
                + f", {len(self.tables)} tables replaced whole" + (f" ({', '.join(self.tables)})" if self.tables else "")
                + f"; {self.hashed_rows:,} rows hashed")


def catalog_digests(conn: duckdb.DuckDBPyConnection, database: str) -> dict[str, str]:
    """A digest of the definition of each relation of ``database`` (``schema.name``: columns, types,
    comments, a view's SQL), and under ``""`` of the rest: schemas, indexes, sequences, macros, types."""
    queries = (  # (schema, name) first; name '' for what is not a relation
        "select schema_name, table_name, comment, sql from duckdb_tables() where database_name = ?",
        "select schema_name, table_name, column_index, column_name, data_type, comment, is_nullable, column_default "
        "from duckdb_columns() where database_name = ?",
        "select schema_name, view_name, comment, sql from duckdb_views() where database_name = ? and not internal",
        "select schema_name, '', comment from duckdb_schemas() where database_name = ? and not internal",
        "select schema_name, '', index_name, sql from duckdb_indexes() where database_name = ?",
        "select schema_name, '', sequence_name, sql from duckdb_sequences() where database_name = ?",
        "select schema_name, '', function_name, macro_definition from duckdb_functions() where database_name = ? "
        "and not internal",
        "select schema_name, '', type_name, logical_type from duckdb_types() where database_name = ? and not internal",
    )
    parts: dict[str, list[str]] = {}
    for sql in queries:
        for schema, name, *rest in conn.execute(sql + " order by all", [database]).fetchall():
            parts.setdefault(f"{schema}.{name}" if name else "", []).append(repr(rest))
    return {key: hashlib.sha256("\n".join(rows).encode()).hexdigest() for key, rows in sorted(parts.items())}


def differing(recorded: dict[str, str] | None, now: dict[str, str]) -> list[str]:
    """The relations (``""``: the rest) whose definitions differ between two ``catalog_digests``."""
    recorded = recorded if isinstance(recorded, dict) else {}
    return sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))


def create_tables(conn: duckdb.DuckDBPyConnection, relations: list[str]) -> None:
    """Create in ``build_target`` the tables ``relations`` (``schema.name``) of ``build_source`` that it lacks
    (e.g. ``quality.alert_log``, made by the alerts after the first publish), with their comments, as a whole
    copy creates them; ``apply_changes`` fills them."""
    if not relations:
        return
    conn.execute(f"use {TARGET}")  # the statements name schema.table
    for relation in relations:
        schema, name = relation.split(".", 1)
        (create, comment), = conn.execute("select sql, comment from duckdb_tables() where database_name = ? and "
                                          "schema_name = ? and table_name = ?", [SOURCE, schema, name]).fetchall()
        conn.execute(f'create schema if not exists "{schema}"')
        conn.execute(create)
        if comment is not None:
            conn.execute(f'comment on table "{schema}"."{name}" is {sql_string(comment)}')
        for column, text in conn.execute("select column_name, comment from duckdb_columns() where database_name = ? and "
                                         "schema_name = ? and table_name = ? and comment is not null",
                                         [SOURCE, schema, name]).fetchall():
            conn.execute(f'comment on column "{schema}"."{name}"."{column}" is {sql_string(text)}')
    conn.execute("use memory")


def apply_changes(conn: duckdb.DuckDBPyConnection, recorded: bool = False, stable: Collection[str] = ()) -> Changes:
    """Make ``build_target`` hold ``build_source``'s rows, table by table (their catalogs agree, see above),
    noting the digests of the rows it holds then in ``publish_digests``. ``recorded``: ``published_digests``
    holds those of ``build_target``'s rows (see above), so they are read, not computed. ``stable``: the tables
    (``schema.name``) whose rows under a report_id have not changed since then (``_added_or_removed``)."""
    tables = conn.execute(  # base tables only: a view's rows follow from them
        "select schema_name, table_name, bool_or(column_name = 'report_id') from duckdb_columns() "
        "join duckdb_tables() using (database_name, schema_name, table_name) "
        "where database_name = ? group by all order by all", [SOURCE]).fetchall()
    changes = Changes()
    # noted in a temp table first: one transaction writes one attached file (the copy) besides temp
    conn.execute("create or replace temp table digests (relation varchar, report_id varchar, n bigint, h hugeint)")
    conn.execute("create or replace temp table replaced_reports (report_id varchar)")
    conn.execute("begin")
    try:
        for schema, name, by_report in tables:
            relation = f'"{schema}"."{name}"'
            if by_report and _replace_changed_reports(conn, relation, changes, recorded, f"{schema}.{name}" in stable):
                continue
            conn.execute("delete from digests where relation = ?", [relation])  # its rows per report, if it fell through
            conn.execute(f"insert into digests select ?, null, count(*), sum(hash(t)::hugeint)::hugeint "
                         f"from {SOURCE}.{relation} t", [relation])
            changes.hashed_rows += _digests(conn, "temp", relation)[0][0]
            if _digests(conn, "temp", relation) != (_digests(conn, RECORDED, relation) if recorded else
                                                        _digest(conn, relation, TARGET)):
                conn.execute(f"delete from {TARGET}.{relation}")
                conn.execute(f"insert into {TARGET}.{relation} select * from {SOURCE}.{relation}")
                changes.tables.append(f"{schema}.{name}")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute(f"create table {RECORDING}.{DIGESTS_TABLE} as select * from digests")
    (changes.distinct_reports,) = conn.execute("select count(distinct report_id) from replaced_reports").fetchall()[0]
    return changes


def _digest(conn: duckdb.DuckDBPyConnection, relation: str, database: str) -> list:
    return conn.execute(f"select count(*), sum(hash(t)::hugeint)::hugeint from {database}.{relation} t").fetchall()


def _digests(conn: duckdb.DuckDBPyConnection, database: str, relation: str) -> list:
    """The whole-table digest of ``relation`` recorded in ``database`` (none: an empty list)."""
    table = "digests" if database == "temp" else f"{database}.{DIGESTS_TABLE}"
    return conn.execute(f"select n, h from {table} where relation = ? and report_id is null",
                        [relation]).fetchall()


def _replace_changed_reports(conn: duckdb.DuckDBPyConnection, relation: str, changes: Changes, recorded: bool,
                             stable: bool = False) -> bool:
    """Replace the rows of the reports whose rows differ; False (nothing done) when rows without a
    report_id differ, which only a whole-table replace handles. ``stable``: see ``_added_or_removed``."""
    if not (stable and recorded and _added_or_removed(conn, relation, changes)):
        per_report = ("select report_id, count(*) as n, sum(hash(t)::hugeint)::hugeint as h from {db}.{rel} t "
                      "group by report_id")
        conn.execute(f"insert into digests select ?, * from ({per_report.format(db=SOURCE, rel=relation)})", [relation])
        changes.hashed_rows += conn.execute(f"select count(*) from {SOURCE}.{relation}").fetchall()[0][0]
        target = (f"select report_id, n, h from {RECORDED}.{DIGESTS_TABLE} where relation = $relation" if recorded
                  else per_report.format(db=TARGET, rel=relation))
        conn.execute(f"""
            create or replace temp table changed_reports as
            select coalesce(s.report_id, t.report_id) as report_id
            from (select report_id, n, h from digests where relation = $relation) s
            full join ({target}) t on s.report_id is not distinct from t.report_id
            where s.n is distinct from t.n or s.h is distinct from t.h""", {"relation": relation})
    changed, with_null = conn.execute("select count(*), count(*) - count(report_id) from changed_reports").fetchall()[0]
    if with_null:
        return False
    if changed:
        conn.execute(f"delete from {TARGET}.{relation} where report_id in (select report_id from changed_reports)")
        conn.execute(f"insert into {TARGET}.{relation} select * from {SOURCE}.{relation} "
                     "where report_id in (select report_id from changed_reports)")
        changes.reports[relation.replace('"', "")] = changed
        conn.execute("insert into replaced_reports select report_id from changed_reports")
    return True


def _added_or_removed(conn: duckdb.DuckDBPyConnection, relation: str, changes: Changes) -> bool:
    """For a table whose rows under a ``report_id`` never change (``stable``: landed reports, dbt's models
    kept incremental by report, while the inputs of their last complete build are those of the last publish),
    the reports whose rows differ are those added or removed since the rows the last publish recorded: only
    the added reports' rows are hashed (the cost follows the change), the others' digests carried over. False
    (nothing done) when a side has rows without a report_id: the caller compares every report."""
    recorded = f"(select report_id, n, h from {RECORDED}.{DIGESTS_TABLE} where relation = $relation)"
    conn.execute(f"create or replace temp table held as select distinct report_id from {SOURCE}.{relation}")
    if conn.execute(f"select (select count(*) - count(report_id) from held) + (select count(*) - count(report_id) "
                    f"from {recorded})", {"relation": relation}).fetchall()[0][0]:
        return False
    conn.execute(f"""
        create or replace temp table changed_reports as
        (select report_id from held except select report_id from {recorded})
        union all (select report_id from {recorded} except select report_id from held)""", {"relation": relation})
    conn.execute(f"insert into digests select $relation, report_id, n, h from {recorded} "
                 "where report_id in (select report_id from held)", {"relation": relation})
    conn.execute(f"insert into digests select $relation, report_id, count(*), sum(hash(t)::hugeint)::hugeint "
                 f"from {SOURCE}.{relation} t where report_id in (select report_id from changed_reports) group by report_id",
                 {"relation": relation})
    changes.hashed_rows += conn.execute("select coalesce(sum(n), 0) from digests where relation = $relation and report_id "
                                        "in (select report_id from changed_reports)", {"relation": relation}).fetchall()[0][0]
    return True
