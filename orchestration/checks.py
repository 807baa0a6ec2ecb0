"""Asset checks on the quality gate: the rows that break the rules, and whether the batch may be published.

Quality alerts are sent here, from the check results themselves: in open-source Dagster a failed
(non-blocking) check leaves the run successful, so a run-failure sensor would never see it.
"""


from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from orchestration.assets import QUALITY_GATE, md_table
from orchestration.resources import AlertsResource, WarehouseResource

SAMPLE_ROWS = 50


def failing_rules(work_db: Path, prefix: str) -> list[tuple]:
    """Failed rule instances (report_id, rule, instance, lhs, rhs) whose rule starts with ``prefix`` (R: hard, W: soft)."""
    import duckdb

    with duckdb.connect(str(work_db), read_only=True) as con:
        return con.execute(
            "select report_id, rule, instance, lhs, rhs from quality.rule_results "
            "where not passed and starts_with(rule, ?) order by report_id, rule, instance",
            [prefix],
        ).fetchall()


def _rule_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource, prefix: str, what: str) -> AssetCheckResult:
    paths = warehouse.paths()
    rows = failing_rules(Path(paths.work_db), prefix)
    reports = sorted({str(r[0]) for r in rows})
    rules = sorted({f"{r[1]}:{r[2]}" for r in rows})
    metadata = {
        "failed_instances": len(rows),
        "reports": len(reports),
        "rules_failed": MetadataValue.json(rules),
        "failures": MetadataValue.md(
            md_table(["report_id", "rule", "instance", "lhs", "rhs"], [list(map(str, r)) for r in rows[:SAMPLE_ROWS]])
        ),
        "data_docs": MetadataValue.path(str(paths.data_docs_dir)),
    }
    if rows:
        context.log.warning(f"{what}: {len(rows)} failed rule instances in {len(reports)} reports")
        lines = [f"{rid}: {rule}:{inst} ({lhs} vs {rhs})" for rid, rule, inst, lhs, rhs in rows[:SAMPLE_ROWS]]
        alerts.send(
            subject=f"disclosure-warehouse: {what} failed for {len(reports)} report(s)",
            body="\n".join([f"{len(rows)} failed rule instances; Data Docs: {paths.data_docs_dir}", *lines]),
            kind="quality",
            details={"reports": reports, "rules": rules, "run_id": context.run.run_id},
        )
    return AssetCheckResult(passed=not rows, severity=AssetCheckSeverity.WARN, metadata=metadata)


@asset_check(asset=QUALITY_GATE, description="Hard rules R0–R6 hold for every report (failing reports are quarantined and alerted).")
def hard_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, "R", "hard rules (R0–R6)")


@asset_check(asset=QUALITY_GATE, description="Soft rules W1–W3 hold (warnings: reported and alerted, not gating).")
def soft_rules_hold(context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> AssetCheckResult:
    return _rule_check(context, warehouse, alerts, "W", "soft rules (W1–W3)")


@asset_check(
    asset=QUALITY_GATE,
    blocking=True,
    description="The batch as a whole may be published; blocking: a refused batch stops the marts and the publish.",
)
def batch_gate_allows_publish(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    from orchestration.warehouse.publish import batch_gate

    decision = batch_gate(warehouse.paths().work_db)
    if not decision.ok:
        context.log.error(f"batch gate refused to publish: {decision.reason}")
    return AssetCheckResult(
        passed=bool(decision.ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={"reason": str(decision.reason or ""), "counts": MetadataValue.json(dict(decision.counts or {}))},
    )


QUALITY_CHECKS = [hard_rules_hold, soft_rules_hold, batch_gate_allows_publish]
