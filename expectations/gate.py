"""The quality gate: the rules of ``expectations/rules.py`` run as Great Expectations suites, verdicts
written to ``quality.rule_results``.

Per rule and template version one suite, one expectation over the rule's long rows (report_id,
instance, lhs, rhs): GX decides every row, reading the rows to validate from DuckDB in chunks of
``CHUNK_ROWS``, so memory is bounded by a chunk, not by the load. ``ignore_row_if="neither"``: a NULL
side FAILS (GX's default would skip rows where both sides are missing). Only the reports whose rule
inputs changed since the last gate run are validated (``gate_rows.py``); the others keep their
verdicts. A failure covered by a waiver (``raw.waivers``: a rule, a ``rule:instance`` or ``*``) is
marked ``waived``. The gate writes rule results only: whether a report passed or is quarantined is
derived once, by dbt (``marts.dim_report``). Overrides that take no effect (naming a report not in the
warehouse, a rule instance never checked) are written to ``quality.override_warnings``
(``override_warnings.py``). GX runs in an ephemeral context (nothing written into the repo, analytics
off); the Data Docs site, summarised from ``quality.rule_results`` (``gate_docs.py``), is built into
``data_docs_dir``.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from . import gate_rows as rows
from .gate_docs import expectation, summarise_for_docs
from .gate_rows import rule_of
from .offline_docs import make_offline
from .override_warnings import write_override_warnings

if TYPE_CHECKING:  # pandas only names a type here: a refresh with nothing changed never loads it (issue #11)
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RESULT_COLUMNS = ("report_id", "rule", "instance", "lhs", "rhs", "passed", "severity", "waived",
                  "template_version", "expectation", "checked_at")


@dataclass
class GateResult:
    """What the gate wrote: rule results only. A report's verdict is dbt's (``marts.dim_report``)."""

    rule_checks: int = 0  # rows in quality.rule_results
    failed_instances: dict[str, int] = field(default_factory=dict)  # rule -> failed instances not waived
    override_warnings: list[str] = field(default_factory=list)  # overrides that take no effect
    data_docs_index: Path | None = None
    mode: str = "full"  # "full": every report validated; "incremental": only those whose rule inputs changed
    reason: str = ""  # why that mode
    reports: int = 0  # reports with rule inputs in the current load
    validated_reports: int = 0  # reports GX validated in this run (the others kept their verdicts)
    dropped_reports: int = 0  # reports whose verdicts were dropped: gone from the load
    validations: int = 0  # GX validations run: one per chunk of a suite's rows
    memory_limit: str = ""  # DuckDB's memory limit while the gate ran, as DuckDB reports it


DOCS_FAILURES = 20  # failing reports (and values) a Data Docs page shows per expectation; the count is whole
CHUNK_ROWS = 200_000  # rule rows per validation: memory is bounded by a chunk, not by the load
# DuckDB's memory for the gate's queries by default (it spills to disk beyond it): without a limit its joins and
# aggregates over every rule row of the load take memory in proportion to the load (80 % of RAM allowed).
DUCKDB_MEMORY = "512MB"


def run_gate(conn: duckdb.DuckDBPyConnection, data_docs_dir: Path | None = None, chunk_rows: int | None = None,
             full: bool = False, memory_limit: str | None = None) -> GateResult:
    """Run every rule on the pre_gate relations behind ``conn`` (the caller's work DB connection: the
    gate imports nothing from ``orchestration/``, whose settings its caller passes) for the reports whose
    rule inputs changed since the last gate run (all when ``full``, or when the rules or the gate changed),
    GX validating their rows in chunks of ``chunk_rows`` (default ``CHUNK_ROWS``), DuckDB limited to
    ``memory_limit`` (default ``DUCKDB_MEMORY``); rebuild quality.rule_results, quality.rules, quality.override_warnings."""
    from great_expectations.core.run_identifier import RunIdentifier

    checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
    run_id = RunIdentifier(run_name="quality_gate", run_time=checked_at)
    chunk_rows = chunk_rows or CHUNK_ROWS
    with _duckdb_memory(conn, memory_limit or DUCKDB_MEMORY) as limit:
        try:
            rows.stage_inputs(conn)
            plan = rows.plan(conn, full)
            context = _context(data_docs_dir)
            suites = {name: _suite(context, name) for name in plan.suites}
            validations = 0
            batches = _batches(context)
            with conn.cursor() as cursor:
                for name in plan.todo:
                    for chunk in rows.chunks(conn, name, chunk_rows):
                        rows.record_failures(cursor, _validate(batches, suites[name], chunk))
                        validations += 1
            conn.execute("begin transaction")
            try:
                rows.write_rule_results(conn, plan, checked_at)
                override_warnings = write_override_warnings(conn)
                conn.execute("commit")
            except BaseException:
                conn.execute("rollback")
                raise
        finally:
            rows.drop_staging(conn)
        if data_docs_dir is not None:
            summarise_for_docs(conn, context, plan, run_id, DOCS_FAILURES)
        checks, failed = _counts(conn)
    docs_index = _build_docs(context, data_docs_dir)
    return GateResult(rule_checks=checks, failed_instances=failed, override_warnings=override_warnings,
                      data_docs_index=docs_index, mode=plan.mode, reason=plan.reason, reports=plan.reports,
                      validated_reports=plan.validated, dropped_reports=plan.dropped, validations=validations,
                      memory_limit=limit)


@contextmanager
def _duckdb_memory(conn, limit: str):
    """DuckDB's memory limit while the gate runs (a setting of the database, not of the connection), then the
    caller's again; yields the limit as DuckDB reports it."""
    (previous,) = conn.execute("select current_setting('memory_limit')").fetchone()
    conn.execute(f"set memory_limit = '{limit}'")
    try:
        yield conn.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        conn.execute(f"set memory_limit = '{previous}'")


def _counts(conn) -> tuple[int, dict[str, int]]:
    """Rows in quality.rule_results, and per rule its failed instances not waived."""
    (checks,) = conn.execute("select count(*) from quality.rule_results").fetchone()
    failed = dict(conn.execute("select rule, count(*) from quality.rule_results where not passed and not waived "
                               "group by rule order by rule").fetchall())
    return checks, failed


def _context(data_docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no temp-folder chatter
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)  # the default site points at a temp folder
    if data_docs_dir is not None:
        context.add_data_docs_site("disclosure_quality_gate", {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(_start_docs_build(Path(data_docs_dir).resolve()))},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    context.data_sources.add_pandas("gate")
    return context


def _suite(context, name: str):
    """The suite of one (rule, template version): one expectation over its rows (report, instance)."""
    import great_expectations as gx

    rule = rule_of(name)
    check = expectation(rule, "lhs", "rhs", description=f"{rule.name} — {rule.statement}",
                        meta={"rule": rule.name, "severity": rule.severity})
    return context.suites.add(gx.ExpectationSuite(name=name, expectations=[check],
                                                  meta={"rule": rule.name, "statement": rule.statement}))


def _batches(context):
    """One whole-dataframe batch definition for every suite: a batch per chunk of rows. (An asset per suite
    cost GX a save of its whole configuration each, ~0.1 CPU-s apiece, 40 per full gate run.)"""
    return context.data_sources.get("gate").add_dataframe_asset("rule_rows").add_batch_definition_whole_dataframe("chunk")


def _validate(batches, suite, chunk: pd.DataFrame) -> pa.Table:
    """GX validates one chunk of a suite's rows (indexed by report and instance); returns the failing
    rows (rule, report_id, instance). The result is not kept in GX's store (it would be serialised
    whole, failing rows and all): the Data Docs pages summarise quality.rule_results instead."""
    frame = chunk.set_index(["report_id", "instance"])[["lhs", "rhs"]]
    validation = batches.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format=RESULT_FORMAT)
    (result,) = validation.results
    unexpected = (result.result or {}).get("unexpected_index_list") or []
    if not result.success and not unexpected:  # failed without saying where: GX itself broke
        raise RuntimeError(f"{suite.name}: GX could not evaluate the rule: {result.exception_info}")
    report_ids = [rid for block in unexpected for rid in block["report_id"]]
    instances = [instance for block in unexpected for instance in block["instance"]]
    return pa.table({"rule": [rule_of(suite.name).name] * len(report_ids), "report_id": report_ids, "instance": instances})


# GX decides every row, but reports the failing ones as two columns (report ids and instances: the
# frame's index), not a dict per failing row, and builds no query string listing them.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["report_id", "instance"],
                 "exclude_unexpected_values": True, "return_unexpected_index_query": False}


def _build_docs(context, data_docs_dir: Path | None) -> Path | None:
    if data_docs_dir is None:
        return None
    site_dir = Path(data_docs_dir).resolve()
    context.build_data_docs()  # into the build folder: a failure half-way leaves the previous site whole
    make_offline(_docs_build_dir(site_dir))  # local copies of the CDN scripts and stylesheets
    _swap_in(_docs_build_dir(site_dir), site_dir)
    index = data_docs_index(site_dir)
    return index if index.exists() else None


# --- the Data Docs folder: built aside, swapped in, and only ever deleted when this project made it ---

DOCS_MARKER = ".disclosure-data-docs"  # in every Data Docs folder the gate builds
# a GX site built before the marker: only GX's entries, and GX's own stylesheet
GX_SITE_ENTRIES = {"index.html", "static", "validations", "expectations"}
GX_SITE_SIGNATURE = "static/styles/data_docs_default_styles.css"


class DataDocsFolderRefused(RuntimeError):
    """The Data Docs setting names a folder this project did not create: it is never deleted."""


def data_docs_index(data_docs_dir: Path) -> Path:
    """The Data Docs front page; the refresh rebuilds the docs when it is missing."""
    return Path(data_docs_dir) / "index.html"


def _ours(folder: Path) -> bool:
    """Whether the gate may replace ``folder``: absent, empty, marked by the gate, or a bare GX site."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    entries = {p.name for p in folder.iterdir()}
    return not entries or DOCS_MARKER in entries or (entries <= GX_SITE_ENTRIES and (folder / GX_SITE_SIGNATURE).is_file())


def _refuse_unless_ours(folder: Path) -> None:
    if not _ours(folder):
        raise DataDocsFolderRefused(
            f"the Data Docs folder {folder} was not created by this project (no {DOCS_MARKER} in it): refusing "
            "to delete or replace it; set DISCLOSURE_DATA_DOCS to a new or empty folder")


def _docs_build_dir(site_dir: Path) -> Path:
    return site_dir.with_name(f".{site_dir.name}.building-{os.getpid()}")


def _start_docs_build(site_dir: Path) -> Path:
    """A fresh, marked build folder beside ``site_dir`` (refused first when ``site_dir`` is not ours),
    after clearing what a killed build left behind."""
    _refuse_unless_ours(site_dir)
    for leftover in site_dir.parent.glob(f".{site_dir.name}.*-*"):  # .building-<pid>, .old-<pid>
        if (leftover / DOCS_MARKER).exists():
            shutil.rmtree(leftover)
    building = _docs_build_dir(site_dir)
    building.mkdir(parents=True)
    (building / DOCS_MARKER).write_text("Built by disclosure-warehouse's quality gate; replaced by every gate run.\n")
    return building


def _swap_in(building: Path, site_dir: Path) -> None:
    """The new site in place of the old: two renames, then the old one deleted."""
    old = site_dir.with_name(f".{site_dir.name}.old-{os.getpid()}")
    if site_dir.exists():
        _refuse_unless_ours(site_dir)  # again: something may have been put there since the build started
        os.replace(site_dir, old)
    os.replace(building, site_dir)
    if old.exists():
        shutil.rmtree(old)
