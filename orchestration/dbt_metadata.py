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

import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from dagster import AssetMaterialization, AssetObservation, MetadataValue, Output, TableColumn, TableSchema

DOCS_PAGE = "static_index.html"  # dbt docs generate --static: the whole site in one file


def with_table_metadata(events: Iterable, manifest: dict, work_db: Path) -> Iterator:
    """``events`` (a dbt invocation's stream), each model's output with ``dagster/row_count`` (tables;
    a view would re-run its query) and ``dagster/column_schema`` (name and DuckDB type of each column)."""
    events, failure = _drain(events)  # dbt has finished and released the work DB
    # a data test's result (not an asset check, see assets.TRANSLATOR) would be one observation per model it
    # reads, each a run event: dbt's log and run_results.json keep it, and a failing test fails the build
    events = [e for e in events if not (isinstance(e, AssetObservation) and (_unique_id(e) or "").startswith("test."))]
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


def generate_docs(dbt, vars_args: list[str], target: Path, docs_dir: Path, work_db: Path, project_key: str,
                  log=None) -> Path:
    """``dbt docs generate --static --no-compile`` in the build's ``target`` folder (its manifest is
    this build's: only the catalog is queried), the one self-contained page then copied to
    ``docs_dir`` (opened from disk, no server) whole; returns the page.

    The page is made of the manifest (the dbt project: ``project_key``) and the catalog (the work DB's
    relations and columns; dbt-duckdb keeps no table statistics): when neither changed since the page
    was generated, it is kept as it is (a dbt start-up and a catalog query saved on each incremental publish)."""
    page = docs_dir / DOCS_PAGE
    marker = docs_dir / ".docs_inputs.sha256"
    key = hashlib.sha256(f"{project_key}\0{_catalog_digest(work_db, target)}".encode()).hexdigest()
    if page.exists() and marker.exists() and marker.read_text().strip() == key:
        if log is not None:
            log(f"dbt docs: {page} (the dbt project and the relations are unchanged)")
        return page
    dbt.cli(["docs", "generate", "--static", "--no-compile", *vars_args], target_path=target, raise_on_error=True).wait()
    docs_dir.mkdir(parents=True, exist_ok=True)
    partial = docs_dir / f".{DOCS_PAGE}.partial"
    shutil.copyfile(target / DOCS_PAGE, partial)
    os.replace(partial, page)
    marker.write_text(key)
    if log is not None:
        log(f"dbt docs: {page}")
    return page


def _catalog_digest(work_db: Path, target: Path) -> str:
    """A digest of what the docs page shows of dbt's catalog: the columns, types and comments of every
    relation the build's manifest names (a model, seed or source; not, say, the alerts' own table)."""
    import json

    from orchestration.warehouse.db import connect
    from orchestration.warehouse.publish_changes import catalog_digests

    manifest = json.loads((target / "manifest.json").read_text())
    named = {f"{n['schema']}.{n.get('alias') or n.get('identifier') or n['name']}"
             for n in [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]}
    with connect(work_db, read_only=True) as con:
        digests = catalog_digests(con, con.execute("select current_database()").fetchall()[0][0])
    return hashlib.sha256(repr({k: v for k, v in digests.items() if k in named}).encode()).hexdigest()
