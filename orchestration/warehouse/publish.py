"""The batch gate (publish or keep the previous warehouse) and the atomic publish."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .db import connect, relation_exists, sql_string
from .export import export_parquet
from .publish_changes import (RECORDED, RECORDING, SOURCE, TARGET, apply_changes, catalog_digests, create_tables,
                              differing, file_identity)

DEFAULT_MAX_QUARANTINE_SHARE = 0.5
DEFAULT_MAX_FAILED_SHARE = 0.5
# The published file's storage format: v1.0.0 opens in every DuckDB from 0.10 on (the 1.x CLI, the JDBC
# driver of DBeaver and Metabase, Python notebooks) and holds all the marts use (lists, decimals, comments).
DEFAULT_STORAGE_VERSION = "v1.0.0"
PUBLISH_MEMORY = "1GB"  # DuckDB's memory limit while publishing when DISCLOSURE_DUCKDB_MEMORY is unset (dbt's: profiles.yml)
# an updated published file past this many times its size when last copied whole (plus the slack: DuckDB
# writes whole blocks, so a small file doubles on a small change) is copied whole again, compacted
MAX_GROWTH, GROWTH_SLACK = 1.5, 64 * 2**20


@dataclass
class BatchDecision:
    """Whether this build may replace the published warehouse, and why (not)."""

    ok: bool
    reason: str
    counts: dict[str, int] = field(default_factory=dict)


COUNTS = ("documents", "passed", "quarantined", "not_applicable", "failed")  # quality.batch_counts (dbt)


def batch_gate(work_db: Path, max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE,
               max_failed_share: float = DEFAULT_MAX_FAILED_SHARE) -> BatchDecision:
    """Refuse to publish when nothing was parsed, or too large a share was quarantined or failed.

    The counts are dbt's ``quality.batch_counts`` (the current load, verdicts from ``marts.dim_report``).

    The shares come from WarehouseResource (env ``DISCLOSURE_MAX_QUARANTINE_SHARE`` /
    ``DISCLOSURE_MAX_FAILED_SHARE``). Quarantined share: of the documents; failed share: of documents plus failed sources.
    """
    if not Path(work_db).exists():
        return BatchDecision(False, f"no work database at {work_db}: nothing was landed")
    with connect(work_db, read_only=True) as conn:
        if not relation_exists(conn, "quality", "batch_counts"):
            return BatchDecision(False, "quality.batch_counts is missing: the dbt build did not complete")
        row = conn.execute(f"select {', '.join(COUNTS)} from quality.batch_counts").fetchone()
    counts = dict(zip(COUNTS, row))
    if counts["documents"] == 0:
        return BatchDecision(False, "no document was parsed: refusing to publish an empty warehouse", counts)
    quarantined_share = counts["quarantined"] / counts["documents"]
    if quarantined_share > max_quarantine_share:
        return BatchDecision(False, f"{counts['quarantined']} of {counts['documents']} documents quarantined "
                             f"({quarantined_share:.0%} > {max_quarantine_share:.0%})", counts)
    failed_share = counts["failed"] / (counts["documents"] + counts["failed"])
    if failed_share > max_failed_share:
        return BatchDecision(False, f"{counts['failed']} sources failed to fetch or parse "
                             f"({failed_share:.0%} > {max_failed_share:.0%})", counts)
    return BatchDecision(True, f"{counts['passed']} passed, {counts['quarantined']} quarantined, "
                         f"{counts['not_applicable']} not applicable, {counts['failed']} failed", counts)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PublishError(RuntimeError):
    """The published file does not open read-only after the swap: readers would fail on it."""


def publish(work_db: Path, published: Path, parquet_dir: Path | None = None,
            log: Callable[[str], None] | None = None, storage_version: str = DEFAULT_STORAGE_VERSION,
            memory_limit: str = PUBLISH_MEMORY, by_report: Collection[str] = ()) -> Path:
    """Copy the work DB to ``published`` atomically: temp file in the same folder, fsync, os.replace.

    The copy is written in DuckDB's ``storage_version`` format (env DISCLOSURE_STORAGE_VERSION), so
    readers older than the DuckDB that builds it open the file.

    Until the replace, the previous published file is untouched, so a reader holding it open
    read-only keeps its snapshot and a crash at any point leaves it intact. A WAL beside the
    published file was left by a reader that opened it read-write: it belongs to the old file and
    would make DuckDB refuse the new one, so it is moved aside (never deleted) and ``log`` says so.
    Success is declared only once the published file opens read-only. ``parquet_dir``: the marts
    and quality relations also exported as Parquet (one file per relation, replaced whole).
    ``memory_limit``: DuckDB's while copying and exporting (DISCLOSURE_DUCKDB_MEMORY); it spills beyond it.

    The temp file is a copy of the previous published file with only the changed rows replaced when
    it can be (``update_previous``: the cost follows the change, not the warehouse), else a whole copy.
    ``by_report``: the tables (``schema.name``) whose rows under a report_id never change while the inputs of
    the last complete dbt build hold (``report_ids.REPORT_TABLES`` and dbt's models kept incremental by report):
    while those inputs are the last publish's, only the reports added to or removed from them are compared.
    """
    say = log or (lambda _message: None)
    work_db, published = Path(work_db).resolve(), Path(published).resolve()
    published.parent.mkdir(parents=True, exist_ok=True)
    with connect(work_db) as conn:
        conn.execute("checkpoint")  # fold the WAL into the file so the copy is complete
    for stale in published.parent.glob(f".{published.name}.*.tmp"):  # left by a killed publish
        stale.unlink(missing_ok=True)
    temp = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    try:
        state = update_previous(work_db, published, temp, storage_version, say, memory_limit, by_report)
        if state is None:
            catalogs = copy_database(work_db, temp, storage_version, memory_limit, say)
            state = {"storage_version": storage_version, "copied_size": temp.stat().st_size, **catalogs, "last": "copied"}
        state["model_inputs"] = _model_inputs(work_db)
        _fsync(temp)
        _check_opens(temp)  # a copy that does not open is never published
        if parquet_dir is not None:
            export_parquet(temp, Path(parquet_dir), memory_limit)
            say(f"exported the marts and quality relations as Parquet to {parquet_dir}")
        _move_stale_wal(published, say)
        os.replace(temp, published)
    finally:
        temp.unlink(missing_ok=True)
    digests = _row_digests(work_db)
    if state["last"] == "updated":  # the digests of the rows just published, valid while the file is as written
        state["published_identity"] = file_identity(published)
        digests.with_name(digests.name + ".new").replace(digests)
    else:
        digests.unlink(missing_ok=True)
    _publish_state(work_db).write_text(json.dumps(state))  # what the next publish may update, how this one was made
    _fsync(published.parent)
    _verify_published(published, say)
    return published


def update_previous(work_db: Path, published: Path, temp: Path, storage_version: str,
                    say: Callable[[str], None], memory_limit: str = PUBLISH_MEMORY,
                    by_report: Collection[str] = ()) -> dict | None:
    """``temp``: a copy of the previous published file brought to the work DB's rows (``publish_changes``),
    and the state to record for the next publish; None (``temp`` gone) when the last whole copy is not what the published file and the work DB still
    are (a storage version, a relation's definition: ``catalog_digests``), or the file has grown past ``MAX_GROWTH``
    times its size then (deleted rows' space is reused, not compacted): the caller copies the whole database."""
    try:  # a state cut short by a crash is no state: the whole database is copied
        recorded = json.loads(_publish_state(work_db).read_text())
    except (OSError, ValueError):
        recorded = {}
    if not published.exists():
        return None
    if recorded.get("storage_version") != storage_version or not isinstance(recorded.get("source"), dict):
        say(f"publish: copying the whole database (no earlier whole copy in storage version {storage_version})")
        return None
    size, copied = published.stat().st_size, recorded.get("copied_size", 0)
    if size > MAX_GROWTH * copied + GROWTH_SLACK:
        say(f"publish: copying the whole database to compact it ({size / 2**20:,.0f} MiB; "
            f"{copied / 2**20:,.0f} MiB when last copied whole)")
        return None
    # the rows' digests the last publish recorded hold for the file only while it is the one that publish wrote
    digests, recording = _row_digests(work_db), _row_digests(work_db).with_name(_row_digests(work_db).name + ".new")
    recorded_rows = digests.exists() and recorded.get("published_identity") == file_identity(published)
    # rows under a report_id change only with the inputs of a build (dbt project, parser, overrides: dbt_builds.py)
    model_inputs = _model_inputs(work_db)
    stable = set(by_report) if recorded_rows and model_inputs and recorded.get("model_inputs") == model_inputs else set()
    recording.unlink(missing_ok=True)
    shutil.copyfile(published, temp)
    conn = _copier(memory_limit, work_db)
    changes = None
    try:
        conn.execute(f"attach {sql_string(work_db)} as {SOURCE} (read_only)")
        conn.execute(f"attach {sql_string(temp)} as {TARGET}")
        conn.execute(f"attach {sql_string(recording)} as {RECORDING}")
        if recorded_rows:
            conn.execute(f"attach {sql_string(digests)} as {RECORDED} (read_only)")
        source = catalog_digests(conn, SOURCE)
        tables = {f"{s}.{n}" for s, n in conn.execute("select schema_name, table_name from duckdb_tables() "
                                                       "where database_name = ?", [SOURCE]).fetchall()}
        # a table new since the last whole copy (in neither file then) is created; any other definition change is not
        new = [r for r in differing(recorded.get("source"), source)
               if r in tables and r not in recorded["source"] and r not in recorded.get("target", {})]
        changed = sorted(set(differing(recorded.get("source"), source)) - set(new)
                         | set(differing(recorded.get("target"), catalog_digests(conn, TARGET))) - set(new))
        if not changed:
            create_tables(conn, new)
            changes = apply_changes(conn, recorded=recorded_rows, stable=stable)
            conn.execute(f"checkpoint {TARGET}")
            conn.execute(f"detach {TARGET}")  # its catalog as read from the file, for the next publish
            conn.execute(f"attach {sql_string(temp)} as {TARGET} (read_only)")
            changes.catalogs = {"source": source, "target": catalog_digests(conn, TARGET)}
        else:
            say(f"publish: definitions changed since the last whole copy: {', '.join(changed[:10]) or 'the catalog'}"
                + (f" and {len(changed) - 10} more" if len(changed) > 10 else ""))
    except duckdb.Error as exc:  # e.g. a reader was writing to the published file as it was copied
        say(f"publish: the previous file could not be updated ({exc})")
        changes = None
    finally:
        conn.close()
    if changes is None:
        temp.unlink(missing_ok=True)
        recording.unlink(missing_ok=True)
        say("publish: copying the whole database")
        return None
    say(f"publish: updated a copy of the previous file ({'its rows as the last publish recorded them' if recorded_rows else 'its rows hashed'}): {changes.summary()}"
        + (f"; new tables: {', '.join(new)}" if new else ""))
    return {**recorded, **changes.catalogs, "last": "updated"}


def _model_inputs(work_db: Path) -> str | None:
    """The fingerprint of the inputs of the last complete dbt build (``dbt_builds``; none: it did not complete)."""
    from .landing import dbt_build_record  # (pyarrow: not at import, which every command's start-up pays)

    try:
        return dbt_build_record(work_db).read_text().strip() or None
    except OSError:
        return None


def _row_digests(work_db: Path) -> Path:
    """The digests of the rows the last publish that updated a copy published (publish_changes.py)."""
    return Path(work_db).parent / "publish.digests.duckdb"


def _publish_state(work_db: Path) -> Path:
    """The storage version of the last publish, and the size of the last whole copy."""
    return Path(work_db).parent / "publish.state.json"


def copy_database(source: Path, target: Path, storage_version: str, memory_limit: str = PUBLISH_MEMORY,
                  say: Callable[[str], None] | None = None) -> dict[str, dict[str, str]]:
    """Every schema, table, view and comment of ``source`` into a new file ``target`` in DuckDB's
    ``storage_version`` format (the source is only read); returns both catalogs' digests (``update_previous``
    compares them). A source already in that format and compact (``_bytes_will_do``) is copied byte for byte
    (the work DB is made in the published format for this: ``db.create_database``); else COPY FROM DATABASE
    re-encodes every table (10–15 CPU-s at 10k documents: nearly all of a publish from empty)."""
    say = say or (lambda _message: None)
    target.unlink(missing_ok=True)
    conn = _copier(memory_limit, source)
    try:
        conn.execute(f"attach {sql_string(source)} as {SOURCE} (read_only)")
        if _bytes_will_do(conn, source, storage_version):
            shutil.copyfile(source, target)
            say(f"publish: copied the work DB's file whole (already in storage version {storage_version})")
        else:
            conn.execute(f"attach {sql_string(target)} as {TARGET} (storage_version {sql_string(storage_version)})")
            conn.execute(f"copy from database {SOURCE} to {TARGET}")
            conn.execute(f"checkpoint {TARGET}")
            conn.execute(f"detach {TARGET}")  # its catalog as read from the file (views' SQL re-serialized)
            say(f"publish: copied the work DB's relations whole into storage version {storage_version}")
        conn.execute(f"attach {sql_string(target)} as {TARGET} (read_only)")
        return {"source": catalog_digests(conn, SOURCE), "target": catalog_digests(conn, TARGET)}
    finally:
        conn.close()


def _bytes_will_do(conn: duckdb.DuckDBPyConnection, source: Path, storage_version: str) -> bool:
    """Whether the attached ``build_source`` file may be published as its bytes: checkpointed (no WAL), in the
    format a new file in ``storage_version`` gets, and with at most ``MAX_GROWTH`` times its used blocks (a
    work DB that incremental runs left with much free space is compacted by COPY FROM DATABASE instead)."""
    wal = wal_path(source)
    if wal.exists() and wal.stat().st_size:
        return False
    probe = source.with_name(f".{source.name}.format-probe")
    probe.unlink(missing_ok=True)
    try:
        conn.execute(f"attach {sql_string(probe)} as format_probe (storage_version {sql_string(storage_version)})")
        formats = dict(conn.execute("select database_name, tags['storage_version'] from duckdb_databases() "
                                    "where database_name in (?, 'format_probe')", [SOURCE]).fetchall())
        conn.execute("detach format_probe")
    finally:
        probe.unlink(missing_ok=True)
        wal_path(probe).unlink(missing_ok=True)
    (free, total), = conn.execute("select free_blocks, total_blocks from pragma_database_size() "
                                  "where database_name = ?", [SOURCE]).fetchall()
    return formats.get(SOURCE) is not None and formats[SOURCE] == formats.get("format_probe") \
        and total <= MAX_GROWTH * (total - free)


def _copier(memory_limit: str, work_db: Path) -> duckdb.DuckDBPyConnection:
    """The in-memory connection that attaches the work DB and the copy: within ``memory_limit``,
    spilling beside the work DB (not into the readers' folder)."""
    return duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(Path(work_db).with_name("publish.spill"))})


def wal_path(db: Path) -> Path:
    """Where DuckDB keeps the write-ahead log of ``db``."""
    return db.with_name(db.name + ".wal")


def _move_stale_wal(published: Path, say: Callable[[str], None]) -> Path | None:
    wal = wal_path(published)
    if not wal.exists():
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = wal.with_name(f"{wal.name}.stale-{stamp}")
    os.replace(wal, aside)
    say(f"moved a stale WAL aside: {wal} -> {aside} (left by a process that opened {published.name} "
        "read-write; DuckDB refuses to open a file with a WAL that is not its own)")
    return aside


def _check_opens(db: Path) -> int:
    """The number of reports in ``db``, opened read-only as a BI reader opens it."""
    with connect(db, read_only=True) as conn:
        return conn.execute("select count(*) from marts.dim_report").fetchall()[0][0]


def _verify_published(published: Path, say: Callable[[str], None]) -> None:
    """Open the swapped-in file read-only; a WAL that slipped in just before the swap is moved aside once."""
    for attempt in (1, 2):
        try:
            reports = _check_opens(published)
            break
        except duckdb.Error as exc:
            if attempt == 2 or _move_stale_wal(published, say) is None:
                raise PublishError(f"{published} was replaced by the new build but does not open read-only: {exc}") from exc
    say(f"verified {published}: opens read-only, {reports} reports")
