"""The batch gate (publish or keep the previous warehouse) and the atomic publish."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .db import connect, relation_exists

DEFAULT_MAX_QUARANTINE_SHARE = 0.5
DEFAULT_MAX_FAILED_SHARE = 0.5


@dataclass
class BatchDecision:
    """Whether this build may replace the published warehouse, and why (not)."""

    ok: bool
    reason: str
    counts: dict[str, int] = field(default_factory=dict)


COUNTS_SQL = """
with current_docs as (
    select gate_status from marts.dim_report
),
latest_fetch as (
    select source_uri, status from raw.fetches
    qualify row_number() over (partition by source_uri order by fetched_at desc, landed_at desc) = 1
),
failed_sources as (
    -- sources the parser failed on, or whose latest fetch failed, that have no document landed
    select source_uri from raw.parse_failures
    union
    select source_uri from latest_fetch where status = 'failed'
)
select
    (select count(*) from current_docs) as documents,
    (select count(*) from current_docs where gate_status = 'passed') as passed,
    (select count(*) from current_docs where gate_status = 'quarantined') as quarantined,
    (select count(*) from current_docs where gate_status = 'not_applicable') as not_applicable,
    (select count(*) from failed_sources f
     where not exists (select 1 from raw.documents d where d.source_uri = f.source_uri)) as failed
"""


def batch_gate(work_db: Path, max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE,
               max_failed_share: float = DEFAULT_MAX_FAILED_SHARE) -> BatchDecision:
    """Refuse to publish when nothing was parsed, or too large a share was quarantined or failed.

    The shares come from WarehouseResource (env ``DISCLOSURE_MAX_QUARANTINE_SHARE`` /
    ``DISCLOSURE_MAX_FAILED_SHARE``). Quarantined share: of the documents; failed share: of documents plus failed sources.
    """
    if not Path(work_db).exists():
        return BatchDecision(False, f"no work database at {work_db}: nothing was landed")
    with connect(work_db, read_only=True) as conn:
        if not relation_exists(conn, "marts", "dim_report"):
            return BatchDecision(False, "marts.dim_report is missing: the dbt build did not complete")
        row = conn.execute(COUNTS_SQL).fetchone()
    counts = dict(zip(("documents", "passed", "quarantined", "not_applicable", "failed"), row))
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


def publish(work_db: Path, published: Path, parquet_dir: Path | None = None) -> Path:
    """Copy the work DB to ``published`` atomically: temp file in the same folder, fsync, os.replace.

    Until the replace, the previous published file is untouched, so a reader holding it open
    read-only keeps its snapshot and a crash at any point leaves it intact. ``parquet_dir``: the
    marts and quality relations also exported as Parquet (one file per relation, replaced whole).
    """
    work_db, published = Path(work_db).resolve(), Path(published).resolve()
    published.parent.mkdir(parents=True, exist_ok=True)
    with connect(work_db) as conn:
        conn.execute("checkpoint")  # fold the WAL into the file so the copy is complete
    for stale in published.parent.glob(f".{published.name}.*.tmp"):  # left by a killed publish
        stale.unlink(missing_ok=True)
    temp = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(work_db, temp)
        _fsync(temp)
        with connect(temp, read_only=True) as check:  # a copy that does not open is never published
            check.execute("select count(*) from marts.dim_report").fetchone()
        if parquet_dir is not None:
            export_parquet(temp, Path(parquet_dir))
        os.replace(temp, published)
    finally:
        temp.unlink(missing_ok=True)
    _fsync(published.parent)
    return published


def export_parquet(db: Path, parquet_dir: Path) -> list[Path]:
    """Every table and view of schemas marts and quality as ``<schema>.<name>.parquet``."""
    parquet_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect(db, read_only=True) as conn:
        names = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'quality') order by 1, 2").fetchall()
        for schema, name in names:
            target = parquet_dir / f"{schema}.{name}.parquet"
            temp = target.with_name(f".{target.name}.tmp")
            conn.execute(f"copy (select * from {schema}.{name}) to '{temp}' (format parquet)")
            os.replace(temp, target)
            written.append(target)
    return written
