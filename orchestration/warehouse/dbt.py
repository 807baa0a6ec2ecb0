"""Running the dbt project in-process (dbtRunner) against a given work DB, for non-Dagster callers."""

from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from .config import DBT_PROJECT_DIR


class DbtError(RuntimeError):
    """dbt failed; the message carries dbt's own errors."""


@contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a block (a subprocess started inside inherits them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dbt_target_dir(work_db: Path) -> Path:
    """dbt's target/ for one work DB, beside it, so warehouses built side by side never share one."""
    return Path(work_db).resolve().parent / "dbt_target"


def run_dbt(args: list[str], work_db: Path, agency_overrides: Path | None = None) -> None:
    """Run ``dbt <args>`` on the project with the profile pointed at ``work_db`` (and int_agency_overrides at
    ``agency_overrides``, else dbt's default: overrides/agency_identity.csv); raise DbtError on failure."""
    from dbt.cli.main import dbtRunner

    work_db = Path(work_db).resolve()
    work_db.parent.mkdir(parents=True, exist_ok=True)
    target = dbt_target_dir(work_db)
    full_args = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                 "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"]
    overrides = {"DISCLOSURE_AGENCY_OVERRIDES": str(agency_overrides)} if agency_overrides else {}
    with environ(DISCLOSURE_WORK_DB=str(work_db), DBT_SEND_ANONYMOUS_USAGE_STATS="false", **overrides):
        try:
            result = dbtRunner().invoke(full_args)
        finally:
            _release_duckdb()
    if result.success:
        return
    raise DbtError(f"dbt {' '.join(args)} failed: {_errors(result)}")


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB handle open in-process after a run: close it, so the next step
    (the gate, the publish, a reader) can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _errors(result) -> str:
    """dbt's error messages from a failed invocation (exceptions, failed nodes and tests)."""
    if result.exception is not None:
        return str(result.exception)
    messages = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", ""))
        if status in ("error", "fail", "runtime error"):
            messages.append(f"{node_result.node.unique_id} ({status}): {node_result.message}")
    return "; ".join(messages) or "see dbt's log for details"
