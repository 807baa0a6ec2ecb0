"""The quality gate: the rules of ``expectations/rules.py`` run as Great Expectations suites on
pandas DataFrames read from the pre_gate relations, verdicts written to ``quality.rule_results``.

Per rule (and template version, so every report in a batch carries every instance) the long
frame ``report_id, instance, lhs, rhs`` is pivoted wide and each instance gets one named
expectation comparing its two columns. ``ignore_row_if="neither"``: a NULL side FAILS (GX's
default would skip rows where both sides are missing). A failure covered by a waiver (``raw.waivers``:
a rule, a ``rule:instance`` or ``*``) is marked ``waived``. The gate writes rule results only: whether a
report passed or is quarantined is derived once, by dbt (``marts.dim_report``).
Overrides that take no effect (naming a report not in the warehouse, a rule instance never
checked) are written to ``quality.override_warnings`` (``override_warnings.py``).
GX runs in an ephemeral context (nothing written into the repo, analytics off); the Data Docs
site is built into ``data_docs_dir``.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from .offline_docs import make_offline
from .override_warnings import write_override_warnings
from .rules import AT_MOST, RULES, Rule

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RESULT_COLUMNS = ("report_id", "rule", "instance", "lhs", "rhs", "passed", "severity", "waived",
                  "template_version", "expectation", "checked_at")


@dataclass
class GateResult:
    """What the gate wrote: rule results only. A report's verdict is dbt's (``marts.dim_report``)."""

    rule_checks: int = 0  # rows written to quality.rule_results
    failed_instances: dict[str, int] = field(default_factory=dict)  # rule -> failed instances not waived
    override_warnings: list[str] = field(default_factory=list)  # overrides that take no effect
    data_docs_index: Path | None = None


def run_gate(conn: duckdb.DuckDBPyConnection, data_docs_dir: Path | None = None) -> GateResult:
    """Run every rule on the pre_gate relations behind ``conn`` (the caller's work DB connection: the
    gate imports nothing from ``orchestration/``); write quality.rules and quality.rule_results."""
    checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
    reports = conn.execute(
        "select report_id, document_kind, template_version, agency_name, year from intermediate.int_reports_current").df()
    waivers = conn.execute("select report_id, waived_rule from staging.stg_waivers").df()
    frames = {rule.name: _long_frame(conn, rule, reports) for rule in RULES}
    context = _context(data_docs_dir)
    labels = _labels(reports)
    results = [_validate(context, rule, frames[rule.name], checked_at, labels) for rule in RULES]
    table = pd.concat([r for r in results if len(r)], ignore_index=True) if any(len(r) for r in results) \
        else pd.DataFrame(columns=[c for c in RESULT_COLUMNS if c not in ("waived", "checked_at")])
    table["waived"] = _waived(table, waivers)
    table["checked_at"] = checked_at
    override_warnings = _write(conn, table)
    docs_index = _build_docs(context, data_docs_dir)
    failed = table[~table["passed"].astype(bool) & ~table["waived"]] if len(table) else table
    return GateResult(rule_checks=len(table), failed_instances=failed.groupby("rule").size().to_dict() if len(failed) else {},
                      override_warnings=override_warnings, data_docs_index=docs_index)


def _long_frame(conn, rule: Rule, reports: pd.DataFrame) -> pd.DataFrame:
    frame = conn.execute(rule.select_sql()).df()
    for column in ("report_id", "instance"):  # each id and name stored once, not once per row (memory at scale)
        frame[column] = frame[column].astype("category")
    versions = reports.set_index("report_id")["template_version"]
    frame["template_version"] = frame["report_id"].map(versions).astype(object)
    return frame


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


def _labels(reports: pd.DataFrame) -> dict[str, str]:
    """How Data Docs name a failing report beside its id: agency and year, as a person knows it."""
    names = reports["agency_name"].fillna("")
    years = reports["year"].astype("Int64").astype(str).replace("<NA>", "")
    return {rid: f"{name} {year}".strip() for rid, name, year in zip(reports["report_id"], names, years)}


def _validate(context, rule: Rule, frame: pd.DataFrame, checked_at: datetime, labels: dict[str, str]) -> pd.DataFrame:
    """One suite per (rule, template version): one expectation per instance; verdicts per report.

    Splitting by version gives every report of a batch every instance (R2's rows differ between
    versions), so a NULL side always means a missing cell. R5 is one batch: an absent cell has
    no instance there (both sides missing are ignored), and present cells are never NULL.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier

    out = []
    batches = "all" if rule.missing_is_absent else frame["template_version"].fillna("unknown")
    batches = pd.Series(batches, index=frame.index)
    for version, group in frame.groupby(batches, sort=True):
        group = group.astype({"report_id": object, "instance": object})  # plain columns sharing the category strings
        name = f"{rule.name}__{version}"
        wide = group.pivot(index="report_id", columns="instance", values=["lhs", "rhs"])
        wide.columns = [f"{instance}:{side}" for side, instance in wide.columns]
        expectations = []
        for instance in sorted(group["instance"].unique()):
            lhs, rhs = f"{instance}:lhs", f"{instance}:rhs"
            common = dict(meta={"rule": rule.name, "instance": instance, "severity": rule.severity},
                          description=f"{rule.name}:{instance} — {rule.statement}",
                          ignore_row_if="both_values_are_missing" if rule.missing_is_absent else "neither")
            if rule.comparison == AT_MOST:
                expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=rhs, column_B=lhs, or_equal=True, **common)
            else:
                expectation = gxe.ExpectColumnPairValuesToBeEqual(column_A=lhs, column_B=rhs, **common)
            expectations.append(expectation)
        # Built whole, then added once: GX re-serialises the suite on every add_expectation.
        suite = context.suites.add(gx.ExpectationSuite(
            name=name, expectations=expectations, meta={"rule": rule.name, "statement": rule.statement}))
        asset = context.data_sources.get("gate").add_dataframe_asset(name)
        definition = context.validation_definitions.add(gx.ValidationDefinition(
            name=name, data=asset.add_batch_definition_whole_dataframe("load"), suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition],
            result_format=RESULT_FORMAT,
        ))
        run = checkpoint.run(batch_parameters={"dataframe": wide},
                             run_id=RunIdentifier(run_name="quality_gate", run_time=checked_at))
        failing: dict[str, set[str]] = {}
        for key, validation in run.run_results.items():
            for result in validation.results:
                instance = result.expectation_config.meta["instance"]
                failing[instance] = _failing_reports(name, instance, result)
            _summarise_for_docs(context, key, validation, wide, labels)
        failed = pd.DataFrame([(rid, inst) for inst, rids in failing.items() for rid in rids],
                              columns=["report_id", "instance"], dtype=object)
        verdicts = group.merge(failed.assign(failed=True), on=["report_id", "instance"], how="left")
        verdicts["passed"] = verdicts.pop("failed").isna()
        verdicts["rule"] = rule.name
        verdicts["severity"] = rule.severity
        verdicts["expectation"] = name
        out.append(verdicts)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


# GX decides every row, but reports the failing ones as one column of report ids (the frame's index),
# not a dict per failing row, and builds no query string listing them: the cost is per suite.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["report_id"],
                 "exclude_unexpected_values": True, "return_unexpected_index_query": False}
DOCS_FAILURES = 20  # failing reports (and values) a Data Docs page shows per expectation; the count is whole


def _failing_reports(name: str, instance: str, result) -> set[str]:
    """The report ids an expectation failed (GX's unexpected index list, with values excluded)."""
    unexpected = (result.result or {}).get("unexpected_index_list") or []
    if not result.success and not unexpected:  # failed without saying where: GX itself broke
        raise RuntimeError(f"{name}: GX could not evaluate {instance}: {result.exception_info}")
    return {rid for block in unexpected for rid in block["report_id"]}


def _summarise_for_docs(context, key, validation, wide: pd.DataFrame, labels: dict[str, str]) -> None:
    """Store the validation for Data Docs with its counts whole and only the first failures named (report
    id and both sides, in the expectation's description: GX renders no row table for column pairs), so a page
    per rule stays small however many reports fail; the verdicts are already taken from the full result."""
    for result in validation.results:
        detail = result.result or {}
        for field in ("unexpected_list", "partial_unexpected_list", "partial_unexpected_counts"):
            if isinstance(detail.get(field), list):
                detail[field] = detail[field][:DOCS_FAILURES]
        failing = sorted(_failing_reports("", "", result))
        if failing:
            lhs, rhs = (result.expectation_config.kwargs[k] for k in ("column_A", "column_B"))
            if lhs.endswith(":rhs"):  # AT_MOST compares rhs >= lhs
                lhs, rhs = rhs, lhs
            shown = [f"{rid} {labels.get(rid, '')} (lhs {_side(wide.at[rid, lhs])}, rhs {_side(wide.at[rid, rhs])})".replace("  ", " ")
                     for rid in failing[:DOCS_FAILURES]]
            more = f"; and {len(failing) - len(shown):,} more (quality.rule_results)" if len(failing) > len(shown) else ""
            config = result.expectation_config
            config.description = f"{config.description}. {len(failing):,} failing reports: " + ", ".join(shown) + more
            detail["unexpected_index_list"] = [{"report_id": failing[:DOCS_FAILURES]}]
    context.validation_results_store.set(key, validation)


def _side(value) -> str:
    return "missing" if pd.isna(value) else f"{value:g}"


def _waived(table: pd.DataFrame, waivers: pd.DataFrame) -> pd.Series:
    """A failure is waived by a waiver for its report naming `*`, its rule or its `rule:instance`."""
    waived = pd.Series(False, index=table.index, dtype=bool)
    if table.empty or waivers.empty:
        return waived
    keys = set(zip(waivers["report_id"], waivers["waived_rule"]))
    failed = table[~table["passed"]]
    if failed.empty:  # nothing to waive (assigning an empty list would fail)
        return waived
    waived[failed.index] = [
        bool({(rid, "*"), (rid, rule), (rid, f"{rule}:{inst}")} & keys)
        for rid, rule, inst in zip(failed["report_id"], failed["rule"], failed["instance"])
    ]
    return waived


def _write(conn, table: pd.DataFrame) -> list[str]:
    """Replace quality.rule_results, quality.rules and quality.override_warnings in one transaction
    (bulk, from Arrow); return the override warnings."""
    columns = {"report_id": pa.string(), "rule": pa.string(), "instance": pa.string(), "lhs": pa.float64(),
               "rhs": pa.float64(), "passed": pa.bool_(), "severity": pa.string(), "waived": pa.bool_(),
               "template_version": pa.string(), "expectation": pa.string(), "checked_at": pa.timestamp("us")}
    frame = table.reindex(columns=list(columns)).astype({"lhs": "float64", "rhs": "float64"})
    frame["instance"] = frame["instance"].astype(str)
    data = pa.Table.from_pandas(frame, schema=pa.schema(columns), preserve_index=False)
    catalog = pa.table({
        "rule": [r.name for r in RULES], "severity": [r.severity for r in RULES],
        "statement": [r.statement for r in RULES], "relation": [r.relation for r in RULES],
        "lhs": [r.lhs for r in RULES], "rhs": [r.rhs for r in RULES], "comparison": [r.comparison for r in RULES],
    })
    conn.execute("create schema if not exists quality")
    conn.execute("begin transaction")
    try:
        conn.register("new_results", data)
        conn.execute("create or replace table quality.rule_results as select * from new_results")
        conn.register("new_rules", catalog)
        conn.execute("create or replace table quality.rules as select * from new_rules")
        override_warnings = write_override_warnings(conn, table)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return override_warnings


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
