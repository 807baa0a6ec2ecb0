"""The refresh job: every asset and check, tagged as a warehouse writer, in one process unless configured.

In-process execution (the default) lets the warehouse resource hold the work DB lock for the whole
run, and saves a Python start-up per step; parsing brings its own small process pool. The same job
runs on Dagster's multiprocess executor or on Celery workers by run config alone (``refresh_executor``).
"""

from __future__ import annotations

import logging
import re
import sys

from dagster import AssetSelection, Field, Selector, define_asset_job, executor, logger, multiple_process_executor_requirements
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
)
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG

from orchestration.resources import CELERY_PICKUP_TIMEOUT_S, WRITER_TAG

# dagster-celery's settings, and how long a run waits for a worker to take a queued step (orchestration/celery_pickup.py)
REFRESH_CELERY_CONFIG = {**CELERY_CONFIG, "pickup_timeout": Field(
    float, is_required=False, default_value=CELERY_PICKUP_TIMEOUT_S,
    description="Seconds a run waits, with steps queued and none of its steps on a worker, before it fails naming "
                "the step and the queue (no worker running, or none on that queue).")}


@executor(
    name="refresh_executor",
    config_schema=Field(Selector({"in_process": IN_PROC_CONFIG, "multiprocess": MULTI_PROC_CONFIG,
                                  "celery": Field(REFRESH_CELERY_CONFIG, description="Steps as tasks on Celery workers (dagster-celery).")}),
                        default_value={"in_process": {}}),
    requirements=lambda config: [] if "in_process" in config else multiple_process_executor_requirements(),
)
def refresh_executor(init_context):
    """``execution: config: in_process | multiprocess | celery`` (default in_process). Off the in-process executor,
    each step that uses the warehouse takes its lock for that step only; the run queue keeps runs apart."""
    config = init_context.executor_config
    if "multiprocess" in config:
        return _core_multiprocess_executor_creation(config["multiprocess"])
    if "celery" in config:
        from orchestration.celery_pickup import PickupDeadlineExecutor

        celery = config["celery"]
        return PickupDeadlineExecutor(celery["pickup_timeout"], broker=celery.get("broker"), backend=celery.get("backend"),
                                      include=celery.get("include"), config_source=celery.get("config_source"),
                                      retries=RetryMode.from_config(celery["retries"]))
    return _core_in_process_executor_creation(config["in_process"])


refresh_job = define_asset_job(
    name="refresh",
    selection=AssetSelection.all(),
    executor_def=refresh_executor,
    tags={WRITER_TAG: "true"},
    description="Fetch, parse, land, dbt build, quality gate and publish (incremental; `full: true` on source_documents re-does everything).",
)


@logger(description="Terse progress lines on stdout (used by `disclosure refresh`): stages and the assets' own messages.")
def progress_logger(init_context) -> logging.Logger:
    out = logging.getLogger(f"disclosure.progress.{init_context.run_id}")
    out.setLevel(logging.DEBUG)  # Dagster's step events arrive at DEBUG
    out.propagate = False
    # The process's own stdout: `disclosure refresh` sends tools' raw output (dbt's event stream) to a log file.
    handler = logging.StreamHandler(sys.__stdout__ or sys.stdout)
    handler.setFormatter(_ProgressFormatter())
    handler.addFilter(_drop_empty)
    out.handlers = [handler]
    return out


class _ProgressFormatter(logging.Formatter):
    """Step starts, failures and failed checks from Dagster's events; the assets' own messages.

    dbt's line-per-node stream is cut to its verdicts (errors, failures, the closing totals).
    """

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        message = str(meta.get("orig_message", record.getMessage()))
        if event is None:
            if record.levelno < logging.INFO:
                return ""
            if (meta.get("step_key") or "").startswith("dbt_") and not DBT_VERDICT.search(message):
                return ""
            return f"  {message.strip()}"
        kind = event.event_type_value
        if kind == "STEP_START":  # a mapped step (a chunk of sources, ``key[c00001]``) ends with its own one line instead
            return "" if "[" in (event.step_key or "") else f"▶ {event.step_key}"
        if kind in ("STEP_FAILURE", "RUN_FAILURE"):
            return f"✗ {event.step_key or 'run'}: {message}"
        if kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            return f"  check {event.event_specific_data.check_name}: FAILED"
        return ""


DBT_VERDICT = re.compile(r"^Done\.|\bERROR\b(?!=)|\bFAIL\b(?!=)|^Finished dbt command")


def _drop_empty(record: logging.LogRecord) -> bool:
    return bool(_ProgressFormatter().format(record))
