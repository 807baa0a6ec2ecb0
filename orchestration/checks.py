"""Asset checks on the quality gate: the rows that break the rules, and whether the batch may be published.

Quality alerts are sent here, from the check results themselves: in open-source Dagster a failed
(non-blocking) check leaves the run successful, so a run-failure sensor would never see it.
"""

from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetKey, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from expectations.rules import HARD, RULES, SOFT
from orchestration.alert_memory import failing_reports
from orchestration.assets import QUALITY_GATE, md_table
from orchestration.resources import AlertsResource, WarehouseResource

SAMPLE_ROWS = 50
DIM_REPORT = AssetKey(["marts", "dim_report"])  # the batch gate counts its gate_status column
FAILED_ROWS_SQL = """
select r.report_id, d.source_uri, d.agency, d.year, r.rule, r.instance, r.lhs, r.rhs
from quality.rule_results r left join raw.documents d using (report_id)
where not r.passed and not r.waived and (r.severity = 'hard') = ?
order by r.report_id, r.rule, r.instance
"""


def rule_names(severity: str) -> str:
    """E.g. "R0_extraction, R1_balance, …": the rules of one severity, from the one rule list."""
    return ", ".join(rule.name for rule in RULES if rule.severity == severity)


def failed_rules(warehouse: WarehouseResource, hard: bool) -> list[tuple]:
    """Unwaived failed rule instances (report_id, source, agency, year, rule, instance, lhs, rhs), hard or soft."""
    with warehouse.connect(read_only=True) as con:
        return con.execute(FAILED_ROWS_SQL, [hard]).fetchall()


def _rule_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource, hard: bool) -> AssetCheckResult:
    what = f"hard rules ({rule_names(HARD)})" if hard else f"soft rules ({rule_names(SOFT)})"
    paths = warehouse.paths()
    rows = failed_rules(warehouse, hard)
    reports = failing_reports(rows)
    rules = sorted({f"{r[4]}:{r[5]}" for r in rows})
    docs = Path(paths.data_docs_dir) / "index.html"
    metadata = {
        "failed_instances": len(rows),
        "reports": len(reports),
        "rules_failed": MetadataValue.json(rules),
        "failures": MetadataValue.md(md_table(
            ["report_id", "source", "rule", "instance", "lhs", "rhs"],
            [[r[0], Path(str(r[1])).name, r[4], r[5], r[6], r[7]] for r in rows[:SAMPLE_ROWS]],
        )),
        "data_docs": MetadataValue.path(str(docs)),
    }
    if rows:
        context.log.warning(f"{what}: {len(rows)} failed rule instances in {len(reports)} report(s)")
    alert_changes(context, warehouse, alerts, "hard" if hard else "soft", reports)
    return AssetCheckResult(passed=not rows, severity=AssetCheckSeverity.WARN, metadata=metadata)


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


@asset_check(asset=QUALITY_GATE, description=f"Hard rules hold for every report ({rule_names(HARD)}); failing reports are quarantined and alerted.")
def hard_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, hard=True)


@asset_check(asset=QUALITY_GATE, description=f"Soft rules hold ({rule_names(SOFT)}): warnings, reported and alerted, not gating.")
def soft_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, hard=False)


@asset_check(
    asset=DIM_REPORT,
    blocking=True,
    description="The batch as a whole may be published (shares of quarantined and failed documents, from the marts); "
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
