"""Helpers for the warehouse tests: seed truth as ParsedReports, and ``build_warehouse``, which lands
exact reports and then runs the real refresh job downstream of ``raw_landing`` (dbt, gate, checks,
publish in the Dagster order), so the tests exercise the graph users run, not a copy of it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.model import Cell, Issue, ParsedReport

REPO = Path(__file__).resolve().parent.parent

PARSER_VERSION = "truth-1"


def report_from_truth(truth: dict, source: str | None = None, content: bytes | None = None,
                      parser_version: str = PARSER_VERSION) -> ParsedReport:
    """A ParsedReport carrying exactly the truth's cells (as if parsed perfectly)."""
    source = source or truth["source"]
    content = content if content is not None else json.dumps(truth, sort_keys=True, ensure_ascii=False).encode()
    cells = {k: Cell(key=k, value=v, raw_text=str(v)) for k, v in truth.get("cells", {}).items()}
    issues = [Issue(code=i["code"], severity=i["severity"], message=i.get("message", ""), table=i.get("table"),
                    key=i.get("key")) for i in truth.get("issues", []) if isinstance(i, dict)]
    return ParsedReport(
        source=source, content_hash=hashlib.sha256(content).hexdigest(), parser_version=parser_version,
        document_kind=truth["document_kind"], template_version=truth.get("template_version"),
        agency=truth.get("agency"), year=truth.get("year"), published=truth.get("published"),
        cells=cells, issues=issues,
    )


def seed_truths(seeds_dir: Path) -> dict[str, dict]:
    """Seed name (e.g. 001) -> expected truth."""
    return {p.name[:3]: json.loads(p.read_text(encoding="utf-8")) for p in sorted((seeds_dir / "expected").glob("*.json"))}


def warehouse_paths(root: Path, corrections: str = "", waivers: str = "", agency_overrides: Path | None = None):
    """WarehousePaths under ``root`` with the test's own corrections / waivers CSVs (never the repo's), and
    ``agency_overrides`` when given (else the repo's agency_identity.csv)."""
    import dataclasses

    from orchestration.warehouse.config import WarehousePaths
    from orchestration.warehouse.landing import CORRECTION_COLUMNS, WAIVER_COLUMNS

    root.mkdir(parents=True, exist_ok=True)
    corrections_csv, waivers_csv = root / "corrections.csv", root / "waivers.csv"
    corrections_csv.write_text(",".join(CORRECTION_COLUMNS) + "\n" + corrections, encoding="utf-8")
    waivers_csv.write_text(",".join(WAIVER_COLUMNS) + "\n" + waivers, encoding="utf-8")
    return dataclasses.replace(
        WarehousePaths.beside(str(root / "disclosure.duckdb"), agency_overrides=agency_overrides),
        work_db=root / "work" / "disclosure.duckdb", data_docs_dir=root / "data_docs",
        parquet_dir=None, corrections_csv=corrections_csv, waivers_csv=waivers_csv,
    )


def query(db: Path, sql: str, params: list | None = None):
    """A DataFrame from ``db`` opened read-only (as a BI reader would)."""
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, params or []).df()
    finally:
        conn.close()


def parse_seeds(seeds_dir: Path) -> list[ParsedReport]:
    """The five seed documents through the real parser, sourced by file name."""
    from extract import parse_document

    return [parse_document(p.read_bytes(), p.name) for p in sorted(seeds_dir.glob("*.txt"))]


@dataclass
class BuildResult:
    """What one run of the refresh job did, in the terms the tests assert on."""

    success: bool
    landing: Any  # orchestration.warehouse.landing.LandingStats
    gate: dict[str, Any]  # quality_gate's materialization metadata as plain values ({} when it did not run)
    decision: Any  # orchestration.warehouse.publish.BatchDecision from the batch gate check (None when it did not run)
    published: Path | None  # the published file when published_warehouse materialized
    seconds: dict[str, float]  # wall seconds per step (asset or check), in start order, from the run's step stats

    @property
    def gate_counts(self) -> dict[str, int]:
        """Reports per verdict in the current load (dbt's quality.batch_counts, as the batch gate check read it)."""
        return {k: self.decision.counts[k] for k in ("passed", "quarantined", "not_applicable")}


def build_warehouse(reports: Iterable[ParsedReport], paths, fetches: Iterable[Mapping] = (), publish_: bool = True,
                    failures: Iterable[Mapping] = (), progress: bool = False) -> BuildResult:
    """Land ``reports`` with the landing code ``raw_landing`` calls (each becomes its source's current
    content), then run everything the real refresh job runs after ``raw_landing`` (dbt seeds and models,
    the gate, the checks, the publish, in the job's order) with the warehouse resource pointed at
    ``paths`` (without ``published_warehouse`` unless ``publish_``). A refused batch is a failed run
    (the blocking check), returned, not raised: ``decision`` says why.

    ``progress`` prints "land ..." and the job's progress lines (``▶ <step>``) on stdout."""
    from orchestration.warehouse.landing import land

    if progress:
        print("land ...", flush=True)
    landing = land(paths.work_db, reports, fetches, corrections=paths.corrections_csv, waivers=paths.waivers_csv,
                   failures=failures)
    result, instance = run_refresh_job(paths, after_landing(publish_), progress=progress)
    return BuildResult(
        success=result.success,
        landing=landing,
        gate=materialization_metadata(result, "quality_gate"),
        decision=batch_gate_decision(result),
        published=paths.published if materialization_metadata(result, "published_warehouse") else None,
        seconds=step_seconds(instance, result.run_id),
    )


def after_landing(publish_: bool = True) -> list:
    """Asset keys the refresh job runs after raw_landing (dbt seeds and models, the gate, the publish)."""
    from dagster import AssetKey, AssetSelection

    from orchestration.definitions import defs

    selection = AssetSelection.all() - AssetSelection.assets("raw_landing").upstream()
    if not publish_:
        selection = selection - AssetSelection.assets("published_warehouse")
    keys = selection.resolve(defs.resolve_asset_graph())
    assert AssetKey("quality_gate") in keys  # the graph still runs the gate after landing
    return sorted(keys)


def run_refresh_job(paths, asset_selection: list | None = None, sources: Path | None = None, progress: bool = False):
    """Run the ``refresh`` job of the Definitions (``disclosure refresh``'s run config) on ``paths``;
    (ExecuteInProcessResult, the ephemeral instance holding its step stats)."""
    from dagster import DagsterInstance

    from orchestration.refresh import refresh_job_def, refresh_run_config
    from orchestration.resources import WarehouseResource
    from orchestration.settings import resources_from_env

    configured = resources_from_env()  # the test's environment, as `disclosure refresh` reads it
    configured["warehouse"] = WarehouseResource(**{
        **configured["warehouse"].model_dump(), "warehouse": str(paths.published), "work_db": str(paths.work_db),
        "data_docs": str(paths.data_docs_dir), "corrections": str(paths.corrections_csv), "waivers": str(paths.waivers_csv),
        "agency_overrides": str(paths.agency_overrides_csv) if paths.agency_overrides_csv else None})
    resolved = configured["warehouse"].paths()
    assert (resolved.work_db, resolved.data_docs_dir) == (Path(paths.work_db), Path(paths.data_docs_dir)), \
        "the warehouse resource would build elsewhere than the test's paths"
    run_config = refresh_run_config(configured, sources or Path(paths.published).parent, paths.published, full=False,
                                    progress=progress)
    if asset_selection is not None:
        run_config.pop("ops")  # source_documents' config: only when it runs
    instance = DagsterInstance.ephemeral()
    result = refresh_job_def().execute_in_process(run_config=run_config, instance=instance,
                                                  asset_selection=asset_selection, raise_on_error=False)
    return result, instance


def materialization_metadata(result, node: str) -> dict[str, Any]:
    """The plain metadata of ``node``'s materialization in ``result`` ({} when it did not materialize)."""
    events = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in events[-1].metadata.items()} if events else {}


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Wall seconds per step of a run, from the run's own step stats (step key -> seconds, in start order)."""
    stats = [s for s in instance.get_run_step_stats(run_id) if s.start_time is not None and s.end_time is not None]
    return {s.step_key: s.end_time - s.start_time for s in sorted(stats, key=lambda s: s.start_time)}


def batch_gate_decision(result):
    """The batch gate check's verdict in a run (a BatchDecision: ok, reason, counts), None when it did not run."""
    from orchestration.warehouse.publish import BatchDecision

    check = next((e for e in result.get_asset_check_evaluations() if e.check_name == "batch_gate_allows_publish"), None)
    if check is None:
        return None
    return BatchDecision(ok=check.passed, reason=str(check.metadata["reason"].value),
                         counts=dict(check.metadata["counts"].value))
