"""Opening the DuckDB work file: one short-lived connection per step (DuckDB allows one writer)."""

from __future__ import annotations

import ctypes
import gc
import sys
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
    # No waiting for DuckDB's file lock: the one process that held it after a killed refresh, its dbt, now dies
    # with it (orchestration/dbt_process.py); anyone else holding it is named by DuckDB's error at once.
    conn = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit} if memory_limit else {})
    try:
        yield conn
    finally:
        conn.close()


def create_database(path: Path, storage_version: str) -> None:
    """Create the DuckDB file ``path`` in ``storage_version``'s format unless it exists (a file keeps its format):
    the work DB in the published file's, so a whole publish copies its bytes instead of re-encoding every table."""
    if Path(path).exists():
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(path), config={"storage_compatibility_version": storage_version}).close()


def return_freed_memory(collect: bool = True) -> None:
    """Give back to the OS what glibc keeps of the memory this process freed, before a DuckDB that takes up
    to its memory limit starts beside it (dbt's process) or in it (the publish): issue #11's peak is their
    sum. At 100k documents this gave back ~30 MB before dbt's first phase. glibc only; elsewhere nothing.
    ``collect``: a full garbage collection first (0.2-0.5 CPU-s in a refresh process: every object it holds)."""
    if collect:
        gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl)
            pass


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
