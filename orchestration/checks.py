"""Asset checks on the quality gate: the rows that break the rules, and whether the batch may be published.

Quality alerts are sent here, from the check results themselves: in open-source Dagster a failed
(non-blocking) check leaves the run successful, so a run-failure sensor would never see it.
"""

from pathlib import Path

from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetKey, AssetObservation,
                     MetadataValue, asset_check)

from expectations.rules import HARD, RULES, SOFT
from orchestration.assets import QUALITY_GATE, md_table
from orchestration.resources import AlertsResource, WarehouseResource
from orchestration.verdicts import failures, failures_table, status_summary

SAMPLE_ROWS = 50
DIM_REPORT = AssetKey(["marts", "dim_report"])  # each report's verdict (the one model that derives it)
QUARANTINE = AssetKey(["quality", "quarantine"])  # why each quarantined report is held back
BATCH_COUNTS = AssetKey(["quality", "batch_counts"])  # the batch gate's counts


def rule_names(severity: str) -> str:
    """E.g. "R0_extraction, R1_balance, …": the rules of one severity, from the one rule list."""
    return ", ".join(rule.name for rule in RULES if rule.severity == severity)


def _rule_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource, hard: bool) -> AssetCheckResult:
    """Hard: the quarantined reports (quality.quarantine); soft: the warnings. Both read dbt's verdicts."""
    from orchestration.alerts import Alert

    what = f"hard rules ({rule_names(HARD)})" if hard else f"soft rules ({rule_names(SOFT)})"
    docs = Path(warehouse.paths().data_docs_dir) / "index.html"
    with warehouse.connect(read_only=True) as con:
        rows = failures(con, hard)
        summary = status_summary(con) if hard else None
    reports: dict[str, dict] = {}
    for f in rows:
        entry = reports.setdefault(f.report_id, {"report_id": f.report_id, "source": f.source, "agency": f.agency,
                                                 "year": f.year, "rules": []})
        entry["rules"].append(f.what)
    header, table = failures_table(rows[:SAMPLE_ROWS])
    metadata = {
        "failed_instances": len(rows),
        "reports": len(reports),
        "rules_failed": MetadataValue.json(sorted({f.what for f in rows})),
        "failures": MetadataValue.md(md_table(header, table)),
        "data_docs": MetadataValue.path(str(docs)),
    }
    if summary is not None:
        metadata["verdicts"] = MetadataValue.json(summary)  # what `disclosure refresh` prints
        context.op_execution_context.log_event(AssetObservation(asset_key=QUALITY_GATE, metadata={
            **summary["by_status"],
            "quarantine": MetadataValue.md(md_table(header, table)),  # named as a person knows them
        }))
    if rows:
        context.log.warning(f"{what}: {len(rows)} failed rule instances in {len(reports)} report(s)")
        consequence = "held back from the marts (quarantined)" if hard else "reported as warnings"
        alerts.send(
            Alert(
                subject=f"disclosure-warehouse: {what} failed for {len(reports)} report(s)",
                summary=f"The quality gate found {len(rows)} failed rule instances; these reports are {consequence}.",
                failed_reports=list(reports.values()),
                counts={"reports": len(reports), "failed_rules": len(rows)},
                links={"Data Docs": str(docs), "Dagster run": alerts.run_link(context.run.run_id)},
                kind="quality",
            ),
            log=context.log,
        )
    return AssetCheckResult(passed=not rows, severity=AssetCheckSeverity.WARN, metadata=metadata)


@asset_check(asset=QUALITY_GATE, additional_deps=[DIM_REPORT, QUARANTINE],
             description=f"Hard rules hold for every report ({rule_names(HARD)}); failing reports are quarantined "
             "(marts.dim_report) and alerted.")
def hard_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, hard=True)


@asset_check(asset=QUALITY_GATE, additional_deps=[DIM_REPORT],
             description=f"Soft rules hold ({rule_names(SOFT)}): warnings, reported and alerted, not gating.")
def soft_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, hard=False)


@asset_check(
    asset=DIM_REPORT,
    additional_deps=[BATCH_COUNTS],
    blocking=True,
    description="The batch as a whole may be published (shares of quarantined and failed documents of the current "
    "load, quality.batch_counts); "
    "blocking: a refused batch is not published.",
)
def batch_gate_allows_publish(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    from orchestration.warehouse.publish import batch_gate

    decision = batch_gate(warehouse.paths().work_db, warehouse.max_quarantine_share, warehouse.max_failed_share)
    if not decision.ok:
        context.log.error(f"batch gate refused to publish: {decision.reason}")
    return AssetCheckResult(
        passed=bool(decision.ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={"reason": str(decision.reason or ""), "counts": MetadataValue.json(dict(decision.counts or {}))},
    )


QUALITY_CHECKS = [hard_rules_hold, soft_rules_hold, batch_gate_allows_publish]
