"""The one Dagster code location of disclosure-warehouse (loaded from the root workspace.yaml).

Assets: source_documents → raw_landing (parsed documents) → dbt models (pre_gate) → quality_gate (+ checks) →
dbt marts (post_gate) → published_warehouse. One job (refresh), a weekly schedule, two sensors.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from orchestration.assets import (
    DBT_PROJECT,
    dbt_post_gate,
    dbt_pre_gate,
    published_warehouse,
    quality_gate,
    raw_landing,
    source_documents,
)
from orchestration.checks import QUALITY_CHECKS
from orchestration.jobs import progress_logger, refresh_job
from orchestration.resources import dbt_resource
from orchestration.schedules import refresh_schedule
from orchestration.sensors import run_failure_alert, sources_manifest_changed
from orchestration.settings import refresh_cron, resources_from_env

defs = Definitions(
    assets=[source_documents, raw_landing, dbt_pre_gate, quality_gate, dbt_post_gate, published_warehouse],
    asset_checks=QUALITY_CHECKS,
    jobs=[refresh_job],
    schedules=[refresh_schedule(refresh_cron())],
    sensors=[sources_manifest_changed, run_failure_alert],
    # sources, warehouse, fetch, parse, alerts: their fields from the environment (secrets as EnvVar)
    resources={**resources_from_env(secrets_as_env_vars=True), "dbt": dbt_resource(DBT_PROJECT)},
    loggers={"progress": progress_logger},
    # Every job in one process, the UI's "Materialize" runs (the implicit asset job) too: the warehouse
    # resource is then set up once per run, so its lock is held from the first step to the last.
    executor=in_process_executor,
)
