"""What the UI shows of the dbt models: row counts and column types on each model's materialization,
and dbt's docs site, generated as one static page with each publish.

Row counts and columns are read here in one read-only DuckDB connection once dbt has finished
(DuckDB has one writer), not with dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()``:
those open the dbt adapter's own read-only DuckDB instance in this process and keep it (the gate,
next in the same process, then cannot open the work DB: "a different configuration than existing
connections"), and query model by model from a thread pool (much slower than the build itself here).
The metadata keys are Dagster's standard ones, so the UI shows them as it shows dagster-dbt's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from dagster import AssetMaterialization, MetadataValue, Output, TableColumn, TableSchema

DOCS_PAGE = "static_index.html"  # dbt docs generate --static: the whole site in one file


def with_table_metadata(events: Iterable, manifest: dict, work_db: Path) -> Iterator:
    """``events`` (a dbt invocation's stream), each model's output with ``dagster/row_count`` (tables;
    a view would re-run its query) and ``dagster/column_schema`` (name and DuckDB type of each column)."""
    events, failure = _drain(events)  # dbt has finished and released the work DB
    nodes = manifest.get("nodes", {})
    relations = {}
    for event in events:
        node = nodes.get(_unique_id(event)) if isinstance(event, (Output, AssetMaterialization)) else None
        if node and node.get("resource_type") in ("model", "seed"):
            relations[_unique_id(event)] = (node["schema"], node.get("alias") or node["name"])
    described = describe(work_db, set(relations.values()))
    for event in events:
        found = described.get(relations.get(_unique_id(event)))
        yield event.with_metadata({**event.metadata, **found}) if found else event
    if failure is not None:  # after the models that were built: they stay recorded
        raise failure


def _drain(events: Iterable) -> tuple[list, BaseException | None]:
    received = []
    try:
        for event in events:
            received.append(event)
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller once the received events are out
        return received, exc
    return received, None


def describe(work_db: Path, relations: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """(schema, name) -> Dagster metadata: column schema, and row count for tables."""
    from orchestration.warehouse.db import connect

    if not relations:
        return {}
    with connect(work_db, read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "order by table_schema, table_name, ordinal_position").fetchall()
        kinds = dict(((s, n), t) for s, n, t in con.execute(
            "select table_schema, table_name, table_type from information_schema.tables").fetchall())
        found: dict[tuple[str, str], dict] = {}
        for schema, name, column, data_type in columns:
            if (schema, name) in relations:
                found.setdefault((schema, name), {"columns": []})["columns"].append(TableColumn(column, data_type))
        described = {}
        for key, entry in found.items():
            meta = {"dagster/column_schema": MetadataValue.table_schema(TableSchema(columns=entry["columns"]))}
            if kinds.get(key) == "BASE TABLE":
                meta["dagster/row_count"] = MetadataValue.int(con.execute(f'select count(*) from "{key[0]}"."{key[1]}"').fetchone()[0])
            described[key] = meta
    return described


def _unique_id(event) -> str | None:
    value = (getattr(event, "metadata", None) or {}).get("unique_id")
    return getattr(value, "text", value)


def generate_docs(dbt, vars_args: list[str], target: Path, docs_dir: Path, log=None) -> Path:
    """``dbt docs generate --static --no-compile`` in the build's ``target`` folder (its manifest is
    this build's: only the catalog is queried), the one self-contained page then copied to
    ``docs_dir`` (opened from disk, no server) whole; returns the page."""
    dbt.cli(["docs", "generate", "--static", "--no-compile", *vars_args], target_path=target, raise_on_error=True).wait()
    docs_dir.mkdir(parents=True, exist_ok=True)
    page = docs_dir / DOCS_PAGE
    partial = docs_dir / f".{DOCS_PAGE}.partial"
    shutil.copyfile(target / DOCS_PAGE, partial)
    os.replace(partial, page)
    if log is not None:
        log(f"dbt docs: {page}")
    return page
