"""Asset checks on the quality gate: the rows that break the rules, and whether the batch may be published.

Quality alerts are sent here, from the check results themselves: in open-source Dagster a failed
(non-blocking) check leaves the run successful, so a run-failure sensor would never see it.
"""

from pathlib import Path

from dagster import (AssetCheckEvaluation, AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetKey,
                     AssetObservation, MetadataValue, asset_check)

from expectations.rules import HARD, RULES, SOFT
from orchestration.alert_memory import failing_reports
from orchestration.assets import QUALITY_GATE
from orchestration.run_metadata import md_table
from orchestration.resources import AlertsResource, WarehouseResource
from orchestration.verdicts import failure_counts, failures, failures_table, status_summary

SAMPLE_ROWS = 50
DIM_REPORT = AssetKey(["marts", "dim_report"])  # each report's verdict (the one model that derives it)
QUARANTINE = AssetKey(["quality", "quarantine"])  # why each quarantined report is held back
BATCH_COUNTS = AssetKey(["quality", "batch_counts"])  # the batch gate's counts


def rule_names(severity: str) -> str:
    """E.g. "R0_extraction, R1_balance, …": the rules of one severity, from the one rule list."""
    return ", ".join(rule.name for rule in RULES if rule.severity == severity)


def rule_verdict(warehouse: WarehouseResource, hard: bool) -> tuple[int, dict, dict | None]:
    """The failures of one severity as dbt's verdicts hold them (hard: why each quarantined report is held
    back, quality.quarantine; soft: the warnings): how many failed instances, the check's metadata (counts
    and the first ``SAMPLE_ROWS``, from SQL: a standing verdict reads no row per failure), and (hard) the
    status summary `disclosure refresh` prints."""
    with warehouse.connect(read_only=True) as con:
        counts = failure_counts(con, hard)
        sample = failures(con, hard, limit=SAMPLE_ROWS)
        summary = status_summary(con) if hard else None
    header, table = failures_table(sample)
    metadata = {
        "failed_instances": counts.instances,
        "reports": counts.reports,
        "rules_failed": MetadataValue.json(counts.what),
        "failures": MetadataValue.md(md_table(header, table)),  # named as a person knows them
        "data_docs": MetadataValue.path(str(Path(warehouse.paths().data_docs_dir) / "index.html")),
    }
    if summary is not None:
        metadata["verdicts"] = MetadataValue.json(summary)  # what `disclosure refresh` prints
    return counts.instances, metadata, summary


def _rule_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource, hard: bool) -> AssetCheckResult:
    """Hard: the quarantined reports; soft: the warnings. Both read dbt's verdicts; what is new is alerted
    (the alerts need every failing report: read here, not for a standing verdict)."""
    what = f"hard rules ({rule_names(HARD)})" if hard else f"soft rules ({rule_names(SOFT)})"
    failed, metadata, summary = rule_verdict(warehouse, hard)
    if summary is not None:  # the gate asset runs before dbt derives the verdicts: they are shown on it from here
        context.op_execution_context.log_event(AssetObservation(asset_key=QUALITY_GATE, metadata={
            **summary["by_status"], "quarantine": metadata["failures"]}))
    if failed:
        context.log.warning(f"{what}: {failed} failed rule instances in {metadata['reports']} report(s)")
    with warehouse.connect(read_only=True) as con:
        reports = failing_reports(failures(con, hard))
    alert_changes(context, warehouse, alerts, "hard" if hard else "soft", reports)
    return AssetCheckResult(passed=not failed, severity=AssetCheckSeverity.WARN, metadata=metadata)


def alert_changes(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource,
                  severity: str, reports: dict[str, dict]) -> None:
    """Alert the reports newly failing rules of ``severity`` and those that recovered; nothing when nothing changed."""
    from orchestration.alert_memory import changes, remember
    from orchestration.alerts import quality_alert

    with warehouse.connect() as con:
        new, recovered = changes(con, severity, reports)
    if not new and not recovered:
        context.log.info(f"{severity} rules: nothing new to alert ({len(reports)} report(s) failing, all alerted before)")
        return
    alert = quality_alert(new, recovered, severity == "hard", alerts.run_link(context.run.run_id), alerts.language)
    if any(d.ok for d in alerts.send(alert, log=context.log)):
        with warehouse.connect() as con:
            remember(con, severity, reports)


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
    passed, metadata = batch_verdict(warehouse)
    if not passed:
        context.log.error(f"batch gate refused to publish: {metadata['reason']}")
    return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)


def batch_verdict(warehouse: WarehouseResource) -> tuple[bool, dict]:
    """Whether the batch in the work DB may be published, and the check's metadata (reason, counts)."""
    from orchestration.warehouse.publish import batch_gate

    decision = batch_gate(warehouse.paths().work_db, warehouse.max_quarantine_share, warehouse.max_failed_share)
    return bool(decision.ok), {"reason": str(decision.reason or ""), "counts": MetadataValue.json(dict(decision.counts or {}))}


def standing_verdicts(warehouse: WarehouseResource, note: str) -> list[AssetCheckEvaluation]:
    """The checks' verdicts on the warehouse as it stands, for a run that did not re-gate (nothing
    changed, so the check steps are skipped): logged by that run, they keep the quarantine on the
    UI's check pages instead of "Skipped". No alert: nothing is new."""
    evaluations = []
    for check, hard in ((hard_rules_hold, True), (soft_rules_hold, False)):
        failed, metadata, _summary = rule_verdict(warehouse, hard)
        evaluations.append(AssetCheckEvaluation(
            asset_key=check.check_key.asset_key, check_name=check.check_key.name, passed=not failed,
            severity=AssetCheckSeverity.WARN, metadata={**metadata, "unchanged": note}))
    passed, metadata = batch_verdict(warehouse)
    key = batch_gate_allows_publish.check_key
    evaluations.append(AssetCheckEvaluation(
        asset_key=key.asset_key, check_name=key.name, passed=passed, severity=AssetCheckSeverity.ERROR,
        metadata={**metadata, "unchanged": note}, blocking=True))
    return evaluations


QUALITY_CHECKS = [hard_rules_hold, soft_rules_hold, batch_gate_allows_publish]
