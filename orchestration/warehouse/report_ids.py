"""``report_id``: one version of one source document, the same in every checkout.

A local source is keyed by its path relative to the manifest's folder (``root``), a remote one by its
URL, so the ids (and the maintainers' waivers and corrections that name them) travel between checkouts.
Work DBs landed before this keyed local sources by their absolute path: ``migrate`` re-keys their
reports in place and remembers each old id in ``raw.report_id_aliases``, so an override naming an old
id still applies (``resolve_aliases``) and an incremental refresh neither duplicates nor loses a report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import duckdb
import pyarrow as pa

REPORT_TABLES = ("raw.documents", "raw.cells", "raw.issues", "raw.claims")  # every table keyed by report_id
ALIASES_SQL = """
create table if not exists raw.report_id_aliases (
    old_report_id varchar primary key, report_id varchar not null, migrated_at timestamp not null
)
"""


def source_key(source_uri: str, root: Path | None = None) -> str:
    """What a report's id is built from: a local path inside ``root`` relative to it, anything else as is."""
    if root is None or "://" in source_uri:
        return source_uri
    path = Path(source_uri)
    if not path.is_absolute() or not path.is_relative_to(root):
        return source_uri
    return str(PurePosixPath(*path.relative_to(root).parts))


def report_id(source: str, content_hash: str, root: Path | None = None) -> str:
    """Stable id of one version of one source document (``source`` keyed by ``source_key``)."""
    return hashlib.sha256(f"{source_key(source, root)}\n{content_hash}".encode()).hexdigest()[:20]


def migrate(conn: duckdb.DuckDBPyConnection, root: Path | None, now) -> int:
    """Re-key landed reports whose id is not the one ``root`` gives (ids of absolute local paths); return
    how many. A report already landed under its new id too keeps that one; the old copy is dropped."""
    conn.execute(ALIASES_SQL)
    if root is None:
        return 0
    # ``report_id`` in SQL first, for the plain paths (no Python per landed report, 100,000 at national scale);
    # only the rows it does not confirm are checked by ``report_id`` itself
    prefix = str(root).rstrip("/") + "/"
    landed = conn.execute(
        "select report_id, source_uri, content_hash from raw.documents where report_id <> left(sha256("
        "case when starts_with(source_uri, $p) then substr(source_uri, length($p) + 1) else source_uri end"
        " || chr(10) || content_hash), 20)", {"p": prefix}).fetchall()
    moves = {old: new for old, source, content in landed if (new := report_id(source, content, root)) != old}
    if not moves:
        return 0
    conn.register("id_moves", pa.table({"old_report_id": list(moves), "report_id": list(moves.values())}))
    duplicates = [old for (old,) in conn.execute(
        "select old_report_id from id_moves where report_id in (select report_id from raw.documents)").fetchall()]
    conn.register("id_drops", pa.table({"report_id": pa.array(duplicates, type=pa.string())}))
    for table in REPORT_TABLES:
        conn.execute(f"delete from {table} where report_id in (select report_id from id_drops)")
        conn.execute(f"update {table} set report_id = m.report_id from id_moves m "
                     f"where {table}.report_id = m.old_report_id")
    conn.execute("insert or replace into raw.report_id_aliases select old_report_id, report_id, ? from id_moves", [now])
    conn.unregister("id_moves")
    conn.unregister("id_drops")
    return len(moves)


def resolve_aliases(conn: duckdb.DuckDBPyConnection, rows: list[dict]) -> list[dict]:
    """Override rows with any old (pre-migration) report id replaced by the report's id now."""
    aliases = dict(conn.execute("select old_report_id, report_id from raw.report_id_aliases").fetchall())
    return [{**row, "report_id": aliases.get(row["report_id"], row["report_id"])} for row in rows]
