"""The weekly refresh schedule (cron from settings.refresh_cron: env DISCLOSURE_REFRESH_CRON, Beijing time)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import refresh_job


def refresh_schedule(cron: str) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="weekly_refresh",
        job=refresh_job,
        cron_schedule=cron,
        execution_timezone="Asia/Shanghai",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Incremental refresh of every source (only new or changed documents are fetched and parsed).",
    )
