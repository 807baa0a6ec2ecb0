"""The weekly refresh schedule (cron from env DISCLOSURE_REFRESH_CRON, Beijing time)."""

from __future__ import annotations

import os

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import refresh_job

DEFAULT_CRON = "0 3 * * 1"  # Mondays 03:00: reports are published through the year; weekly is fresh enough


def refresh_schedule() -> ScheduleDefinition:
    return ScheduleDefinition(
        name="weekly_refresh",
        job=refresh_job,
        cron_schedule=os.environ.get("DISCLOSURE_REFRESH_CRON", DEFAULT_CRON),
        execution_timezone="Asia/Shanghai",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Incremental refresh of every source (only new or changed documents are fetched and parsed).",
    )
