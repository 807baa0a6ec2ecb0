"""Landing parsed reports and fetch records in the ``raw`` schema of the work DB, in bulk.

A report is keyed by ``report_id`` = a hash of (source, content hash): the same page landed twice
changes nothing; the same page re-parsed by a new parser version replaces its cells, issues and
narrative claims; new content of a known source lands as its next ``source_version``.

Which report is current is not decided by versions but by ``raw.sources``: per source, the content
its latest fetch found (so a page reverted to earlier content shows that content again, and two
sources with the same bytes each have their report), and whether the manifest still lists it (a
source that left it is retired: its reports stay in raw history, the marts show them as retired).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain, repeat
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from expectations.rules import RULES_BY_NAME
from extract.model import ParsedReport
from extract.template import metric_by_key

from .db import connect, relation_exists, scalar
from .report_ids import migrate, report_id, resolve_aliases
from .report_rows import CELL_COLUMNS, CLAIM_COLUMNS, DOCUMENT_COLUMNS, ISSUE_COLUMNS, ReportRows, report_rows

SCHEMA_SQL = """
create schema if not exists raw;
create table if not exists raw.documents (
    report_id varchar primary key, source_uri varchar not null, content_hash varchar not null,
    source_version integer not null, parser_version varchar not null, document_kind varchar not null,
    template_version varchar, agency varchar, year integer, published varchar, index_no varchar,
    doc_no varchar, title varchar, encoding varchar, input_format varchar,
    n_cells integer not null, n_issues integer not null, n_errors integer not null,
    landed_at timestamp not null
);
create table if not exists raw.cells (
    report_id varchar not null, metric_key varchar not null, value double not null, raw_text varchar,
    blank boolean not null, filled boolean not null, table_index integer, row_index integer,
    col_index integer, row_label varchar, col_label varchar, page integer, bbox double[]
);
create table if not exists raw.issues (
    report_id varchar not null, issue_seq integer not null, code varchar not null,
    severity varchar not null, table_key varchar, metric_key varchar, message varchar
);
create table if not exists raw.claims (
    report_id varchar not null, claim_seq integer not null, metric_key varchar not null,
    stated_value double not null, raw_text varchar not null, line integer
);
create table if not exists raw.fetches (
    fetch_id varchar primary key, source_uri varchar not null, final_url varchar, fetched_at varchar,
    status varchar, http_status integer, content_hash varchar, headers varchar, error varchar,
    landed_at timestamp not null
);
create table if not exists raw.sources (
    source_uri varchar primary key, content_hash varchar, fetch_status varchar, fetch_error varchar,
    listing varchar, listed boolean not null, recorded_at timestamp not null
);
create table if not exists raw.parse_failures (
    source_uri varchar not null, content_hash varchar not null, parser_version varchar not null,
    error varchar not null, landed_at timestamp not null,
    primary key (source_uri, content_hash, parser_version)
);
create table if not exists raw.corrections (
    report_id varchar not null, metric_key varchar not null, corrected_value double not null,
    reason varchar not null, corrected_by varchar not null, loaded_from varchar not null, line integer
);
create table if not exists raw.waivers (
    report_id varchar not null, rule varchar not null, reason varchar not null,
    waived_by varchar not null, loaded_from varchar not null, line integer
);
-- warehouses made before overrides kept their CSV line
alter table raw.corrections add column if not exists line integer;
alter table raw.waivers add column if not exists line integer;
-- warehouses made before PDF cells kept their page and box (x0, top, x1, bottom in points)
alter table raw.cells add column if not exists page integer;
alter table raw.cells add column if not exists bbox double[];
-- warehouses made before attachments were followed: the report page that linked a source (null: none)
alter table raw.sources add column if not exists page varchar;
"""

# A work DB landed before raw.sources existed: each source's highest landed version is its current content.
BACKFILL_SOURCES_SQL = """
insert into raw.sources by name
select source_uri, content_hash, null as fetch_status, null as fetch_error, null as listing, true as listed,
    landed_at as recorded_at
from raw.documents
qualify row_number() over (partition by source_uri order by source_version desc) = 1
"""
SOURCE_COLUMNS = ("source_uri", "content_hash", "fetch_status", "fetch_error", "listing", "page")

CORRECTION_COLUMNS = ("report_id", "metric_key", "corrected_value", "reason", "corrected_by")
WAIVER_COLUMNS = ("report_id", "rule", "reason", "waived_by")


@dataclass
class LandingStats:
    """What one landing did."""

    received: int = 0  # reports handed in
    new: int = 0  # reports never landed before (new sources or new versions)
    new_versions: int = 0  # of which: changed content of a source already known
    retired: int = 0  # sources with content that left the manifest with this landing (their reports leave the marts)
    reparsed: int = 0  # same content, new parser version: cells and issues replaced
    unchanged: int = 0  # same content, same parser version: nothing to do
    cells: int = 0  # cells written
    issues: int = 0  # issues written
    fetches: int = 0  # new fetch records
    parse_failures: int = 0  # documents the parser failed on
    corrections: int = 0  # correction rows loaded
    waivers: int = 0  # waiver rows loaded
    rekeyed: int = 0  # reports of an older work DB given their checkout-independent report_id
    transactions: int = 0  # commits: one per chunk of parsed documents, and the last with fetches and sources


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    had_sources = relation_exists(conn, "raw", "sources")
    conn.execute(SCHEMA_SQL)
    if not had_sources:
        conn.execute(BACKFILL_SOURCES_SQL)


def land(
    work_db: Path,
    reports: Iterable[ParsedReport],
    fetches: Iterable[Mapping] = (),
    corrections: Path | None = None,
    waivers: Path | None = None,
    failures: Iterable[Mapping] = (),
    sources: Iterable[Mapping] | None = None,
    root: Path | None = None,
) -> LandingStats:
    """Land reports (documents, cells, issues), fetch records and the override CSVs, in one transaction.

    ``failures`` are documents the parser could not handle at all (dicts: source_uri, content_hash,
    parser_version, error): kept in ``raw.parse_failures`` with their reason, counted by the batch gate.

    ``sources`` is the current load (``current_load``: every source of the manifest with its current
    content): it decides each source's current report, and sources missing from it are retired.
    Without it (callers landing reports directly), each landed report or failure becomes its
    source's current content and nothing is retired.

    ``corrections`` / ``waivers`` default to ``dbt_project/overrides/*.csv`` (WarehouseResource
    passes the configured ones). A large batch lands through ``Landing`` in chunks instead.

    ``root``: the manifest's folder; local sources in it are keyed relative to it (``report_ids``), and
    reports a work DB keyed by their absolute path are re-keyed first.
    """
    with Landing(work_db, corrections, waivers, root) as landing:
        return landing.finish(fetches, sources, map(report_rows, reports), failures)


class Landing:
    """One landing in steps, on one connection: ``chunk()`` lands a chunk of parsed reports and parse
    failures in a transaction of its own (so a refresh holds one chunk in memory, not the batch), and
    ``finish()`` lands the fetch records, the current load and the overrides. A run stopped between
    chunks loses nothing: what landed counts as parsed, and the next run lands the rest."""

    def __init__(self, work_db: Path, corrections: Path | None = None, waivers: Path | None = None,
                 root: Path | None = None):
        from .config import WarehousePaths

        if corrections is None or waivers is None:
            paths = WarehousePaths.beside()
            corrections = corrections or paths.corrections_csv
            waivers = waivers or paths.waivers_csv
        self.corrections, self.waivers = corrections, waivers
        # read first: a malformed override refuses the landing before anything is written
        self.correction_rows = read_overrides(corrections, CORRECTION_COLUMNS)
        self.waiver_rows = read_overrides(waivers, WAIVER_COLUMNS)
        self.stats = LandingStats()
        self.landed: list[dict] = []  # source_uri, content_hash of each report or failure landed (sources=None)
        self.now = datetime.now(timezone.utc).replace(tzinfo=None)
        self._connection = connect(work_db)
        self.conn = self._connection.__enter__()
        self.root = root  # the manifest's folder: local sources are keyed relative to it (report_ids)
        self.work_db = Path(work_db)
        try:
            ensure_schema(self.conn)
            self.conn.execute("begin transaction")  # (an older work DB's ids re-keyed first, all or nothing)
            self.stats.rekeyed = migrate(self.conn, root, self.now)
            self.conn.execute("commit")
            if self.stats.rekeyed:
                forget_dbt_build(work_db)
        except BaseException:
            self._connection.__exit__(None, None, None)
            raise
        self._landed: tuple[dict, dict] | None = None  # read when the first report lands (none: not read at all)

    def __enter__(self) -> Landing:
        return self

    def __exit__(self, *exc) -> None:
        self._connection.__exit__(None, None, None)  # closes the connection (an open transaction is rolled back)

    def chunk(self, reports: Iterable[ReportRows], failures: Iterable[Mapping] = ()) -> None:
        """Land parsed reports (as their rows: ``report_rows``, built by the parse workers) and parse failures,
        committed together."""
        self._transaction(lambda: self._chunk(reports, failures))

    def finish(self, fetches: Iterable[Mapping] = (), sources: Iterable[Mapping] | None = None,
               reports: Iterable[ReportRows] = (), failures: Iterable[Mapping] = ()) -> LandingStats:
        """Land a last chunk, the fetch records, the current load (``sources``, see ``land``) and the overrides."""

        def work() -> None:
            self._chunk(reports, failures)
            self.stats.fetches = _land_fetches(self.conn, fetches, self.now)
            retire = sources is not None  # only a whole current load says which sources left the manifest
            self.stats.retired = _land_sources(self.conn, self.landed if sources is None else sources, retire, self.now)
            self.stats.corrections = _replace(self.conn, "raw.corrections", resolve_aliases(self.conn, self.correction_rows),
                                              CORRECTION_COLUMNS, self.corrections)
            self.stats.waivers = _replace(self.conn, "raw.waivers", resolve_aliases(self.conn, self.waiver_rows),
                                          WAIVER_COLUMNS, self.waivers)

        self._transaction(work)
        return self.stats

    def _chunk(self, reports: Iterable[ReportRows], failures: Iterable[Mapping]) -> None:
        by_id: dict[str, ReportRows] = {}
        for rows in reports:  # the last report of a source wins within one batch
            by_id[report_id(rows.source, rows.content_hash, self.root)] = rows
        failures = list(failures)
        self.landed += [{"source_uri": r["source_uri"], "content_hash": r["content_hash"]} for r in failures]
        self.landed += [{"source_uri": r.source, "content_hash": r.content_hash} for r in by_id.values()]
        self.stats.received += len(by_id)
        reparsed = self.stats.reparsed
        if by_id:
            _land_reports(self.conn, by_id, self.stats, self.now, *self._landed_reports())
        if self.stats.reparsed > reparsed:
            forget_dbt_build(self.work_db)
        self.stats.parse_failures += _land_failures(self.conn, failures, self.now)

    def _landed_reports(self) -> tuple[dict[str, tuple[str, int, str]], dict[str, tuple[int, str]]]:
        """(report_id -> (source, version, parser version) of every landed report, source -> (its highest
        version, that report's id)), read once and kept up to date by ``_land_reports``."""
        if self._landed is None:
            known = {rid: (source, version, parser) for rid, source, version, parser in self.conn.execute(
                "select report_id, source_uri, source_version, parser_version from raw.documents").fetchall()}
            latest: dict[str, tuple[int, str]] = {}
            for rid, (source, version, _) in known.items():
                if source not in latest or version > latest[source][0]:
                    latest[source] = (version, rid)
            self._landed = known, latest
        return self._landed

    def _transaction(self, work) -> None:
        self.conn.execute("begin transaction")
        try:
            work()
            self.conn.execute("commit")
            self.stats.transactions += 1
        except BaseException:
            self.conn.execute("rollback")
            raise


def dbt_build_record(work_db: Path) -> Path:
    """The fingerprint of the last complete dbt build (``orchestration/dbt_builds.py``), beside the work DB."""
    return Path(work_db).parent / "dbt_built.inputs.sha256"


def forget_dbt_build(work_db: Path) -> None:
    """Landed reports' rows were replaced under the same ``report_id`` (re-parsed, re-keyed): the dbt models
    that are incremental by report would keep the old rows, so the next build rebuilds everything."""
    dbt_build_record(work_db).unlink(missing_ok=True)


def _land_reports(conn: duckdb.DuckDBPyConnection, by_id: dict[str, ReportRows], stats: LandingStats,
                  now: datetime, known: dict[str, tuple[str, int, str]], latest: dict[str, tuple[int, str]]) -> None:
    """Write the reports that are new or re-parsed; ``known`` and ``latest`` (the landed reports, each
    source's highest version) are kept up to date for the next chunk."""
    write: dict[str, tuple[ReportRows, int]] = {}
    replaced: list[str] = []  # landed before (by another parser version): their rows are deleted first
    for rid, report in by_id.items():
        previous = known.get(rid)
        top_version, top_id = latest.get(report.source, (0, None))
        if previous is None:
            stats.new += 1
            stats.new_versions += top_id is not None
            version = top_version + 1
        elif previous[2] != report.parser_version:
            stats.reparsed += 1
            replaced.append(rid)
            version = previous[1]
        else:
            stats.unchanged += 1
            continue
        latest[report.source] = (version, rid)
        known[rid] = (report.source, version, report.parser_version)
        write[rid] = (report, version)
    if not write:
        return
    documents, cells, issues, claims = _tables(write, now)
    landed = {"raw.documents": documents, "raw.cells": cells, "raw.issues": issues, "raw.claims": claims}
    if replaced:  # only then: a delete scans the whole table, and a chunk of new reports has nothing to delete
        conn.register("incoming_ids", pa.table({"report_id": replaced}))
        for table in landed:
            conn.execute(f"delete from {table} where report_id in (select report_id from incoming_ids)")
        conn.unregister("incoming_ids")
    for table, data in landed.items():
        conn.register("incoming", data)
        conn.execute(f"insert into {table} by name select * from incoming")
        conn.unregister("incoming")
    stats.cells += cells.num_rows
    stats.issues += issues.num_rows


def _tables(write: dict[str, tuple[ReportRows, int]], now: datetime) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """The chunk's reports as one Arrow table per raw table: their columns (built by the parse workers,
    ``report_rows``) joined, each report's rows given its ``report_id``."""
    ids = list(write)
    rows = [r for r, _ in write.values()]
    documents = {"report_id": ids} | {c: [r.document[c] for r in rows] for c in DOCUMENT_COLUMNS}
    documents["source_version"] = [version for _, version in write.values()]
    documents["landed_at"] = [now] * len(ids)

    def joined(columns: tuple[str, ...], part: str) -> dict[str, list]:
        parts = [getattr(r, part) for r in rows]
        out: dict[str, list] = {"report_id": list(chain.from_iterable(
            repeat(rid, len(p[columns[0]])) for rid, p in zip(ids, parts)))}
        for c in columns:
            out[c] = list(chain.from_iterable(p[c] for p in parts))
        return out

    def table(columns: dict[str, list]) -> pa.Table:
        return pa.table({c: pa.array(v, type=COLUMN_TYPES.get(c, pa.string())) for c, v in columns.items()})

    return (table(documents), table(joined(CELL_COLUMNS, "cells")), table(joined(ISSUE_COLUMNS, "issues")),
            table(joined(CLAIM_COLUMNS, "claims")))


COLUMN_TYPES = {"source_version": pa.int32(), "year": pa.int32(), "n_cells": pa.int32(), "n_issues": pa.int32(),
                "n_errors": pa.int32(), "landed_at": pa.timestamp("us"), "value": pa.float64(),
                "blank": pa.bool_(), "filled": pa.bool_(), "table_index": pa.int32(), "row_index": pa.int32(),
                "col_index": pa.int32(), "issue_seq": pa.int32(), "claim_seq": pa.int32(), "stated_value": pa.float64(),
                "line": pa.int32(), "page": pa.int32(), "bbox": pa.list_(pa.float64())}


# what a fetch found, beside when: a fetch that found what its source's last landed fetch found is no news
FETCH_OUTCOME = ("source_uri", "status", "content_hash", "http_status", "final_url", "error")
NEWS_SQL = f"""
with latest as (
    select source_uri, max(landed_at) as landed_at from raw.fetches
    where source_uri in (select source_uri from incoming_outcomes) group by source_uri
),
last as (select f.* from raw.fetches f semi join latest using (source_uri, landed_at))
select n.i from incoming_outcomes n
where not exists (
    select 1 from last l where l.source_uri = n.source_uri
    {''.join(f" and l.{c} is not distinct from n.{c}" for c in FETCH_OUTCOME[1:])}
)
order by n.i
"""


def _land_fetches(conn: duckdb.DuckDBPyConnection, fetches: Iterable[Mapping], now: datetime) -> int:
    """Land the fetch records that are news: a fetch whose outcome (``FETCH_OUTCOME``) is one its source's
    last landing of a fetch had adds no row (a refresh with nothing changed lands none; the raw store's fetch log
    keeps every arrival), so ``raw.fetches`` grows with what happened, not with how often it was checked.
    The records are ``FetchResult.to_record()``'s: their headers as the table holds them (JSON text)."""
    fetches = list(fetches)
    if not fetches:
        return 0
    outcomes = {c: [f.get(c) for f in fetches] for c in FETCH_OUTCOME}
    conn.register("incoming_outcomes", pa.table({"i": pa.array(range(len(fetches)), type=pa.int64())} | {
        c: pa.array(v, type=pa.int32() if c == "http_status" else pa.string()) for c, v in outcomes.items()}))
    news = [fetches[i] for (i,) in conn.execute(NEWS_SQL).fetchall()]
    conn.unregister("incoming_outcomes")
    cols = ("fetch_id", "source_uri", "final_url", "fetched_at", "status", "http_status", "content_hash",
            "headers", "error")
    rows: dict[str, list] = {c: [] for c in cols}
    seen: set[str] = set()
    for f in news:
        record = dict(f)
        fetched_at = record.get("fetched_at")
        fetched_at = fetched_at.isoformat() if isinstance(fetched_at, datetime) else fetched_at
        key = "\n".join(str(record.get(k)) for k in ("source_uri", "content_hash", "status")) + f"\n{fetched_at}"
        fid = hashlib.sha256(key.encode()).hexdigest()[:20]
        if fid in seen:
            continue
        seen.add(fid)
        values = (fid, record.get("source_uri"), record.get("final_url"), fetched_at, record.get("status"),
                  record.get("http_status"), record.get("content_hash"), record.get("headers"), record.get("error"))
        for col, value in zip(cols, values):
            rows[col].append(value)
    if not seen:
        return 0
    data = pa.table({c: pa.array(v, type=pa.int32() if c == "http_status" else pa.string()) for c, v in rows.items()})
    conn.register("incoming_fetches", data)
    before = scalar(conn, "select count(*) from raw.fetches")
    conn.execute(
        "insert into raw.fetches by name select *, ? as landed_at from incoming_fetches "
        "where fetch_id not in (select fetch_id from raw.fetches)", [now])
    conn.unregister("incoming_fetches")
    return scalar(conn, "select count(*) from raw.fetches") - before


def _land_sources(conn: duckdb.DuckDBPyConnection, sources: Iterable[Mapping], retire: bool, now: datetime) -> int:
    """Record each source's current content (listed again if it had left; a row that is as it was keeps its
    ``recorded_at``: only changes are written); with ``retire``, every
    other listed source leaves the current load. Returns how many of those had content (a report or
    a parse failure; a fetch that never succeeded retires nothing worth counting)."""
    rows = {str(s["source_uri"]): tuple(s.get(c) for c in SOURCE_COLUMNS[1:]) for s in sources}  # last row of a source wins
    data = pa.table({"source_uri": list(rows)} | {c: [r[i] for r in rows.values()] for i, c in enumerate(SOURCE_COLUMNS[1:])},
                    schema=pa.schema([(c, pa.string()) for c in SOURCE_COLUMNS]))
    conn.register("incoming_sources", data)
    retired = 0
    if retire:
        retired = scalar(conn, "select count(*) from raw.sources where listed and content_hash is not null "
                               "and source_uri not in (select source_uri from incoming_sources)")
        conn.execute("update raw.sources set listed = false, recorded_at = ? where listed "
                     "and source_uri not in (select source_uri from incoming_sources)", [now])
    same = " and ".join(f"s.{c} is not distinct from i.{c}" for c in SOURCE_COLUMNS[1:])
    conn.execute("insert or replace into raw.sources by name select i.*, true as listed, ? as recorded_at "
                 "from incoming_sources i where not exists (select 1 from raw.sources s where s.listed "
                 f"and s.source_uri = i.source_uri and {same})", [now])  # rows as they were are not written again
    conn.unregister("incoming_sources")
    return retired


def current_load(work_db: Path, fetches: Iterable[Mapping]) -> list[dict]:
    """The current load from this run's fetch records (``FetchResult.to_record()``): one row per source
    (``SOURCE_COLUMNS``) with the content now current: what its fetch found or confirmed, or, when the
    fetch failed, the content current before (an outage does not drop a report; the error is kept).

    A listing that failed (a page of it, not one of its known documents) may have hidden some of its
    documents: those keep their content this run instead of being retired.

    Reads only what these fetches need (their sources' and their listings' rows), so a chunk of the
    run pays for its own sources, not for the whole warehouse."""
    fetches = list(fetches)
    # the rows before are needed only for the fetches that failed and for listings (a nothing-changed run asks for none)
    previous = listed_sources(work_db, [str(f["source_uri"]) for f in fetches if f.get("status") == "failed"],
                              {str(f["listing"]) for f in fetches if f.get("listing")})
    rows: dict[str, dict] = {}
    for f in fetches:
        uri = str(f["source_uri"])
        failed = f.get("status") == "failed"
        content = f.get("content_hash") or (previous.get(uri, (None, None))[0] if failed else None)
        rows[uri] = {"source_uri": uri, "content_hash": content, "fetch_status": f.get("status"),
                     "fetch_error": f.get("error"), "listing": f.get("listing"), "page": f.get("page")}
    broken = {r["listing"] for r in rows.values()
              if r["fetch_status"] == "failed" and r["listing"] and previous.get(r["source_uri"], (None,))[0] is None}
    for uri, (content, listing) in previous.items():
        if uri not in rows and listing in broken:
            rows[uri] = {"source_uri": uri, "content_hash": content, "fetch_status": "not_reached",
                         "fetch_error": f"listing {listing} failed this run", "listing": listing}
    return list(rows.values())


def listed_sources(work_db: Path, sources: Iterable[str] | None = None,
                   listings: Iterable[str] = ()) -> dict[str, tuple[str | None, str | None]]:
    """source_uri → (current content hash, listing) of every listed source (empty for a new work DB);
    given ``sources``, only those and the ones found by ``listings``."""
    if not Path(work_db).exists():
        return {}
    with connect(work_db, read_only=True) as conn:
        if not relation_exists(conn, "raw", "sources"):
            return {}
        query = "select source_uri, content_hash, listing from raw.sources where listed"
        if sources is not None:
            _register_names(conn, "wanted_sources", sources)
            _register_names(conn, "wanted_listings", listings)
            query += (" and (source_uri in (select name from wanted_sources)"
                      " or listing in (select name from wanted_listings))")
        rows = conn.execute(query).fetchall()
    return {uri: (content, listing) for uri, content, listing in rows}


def _register_names(conn: duckdb.DuckDBPyConnection, view: str, names: Iterable[str]) -> None:
    """``names`` as a one-column relation ``view`` (``name``) on ``conn``, to filter a query by."""
    conn.register(view, pa.table({"name": pa.array(list(dict.fromkeys(names)), type=pa.string())}))


def _land_failures(conn: duckdb.DuckDBPyConnection, failures: Iterable[Mapping], now: datetime) -> int:
    cols = ("source_uri", "content_hash", "parser_version", "error")
    rows = {(str(f["source_uri"]), str(f["content_hash"]), str(f["parser_version"])): str(f.get("error") or "unknown error")
            for f in failures}
    if not rows:
        return 0
    data = pa.table({c: [k[i] for k in rows] for i, c in enumerate(cols[:3])} | {"error": list(rows.values())})
    conn.register("incoming_failures", data)
    conn.execute("insert or replace into raw.parse_failures by name select *, ? as landed_at from incoming_failures", [now])
    conn.unregister("incoming_failures")
    return len(rows)


class OverrideError(ValueError):
    """A maintainer's override CSV that cannot be loaded as written; the message names file, line and column."""

    def __init__(self, path: Path, line: int, column: str, problem: str):
        self.path, self.line, self.column = str(path), line, column
        super().__init__(f"{path}:{line}: column {column}: {problem}")


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # no nan, inf, 0x.., 1_000


def read_overrides(path: Path | None, columns: tuple[str, ...]) -> list[dict]:
    """Rows of a maintainer's CSV (corrections or waivers) with their file ``line``; a missing file is
    no override. Anything malformed (encoding, header, a value) refuses the whole file with an
    ``OverrideError``: a half-read override would silently change what gets published."""
    if path is None or not Path(path).exists():
        return []
    path = Path(path)
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    header = [name.strip() for name in next(reader, [])]
    _check_header(path, header, columns)
    rows: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    for values in reader:
        n = reader.line_num  # the file's line, blank lines counted
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            column = header[len(values)] if len(values) < len(header) else f"{len(header) + 1} (beyond the header)"
            raise OverrideError(path, n, column, f"{len(values)} values, the header has {len(header)}")
        row = {name: value.strip() for name, value in zip(header, values)}
        for name in columns:
            problem = "empty" if not row[name] else _value_problem(name, row[name])
            if problem:
                raise OverrideError(path, n, name, problem)
        if "corrected_value" in columns:
            key = (row["report_id"], row["metric_key"])
            if key in seen:
                raise OverrideError(path, n, "metric_key", f"a second correction of {key[1]} for report {key[0]} "
                                                           f"(first on line {seen[key]})")
            seen[key] = n
        rows.append({name: row[name] for name in columns} | {"line": n})
    return rows


def _decode(path: Path) -> str:
    """The file as UTF-8 text (a BOM allowed); else an error at the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        begun = next(csv.reader([data[line_start:exc.start].decode("utf-8-sig")]), [])
        field = max(len(begun), 1)  # the bad byte sits in the last field begun on its line
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")]), [])
        column = header[field - 1].strip() if line_start and field <= len(header) else str(field)
        raise OverrideError(path, data.count(b"\n", 0, exc.start) + 1, column,
                            f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None


def _check_header(path: Path, header: list[str], columns: tuple[str, ...]) -> None:
    expected = f"expected the header {','.join(columns)}"
    missing = [c for c in columns if c not in header]
    if missing:
        raise OverrideError(path, 1, missing[0], f"missing column(s) {', '.join(missing)}; {expected}")
    extra = [name for name in header if name not in columns]
    if extra:
        raise OverrideError(path, 1, extra[0] or str(header.index("") + 1),
                            f"unexpected column(s) {', '.join(map(repr, extra))}; {expected}")
    twice = [name for name in columns if header.count(name) > 1]
    if twice:
        raise OverrideError(path, 1, twice[0], f"column {twice[0]} appears twice; {expected}")


def _value_problem(column: str, value: str) -> str | None:
    """Why one value of an override cannot be loaded, or None (references to reports are checked later:
    a report not in the warehouse is a warning, see quality.override_warnings)."""
    if column == "metric_key" and value not in metric_by_key():
        return f"unknown metric_key {value!r} (see dbt_project/seeds/metric_dictionary.csv)"
    if column == "corrected_value" and not (_DECIMAL.fullmatch(value) and math.isfinite(float(value))):
        return f"{value!r} is not a finite decimal number"
    if column == "rule":
        rule, _, instance = value.partition(":")
        if value != "*" and (rule not in RULES_BY_NAME or (":" in value and not instance.strip())):
            return (f"unknown rule {value!r}; expected '*', a rule ({', '.join(RULES_BY_NAME)}) "
                    f"or rule:instance")
    return None


def _replace(conn: duckdb.DuckDBPyConnection, table: str, rows: list[dict],
             columns: tuple[str, ...], path: Path | None) -> int:
    """The override tables mirror their CSV exactly: replaced whole on every landing."""
    conn.execute(f"delete from {table}")
    if rows:
        data = {c: [r[c] for r in rows] for c in columns}
        if "corrected_value" in data:
            data["corrected_value"] = [float(v) for v in data["corrected_value"]]
        data["loaded_from"] = [str(path)] * len(rows)
        data["line"] = pa.array([r["line"] for r in rows], type=pa.int32())
        conn.register("incoming_overrides", pa.table(data))
        conn.execute(f"insert into {table} by name select * from incoming_overrides")
        conn.unregister("incoming_overrides")
    return len(rows)


def parsed_reports(work_db: Path, parser_version: str, sources: Iterable[str] | None = None) -> set[tuple[str, str]]:
    """(source_uri, content_hash) of the reports landed with ``parser_version`` (so only new work is
    parsed); given ``sources``, of those sources only (a chunk's). Per source, not per content: a new
    source with bytes seen before still needs its report."""
    if not Path(work_db).exists():
        return set()
    with connect(work_db, read_only=True) as conn:
        if not relation_exists(conn, "raw", "documents"):
            return set()
        query = "select source_uri, content_hash from raw.documents where parser_version = ?"
        if sources is not None:
            _register_names(conn, "wanted_sources", sources)
            query += " and source_uri in (select name from wanted_sources)"
        rows = conn.execute(query, [parser_version]).fetchall()
    return {(source, content) for source, content in rows}
