"""The pipeline as Dagster assets: sources → parsed documents → dbt models → quality gate → published warehouse.

Incremental by default: the fetcher reports which sources changed, and only content that has not
been parsed with the current PARSER_VERSION is parsed again; ``full: true`` in the run config of
``source_documents`` (``disclosure refresh --full``) re-fetches and re-parses everything.
"""

import hashlib
import json
from collections import Counter
from itertools import chain
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_builds import model_inputs_fingerprint
from orchestration.dbt_metadata import docs_due, generate_docs, note_docs_inputs, with_table_metadata
from orchestration.ingest import (  # noqa: F401 - the ingest asset and its helpers, as the rest of the code knows them
    FetchBatch,
    RefreshConfig,
    discard_chunk_files,
    parse_items,
    prepared_outcomes,
    progress_bar,
    raw_store_root,
    source_documents,
)
from orchestration.parsing import parse_stream, unpack
from orchestration.progress import Progress
from orchestration.resources import ParseResource, WarehouseResource, dbt_project
from orchestration.run_metadata import METADATA_ROWS, md_table


@asset(group_name="ingest", kinds={"python", "duckdb"}, output_required=False)
def raw_landing(context: AssetExecutionContext, source_documents: FetchBatch, warehouse: WarehouseResource, parse: ParseResource):
    """The parsed documents, landed with provenance in the work DB's raw schema (every dbt ``raw`` source).

    Parses each listed source's current content unless that source's report of it was already
    parsed by this PARSER_VERSION (same bytes under another source still get their own report). When
    nothing at all changed since the last publish (the sources listed, their current content and
    fetch outcomes, parser, dbt models, gate rules, overrides), the asset is not materialized, so
    dbt, the gate and the publish are skipped: the published warehouse is already this state."""
    from expectations.gate import data_docs_index
    from extract import PARSER_VERSION
    from orchestration.fetching.known_pages import known_records
    from orchestration.warehouse.landing import Landing, current_load, parsed_reports
    from orchestration.warehouse.db import create_database

    paths = warehouse.paths()
    work_db = Path(paths.work_db)
    batch = source_documents
    records = [r.to_record() for r in batch.results]
    # the pages the plan knew unchanged and parsed: as it read them (not asked again), but for any a chunk step reached
    known = known_records(Path(batch.known_file) if batch.known_file else None, (r["source_uri"] for r in records))
    load = current_load(work_db, records + known)  # each listed source's current content decides its report
    current = [s for s in load if s["content_hash"]]
    planned = {r["source_uri"] for r in known}
    asked = [s for s in current if s["source_uri"] not in planned]
    done = set() if batch.full else parsed_reports(work_db, PARSER_VERSION, [s["source_uri"] for s in asked])
    todo = [s for s in asked if (s["source_uri"], s["content_hash"]) not in done]
    records += known
    context.log.info(f"parse: {len(todo)} documents to parse, {len(current) - len(todo)} already parsed by {PARSER_VERSION}")

    kinds: Counter[str] = Counter()
    errors: list[tuple[str, str]] = []  # (source, why it could not be parsed)
    with_errors = 0
    progress = Progress("land", len(todo), context.log.info, progress_bar(context))
    prepared, rest = prepared_outcomes(batch, todo)  # parsed by source_documents' steps; the rest (none, normally) here
    parsed_here = parse_stream(parse_items(batch.results, batch.store_root, rest), batch.store_root, log=context.log.info,
                               workers=parse.worker_count(), memory_bytes=parse.worker_memory_bytes())
    create_database(work_db, warehouse.storage_version)  # in the published format: a whole publish copies its bytes
    with Landing(work_db, paths.corrections_csv, paths.waivers_csv, Path(batch.root) if batch.root else None) as landing:
        reports: list[Any] = []
        failures: list[dict] = []  # kept with their reason in raw.parse_failures; the batch gate counts them
        for outcome in chain(prepared, (unpack(packed) for _, packed in parsed_here)):
            if outcome.report is not None:
                reports.append(outcome.report)
                kinds[outcome.report.document_kind] += 1
                with_errors += outcome.report.has_errors
            else:
                failures.append({"source_uri": outcome.source, "content_hash": outcome.content_hash,
                                 "parser_version": PARSER_VERSION, "error": outcome.error})
                errors.append((outcome.source, outcome.error or ""))
            progress.advance(failed=outcome.report is None)
            if len(reports) + len(failures) >= parse.chunk:  # bounded memory: land the chunk, keep none of it
                landing.chunk(reports, failures)
                reports, failures = [], []
        progress.close()
        stats = landing.finish(records, load, reports, failures)
    discard_chunk_files(batch)
    parsed = sum(kinds.values())
    context.log.info(f"landed {parsed} parsed documents ({len(errors)} could not be parsed); "
                     f"{stats.retired} sources retired (no longer in the manifest)")
    metadata = {
        "parsed": parsed,
        "skipped_already_parsed": len(current) - len(todo),
        "retired": stats.retired,
        "parse_errors": len(errors),
        "annual_reports": kinds.get("annual_report", 0),
        "not_annual_reports": kinds.get("not_annual_report", 0),
        "with_error_issues": with_errors,
        "parser_version": PARSER_VERSION,
        "landing": MetadataValue.json(asdict(stats)),
        "errors": MetadataValue.md(md_table(["source", "error"], [list(e) for e in errors], limit=METADATA_ROWS)),
        "work_db": str(work_db),
    }
    fingerprint = inputs_fingerprint(load, paths, PARSER_VERSION)
    unchanged = not batch.full and not todo and published_fingerprint(paths) == fingerprint
    if unchanged and not data_docs_index(Path(paths.data_docs_dir)).exists():
        context.log.info(f"nothing changed, but the Data Docs at {paths.data_docs_dir} are missing: rebuilding")
        unchanged = False
    if unchanged:
        context.log.info(f"nothing changed since the last publish of {paths.published}: dbt, gate and publish skipped")
        context.log_event(AssetObservation(asset_key=context.asset_key, metadata={**metadata, "unchanged": True}))
        from orchestration.checks import standing_verdicts  # the checks are skipped: keep their verdicts on screen

        for evaluation in standing_verdicts(warehouse, f"nothing changed since the last publish of {paths.published}"):
            context.log_event(evaluation)
        return
    _fingerprint_file(paths, "pending").write_text(fingerprint)
    yield MaterializeResult(metadata=metadata)


def inputs_fingerprint(load: Sequence[Mapping], paths, parser_version: str) -> str:
    """A digest of everything the published warehouse is made from: what dbt's models are made from
    besides the reports (``model_inputs_fingerprint``: dbt project, parser version, overrides), the
    current load (each listed source, its current content and whether its fetch failed, so a retired or
    re-pointed source is a change) and the gate's rules and code (``gate_rows.fingerprint``, the one
    the gate validates everything again on)."""
    from expectations.gate_rows import fingerprint as gate_fingerprint

    digest = hashlib.sha256(model_inputs_fingerprint(paths, parser_version).encode())
    for s in sorted(load, key=lambda s: s["source_uri"]):
        digest.update(f"{s['source_uri']}\0{s['fetch_status'] == 'failed'}\0{s['content_hash']}\n".encode())
    digest.update(gate_fingerprint().encode())
    return digest.hexdigest()


def _fingerprint_file(paths, which: str) -> Path:
    """``pending``: inputs of the run in progress; ``published``: inputs of the file last published."""
    return Path(paths.work_db).parent / f"{which}.inputs.sha256"


def published_fingerprint(paths) -> str | None:
    marker = _fingerprint_file(paths, "published")
    if not Path(paths.published).exists() or not marker.exists():
        return None
    return marker.read_text().strip()


# --- dbt -------------------------------------------------------------------------------------

QUALITY_GATE = AssetKey("quality_gate")


class DisclosureDbtTranslator(DagsterDbtTranslator):
    """dbt sources name their Dagster asset in meta (raw.* → raw_landing, quality.rule_results → quality_gate)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"


# dbt's data tests run inside each `dbt build` (a failing one fails the step, so nothing unchecked is
# published) but are not Dagster asset checks: as checks they cost four run events each (planned, output,
# evaluation, index) on every run, some 20 s of a refresh's fixed cost under load (issue #11).
TRANSLATOR = DisclosureDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True,
                                                                           enable_asset_checks=False))
DBT_PROJECT: DbtProject = dbt_project()


def _dbt_phase(tag: str):
    """One dbt invocation per phase: ``pre_gate`` (seeds, staging, intermediate) before the gate,
    ``post_gate`` (marts, quality views) after it. The order is not hard-coded: the post_gate models
    read the ``quality.rule_results`` source, whose meta makes it the ``quality_gate`` asset."""

    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        select=f"tag:{tag}",
        name=f"dbt_{tag}",
        dagster_dbt_translator=TRANSLATOR,
    )
    def _models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        from extract import PARSER_VERSION
        from orchestration.dbt_builds import needs_full_refresh, record_complete_build

        paths = warehouse.paths()
        # incremental by report unless the models, parser or overrides changed, or the run is --full
        full = needs_full_refresh(paths, PARSER_VERSION, _full_run(context), first_phase=tag == "pre_gate")
        context.log.info(f"dbt {tag}: " + ("full refresh" if full else "incremental (new and changed reports only)"))
        # Artifacts beside the work DB, replaced by the next invocation (under the warehouse lock),
        # instead of a new folder per invocation in dbt_project/target; one folder for both phases,
        # so post_gate reuses the project parse pre_gate left there (partial parsing).
        # The seeds are built each time (cheap): left out, Dagster would skip every step downstream of them.
        # After the last phase, the same dbt process writes the docs page when it is due (dbt_metadata.docs_due):
        # the publish then copies it, instead of starting dbt once more.
        project_key = model_inputs_fingerprint(paths, PARSER_VERSION) if tag == "post_gate" else None
        docs = project_key is not None and docs_due(dbt_docs_dir(paths), project_key, dbt_target(paths))
        invocation = dbt.cli(["build", *(["--full-refresh"] if full else []), *dbt_vars(paths, warehouse.duckdb_memory)], context=context,
                             target_path=dbt_target(paths), docs_after_build=docs)
        yield from with_table_metadata(invocation.stream(), invocation.manifest, paths.work_db)  # row counts, columns
        if docs:
            note_docs_inputs(dbt_target(paths), project_key, paths.work_db)
        if tag == "post_gate":
            record_complete_build(paths)

    return _models


def _full_run(context: AssetExecutionContext) -> bool:
    """``disclosure refresh --full`` (``source_documents``' config in this run)."""
    ops = context.run_config.get("ops") or {}
    return bool(((ops.get("source_documents") or {}).get("config") or {}).get("full"))


dbt_pre_gate = _dbt_phase("pre_gate")
dbt_post_gate = _dbt_phase("post_gate")


def dbt_target(paths) -> Path:
    return Path(paths.work_db).parent / "dbt_target"


def dbt_docs_dir(paths) -> Path:
    """dbt's docs page beside the published file."""
    return Path(paths.published).parent / "dbt_docs"


def dbt_vars(paths, duckdb_memory: str | None = None) -> list[str]:
    """dbt arguments naming the warehouse's files for this build (no process environment touched):
    profiles.yml's ``work_db`` and ``duckdb_memory`` (DISCLOSURE_DUCKDB_MEMORY, when set), and the
    maintainers' agency overrides int_agency_overrides reads."""
    values = {"work_db": str(paths.work_db), "agency_overrides": str(paths.agency_overrides_csv)}
    return ["--vars", json.dumps(values | ({"duckdb_memory": duckdb_memory} if duckdb_memory else {}))]


# --- gate and publish ------------------------------------------------------------------------


@asset(deps=dbt_pre_gate.keys, group_name="quality", kinds={"great_expectations"})
def quality_gate(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Run the GX consistency suites over the staged reports (writes quality.rule_results). Each report's
    verdict is then dbt's marts.dim_report; the hard-rules check adds the quarantined reports here."""
    from expectations.gate import run_gate

    paths = warehouse.paths()
    with warehouse.connect() as con:
        result = run_gate(con, paths.data_docs_dir, full=_full_run(context), memory_limit=warehouse.duckdb_memory,
                          chunk_rows=warehouse.gate_chunk_rows)
    context.log.info(f"quality gate ({result.mode}: {result.reason}): validated {result.validated_reports} of "
                     f"{result.reports} reports; {result.rule_checks} rule checks, failed (not waived): "
                     f"{dict(sorted(result.failed_instances.items())) or 'none'}; Data Docs: {result.data_docs_index}")
    for warning in result.override_warnings:
        context.log.warning(f"override takes no effect: {warning}")
    return MaterializeResult(
        metadata={
            "rule_checks": result.rule_checks,
            "gate_mode": result.mode,  # full, or incremental: only reports whose rule inputs changed were validated
            "validated_reports": result.validated_reports,
            "dropped_reports": result.dropped_reports,
            "gx_validations": result.validations,
            "duckdb_memory": result.memory_limit,  # DuckDB's limit while the gate ran (DISCLOSURE_DUCKDB_MEMORY)
            "rules_failed": MetadataValue.json(dict(sorted(result.failed_instances.items()))),
            "override_warnings": MetadataValue.json(result.override_warnings),  # see quality.override_warnings
            "data_docs": MetadataValue.path(str(result.data_docs_index or paths.data_docs_dir)),
        }
    )


@asset(deps=[QUALITY_GATE, *dbt_post_gate.keys], group_name="publish", kinds={"duckdb"})
def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource, dbt: DbtCliResource) -> MaterializeResult:
    """Publish the work DB atomically (the batch gate check has already allowed it), then dbt's docs site."""
    from orchestration.warehouse.db import return_freed_memory
    from orchestration.warehouse.publish import PUBLISH_MEMORY, publish
    from orchestration.warehouse.report_ids import REPORT_TABLES

    paths = warehouse.paths()
    return_freed_memory()  # the publish's DuckDB takes up to its memory limit in this process
    publish(paths.work_db, paths.published, parquet_dir=paths.parquet_dir, log=context.log.info,
            storage_version=warehouse.storage_version, memory_limit=warehouse.duckdb_memory or PUBLISH_MEMORY,
            by_report=[*REPORT_TABLES, *by_report_models(DBT_PROJECT.manifest_path)])
    pending = _fingerprint_file(paths, "pending")
    if pending.exists():
        pending.replace(_fingerprint_file(paths, "published"))
    rows = relation_rows(warehouse)
    context.log.info(f"published {paths.published}: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    try:
        from extract import PARSER_VERSION

        dbt_docs = str(generate_docs(dbt, dbt_vars(paths, warehouse.duckdb_memory), dbt_target(paths), dbt_docs_dir(paths),
                                     paths.work_db, model_inputs_fingerprint(paths, PARSER_VERSION), log=context.log.info))
    except Exception as exc:  # noqa: BLE001 - the warehouse is published; the docs site is a view of it
        context.log.warning(f"dbt docs not generated: {exc}")
        dbt_docs = f"not generated: {exc}"
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(paths.published)),
            "rows": MetadataValue.json(rows),
            "data_docs": MetadataValue.path(str(paths.data_docs_dir)),
            "dbt_docs": MetadataValue.path(dbt_docs) if dbt_docs.endswith(".html") else dbt_docs,
            **{f"rows.{k}": v for k, v in rows.items()},
        }
    )


def by_report_models(manifest_path: Path) -> list[str]:
    """The dbt models kept incremental by report (``by_report`` in dbt_project/macros/incremental.sql: they
    add and delete whole reports, never change a report's rows), as ``schema.name``."""
    nodes = json.loads(Path(manifest_path).read_text()).get("nodes", {}).values()
    return [f"{n['schema']}.{n.get('alias') or n['name']}" for n in nodes if n.get("resource_type") == "model"
            and (n.get("config", {}).get("meta") or {}).get("tested_reports") == "int_build_reports"]


CONTRACT_RELATIONS = ("marts.dim_report", "marts.fct_metric", "marts.dim_agency", "marts.dim_metric", "quality.rule_results")


def relation_rows(warehouse: WarehouseResource) -> dict[str, int]:
    """Row counts of the contract relations in the published warehouse (read-only)."""
    with warehouse.connect(read_only=True, published=True) as con:
        return {rel: con.execute(f"select count(*) from {rel}").fetchone()[0] for rel in CONTRACT_RELATIONS}
