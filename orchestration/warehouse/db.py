"""Opening the DuckDB work file: one short-lived connection per step (DuckDB allows one writer)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def connect(path: Path, read_only: bool = False, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection closed on exit, whatever happens; the folder is created for writers.
    ``memory_limit``: DuckDB's, beyond which it spills beside the file; without one DuckDB takes up to
    80 % of the machine's memory (a 100k publish reached 4.7 GB)."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = _open(str(path), read_only, {"memory_limit": memory_limit} if memory_limit else {})
    try:
        yield conn
    finally:
        conn.close()


HELD_WAIT_S = 300  # how long to wait for DuckDB's own file lock held by another process


def _open(path: str, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, waiting while another process holds DuckDB's lock on the file: the warehouse lock
    is released the moment a refresh is killed, but the dbt process it started may still be finishing its
    build on the work DB (seen when a killed refresh was followed at once by the next one)."""
    deadline = time.monotonic() + HELD_WAIT_S
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value of a one-row query, with the result read to its end: DuckDB 2.0 refuses
    further work (e.g. ``register``) on a connection whose last result was only ``fetchone()``-d."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def relation_exists(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(scalar(conn, "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, name]))


def sql_string(value: str | Path) -> str:
    """``value`` (a path, say) as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
